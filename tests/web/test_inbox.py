"""The in-app inbox shows what the escalation layer delivered to the viewer."""

from __future__ import annotations

from flask import Flask

from escalation.channels.inbox import InboxChannel
from escalation.outbox import deliver
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import Browser, open_, services_of


def _deliver(app: Flask, clock: FrozenClock) -> None:
    factory = services_of(app).sessions
    deliver(
        factory,
        now=clock.now(),
        channels={"inbox": InboxChannel(factory, clock)},
        policy=services_of(app).policy,
        worker_id="test",
    )


def test_a_page_delivered_to_the_duty_officer_is_in_their_inbox(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="major", at=clock.now(), title="平台中断")
    _deliver(app, clock)
    page = duty.text("/inbox")
    assert "FH-2026-0001" in page
    assert 'class="unread"' in page
    assert 'class="badge"' in page


def test_marking_the_inbox_read_clears_the_badge(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    open_(app, org, grade="major", at=clock.now())
    _deliver(app, clock)
    duty.post("/inbox/read")
    page = duty.text("/inbox")
    assert 'class="badge"' not in page
    assert 'class="unread"' not in page
