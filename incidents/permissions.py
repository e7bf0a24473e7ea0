"""What a person may do, derived from the positions they hold (never stored as flags).

Duty officers and the command center log and handle incidents (3(3)); people in the
responsibility chain acknowledge (3(1), 3(2)); admins manage the organisation; everyone
else reads what their departments may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from incidents.errors import Forbidden
from incidents.models import Incident, incident_systems
from incidents.org import Department, Person, Position, position_charges, system_users
from incidents.responsibility import responsible_for

# Roles that see every incident: the leadership, the command center, the office, the
# leading group and HR (who take part in 6(2) decisions).
SEES_ALL = frozenset(
    {
        "director",
        "deputy_director",
        "deputy_director_netsec",
        "command_center_head",
        "duty_officer",
        "office",
        "leading_group_member",
        "leading_group_office",
        "hr",
    }
)
# Roles that log and handle incidents: the command center (3(3)).
HANDLERS = frozenset({"duty_officer", "command_center_head"})
# Roles that may acknowledge any incident: the chain above every department.
ACKNOWLEDGE_ANY = frozenset({"command_center_head", "deputy_director_netsec", "director"})
# Roles that keep the duty rosters and the holiday table: the command center's head, who
# signs off the monthly duty table (值班表), and the deputy director in charge above it.
ROSTER_KEEPERS = frozenset({"command_center_head", "deputy_director_netsec"})


@dataclass(frozen=True)
class Capabilities:
    person_id: int
    roles: frozenset[str]
    department_ids: frozenset[int]
    is_admin: bool
    in_command_center: bool
    charges: frozenset[int] = field(default_factory=frozenset)
    # The systems that the departments above use (使用, system_user), read with the
    # positions: the visibility filter matches incidents against this list instead of
    # joining system_user for every incident it looks at. ``None``: not read (a
    # hand-made Capabilities); the filter then asks system_user itself.
    system_ids: frozenset[int] | None = None

    @property
    def sees_all(self) -> bool:
        return self.is_admin or bool(self.roles & SEES_ALL)

    @property
    def can_log(self) -> bool:
        return bool(self.roles & HANDLERS) or self.in_command_center

    @property
    def can_handle(self) -> bool:
        return self.can_log

    @property
    def can_manage_org(self) -> bool:
        return self.is_admin

    @property
    def can_manage_rosters(self) -> bool:
        return self.is_admin or bool(self.roles & ROSTER_KEEPERS)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


# What a person's positions contribute to their capabilities, one row per position held
# (times each department it is in charge of): see ``join_held`` and ``from_held``.
HELD_COLUMNS = (
    Position.role,
    Position.department_id,
    Department.kind,
    position_charges.c.department_id,
)
HeldRow = tuple[str | None, int | None, str | None, int | None]


def join_held(
    stmt: Select[Any],
    person_id: ColumnElement[int] | InstrumentedAttribute[int],
    at: datetime | ColumnElement[datetime],
) -> Select[Any]:
    """``stmt`` outer-joined to the positions ``person_id`` holds at ``at``, their
    departments and the departments they are in charge of (``HELD_COLUMNS``): a person
    who holds none gives one row of NULLs. ``at`` may be a bound parameter."""
    held = (
        (Position.person_id == person_id)
        & (Position.valid_from <= at)
        & or_(Position.valid_until.is_(None), Position.valid_until > at)
    )
    return (
        stmt.outerjoin(Position, held)
        .outerjoin(Department, Department.id == Position.department_id)
        .outerjoin(position_charges, position_charges.c.position_id == Position.id)
    )


def from_held(person_id: int, is_admin: bool, rows: Iterable[HeldRow]) -> Capabilities:
    """The capabilities from the rows of ``HELD_COLUMNS`` (positions, their departments'
    kinds, their charges)."""
    roles: set[str] = set()
    depts: set[int] = set()
    charges: set[int] = set()
    in_cc = False
    for role, department_id, kind, charged in rows:
        if role is None:
            continue
        roles.add(role)
        if department_id is not None:
            depts.add(department_id)
            in_cc = in_cc or kind == "command_center"
        if charged is not None:
            charges.add(charged)
    return Capabilities(
        person_id=person_id,
        roles=frozenset(roles),
        department_ids=frozenset(depts),
        is_admin=is_admin,
        in_command_center=in_cc,
        charges=frozenset(charges),
    )


def capabilities(session: Session, person: Person, at: datetime) -> Capabilities:
    """What ``person`` may do at ``at``: one statement for their positions, the kinds of
    their departments and the departments their positions are in charge of; for one who
    does not see everything, a second for the systems those departments use."""
    stmt = join_held(select(*HELD_COLUMNS).select_from(Person), Person.id, at)
    rows = session.execute(stmt.where(Person.id == person.id)).all()
    caps = from_held(person.id, person.is_admin, (tuple(row) for row in rows))
    depts = caps.department_ids | caps.charges
    if caps.sees_all or not depts:
        return caps
    used = session.scalars(
        select(system_users.c.system_id).where(system_users.c.department_id.in_(sorted(depts)))
    )
    return replace(caps, system_ids=frozenset(used))


def visible_filter(caps: Capabilities) -> ColumnElement[bool]:
    """A WHERE clause limiting incidents to those ``caps`` may read: those their
    departments answer for, and those touching a system their departments use.

    The systems are the list read with the capabilities (``system_ids``), so each
    incident the query looks at costs one probe of ``incident_system``'s primary key
    (incident, system), with no ``system_user`` join: a list read newest first stops
    after its page instead of joining every incident to its systems' users.
    """
    if caps.sees_all:
        return true()
    depts = caps.department_ids | caps.charges
    if not depts:
        return false()
    answers = Incident.responsible_department_id.in_(sorted(depts))
    if caps.system_ids is None:
        used = incident_systems.c.system_id.in_(
            select(system_users.c.system_id).where(system_users.c.department_id.in_(sorted(depts)))
        )
    elif caps.system_ids:
        used = incident_systems.c.system_id.in_(sorted(caps.system_ids))
    else:
        return answers
    # OFFSET 0 keeps PostgreSQL from turning the EXISTS into a hashed ``id IN (every
    # incident of those systems)``, read whole before the first row (28,847 rows and
    # 100 ms at 1,000,000 incidents): probed per incident, a page stops after its rows.
    uses = exists(
        select(incident_systems.c.incident_id)
        .where(incident_systems.c.incident_id == Incident.id, used)
        .offset(0)
    )
    return or_(answers, uses)


def can_view(session: Session, caps: Capabilities, incident: Incident) -> bool:
    if caps.sees_all:
        return True
    stmt = select(Incident.id).where(Incident.id == incident.id, visible_filter(caps))
    return session.scalar(stmt) is not None


def can_acknowledge(session: Session, caps: Capabilities, incident: Incident, at: datetime) -> bool:
    """Anyone in the incident's responsibility chain, or above every department."""
    if caps.roles & ACKNOWLEDGE_ANY or caps.can_handle:
        return True
    if incident.responsible_department_id is None:
        return False
    chain = responsible_for(session, at=at, department_id=incident.responsible_department_id)
    return any(r.person_id == caps.person_id for r in chain)


def require(condition: bool, message: str, *, code: str = "forbidden") -> None:
    """Refuse with ``message`` (a msgid the caller marks for extraction) unless ``condition``."""
    if not condition:
        raise Forbidden(message, code=code)
