"""Where people are reached: destination rows per channel kind.

Every person has the in-app inbox without a row. Other kinds (Telegram, email, and the
console for demos) are rows: ``person_id``, ``kind``, ``address``, ``enabled`` and, when a
permanent delivery error disabled it, ``disabled_reason``. A row with no person is a
broadcast destination: every person is also reached there (the worker turns the console
one on when it is configured with a console channel).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.addresses import (
    Problem,
    email_address_error,
    redact_webhook,
    telegram_chat_error,
    webhook_url_error,
)
from escalation.channels.robots import ROBOT_KINDS
from escalation.models import Destination, Notification
from incidents.audit import Actor, record, system_actor
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
            "every person has the inbox already; it needs no destination",
            field="kind",
            code="kind.every_person_has_inbox",
        )
    if not kind.strip() or not address.strip():
        raise ValidationError(
            "kind and address are required", field="address", code="address.kind_address_required"
        )
    if session.get(Person, person_id) is None:
        raise NotFound(
            "no person with id %(id)s",
            field="person_id",
            code="person_id.no_person_id",
            params={"id": person_id},
        )
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
        dest.label = label or dest.label
    return _enabled(
        session,
        dest,
        actor=actor,
        now=now,
        data={"person_id": person_id, "kind": kind, "address": address},
    )


def _enabled(
    session: Session, dest: Destination, *, actor: Actor, now: datetime, data: dict[str, object]
) -> Destination:
    """Enable ``dest`` (new, or added again after a removal) and audit it with ``data``."""
    dest.enabled, dest.disabled_reason, dest.disabled_at = True, "", None
    dest.updated_at = now
    session.flush()
    record(
        session,
        actor=actor,
        kind="destination.enabled",
        subject_type="destination",
        subject_id=dest.id,
        now=now,
        data=data,
    )
    return dest


def disable_destination(
    session: Session, *, destination_id: int, reason: str, actor: Actor, now: datetime
) -> Destination:
    dest = session.get(Destination, destination_id)
    if dest is None:
        raise NotFound(
            "no destination with id %(id)s",
            field="destination_id",
            code="destination_id.no_destination_id",
            params={"id": destination_id},
        )
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


# --- ordered destinations, group destinations (``fenghuo destination …``) ------------------
# A person's destinations are tried in ``priority`` order, lowest first; a group
# destination is a row with no person whose ``label`` is the name a policy step's
# ``groups = ["NAME"]`` refers to (config.policy), with the robot's webhook URL as its
# address and its signing secret in ``secret``.

PERSON_KINDS = ("email", "telegram")
GROUP_KINDS = ROBOT_KINDS
# The names a step's ``groups`` accepts (config.policy); "broadcast" is the label of the
# destinations that reach everyone (escalation.enqueue), so no group may take it.
GROUP_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
RESERVED_GROUP_NAMES = frozenset({"broadcast"})
# The label of the email destination kept in step with the organisation's ``email``.
ORG_EMAIL = "organisation"
_SYNC_DISABLED = "the organisation gives no email address for this person any more"


def address_error(kind: str, address: str) -> Problem | None:
    """What is wrong with ``address`` for a destination of ``kind``; ``None`` if nothing."""
    if kind == "email":
        return email_address_error(address)
    if kind == "telegram":
        return telegram_chat_error(address)
    if kind in GROUP_KINDS:
        return webhook_url_error(address)
    return None


def ordered_destinations(session: Session, person_id: int) -> list[Destination]:
    """``person_id``'s destinations in the order they are tried."""
    stmt = (
        select(Destination)
        .where(Destination.person_id == person_id)
        .order_by(Destination.priority, Destination.id)
    )
    return list(session.scalars(stmt))


def group_destinations(session: Session) -> list[Destination]:
    """Every group destination (robots), by name."""
    stmt = (
        select(Destination)
        .where(Destination.person_id.is_(None), Destination.label.not_in(RESERVED_GROUP_NAMES))
        .order_by(Destination.label, Destination.id)
    )
    return list(session.scalars(stmt))


def _next_priority(session: Session, person_id: int, *, besides: int | None = None) -> int:
    others = [d.priority for d in ordered_destinations(session, person_id) if d.id != besides]
    return max(others, default=-1) + 1


