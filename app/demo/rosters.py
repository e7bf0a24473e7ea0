"""A filled duty roster for the demo organisation, so a new user's calendar is not empty.

The command center's duty officers take 24-hour shifts, 08:30 to 08:30 next day, in
turn; the leader on duty (带班领导) changes every Monday at 08:30 among the command
center head and the two deputy directors; the engineers take the technical on-call a week
each. One override shows how a stand-in looks. The holiday table of the current year is
seeded from the holiday library and, when the library knew the year (it carries the
State Council's published arrangement), confirmed; next year is left to confirm, as a
bureau's would be in December.

The roster is set up as of the first day of the current month (its rotations are in
effect from then), so the whole month's calendar is filled. Seeding again changes
nothing: a role that already has a rotation is left alone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.organisation import import_organisation
from incidents import rosters
from incidents.audit import Actor
from incidents.org import Person

DUTY_TEAM = Path(__file__).resolve().parent / "duty_team.yaml"
ROTATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # role: (logins in turn, period)
    "duty_officer": (("duty", "duty2", "duty3", "duty4"), "daily"),
    "duty_leader": (("cchead", "netsec", "deputy"), "weekly"),
    "technical_oncall": (("tech1", "tech2"), "weekly"),
}
HANDOFF = "08:30"


def seed_demo_rosters(session: Session, *, actor: Actor, now: datetime) -> None:
    """Load the duty team, set the three rotations, one override and the holiday table."""
    import_organisation(session, DUTY_TEAM.read_text(encoding="utf-8"), actor=actor, now=now)
    zone = ZoneInfo(rosters.DEFAULT_ZONE)
    today = now.astimezone(zone).date()
    first = today.replace(day=1)
    since = datetime.combine(first, time(0), tzinfo=zone)
    monday = first - timedelta(days=first.weekday())
    ids: dict[str, int] = {
        login: pid for login, pid in session.execute(select(Person.login, Person.id))
    }
    for role, (logins, period) in ROTATIONS.items():
        roster = rosters.roster_for(session, role)
        if roster is not None and rosters.rotation_at(session, roster.id, now) is not None:
            continue
        rosters.set_rotation(
            session,
            role,
            people=[ids[login] for login in logins],
            handoffs=[HANDOFF],
            period=period,
            anchor_date=first if period == "daily" else monday,
            actor=actor,
            now=since,
        )
        if role == "duty_officer":
            _one_stand_in(session, today, zone, ids["duty4"], actor=actor, now=since)
    _holidays(session, today.year, actor=actor, now=now)


def _one_stand_in(
    session: Session, today: date, zone: ZoneInfo, person_id: int, *, actor: Actor, now: datetime
) -> None:
    """陈静 covers the shift three days from today for whoever the rotation names then."""
    starts = datetime.combine(today + timedelta(days=3), time(8, 30), tzinfo=zone)
    scheduled = rosters.shift_at(session, "duty_officer", starts + timedelta(minutes=1))
    if scheduled is None or scheduled.person_id in (None, person_id):
        return
    rosters.add_override(
        session,
        "duty_officer",
        person_id=person_id,
        replaces_id=scheduled.person_id,
        starts_at=starts,
        ends_at=starts + timedelta(days=1),
        reason="年休假调班",
        actor=actor,
        now=now,
    )


def _holidays(session: Session, year: int, *, actor: Actor, now: datetime) -> None:
    state = session.get(rosters.HolidayYear, year)
    if state is not None and state.confirmed:
        return
    if rosters.seed_holidays(session, year, actor=actor, now=now) > 0:
        rosters.confirm_year(session, year, actor=actor, now=now)
    rosters.seed_holidays(session, year + 1, actor=actor, now=now)
