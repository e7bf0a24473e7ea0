"""Receipts: a leader told of an incident confirms it themselves (签收/已阅).

An inform step (``kind = "inform"`` in the policy) and a delivered report open one
receipt per person told. The receipt is confirmed only by its own person — a button in
Telegram, the link in an email (``escalation.receipt_links``), a button on the web or
the API; nobody else's acknowledgement confirms it. Each receipt has a *confirm timer*
(timer kind ``receipt``) due ``confirm_within`` after it was opened; if it fires with the
receipt still unconfirmed, the receipt is marked escalated and the next person up the
Article 3 ladder — and the person's named deputy — are informed in turn, each with a
receipt of their own. A confirmation cancels the receipt's pending timer.

Contract: :func:`confirm` is a use case (compare-and-set, audited); the rest are used by
:mod:`escalation.firing` inside the transaction that fires a timer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config.policy import format_duration, parse_duration
from escalation.models import RECEIPT_SOURCES, Notification, Receipt, Timer
from escalation.recipients import Resolver
from incidents.audit import Actor, record
from incidents.errors import Forbidden, NotFound, ValidationError
from incidents.models import Incident
from incidents.org import Person

CONFIRM_CHANNELS = ("web", "api", "telegram", "email")
SOURCES = RECEIPT_SOURCES


def step_key(chain_id: int, step_index: int, person_id: int) -> str:
    return f"step:{chain_id}:{step_index}:{person_id}"


def report_key(report_id: int, person_id: int) -> str:
    return f"report:{report_id}:{person_id}"


def escalated_key(from_id: int, person_id: int) -> str:
    return f"escalated:{from_id}:{person_id}"


@dataclass(frozen=True)
class Opening:
    """One receipt to open (see :func:`open_receipts`)."""

    incident_id: int
    person_id: int
    source: str
    key: str
    target: str
    confirm_within: timedelta
    chain_id: int | None = None
    step_index: int | None = None
    report_id: int | None = None
    escalated_from_id: int | None = None


def open_receipt(
    session: Session,
    *,
    incident_id: int,
    person_id: int,
    source: str,
    key: str,
    target: str,
    confirm_within: timedelta,
    now: datetime,
    chain_id: int | None = None,
    step_index: int | None = None,
    report_id: int | None = None,
    escalated_from_id: int | None = None,
) -> tuple[Receipt, bool]:
    """The receipt for ``key``, opened now with its confirm timer if it is new.

    Returns the receipt and whether it was opened by this call (a repeat of the same
    inform finds the one already open).
    """
    opening = Opening(
        incident_id=incident_id,
        person_id=person_id,
        source=source,
        key=key,
        target=target,
        confirm_within=confirm_within,
        chain_id=chain_id,
        step_index=step_index,
        report_id=report_id,
        escalated_from_id=escalated_from_id,
    )
    return open_receipts(session, [opening], now=now)[0]


def open_receipts(
    session: Session, openings: Sequence[Opening], *, now: datetime
) -> list[tuple[Receipt, bool]]:
    """:func:`open_receipt` for several keys at once, in their order: one multi-row
    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` opens the new ones, a second statement
    reads only those already open, and the new ones' confirm timers are added to the
    session (written with the session's next flush, in one statement)."""
    if not openings:
        return []
    rows = [
        {
            "incident_id": o.incident_id,
            "person_id": o.person_id,
            "source": o.source,
            "key": o.key,
            "target": o.target[:64],
            "chain_id": o.chain_id,
            "step_index": o.step_index,
            "report_id": o.report_id,
            "escalated_from_id": o.escalated_from_id,
            "confirm_within": format_duration(o.confirm_within),
            "informed_at": now,
            "confirmed_via": "",
            "created_at": now,
        }
        for o in openings
    ]
    insert = (
        postgresql.insert(Receipt)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(Receipt)
    )
    stmt = (
        insert.on_conflict_do_nothing(index_elements=["key"])
        .returning(Receipt)
        .execution_options(render_nulls=True)
    )
    opened = {r.key: r for r in session.scalars(stmt, rows)}
    # Only the keys open already are read back (none, when every receipt is new).
    known: dict[str, Receipt] = {}
    already = sorted({o.key for o in openings} - set(opened))
    if already:
        known = {r.key: r for r in session.scalars(select(Receipt).where(Receipt.key.in_(already)))}
    out: list[tuple[Receipt, bool]] = []
    for o in openings:
        if o.key in opened:
            receipt = opened.pop(o.key)
            out.append((receipt, True))
            known[o.key] = receipt
            session.add(
                Timer(
                    incident_id=o.incident_id,
                    kind="receipt",
                    due_at=now + o.confirm_within,
                    status="pending",
                    receipt_id=receipt.id,
                    cancel_reason="",
                    note="",
                    created_at=now,
                )
            )
        else:
            out.append((known[o.key], False))
    return out


def open_for_steps(
    session: Session, steps: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[Receipt]]:
    """:func:`open_for_step` of several (chain, step) pairs, in one statement."""
    out: dict[tuple[int, int], list[Receipt]] = {pair: [] for pair in steps}
    if not out:
        return out
    found = session.scalars(
        select(Receipt)
        .where(
            Receipt.chain_id.in_({c for c, _ in out}),
            Receipt.source == "step",
            Receipt.confirmed_at.is_(None),
        )
        .order_by(Receipt.id)
    )
    for r in found:
        pair = (r.chain_id, r.step_index)
        if pair[0] is not None and pair[1] is not None and pair in out:
            out[(pair[0], pair[1])].append(r)
    return out


def escalation_targets(
    resolver: Resolver, incident: Incident, person_id: int, *, already: set[int] | None = None
) -> list[tuple[str, Person]]:
    """Who is told when ``person_id`` has not confirmed: the next person up the Article 3
    ladder (3(3) → department → 3(2) in charge → 3(2) network security → 3(1)) — for
    someone outside the ladder (a leading group member) its top, the director — and the
    person's named deputy. Never the person themselves, nor anyone ``already`` told along
    the same line of escalation (so it climbs and ends, never circles); nobody above the
    top."""
    skip = {person_id, *(already or set())}
    out: list[tuple[str, Person]] = []
    ladder = resolver.ladder(incident)
    ids = [p.id for p in ladder]
    higher = ladder[ids.index(person_id) + 1 :] if person_id in ids else ladder[-1:]
    above = next((p for p in higher if p.id not in skip and p.active), None)
    if above is not None:
        out.append(("next_up", above))
        skip.add(above.id)
    person = resolver.session.get(Person, person_id)
    if person is not None and person.deputy_id is not None:
        deputy = resolver.session.get(Person, person.deputy_id)
        if deputy is not None and deputy.active and deputy.id not in skip:
            out.append(("deputy", deputy))
    return out


def lineage(session: Session, receipt: Receipt) -> set[int]:
    """The people told along ``receipt``'s line of escalation, back to the first one."""
    people = {receipt.person_id}
    current: Receipt | None = receipt
    seen: set[int] = set()
    while current is not None and current.escalated_from_id is not None:
        if current.id in seen:  # pragma: no cover - rows cannot form a loop, but be safe
            break
        seen.add(current.id)
        current = session.get(Receipt, current.escalated_from_id)
        if current is not None:
            people.add(current.person_id)
    return people


def open_for_step(session: Session, chain_id: int, step_index: int) -> list[Receipt]:
    """The receipts of an inform step still unconfirmed (its reminders go to these)."""
    return list(
        session.scalars(
            select(Receipt).where(
                Receipt.chain_id == chain_id,
                Receipt.step_index == step_index,
                Receipt.source == "step",
                Receipt.confirmed_at.is_(None),
            )
        )
    )


@dataclass(frozen=True)
class ConfirmResult:
    receipt: Receipt
    changed: bool


def confirm(
    session: Session, *, receipt_id: int, actor: Actor, via: str, now: datetime
) -> ConfirmResult:
    """The receipt's own person confirms it (签收). Compare-and-set: a second press
    changes nothing and is no error. Someone else — even an admin — cannot confirm for
    them: a receipt says that *this* leader was told."""
    if via not in CONFIRM_CHANNELS:
        raise ValidationError(
            "must be one of %(choices)s",
            field="via",
            code="via.choice",
            params={"choices": ", ".join(CONFIRM_CHANNELS)},
        )
    receipt = session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound(
            "no receipt %(receipt_id)s", code="no_receipt", params={"receipt_id": receipt_id}
        )
    if actor.person_id != receipt.person_id:
        raise Forbidden(
            "only the person informed can confirm their own receipt",
            code="only_person_informed_can",
        )
    result = session.execute(
        update(Receipt)
        .where(Receipt.id == receipt_id, Receipt.confirmed_at.is_(None))
        .values(confirmed_at=now, confirmed_via=via)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return ConfirmResult(receipt, False)
    session.refresh(receipt)
    session.execute(
        update(Timer)
        .where(Timer.receipt_id == receipt_id, Timer.status == "pending")
        .values(status="cancelled", cancelled_at=now, cancel_reason="confirmed")
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        actor=actor,
        kind="receipt.confirmed",
        subject_type="receipt",
        subject_id=receipt.id,
        incident_id=receipt.incident_id,
        now=now,
        data={
            "person_id": receipt.person_id,
            "source": receipt.source,
            "via": via,
            "informed_at": receipt.informed_at.isoformat(),
            "report_id": receipt.report_id,
        },
    )
    return ConfirmResult(receipt, True)


def open_receipts_of(session: Session, person_id: int, incident_id: int) -> list[Receipt]:
    """The person's unconfirmed receipts for an incident (what their 签收 button confirms)."""
    return list(
        session.scalars(
            select(Receipt)
            .where(
                Receipt.person_id == person_id,
                Receipt.incident_id == incident_id,
                Receipt.confirmed_at.is_(None),
            )
            .order_by(Receipt.id)
        )
    )


def confirm_all(
    session: Session, *, incident_id: int, actor: Actor, via: str, now: datetime
) -> int:
    """Confirm every open receipt of the actor for one incident (the web's one button)."""
    if actor.person_id is None:
        raise Forbidden("only a person can confirm a receipt", code="only_person_can_confirm")
    done = 0
    for receipt in open_receipts_of(session, actor.person_id, incident_id):
        if confirm(session, receipt_id=receipt.id, actor=actor, via=via, now=now).changed:
            done += 1
    return done


@dataclass(frozen=True)
class ReceiptView:
    """One line of "who was informed": for the incident and report pages and the API."""

    id: int
    person_id: int
    login: str
    name: str
    source: str
    target: str
    step_index: int | None
    report_id: int | None
    escalated_from_id: int | None
    informed_at: datetime
    confirm_by: datetime
    confirmed_at: datetime | None
    confirmed_via: str
    escalated_at: datetime | None
    # channel -> (status, sent_at) of the notice that informed them
    deliveries: tuple[tuple[str, str, datetime | None], ...]

    def to_dict(self) -> dict[str, object]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v is not None else None

        return {
            "id": self.id,
            "person_id": self.person_id,
            "login": self.login,
            "name": self.name,
            "source": self.source,
            "target": self.target,
            "step": self.step_index,
            "report_id": self.report_id,
            "escalated_from_id": self.escalated_from_id,
            "informed_at": iso(self.informed_at),
            "confirm_by": iso(self.confirm_by),
            "confirmed_at": iso(self.confirmed_at),
            "confirmed_via": self.confirmed_via or None,
            "escalated_at": iso(self.escalated_at),
            "deliveries": [
                {"channel": c, "status": s, "sent_at": iso(at)} for c, s, at in self.deliveries
            ],
        }


def receipts_view(
    session: Session, incident_id: int, *, report_id: int | None = None
) -> list[ReceiptView]:
    """Every receipt of an incident (or of one report), with how each notice went."""
    stmt = select(Receipt).where(Receipt.incident_id == incident_id).order_by(Receipt.id)
    if report_id is not None:
        stmt = stmt.where(Receipt.report_id == report_id)
    receipts = list(session.scalars(stmt))
    if not receipts:
        return []
    ids = [r.id for r in receipts]
    notes = session.execute(
        select(
            Notification.receipt_id, Notification.channel, Notification.status, Notification.sent_at
        )
        .where(Notification.receipt_id.in_(ids))
        .order_by(Notification.id)
    ).all()
    by_receipt: dict[int, list[tuple[str, str, datetime | None]]] = {}
    for rid, channel, status, sent_at in notes:
        if rid is not None:
            by_receipt.setdefault(rid, []).append((channel, status, sent_at))
    people = {
        p.id: p
        for p in session.scalars(
            select(Person).where(Person.id.in_({r.person_id for r in receipts}))
        )
    }
    out: list[ReceiptView] = []
    for r in receipts:
        person = people.get(r.person_id)
        out.append(
            ReceiptView(
                id=r.id,
                person_id=r.person_id,
                login=person.login if person else "",
                name=person.name if person else "",
                source=r.source,
                target=r.target,
                step_index=r.step_index,
                report_id=r.report_id,
                escalated_from_id=r.escalated_from_id,
                informed_at=r.informed_at,
                confirm_by=r.informed_at + parse_duration(r.confirm_within, key="confirm_within"),
                confirmed_at=r.confirmed_at,
                confirmed_via=r.confirmed_via,
                escalated_at=r.escalated_at,
                deliveries=tuple(by_receipt.get(r.id, [])),
            )
        )
    return out
