"""The in-app inbox channel: a notice becomes a row the web shows on the person's inbox.

Every person has it, without a destination row. Delivery is idempotent: one inbox item
per notification (unique), so a retry after a lapsed lease does not show a notice twice.
It writes in its own short transaction, outside the outbox's claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
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

    def send(self, message: OutgoingMessage) -> Receipt:
        values = {
            "person_id": message.recipient_person_id,
            "notification_id": message.notification_id,
            "incident_id": message.incident_id,
            "kind": message.kind,
            "text_zh": message.text_zh,
            "text_en": message.text_en,
            "created_at": self.clock.now(),
        }
        try:
            with self.session_factory() as session, session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    stmt: Any = postgresql.insert(InboxItem).on_conflict_do_nothing(
                        index_elements=["notification_id"]
                    )
                else:
                    stmt = sqlite.insert(InboxItem).on_conflict_do_nothing(
                        index_elements=["notification_id"]
                    )
                session.execute(stmt.values(**values))
                item_id = session.scalar(
                    select(InboxItem.id).where(InboxItem.notification_id == message.notification_id)
                )
        except Exception as exc:  # the database is the far end here: try again later
            raise ChannelError(f"inbox write failed: {exc}".splitlines()[0]) from exc
        return Receipt(external_id=f"inbox-{item_id}")
