"""The new channels behind the real outbox: a major incident's first step pages the duty
officer by email and, because the step names the group ``duty-room``, posts into that
group through its signed DingTalk robot — each arriving at its far end (aiosmtpd, the
fake robot service), the notifications marked sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy, load_policy
from escalation.channels.base import make_channel
from escalation.channels.email import EmailChannel
from escalation.channels.robots.dingtalk import DingTalkRobot
from escalation.destinations import add_group_destination, add_person_destination
from escalation.models import Notification
from escalation.outbox import deliver
from escalation.sweep import sweep
from incidents.clock import FrozenClock
from incidents.models import Incident
from incidents.org import Person
from tests.channels.smtp_server import Mailbox, smtp_server
from tests.conftest import T0, actor_for
from tests.escalation.support import open_
from tests.fakes.robots import FakeRobots

SECRET = "SECdeadbeef0123456789"


def with_group(policy: Policy, grade: str, name: str) -> Policy:
    """``policy`` with its ``grade``'s first step also sent to the group ``name``."""
    data = policy.to_dict()
    data["grades"][grade]["chain"][0]["groups"] = [name]
    return Policy.from_dict(data)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def robots(clock: FrozenClock) -> Iterator[FakeRobots]:
    with FakeRobots(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def test_a_step_reaches_a_person_by_email_and_its_group_by_robot(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    robots: FakeRobots,
) -> None:
    policy = with_group(load_policy(None), "major", "duty-room")
    admin = actor_for(org["admin"])
    with factory() as s, s.begin():
        add_group_destination(
            s,
            kind="dingtalk",
            name="duty-room",
            url=robots.dingtalk("duty-room-token", SECRET),
            secret=SECRET,
            actor=admin,
            now=T0,
        )
        add_person_destination(
            s,
            person_id=org["duty"].id,
            kind="email",
            address="duty@example.gov.cn",
            actor=admin,
            now=T0,
        )
    incident_id = open_(factory, org, "major", policy=policy)
    sweep(factory, now=T0, policy=policy)

    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        channels = {
            "inbox": make_channel("inbox", {"session_factory": factory, "clock": clock}),
            "dingtalk": DingTalkRobot(public_url="https://fenghuo.example.gov.cn", clock=clock),
            "email": EmailChannel(
                host="127.0.0.1",
                port=port,
                sender="noreply@example.gov.cn",
                security="none",
                public_url="https://fenghuo.example.gov.cn",
            ),
        }
        result = deliver(factory, now=T0, channels=channels, policy=policy, worker_id="t")

    with factory() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        notes = s.scalars(
            select(Notification).where(Notification.channel.in_(["email", "dingtalk"]))
        ).all()
    assert result.failed == 0
    assert {(n.channel, n.person_id, n.status) for n in notes} == {
        ("email", org["duty"].id, "sent"),
        ("dingtalk", None, "sent"),
    }
    [arrival] = robots.arrivals
    assert arrival.verdict == "ok" and "sign" in arrival.query  # signed with the row's secret
    assert incident.number in arrival.body["markdown"]["text"]
    assert f"/incidents/{incident_id}" in arrival.body["markdown"]["text"]
    [mail] = mailbox.received
    assert mail.rcpt_tos == ["duty@example.gov.cn"]
    assert incident.number in mail.message["Subject"]
