"""Writing a send's outcome back: sent, a flood wait, a retry, a failure handed on.

Each function writes one transaction's share for ``escalation.outbox.deliver``, and
touches a row only while its lease token still matches: a worker that stalled past its
lease cannot overwrite the one that took over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, case, delete, select, text, update
from sqlalchemy.orm import Session

from config.policy import OutboxPolicy, Policy
from escalation.claims import Claim
from escalation.handover import hand_on, handed_on
from escalation.models import DeliveryAttempt, Destination, Notification
from incidents.audit import record, system_actor

# The longest pause between two retries of a temporary failure. The notice does not
# wait for it: it is handed on after ``fallback_after`` whatever the backoff.
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    delayed: int = 0
    failed: int = 0
    fallbacks: int = 0
    more: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | temporary | permanent | skipped
    error: str = ""
    external_id: str | None = None
    retry_after: float | None = None


def backoff(policy: Policy, attempt: int) -> timedelta:
    """Delay before retry number ``attempt`` (1-based) of a temporary failure."""
    return retry_delay(policy.outbox, attempt)


def retry_delay(outbox: OutboxPolicy, attempt: int) -> timedelta:
    """:func:`backoff` from the outbox's part of the policy (bulletins use it too)."""
    delay: timedelta = outbox.backoff_base * (2 ** max(attempt - 1, 0))
    return min(delay, MAX_BACKOFF)


