"""The in-app inbox channel: a notice becomes a row the web shows on the person's inbox.

Every person has it, without a destination row. Delivery is idempotent: one inbox item
per notification (unique), so a retry after a lapsed lease does not show a notice twice.
It writes in its own short transaction, outside the outbox's claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError, OutgoingMessage, Receipt, register
from escalation.models import InboxItem
from incidents.clock import Clock


@register("inbox")
class InboxChannel:
    kind = "inbox"

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> InboxChannel:
        """Settings: ``session_factory`` and ``clock`` (both required)."""
        try:
            return cls(settings["session_factory"], settings["clock"])
        except KeyError as exc:
            raise ValueError(f"the inbox channel needs {exc.args[0]!r} in its settings") from None

    # Notifications written per send_many: one transaction, two statements.
    batch_size = 250

    def send_many(self, messages: Sequence[OutgoingMessage]) -> list[Receipt | ChannelError]:
        """Write a batch's inbox items in one transaction (one INSERT … ON CONFLICT DO
        NOTHING for all, one SELECT of their ids); idempotent like :meth:`send`."""
        if not messages:
            return []
        now = self.clock.now()
        rows = [self._values(m, now) for m in messages]
        try:
            with self.session_factory() as session, session.begin():
                # Core's executemany, not the ORM's bulk mode (which refuses ON CONFLICT).
                session.connection().execute(_insert(session), rows)
                found = session.execute(
                    select(InboxItem.notification_id, InboxItem.id).where(
                        InboxItem.notification_id.in_({m.notification_id for m in messages})
                    )
                )
                ids = {notification_id: item_id for notification_id, item_id in found}
        except Exception as exc:  # the database is the far end here: try again later
            error = ChannelError(f"inbox write failed: {exc}".splitlines()[0])
            return [error for _ in messages]
        return [
            Receipt(external_id=f"inbox-{ids[m.notification_id]}")
            if m.notification_id in ids
            else ChannelError("inbox write failed: the item is missing")
            for m in messages
        ]

    @staticmethod
    def _values(message: OutgoingMessage, now: datetime) -> dict[str, Any]:
        return {
            "person_id": message.recipient_person_id,
            "notification_id": message.notification_id,
            "incident_id": message.incident_id,
            "kind": message.kind,
            "text_zh": message.text_zh,
            "text_en": message.text_en,
            "created_at": now,
        }

    def send(self, message: OutgoingMessage) -> Receipt:
        values = self._values(message, self.clock.now())
        try:
            with self.session_factory() as session, session.begin():
                session.execute(_insert(session).values(**values))
                item_id = session.scalar(
                    select(InboxItem.id).where(InboxItem.notification_id == message.notification_id)
                )
        except Exception as exc:  # the database is the far end here: try again later
            raise ChannelError(f"inbox write failed: {exc}".splitlines()[0]) from exc
        return Receipt(external_id=f"inbox-{item_id}")


def _insert(session: Session) -> Any:
    """INSERT into the inbox that skips a notification already there (a retry)."""
    table = InboxItem.__table__
    assert isinstance(table, Table)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["notification_id"])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["notification_id"])
