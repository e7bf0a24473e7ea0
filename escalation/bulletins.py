"""Bulletins: notices about no incident, through the same channels as the outbox.

Three things are worth telling people that belong to no incident: a person's Telegram
account changed (issue 12: a link from a new account is told on the person's *other*
channels, so a stolen link code cannot quietly redirect their alerts), the day's audit
checkpoint (5.4(c): the chain's head, signed, in the leading group office's channel where
the database cannot reach it), and a duty handoff (交接班).

Writing (:func:`queue_for_person`, :func:`queue_for_group`, :func:`queue_for_position`)
happens in the caller's transaction and copies channel and address, one row each.
``key`` makes a notice once-only per address: a second write of the same key is a no-op,
so two workers — or a restart — never send the daily checkpoint twice.

Delivering (:func:`deliver_bulletins`, called by the worker's round) claims due rows by
compare-and-set, sends outside any transaction, and writes the outcome back: retried
with the outbox's backoff, failed after ``max_attempts``. Bulletins do not fall back to
other people: the account notice goes to every other channel at once, and the checkpoint
message is a copy of what the checkpoint file already holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from config.policy import OutboxPolicy
from escalation.channels.base import Channel, ChannelError, OutgoingMessage, accepting
from escalation.models import BULLETIN_KINDS, Bulletin, Destination
from escalation.write_backs import retry_delay
from incidents.errors import ValidationError
from incidents.org import Person
from incidents.responsibility import holders

logger = logging.getLogger(__name__)

# Channels a bulletin can go to: everything but the in-app inbox (its rows belong to an
# incident's notification) and the console broadcast (a demo log).
SKIPPED_CHANNELS = frozenset({"inbox", "console"})
# The kind an outgoing bulletin carries: channels render it as plain text with a link.
MESSAGE_KIND = "bulletin"


@dataclass(frozen=True)
class Address:
    """Where one bulletin goes: a channel and its address, and the destination it is."""

    channel: str
    address: str
    destination_id: int | None = None


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0
    retried: int = 0


# --- writing -----------------------------------------------------------------------------


def _check(kind: str, key: str, text_zh: str, text_en: str) -> None:
    if kind not in BULLETIN_KINDS:
        raise ValidationError(
            "must be one of %(choices)s",
            field="kind",
            code="kind.choice",
            params={"choices": ", ".join(BULLETIN_KINDS)},
        )
    if not key or len(key) > 120:
        raise ValidationError("a bulletin key is 1–120 characters", field="key", code="key.length")
    if not text_zh.strip() or not text_en.strip():
        raise ValidationError(
            "both texts are required", field="text", code="text.both_texts_required"
        )


def queue(
    session: Session,
    *,
    kind: str,
    key: str,
    addresses: Iterable[Address],
    text_zh: str,
    text_en: str,
    now: datetime,
    person_id: int | None = None,
    link_path: str = "",
) -> int:
    """Write one bulletin per address in the caller's transaction; an address that
    already has ``key`` is left as it is. Returns how many rows were written."""
    _check(kind, key, text_zh, text_en)
    wanted = {(a.channel, a.address): a for a in addresses if a.channel not in SKIPPED_CHANNELS}
    if not wanted:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    written = 0
    for spot in wanted.values():
        stmt = (
            insert(Bulletin)
            .values(
                kind=kind,
                key=key,
                person_id=person_id,
                destination_id=spot.destination_id,
                channel=spot.channel,
                address=spot.address,
                text_zh=text_zh,
                text_en=text_en,
                link_path=link_path,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key", "channel", "address"])
        )
        written += int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    return written


def person_addresses(
    session: Session, person_id: int, *, besides: Sequence[Address] = ()
) -> list[Address]:
    """The person's enabled destinations, in their order, but for ``besides``."""
    skip = {(a.channel, a.address) for a in besides}
    rows = session.scalars(
        select(Destination)
        .where(Destination.person_id == person_id, Destination.enabled.is_(True))
        .order_by(Destination.priority, Destination.id)
    )
    return [Address(d.kind, d.address, d.id) for d in rows if (d.kind, d.address) not in skip]


def queue_for_person(
    session: Session,
    *,
    person_id: int,
    kind: str,
    key: str,
    text_zh: str,
    text_en: str,
    now: datetime,
    besides: Sequence[Address] = (),
    also: Sequence[Address] = (),
    link_path: str = "",
) -> int:
    """To each of the person's enabled destinations but ``besides``, and to ``also``
    (an address that is no longer a destination, such as a chat just unlinked)."""
    addresses = [*person_addresses(session, person_id, besides=besides), *also]
    return queue(
        session,
        kind=kind,
        key=key,
        addresses=addresses,
        text_zh=text_zh,
        text_en=text_en,
        now=now,
        person_id=person_id,
        link_path=link_path,
    )


def group_addresses(session: Session, name: str) -> list[Address]:
    """The enabled group destinations (robots, group chats) named ``name``."""
    rows = session.scalars(
        select(Destination)
        .where(
            Destination.person_id.is_(None),
            Destination.label == name,
            Destination.enabled.is_(True),
        )
        .order_by(Destination.id)
    )
    return [Address(d.kind, d.address, d.id) for d in rows]


