"""An incident's clocks as its page shows them: obligations, chains, pages and deliveries.

Read-only: ``escalation.queries`` answers with plain dicts (times as ISO strings) —
obligations, the handling target, every run of the chain with each page, whom it reached
and how delivery went; this module turns them into typed rows in the viewer's language
for the templates. "Who was notified when, delivered or not, who acknowledged" (issue 3,
item 7) is exactly what the escalation rows record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.web.deadlines import Deadline
from app.web.templating import iso, local, pick
from config.policy import PolicyError, parse_duration
from escalation.chains import next_page_step
from escalation.queries import escalation_state, handling_outcome, obligations_of
from escalation.reporting import reported_as_required
from incidents.models import Incident
from incidents.reports import KIND_NAMES, Report

UNFULFILLED = ("pending", "missed")


@dataclass(frozen=True)
class ObligationRow:
    name: str
    title: str
    to: str
    start: str
    status: str
    due_at: datetime | None
    window: int | None
    fulfilled_at: datetime | None
    breached_at: datetime | None
    late_reason: str
    waived_reason: str


@dataclass(frozen=True)
class Delivery:
    channel: str
    status: str
    sent_at: datetime | None
    attempts: int
    error: str
    # A reason code (escalation.delivery_reasons), when it failed; shown in words.
    reason: str = ""
    failing_since: datetime | None = None
    delivered_instead: str | None = None


@dataclass(frozen=True)
class Recipient:
    person_id: int | None
    name: str
    deliveries: list[Delivery]
    # The position paged because the roster the step targets had nobody on duty.
    fallback: str | None = None


@dataclass(frozen=True)
class Page:
    """One firing of a chain step (``repeat`` 0 is the first page, then reminders)."""

    step: int
    repeat: int
    targets: list[str]
    due_at: datetime
    status: str
    fired_at: datetime | None
    cancel_reason: str
    recipients: list[Recipient]


@dataclass(frozen=True)
class ChainRun:
    generation: int
    grade: str
    reason: str
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ended_at: datetime | None
    pages: list[Page]


@dataclass(frozen=True)
class OtherNotice:
    at: datetime
    kind: str
    recipients: list[str]


@dataclass(frozen=True)
class ReportRow:
    id: int
    kind: str
    kind_names: tuple[str, str]
    filed_at: datetime
    filed_by: str | None


@dataclass
class IncidentClocks:
    now: datetime
    obligations: list[ObligationRow] = field(default_factory=list)
    nearest: Deadline | None = None
    handling_due_at: datetime | None = None
    handled_promptly: bool | None = None
    # "Reported as required" by the one rule (escalation.reporting): None = not yet known.
    reported_as_required: bool | None = None
    chains: list[ChainRun] = field(default_factory=list)
    other_notices: list[OtherNotice] = field(default_factory=list)
    reports: list[ReportRow] = field(default_factory=list)
    awaiting_acknowledgement: bool = False
    next_step: int | None = None

    @property
    def now_iso(self) -> str:
        return iso(self.now)

    @property
    def now_local(self) -> str:
        return local(self.now, "%H:%M:%S")

    @property
    def owed(self) -> list[ObligationRow]:
        """Reports still owed: pending, or breached and not filed."""
        return [o for o in self.obligations if o.status in UNFULFILLED]

    @property
    def overdue(self) -> list[ObligationRow]:
        return [o for o in self.owed if o.due_at is not None and o.due_at <= self.now]


def _when(value: object) -> datetime | None:
    """An ISO 8601 time from ``escalation.queries`` back to a datetime."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value)


def _at(value: object) -> datetime:
    """A time the escalation rows always carry."""
    found = _when(value)
    if found is None:
        raise ValueError(f"expected an ISO 8601 time, got {value!r}")
    return found


def _obligation_row(ob: dict[str, Any]) -> ObligationRow:
    return ObligationRow(
        name=str(ob["name"]),
        title=pick((str(ob["title_zh"]), str(ob["title_en"]))),
        to=str(ob["to"]),
        start=str(ob["from"]),
        status=str(ob["status"]),
        due_at=_when(ob.get("due_at")),
        window=_seconds(ob.get("window")),
        fulfilled_at=_when(ob.get("fulfilled_at")),
        breached_at=_when(ob.get("breached_at")),
        late_reason=str(ob.get("late_reason") or ""),
        waived_reason=str(ob.get("waived_reason") or ""),
    )


def _seconds(window: object) -> int | None:
    if not isinstance(window, str):
        return None
    try:
        return int(parse_duration(window, key="window").total_seconds())
    except PolicyError:
        return None


def _delivery(note: dict[str, Any]) -> Delivery:
    return Delivery(
        channel=str(note.get("channel")),
        status=str(note.get("status")),
        sent_at=_when(note.get("sent_at")),
        attempts=int(note.get("attempts") or 0),
        error=str(note.get("last_error") or ""),
        reason=str(note.get("reason") or ""),
        failing_since=_when(note.get("failing_since")),
        delivered_instead=note.get("delivered_instead"),
    )


