"""The process held to account: perfunctory closures, and closing an incident.

5.4 closing sentence: "whoever should pursue accountability but closes the case
perfunctorily or falsifies it (敷衍结案、弄虚作假) receives circulated criticism". A case
closed (or waived) with no sanction, or a milder one than its tier allows, carries a
written justification and is listed here for the leading group to judge.

An incident closes only when every assessed subject's case is settled — decided
(including carried out and closed) or waived with a reason — so that closing the
incident cannot end accountability by default. The faces call ``close_incident`` here
instead of ``escalation.response.close``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accountability.models import SETTLED_STATUSES, Case
from config.policy import Policy
from escalation import response
from escalation.guard import lock
from incidents.audit import Actor
from incidents.errors import Conflict, Forbidden
from incidents.models import Incident
from incidents.permissions import Capabilities

#: Who sees the list of possible perfunctory closures: it is kept for the leading group.
PERFUNCTORY_READERS = frozenset({"leading_group_member", "leading_group_office"})


def perfunctory_closures(session: Session, caps: Capabilities) -> list[Case]:
    """Cases closed or waived with no sanction, or a milder one than their tier allows,
    newest first. For the leading group and its office only."""
    if not caps.roles & PERFUNCTORY_READERS:
        raise Forbidden(
            "the list of possible perfunctory closures is for the leading group",
            code="list_possible_perfunctory_closures",
        )
    return list(
        session.scalars(
            select(Case)
            .where(Case.perfunctory.is_(True))
            .order_by(Case.closed_at.desc(), Case.id.desc())
        )
    )


def unsettled_cases(session: Session, incident_id: int) -> list[Case]:
    """The incident's cases that are neither decided nor waived."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.incident_id == incident_id, Case.status.not_in(SETTLED_STATUSES))
            .order_by(Case.id)
        )
    )


def close_incident(
    session: Session, *, incident_id: int, actor: Actor, now: datetime, reason: str = ""
) -> Incident:
    """Close the incident once every case on it is decided or waived; then the clocks'
    own conditions apply (``escalation.response.close``: no report may be owed).

    The incident row is locked first, so a case opened concurrently either commits
    before the check (and is seen) or waits and finds the incident closed.
    """
    lock(session, incident_id)
    pending = unsettled_cases(session, incident_id)
    if pending:
        listed = ", ".join(f"#{c.id} ({c.subject.login}: {c.status})" for c in pending)
        raise Conflict(
            "cannot close while accountability cases are undecided: %(listed)s; decide or "
            "waive them first",
            field="status",
            code="accountability_pending",
            params={"listed": listed},
        )
    return response.close(session, incident_id=incident_id, actor=actor, now=now, reason=reason)


def transition(
    session: Session,
    *,
    incident_id: int,
    to: str,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """``escalation.response.transition`` with closing held to the accountability check.

    Faces call this one, so no face can close an incident past an undecided case.
    """
    if to == "closed":
        return close_incident(session, incident_id=incident_id, actor=actor, now=now, reason=reason)
    return response.transition(
        session, incident_id=incident_id, to=to, reason=reason, actor=actor, now=now, policy=policy
    )
