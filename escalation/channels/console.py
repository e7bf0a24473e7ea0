"""The console channel: every notice as one log line (demos, development, drills).

It is a real channel — attempts and receipts are recorded like any other — that hands
the message to the ``fenghuo.console`` logger, or writes it to a stream when given one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TextIO

from escalation.channels.base import OutgoingMessage, Receipt, register

logger = logging.getLogger("fenghuo.console")


@register("console")
class ConsoleChannel:
    kind = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ConsoleChannel:
        """Settings: ``stream`` (optional, a text stream; default: the logger)."""
        return cls(stream=settings.get("stream"))

    def send(self, message: OutgoingMessage) -> Receipt:
        line = (
            f"[{message.kind}] {message.incident_number} -> {message.recipient_login}: "
            f"{message.text}"
        )
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        else:
            logger.info("%s", line)
        return Receipt(external_id=f"console-{message.notification_id}")