def position_holders(session: Session, position: str, at: datetime) -> list[Person]:
    """Active people holding the role ``position`` at ``at``, each once."""
    seen: dict[int, Person] = {}
    for _pos, person in holders(session, position, at):
        seen.setdefault(person.id, person)
    return list(seen.values())


def queue_for_group(
    session: Session,
    *,
    group: str,
    position: str,
    kind: str,
    key: str,
    text_zh: str,
    text_en: str,
    now: datetime,
    link_path: str = "",
) -> int:
    """To the group destination ``group``; where there is none, to each active holder of
    ``position`` on their own destinations. Returns the rows written (0: nobody to tell,
    or already told under ``key``)."""
    addresses = group_addresses(session, group)
    if addresses:
        return queue(
            session,
            kind=kind,
            key=key,
            addresses=addresses,
            text_zh=text_zh,
            text_en=text_en,
            now=now,
            link_path=link_path,
        )
    written = 0
    for person in position_holders(session, position, now):
        written += queue_for_person(
            session,
            person_id=person.id,
            kind=kind,
            key=key,
            text_zh=text_zh,
            text_en=text_en,
            now=now,
            link_path=link_path,
        )
    return written


# --- delivering --------------------------------------------------------------------------


def _due(session: Session, now: datetime, limit: int, kinds: Sequence[str]) -> list[int]:
    query = (
        select(Bulletin.id)
        .where(
            or_(
                Bulletin.status == "pending",
                Bulletin.status == "sending",  # a claim that lapsed (a worker died)
            ),
            Bulletin.next_attempt_at <= now,
            Bulletin.channel.in_(kinds),
        )
        .order_by(Bulletin.next_attempt_at, Bulletin.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _claim(session: Session, row_id: int, now: datetime, lease: timedelta) -> bool:
    """Compare-and-set: only one worker takes a due row."""
    result = session.execute(
        update(Bulletin)
        .where(
            Bulletin.id == row_id,
            Bulletin.status.in_(("pending", "sending")),
            Bulletin.next_attempt_at <= now,
        )
        .values(
            status="sending",
            attempts=Bulletin.attempts + 1,
            next_attempt_at=now + lease,
            updated_at=now,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _message(session: Session, row: Bulletin) -> OutgoingMessage:
    person = session.get(Person, row.person_id) if row.person_id is not None else None
    secret = ""
    if row.destination_id is not None:
        dest = session.get(Destination, row.destination_id)
        secret = dest.secret if dest is not None else ""
    return OutgoingMessage(
        notification_id=0,
        incident_id=0,
        incident_number="",
        grade="",
        category="",
        title="",
        recipient_person_id=row.person_id,
        recipient_login=person.login if person is not None else "",
        recipient_language=person.language if person is not None else "zh_CN",
        destination_address=row.address,
        kind=MESSAGE_KIND,
        text_zh=row.text_zh,
        text_en=row.text_en,
        link_path=row.link_path,
        attempt=row.attempts,
        destination_secret=secret,
        bulletin_id=row.id,
    )


def deliver_bulletins(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    channels: Mapping[str, Channel],
    policy: OutboxPolicy,
    batch: int = 50,
) -> Delivered:
    """Send the due bulletins on the channels this process has; returns the tally."""
    done = Delivered()
    kinds = [k for k, ch in channels.items() if k not in SKIPPED_CHANNELS and accepting(ch)]
    if not kinds:
        return done
    with factory() as session:
        due = _due(session, now, batch, kinds)
    for row_id in due:
        with factory() as session, session.begin():
            if not _claim(session, row_id, now, policy.lease):
                continue
            row = session.get(Bulletin, row_id)
            assert row is not None
            message, kind = _message(session, row), row.channel
        channel = channels[kind]
        outcome: str
        external: str | None = None
        error = ""
        retry_after: float | None = None
        try:
            receipt = channel.send(message)
            outcome, external = "sent", receipt.external_id
        except ChannelError as exc:
            error, retry_after = exc.reason, exc.retry_after
            outcome = "failed" if exc.permanent else "retry"
        except Exception as exc:  # a channel bug must not stop the round
            logger.exception("bulletin %s: the %s channel raised", row_id, kind)
            outcome, error = "retry", f"{type(exc).__name__}"
        with factory() as session, session.begin():
            values: dict[str, object] = {"updated_at": now, "last_error": error[:2000]}
            if outcome == "sent":
                values |= {"status": "sent", "sent_at": now, "external_id": external}
                done.sent += 1
            elif outcome == "failed" or message.attempt >= policy.max_attempts:
                values |= {"status": "failed"}
                done.failed += 1
                logger.warning("bulletin %s not delivered: %s", row_id, error)
            else:
                wait = (
                    timedelta(seconds=retry_after)
                    if retry_after is not None
                    else retry_delay(policy, message.attempt)
                )
                values |= {"status": "pending", "next_attempt_at": now + wait}
                done.retried += 1
            session.execute(update(Bulletin).where(Bulletin.id == row_id).values(**values))
    return done


def bulletins_for(session: Session, person_id: int, *, limit: int = 20) -> list[Bulletin]:
    """The person's newest bulletins (their profile page shows them)."""
    return list(
        session.scalars(
            select(Bulletin)
            .where(Bulletin.person_id == person_id)
            .order_by(Bulletin.id.desc())
            .limit(limit)
        )
    )
