"""Writing the outbox: notification rows in the transaction of the state change.

A person is reached on the in-app inbox always, on the *first* of their enabled
destinations (lowest ``priority``, then oldest), and on every enabled broadcast
destination (a row with no person labelled ``broadcast``, such as the console in
demos). The row of the first destination starts its fallback clock
(``fallback_since``): if it is not sent within the policy's ``fallback_after`` the next
destination is given the notice, then the next person up (``escalation.handover``).
Group destinations (no person, any other label) are written by the firing for the
steps that name them; they are no one's broadcast.

One row per (timer, person, channel): the unique constraint makes a second write of the
same notice a no-op, so firing the same timer twice — which the sweep's locks already
prevent — could still not page anyone twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Table, and_, false, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from escalation.models import Destination, Notification
from incidents.bulk import insert_rows

INBOX = "inbox"
# The label of a destination without a person that reaches everyone (ensure_broadcast).
BROADCAST = "broadcast"


def upsert_ignore(session: Session) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` on the notification table, per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Notification).on_conflict_do_nothing(
            index_elements=["timer_id", "person_id", "channel"]
        )
    return sqlite.insert(Notification).on_conflict_do_nothing(
        index_elements=["timer_id", "person_id", "channel"]
    )


def enabled_in_order(session: Session, person_id: int) -> list[tuple[str, int]]:
    """(kind, id) of ``person_id``'s enabled destinations in the order they are tried."""
    rows = session.execute(
        select(Destination.kind, Destination.id)
        .where(Destination.person_id == person_id, Destination.enabled.is_(True))
        .order_by(Destination.priority, Destination.id)
    ).all()
    return [(kind, did) for kind, did in rows if kind != INBOX]


@dataclass(frozen=True)
class _Queued:
    """One notice to one person, waiting for :meth:`OutboxWriter.flush`."""

    incident_id: int
    timer_id: int
    person_id: int
    kind: str
    fallback_of_id: int | None
    receipt_id: int | None
    payload_json: str
    text_zh: str
    text_en: str
    only_channels: tuple[str, ...] | None


class OutboxWriter:
    """Collects notification rows for one transaction and inserts them at once: the
    destinations of every person told are read in one statement, the rows written in
    one more."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._rows: list[dict[str, Any]] = []
        self._first: dict[int, tuple[str, int] | None] = {}
        self._broadcast: list[tuple[str, int]] | None = None
        self._queued: list[_Queued] = []

    def _load(self, person_ids: list[int]) -> None:
        """Read the destinations of ``person_ids`` not read yet, and the broadcast ones
        the first time: one statement for all of them."""
        missing = sorted({p for p in person_ids if p not in self._first})
        if not missing and self._broadcast is not None:
            return
        wanted: ColumnElement[bool] = Destination.person_id.in_(missing) if missing else false()
        if self._broadcast is None:
            wanted = or_(
                wanted,
                and_(Destination.person_id.is_(None), Destination.label == BROADCAST),
            )
        rows = self.session.execute(
            select(Destination.person_id, Destination.kind, Destination.id)
            .where(wanted, Destination.enabled.is_(True))
            .order_by(Destination.person_id, Destination.priority, Destination.id)
        ).all()
        for pid in missing:
            self._first[pid] = None
        broadcast: list[tuple[str, int]] = []
        for owner, kind, did in rows:
            if owner is None:
                broadcast.append((kind, did))
            elif kind != INBOX and self._first.get(owner) is None:
                self._first[owner] = (kind, did)
        if self._broadcast is None:
            # In id order: the first of each kind is the one written.
            self._broadcast = _first_per_kind(sorted(broadcast, key=lambda r: r[1]))

    def channels_for(self, person_id: int) -> list[tuple[str, int | None]]:
        """(channel kind, destination id) pairs a new notice to ``person_id`` goes to:
        the inbox, their first destination, the broadcast ones."""
        return [(kind, did) for kind, did, _ in self._targets(person_id)]

    def _targets(self, person_id: int) -> list[tuple[str, int | None, bool]]:
        """As :meth:`channels_for`, with whether the row starts a fallback clock."""
        self._load([person_id])
        out: list[tuple[str, int | None, bool]] = [(INBOX, None, False)]
        kinds = {INBOX}
        first = self._first[person_id]
        if first is not None:
            out.append((first[0], first[1], True))
            kinds.add(first[0])
        for kind, did in self._broadcast or []:
            if kind not in kinds:
                kinds.add(kind)
                out.append((kind, did, False))
        return out

    def add(
        self,
        *,
        timer_id: int,
        incident_id: int,
        person_id: int,
        kind: str,
        text_zh: str,
        text_en: str,
        payload: Mapping[str, Any],
        fallback_of_id: int | None = None,
        only_channels: tuple[str, ...] | None = None,
        receipt_id: int | None = None,
    ) -> None:
        """Queue one notice to ``person_id``: inbox, first destination, broadcasts.

        The destinations are read at :meth:`flush`, for every person queued at once."""
        body = json.dumps(dict(payload), ensure_ascii=False, default=str)
        self._queued.append(
            _Queued(
                incident_id=incident_id,
                timer_id=timer_id,
                person_id=person_id,
                kind=kind,
                fallback_of_id=fallback_of_id,
                receipt_id=receipt_id,
                payload_json=body,
                text_zh=text_zh,
                text_en=text_en,
                only_channels=only_channels,
            )
        )

    def _expand(self) -> None:
        """The queued notices as rows, one per channel each person is reached on."""
        if not self._queued:
            return
        queued, self._queued = self._queued, []
        self._load([q.person_id for q in queued])
        for q in queued:
            for channel, destination_id, clocked in self._targets(q.person_id):
                if q.only_channels is not None and channel not in q.only_channels:
                    continue
                self._rows.append(
                    {
                        "incident_id": q.incident_id,
                        "timer_id": q.timer_id,
                        "person_id": q.person_id,
                        "channel": channel,
                        "destination_id": destination_id,
                        "kind": q.kind,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": self.now,
                        "last_error": "",
                        "fallback_of_id": q.fallback_of_id,
                        "fallback_since": self.now if clocked else None,
                        "receipt_id": q.receipt_id,
                        "payload_json": q.payload_json,
                        "text_zh": q.text_zh,
                        "text_en": q.text_en,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )

    def flush(self) -> int:
        """Insert what was queued; rows already there are skipped. Returns rows written."""
        self._expand()
        if not self._rows:
            return 0
        rows, self._rows = self._rows, []
        # Core, not the ORM's bulk mode: the rows need no objects, only their count;
        # one statement of one short text however many rows (incidents.bulk).
        table = Notification.__table__
        assert isinstance(table, Table)
        written = insert_rows(
            self.session.connection(),
            table,
            rows,
            skip_conflicts_on=("timer_id", "person_id", "channel"),
            returning=("id",),
        )
        return len(written)


def _first_per_kind(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    seen: set[str] = set()
    out: list[tuple[str, int]] = []
    for kind, did in rows:
        if kind not in seen and kind != INBOX:
            seen.add(kind)
            out.append((kind, did))
    return out
