"""/duty and /handoff through the fake Bot API: who is on duty now, and 交接班."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.handoff_watch import HandoffDuty
from escalation.handoffs import DutyHandoff
from escalation.telegram.bot import COMMANDS, PollingBot
from incidents import rosters
from incidents.audit import AuditEvent
from incidents.clock import FrozenClock
from incidents.org import ROLES, Person
from incidents.responsibility import holders
from tests.escalation.support import DEFAULT_POLICY, HANDOFF, rotate_duty
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import link
from tests.telegram.test_bot import reply_to

STRANGER = 4242


def set_up_roster(factory: sessionmaker[Session], org: dict[str, Person]) -> None:
    with factory() as s, s.begin():
        rotate_duty(s, org["duty"].id, org["trafstaff"].id)


def fallback(factory: sessionmaker[Session], role: str, lang: int) -> tuple[str, str]:
    """The name (0: Chinese, 1: English) of ``role``'s fallback position, and its holders."""
    position = rosters.FALLBACK_POSITION[role]
    with factory() as s:
        names = "、".join(p.name for _pos, p in holders(s, position, HANDOFF))
    return ROLES[position][lang], names


def test_duty_lists_who_is_on_duty_now_and_the_fallbacks(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    set_up_roster(factory, org)  # the clock is at 09:00 CST on 27 November
    user = link(factory, "cchead", clock.now())
    start_bot(factory, clock)
    fake.send_user_message(user, "/duty")
    lines = reply_to(fake, user).splitlines()
    assert lines[0] == "<b>当前值班</b>(09:00)"
    # 钱进 holds the duty officer shift from 08:30 today to 08:30 tomorrow.
    assert lines[1] == "值班员:钱进,至 11-28 08:30"
    # No rosters for the other roles: their fallback positions' holders answer.
    position, names = fallback(factory, "duty_leader", 0)
    assert names and lines[2] == f"带班领导:未设值班表,由{position}承担:{names}"
    position, names = fallback(factory, "technical_oncall", 0)
    assert names and lines[3] == f"技术值班:未设值班表,由{position}承担:{names}"


def test_duty_answers_in_the_linked_persons_language(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    set_up_roster(factory, org)
    with factory() as s, s.begin():
        s.get_one(Person, org["director"].id).language = "en"
    user = link(factory, "director", clock.now())
    start_bot(factory, clock)
    fake.send_user_message(user, "/duty")
    body = reply_to(fake, user)
    assert "<b>On duty now</b> (09:00)" in body
    assert "Duty officer: 钱进, until 11-28 08:30" in body
    position, names = fallback(factory, "duty_leader", 1)
    assert f"Leader on duty: no roster; the {position} answers: {names}" in body


def test_duty_and_handoff_refuse_an_unlinked_account(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    set_up_roster(factory, org)
    start_bot(factory, clock)
    fake.send_user_message(STRANGER, "/duty")
    assert "未关联" in reply_to(fake, STRANGER)
    fake.send_user_message(STRANGER, "/handoff")
    assert "未关联" in reply_to(fake, STRANGER, 2)
    assert "钱进" not in reply_to(fake, STRANGER)


def test_handoff_acknowledges_once_and_says_who_did_it_first(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    set_up_roster(factory, org)
    outgoing = link(factory, "duty", clock.now())
    incoming = link(factory, "trafstaff", clock.now())
    handoff_id = HandoffDuty(tz=DEFAULT_POLICY.tz).run(factory, HANDOFF).handoff_id
    assert handoff_id is not None
    start_bot(factory, clock)

    fake.send_user_message(outgoing, "/handoff")
    assert reply_to(fake, outgoing) == "已确认交接班:张晓明 → 钱进(08:30)。"
    with factory() as s:
        handoff = s.get_one(DutyHandoff, handoff_id)
        assert handoff.acknowledged_by_id == org["duty"].id
        assert handoff.acknowledged_via == "telegram"
        assert handoff.acknowledged_at == clock.now()
        [event] = s.scalars(
            select(AuditEvent).where(AuditEvent.kind == "handoff.acknowledged")
        ).all()
        assert event.source == "telegram" and json.loads(event.data)["by"] == org["duty"].id

    clock.advance(timedelta(minutes=2))
    fake.send_user_message(incoming, "/handoff")
    assert reply_to(fake, incoming) == "08:30 的交接班已由 张晓明 于 09:00 确认。"
    with factory() as s:
        assert s.get_one(DutyHandoff, handoff_id).acknowledged_by_id == org["duty"].id


def test_handoff_without_one_says_so(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    user = link(factory, "netsec", clock.now())
    start_bot(factory, clock)
    fake.send_user_message(user, "/handoff")
    assert reply_to(fake, user) == "没有需要您确认的交接班。"


def test_the_command_list_and_help_name_duty_and_handoff(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    start_bot: Callable[..., PollingBot],
) -> None:
    user = link(factory, "duty", clock.now())
    start_bot(factory, clock)
    fake.send_user_message(user, "/help")
    body = reply_to(fake, user)
    assert "/duty" in body and "/handoff" in body
    # The lists set at start-up (setMyCommands), one per language.
    for commands in COMMANDS.values():
        names = [name for name, _description in commands]
        assert "duty" in names and "handoff" in names