def add_person_destination(
    session: Session,
    *,
    person_id: int,
    kind: str,
    address: str,
    actor: Actor,
    now: datetime,
    priority: int | None = None,
    label: str = "",
) -> Destination:
    """Add (or re-enable) one of ``person_id``'s destinations, checked for its kind; a new
    one goes last in their order unless ``priority`` is given."""
    if kind not in PERSON_KINDS:
        raise ValidationError(
            "a person's destination is one of %(choices)s, got %(kind)r (group robots: "
            "fenghuo destination add-group)",
            field="kind",
            code="kind.person_destination",
            params={"choices": ", ".join(PERSON_KINDS), "kind": kind},
        )
    address = address.strip()
    problem = address_error(kind, address)
    if problem is not None:
        raise ValidationError(
            problem.msgid, field="address", code=problem.code, params=problem.params
        )
    if priority is not None and priority < 0:
        raise ValidationError(
            "must be 0 or more (lowest is tried first)", field="priority", code="priority.0_more"
        )
    existed = session.scalars(
        select(Destination.id).where(
            Destination.person_id == person_id,
            Destination.kind == kind,
            Destination.address == address,
        )
    ).first()
    dest = add_destination(
        session, person_id=person_id, kind=kind, address=address, actor=actor, now=now, label=label
    )
    if priority is not None:
        dest.priority = priority
    elif existed is None:
        dest.priority = _next_priority(session, person_id, besides=dest.id)
    session.flush()
    return dest


def add_group_destination(
    session: Session,
    *,
    kind: str,
    name: str,
    url: str,
    secret: str = "",
    actor: Actor,
    now: datetime,
) -> Destination:
    """Add the group destination ``name`` (a robot of ``kind`` at webhook ``url``), or
    point the existing one of that name at the new URL and secret and enable it."""
    if kind not in GROUP_KINDS:
        raise ValidationError(
            "a group destination is one of %(choices)s, got %(kind)r",
            field="kind",
            code="kind.group_destination",
            params={"choices": ", ".join(GROUP_KINDS), "kind": kind},
        )
    if not GROUP_NAME.fullmatch(name) or name in RESERVED_GROUP_NAMES:
        raise ValidationError(
            "a group name is 1–64 letters, digits, '.', '_' or '-' (what a policy step's "
            'groups = ["NAME"] names), and not "broadcast"; got %(name)r',
            field="name",
            code="name.group_name_1_64",
            params={"name": name},
        )
    url = url.strip()
    problem = webhook_url_error(url)
    if problem is not None:
        raise ValidationError(problem.msgid, field="url", code=problem.code, params=problem.params)
    secret = secret.strip()
    if secret and kind == "wecom":
        raise ValidationError(
            "a WeCom group robot has no signing secret (its key is in the URL)",
            field="secret",
            code="secret.wecom_group_robot_has",
        )
    dest = session.scalars(
        select(Destination).where(Destination.person_id.is_(None), Destination.label == name)
    ).first()
    if dest is not None and dest.kind != kind:
        raise ValidationError(
            "%(name)r already names a %(kind)s group destination; remove it first, or choose "
            "another name",
            field="name",
            code="name.already_names_group_destination",
            params={"name": name, "kind": dest.kind},
        )
    if dest is None:
        dest = Destination(
            person_id=None,
            kind=kind,
            address=url,
            label=name,
            priority=0,
            secret=secret,
            enabled=True,
            disabled_reason="",
            created_at=now,
            updated_at=now,
        )
        session.add(dest)
    else:
        dest.address, dest.secret = url, secret
    # The URL and the secret are credentials: the trail keeps enough to tell apart.
    data = {"group": name, "kind": kind, "url": redact_webhook(url), "signed": bool(secret)}
    return _enabled(session, dest, actor=actor, now=now, data=data)


def remove_destination(
    session: Session, *, destination_id: int, actor: Actor, now: datetime
) -> str:
    """Remove a destination: deleted when nothing was ever sent there, otherwise disabled
    (its notifications' history keeps pointing at it). Returns which it was."""
    dest = session.get(Destination, destination_id)
    if dest is None:
        raise NotFound(
            "no destination with id %(id)s",
            field="id",
            code="id.no_destination_id",
            params={"id": destination_id},
        )
    used = session.scalars(
        select(Notification.id).where(Notification.destination_id == dest.id).limit(1)
    ).first()
    data = {
        "person_id": dest.person_id,
        "kind": dest.kind,
        "label": dest.label,
        "address": redact_webhook(dest.address) if dest.person_id is None else dest.address,
    }
    if used is None:
        session.delete(dest)
        outcome = "deleted"
    else:
        dest.enabled, dest.disabled_at, dest.updated_at = False, now, now
        dest.disabled_reason = f"removed by {actor.login}"
        outcome = "disabled"
    session.flush()
    record(
        session,
        actor=actor,
        kind="destination.removed",
        subject_type="destination",
        subject_id=destination_id,
        now=now,
        data={**data, "outcome": outcome},
    )
    return outcome


