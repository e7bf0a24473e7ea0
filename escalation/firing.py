"""Firing timers: the one place a page, a warning, a breach or a notice is written.

The sweep fires the timers it claimed; the use cases fire the ones due at once (the
first step at open, "escalate now") and write notices (acknowledged, resolved…). All go
through :class:`Firing`, which re-checks each timer's stop condition at the moment it
fires (a step of an acknowledged chain is cancelled, not sent), resolves the recipients
through the organisation *now*, records them on the timer, queues the outbox rows and,
at :meth:`Firing.finish`, appends one audit event per incident.

Who is told:

- a page step: its ``notify`` targets, until its stop condition holds;
- an inform step: its ``notify`` targets, each opening a receipt (``escalation.receipts``)
  that only they can confirm; its repeats remind only those who have not confirmed, and
  nothing but a new run of the chain cancels it (not an acknowledgement, not resolution);
- a receipt timer: when a receipt is still unconfirmed ``confirm_within`` after it was
  opened, the next person up and the person's deputy are informed, with receipts of
  their own;
- a delivered report (:meth:`Firing.inform_report`): the obligation's ``inform`` targets;
- a step's ``groups``: the named group destinations (robots) get the step's notice too;
- a warning: the first step's targets of the incident's chain (the command center and
  whoever is paged first: the people who file the report) and the handling lead;
- a breach: the grade's ``breach_notify``, once per obligation;
- a notice: everyone notified about the incident so far, except whoever caused it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from config.policy import DEFAULT_CONFIRM_WITHIN, parse_duration
from escalation import obligations, receipts
from escalation.chains import latest_chain
from escalation.enqueue import OutboxWriter
from escalation.frozen import get_clock, zone
from escalation.messages import Deadline, Notice, render
from escalation.models import (
    Destination,
    EscalationChain,
    IncidentClock,
    Notification,
    Obligation,
    Receipt,
    Timer,
)
from escalation.recipients import Recipient, Resolver
from incidents.audit import Actor, appending, record
from incidents.models import Incident
from incidents.org import Person

# A timer fired later than this after it was due says how late it is (item 8 of the
# outage rules: the worker was down, and the reader must know the page is stale).
LATE_AFTER = timedelta(minutes=2)


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
        self._groups: list[dict[str, Any]] = []
        self._group_destinations: dict[tuple[str, ...], list[Destination]] = {}
        # Chains whose targets the resolver was told of (Resolver.expect).
        self._expected: set[int] = set()
        self._parsed: dict[int, list[dict[str, Any]]] = {}
        # (chain, step) -> its receipts still open, read for a batch by ``prepare``.
        self._open_steps: dict[tuple[int, int], list[Receipt]] = {}
        # Held here so the identity map keeps them for ``session.get``.
        self._held: list[object] = []

    # --- a batch's reads at once ------------------------------------------------------

    def prepare(self, timers: Sequence[Timer]) -> None:
        """Read what firing ``timers`` will ask for, a statement per kind of row for
        the whole batch: their incidents, chains, frozen clocks, obligations (the
        nearest deadline, "reported", each warning's and breach's own), the receipts of
        receipt timers and the open receipts of inform reminders; then the organisation
        every target of them names (``Resolver.expect``). Firing reads the same rows
        it would have read timer by timer — in the same transaction, only earlier —
        and re-checks each timer's condition as it fires it."""
        incident_ids = sorted({t.incident_id for t in timers} - set(self._incidents))
        if incident_ids:
            for incident in self.session.scalars(
                select(Incident).where(Incident.id.in_(incident_ids))
            ):
                self._incidents[incident.id] = incident
            found = {
                c.incident_id: c
                for c in self.session.scalars(
                    select(IncidentClock).where(IncidentClock.incident_id.in_(incident_ids))
                )
            }
            for incident_id in incident_ids:
                self._clocks[incident_id] = found.get(incident_id)
            for incident_id, obs in obligations.of_incidents(self.session, incident_ids).items():
                self._held.extend(obs)
                nearest = obligations.nearest_of(obs)
                self._nearest[incident_id] = deadline_of(nearest) if nearest is not None else None
                self._initial_done[incident_id] = obligations.initial_done_of(obs)
        chain_ids = sorted(
            {t.chain_id for t in timers if t.chain_id is not None} - set(self._chains)
        )
        if chain_ids:
            for chain in self.session.scalars(
                select(EscalationChain).where(EscalationChain.id.in_(chain_ids))
            ):
                self._chains[chain.id] = chain
        receipt_ids = sorted({t.receipt_id for t in timers if t.receipt_id is not None})
        if receipt_ids:
            self._held.extend(
                self.session.scalars(select(Receipt).where(Receipt.id.in_(receipt_ids)))
            )
        reminders: set[tuple[int, int]] = set()
        for t in timers:
            of = self._chains.get(t.chain_id) if t.chain_id is not None else None
            if t.kind != "step" or not t.repeat_index or of is None or t.step_index is None:
                continue
            if self._is_inform(of, t.step_index):
                reminders.add((of.id, t.step_index))
        self._open_steps.update(receipts.open_for_steps(self.session, sorted(reminders)))
        targets: set[str] = set()
        for chain in self._chains.values():
            if chain.id not in self._expected:
                targets.update(self._chain_targets(chain))
        # A breach tells the frozen policy's breach_notify; a warning the first page
        # step's targets (from the incident's chain, read above for most).
        for incident_id in sorted({t.incident_id for t in timers if t.kind == "breach"}):
            clock = self._clocks.get(incident_id)
            if clock is not None:
                targets.update(clock.snapshot.get("breach_notify", ()))
        self.resolver.expect(targets)

    def opened(self, incident: Incident, clock: IncidentClock, obs: Sequence[Obligation]) -> None:
        """Take what a use case has just written for ``incident`` (its frozen clock and
        every one of its obligations) instead of reading it back: the first page at
        open reads no obligation."""
        self._incidents[incident.id] = incident
        self._clocks[incident.id] = clock
        self._held.extend(obs)
        nearest = obligations.nearest_of(obs)
        self._nearest[incident.id] = deadline_of(nearest) if nearest is not None else None
        self._initial_done[incident.id] = obligations.initial_done_of(obs)

    def _steps(self, chain: EscalationChain) -> list[dict[str, Any]]:
        """The chain's steps, parsed once per firing (a batch fires many of one chain)."""
        if chain.id not in self._parsed:
            self._parsed[chain.id] = chain.steps
        return self._parsed[chain.id]

    def _is_inform(self, chain: EscalationChain, step_index: int) -> bool:
        steps = self._steps(chain)
        return 0 <= step_index < len(steps) and steps[step_index].get("kind") == "inform"

    def _chain_targets(self, chain: EscalationChain) -> list[str]:
        self._expected.add(chain.id)
        return [t for step in self._steps(chain) for t in step.get("notify", ())]

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
        if timer.kind == "receipt":
            return self._receipt(timer)
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
        if chain.id not in self._expected:
            # The first step of a chain fired here: its later steps (the inform at
            # open) name more positions; read them all with this one's.
            self.resolver.expect(self._chain_targets(chain))
        if self._steps(chain)[timer.step_index].get("kind") == "inform":
            return self._inform_step(timer, incident, chain)
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
        step = self._steps(chain)[timer.step_index]
        recipients, unresolved = self.resolver.resolve(step["notify"], incident)
        notice = Notice(
            "step",
            step=timer.step_index,
            repeat=timer.repeat_index,
            deadline=self.nearest(incident.id),
            late_minutes=self._late(timer),
        )
        self._page(timer, incident, notice, recipients, unresolved)
        self._to_groups(timer, notice, step.get("groups", ()))
        return True

    def _inform_step(self, timer: Timer, incident: Incident, chain: EscalationChain) -> bool:
        """Tell the step's leaders; each confirms receipt (see the module doc)."""
        assert timer.step_index is not None
        step = self._steps(chain)[timer.step_index]
        within = parse_duration(
            step.get("confirm_within", DEFAULT_CONFIRM_WITHIN), key="confirm_within"
        )
        recipients, unresolved = self.resolver.resolve(step["notify"], incident)
        links: dict[int, int] = {}
        if not timer.repeat_index:
            told: list[Recipient] = []
            opened = receipts.open_receipts(
                self.session,
                [
                    receipts.Opening(
                        incident_id=incident.id,
                        person_id=r.person_id,
                        source="step",
                        key=receipts.step_key(chain.id, timer.step_index, r.person_id),
                        target=r.target,
                        confirm_within=within,
                        chain_id=chain.id,
                        step_index=timer.step_index,
                    )
                    for r in recipients
                ],
                now=self.now,
            )
            for r, (receipt, _) in zip(recipients, opened, strict=True):
                if receipt.confirmed_at is not None:
                    continue  # told already ("escalate now") and confirmed
                links[r.person_id] = receipt.id
                told.append(r)
            recipients = told
        else:
            # A reminder reaches only those whose receipt is still open: the people told
            # the first time, whoever holds the post now.
            pair = (chain.id, timer.step_index)
            waiting = (
                self._open_steps.pop(pair)
                if pair in self._open_steps
                else receipts.open_for_step(self.session, chain.id, timer.step_index)
            )
            if not waiting:
                self._cancel(timer, "every recipient confirmed receipt")
                return False
            people = {p.id: p for p in self._people([w.person_id for w in waiting])}
            recipients = [
                Recipient(w.target, p.id, p.login, p.name, p.language)
                for w in waiting
                if (p := people.get(w.person_id)) is not None and p.active
            ]
            unresolved = []
            links = {w.person_id: w.id for w in waiting}
        notice = Notice(
            "inform",
            step=timer.step_index,
            repeat=timer.repeat_index,
            deadline=self.nearest(incident.id),
            late_minutes=self._late(timer),
        )
        self._page(timer, incident, notice, recipients, unresolved, links=links)
        self._to_groups(timer, notice, step.get("groups", ()))
        return True

    def _receipt(self, timer: Timer) -> bool:
        """A receipt not confirmed in time: inform the next person up and the deputy."""
        receipt = self.session.get(Receipt, timer.receipt_id) if timer.receipt_id else None
        if receipt is None or receipt.confirmed_at is not None:
            self._cancel(timer, "confirmed")
            return False
        if receipt.escalated_at is not None:
            self._cancel(timer, "already escalated")
            return False
        incident = self._incident(timer.incident_id)
        receipt.escalated_at = self.now
        within = parse_duration(receipt.confirm_within, key="confirm_within")
        person = self.session.get(Person, receipt.person_id)
        targets = receipts.escalation_targets(
            self.resolver,
            incident,
            receipt.person_id,
            already=receipts.lineage(self.session, receipt),
        )
        opened = receipts.open_receipts(
            self.session,
            [
                receipts.Opening(
                    incident_id=incident.id,
                    person_id=p.id,
                    source="escalated",
                    key=receipts.escalated_key(receipt.id, p.id),
                    target=target,
                    confirm_within=within,
                    report_id=receipt.report_id,
                    escalated_from_id=receipt.id,
                )
                for target, p in targets
            ],
            now=self.now,
        )
        links = {p.id: o.id for (_, p), (o, _) in zip(targets, opened, strict=True)}
        recipients = [Recipient(target, p.id, p.login, p.name, p.language) for target, p in targets]
        notice = Notice(
            "inform",
            deadline=self.nearest(incident.id),
            unconfirmed_name=person.name if person is not None else "",
            unconfirmed_minutes=max(int(within.total_seconds() // 60), 1),
            extra={"unconfirmed_receipt_id": receipt.id, "report_id": receipt.report_id},
            late_minutes=self._late(timer),
        )
        self._page(
            timer,
            incident,
            notice,
            recipients,
            [] if recipients else ["next_up"],
            links=links,
        )
        return True

    def inform_report(
        self,
        incident: Incident,
        *,
        report_id: int,
        targets: Sequence[str],
        confirm_within: timedelta,
        text_zh: str,
        text_en: str,
        exclude: int | None = None,
    ) -> Timer:
        """Deliver a filed report (or the news that one was filed) to ``targets`` as an
        inform: a notice of its own, a receipt per person."""
        timer = Timer(
            incident_id=incident.id,
            kind="notice",
            notice="report",
            due_at=self.now,
            status="pending",
            cancel_reason="",
            note=f"report {report_id}",
            created_at=self.now,
        )
        self.session.add(timer)
        self.session.flush()
        recipients, unresolved = self.resolver.resolve(list(targets), incident)
        recipients = [r for r in recipients if r.person_id != exclude]
        opened = receipts.open_receipts(
            self.session,
            [
                receipts.Opening(
                    incident_id=incident.id,
                    person_id=r.person_id,
                    source="report",
                    key=receipts.report_key(report_id, r.person_id),
                    target=r.target,
                    confirm_within=confirm_within,
                    report_id=report_id,
                )
                for r in recipients
            ],
            now=self.now,
        )
        links = {r.person_id: o.id for r, (o, _) in zip(recipients, opened, strict=True)}
        notice = Notice(
            "report",
            extra={
                "report_id": report_id,
                "link_path": f"/incidents/{incident.id}/reports/{report_id}",
                "text_zh": text_zh,
                "text_en": text_en,
            },
        )
        self._page(timer, incident, notice, recipients, unresolved, links=links)
        return timer

    def _people(self, ids: list[int]) -> list[Person]:
        if not ids:
            return []
        return list(self.session.scalars(select(Person).where(Person.id.in_(set(ids)))))

    def _late(self, timer: Timer) -> int | None:
        late = self.now - timer.due_at
        return int(late.total_seconds() // 60) if late > LATE_AFTER else None

    def _to_groups(self, timer: Timer, notice: Notice, names: Sequence[str]) -> None:
        """Queue the step's notice (a page or an inform, as the people got it) for each
        named group destination (no person; a group confirms nothing)."""
        if not names:
            return
        key = tuple(sorted(set(names)))
        if key not in self._group_destinations:
            self._group_destinations[key] = list(
                self.session.scalars(
                    select(Destination).where(
                        Destination.person_id.is_(None),
                        Destination.label.in_(key),
                        Destination.enabled.is_(True),
                    )
                )
            )
        found = self._group_destinations[key]
        incident = self._incident(timer.incident_id)
        text_zh, text_en, payload = render(incident, notice, self.tz(incident.id))
        body = json.dumps(payload, ensure_ascii=False, default=str)
        for dest in found:
            self._groups.append(
                {
                    "incident_id": incident.id,
                    "timer_id": timer.id,
                    "person_id": None,
                    "channel": dest.kind,
                    "destination_id": dest.id,
                    "kind": notice.kind,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": self.now,
                    "last_error": "",
                    "payload_json": body,
                    "text_zh": text_zh,
                    "text_en": text_en,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        missing = sorted(set(names) - {d.label for d in found})
        if missing:
            self._events.setdefault(incident.id, []).append(
                {"timer": timer.id, "kind": "groups_unresolved", "groups": missing}
            )

    def _first_responders(self, incident: Incident) -> list[str]:
        if incident.id not in self._responders:
            chain = latest_chain(self.session, incident.id)
            clock = self._clock(incident.id)
            steps = chain.steps if chain is not None and chain.steps else []
            if not steps and clock is not None:
                steps = clock.snapshot["chain"]
            # The first *page* step: the people who respond and file (inform steps tell
            # leaders, who are not the ones asked to file).
            pages = [s for s in steps if s.get("kind", "page") == "page"] or steps
            self._responders[incident.id] = list(pages[0]["notify"]) if pages else []
        return self._responders[incident.id]

    def _warning(self, timer: Timer) -> bool:
        ob = self.session.get(Obligation, timer.obligation_id)
        assert ob is not None
        if ob.status != "pending" or ob.due_at is None:
            self._cancel(timer, f"obligation {ob.status}")
            return False
        if ob.due_at <= self.now:
            # Back after an outage: a warning for a deadline already past would mislead;
            # the breach alert speaks for it.
            self._cancel(timer, "the deadline has already passed")
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
        notice = Notice(
            "warning",
            obligation=deadline_of(ob),
            fraction=timer.fraction,
            late_minutes=self._late(timer),
        )
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
        notice = Notice("breach", obligation=deadline_of(ob), late_minutes=self._late(timer))
        self._page(timer, incident, notice, recipients, unresolved)
        return True

    def _page(
        self,
        timer: Timer,
        incident: Incident,
        notice: Notice,
        recipients: list[Recipient],
        unresolved: list[str],
        *,
        links: dict[int, int] | None = None,
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
                receipt_id=links.get(r.person_id) if links else None,
            )
        self.stats.fired += 1
        event: dict[str, object] = {
            "timer": timer.id,
            "kind": timer.kind if timer.kind != "notice" else notice.kind,
            "step": timer.step_index,
            "repeat": timer.repeat_index,
            "obligation_id": timer.obligation_id,
            "recipients": [r.login for r in recipients],
            "unresolved": unresolved,
        }
        # A roster with nobody on duty paged its fallback position: the record says so.
        fallbacks = {r.target: r.fallback for r in recipients if r.fallback is not None}
        if fallbacks:
            event["fallback"] = fallbacks
        self._events.setdefault(incident.id, []).append(event)

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
            person_ids = [
                pid
                for pid in self.session.scalars(
                    select(Notification.person_id)
                    .where(
                        Notification.incident_id == incident.id,
                        Notification.kind.in_(("step", "inform", "warning", "breach")),
                        Notification.person_id.is_not(None),
                    )
                    .distinct()
                )
                if pid is not None
            ]
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
        """Insert the queued outbox rows and append the audit events; call once, last.

        The events go in under one lock of the chain's head (``incidents.audit.appending``;
        inside a caller's own ``appending`` they join its batch)."""
        with self.session.no_autoflush, appending(self.session):
            self._finish(actor)
        return self.stats

    def _finish(self, actor: Actor) -> None:
        self.session.flush()
        self.stats.notifications += self.outbox.flush()
        if self._groups:
            written = self.session.execute(_notification_insert(), self._groups)
            self.stats.notifications += max(int(written.rowcount), 0)  # type: ignore[attr-defined]
            self._groups.clear()
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


def _notification_insert() -> Any:
    """A plain Core INSERT of notification rows (group notices: one per timer and group;
    the sweep's lock on the timer keeps it to one, the partial unique index too)."""
    table = Notification.__table__
    assert isinstance(table, Table)
    return insert(table)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _recipients_json(recipients: list[Recipient], unresolved: list[str]) -> str:
    entries: list[dict[str, object]] = [r.to_dict() for r in recipients]
    entries += [{"target": t, "person_id": None, "login": None} for t in unresolved]
    return json.dumps(entries, ensure_ascii=False)
