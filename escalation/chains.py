"""Escalation chains: a grade's steps frozen per run, each step turned into timers.

A chain runs from ``started_at``: step *i* pages at ``started_at + after`` and again at
each ``repeat_every`` up to ``repeat_max`` more times (``ChainStep.offsets()``), one
timer row per page. A chain has its own acknowledgement: acknowledging cancels the
pending pages of its ``until = "acknowledged"`` steps in the same transaction, and an
upgrade starts a new chain that must be acknowledged again by someone at the new grade.
Inform steps (``kind = "inform"``, timers with ``until = "confirmed"``) are never
cancelled by an acknowledgement nor by resolution: each recipient confirms receipt
(``escalation.receipts``); only a new run of the chain (upgrade, downgrade) replaces them.

Runs of a chain (``reason``):

- ``opened`` — at open, from the moment the incident is logged;
- ``upgraded`` — a new grade's chain from the moment of the upgrade (restart);
- ``downgraded`` — the lower grade's chain from the original start, its past pages not
  repeated (a downgrade pages nobody again);
- ``reopened`` — the same grade again, acknowledged by whoever reopened it, so only
  ``reported`` / ``resolved`` steps page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config.policy import GradePolicy
from escalation.models import EscalationChain, Timer

# The stop condition stored on an inform step's timers: each recipient's own receipt.
INFORM_UNTIL = "confirmed"


def latest_chain(session: Session, incident_id: int) -> EscalationChain | None:
    """The newest run of the incident's chain, ended or not."""
    stmt = (
        select(EscalationChain)
        .where(EscalationChain.incident_id == incident_id)
        .order_by(EscalationChain.generation.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def current_chain(session: Session, incident_id: int) -> EscalationChain | None:
    """The running chain, if any (resolution ends it)."""
    chain = latest_chain(session, incident_id)
    return chain if chain is not None and chain.ended_at is None else None


def start_chain(
    session: Session,
    *,
    incident_id: int,
    grade: str,
    gp: GradePolicy,
    started_at: datetime,
    reason: str,
    now: datetime,
    acknowledged_at: datetime | None = None,
    acknowledged_by_id: int | None = None,
    only_future: bool = False,
) -> tuple[EscalationChain, list[Timer]]:
    """Create a chain run and its step timers; return it with the timers already due.

    ``only_future`` leaves out pages whose time has passed (a downgrade); an
    acknowledged run leaves out the ``acknowledged`` steps altogether.
    """
    generation = (
        session.scalar(
            select(func.max(EscalationChain.generation)).where(
                EscalationChain.incident_id == incident_id
            )
        )
        or 0
    ) + 1
    chain = EscalationChain(
        incident_id=incident_id,
        generation=generation,
        grade=grade,
        steps_json=json.dumps([s.to_dict() for s in gp.chain], ensure_ascii=False),
        reason=reason,
        started_at=started_at,
        acknowledged_at=acknowledged_at,
        acknowledged_by_id=acknowledged_by_id,
        end_reason="",
    )
    session.add(chain)
    session.flush()
    timers: list[Timer] = []
    for index, step in enumerate(gp.chain):
        if acknowledged_at is not None and step.until == "acknowledged" and not step.informs:
            continue
        for repeat, offset in enumerate(step.offsets()):
            due = started_at + offset
            if only_future and due <= now:
                continue
            timers.append(
                Timer(
                    incident_id=incident_id,
                    kind="step",
                    due_at=due,
                    status="pending",
                    chain_id=chain.id,
                    step_index=index,
                    repeat_index=repeat,
                    until=step.until,
                    cancel_reason="",
                    note="",
                    created_at=now,
                )
            )
    session.add_all(timers)
    session.flush()
    return chain, [t for t in timers if t.due_at <= now]


def cancel_steps(
    session: Session,
    *,
    incident_id: int,
    reason: str,
    now: datetime,
    chain_id: int | None = None,
    until: Sequence[str] | None = None,
    informs: bool = True,
) -> int:
    """Cancel pending step timers (of one chain, of some stop conditions); return how many.

    ``informs=False`` leaves inform steps running: resolving or closing an incident does
    not excuse telling the leaders that it happened.
    """
    stmt = (
        update(Timer)
        .where(Timer.incident_id == incident_id, Timer.kind == "step", Timer.status == "pending")
        .values(status="cancelled", cancelled_at=now, cancel_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if chain_id is not None:
        stmt = stmt.where(Timer.chain_id == chain_id)
    if until is not None:
        stmt = stmt.where(Timer.until.in_(list(until)))
    if not informs:
        stmt = stmt.where(Timer.until != INFORM_UNTIL)
    result = session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


def end_chain(
    session: Session,
    chain: EscalationChain,
    *,
    reason: str,
    now: datetime,
    informs: bool = True,
) -> int:
    """Stop a chain run: its pending pages are cancelled (its informs too unless
    ``informs=False``: resolution ends the paging, not the informing); return how many."""
    cancelled = cancel_steps(
        session,
        incident_id=chain.incident_id,
        chain_id=chain.id,
        reason=reason,
        now=now,
        informs=informs,
    )
    if chain.ended_at is None:
        chain.ended_at = now
        chain.end_reason = reason
    return cancelled


def acknowledge_chain(
    session: Session, chain: EscalationChain, *, person_id: int | None, now: datetime
) -> bool:
    """Compare-and-set the chain's acknowledgement; on success cancel its ack-bound pages."""
    result = session.execute(
        update(EscalationChain)
        .where(EscalationChain.id == chain.id, EscalationChain.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=person_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(chain)
    cancel_steps(
        session,
        incident_id=chain.incident_id,
        chain_id=chain.id,
        until=("acknowledged",),
        reason="acknowledged",
        now=now,
    )
    return True


def page_steps(steps: Sequence[dict[str, object]]) -> list[int]:
    """The indexes of a frozen chain's page steps (those that seek a responder)."""
    return [i for i, step in enumerate(steps) if step.get("kind", "page") == "page"]


def next_page_step(steps: Sequence[dict[str, object]], fired: Sequence[int]) -> int | None:
    """The page step "escalate now" fires: the first page step after the highest one that
    has paged (``fired``: step indexes with a fired timer); ``None`` past the last. Inform
    steps are not escalated to: they run on their own clock, whatever anyone asks."""
    pages = page_steps(steps)
    done = [i for i in fired if i in pages]
    after = max(done) if done else -1
    return next((i for i in pages if i > after), None)
