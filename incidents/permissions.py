"""What a person may do, derived from the positions they hold (never stored as flags).

Duty officers and the command center log and handle incidents (3(3)); people in the
responsibility chain acknowledge (3(1), 3(2)); admins manage the organisation; everyone
else reads what their departments may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, exists, false, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from incidents.errors import Forbidden
from incidents.models import Incident, incident_systems
from incidents.org import Department, Person, position_charges, system_users
from incidents.responsibility import responsible_for, roles_of

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


def capabilities(session: Session, person: Person, at: datetime) -> Capabilities:
    """What ``person`` may do at ``at``: their positions, then one statement for the
    kinds of their departments and the departments their positions are in charge of."""
    positions = roles_of(session, person.id, at)
    depts = {p.department_id for p in positions if p.department_id is not None}
    in_cc = False
    charges: set[int] = set()
    if positions:
        command_center = select(literal(0), Department.id).where(
            Department.id.in_(depts), Department.kind == "command_center"
        )
        charged = select(literal(1), position_charges.c.department_id).where(
            position_charges.c.position_id.in_([p.id for p in positions])
        )
        for tag, dept_id in session.execute(union_all(command_center, charged)):
            if tag == 0:
                in_cc = True
            else:
                charges.add(dept_id)
    return Capabilities(
        person_id=person.id,
        roles=frozenset(p.role for p in positions),
        department_ids=frozenset(depts),
        is_admin=person.is_admin,
        in_command_center=in_cc,
        charges=frozenset(charges),
    )


def visible_filter(caps: Capabilities) -> ColumnElement[bool]:
    """A WHERE clause limiting incidents to those ``caps`` may read."""
    if caps.sees_all:
        return true()
    depts = caps.department_ids | caps.charges
    if not depts:
        return false()
    uses = exists(
        select(incident_systems.c.incident_id)
        .join(system_users, system_users.c.system_id == incident_systems.c.system_id)
        .where(
            incident_systems.c.incident_id == Incident.id,
            system_users.c.department_id.in_(depts),
        )
    )
    return or_(Incident.responsible_department_id.in_(depts), uses)


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
