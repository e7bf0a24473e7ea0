"""Where people are reached: destination rows per channel kind.

Every person has the in-app inbox without a row. Other kinds (Telegram, and the console
for demos) are rows: ``person_id``, ``kind``, ``address``, ``enabled`` and, when a
permanent delivery error disabled it, ``disabled_reason``. A row with no person is a
broadcast destination: every person is also reached there (the worker turns the console
one on when it is configured with a console channel).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import Destination
from incidents.audit import Actor, record
from incidents.errors import NotFound, ValidationError
from incidents.org import Person

INBOX = "inbox"


def destinations_of(session: Session, person_id: int) -> list[Destination]:
    stmt = select(Destination).where(Destination.person_id == person_id).order_by(Destination.id)
    return list(session.scalars(stmt))


def add_destination(
    session: Session,
    *,
    person_id: int,
    kind: str,
    address: str,
    actor: Actor,
    now: datetime,
    label: str = "",
) -> Destination:
    """Add (or re-enable) ``person_id``'s destination of ``kind`` at ``address``."""
    if kind == INBOX:
        raise ValidationError(
            "every person has the inbox already; it needs no destination", field="kind"
        )
    if not kind.strip() or not address.strip():
        raise ValidationError("kind and address are required", field="address")
    if session.get(Person, person_id) is None:
        raise NotFound(f"no person with id {person_id}", field="person_id")
    dest = session.scalars(
        select(Destination).where(
            Destination.person_id == person_id,
            Destination.kind == kind,
            Destination.address == address,
        )
    ).first()
    if dest is None:
        dest = Destination(
            person_id=person_id,
            kind=kind,
            address=address,
            label=label,
            enabled=True,
            disabled_reason="",
            created_at=now,
            updated_at=now,
        )
        session.add(dest)
    else:
        dest.enabled, dest.disabled_reason, dest.disabled_at = True, "", None
        dest.label = label or dest.label
        dest.updated_at = now
    session.flush()
    record(
        session,
        actor=actor,
        kind="destination.enabled",
        subject_type="destination",
        subject_id=dest.id,
        now=now,
        data={"person_id": person_id, "kind": kind, "address": address},
    )
    return dest


def disable_destination(
    session: Session, *, destination_id: int, reason: str, actor: Actor, now: datetime
) -> Destination:
    dest = session.get(Destination, destination_id)
    if dest is None:
        raise NotFound(f"no destination with id {destination_id}", field="destination_id")
    if dest.enabled:
        dest.enabled, dest.disabled_reason, dest.disabled_at = False, reason, now
        dest.updated_at = now
        record(
            session,
            actor=actor,
            kind="destination.disabled",
            subject_type="destination",
            subject_id=dest.id,
            now=now,
            data={"person_id": dest.person_id, "kind": dest.kind, "reason": reason},
        )
    return dest


def ensure_broadcast(
    factory: sessionmaker[Session], *, kind: str, address: str, now: datetime
) -> None:
    """Make sure an enabled broadcast destination of ``kind`` exists (own transaction)."""
    with factory() as session, session.begin():
        dest = session.scalars(
            select(Destination).where(Destination.person_id.is_(None), Destination.kind == kind)
        ).first()
        if dest is None:
            session.add(
                Destination(
                    person_id=None,
                    kind=kind,
                    address=address,
                    label="broadcast",
                    enabled=True,
                    disabled_reason="",
                    created_at=now,
                    updated_at=now,
                )
            )
        elif not dest.enabled:
            dest.enabled, dest.disabled_reason, dest.disabled_at = True, "", None
            dest.updated_at = now
