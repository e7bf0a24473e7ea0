"""The group robots against a fake of the three services on loopback.

What the fake receives is checked against each service's documented shape, and DingTalk's
and Feishu's signatures are verified the way the services verify them — so a signature
computed the wrong way round, in the wrong unit or URL-encoded twice fails here. The
fake's clock is the test's clock. Errors map as the outbox needs: throttling is
temporary with a ``retry_after``, a bad key or signature is permanent.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from escalation.channels.base import CHANNELS, Channel, ChannelError, OutgoingMessage, make_channel
from escalation.channels.robots import ROBOT_KINDS
from escalation.channels.robots.base import RobotChannel
from escalation.channels.robots.dingtalk import DingTalkRobot
from escalation.channels.robots.feishu import FeishuRobot
from escalation.channels.robots.wecom import WeComRobot
from incidents.clock import FrozenClock
from tests.conftest import T0
from tests.fakes.robots import FakeRobots

PUBLIC = "https://fenghuo.example.gov.cn"
SECRET = "SEC0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0+/="
TEXT_ZH = "【烽火】重大事件 FH-2026-0007「勒索软件」需要您确认处置(第1级)。"

GROUP = OutgoingMessage(
    notification_id=77,
    incident_id=7,
    incident_number="FH-2026-0007",
    grade="major",
    category="network_attack",
    title="勒索软件",
    recipient_person_id=None,
    recipient_login="",
    recipient_language="zh_CN",
    destination_address="",
    kind="step",
    text_zh=TEXT_ZH,
    text_en="[Fenghuo] Major incident FH-2026-0007 needs your acknowledgement (step 1).",
    link_path="/incidents/7",
)
CLASSES: dict[str, type[RobotChannel]] = {
    "wecom": WeComRobot,
    "dingtalk": DingTalkRobot,
    "feishu": FeishuRobot,
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def fake(clock: FrozenClock) -> Iterator[FakeRobots]:
    with FakeRobots(now=lambda: clock.now().timestamp()) as robots:
        yield robots


@pytest.fixture
def channels(clock: FrozenClock) -> Iterator[dict[str, RobotChannel]]:
    built = {k: cls(public_url=PUBLIC, clock=clock, timeout=2.0) for k, cls in CLASSES.items()}
    yield built
    for channel in built.values():
        channel.close()


def robot_url(fake: FakeRobots, kind: str, secret: str | None = SECRET) -> str:
    if kind == "wecom":
        return fake.wecom("wk-693a")
    if kind == "dingtalk":
        return fake.dingtalk("dt-token-1", secret)
    return fake.feishu("fs-hook-1", secret)


def to(url: str, secret: str = SECRET, **changes: Any) -> OutgoingMessage:
    return replace(GROUP, destination_address=url, destination_secret=secret, **changes)


# --- the documented shapes ---------------------------------------------------------------


def test_wecom_gets_a_markdown_message_with_the_chinese_text_and_the_link(
    fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    receipt = channels["wecom"].send(to(fake.wecom("wk-693a"), secret=""))

    [arrival] = fake.arrivals
    assert arrival.verdict == "ok" and arrival.kind == "wecom"
    assert arrival.query == {"key": "wk-693a"}
    assert arrival.headers["Content-Type"] == "application/json"
    assert set(arrival.body) == {"msgtype", "markdown"}
    content = arrival.body["markdown"]["content"]
    assert content.startswith(f"**{TEXT_ZH}**")
    assert content.endswith(f"[查看事件]({PUBLIC}/incidents/7)")
    assert receipt.external_id == "wecom-77"


def test_dingtalk_gets_a_markdown_message_signed_in_the_query_in_milliseconds(
    fake: FakeRobots, channels: dict[str, RobotChannel], clock: FrozenClock
) -> None:
    channels["dingtalk"].send(to(fake.dingtalk("dt-token-1", SECRET)))

    [arrival] = fake.arrivals
    assert arrival.verdict == "ok"  # the fake verified the signature as DingTalk does
    assert arrival.query["access_token"] == "dt-token-1"
    assert arrival.query["timestamp"] == str(int(clock.now().timestamp() * 1000))
    # URL-encoded exactly once: decoding the raw query once gives the Base64 signature.
    raw_sign = arrival.query["sign"]
    assert "%" not in raw_sign and unquote(raw_sign) == raw_sign
    markdown = arrival.body["markdown"]
    assert arrival.body["msgtype"] == "markdown"
    assert markdown["title"].startswith("【烽火】重大事件 FH-2026-0007")
    assert TEXT_ZH in markdown["text"] and f"({PUBLIC}/incidents/7)" in markdown["text"]


def test_a_dingtalk_robot_without_a_secret_gets_no_signature(
    fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    channels["dingtalk"].send(to(fake.dingtalk("dt-token-1", None), secret=""))

    [arrival] = fake.arrivals
    assert arrival.verdict == "ok" and set(arrival.query) == {"access_token"}


def test_feishu_gets_a_rich_text_post_signed_in_the_body_in_seconds(
    fake: FakeRobots, channels: dict[str, RobotChannel], clock: FrozenClock
) -> None:
    channels["feishu"].send(to(fake.feishu("fs-hook-1", SECRET)))

    [arrival] = fake.arrivals
    assert arrival.verdict == "ok"  # the fake verified the signature as Feishu does
    assert arrival.query == {}
    assert arrival.body["timestamp"] == str(int(clock.now().timestamp()))
    assert arrival.body["msg_type"] == "post"
    post = arrival.body["content"]["post"]["zh_cn"]
    assert post["title"].startswith("【烽火】")
    assert post["content"][0] == [{"tag": "text", "text": TEXT_ZH}]
    assert post["content"][-1] == [
        {"tag": "a", "text": "查看事件", "href": f"{PUBLIC}/incidents/7"}
    ]


def test_a_multi_line_report_keeps_its_lines(
    fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    lines = ["张三报送《初次报告》:", "(一)事件名称:勒索"]
    channels["feishu"].send(to(fake.feishu("fs-hook-1", SECRET), text_zh="\n".join(lines)))
    post = fake.arrivals[0].body["content"]["post"]["zh_cn"]
    assert [p[0]["text"] for p in post["content"][:2]] == lines


def test_wecom_markdown_cannot_mention_the_whole_group_from_a_title(
    fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    channels["wecom"].send(to(fake.wecom("wk-693a"), text_zh="【烽火】事件「<@all> 测试」"))
    content = fake.arrivals[0].body["markdown"]["content"]
    assert "<@all>" not in content and "＜@all＞" in content


def test_a_long_text_is_cut_to_wecoms_4096_bytes_and_keeps_its_link(
    fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    channels["wecom"].send(to(fake.wecom("wk-693a"), text_zh="烽" * 3000))
    [arrival] = fake.arrivals
    content = arrival.body["markdown"]["content"]
    assert arrival.verdict == "ok" and len(content.encode()) <= 4096
    assert content.endswith(f"({PUBLIC}/incidents/7)")


# --- signatures the services refuse ------------------------------------------------------


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_wrong_secret_fails_the_services_check_and_is_permanent(
    kind: str, fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    url = robot_url(fake, kind, secret=SECRET)
    with pytest.raises(ChannelError) as caught:
        channels[kind].send(to(url, secret="not-the-secret"))

    assert caught.value.permanent
    assert "sign" in fake.arrivals[0].verdict and "sign" in caught.value.reason


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_clock_more_than_an_hour_off_is_refused_as_the_services_do(
    kind: str, fake: FakeRobots, channels: dict[str, RobotChannel], clock: FrozenClock
) -> None:
    url = robot_url(fake, kind)
    fake.now = lambda: (clock.now() + timedelta(hours=1, minutes=1)).timestamp()
    with pytest.raises(ChannelError) as caught:
        channels[kind].send(to(url))
    assert caught.value.permanent and fake.accepted() == []

    fake.now = lambda: (clock.now() + timedelta(minutes=59)).timestamp()
    channels[kind].send(to(url))
    assert len(fake.accepted()) == 1


@pytest.mark.parametrize(
    ("kind", "url", "code"),
    [
        ("wecom", "/cgi-bin/webhook/send?key=removed", 93000),
        ("dingtalk", "/robot/send?access_token=removed", 300001),
        ("feishu", "/open-apis/bot/v2/hook/removed", 19001),
    ],
)
def test_an_unknown_webhook_is_permanent(
    kind: str, url: str, code: int, fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    with pytest.raises(ChannelError) as caught:
        channels[kind].send(to(fake.base_url + url, secret=""))
    assert caught.value.permanent and str(code) in caught.value.reason


@pytest.mark.parametrize(
    ("kind", "answer", "wait"),
    [
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}, 60.0),
        ("dingtalk", {"errcode": 410100, "errmsg": "send too fast"}, 60.0),
        ("dingtalk", {"errcode": 90030, "errmsg": "webhook over limit"}, 600.0),
        ("feishu", {"code": 11232, "msg": "frequency limited", "data": {}}, 60.0),
    ],
)
def test_a_throttle_code_in_an_http_200_is_temporary_with_a_wait(
    kind: str,
    answer: dict[str, Any],
    wait: float,
    fake: FakeRobots,
    channels: dict[str, RobotChannel],
) -> None:
    fake.answer_next(answer)
    with pytest.raises(ChannelError) as caught:
        channels[kind].send(to(robot_url(fake, kind)))

    assert not caught.value.permanent and caught.value.retry_after == wait
    assert fake.arrivals[0].verdict == "ok"  # the request itself was good


@pytest.mark.parametrize("kind", ROBOT_KINDS)
def test_an_unlisted_error_code_is_a_failure_but_temporary(
    kind: str, fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    field = "code" if kind == "feishu" else "errcode"
    fake.answer_next({field: 12345, "msg": "system busy", "errmsg": "system busy"})
    with pytest.raises(ChannelError) as caught:
        channels[kind].send(to(robot_url(fake, kind)))
    assert not caught.value.permanent and caught.value.retry_after is None
    assert "12345" in caught.value.reason


# --- HTTP and the network ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ROBOT_KINDS)
def test_http_errors_and_bodies_that_are_not_json_are_temporary(
    kind: str, fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    url = robot_url(fake, kind)
    fake.answer_next({"error": "oops"}, status=502)
    fake.answer_next(b"<html>gateway</html>")
    fake.answer_next(b"", status=429)
    for expected in ("HTTP 502", "not JSON", "HTTP 429"):
        with pytest.raises(ChannelError) as caught:
            channels[kind].send(to(url))
        assert not caught.value.permanent and expected in caught.value.reason
    assert caught.value.retry_after == 60.0


def test_a_429_with_retry_after_waits_that_long(
    fake: FakeRobots, channels: dict[str, RobotChannel]
) -> None:
    fake.answer_next(b"", status=429, headers={"Retry-After": "7"})
    with pytest.raises(ChannelError) as caught:
        channels["wecom"].send(to(fake.wecom("wk-693a")))
    assert not caught.value.permanent and caught.value.retry_after == 7.0


def test_the_service_down_is_temporary(clock: FrozenClock) -> None:
    with FakeRobots() as gone:
        url = gone.wecom("wk-693a")
    channel = WeComRobot(public_url=PUBLIC, clock=clock, timeout=2.0)
    with pytest.raises(ChannelError) as caught:
        channel.send(to(url))
    assert not caught.value.permanent and "could not connect" in caught.value.reason
    assert "wk-693a" not in caught.value.reason  # the key is a credential: redacted


def test_a_service_that_never_answers_times_out_as_temporary(clock: FrozenClock) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/robot/send?access_token=t"
        channel = DingTalkRobot(public_url=PUBLIC, clock=clock, timeout=0.3)
        with pytest.raises(ChannelError) as caught:
            channel.send(to(url))
    assert not caught.value.permanent and "within 0.3 s" in caught.value.reason


@pytest.mark.parametrize("url", ["", "ftp://robot.example/send", "qyapi.weixin.qq.com/cgi-bin"])
def test_a_destination_that_is_not_a_web_address_is_permanent(
    url: str, channels: dict[str, RobotChannel]
) -> None:
    with pytest.raises(ChannelError) as caught:
        channels["wecom"].send(to(url))
    assert caught.value.permanent


def test_the_twenty_first_message_in_a_minute_waits_without_reaching_the_robot(
    fake: FakeRobots, channels: dict[str, RobotChannel], clock: FrozenClock
) -> None:
    url = fake.wecom("wk-693a")
    for i in range(20):
        channels["wecom"].send(to(url, notification_id=i))
        clock.advance(seconds=1)
    with pytest.raises(ChannelError) as caught:
        channels["wecom"].send(to(url, notification_id=21))
    assert not caught.value.permanent and caught.value.retry_after == 40.0
    assert len(fake.arrivals) == 20

    other = fake.wecom("wk-other")  # another robot has its own minute
    channels["wecom"].send(to(other))
    clock.advance(seconds=40)
    channels["wecom"].send(to(url, notification_id=21))
    assert len(fake.accepted()) == 22


# --- the registry ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ROBOT_KINDS)
def test_each_robot_is_built_by_kind_and_keeps_the_contract(
    kind: str, fake: FakeRobots, clock: FrozenClock
) -> None:
    channel = make_channel(kind, {"public_url": PUBLIC, "clock": clock})
    assert isinstance(channel, Channel) and channel.kind == kind
    assert CHANNELS[kind] is CLASSES[kind]
    assert channel.send(to(robot_url(fake, kind))).external_id == f"{kind}-77"
    assert fake.arrivals[-1].verdict == "ok"
