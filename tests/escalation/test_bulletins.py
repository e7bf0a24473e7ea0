"""Bulletins: notices about no incident — a new Telegram link told on the person's other
channels, and the worker's audit duty (checkpoints at an interval, the daily message)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from config.audit_key import AuditKey, Keyring
from config.policy import OutboxPolicy
from escalation.audit_watch import CheckpointDuty
from escalation.bulletins import deliver_bulletins
from escalation.channels.base import ChannelError, OutgoingMessage, Receipt
from escalation.models import Bulletin, Destination
from escalation.telegram.link_codes import issue_code, redeem
from incidents.audit import AuditEvent, keyring_for
from incidents.audit_checkpoints import read_checkpoints
from incidents.org import Person
from tests.conftest import T0

SECRET = "s" * 32
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Recorder:
    """A channel that keeps what it is given (or refuses, ``fail`` times)."""

    kind: str
    sent: list[OutgoingMessage] = field(default_factory=list)
    fail: int = 0

    def send(self, message: OutgoingMessage) -> Receipt:
        if self.fail:
            self.fail -= 1
            raise ChannelError("far end down")
        self.sent.append(message)
        return Receipt(f"{self.kind}-{len(self.sent)}")


def _destination(session: Session, person: Person, kind: str, address: str) -> None:
    session.add(
        Destination(
            person_id=person.id,
            kind=kind,
            address=address,
            label=kind,
            enabled=True,
            created_at=T0,
            updated_at=T0,
        )
    )


def _link(factory: sessionmaker[Session], person: Person, user_id: int, minutes: int) -> None:
    now = T0 + timedelta(minutes=minutes)
    with factory() as s, s.begin():
        code = issue_code(s, person_id=person.id, now=now, secret_key=SECRET).code
    with factory() as s, s.begin():
        redeem(s, code=code, telegram_user_id=user_id, chat_id=user_id, username="u", now=now)


def test_a_new_telegram_account_is_told_on_every_other_channel(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    director = org["director"]
    with factory() as s, s.begin():
        _destination(s, director, "email", "director@example.gov.cn")
    _link(factory, director, 5001, 0)  # the director's own first link
    _link(factory, director, 6666, 5)  # then someone else's account, with a fresh code
    email, telegram = Recorder("email"), Recorder("telegram")
    channels = {"email": email, "telegram": telegram, "inbox": Recorder("inbox")}
    done = deliver_bulletins(
        factory, now=T0 + timedelta(minutes=6), channels=channels, policy=OutboxPolicy()
    )
    # The first link told the email address; the second told the email and the old chat,
    # never the new account itself.
    assert done.sent == 3
    assert [m.destination_address for m in telegram.sent] == ["5001"]
    assert len(email.sent) == 2 and all(
        "6666" in m.text_zh or "5001" in m.text_zh for m in email.sent
    )
    assert "6666" in telegram.sent[0].text_zh and "解除绑定" in telegram.sent[0].text_zh
    assert telegram.sent[0].kind == "bulletin" and telegram.sent[0].link_path == "/profile"
    with factory() as s:
        event = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind == "telegram.linked")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and json.loads(event.data)["told_elsewhere"] == 2


def test_a_relink_of_the_same_account_tells_nobody(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    duty = org["duty"]
    with factory() as s, s.begin():
        _destination(s, duty, "email", "duty@example.gov.cn")
    _link(factory, duty, 7001, 0)
    _link(factory, duty, 7001, 5)
    with factory() as s:
        assert s.scalar(select(text("count(*)")).select_from(Bulletin)) == 1


def test_delivery_retries_then_gives_up_and_never_sends_twice(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        _destination(s, org["hr"], "email", "hr@example.gov.cn")
    _link(factory, org["hr"], 8001, 0)
    email = Recorder("email", fail=1)
    policy = OutboxPolicy(max_attempts=2, backoff_base=timedelta(seconds=30))
    first = deliver_bulletins(factory, now=T0, channels={"email": email}, policy=policy)
    assert (first.sent, first.retried) == (0, 1)
    # Not due again before the backoff; then sent once, and never again.
    assert (
        deliver_bulletins(
            factory, now=T0 + timedelta(seconds=10), channels={"email": email}, policy=policy
        ).sent
        == 0
    )
    assert (
        deliver_bulletins(
            factory, now=T0 + timedelta(seconds=31), channels={"email": email}, policy=policy
        ).sent
        == 1
    )
    assert (
        deliver_bulletins(
            factory, now=T0 + timedelta(hours=1), channels={"email": email}, policy=policy
        ).sent
        == 0
    )
    assert len(email.sent) == 1


def _duty(tmp_path: Path, factory: sessionmaker[Session]) -> CheckpointDuty:
    with factory() as s:
        keys: Keyring = keyring_for(s)
    assert isinstance(keys.current, AuditKey)
    return CheckpointDuty(
        path=tmp_path / "checkpoints.log",
        keyring=keys,
        tz=SHANGHAI,
        every=timedelta(hours=1),
    )


def test_the_worker_writes_checkpoints_at_its_interval(
    factory: sessionmaker[Session], org: dict[str, Person], tmp_path: Path
) -> None:
    duty = _duty(tmp_path, factory)
    start = T0.replace(hour=20)  # 04:00 next day in Shanghai: before the daily message
    assert duty.run(factory, start).written is not None
    assert duty.run(factory, start + timedelta(minutes=30)).written is None
    assert duty.run(factory, start + timedelta(minutes=61)).written is not None
    lines = read_checkpoints(duty.path, duty.keyring)
    assert len(lines) == 2 and lines[-1].seq >= 1


def test_the_daily_message_reaches_the_leading_group_office_once(
    factory: sessionmaker[Session], org: dict[str, Person], tmp_path: Path
) -> None:
    office = org["lgoffice"]
    with factory() as s, s.begin():
        _destination(s, office, "email", "lgo@example.gov.cn")
    duty = _duty(tmp_path, factory)
    morning = T0.replace(hour=0, minute=5)  # 08:05 in Shanghai
    assert morning.astimezone(SHANGHAI).hour == 8
    outcome = duty.run(factory, morning)
    assert outcome.told == 1 and outcome.written is not None
    # Another worker, or a restart, the same day: not told again.
    assert _duty(tmp_path, factory).run(factory, morning + timedelta(hours=2)).told == 0
    email = Recorder("email")
    deliver_bulletins(factory, now=morning, channels={"email": email}, policy=OutboxPolicy())
    (message,) = email.sent
    assert message.destination_address == "lgo@example.gov.cn"
    assert f"哈希：{outcome.written.hash}" in message.text_zh
    assert f"事件序号：{outcome.written.seq}" in message.text_zh


def test_a_group_destination_is_preferred_and_a_broken_chain_is_reported(
    factory: sessionmaker[Session], org: dict[str, Person], tmp_path: Path
) -> None:
    with factory() as s, s.begin():
        s.add(
            Destination(
                person_id=None,
                kind="wecom",
                address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                label="leading_group_office",
                enabled=True,
                created_at=T0,
                updated_at=T0,
            )
        )
    duty = _duty(tmp_path, factory)
    night = T0.replace(hour=20)
    assert duty.run(factory, night).written is not None
    # Someone cuts the newest event: the chain no longer reaches the checkpoint.
    with factory() as s, s.begin():
        newest = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        s.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        s.execute(delete(AuditEvent).where(AuditEvent.id == newest))
    morning = night + timedelta(hours=4, minutes=10)  # 08:10 in Shanghai
    outcome = duty.run(factory, morning)
    assert outcome.broken and outcome.written is None
    wecom = Recorder("wecom")
    deliver_bulletins(factory, now=morning, channels={"wecom": wecom}, policy=OutboxPolicy())
    (message,) = wecom.sent
    assert "审计链校验未通过" in message.text_zh
    assert message.destination_address.startswith("https://qyapi")


def test_the_daily_time_and_group_are_checked_naming_the_variable(tmp_path: Path) -> None:
    import pytest

    from config.settings import ConfigError, load_settings

    base = {"FENGHUO_INSTANCE_PATH": str(tmp_path)}
    settings = load_settings({**base, "FENGHUO_AUDIT_DAILY_AT": "07:30"})
    assert (settings.audit_daily_at.hour, settings.audit_daily_at.minute) == (7, 30)
    assert settings.audit_daily_group == "leading_group_office"
    with pytest.raises(ConfigError, match="FENGHUO_AUDIT_DAILY_AT"):
        load_settings({**base, "FENGHUO_AUDIT_DAILY_AT": "25:99"})
    with pytest.raises(ConfigError, match="FENGHUO_AUDIT_DAILY_GROUP"):
        load_settings({**base, "FENGHUO_AUDIT_DAILY_GROUP": "no spaces allowed"})
    with pytest.raises(ConfigError, match="FENGHUO_AUDIT_CHECKPOINT_MINUTES"):
        load_settings({**base, "FENGHUO_AUDIT_CHECKPOINT_MINUTES": "-1"})
