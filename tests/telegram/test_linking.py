"""Link codes: single use, ten minutes, only a hash stored; groups; the sender lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.channels.telegram import SenderLock
from escalation.models import Destination
from escalation.telegram.linking import (
    current_code_for,
    issue_code,
    link_group,
    redeem,
    telegram_profile,
    unlink,
)
from escalation.telegram.models import TelegramLinkCode
from incidents.clock import FrozenClock
from incidents.db import make_engine, make_sessionmaker
from incidents.errors import ValidationError
from incidents.org import Person
from tests.telegram.conftest import CLI, TOKEN

KEY = "k" * 32


def test_it_stores_only_a_hash_and_shows_the_same_code_while_valid(
    factory: sessionmaker[Session], org: dict[str, Person], clock: FrozenClock
) -> None:
    with factory() as s, s.begin():
        issued = issue_code(s, person_id=org["netsec"].id, now=clock.now(), secret_key=KEY)
        row = s.scalars(select(TelegramLinkCode)).one()
        assert issued.code not in (row.code_hash, row.salt)
        again = current_code_for(s, org["netsec"].id, clock.now(), secret_key=KEY)
        assert again == issued
        assert current_code_for(s, org["netsec"].id, clock.now(), secret_key="other" * 8) is None


def test_it_replaces_an_older_code_with_a_newer_one(
    factory: sessionmaker[Session], org: dict[str, Person], clock: FrozenClock
) -> None:
    with factory() as s, s.begin():
        old = issue_code(s, person_id=org["netsec"].id, now=clock.now(), secret_key=KEY)
        issue_code(s, person_id=org["netsec"].id, now=clock.now(), secret_key=KEY)
        with pytest.raises(ValidationError):
            redeem(s, code=old.code, telegram_user_id=1, chat_id=1, username="", now=clock.now())


def test_it_links_with_a_code_typed_loosely_and_keeps_the_destination_in_step(
    factory: sessionmaker[Session], org: dict[str, Person], clock: FrozenClock
) -> None:
    with factory() as s, s.begin():
        issued = issue_code(s, person_id=org["netsec"].id, now=clock.now(), secret_key=KEY)
        typed = " ".join(issued.code.lower()[i : i + 4] for i in range(0, 12, 4))
        redeem(s, code=typed, telegram_user_id=9, chat_id=9, username="w", now=clock.now())
        dest = s.scalars(select(Destination).where(Destination.kind == "telegram")).one()
        assert (dest.person_id, dest.address, dest.enabled) == (org["netsec"].id, "9", True)
        unlink(s, person_id=org["netsec"].id, actor=CLI, now=clock.now())
        assert not dest.enabled


def test_it_issues_a_code_on_the_profile_page_only_when_telegram_is_on(
    factory: sessionmaker[Session], org: dict[str, Person], clock: FrozenClock
) -> None:
    with factory() as s, s.begin():
        off = telegram_profile(
            s, person_id=org["duty"].id, now=clock.now(), secret_key=KEY, enabled=False
        )
        on = telegram_profile(
            s, person_id=org["duty"].id, now=clock.now(), secret_key=KEY, enabled=True
        )
    assert off.code is None and on.code is not None and not on.linked
    assert on.code.expires_at == clock.now() + timedelta(minutes=10)


def test_it_links_a_group_to_a_role_or_a_department_but_not_both(
    factory: sessionmaker[Session], org: dict[str, Person], clock: FrozenClock
) -> None:
    with factory() as s, s.begin():
        group = link_group(
            s, chat_id=-1001, role="leading_group_member", actor=CLI, now=clock.now()
        )
        assert group.role == "leading_group_member"
        with pytest.raises(ValidationError):
            link_group(
                s, chat_id=-1002, role="director", department_code="cc", actor=CLI, now=clock.now()
            )
        with pytest.raises(ValidationError):
            link_group(s, chat_id=-1003, role="no_such_role", actor=CLI, now=clock.now())


@pytest.mark.postgres
def test_it_lets_one_process_send_per_bot_token_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    factory = make_sessionmaker(engine)
    first, second = SenderLock(factory, TOKEN), SenderLock(factory, TOKEN)
    other_bot = SenderLock(factory, "999:other")
    try:
        assert first.acquire() and not second.acquire() and other_bot.acquire()
        first.release()
        assert second.acquire()
    finally:
        for lock in (first, second, other_bot):
            lock.release()
        engine.dispose()
