"""``POST /telegram/webhook``: Telegram's updates in webhook mode, answered like the bot.

Telegram sends every update with the secret given to ``setWebhook`` in the
``X-Telegram-Bot-Api-Secret-Token`` header; a request without the right one is refused
with 403 before anything is read (constant-time comparison). Without
``FENGHUO_TELEGRAM_WEBHOOK_SECRET`` the route refuses everything: webhook mode needs it.

The update is handled by the same :class:`~escalation.telegram.actions.BotActions` as
the polling bot, synchronously; the answers it owes are queued
(``escalation.telegram.answers``) for the worker's Telegram sender, because the web
process never calls Telegram itself.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, abort, jsonify, request
from telegram import Update

from app.extensions import services
from app.i18n import error_text
from escalation.telegram import answers
from escalation.telegram.actions import BotActions, incoming_from

bp = Blueprint("telegram_webhook", __name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def _authentic() -> bool:
    secret = services().settings.telegram_webhook_secret
    given = request.headers.get(SECRET_HEADER, "")
    if not secret:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


@bp.post("/telegram/webhook")
def webhook() -> Any:
    if not _authentic():
        abort(403)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or "update_id" not in data:
        abort(400)
    svc = services()
    incoming = incoming_from(Update.de_json(data, None))
    if incoming is not None:
        actions = BotActions(
            svc.sessions,
            public_url=svc.settings.public_url,
            tz=svc.policy.tz,
            redact_titles=svc.policy.redact_titles,
            explain=error_text,
        )
        now = svc.clock.now()
        owed = actions.handle(incoming, now)
        with svc.sessions() as session, session.begin():
            answers.enqueue(session, owed, now)
    return jsonify({"ok": True})