def write_back(
    session: Session,
    claim: Claim,
    outcome: Outcome,
    *,
    now: datetime,
    policy: Policy,
    result: DeliveryResult,
) -> None:
    n = session.scalars(
        select(Notification)
        .where(
            Notification.id == claim.notification_id,
            Notification.status == "sending",
            Notification.lease_token == claim.token,
        )
        .with_for_update()
    ).first()
    flood = outcome.kind == "temporary" and outcome.retry_after is not None
    attempt_outcome = "flood_wait" if flood else outcome.kind
    error = outcome.error
    if n is None:
        error = (error + "; " if error else "") + "lease lost before the result was written"
    session.execute(
        update(DeliveryAttempt)
        .where(
            DeliveryAttempt.notification_id == claim.notification_id,
            DeliveryAttempt.lease_token == claim.token,
        )
        .values(
            outcome=attempt_outcome, finished_at=now, error=error, external_id=outcome.external_id
        )
        .execution_options(synchronize_session=False)
    )
    if n is None:
        return
    n.lease_token = None
    n.updated_at = now
    if outcome.kind == "sent":
        n.status, n.sent_at, n.external_id, n.last_error = "sent", now, outcome.external_id, ""
        n.fallback_since = None
        result.sent += 1
        return
    n.last_error = error
    if flood:
        # A flood wait delays; it is not a failed attempt (issue 9 point 5). The
        # fallback clock keeps running, so a long storm still hands the notice on.
        n.attempts = max(n.attempts - 1, 0)
        n.status = "pending"
        n.next_attempt_at = now + timedelta(seconds=max(outcome.retry_after or 0.0, 0.0))
        result.delayed += 1
        return
    if outcome.kind == "temporary" and n.attempts < policy.outbox.max_attempts:
        n.status, n.next_attempt_at = "pending", now + backoff(policy, n.attempts)
        result.retried += 1
        return
    n.status = "failed"
    result.failed += 1
    reason = error
    if outcome.kind == "temporary":
        reason = f"gave up after {n.attempts} attempts: {error}"
    elif outcome.kind == "permanent" and n.destination_id is not None:
        changed = session.execute(
            update(Destination)
            .where(Destination.id == n.destination_id, Destination.enabled.is_(True))
            .values(enabled=False, disabled_reason=error, disabled_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            record(
                session,
                actor=system_actor("worker"),
                kind="destination.disabled",
                subject_type="destination",
                subject_id=n.destination_id,
                incident_id=n.incident_id,
                now=now,
                data={"person_id": n.person_id, "channel": n.channel, "reason": error},
            )
    session.flush()
    if n.fallback_since is not None or not handed_on(session, n):
        result.fallbacks += hand_on(session, n, reason=reason, now=now)
    else:
        n.fallback_since = None


def write_back_sent(
    session: Session,
    sent: Sequence[tuple[Claim, Outcome]],
    *,
    now: datetime,
    result: DeliveryResult,
) -> None:
    """The common case in two statements: each row marked sent if its lease still holds."""
    if not sent:
        return
    rows = [{"nid": c.notification_id, "tok": c.token, "ext": o.external_id} for c, o in sent]
    notes, attempts = Notification.__table__, DeliveryAttempt.__table__
    assert isinstance(notes, Table) and isinstance(attempts, Table)
    # Core statements: an executemany, not the ORM's bulk-by-primary-key mode.
    connection = session.connection()
    changed = connection.execute(
        update(notes)
        .where(
            notes.c.id == bindparam("nid"),
            notes.c.lease_token == bindparam("tok"),
            notes.c.status == "sending",
        )
        .values(
            status="sent",
            sent_at=now,
            external_id=bindparam("ext"),
            last_error="",
            lease_token=None,
            fallback_since=None,
            updated_at=now,
        ),
        rows,
    )
    connection.execute(
        update(attempts)
        .where(
            attempts.c.notification_id == bindparam("nid"),
            attempts.c.lease_token == bindparam("tok"),
        )
        .values(outcome="sent", finished_at=now, error="", external_id=bindparam("ext")),
        rows,
    )
    result.sent += max(int(changed.rowcount), 0)


def renew(session: Session, claim: Claim, *, now: datetime, lease: timedelta) -> bool:
    """Start the lease of a claimed row's send now; False if the lease was lost."""
    notes, attempts = Notification.__table__, DeliveryAttempt.__table__
    assert isinstance(notes, Table) and isinstance(attempts, Table)
    changed = session.execute(
        update(notes)
        .where(
            notes.c.id == claim.notification_id,
            notes.c.lease_token == claim.token,
            notes.c.status == "sending",
        )
        .values(next_attempt_at=now + lease, updated_at=now)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(attempts)
        .where(
            attempts.c.notification_id == claim.notification_id,
            attempts.c.lease_token == claim.token,
        )
        .values(started_at=now)
    )
    return True


def release(session: Session, claims: Sequence[Claim], *, now: datetime) -> None:
    """Give back claimed rows that were not sent: pending again, no attempt spent, and
    due from when each was written, so it is claimed again before the rows written after
    it (a lapsed lease taken over and given back at the end of a round keeps its turn)."""
    if not claims:
        return
    notes, attempts = Notification.__table__, DeliveryAttempt.__table__
    assert isinstance(notes, Table) and isinstance(attempts, Table)
    rows = [{"nid": c.notification_id, "tok": c.token} for c in claims]
    connection = session.connection()
    connection.execute(
        update(notes)
        .where(
            notes.c.id == bindparam("nid"),
            notes.c.lease_token == bindparam("tok"),
            notes.c.status == "sending",
        )
        .values(
            status="pending",
            attempts=notes.c.attempts - 1,
            lease_token=None,
            leased_by=None,
            # Back where its age puts it, not behind the backlog that came after it.
            next_attempt_at=case((notes.c.created_at < now, notes.c.created_at), else_=now),
            updated_at=now,
        ),
        rows,
    )
    # The attempts that never started (a row taken over meanwhile has a new token).
    connection.execute(
        delete(attempts).where(
            attempts.c.notification_id == bindparam("nid"),
            attempts.c.lease_token == bindparam("tok"),
            attempts.c.outcome == "sending",
        ),
        rows,
    )


def quick_commit(session: Session) -> None:
    """On PostgreSQL, commit this transaction without waiting for the WAL flush.

    The write-back is visible to every other worker the moment it commits, which is
    what keeps a killed *worker* from repeating more than its one send in flight; only
    a crash of the database server itself could lose the last fraction of a second of
    write-backs, and those rows are then sent again after their lease (at least once,
    as always). It makes one commit per send affordable.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
