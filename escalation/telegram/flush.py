"""The sender's own duties, beside the outbox's notices: edits, group posts, answers.

The process holding the sender lock, every ``flush_seconds`` (and on
:meth:`SenderDuties.flush`), edits every alert copy whose chain has been acknowledged
(``copies.edits_owed``), posts group copies (``copies.group_posts_owed``) and sends the
answers the webhook queued (``answers.due``). They are derived from the database, so a
restart or an outage loses none of them.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import ChannelError, Receipt
from escalation.telegram import answers, copies
from escalation.telegram.messages import acknowledged_copy, render_notice
from escalation.telegram.sender_lock import SenderLock
from escalation.telegram.sending import ChatCalls
from incidents.clock import Clock

logger = logging.getLogger("fenghuo.telegram")


class SenderDuties:
    """One channel's duties over its database; see the module docstring."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        calls: ChatCalls,
        lock: SenderLock,
        clock: Clock,
        public_url: str,
        redact_titles: bool,
        tz: tzinfo,
    ) -> None:
        self.sessions = sessions
        self.calls = calls
        self.lock = lock
        self.clock = clock
        self.public_url = public_url
        self.redact_titles = redact_titles
        self.tz = tz
        self._group_since: datetime | None = None

    def edit_acknowledged(self, chat_id: int | None, incident_id: int | None) -> Receipt | None:
        """Edit the acknowledged copies (in one chat, of one incident, or all owed);
        the receipt of the last edit, or None when none was owed."""
        with self.sessions() as session:
            owed = copies.edits_owed(session, chat_id=chat_id, incident_id=incident_id)
        receipt = None
        for edit in owed:
            now = self.clock.now()
            rendered = acknowledged_copy(
                edit.text,
                incident_id=edit.incident_id,
                who=edit.who,
                at=edit.at,
                language=edit.language,
                public_url=self.public_url,
                tz=self.tz,
                now=now,
            )
            try:
                self.calls.edit(edit.chat_id, edit.message_id, rendered)
            except ChannelError as exc:
                if not exc.permanent:
                    raise
                # The chat is gone or blocked the bot: there is nothing left to edit.
                logger.info("Telegram copy %s not edited: %s", edit.copy_id, exc.reason)
            with self.sessions() as session, session.begin():
                copies.mark_edited(session, edit.copy_id, now)
            receipt = Receipt(f"{edit.chat_id}:{edit.message_id}")
        return receipt

    def flush(self) -> int:
        """One pass of the sender's own duties; returns the Bot API calls made.

        Does nothing unless this process holds the sender lock.
        """
        if not self.lock.acquire():
            return 0
        calls = 0
        try:
            while True:
                with self.sessions() as session:
                    owed = len(copies.edits_owed(session))
                if not owed or self.edit_acknowledged(None, None) is None:
                    break
                calls += owed
            calls += self._post_groups()
            calls += answers.deliver_due(self.sessions, self.calls.answer, self.clock.now())
        except ChannelError as exc:
            logger.warning("Telegram sender: %s", exc.reason)
        return calls

    def _post_groups(self) -> int:
        now = self.clock.now()
        since = self._group_since or now - copies.GROUP_LOOKBACK
        with self.sessions() as session:
            owed = copies.group_posts_owed(session, since=since)
        posted = 0
        for post in owed:
            with self.sessions() as session:
                context = copies.group_context(session, post)
            if context is None:
                continue
            rendered = render_notice(
                context.facts,
                language=context.language,
                public_url=self.public_url,
                redact_titles=self.redact_titles,
                tz=self.tz,
                now=self.clock.now(),
            )
            try:
                sent_chat, sent = self.calls.send_message(
                    post.chat_id, rendered, thread_id=post.message_thread_id
                )
            except ChannelError as exc:
                if not exc.permanent:
                    raise
                with self.sessions() as session, session.begin():
                    copies.disable_group(session, post.chat_id, exc.reason, self.clock.now())
                continue
            with self.sessions() as session, session.begin():
                copies.record_copy(
                    session,
                    chat_id=sent_chat,
                    message_id=sent.message_id,
                    context=context,
                    notification_id=None,
                    text=rendered.text,
                    now=self.clock.now(),
                )
            posted += 1
        # Overlap the next look a little: a transaction may commit a firing stamped
        # slightly before this pass.
        self._group_since = now - timedelta(minutes=5)
        return posted

    def run_forever(self, every: float, stop: threading.Event) -> None:
        """Flush every ``every`` seconds until ``stop`` is set (the flusher thread)."""
        while not stop.wait(every):
            try:
                self.flush()
            except Exception:  # keep the sender alive; the next pass retries
                logger.exception("Telegram sender pass failed")
