"""The bot's refusals in the person's language (issue 14), through the fake Bot API.

Every error path of the bot — a stranger (not linked), a linked person without the right,
a bad or missing command argument, a code that does not link, a domain error from the use
case — answered to a person whose language is zh_CN and to one whose language is English.
A reply fails on English that the catalogues translate (the app's, and the bot's own
``escalation.telegram.texts``) when the reader reads Chinese, and on their Chinese when
the reader reads English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.i18n import error_text
from escalation.telegram.actions import BotActions
from escalation.telegram.bot import PollingBot, build_application
from escalation.telegram.texts import TEXTS
from incidents.clock import FrozenClock
from incidents.errors import Forbidden
from incidents.models import Incident
from incidents.org import Person
from tests.escalation.support import DEFAULT_POLICY, open_
from tests.fakes.telegram import FakeTelegram
from tests.telegram.conftest import PUBLIC_URL, TOKEN, link
from tests.web.words import CJK, leaks

STRANGER = 4343
TAG = re.compile(r"<[^>]+>|\{\w+\}")


def _bot_words(language: str) -> set[str]:
    """Fragments of the bot's own sentences in ``language`` that are telling: English ones
    of two words and 12 characters or more, Chinese ones of four characters or more."""
    found = set()
    for sentence in TEXTS[language].values():
        for part in TAG.split(sentence):
            part = part.strip(" .,:;()—-·\n。，：；（）、")
            if language == "en" and len(part) >= 12 and len(part.split()) >= 2:
                found.add(part)
            if language == "zh_CN" and len(CJK.findall(part)) >= 4:
                found.add(part)
    return found


def wrong_language(text: str, language: str) -> list[str]:
    other = _bot_words("en" if language == "zh_CN" else "zh_CN")
    return leaks(text, language) + sorted(w for w in other if w in text)


@pytest.fixture
def bot(
    factory: sessionmaker[Session], clock: FrozenClock, fake: FakeTelegram
) -> Iterator[PollingBot]:
    actions = BotActions(
        factory,
        public_url=PUBLIC_URL,
        tz=DEFAULT_POLICY.tz,
        redact_titles=False,
        explain=error_text,  # as `fenghuo bot` and the webhook route pass it
    )
    running = PollingBot(
        build_application(token=TOKEN, api_url=fake.base_url, actions=actions, clock=clock)
    )
    running.start()
    yield running
    running.stop()


class Chat:
    """One person's private chat with the bot: send a command, read the reply."""

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        self.fake, self.user_id, self.count = fake, user_id, 0

    def say(self, text: str) -> str:
        self.fake.send_user_message(self.user_id, text)
        self.count += 1
        sent = self.fake.wait_for(lambda: self.fake.messages_in(self.user_id)[self.count - 1 :])
        return sent[0].text or ""

    def press(self, data: str) -> str:
        message = self.fake.send_user_message(self.user_id, "hello")["message"]
        query = self.fake.press_button(self.user_id, message, data)
        [answer] = self.fake.wait_for(
            lambda: [a for a in self.fake.callback_answers if a.callback_query_id == query],
        )
        if self.fake.messages_in(self.user_id)[self.count :]:
            self.count = len(self.fake.messages_in(self.user_id))  # "hello" got the help
        return answer.text or ""


def _speak(factory: sessionmaker[Session], language: str) -> None:
    with factory() as s, s.begin():
        s.execute(update(Person).values(language=language))


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_refusal_of_the_bot_is_in_the_persons_language(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    clock: FrozenClock,
    fake: FakeTelegram,
    bot: PollingBot,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _speak(factory, language)
    incident_id = open_(factory, org, "major", at=clock.now())
    with factory() as s:
        number = s.scalars(select(Incident.number).where(Incident.id == incident_id)).one()
    staff = Chat(fake, link(factory, "trafstaff", clock.now()))
    duty = Chat(fake, link(factory, "duty", clock.now()))
    replies = {
        "no right": staff.say(f"/ack {number}"),
        "no argument": staff.say("/ack"),
        "bad argument": staff.say("/status FH-nonsense"),
        "no such incident": staff.say("/status 99999"),
        "not an administrator": staff.say("/linkgroup role duty_officer"),
        "a stale button": staff.press("v1:ack:99999"),
        "a button without the right": staff.press(f"v1:ack:{incident_id}"),
    }

    def refused(
        session: Session, *, incident_id: int, actor: object, now: datetime
    ) -> None:  # the guard refusing under a race the bot's own check cannot see
        raise Forbidden(
            "only someone in the incident's responsibility chain may do that",
            code="only_someone_incident_responsibility",
        )

    monkeypatch.setattr("escalation.response.acknowledge", refused)
    replies["a domain error"] = duty.say(f"/ack {number}")
    if language == "zh_CN":
        # Strangers read Chinese unless Telegram says their app is in English (the fake
        # sends no language_code).
        stranger = Chat(fake, STRANGER)
        replies["a stranger's command"] = stranger.say("/incidents")
        replies["a stranger's link code"] = stranger.say("/start nonsense")
        replies["a stranger's button"] = stranger.press(f"v1:ack:{incident_id}")
    assert all(replies.values()), replies
    wrong = [
        f"{what}: {w!r} in {text!r}"
        for what, text in replies.items()
        for w in wrong_language(text, language)
    ]
    assert not wrong, "\n".join(wrong)
    expected = {"zh_CN": "只有事件责任链上的人员可以执行此操作", "en": "only someone in the"}
    assert expected[language] in replies["a domain error"]
