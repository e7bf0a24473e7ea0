"""The channel contract: one class per kind, one method, ``send(message) -> Receipt``.

A channel raises :class:`ChannelError` when it cannot deliver: ``permanent=True`` when
trying again cannot help (the address is gone, the person blocked the bot) — the
destination is then disabled and the notice falls back — otherwise the outbox retries
with backoff, or after ``retry_after`` seconds when the far end said so.

Channels are looked up by kind in :data:`CHANNELS`; a module registers its class with
``@register("kind")``. :func:`make_channel` imports the built-in modules on demand, so
that naming a kind in configuration is enough. Adding a channel: docs/escalation.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from escalation.models import NOTICE_KINDS

# Kinds of notice a message can be: those of the outbox's rows.
MESSAGE_KINDS = (*NOTICE_KINDS, "bulletin")


@dataclass(frozen=True)
class Attachment:
    """A file a channel that carries files sends with the message (a report's PDF)."""

    filename: str
    content_type: str
    data: bytes


class AttachmentSource(Protocol):
    """Builds the files for a message (the app renders a filed report's PDF); channels
    that carry files call it with the message, the others never do."""

    def __call__(self, message: OutgoingMessage) -> list[Attachment]: ...


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a channel needs to deliver one notification, and nothing secret.

    ``text_zh`` / ``text_en`` are complete; :attr:`text` picks the recipient's language.
    ``deadline_*`` is the deadline the notice is about (warning, breach) or the nearest
    one still pending (step). ``link_path`` is relative: prefix the public URL.

    An inform's notice (``kind`` ``inform`` or ``report``) carries ``receipt_id``: the
    recipient confirms receipt with it (a Telegram button, the link in an email —
    :func:`escalation.receipt_links.confirm_url`, a button on the web). ``report_id``
    names a delivered report (its PDF is an attachment where the channel carries files).
    A group destination's message has no person: ``recipient_person_id`` is ``None``;
    ``destination_secret`` is a robot's signing secret.

    A bulletin (``kind`` ``bulletin``) is about no incident: see ``bulletin_id``.
    """

    notification_id: int
    incident_id: int
    incident_number: str
    grade: str
    category: str
    title: str
    recipient_person_id: int | None
    recipient_login: str
    recipient_language: str
    destination_address: str
    kind: str
    text_zh: str
    text_en: str
    link_path: str
    deadline_name: str | None = None
    deadline_title_zh: str | None = None
    deadline_title_en: str | None = None
    deadline_at: datetime | None = None
    step: int | None = None
    attempt: int = 1
    receipt_id: int | None = None
    report_id: int | None = None
    destination_secret: str = ""
    # A bulletin (escalation.bulletins): about no incident — ``incident_id`` is 0 and the
    # incident's fields are empty; channels send the text and the link, nothing else.
    bulletin_id: int | None = None

    @property
    def text(self) -> str:
        return self.text_en if self.recipient_language == "en" else self.text_zh


@dataclass(frozen=True)
class Receipt:
    """Proof of hand-over: the far end's id for the message, if it gives one."""

    external_id: str | None = None


class ChannelError(Exception):
    """Delivery failed; ``permanent`` says whether trying again can help."""

    def __init__(
        self, reason: str, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class NotSent(ChannelError):
    """``send_many``'s answer for a message it did not try — it would have overtaken an
    earlier message of its chat that was not sent. The outbox gives the row back
    unspent (no attempt counted) and claims it again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


@runtime_checkable
class Channel(Protocol):
    kind: str

    def send(self, message: OutgoingMessage) -> Receipt: ...


@runtime_checkable
class BatchChannel(Channel, Protocol):
    """A channel that also sends several messages at once, concurrently within its own
    limits (Telegram's flood limits, a pool of SMTP connections, one database
    transaction for the inbox). ``send_many`` answers each message, in order, with its
    receipt, the :class:`ChannelError` :meth:`send` would have raised, or
    :class:`NotSent` for one it did not try; ``batch_size`` is how many it takes at a
    time. Channels without it are sent one by one."""

    batch_size: int

    def send_many(self, messages: Sequence[OutgoingMessage]) -> list[Receipt | ChannelError]: ...


def batch_size(channel: Channel | None) -> int:
    """How many messages ``channel`` takes per call: its ``batch_size`` when it has
    ``send_many``, else 1."""
    size = getattr(channel, "batch_size", None)
    if callable(getattr(channel, "send_many", None)) and isinstance(size, int) and size > 1:
        return size
    return 1


def accepting(channel: Channel) -> bool:
    """Whether ``channel`` may send from this process now.

    A channel can say no (the Telegram channel does while another worker holds the
    bot's sender lock); the outbox then leaves its rows for the process that can send
    them, instead of claiming them and spending an attempt on a refusal.
    """
    check = getattr(channel, "accepting", None)
    return bool(check()) if callable(check) else True


class ChannelFactory(Protocol):
    """A channel class: built from settings (a mapping of whatever it needs)."""

    kind: str

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Channel: ...


CHANNELS: dict[str, type] = {}
# Modules that register the built-in kinds; imported when a kind is first asked for.
BUILTIN_MODULES: dict[str, str] = {
    "console": "escalation.channels.console",
    "inbox": "escalation.channels.inbox",
    "telegram": "escalation.channels.telegram",
    "email": "escalation.channels.email",
    "wecom": "escalation.channels.robots.wecom",
    "dingtalk": "escalation.channels.robots.dingtalk",
    "feishu": "escalation.channels.robots.feishu",
}

T = TypeVar("T", bound=type)


def register(kind: str) -> Callable[[T], T]:
    """Class decorator: make ``kind`` resolve to the decorated class."""

    def wrap(cls: T) -> T:
        CHANNELS[kind] = cls
        return cls

    return wrap


def channel_class(kind: str) -> type:
    if kind not in CHANNELS and kind in BUILTIN_MODULES:
        importlib.import_module(BUILTIN_MODULES[kind])
    if kind not in CHANNELS:
        known = ", ".join(sorted(set(CHANNELS) | set(BUILTIN_MODULES)))
        raise KeyError(f"unknown channel kind {kind!r}; known: {known}")
    return CHANNELS[kind]


def make_channel(kind: str, settings: Mapping[str, Any]) -> Channel:
    """Build the channel of ``kind`` from ``settings`` (see each class's ``from_settings``)."""
    cls = channel_class(kind)
    factory: Callable[[Mapping[str, Any]], Channel] = cls.from_settings  # type: ignore[attr-defined]
    return factory(settings)
