"""Who may act, and the locks every clock-changing use case takes first.

Rights come from ``incidents.permissions`` (positions, never flags). An actor without a
person — the worker, the CLI acting as the system — is trusted: it acts for the
command center by construction.

Lock order, the same in every use case, so a use case and a sweep never wait on each
other in a cycle: the incident row (``FOR NO KEY UPDATE``), then its pending timers,
then obligations and chains, and the audit head last (``audit.record`` takes it). The
sweep claims timers with ``SKIP LOCKED`` and never locks the incident row (its inserts
take only a ``KEY SHARE`` lock on it, which ``NO KEY UPDATE`` allows), so it skips an
incident a use case is working on and takes its timers at the next sweep. On SQLite
every transaction holds the write lock (``BEGIN IMMEDIATE``) and none of this can
deadlock anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import Timer
from incidents.audit import Actor
from incidents.errors import Forbidden
from incidents.models import Incident
from incidents.org import Person
from incidents.permissions import Capabilities, can_acknowledge, capabilities
from incidents.service import get_incident

LEADERSHIP = ("deputy_director_netsec", "director")


def caps_of(session: Session, actor: Actor, now: datetime) -> Capabilities | None:
    """The actor's capabilities; ``None`` for a trusted system actor.

    Those the face computed for the same person in this request (``Actor.caps``) are
    taken as they are: one computation per request."""
    if actor.person_id is None:
        return None
    if actor.caps is not None and actor.caps.person_id == actor.person_id:
        return actor.caps
    person = session.get(Person, actor.person_id)
    if person is None or not person.active:
        raise Forbidden(
            "%(login)s is not an active person",
            code="not_active_person",
            params={"login": actor.login},
        )
    return capabilities(session, person, now)


def require_log(session: Session, actor: Actor, now: datetime) -> None:
    caps = caps_of(session, actor, now)
    if caps is not None and not caps.can_log:
        raise Forbidden(
            "only the command center logs incidents (3(3))", code="only_command_center_logs"
        )


def require_handle(session: Session, actor: Actor, now: datetime, what: str) -> None:
    caps = caps_of(session, actor, now)
    if caps is not None and not caps.can_handle:
        raise Forbidden(
            "only the command center may %(what)s (3(3))",
            code="only_command_center_may",
            params={"what": what},
        )


def require_handle_or_lead(session: Session, actor: Actor, now: datetime, what: str) -> None:
    """The command center (3(3)) or the leadership above it (3(1), 3(2))."""
    caps = caps_of(session, actor, now)
    if caps is not None and not (caps.can_handle or caps.has(*LEADERSHIP)):
        raise Forbidden(
            "only the command center or the leadership in charge may %(what)s (3(1)–3(3))",
            code="only_command_center_leadership",
            params={"what": what},
        )


def require_acknowledge(session: Session, actor: Actor, incident: Incident, now: datetime) -> None:
    caps = caps_of(session, actor, now)
    if caps is not None and not can_acknowledge(session, caps, incident, now):
        raise Forbidden(
            "only someone in the incident's responsibility chain may do that",
            code="only_someone_incident_responsibility",
        )


def lock(session: Session, incident_id: int) -> Incident:
    """Lock the incident row, then its pending timers (see the module doc)."""
    incident = get_incident(session, incident_id)
    # Re-read under the lock: the row may have changed since this session loaded it.
    # FOR NO KEY UPDATE, not FOR UPDATE: a sweep inserting notifications that refer to
    # this incident takes a KEY SHARE lock on it, and must not wait for us while we
    # wait for the timers it claimed.
    session.refresh(incident, with_for_update={"key_share": True})
    session.execute(
        select(Timer.id)
        .where(Timer.incident_id == incident_id, Timer.status == "pending")
        .with_for_update()
    ).all()
    return incident
