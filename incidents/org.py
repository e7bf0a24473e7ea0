"""The organisation: departments, people, positions with history, information systems.

Article 3 names who answers for network security; positions record who held which role
in which department and when, so that ``responsible_for`` can answer "who was it at the
time of the incident". Systems carry the three responsibilities of
"谁主管谁负责,谁运维谁负责,谁使用谁负责": owner (主管), operator (运维), users (使用).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base, UTCDateTime

# Article 3 roles, in the order a reader meets them in the rules.
ROLES: dict[str, tuple[str, str, str]] = {
    # code: (zh, en, clause)
    "director": ("局长", "Director", "3(1)"),
    "deputy_director_netsec": (
        "分管网络安全和信息化工作的副局长",
        "Deputy director in charge of network security",
        "3(2)",
    ),
    "deputy_director": ("副局长", "Deputy director", "3(2)"),
    "command_center_head": ("指挥中心主任", "Command center head", "3(3)"),
    "duty_officer": ("指挥中心值班员", "Duty officer, command center", "3(3)"),
    "office": ("局办公室", "Bureau office", "3(3)"),
    "department_head": ("部门负责人", "Department head", "3(3)"),
    "hr": ("人事部门", "Human resources", "6(2)"),
    "leading_group_member": ("网络安全工作领导小组成员", "Leading group member", "6(1)"),
    "leading_group_office": ("网络安全工作领导小组办公室", "Leading group office", "6"),
    "staff": ("工作人员", "Staff member", "3(4)"),
}

LANGUAGES = ("zh_CN", "en")

position_charges = Table(
    "position_charge",
    Base.metadata,
    Column("position_id", ForeignKey("position.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="RESTRICT"), primary_key=True),
)

system_users = Table(
    "system_user",
    Base.metadata,
    Column("system_id", ForeignKey("system.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="RESTRICT"), primary_key=True),
)


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # command_center | office | hr | business | leadership | leading_group
    kind: Mapped[str] = mapped_column(String(32), default="business")
    # The department that supervises this one in network security matters (主管部门, 6(2)).
    competent_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))

    parent: Mapped[Department | None] = relationship(
        remote_side="Department.id", foreign_keys=[parent_id]
    )
    competent_department: Mapped[Department | None] = relationship(
        remote_side="Department.id", foreign_keys=[competent_department_id]
    )

    def label(self, lang: str = "zh_CN") -> str:
        return self.name_en or self.name if lang == "en" else self.name


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who stands in for this person (an inform not confirmed goes to the deputy too).
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    positions: Mapped[list[Position]] = relationship(
        back_populates="person", order_by="Position.valid_from"
    )


class Position(Base):
    """A role held by a person in a department from ``valid_from`` until ``valid_until``."""

    __tablename__ = "position"
    __table_args__ = (Index("ix_position_role_period", "role", "valid_from", "valid_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship(back_populates="positions")
    department: Mapped[Department | None] = relationship()
    # For deputy directors: the departments they are in charge of (分管), 3(2).
    in_charge_of: Mapped[list[Department]] = relationship(secondary=position_charges)

    def held_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


class System(Base):
    """An information system with its owner (主管), operator (运维) and users (使用)."""

    __tablename__ = "system"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    operator_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    operator_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    is_cii: Mapped[bool] = mapped_column(Boolean, default=False)
    mlps_level: Mapped[int | None] = mapped_column(Integer)  # 等级保护级别 1–5

    owner_department: Mapped[Department] = relationship(foreign_keys=[owner_department_id])
    operator_department: Mapped[Department | None] = relationship(
        foreign_keys=[operator_department_id]
    )
    operator_person: Mapped[Person | None] = relationship()
    user_departments: Mapped[list[Department]] = relationship(secondary=system_users)


class ApiToken(Base):
    """A bearer token for a machine acting as a person; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the token may do (incidents.tokens.SCOPES): "full" is whatever its person may
    # do through the API; "intake" posts monitoring alerts and nothing else.
    scope: Mapped[str] = mapped_column(String(16), default="full", server_default="full")

    person: Mapped[Person] = relationship()
