"""setWebhook, deleteWebhook and getWebhookInfo, and the delivery of updates to the hook.

setWebhook accepts ``http://`` URLs (tests run without TLS); queued updates are then
POSTed to that URL one by one, in order, with ``X-Telegram-Bot-Api-Secret-Token``, and
retried with backoff until a 2xx; the last failure shows in getWebhookInfo. While a
webhook is set, getUpdates answers 409 Conflict. Delivery pauses while the server is
down and ends when the fake stops.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.fakes.telegram.server import Listener
from tests.fakes.telegram.updates import UpdateQueue
from tests.fakes.telegram.wire import JSON, ApiError, int_param


class Webhook:
    """The webhook's settings and its delivery thread; methods other than the thread's
    own run with the fake's lock held."""

    def __init__(
        self,
        cond: threading.Condition,
        updates: UpdateQueue,
        listener: Listener,
        wall_clock: Callable[[], float],
    ) -> None:
        self._cond = cond
        self._updates = updates
        self._listener = listener
        self._wall_clock = wall_clock
        self._settings: JSON = {"url": "", "secret_token": None, "max_connections": 40}
        self._error: tuple[int, str] | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The webhook's URL; empty when none is set."""
        return str(self._settings["url"])

    def set(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: bad webhook: URL must be specified")
        if url and urlsplit(url).scheme not in {"http", "https"}:
            raise ApiError(400, "Bad Request: bad webhook: Unsupported URL protocol")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self._updates.set_allowed_updates(params)
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._settings = {
            "url": url,
            "secret_token": secret,
            "max_connections": int_param(params, "max_connections", 40),
        }
        self._error = None
        if url:
            self.start_delivery()
        return True

    def delete(self, params: JSON) -> bool:
        self._settings = {"url": "", "secret_token": None, "max_connections": 40}
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._settings["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._settings["url"]:
            info["max_connections"] = self._settings["max_connections"]
            info["ip_address"] = "127.0.0.1"
            if self._updates.allowed_updates:
                info["allowed_updates"] = list(self._updates.allowed_updates)
        if self._error is not None:
            info["last_error_date"], info["last_error_message"] = self._error
        return info

    def start_delivery(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._deliver, name="fake-telegram-webhook", daemon=True
            )
            self._thread.start()

    def take_thread(self) -> threading.Thread | None:
        """The delivery thread, for the stopping fake to join; forgotten here."""
        thread, self._thread = self._thread, None
        return thread

    def _deliver(self) -> None:
        """POST queued updates to the webhook one by one, in order, until stopped."""
        backoff = 0.05
        while True:
            with self._cond:
                while not self._listener.stopping and (
                    self._listener.is_down or not self.url or not self._updates.deliverable()
                ):
                    self._cond.wait()
                if self._listener.stopping:
                    return
                update = self._updates.deliverable()[0]
                url, secret = self._settings["url"], self._settings["secret_token"]
            error = _post_update(url, secret, update)
            with self._cond:
                if error is None:
                    self._updates.confirm(update["update_id"])
                    backoff = 0.05
                    self._cond.notify_all()
                    continue
                self._error = (int(self._wall_clock()), error)
                self._cond.wait(backoff)
                backoff = min(backoff * 2, 1.0)


def _post_update(url: str, secret: str | None, update: JSON) -> str | None:
    """POST one update as Telegram does; None on a 2xx, else the error getWebhookInfo shows."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.netloc, timeout=10)
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    try:
        path = parts.path or "/"
        connection.request(
            "POST",
            f"{path}?{parts.query}" if parts.query else path,
            body=json.dumps(update).encode(),
            headers=headers,
        )
        response = connection.getresponse()
        response.read()
    except OSError as exc:
        return f"Connection failed: {exc}"
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return None
    return f"Wrong response from the webhook: {response.status} {response.reason}"
