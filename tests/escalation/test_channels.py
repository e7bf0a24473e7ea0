"""The channel contract, checked the same way for every built-in channel."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import (
    CHANNELS,
    Channel,
    ChannelError,
    OutgoingMessage,
    Receipt,
    channel_class,
    make_channel,
)
from escalation.models import InboxItem, Notification
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0
from tests.escalation.support import open_


def message(factory: sessionmaker[Session], org: dict[str, Person]) -> OutgoingMessage:
    open_(factory, org, "major")
    with factory() as s:
        note = s.scalars(select(Notification).order_by(Notification.id)).first()
        assert note is not None
        person = s.get(Person, note.person_id)
        assert person is not None
        return OutgoingMessage(
            notification_id=note.id,
            incident_id=note.incident_id,
            incident_number="FH-2026-0001",
            grade="major",
            category="network_attack",
            title="t",
            recipient_person_id=person.id,
            recipient_login=person.login,
            recipient_language="zh_CN",
            destination_address=person.login,
            kind="step",
            text_zh=note.text_zh,
            text_en=note.text_en,
            link_path=f"/incidents/{note.incident_id}",
        )


BUILDERS: dict[str, Callable[[sessionmaker[Session], io.StringIO], Channel]] = {
    "console": lambda factory, out: make_channel("console", {"stream": out}),
    "inbox": lambda factory, out: make_channel(
        "inbox", {"session_factory": factory, "clock": FrozenClock(T0)}
    ),
}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_each_builtin_channel_keeps_the_contract(
    kind: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    channel = BUILDERS[kind](factory, io.StringIO())
    assert isinstance(channel, Channel)
    assert channel.kind == kind
    assert CHANNELS[kind] is type(channel)
    receipt = channel.send(message(factory, org))
    assert isinstance(receipt, Receipt) and receipt.external_id


def test_the_console_writes_one_line_per_notice_in_the_recipients_language(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    out = io.StringIO()
    BUILDERS["console"](factory, out).send(message(factory, org))
    line = out.getvalue()
    assert line.count("\n") == 1 and "FH-2026-0001" in line and "重大事件" in line


def test_the_inbox_writes_a_row_for_the_recipient(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    msg = message(factory, org)
    BUILDERS["inbox"](factory, io.StringIO()).send(msg)
    with factory() as s:
        item = s.scalars(select(InboxItem)).one()
    assert (item.person_id, item.notification_id) == (msg.recipient_person_id, msg.notification_id)
    assert item.created_at == T0


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="console"):
        channel_class("carrier-pigeon")


def test_a_channel_error_says_whether_to_retry() -> None:
    error = ChannelError("chat not found", permanent=True)
    assert (error.reason, error.permanent, error.retry_after) == ("chat not found", True, None)
    assert ChannelError("429", retry_after=3.0).retry_after == 3.0


def test_a_message_picks_the_recipients_language() -> None:
    base = dict(
        notification_id=1,
        incident_id=1,
        incident_number="N",
        grade="major",
        category="other",
        title="t",
        recipient_person_id=1,
        recipient_login="x",
        destination_address="x",
        kind="step",
        text_zh="中文",
        text_en="English",
        link_path="/incidents/1",
        deadline_at=datetime(2026, 1, 1, tzinfo=T0.tzinfo),
    )
    assert OutgoingMessage(recipient_language="en", **base).text == "English"  # type: ignore[arg-type]
    assert OutgoingMessage(recipient_language="zh_CN", **base).text == "中文"  # type: ignore[arg-type]
