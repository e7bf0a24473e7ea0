"""End to end, on SQLite and PostgreSQL: logged → alerted on Telegram → acknowledged
from the chat → the chain stops → every copy says who acknowledged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.base import Channel
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel
from escalation.models import Notification, Timer
from escalation.outbox import deliver
from escalation.sweep import sweep
from escalation.telegram.bot import PollingBot
from incidents.audit import AuditEvent
from incidents.clock import FrozenClock
from incidents.models import Incident
from incidents.org import Person
from tests.escalation.support import DEFAULT_POLICY, open_
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import PUBLIC_URL, USER_IDS, link


def run_worker_once(
    factory: sessionmaker[Session], clock: FrozenClock, channel: TelegramChannel
) -> None:
    channels: dict[str, Channel] = {"telegram": channel, "inbox": InboxChannel(factory, clock)}
    sweep(factory, now=clock.now(), policy=DEFAULT_POLICY)
    while deliver(
        factory, now=clock.now(), channels=channels, policy=DEFAULT_POLICY, worker_id="t"
    ).more:
        pass
    channel.flush()


def test_it_alerts_on_telegram_and_stops_the_chain_when_a_leader_acknowledges_there(
    any_factory: sessionmaker[Session],
    any_org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
    start_bot: Callable[..., PollingBot],
) -> None:
    for login in ("duty", "cchead", "netsec"):
        link(any_factory, login, clock.now())
    channel = make_channel(any_factory, clock)
    incident_id = open_(any_factory, any_org, "major", at=clock.now())

    run_worker_once(any_factory, clock, channel)

    # The command center is paged (Acknowledge); 3(2) is informed (签收), not paged.
    [alert] = fake.messages_in(USER_IDS["cchead"])
    buttons = alert.reply_markup["inline_keyboard"][0] if alert.reply_markup else []
    assert {"text": "确认收到", "callback_data": f"v1:ack:{incident_id}"} in buttons
    assert {"text": "打开事件", "url": f"{PUBLIC_URL}/incidents/{incident_id}"} in buttons
    assert "🟠" in alert.text and "门户网站被篡改" in alert.text
    assert fake.messages_in(USER_IDS["duty"])
    [inform] = fake.messages_in(USER_IDS["netsec"])
    keyboard = inform.reply_markup["inline_keyboard"][0] if inform.reply_markup else []
    assert [b["text"] for b in keyboard if "callback_data" in b] == ["签收"]

    start_bot(any_factory, clock)
    query = fake.press_button(USER_IDS["cchead"], alert, f"v1:ack:{incident_id}")
    answer = fake.wait_for(
        lambda: [a for a in fake.callback_answers if a.callback_query_id == query]
    )[0]
    assert "FH-" in (answer.text or "") and not answer.show_alert

    with any_factory() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None and incident.acknowledged_by_id == any_org["cchead"].id
        [event] = s.scalars(
            select(AuditEvent).where(
                AuditEvent.incident_id == incident_id, AuditEvent.kind == "incident.acknowledged"
            )
        ).all()
        assert (event.source, event.actor_login) == ("telegram", "cchead")

    clock.advance(timedelta(minutes=15))
    run_worker_once(any_factory, clock, channel)

    with any_factory() as s:
        # The responder page at 15 minutes stopped with the acknowledgement…
        responder_page = s.scalars(
            select(Timer).where(Timer.incident_id == incident_id, Timer.step_index == 3)
        ).one()
        assert responder_page.status == "cancelled"
        # …the director's inform at 10 minutes did not.
        told_director = s.scalars(
            select(Notification.kind).where(Notification.person_id == any_org["director"].id)
        ).all()
        assert "inform" in told_director
    edited = {e.chat_id: e for e in fake.edits}
    # The alert copies say who acknowledged; the inform copy is not an alert.
    assert set(edited) == {USER_IDS[login] for login in ("duty", "cchead")}
    for edit in edited.values():
        assert any_org["cchead"].name in edit.text and "确认" in edit.text
        keyboard = edit.reply_markup["inline_keyboard"][0] if edit.reply_markup else []
        assert all("callback_data" not in b for b in keyboard)
    assert len(fake.edits) == 2  # each copy once
    assert fake.rate_limited == 0
