"""Duty rosters: handoffs in Asia/Shanghai, overrides, swaps, history, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incidents import rosters
from incidents.audit import AuditEvent, system_actor
from incidents.org import Person
from tests.statements import statements

ACTOR = system_actor("cli")


def people(session: Session, org: dict[str, Person]) -> list[int]:
    return sorted(p.id for p in org.values() if p.active)[:3]


def test_rotation_handoff_override_swap_history(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    t0 = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
    with factory.begin() as s:
        a, b, c = people(s, org)
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[a, b, c],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 9, 30),
            actor=ACTOR,
            now=t0,
            effective_from=t0,
        )
    with factory() as s:
        # 30 Sep 08:30 CST = 00:30 UTC: a until 1 Oct 08:30 CST (month boundary), then b.
        assert rosters.on_duty(s, "duty_officer", datetime(2026, 10, 1, 0, 29, tzinfo=UTC)).id == a  # type: ignore[union-attr]
        assert rosters.on_duty(s, "duty_officer", datetime(2026, 10, 1, 0, 30, tzinfo=UTC)).id == b  # type: ignore[union-attr]
        # 03:10 on 2 October CST = 1 Oct 19:10 UTC: still b's shift.
        past = datetime(2026, 10, 1, 19, 10, tzinfo=UTC)
        assert rosters.on_duty(s, "duty_officer", past).id == b  # type: ignore[union-attr]
    edit = datetime(2026, 10, 5, tzinfo=UTC)
    with factory.begin() as s:
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[c],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 9, 1),
            actor=ACTOR,
            now=edit,
            effective_from=past,
        )
        # An override for the past span, recorded later, does not rewrite it either.
        rosters.add_override(
            s, "duty_officer", person_id=a, starts_at=past, ends_at=edit, actor=ACTOR, now=edit
        )
    with factory() as s:
        assert rosters.on_duty(s, "duty_officer", past).id == b  # type: ignore[union-attr]
        assert rosters.on_duty(s, "duty_officer", edit).id == c  # type: ignore[union-attr]
    later = datetime(2026, 10, 6, tzinfo=UTC)
    with factory.begin() as s:
        o = rosters.add_override(
            s,
            "duty_officer",
            person_id=b,
            starts_at=later,
            ends_at=datetime(2026, 10, 7, tzinfo=UTC),
            actor=ACTOR,
            now=edit,
            reason="ill",
        )
        oid = o.id
    with factory() as s:
        assert rosters.on_duty(s, "duty_officer", later).id == b  # type: ignore[union-attr]
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("roster.%"))).all()
        assert "roster.override" in kinds and kinds.count("roster.rotation") == 2
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "roster_override", AuditEvent.subject_id == oid
            )
        ).one()
        assert "ill" in event.data


def test_swap_and_holiday_shift_and_2027(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    with factory.begin() as s:
        a, b, c = people(s, org)
        assert rosters.seed_holidays(s, 2026, actor=ACTOR, now=t0) > 0
        assert rosters.seed_holidays(s, 2027, actor=ACTOR, now=t0) == 0
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[a, b],
            holiday_people=[c],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 9, 1),
            actor=ACTOR,
            now=t0,
            effective_from=t0,
        )
    with factory() as s:
        # 1 Oct 2026 is National Day: the holiday list plans it.
        assert rosters.on_duty(s, "duty_officer", datetime(2026, 10, 1, 6, tzinfo=UTC)).id == c  # type: ignore[union-attr]
        # January 2027 works before confirmation, with the warning from November.
        assert rosters.on_duty(s, "duty_officer", datetime(2027, 1, 1, 6, tzinfo=UTC)) is not None
        assert rosters.holiday_warning(s, datetime(2026, 11, 2, tzinfo=UTC)) == 2026
    with factory.begin() as s:
        rosters.confirm_year(s, 2026, actor=ACTOR, now=t0)
        assert rosters.holiday_warning(s, datetime(2026, 10, 2, tzinfo=UTC)) is None
        assert rosters.holiday_warning(s, datetime(2026, 11, 2, tzinfo=UTC)) == 2027
        one = datetime(2026, 9, 2, 6, tzinfo=UTC)
        two = datetime(2026, 9, 3, 6, tzinfo=UTC)
        first, second = (rosters.on_duty(s, "duty_officer", t) for t in (one, two))
        rosters.swap(
            s,
            "duty_officer",
            first=one,
            second=two,
            actor=ACTOR,
            now=datetime(2026, 9, 1, 1, tzinfo=UTC),
        )
        assert rosters.on_duty(s, "duty_officer", one) == second
        assert rosters.on_duty(s, "duty_officer", two) == first


def test_a_swap_is_stored_on_both_engines_and_revoking_one_half_revokes_both(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    with any_factory.begin() as s:
        a, b, _ = people(s, any_org)
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[a, b],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 9, 1),
            actor=ACTOR,
            now=t0,
            effective_from=t0,
        )
    one = datetime(2026, 9, 2, 6, tzinfo=UTC)
    two = datetime(2026, 9, 3, 6, tzinfo=UTC)
    with any_factory() as s:  # 2 Sep 14:00 CST is b's shift (day 1), 3 Sep a's (day 2)
        assert rosters.on_duty(s, "duty_officer", one).id == b  # type: ignore[union-attr]
        assert rosters.on_duty(s, "duty_officer", two).id == a  # type: ignore[union-attr]
    with any_factory.begin() as s:
        first, _second = rosters.swap(
            s, "duty_officer", first=one, second=two, actor=ACTOR, now=t0, reason="家中有事"
        )
        first_id = first.id
    with any_factory() as s:
        assert rosters.on_duty(s, "duty_officer", one).id == a  # type: ignore[union-attr]
        assert rosters.on_duty(s, "duty_officer", two).id == b  # type: ignore[union-attr]
    with any_factory.begin() as s:
        rosters.revoke_override(s, first_id, actor=ACTOR, now=t0)
    with any_factory() as s:
        assert rosters.on_duty(s, "duty_officer", one).id == b  # type: ignore[union-attr]
        assert rosters.on_duty(s, "duty_officer", two).id == a  # type: ignore[union-attr]


def test_months_of_shifts_are_read_in_a_few_statements(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    """The calendar, the dashboard's gaps and the iCal feed read months at a time: the
    roster's rows are read once, not once per shift."""

    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    with factory.begin() as s:
        a, b, c = people(s, org)
        rosters.set_rotation(
            s,
            "duty_officer",
            people=[a, b, c],
            handoffs=["08:30", "20:30"],
            period="daily",
            anchor_date=date(2026, 9, 1),
            actor=ACTOR,
            now=t0,
            effective_from=t0,
        )
        for day in range(2, 30, 3):
            rosters.add_override(
                s,
                "duty_officer",
                person_id=c,
                starts_at=datetime(2026, 9, day, 2, tzinfo=UTC),
                ends_at=datetime(2026, 9, day, 6, tzinfo=UTC),
                actor=ACTOR,
                now=t0,
            )
    with statements(factory.kw["bind"]) as seen, factory() as s:
        shifts = rosters.shifts_between(s, "duty_officer", t0, datetime(2026, 12, 1, tzinfo=UTC))
    assert len(shifts) > 180  # two a day for three months, overrides cut in
    assert len(seen) <= 5, seen