def order_destinations(
    session: Session,
    *,
    person_id: int,
    destination_ids: Sequence[int],
    actor: Actor,
    now: datetime,
) -> list[Destination]:
    """Try ``destination_ids`` first, in that order, then the person's others as before."""
    current = ordered_destinations(session, person_id)
    by_id = {d.id: d for d in current}
    if not destination_ids:
        raise ValidationError(
            "name at least one destination id",
            field="destination_ids",
            code="destination_ids.name_least_destination_id",
        )
    for did in destination_ids:
        if did not in by_id:
            raise ValidationError(
                "destination %(did)s is not one of this person's",
                field="destination_ids",
                code="destination_ids.destination_not_person",
                params={"did": did},
            )
    if len(set(destination_ids)) != len(destination_ids):
        raise ValidationError(
            "a destination is named twice",
            field="destination_ids",
            code="destination_ids.destination_named_twice",
        )
    ordered = [by_id[i] for i in destination_ids] + [
        d for d in current if d.id not in set(destination_ids)
    ]
    for rank, dest in enumerate(ordered):
        if dest.priority != rank:
            dest.priority, dest.updated_at = rank, now
    session.flush()
    record(
        session,
        actor=actor,
        kind="destination.reordered",
        subject_type="person",
        subject_id=person_id,
        now=now,
        data={"person_id": person_id, "order": [d.id for d in ordered]},
    )
    return ordered


def sync_email_destination(
    session: Session, person: Person, now: datetime, *, actor: Actor | None = None
) -> Destination | None:
    """Keep an email destination in step with ``person.email`` (the organisation import).

    An address the person already has a destination for is left as it is (an
    administrator's order, or a destination a bounce disabled, stays); otherwise the row
    this function made before (label :data:`ORG_EMAIL`) follows the new address, or a new
    one is added last in the person's order. When the organisation gives no usable
    address any more, that row is disabled. Returns the person's email destination for
    ``person.email``, or ``None``. ``actor`` is who ran the import (default: the system).
    """
    actor = actor or system_actor("cli")
    address = (person.email or "").strip()
    rows = [d for d in ordered_destinations(session, person.id) if d.kind == "email"]
    synced = next((d for d in rows if d.label == ORG_EMAIL), None)
    if not address or email_address_error(address) is not None:
        if synced is not None and synced.enabled:
            disable_destination(
                session, destination_id=synced.id, reason=_SYNC_DISABLED, actor=actor, now=now
            )
        return None
    same = next((d for d in rows if d.address.lower() == address.lower()), None)
    if same is not None:
        if not same.enabled and same.disabled_reason == _SYNC_DISABLED:
            same.enabled, same.disabled_reason, same.disabled_at = True, "", None
            same.updated_at = now
            _audit_sync(session, same, actor, now)
        return same
    if synced is not None:
        synced.address = address
        synced.enabled, synced.disabled_reason, synced.disabled_at = True, "", None
        synced.updated_at = now
        _audit_sync(session, synced, actor, now)
        return synced
    dest = Destination(
        person_id=person.id,
        kind="email",
        address=address,
        label=ORG_EMAIL,
        priority=_next_priority(session, person.id),
        secret="",
        enabled=True,
        disabled_reason="",
        created_at=now,
        updated_at=now,
    )
    session.add(dest)
    _audit_sync(session, dest, actor, now)
    return dest


def _audit_sync(session: Session, dest: Destination, actor: Actor, now: datetime) -> None:
    session.flush()
    record(
        session,
        actor=actor,
        kind="destination.enabled",
        subject_type="destination",
        subject_id=dest.id,
        now=now,
        data={"person_id": dest.person_id, "kind": "email", "address": dest.address},
    )


def sync_email_destinations(session: Session, now: datetime, *, actor: Actor | None = None) -> int:
    """:func:`sync_email_destination` for every active person (after an organisation
    import, which lives below this package and so cannot call it itself). Returns how
    many people have an email destination for their address."""
    people = session.scalars(
        select(Person).where(Person.active.is_(True)).order_by(Person.id)
    ).all()
    return sum(1 for person in people if sync_email_destination(session, person, now, actor=actor))
