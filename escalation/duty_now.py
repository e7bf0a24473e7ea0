"""Who is on duty now, per roster role, and whom a role falls back to (``/duty``).

The roster (``incidents.rosters``) names the person; where a role has no roster, or its
roster has nobody on duty now, the people holding the role's fallback position
(``rosters.FALLBACK_POSITION``) answer for it — the same fallback a chain step uses.
``until`` is when the person's stint ends: the end of the resolved shift pieces they hold
without a break (an override starting mid-shift ends it early), looked up to
``HORIZON`` ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from incidents import rosters
from incidents.org import Person
from incidents.responsibility import holders

# A weekly rotation's shift is at most a week; a stint longer than this shows its horizon.
HORIZON = timedelta(days=8)


@dataclass(frozen=True)
class OnDuty:
    """One role's answer: the person on duty until when, or the fallback's holders."""

    role: str
    has_roster: bool
    person: Person | None
    until: datetime | None
    fallback_position: str
    fallback: tuple[Person, ...]


def stint(session: Session, role: str, now: datetime) -> rosters.Shift | None:
    """The resolved piece of ``role``'s roster holding ``now``, ended where its person
    stops being on duty (not at the horizon's edge of the rotation's own shift)."""
    pieces = rosters.shifts_between(session, role, now, now + HORIZON)
    if not pieces or pieces[0].starts_at > now:
        return None
    return pieces[0]


def on_duty_now(session: Session, now: datetime) -> list[OnDuty]:
    """Every roster role, in ``rosters.ROLES`` order."""
    out: list[OnDuty] = []
    for role in rosters.ROLES:
        has_roster = rosters.roster_for(session, role) is not None
        person = rosters.on_duty(session, role, now) if has_roster else None
        until: datetime | None = None
        if person is not None:
            piece = stint(session, role, now)
            until = piece.ends_at if piece is not None else None
        position = rosters.FALLBACK_POSITION[role]
        fallback: tuple[Person, ...] = ()
        if person is None:
            seen: dict[int, Person] = {}
            for _pos, holder in holders(session, position, now):
                seen.setdefault(holder.id, holder)
            fallback = tuple(seen.values())
        out.append(OnDuty(role, has_roster, person, until, position, fallback))
    return out
