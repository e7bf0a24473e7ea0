"""What the group robots share: one HTTPS POST of JSON, and reading the answer.

The three services answer HTTP 200 with an error code in the JSON body (``errcode`` for
WeCom and DingTalk, ``code`` for Feishu), so the body is always read: a non-zero code is
a failure even when the status says OK. Each class names its codes:

- *throttle* codes (too many messages): temporary, with ``retry_after``;
- *permanent* codes (the webhook key is unknown, the signature or the group's keyword
  check fails): trying again cannot help, so the destination is disabled with the
  service's own words and the notice falls back — an administrator fixes the robot
  (``fenghuo destination add-group``) and the row is enabled again;
- any other code, a status other than 200, a body that is not JSON, a timeout or a
  refused connection: temporary.

Each robot takes at most 20 messages a minute (WeCom and DingTalk document that limit;
DingTalk then blocks the robot for minutes): the channel counts its own posts per
webhook and defers the 21st with a ``retry_after`` instead of spending the robot's quota.

The text is the Chinese one (``message.text_zh``) with the link to the incident: a group
has no language of its own, and the bureau's groups read Chinese.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from escalation.channels.addresses import redact_webhook, webhook_url_error
from escalation.channels.base import ChannelError, OutgoingMessage, Receipt
from incidents.clock import Clock, SystemClock

PER_MINUTE = 20
THROTTLE_SECONDS = 60.0
LINK_TEXT = "查看事件"


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every robot in the process (loading the CA bundle is slow)."""
    return httpx.create_ssl_context()


class RobotChannel:
    """A group robot; subclasses set the codes and build the request (:meth:`request`)."""

    kind: ClassVar[str]
    code_field: ClassVar[str] = "errcode"
    message_field: ClassVar[str] = "errmsg"
    # code -> seconds to wait before the next try
    throttle_codes: ClassVar[Mapping[int, float]] = {}
    permanent_codes: ClassVar[frozenset[int]] = frozenset()

    def __init__(
        self,
        *,
        public_url: str = "",
        clock: Clock | None = None,
        timeout: float = 10.0,
        per_minute: int = PER_MINUTE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.timeout = timeout
        self.per_minute = per_minute
        self._client = httpx.Client(
            timeout=timeout, transport=transport, verify=_tls(), follow_redirects=False
        )
        self._sent: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RobotChannel:
        """Settings: ``public_url``, ``clock``, ``timeout`` (seconds, default 10); the
        webhook URL and secret come with each message (the group destination's row)."""
        return cls(
            public_url=str(settings.get("public_url") or ""),
            clock=settings.get("clock"),
            timeout=float(settings.get("timeout") or 10.0),
        )

    def close(self) -> None:
        self._client.close()

    # --- what subclasses write -------------------------------------------------------------

    def request(
        self, message: OutgoingMessage, url: str, now: datetime
    ) -> tuple[str, Mapping[str, str], dict[str, Any]]:
        """(URL, query parameters to add, JSON body) for ``message`` at ``now``."""
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------------

    def link(self, message: OutgoingMessage) -> str:
        return self.public_url + message.link_path

    @staticmethod
    def headline(message: OutgoingMessage, limit: int = 64) -> str:
        first = message.text_zh.strip().splitlines()[0] if message.text_zh.strip() else "烽火"
        return first if len(first) <= limit else first[: limit - 1] + "…"

    def _take_slot(self, url: str, now: datetime) -> None:
        """Count one post to ``url``; defer it when the robot's minute is full."""
        with self._lock:
            sent = self._sent.setdefault(url, deque())
            while sent and sent[0] <= now - timedelta(minutes=1):
                sent.popleft()
            if len(sent) >= self.per_minute:
                wait = (sent[0] + timedelta(minutes=1) - now).total_seconds()
                raise ChannelError(
                    f"{self.per_minute} messages this minute to this {self.kind} robot "
                    "already (the service's limit); waiting",
                    retry_after=max(wait, 1.0),
                )
            sent.append(now)

    def send(self, message: OutgoingMessage) -> Receipt:
        url = message.destination_address
        problem = webhook_url_error(url)
        if problem is not None:
            raise ChannelError(f"{self.kind} robot: {problem}", permanent=True)
        now = self.clock.now()
        target, params, body = self.request(message, url, now)
        self._take_slot(url, now)
        shown = redact_webhook(url)
        try:
            # Merged into the webhook's own query (access_token=…); httpx encodes once.
            full = httpx.URL(target).copy_merge_params(dict(params)) if params else target
            response = self._client.post(full, json=body)
        except httpx.TimeoutException:
            raise ChannelError(
                f"{self.kind} robot {shown} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.ConnectError as exc:
            raise ChannelError(f"{self.kind} robot {shown}: could not connect ({exc})") from None
        except httpx.HTTPError as exc:
            raise ChannelError(f"{self.kind} robot {shown}: {type(exc).__name__}: {exc}") from None
        return self._read(message, response, shown)

    def _read(self, message: OutgoingMessage, response: httpx.Response, shown: str) -> Receipt:
        status = response.status_code
        if status == 429:
            raise ChannelError(
                f"{self.kind} robot {shown}: HTTP 429 (too many requests)",
                retry_after=_retry_after(response) or THROTTLE_SECONDS,
            )
        if status in (404, 410):
            raise ChannelError(
                f"{self.kind} robot {shown}: HTTP {status}, no webhook at this address",
                permanent=True,
            )
        if status != 200:
            raise ChannelError(f"{self.kind} robot {shown}: HTTP {status}")
        try:
            answer = response.json()
        except ValueError:
            raise ChannelError(f"{self.kind} robot {shown}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise ChannelError(f"{self.kind} robot {shown}: unexpected answer {answer!r}")
        code = answer.get(self.code_field, answer.get("StatusCode"))
        if code == 0:
            return Receipt(external_id=f"{self.kind}-{message.notification_id}")
        words = answer.get(self.message_field, answer.get("StatusMessage", ""))
        reason = f"{self.kind} robot {shown} answered {code}: {words}"
        if not isinstance(code, int):
            raise ChannelError(f"{self.kind} robot {shown}: no {self.code_field} in {answer!r}")
        if code in self.throttle_codes:
            raise ChannelError(reason, retry_after=self.throttle_codes[code])
        raise ChannelError(reason, permanent=code in self.permanent_codes)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(float(raw), 1.0)
    except ValueError:
        return None


def markdown_safe(text: str) -> str:
    """Text for a robot's markdown: no HTML-like tags (``<@all>`` would mention the whole
    group in WeCom, ``<font>`` would restyle it)."""
    return text.replace("<", "＜").replace(">", "＞")
