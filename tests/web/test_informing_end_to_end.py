"""The leaders are told and Fenghuo knows it, end to end (issue 9, "Done when" 1 and 2).

A major incident on the default policy: the duty officer logs it, acknowledges at once
and files the internal report to the leadership. The worker delivers through the real
channels — Telegram (the fake Bot API on loopback) and email (aiosmtpd on loopback, the
report's PDF attached) — and each leader confirms their own receipt: the deputy director
with the Telegram 签收 button, the director through the link in the email. The incident
page then shows, per leader, informed, delivered and confirmed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.reports.attachments import ReportPdfs
from escalation.channels.base import Channel
from escalation.channels.email import EmailChannel
from escalation.channels.inbox import InboxChannel
from escalation.channels.telegram import TelegramChannel
from escalation.destinations import add_person_destination
from escalation.models import Notification, Receipt
from escalation.outbox import deliver
from escalation.response import acknowledge
from escalation.sweep import sweep
from escalation.telegram.actions import BotActions
from escalation.telegram.bot import PollingBot, build_application
from escalation.telegram.linking import link_person
from incidents.audit import Actor
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.channels.smtp_server import Mailbox, smtp_server
from tests.conftest import TEST_SECRET, actor_for
from tests.escalation.support import DEFAULT_POLICY, file
from tests.fakes.telegram import FakeTelegram
from tests.web.conftest import Browser, as_, open_, services_of

TOKEN = "123456:TEST-token"
PUBLIC_URL = "https://fenghuo.example.gov.cn"
CLI = Actor(None, "cli", "cli")
NETSEC_CHAT, LGMEMBER_CHAT = 3003, 3005


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    with FakeTelegram(token=TOKEN) as server:
        yield server


ROUNDS = 5


def _worker_round(
    factory: sessionmaker[Session], clock: FrozenClock, channels: dict[str, Channel]
) -> None:
    """The worker's rounds, a second apart, until nothing is left to send: Telegram
    sends one message a second to a chat, so the third to the same chat (the
    acknowledgement, the inform step, the report) goes a round later."""
    for _ in range(ROUNDS):
        sweep(factory, now=clock.now(), policy=DEFAULT_POLICY)
        while deliver(
            factory, now=clock.now(), channels=channels, policy=DEFAULT_POLICY, worker_id="t"
        ).more:
            pass
        with factory() as s:
            if s.scalar(select(Notification.id).where(Notification.status == "pending")) is None:
                return
        clock.advance(seconds=1)
    raise AssertionError(f"notifications still pending after {ROUNDS} rounds")


def test_the_internal_report_reaches_each_leader_and_each_confirms(
    app: Flask, org: dict[str, Person], clock: FrozenClock, fake: FakeTelegram, duty: Browser
) -> None:
    factory = services_of(app).sessions
    now = clock.now()
    with factory() as s, s.begin():
        link_person(s, login="netsec", chat_id=NETSEC_CHAT, actor=CLI, now=now)
        link_person(s, login="lgmember", chat_id=LGMEMBER_CHAT, actor=CLI, now=now)
        add_person_destination(
            s,
            person_id=org["director"].id,
            kind="email",
            address="director@example.gov.cn",
            actor=CLI,
            now=now,
        )
    incident_id = open_(app, org, grade="major", at=now)
    with factory() as s, s.begin():  # the duty officer acknowledges at once
        acknowledge(s, incident_id=incident_id, actor=actor_for(org["duty"]), now=now)
    file(factory, org, incident_id, 0, obligation="internal")

    mailbox = Mailbox()
    telegram = TelegramChannel(
        token=TOKEN,
        session_factory=factory,
        api_url=fake.base_url,
        public_url=PUBLIC_URL,
        tz=DEFAULT_POLICY.tz,
        clock=clock,
        flush_seconds=None,
    )
    pdfs = ReportPdfs(session_factory=factory, tz=DEFAULT_POLICY.tz)
    bot: PollingBot | None = None
    try:
        with smtp_server(mailbox) as port:
            channels: dict[str, Channel] = {
                "inbox": InboxChannel(factory, clock),
                "telegram": telegram,
                "email": EmailChannel(
                    host="127.0.0.1",
                    port=port,
                    sender="fenghuo@example.gov.cn",
                    security="none",
                    public_url=PUBLIC_URL,
                    secret_key=TEST_SECRET,
                    attachments=pdfs,
                ),
            }
            _worker_round(factory, clock, channels)

        # Telegram: the deputy director is informed (3(2), at once) and receives the
        # report with its items and the link; each message carries the 签收 button.
        messages = fake.messages_in(NETSEC_CHAT)
        report_msg = next(m for m in messages if "交通管理综合信息平台" in m.text)
        assert f"/incidents/{incident_id}" in report_msg.text
        keyboard = report_msg.reply_markup["inline_keyboard"][0] if report_msg.reply_markup else []
        [press] = [b for b in keyboard if b.get("callback_data", "").startswith("v1:rc:")]
        assert press["text"] == "签收"
        assert any("通报" in m.text for m in messages)  # the inform step, despite the ack
        assert any("交通管理综合信息平台" in m.text for m in fake.messages_in(LGMEMBER_CHAT))

        # Email: the director receives the report with its PDF and a confirmation link.
        [mail] = [r for r in mailbox.received if "director@example.gov.cn" in r.rcpt_tos]
        [pdf] = list(mail.message.iter_attachments())
        assert pdf.get_content_type() == "application/pdf"
        assert pdf.get_content().startswith(b"%PDF-")
        body = mail.message.get_body(preferencelist=("plain",))
        assert body is not None
        link = re.search(
            r"https://fenghuo\.example\.gov\.cn(/receipts/confirm/[\w.]+)", body.get_content()
        )
        assert link is not None

        # The deputy director confirms in Telegram.
        actions = BotActions(
            factory, public_url=PUBLIC_URL, tz=DEFAULT_POLICY.tz, redact_titles=False
        )
        bot = PollingBot(
            build_application(token=TOKEN, api_url=fake.base_url, actions=actions, clock=clock)
        )
        bot.start()
        query = fake.press_button(NETSEC_CHAT, report_msg, press["callback_data"])
        answer = fake.wait_for(
            lambda: [a for a in fake.callback_answers if a.callback_query_id == query],
        )[0]
        assert answer.text == "已签收。谢谢。"
        # Someone else pressing it (the member, on a forwarded copy) is refused.
        other = fake.press_button(LGMEMBER_CHAT, report_msg, press["callback_data"])
        refused = fake.wait_for(
            lambda: [a for a in fake.callback_answers if a.callback_query_id == other],
        )[0]
        assert refused.show_alert and "本人" in (refused.text or "")
    finally:
        if bot is not None:
            bot.stop()
        telegram.close()
        pdfs.close()

    # The director confirms through the email link: the page shows a button, and only
    # the press confirms.
    outsider = Browser(app)
    page = outsider.get(link.group(1))
    assert page.status_code == 200 and "签收" in page.get_data(as_text=True)
    assert outsider.post(link.group(1)).status_code == 200
    assert outsider.get(link.group(1).rstrip("0123456789abcdef") + "0" * 32).status_code == 404

    with factory() as s:
        rows = {
            (r.person_id, r.source): r
            for r in s.scalars(select(Receipt).where(Receipt.incident_id == incident_id))
        }
        netsec_report = rows[(org["netsec"].id, "report")]
        director_report = rows[(org["director"].id, "report")]
        assert netsec_report.confirmed_via == "telegram" and netsec_report.confirmed_at
        assert director_report.confirmed_via == "email" and director_report.confirmed_at
        assert rows[(org["lgmember"].id, "report")].confirmed_at is None
        emailed = s.scalars(
            select(Notification).where(
                Notification.receipt_id == director_report.id, Notification.channel == "email"
            )
        ).one()
        assert emailed.status == "sent"

    # The incident page: per leader, informed, delivered on which channel, confirmed.
    page_text = duty.text(f"/incidents/{incident_id}")
    section = page_text[page_text.index('id="receipts"') :]
    assert "领导通报与签收" in page_text
    assert "通过 Telegram" in section and "通过邮件链接" in section
    assert "电子邮件: 已送达" in section and "Telegram: 已送达" in section
    # The member has not confirmed: the page says the receipt is awaited.
    assert "待签收" in section
    # The deputy director still has the inform step's receipt open: his page offers the
    # button, and pressing it confirms it on the web.
    leader = as_(app, "netsec")
    assert f"/incidents/{incident_id}/receipts/confirm" in leader.text(f"/incidents/{incident_id}")
    assert leader.post(f"/incidents/{incident_id}/receipts/confirm").status_code == 302
    with factory() as s:
        open_ones = s.scalars(
            select(Receipt).where(
                Receipt.person_id == org["netsec"].id, Receipt.confirmed_at.is_(None)
            )
        ).all()
        assert open_ones == []
