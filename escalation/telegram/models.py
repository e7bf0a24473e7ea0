"""Telegram's tables: who is linked to which chat, link codes, group chats, sent copies.

Telegram user and chat ids do not fit in 32 bits (supergroups are ``-100…``), so they
are ``BigInteger`` everywhere. Times are UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base, UTCDateTime
from incidents.org import Department, Person


class TelegramLink(Base):
    """A person's Telegram account: one account per person, one person per account.

    ``chat_id`` is the private chat the bot writes to (for a private chat it equals the
    user id, but Telegram does not promise that, so both are kept).
    """

    __tablename__ = "telegram_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64), default="")
    # "code" (the person sent /start <code>) or "cli" (an operator linked them).
    via: Mapped[str] = mapped_column(String(8))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()


class TelegramLinkCode(Base):
    """A one-time code a person sends to the bot as ``/start <code>``.

    Only ``code_hash`` (SHA-256 of the code) is searchable; ``salt`` lets the holder of
    the application's secret key show the same code again while it is valid, and tells
    a database reader nothing. A code is spent when used, superseded by a newer code,
    or stale after ``expires_at`` (10 minutes).
    """

    __tablename__ = "telegram_link_code"
    __table_args__ = (Index("ix_telegram_link_code_person", "person_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramGroup(Base):
    """A group chat linked to a role or to a department (exactly one of the two).

    Alerts for people holding ``role`` (or working in ``department``) are also posted
    here, for example to the leading group's chat. ``message_thread_id`` is a forum topic.
    """

    __tablename__ = "telegram_group"
    __table_args__ = (
        CheckConstraint("(role IS NULL) <> (department_id IS NULL)", name="role_xor_department"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str | None] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    message_thread_id: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    department: Mapped[Department | None] = relationship()


class TelegramMessage(Base):
    """A copy of an alert the bot sent, so that every copy can be edited later.

    ``acknowledged_at`` is set once the copy was edited to say who acknowledged; the
    edit is done at most once per copy.
    """

    __tablename__ = "telegram_message"
    __table_args__ = (
        UniqueConstraint("chat_id", "message_id", name="uq_telegram_message_chat_message"),
        Index("ix_telegram_message_incident", "incident_id", "chat_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    notification_id: Mapped[int | None] = mapped_column(Integer)
    # The timer it was sent for, and the chain run whose acknowledgement it asks for.
    timer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    chain_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramAnswer(Base):
    """A Bot API call the bot owes someone, queued by a process that must not call Telegram.

    The webhook route runs in the web process, which never talks to Telegram (DESIGN.md
    "Processes"); its answers and the edits after an acknowledgement are rows here,
    sent by the worker's Telegram channel under the same rate limits as the alerts.
    ``method`` is ``sendMessage``, ``editMessageText`` or ``answerCallbackQuery``;
    ``params`` is the JSON of its parameters.
    """

    __tablename__ = "telegram_answer"
    __table_args__ = (Index("ix_telegram_answer_due", "sent_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
