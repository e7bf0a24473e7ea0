"""Monitoring intake: one incident per alert group, repeats and resolves only update it,
and a storm of 500 alerts in a minute pages no more than its groups' first steps."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.intake import Alert, IntakeGroup, Notification, ingest
from escalation.models import Notification as Page
from incidents.audit import AuditEvent
from incidents.models import Incident
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY


def note(group: int, status: str = "firing", n: int = 1) -> Notification:
    return Notification(
        source="alertmanager",
        key=f'{{}}:{{alertname="Down{group}"}}',
        title=f"Down{group}",
        labels={"alertname": f"Down{group}"},
        alerts=[
            Alert(status=status, labels={"instance": str(i)}, annotations={}, fingerprint=f"f{i}")
            for i in range(n)
        ],
    )


def counts(s: Session) -> tuple[int, int, int]:
    return (
        s.scalar(select(func.count()).select_from(Incident)) or 0,
        s.scalar(select(func.count()).select_from(IntakeGroup)) or 0,
        s.scalar(select(func.count()).select_from(Page)) or 0,
    )


def test_one_incident_per_group_repeat_and_resolve(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    with any_factory() as s, s.begin():
        first = ingest(s, note=note(1), now=T0, policy=DEFAULT_POLICY)
    with any_factory() as s:
        _, _, pages_after_open = counts(s)
    with any_factory() as s, s.begin():
        again = ingest(s, note=note(1, n=3), now=T0 + timedelta(minutes=5), policy=DEFAULT_POLICY)
        done = ingest(
            s, note=note(1, "resolved"), now=T0 + timedelta(minutes=9), policy=DEFAULT_POLICY
        )
    assert first.created and not again.created and not done.created
    assert first.incident_id == again.incident_id == done.incident_id
    with any_factory() as s:
        incidents, groups, pages = counts(s)
        assert (incidents, groups) == (1, 1)
        assert pages == pages_after_open  # a repeat pages nobody
        incident = s.get(Incident, first.incident_id)
        assert incident is not None and incident.status == "new"  # resolved closes nothing
        kinds = list(
            s.scalars(
                select(AuditEvent.kind).where(
                    AuditEvent.incident_id == first.incident_id, AuditEvent.source == "monitoring"
                )
            )
        )
        assert kinds.count("intake.repeated") == 2 and "intake.resolved" in kinds
        group = s.scalars(select(IntakeGroup)).one()
        assert (group.notifications, group.firing, group.resolved) == (3, 4, 1)


def test_storm_of_500_alerts_is_bounded(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        ingest(s, note=note(0), now=T0, policy=DEFAULT_POLICY)
    with factory() as s:
        _, _, one_incident_pages = counts(s)
    for i in range(1, 500):  # 500 alerts within one minute on the injected clock, 10 groups
        with factory() as s, s.begin():
            ingest(s, note=note(i % 10), now=T0 + timedelta(seconds=i * 0.1), policy=DEFAULT_POLICY)
    with factory() as s:
        incidents, groups, pages = counts(s)
    assert (incidents, groups) == (10, 10)
    assert one_incident_pages > 0
    assert pages <= 10 * one_incident_pages


def test_a_group_firing_again_after_its_incident_was_closed_opens_a_new_one(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        first = ingest(s, note=note(1), now=T0, policy=DEFAULT_POLICY)
        # Resolved, then a person closes it (the lifecycle's own tests cover how).
        ingest(s, note=note(1, "resolved"), now=T0 + timedelta(minutes=5), policy=DEFAULT_POLICY)
        closed = s.get(Incident, first.incident_id)
        assert closed is not None
        closed.status = "closed"
    with factory() as s, s.begin():  # a late resolved notice only adds to the closed record
        late = ingest(
            s, note=note(1, "resolved"), now=T0 + timedelta(hours=1), policy=DEFAULT_POLICY
        )
    assert (late.incident_id, late.created) == (first.incident_id, False)
    with factory() as s, s.begin():
        again = ingest(s, note=note(1), now=T0 + timedelta(days=3), policy=DEFAULT_POLICY)
        repeat = ingest(
            s, note=note(1), now=T0 + timedelta(days=3, minutes=5), policy=DEFAULT_POLICY
        )
    assert again.created and again.incident_id != first.incident_id
    assert (repeat.incident_id, repeat.created) == (again.incident_id, False)
    with factory() as s:
        incidents, groups, _ = counts(s)
        assert (incidents, groups) == (2, 1)
        recurred = s.scalars(
            select(AuditEvent).where(
                AuditEvent.incident_id == first.incident_id, AuditEvent.kind == "intake.recurred"
            )
        ).one()
        assert recurred.payload["new_incident_id"] == again.incident_id
        received = s.scalars(
            select(AuditEvent).where(
                AuditEvent.incident_id == again.incident_id, AuditEvent.kind == "intake.received"
            )
        ).one()
        assert received.payload["previous_incident_id"] == first.incident_id
