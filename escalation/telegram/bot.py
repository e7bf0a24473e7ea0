"""``fenghuo bot``: the bot process — python-telegram-bot polling, one per bot token.

Telegram allows one ``getUpdates`` poller per token (a second gets 409 Conflict), so the
bot runs as its own process, never inside web workers. Each command or button press is
read into an :class:`~escalation.telegram.actions.Incoming` and handed to
:class:`~escalation.telegram.actions.BotActions` in a worker thread
(``asyncio.to_thread``: the use cases are synchronous SQLAlchemy); the answers it
returns — a reply, a button's answer — are sent at once.

What the bot does *not* send: alerts, and the edits of alert copies after an
acknowledgement. Those go through the worker's Telegram channel (the outbox and the
sender's own pass), which alone keeps the deployment within Telegram's flood limits,
and which finds the copies to edit in the database whichever face acknowledged. The
answers here are one per command, sent by this process under PTB's ``AIORateLimiter``.

In webhook mode (``FENGHUO_TELEGRAM_MODE=webhook``) this command only registers the
webhook (``FENGHUO_PUBLIC_URL/telegram/webhook`` with the secret token) and exits: the
web process receives the updates (``app.telegram_webhook``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from config.policy import Policy
from config.settings import Settings
from escalation.telegram.actions import Answer, BotActions, Incoming, incoming_from
from escalation.telegram.calls import make_call
from escalation.telegram.error_text import ErrorText, english
from escalation.telegram.polling import BotHeartbeat, poll_forever
from incidents.clock import Clock
from incidents.db import make_engine, make_sessionmaker

logger = logging.getLogger("fenghuo.telegram.bot")

# The bot receives only what it answers; Telegram drops the rest for it.
ALLOWED_UPDATES = ["message", "callback_query"]
WEBHOOK_PATH = "/telegram/webhook"
COMMANDS = {
    "zh_CN": [
        ("incidents", "您可查看的未结事件"),
        ("status", "事件状态:/status 编号"),
        ("ack", "确认收到事件:/ack 编号"),
        ("duty", "当前值班人员"),
        ("handoff", "确认交接班"),
        ("help", "帮助与关联说明"),
    ],
    "en": [
        ("incidents", "Open incidents you may see"),
        ("status", "An incident's state: /status NUMBER"),
        ("ack", "Acknowledge an incident: /ack NUMBER"),
        ("duty", "Who is on duty now"),
        ("handoff", "Acknowledge your duty handoff"),
        ("help", "Help and how to link your account"),
    ],
}

Handler = Callable[[Incoming, object], list[Answer]]

# python-telegram-bot 22 warns on every RetryAfter unless told to use timedeltas;
# AIORateLimiter reads the timedelta itself.
os.environ.setdefault("PTB_TIMEDELTA", "true")


async def perform(bot: Bot, owed: Sequence[Answer]) -> None:
    """Make the Bot API calls the actions returned, in order."""
    for answer in owed:
        await make_call(bot, answer.method, answer.params)


def build_application(
    *, token: str, api_url: str, actions: BotActions, clock: Clock, max_retries: int = 3
) -> Application:  # type: ignore[type-arg]
    """The PTB application: base URL from the settings, a handler per command."""
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .rate_limiter(AIORateLimiter(max_retries=max_retries))
        .post_init(_post_init)
        .build()
    )

    def wrap(
        act: Callable[..., list[Answer]],
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            incoming = incoming_from(update, context.bot.username)
            if incoming is None:
                return
            owed = await asyncio.to_thread(act, incoming, clock.now())
            await perform(context.bot, owed)

        return handler

    for name in ("start", "help", "incidents", "ack", "status", "linkgroup", "duty", "handoff"):
        application.add_handler(
            CommandHandler(name, wrap(getattr(actions, name.replace("linkgroup", "link_group"))))
        )
    application.add_handler(CallbackQueryHandler(wrap(actions.button)))
    # Anything else said in a private chat gets the help (or how to link).
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, wrap(actions.help)))
    application.add_error_handler(_log_error)
    return application


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    bot = application.bot
    for language, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(c, d) for c, d in commands],
            language_code=None if language == "zh_CN" else language[:2],
        )


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.error("Telegram update failed: %s", context.error, exc_info=context.error)


def actions_for(
    sessions: sessionmaker[Session],
    settings: Settings,
    policy: Policy,
    explain: ErrorText = english,
) -> BotActions:
    return BotActions(
        sessions,
        public_url=settings.public_url,
        tz=policy.tz,
        redact_titles=policy.redact_titles,
        explain=explain,
    )


class PollingBot:
    """The bot polling in a background thread with its own event loop (tests, ``run``).

    ``start`` returns once polling has begun; ``stop`` ends it and waits.
    """

    def __init__(self, application: Application, *, poll_timeout: float = 1.0) -> None:  # type: ignore[type-arg]
        self.application = application
        self.poll_timeout = poll_timeout
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="telegram-bot", daemon=True)
        self._error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the bot did not start polling")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = self.application
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=int(self.poll_timeout), allowed_updates=ALLOWED_UPDATES
            )
            self._started.set()
            await self._stop.wait()
            await app.updater.stop()
            await app.stop()


def run_bot_from_settings(
    settings: Settings, policy: Policy, clock: Clock, *, explain: ErrorText = english
) -> None:
    """``fenghuo bot``: poll (exactly one process per token), or register the webhook.
    ``explain`` says domain errors in the person's language (the app's catalogue)."""
    if not settings.telegram_token:
        print("Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set; the bot has nothing to do.")
        return
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        actions = actions_for(sessions, settings, policy, explain)
        token = settings.telegram_token

        def make() -> Application:  # type: ignore[type-arg]
            return build_application(
                token=token, api_url=settings.telegram_api_url, actions=actions, clock=clock
            )

        if settings.telegram_mode == "webhook":
            asyncio.run(register_webhook(make(), settings))
            return
        logger.info("Telegram bot starting against %s", settings.telegram_api_url)
        # Telegram away at start (or later) is retried with backoff, and the bot's
        # heartbeat says so; it never takes the other processes down (issue 9).
        poll_forever(
            make, heartbeat=BotHeartbeat(sessions, clock, token), allowed_updates=ALLOWED_UPDATES
        )
    finally:
        engine.dispose()


async def register_webhook(application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Point Telegram at ``FENGHUO_PUBLIC_URL/telegram/webhook`` with the secret token."""
    if not settings.telegram_webhook_secret:
        raise SystemExit(
            "FENGHUO_TELEGRAM_WEBHOOK_SECRET is required in webhook mode: Telegram sends it "
            "with every update, and the web process refuses updates without it"
        )
    url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    async with application:
        await application.bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    print(f"Telegram webhook set to {url}; the web process answers the updates.")
