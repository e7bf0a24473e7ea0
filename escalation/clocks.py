"""Starting an incident's clocks, and the bookkeeping shared by the use cases.

``start`` freezes the grade's policy, creates the obligations with their alerts, starts
the chain and fires its first step if it is due at once — all in the caller's
transaction, so the incident never exists without its clocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from config.policy import GradePolicy, Policy, format_duration
from escalation import obligations
from escalation.firing import Firing
from escalation.frozen import freeze, get_clock, grade_policy, zone
from escalation.models import EscalationChain, IncidentClock, Obligation, Timer
from incidents.audit import Actor, appending, record
from incidents.models import Incident
from incidents.rows import adopt, table_of


def start(
    session: Session,
    incident: Incident,
    policy: Policy,
    *,
    actor: Actor,
    now: datetime,
    new_incident: bool = False,
) -> IncidentClock:
    """Freeze the policy into ``incident`` and start every clock it sets.

    ``new_incident``: logged in this transaction, so its chain is the first.

    A start is a handful of statements whatever the grade: the obligations go in with
    one multi-row INSERT, every timer (warnings, breaches, pages) with one more, and
    only the pages due now are read back as objects to fire. The rows are those
    ``obligations.create``, ``obligations.schedule_alerts`` and ``chains.start_chain``
    make one by one for a regrade.
    """
    with session.no_autoflush, appending(session):
        clock = freeze(session, incident, policy, now)
        gp = grade_policy(clock)
        obs, made = _create_obligations(session, incident, clock, gp, now)
        planned(session, incident, clock, actor=actor, now=now, kind="obligations.planned", obs=obs)
        generation = 1
        if not new_incident:
            generation += (
                session.scalar(
                    select(func.max(EscalationChain.generation)).where(
                        EscalationChain.incident_id == incident.id
                    )
                )
                or 0
            )
        chain = _insert_chain(session, incident, gp, generation, now)
        timers = [
            _timer_row(incident.id, kind, at, now, obligation_id=ob_id, fraction=fraction)
            for ob_id, kind, at, fraction in _alerts(obs, gp.warn_at, now)
        ]
        for index, step in enumerate(gp.chain):
            for repeat, offset in enumerate(step.offsets()):
                timers.append(
                    _timer_row(
                        incident.id,
                        "step",
                        now + offset,
                        now,
                        chain_id=chain.id,
                        step_index=index,
                        repeat_index=repeat,
                        until=step.until,
                    )
                )
        # One statement for every timer, in the order the one-by-one inserts had them
        # (ids rise in that order); the pages due now are held as objects to fire.
        due: list[Timer] = []
        if timers:
            table = table_of(Timer)
            for row in session.execute(insert(table).returning(*table.c), timers).mappings():
                if row["kind"] == "step" and row["due_at"] <= now:
                    due.append(adopt(session, Timer, dict(row)))
            due.sort(key=lambda t: t.id)
        record(
            session,
            actor=actor,
            kind="escalation.chain_started",
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            now=now,
            data={"generation": chain.generation, "grade": chain.grade, "reason": chain.reason},
        )
        firing = Firing(session, now=now, default_tz=zone(clock))
        firing.opened(incident, clock, made)
        for timer in due:
            firing.fire(timer)
        firing.finish(actor)
    return clock


def _insert_chain(
    session: Session, incident: Incident, gp: GradePolicy, generation: int, now: datetime
) -> EscalationChain:
    """The incident's chain: one INSERT, held by the session as loaded (the firing reads it)."""
    row: dict[str, Any] = {
        "incident_id": incident.id,
        "generation": generation,
        "grade": incident.grade,
        "steps_json": json.dumps([s.to_dict() for s in gp.chain], ensure_ascii=False),
        "reason": "opened",
        "started_at": now,
        "acknowledged_at": None,
        "acknowledged_by_id": None,
        "ended_at": None,
        "end_reason": "",
    }
    table = table_of(EscalationChain)
    row["id"] = session.execute(insert(table).returning(table.c.id), row).scalar_one()
    return adopt(session, EscalationChain, row)


