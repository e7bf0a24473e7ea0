"""``--channel-factory`` for worker processes that send to the fake Bot API.

``FENGHUO_TEST_TELEGRAM_URL`` is the fake server's base URL and
``FENGHUO_TEST_TELEGRAM_TOKEN`` the bot token; the channel times a call out after
``FENGHUO_TEST_TELEGRAM_TIMEOUT`` seconds (default 2). The real inbox channel rides along.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel
from incidents.clock import Clock


def telegram_channels(*, session_factory: sessionmaker[Session], clock: Clock) -> Mapping[str, Any]:
    telegram = TelegramChannel(
        token=os.environ["FENGHUO_TEST_TELEGRAM_TOKEN"],
        session_factory=session_factory,
        api_url=os.environ["FENGHUO_TEST_TELEGRAM_URL"],
        public_url="https://fenghuo.example.gov.cn",
        clock=clock,
        timeout=float(os.environ.get("FENGHUO_TEST_TELEGRAM_TIMEOUT", "2")),
        flush_seconds=None,
    )
    return {"inbox": InboxChannel(session_factory, clock), "telegram": telegram}
