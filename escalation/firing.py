"""Firing timers: the one place a page, a warning, a breach or a notice is written.

The sweep fires the timers it claimed; the use cases fire the ones due at once (the
first step at open, "escalate now") and write notices (acknowledged, resolved…). All go
through :class:`Firing`, which re-checks each timer's stop condition at the moment it
fires (a step of an acknowledged chain is cancelled, not sent), resolves the recipients
through the organisation *now*, records them on the timer, queues the outbox rows and,
at :meth:`Firing.finish`, appends one audit event per incident.

Who is told:

- a step: its ``notify`` targets;
- a warning: the first step's targets of the incident's chain (the command center and
  whoever is paged first: the people who file the report) and the handling lead;
- a breach: the grade's ``breach_notify``, once per obligation;
- a notice: everyone notified about the incident so far, except whoever caused it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation import obligations
from escalation.chains import latest_chain
from escalation.enqueue import OutboxWriter
from escalation.frozen import get_clock, zone
from escalation.messages import Deadline, Notice, render
from escalation.models import EscalationChain, IncidentClock, Notification, Obligation, Timer
from escalation.recipients import Recipient, Resolver
from incidents.audit import Actor, record
from incidents.models import Incident
from incidents.org import Person


@dataclass
class FireStats:
    fired: int = 0
    cancelled: int = 0
    notifications: int = 0


def deadline_of(ob: Obligation) -> Deadline:
    assert ob.due_at is not None
    return Deadline(ob.name, ob.title_zh, ob.title_en, ob.due_at)


class Firing:
    """One transaction's firing: caches, the outbox writer and the audit entries."""

    def __init__(self, session: Session, *, now: datetime, default_tz: tzinfo) -> None:
        self.session = session
        self.now = now
        self.default_tz = default_tz
        self.resolver = Resolver(session, now)
        self.outbox = OutboxWriter(session, now)
        self.stats = FireStats()
        self._events: dict[int, list[dict[str, Any]]] = {}
        self._missed: list[Obligation] = []
        self._nearest: dict[int, Deadline | None] = {}
        self._initial_done: dict[int, bool] = {}
        # Held here: the session's identity map keeps objects only while referenced.
        self._incidents: dict[int, Incident] = {}
        self._clocks: dict[int, IncidentClock | None] = {}
        self._chains: dict[int, EscalationChain] = {}
        self._responders: dict[int, list[str]] = {}

    # --- lookups --------------------------------------------------------------------

    def _incident(self, incident_id: int) -> Incident:
        if incident_id not in self._incidents:
            incident = self.session.get(Incident, incident_id)
            assert incident is not None
            self._incidents[incident_id] = incident
        return self._incidents[incident_id]

    def _clock(self, incident_id: int) -> IncidentClock | None:
        if incident_id not in self._clocks:
            self._clocks[incident_id] = get_clock(self.session, incident_id)
        return self._clocks[incident_id]

    def _chain(self, chain_id: int) -> EscalationChain:
        if chain_id not in self._chains:
            chain = self.session.get(EscalationChain, chain_id)
            assert chain is not None
            self._chains[chain_id] = chain
        return self._chains[chain_id]

    def tz(self, incident_id: int) -> tzinfo:
        clock = self._clock(incident_id)
        return zone(clock) if clock is not None else self.default_tz

    def nearest(self, incident_id: int) -> Deadline | None:
        if incident_id not in self._nearest:
            ob = obligations.nearest_pending(self.session, incident_id)
            self._nearest[incident_id] = deadline_of(ob) if ob is not None else None
        return self._nearest[incident_id]

    def _reported(self, incident_id: int) -> bool:
        if incident_id not in self._initial_done:
            self._initial_done[incident_id] = obligations.initial_done(self.session, incident_id)
        return self._initial_done[incident_id]

    # --- firing ---------------------------------------------------------------------

    def fire(self, timer: Timer, *, force: bool = False) -> bool:
        """Fire ``timer`` (or cancel it if its condition no longer holds); True if fired.

        ``force`` skips the step's stop condition: a person asked for it ("escalate now").
        """
        if timer.kind == "step":
            return self._step(timer, force=force)
        if timer.kind == "warning":
            return self._warning(timer)
        if timer.kind == "breach":
            return self._breach(timer)
        self._cancel(timer, f"unknown timer kind {timer.kind!r}")
        return False

    def _cancel(self, timer: Timer, reason: str) -> None:
        timer.status = "cancelled"
        timer.cancelled_at = self.now
        timer.cancel_reason = reason[:200]
        self.stats.cancelled += 1

    def _step(self, timer: Timer, *, force: bool) -> bool:
        incident = self._incident(timer.incident_id)
        assert timer.chain_id is not None and timer.step_index is not None
        chain = self._chain(timer.chain_id)
        reason = ""
        if incident.status in ("resolved", "closed"):
            reason = f"incident {incident.status}"
        elif chain.ended_at is not None:
            reason = f"chain ended ({chain.end_reason})"
        elif force:
            reason = ""
        elif timer.until == "acknowledged" and chain.acknowledged_at is not None:
            reason = "acknowledged"
        elif timer.until == "reported" and self._reported(incident.id):
            reason = "initial reports filed"
        if reason:
            self._cancel(timer, reason)
            return False
        step = chain.steps[timer.step_index]
        recipients, unresolved = self.resolver.resolve(step["notify"], incident)
        notice = Notice(
            "step",
            step=timer.step_index,
            repeat=timer.repeat_index,
            deadline=self.nearest(incident.id),
        )
        self._page(timer, incident, notice, recipients, unresolved)
        return True

    def _first_responders(self, incident: Incident) -> list[str]:
        if incident.id not in self._responders:
            chain = latest_chain(self.session, incident.id)
            clock = self._clock(incident.id)
            if chain is not None and chain.steps:
                self._responders[incident.id] = list(chain.steps[0]["notify"])
            else:
                self._responders[incident.id] = (
                    list(clock.snapshot["chain"][0]["notify"]) if clock is not None else []
                )
        return self._responders[incident.id]

    def _warning(self, timer: Timer) -> bool:
        ob = self.session.get(Obligation, timer.obligation_id)
        assert ob is not None
        if ob.status != "pending" or ob.due_at is None:
            self._cancel(timer, f"obligation {ob.status}")
            return False
        incident = self._incident(timer.incident_id)
        recipients, unresolved = self.resolver.resolve(self._first_responders(incident), incident)
        lead = incident.handling_lead_id
        if lead is not None and lead not in {r.person_id for r in recipients}:
            person = self.session.get(Person, lead)
            if person is not None and person.active:
                recipients.append(
                    Recipient(
                        "handling_lead", person.id, person.login, person.name, person.language
                    )
                )
        notice = Notice("warning", obligation=deadline_of(ob), fraction=timer.fraction)
        self._page(timer, incident, notice, recipients, unresolved)
        return True

    def _breach(self, timer: Timer) -> bool:
        ob = self.session.get(Obligation, timer.obligation_id)
        assert ob is not None
        if not obligations.mark_missed(self.session, ob, now=self.now):
            self._cancel(timer, f"obligation {ob.status}")
            return False
        incident = self._incident(timer.incident_id)
        clock = self._clock(incident.id)
        targets = list(clock.snapshot["breach_notify"]) if clock is not None else []
        recipients, unresolved = self.resolver.resolve(targets, incident)
        self._missed.append(ob)
        self._page(
            timer, incident, Notice("breach", obligation=deadline_of(ob)), recipients, unresolved
        )
        return True

    def _page(
        self,
        timer: Timer,
        incident: Incident,
        notice: Notice,
        recipients: list[Recipient],
        unresolved: list[str],
    ) -> None:
        timer.status = "fired"
        timer.fired_at = self.now
        timer.recipients_json = _recipients_json(recipients, unresolved)
        text_zh, text_en, payload = render(incident, notice, self.tz(incident.id))
        for r in recipients:
            self.outbox.add(
                timer_id=timer.id,
                incident_id=incident.id,
                person_id=r.person_id,
                kind=notice.kind,
                text_zh=text_zh,
                text_en=text_en,
                payload=payload,
            )
        self.stats.fired += 1
        self._events.setdefault(incident.id, []).append(
            {
                "timer": timer.id,
                "kind": timer.kind if timer.kind != "notice" else notice.kind,
                "step": timer.step_index,
                "repeat": timer.repeat_index,
                "obligation_id": timer.obligation_id,
                "recipients": [r.login for r in recipients],
                "unresolved": unresolved,
            }
        )

    def notice(
        self,
        incident: Incident,
        notice: Notice,
        *,
        exclude: int | None = None,
        person_ids: list[int] | None = None,
    ) -> Timer:
        """Write an immediate notice (acknowledged, resolved, reopened, case) as a fired
        timer, to ``person_ids`` or to everyone notified about the incident so far."""
        if person_ids is None:
            person_ids = list(
                self.session.scalars(
                    select(Notification.person_id)
                    .where(
                        Notification.incident_id == incident.id,
                        Notification.kind.in_(("step", "warning", "breach")),
                    )
                    .distinct()
                )
            )
        people = [self.session.get(Person, pid) for pid in sorted(set(person_ids))]
        recipients = [
            Recipient("notified", p.id, p.login, p.name, p.language)
            for p in people
            if p is not None and p.id != exclude and p.active
        ]
        timer = Timer(
            incident_id=incident.id,
            kind="notice",
            notice=notice.kind,
            due_at=self.now,
            status="pending",
            cancel_reason="",
            note="",
            created_at=self.now,
        )
        self.session.add(timer)
        self.session.flush()
        self._page(timer, incident, notice, recipients, [])
        return timer

    def finish(self, actor: Actor) -> FireStats:
        """Insert the queued outbox rows and append the audit events; call once, last."""
        self.session.flush()
        self.stats.notifications += self.outbox.flush()
        for ob in sorted(self._missed, key=lambda o: o.id):
            record(
                self.session,
                actor=actor,
                kind="obligation.missed",
                subject_type="obligation",
                subject_id=ob.id,
                incident_id=ob.incident_id,
                now=self.now,
                data={"name": ob.name, "to": ob.to, "due_at": _iso(ob.due_at)},
            )
        for incident_id in sorted(self._events):
            record(
                self.session,
                actor=actor,
                kind="escalation.fired",
                subject_type="incident",
                subject_id=incident_id,
                incident_id=incident_id,
                now=self.now,
                data={"timers": self._events[incident_id]},
            )
        self._missed.clear()
        self._events.clear()
        return self.stats


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _recipients_json(recipients: list[Recipient], unresolved: list[str]) -> str:
    entries: list[dict[str, object]] = [r.to_dict() for r in recipients]
    entries += [{"target": t, "person_id": None, "login": None} for t in unresolved]
    return json.dumps(entries, ensure_ascii=False)
