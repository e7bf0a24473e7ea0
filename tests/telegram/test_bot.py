"""The bot, polling the fake server: linking with /start, commands, refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.telegram.bot import PollingBot
from escalation.telegram.linking import issue_code, linked_person
from escalation.telegram.models import TelegramLink
from incidents.audit import AuditEvent
from incidents.clock import FrozenClock
from incidents.models import Incident
from incidents.org import Person
from tests.escalation.support import open_
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import USER_IDS, link

SECRET = "s" * 32
STRANGER = 4242


def reply_to(fake: FakeTelegram, chat_id: int, count: int = 1) -> str:
    sent = fake.wait_for(lambda: fake.messages_in(chat_id)[count - 1 :])
    return sent[0].text


def audit_count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def code_for(factory: sessionmaker[Session], person: Person, clock: FrozenClock) -> str:
    with factory() as s, s.begin():
        return issue_code(s, person_id=person.id, now=clock.now(), secret_key=SECRET).code


def test_it_links_a_person_who_sends_start_with_their_code(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    code = code_for(factory, org["netsec"], clock)
    start_bot(factory, clock)
    fake.send_user_message(7007, f"/start {code}", username="wang")
    assert "王志强" in reply_to(fake, 7007)
    with factory() as s:
        person = linked_person(s, 7007)
        assert person is not None and person.login == "netsec"


def test_it_refuses_a_used_code(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    code = code_for(factory, org["netsec"], clock)
    start_bot(factory, clock)
    fake.send_user_message(7007, f"/start {code}")
    reply_to(fake, 7007)
    fake.send_user_message(STRANGER, f"/start {code}")
    assert "无效" in reply_to(fake, STRANGER)
    with factory() as s:
        assert linked_person(s, STRANGER) is None


def test_it_refuses_an_expired_code(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    code = code_for(factory, org["netsec"], clock)
    clock.advance(timedelta(minutes=10, seconds=1))
    start_bot(factory, clock)
    fake.send_user_message(STRANGER, f"/start {code}")
    assert "过期" in reply_to(fake, STRANGER)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(TelegramLink)) == 0


def assert_nothing_changed(
    factory: sessionmaker[Session], incident_id: int, *, audit_before: int
) -> None:
    """A refused press or command leaves the incident unacknowledged and the log as it was."""
    with factory() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None and incident.acknowledged_at is None
    assert audit_count(factory) == audit_before


def test_it_refuses_a_press_from_an_unlinked_user_and_changes_nothing(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    incident_id = open_(factory, org, "major", at=clock.now())
    message = fake.send_user_message(STRANGER, "hello")["message"]
    before = audit_count(factory)
    start_bot(factory, clock)
    query = fake.press_button(STRANGER, message, f"v1:ack:{incident_id}")
    [answer] = fake.wait_for(
        lambda: [a for a in fake.callback_answers if a.callback_query_id == query]
    )
    assert answer.show_alert and "未关联" in (answer.text or "")
    assert_nothing_changed(factory, incident_id, audit_before=before)


def test_it_refuses_ack_from_a_linked_person_without_the_right(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    incident_id = open_(factory, org, "major", at=clock.now())
    link(factory, "trafstaff", clock.now())
    with factory() as s:
        number = s.get(Incident, incident_id).number  # type: ignore[union-attr]
    before = audit_count(factory)
    start_bot(factory, clock)
    fake.send_user_message(USER_IDS["trafstaff"], f"/ack {number}")
    assert "无权" in reply_to(fake, USER_IDS["trafstaff"])
    assert_nothing_changed(factory, incident_id, audit_before=before)


def test_it_refuses_commands_from_unlinked_users(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    open_(factory, org, "major", at=clock.now())
    start_bot(factory, clock)
    fake.send_user_message(STRANGER, "/incidents")
    assert "未关联" in reply_to(fake, STRANGER)
    fake.send_user_message(STRANGER, "/ack 1")
    assert "未关联" in reply_to(fake, STRANGER, 2)


def test_it_acknowledges_with_the_ack_command(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    incident_id = open_(factory, org, "major", at=clock.now())
    link(factory, "cchead", clock.now())
    start_bot(factory, clock)
    fake.send_user_message(USER_IDS["cchead"], "/ack 1")
    assert "已确认" in reply_to(fake, USER_IDS["cchead"])
    fake.send_user_message(USER_IDS["cchead"], "/ack 1")
    assert "李建国" in reply_to(fake, USER_IDS["cchead"], 2)  # already, by whom
    with factory() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None and incident.acknowledged_by_id == org["cchead"].id


def test_it_lists_the_open_incidents_and_the_status_of_one(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    open_(factory, org, "major", at=clock.now())
    link(factory, "director", clock.now())
    start_bot(factory, clock)
    user = USER_IDS["director"]
    fake.send_user_message(user, "/incidents")
    listing = reply_to(fake, user)
    assert "FH-2026-0001" in listing and "门户网站被篡改" in listing
    fake.send_user_message(user, "/status FH-2026-0001")
    status = reply_to(fake, user, 2)
    assert "尚未确认" in status and "/incidents/" in status


def test_it_hides_incidents_the_person_may_not_see(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    open_(factory, org, "major", at=clock.now(), department="finance")
    link(factory, "trafstaff", clock.now())
    start_bot(factory, clock)
    fake.send_user_message(USER_IDS["trafstaff"], "/status 1")
    assert "没有找到" in reply_to(fake, USER_IDS["trafstaff"])
