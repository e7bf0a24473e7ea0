"""The sender lock: only one process sends for a bot token.

Telegram's flood limits hold for the bot, not for one process, so every process that
could send for the bot competes for one PostgreSQL advisory lock keyed by the bot id,
held on a connection of its own for as long as its channel lives. (SQLite deployments
have a single worker already.) A channel that does not hold the lock refuses to send,
and the outbox leaves the notice for the sender.
"""

from __future__ import annotations

import hashlib
import threading

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker


def bot_id_of(token: str) -> int:
    """The bot's id: the token's part before the colon (0 when that is not a number)."""
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def lock_key(token: str) -> int:
    """A signed 64-bit advisory-lock key for the bot (its id, in a Fenghuo namespace)."""
    digest = hashlib.sha256(f"fenghuo:telegram-sender:{bot_id_of(token)}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SenderLock:
    """Only one process sends for a bot token: a PostgreSQL session advisory lock.

    Held on a connection of its own for as long as the channel lives; if that
    connection dies, PostgreSQL releases the lock and another worker takes over. On
    SQLite there is one worker by construction (issue 3), so the lock always succeeds.
    """

    def __init__(self, sessions: sessionmaker[Session] | None, token: str) -> None:
        self._sessions = sessions
        self._key = lock_key(token)
        self._connection: Connection | None = None
        self._guard = threading.Lock()
        self.held = False

    def acquire(self) -> bool:
        with self._guard:
            if self.held:
                return True
            engine = self._sessions.kw.get("bind") if self._sessions is not None else None
            if engine is None or engine.dialect.name != "postgresql":
                self.held = True
                return True
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                ).scalar()
            )
            if got:
                self._connection, self.held = connection, True
            else:
                connection.close()
            return got

    def release(self) -> None:
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    )
                finally:
                    self._connection.close()
                    self._connection = None
            self.held = False