def _recipients(timer: dict[str, Any]) -> list[Recipient]:
    """Who the timer reached: the recipients it resolved to when it fired, each with
    its deliveries (including fallbacks to someone not on the original list)."""
    notes: list[dict[str, Any]] = list(timer.get("notifications") or [])
    by_person: dict[int, list[dict[str, Any]]] = {}
    names: dict[int, str] = {}
    for note in notes:
        pid = note.get("person_id")
        if isinstance(pid, int):
            by_person.setdefault(pid, []).append(note)
            names[pid] = str(note.get("name") or note.get("login") or "?")
    out: list[Recipient] = []
    seen: set[int] = set()
    for entry in timer.get("recipients") or []:
        pid = entry.get("person_id")
        if not isinstance(pid, int) or pid in seen:
            continue
        seen.add(pid)
        name = names.get(pid) or str(entry.get("name") or entry.get("login") or "?")
        fallback = entry.get("fallback")
        out.append(
            Recipient(
                pid,
                name,
                [_delivery(n) for n in by_person.get(pid, [])],
                str(fallback) if fallback else None,
            )
        )
    for pid, found in by_person.items():
        if pid not in seen:
            out.append(Recipient(pid, names[pid], [_delivery(n) for n in found]))
    return out


def _targets(step: dict[str, Any]) -> list[str]:
    notify = step.get("notify", [])
    return [str(t) for t in notify] if isinstance(notify, list) else []


def _chain_run(chain: dict[str, Any]) -> tuple[ChainRun, int | None]:
    """The run as the page shows it, and the next step "escalate now" would fire."""
    pages: list[Page] = []
    fired: list[int] = []
    for step in chain.get("steps", []):
        index = int(step.get("index", 0))
        for timer in step.get("timers", []):
            if timer.get("status") == "fired":
                fired.append(index)
            pages.append(
                Page(
                    step=index,
                    repeat=int(timer.get("repeat") or 0),
                    targets=_targets(step),
                    due_at=_at(timer.get("due_at")),
                    status=str(timer.get("status")),
                    fired_at=_when(timer.get("fired_at")),
                    cancel_reason=str(timer.get("cancel_reason") or ""),
                    recipients=_recipients(timer),
                )
            )
    pages.sort(key=lambda p: (p.step, p.repeat))
    acknowledged_by = chain.get("acknowledged_by") or {}
    run = ChainRun(
        generation=int(chain["generation"]),
        grade=str(chain["grade"]),
        reason=str(chain["reason"]),
        started_at=_at(chain.get("started_at")),
        acknowledged_at=_when(chain.get("acknowledged_at")),
        acknowledged_by=acknowledged_by.get("name") if acknowledged_by else None,
        ended_at=_when(chain.get("ended_at")),
        pages=pages,
    )
    frozen = [{"kind": step.get("kind", "page")} for step in chain.get("steps", [])]
    return run, next_page_step(frozen, fired)


def incident_clocks(session: Session, incident: Incident, now: datetime) -> IncidentClocks:
    """Everything the incident page shows about deadlines and escalation, at ``now``."""
    out = IncidentClocks(now=now)
    out.obligations = [_obligation_row(o) for o in obligations_of(session, incident.id, now)]
    out.obligations.sort(key=lambda o: (o.due_at is None, o.due_at or now, o.name))
    owed = [o for o in out.owed if o.due_at is not None]
    if owed:
        first = min(owed, key=lambda o: o.due_at or now)
        assert first.due_at is not None
        out.nearest = Deadline(
            incident.id, first.name, first.title, first.to, first.due_at, first.window, first.status
        )
    out.reported_as_required = reported_as_required(session, incident.id, now).value
    handling = handling_outcome(session, incident.id, now)
    out.handling_due_at = _when(handling.get("handling_due_at"))
    prompt = handling.get("handled_promptly")
    out.handled_promptly = prompt if isinstance(prompt, bool) else None

    state = escalation_state(session, incident.id)
    running_id = state.get("current_chain_id")
    running_waits = False
    for chain in reversed(state.get("chains", [])):  # newest run first
        run, following = _chain_run(chain)
        out.chains.append(run)
        if chain.get("id") == running_id:
            out.next_step = following
            running_waits = run.acknowledged_at is None
    out.awaiting_acknowledgement = incident.acknowledged_at is None or running_waits
    for timer in [*state.get("alerts", []), *state.get("notices", [])]:
        fired_at = _when(timer.get("fired_at"))
        if fired_at is None:
            continue
        out.other_notices.append(
            OtherNotice(fired_at, str(timer.get("kind")), [r.name for r in _recipients(timer)])
        )
    out.other_notices.sort(key=lambda n: n.at, reverse=True)

    reports = session.scalars(
        select(Report)
        .where(Report.incident_id == incident.id)
        .order_by(Report.id)
        .options(selectinload(Report.filed_by))
    ).all()
    out.reports = [
        ReportRow(
            id=r.id,
            kind=r.kind,
            kind_names=KIND_NAMES[r.kind],
            filed_at=r.filed_at,
            filed_by=r.filed_by.name if r.filed_by is not None else None,
        )
        for r in reports
    ]
    return out