def _create_obligations(
    session: Session, incident: Incident, clock: IncidentClock, gp: GradePolicy, now: datetime
) -> tuple[list[_Planned], list[Obligation]]:
    """Insert the grade's obligations in one statement; what ``planned`` and the alerts
    need, and the obligations as objects."""
    rows: list[dict[str, Any]] = []
    windows: list[timedelta] = []
    for spec in gp.obligations:
        window = spec.window(clock.reporter_category)
        windows.append(window)
        opened = obligations.start_event(incident, spec.start)
        rows.append(
            {
                "incident_id": incident.id,
                "name": spec.name,
                "to": spec.to,
                "title_zh": spec.title_zh,
                "title_en": spec.title_en,
                "start": spec.start,
                "window": format_duration(window),
                "grade": incident.grade,
                "due_at": opened + window if opened is not None else None,
                "status": "pending",
                "fulfilled_at": None,
                "report_id": None,
                "late_reason": "",
                "breached_at": None,
                "waived_reason": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return [], []
    # Held as objects: the first page's firing takes them instead of a query.
    table = table_of(Obligation)
    made = [
        adopt(session, Obligation, dict(row))
        for row in session.execute(insert(table).returning(*table.c), rows).mappings()
    ]
    ids: dict[str, int] = {ob.name: ob.id for ob in made}
    planned = [
        _Planned(ids[r["name"]], r["name"], r["due_at"], window)
        for r, window in zip(rows, windows, strict=True)
    ]
    return planned, made


@dataclass(frozen=True)
class _Planned:
    """An obligation just inserted: enough to audit its deadline and plan its alerts."""

    id: int
    name: str
    due_at: datetime | None
    window: timedelta
    status: str = "pending"


def _alerts(
    obs: list[_Planned], warn_at: Sequence[float], now: datetime
) -> Iterator[tuple[int, str, datetime, float | None]]:
    """(obligation, kind, when, fraction) of each obligation's warnings still ahead and
    its breach, in the order ``obligations.schedule_alerts`` plans them."""
    for ob in obs:
        if ob.due_at is None:
            continue
        opened = ob.due_at - ob.window
        for fraction in warn_at:
            at = opened + ob.window * fraction
            if at > now:
                yield ob.id, "warning", at, fraction
        yield ob.id, "breach", ob.due_at, None


def _timer_row(
    incident_id: int, kind: str, due_at: datetime, now: datetime, **fields: Any
) -> dict[str, Any]:
    """A pending timer's row; every row has the same keys, so they go in as one batch."""
    return {
        "incident_id": incident_id,
        "kind": kind,
        "due_at": due_at,
        "status": "pending",
        "chain_id": None,
        "step_index": None,
        "repeat_index": None,
        "until": None,
        "obligation_id": None,
        "fraction": None,
        "receipt_id": None,
        "notice": None,
        "fired_at": None,
        "cancelled_at": None,
        "cancel_reason": "",
        "recipients_json": None,
        "note": "",
        "created_at": now,
        **fields,
    }


def ensure(
    session: Session, incident: Incident, policy: Policy, *, actor: Actor, now: datetime
) -> IncidentClock:
    """The incident's clocks, started now if it was logged without them."""
    clock = get_clock(session, incident.id)
    if clock is None:
        clock = start(session, incident, policy, actor=actor, now=now)
    return clock


def planned(
    session: Session,
    incident: Incident,
    clock: IncidentClock,
    *,
    actor: Actor,
    now: datetime,
    kind: str,
    extra: dict[str, object] | None = None,
    obs: Sequence[Obligation | _Planned] | None = None,
) -> None:
    """Audit the deadlines as they now stand (an obligation's change is evidence).

    ``obs`` are the incident's obligations when the caller has them at hand."""
    if obs is None:
        obs = obligations.of_incident(session, incident.id)
    record(
        session,
        actor=actor,
        kind=kind,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        now=now,
        data={
            "grade": clock.grade,
            "reporter_category": clock.reporter_category,
            "handling_due_at": clock.handling_due_at.isoformat(),
            "obligations": [
                {
                    "name": o.name,
                    "status": o.status,
                    "due_at": o.due_at.isoformat() if o.due_at else None,
                }
                for o in obs
            ],
            **(extra or {}),
        },
    )


def settle_breaches(session: Session, incident: Incident, firing: Firing) -> None:
    """Fire the breach timers already due, so a regrade sees every breach that happened."""
    due = session.scalars(
        select(Timer)
        .join(Obligation, Obligation.id == Timer.obligation_id)
        .where(
            Timer.incident_id == incident.id,
            Timer.kind == "breach",
            Timer.status == "pending",
            Timer.due_at <= firing.now,
            Obligation.status == "pending",
        )
        .order_by(Timer.due_at, Timer.id)
    ).all()
    for timer in due:
        firing.fire(timer)
