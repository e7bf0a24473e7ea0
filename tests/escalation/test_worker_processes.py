"""Worker processes on PostgreSQL: four side by side, one killed mid-delivery, and four
sending a burst to the fake Bot API while the one holding the bot is SIGKILLed.

These run real ``python -m escalation.worker`` processes on the wall clock, so the
incidents are opened at the real time (a ``SystemClock``) and the tests wait for the
database to show the work done, for as long as it keeps moving (``tests.waiting``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import DEFAULT_POLICY_PATH
from escalation.channels.telegram import TelegramChannel
from escalation.destinations import add_destination
from escalation.models import DeliveryAttempt, Destination, EscalationChain, Notification, Timer
from escalation.outbox import LEASE_MARGIN
from incidents.audit import AuditEvent, system_actor
from incidents.clock import SystemClock
from incidents.db import make_engine, make_sessionmaker
from tests.conftest import load_demo_org
from tests.escalation.support import open_
from tests.escalation.test_worker import worker_process
from tests.fakes.telegram import FakeTelegram
from tests.waiting import STALL_SECONDS, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMERS = 5000
INCIDENTS = 20


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def short_lease_policy(tmp_path: Path, lease: str = "PT2S") -> Path:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^lease = "[^"]*"', f'lease = "{lease}"', text)
    text = re.sub(r'(?m)^backoff_base = "[^"]*"', 'backoff_base = "PT1S"', text)
    assert f'lease = "{lease}"' in text
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def stop(procs: list[subprocess.Popen[bytes]]) -> list[int | None]:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    codes: list[int | None] = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=STALL_SECONDS))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(None)
    return codes


def test_four_workers_page_each_timer_once_per_person_and_channel(
    pg_url: str, pg_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    org = load_demo_org(pg_factory)
    now = SystemClock().now()
    incidents = [open_(pg_factory, org, "general", at=now) for _ in range(INCIDENTS)]
    with pg_factory() as s:
        chains = dict(s.execute(select(EscalationChain.incident_id, EscalationChain.id)).all())
    record = tmp_path / "sent.txt"
    logs = [tmp_path / f"worker{i}.log" for i in range(4)]
    procs = [
        worker_process(
            pg_url,
            "--channels",
            "",
            "--channel-factory",
            "tests.escalation.support:process_channels",
            env={"FENGHUO_TEST_RECORD": str(record), "FENGHUO_TEST_RECORD_ONLY": "1"},
            log=log,
        )
        for log in logs
    ]
    try:
        wait_for(
            lambda: all(b"started" in log.read_bytes() for log in logs),
            "four workers to start",
            progress=lambda: sum(b"started" in log.read_bytes() for log in logs),
        )
        # 5,000 extra pages of the general chain's first step (duty officer and command
        # center head), all due a second ago, spread over the incidents.
        due = now - timedelta(seconds=1)
        rows = [
            {
                "incident_id": incidents[i % INCIDENTS],
                "kind": "step",
                "due_at": due,
                "status": "pending",
                "chain_id": chains[incidents[i % INCIDENTS]],
                "step_index": 0,
                "repeat_index": 1000 + i,
                "until": "acknowledged",
                "cancel_reason": "",
                "note": "load",
                "created_at": now,
            }
            for i in range(TIMERS)
        ]
        with pg_factory() as s, s.begin():
            s.execute(insert(Timer), rows)
        # Two people each, plus at open the two pages and the leader on duty's inform.
        expected = 2 * TIMERS + 3 * INCIDENTS

        def sent() -> int | None:
            with pg_factory() as s:
                return s.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status == "sent")
                )

        wait_for(lambda: sent() == expected, "every notification to be delivered", progress=sent)
    finally:
        codes = stop(procs)
    assert codes == [0, 0, 0, 0]
    with pg_factory() as s:
        load = s.scalars(select(Timer.id).where(Timer.note == "load")).all()
        fired_statuses = set(s.scalars(select(Timer.status).where(Timer.note == "load")))
        per_timer = Counter(
            s.scalars(select(Notification.timer_id).where(Notification.timer_id.in_(load)))
        )
        events = s.scalars(
            select(AuditEvent.data).where(AuditEvent.kind == "escalation.fired")
        ).all()
        workers = set(s.scalars(select(DeliveryAttempt.worker_id)))
        attempts = Counter(s.scalars(select(DeliveryAttempt.notification_id)))
    # Every timer fired, by exactly one sweep (the audit names each firing once) …
    assert fired_statuses == {"fired"}
    fired = Counter(
        t["timer"] for e in events for t in json.loads(e)["timers"] if t["timer"] in set(load)
    )
    assert len(fired) == TIMERS and set(fired.values()) == {1}
    # … with exactly one notification per (timer, person, channel) …
    assert len(per_timer) == TIMERS and set(per_timer.values()) == {2}
    # … each handed to the channel once, by whichever worker claimed it.
    handed = Counter(line.split()[0] for line in record.read_text().splitlines())
    assert len(handed) == expected and set(handed.values()) == {1}
    assert set(attempts.values()) == {1}
    assert len(workers) >= 2, "the work was shared between the workers"


def test_a_worker_killed_mid_delivery_loses_nothing(
    pg_url: str, pg_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    org = load_demo_org(pg_factory)
    incident_id = open_(pg_factory, org, "major", at=SystemClock().now())
    policy = short_lease_policy(tmp_path)
    marker = tmp_path / "sending.txt"
    doomed = worker_process(
        pg_url,
        "--policy",
        str(policy),
        "--channels",
        "",
        "--channel-factory",
        "tests.escalation.support:process_channels",
        env={"FENGHUO_TEST_BLOCK": str(marker)},
    )
    try:
        wait_for(marker.exists, "the first worker to start sending")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=STALL_SECONDS)
    record = tmp_path / "sent.txt"
    heir = worker_process(
        pg_url,
        "--policy",
        str(policy),
        "--channels",
        "",
        "--channel-factory",
        "tests.escalation.support:process_channels",
        env={"FENGHUO_TEST_RECORD": str(record)},
    )
    try:

        def statuses() -> list[str]:
            with pg_factory() as s:
                return sorted(
                    s.scalars(
                        select(Notification.status).where(Notification.incident_id == incident_id)
                    )
                )

        wait_for(
            lambda: statuses() == ["sent"] * 3,
            "the second worker to deliver everything",
            progress=statuses,
        )
    finally:
        assert stop([heir]) == [0]
    stuck = int(marker.read_text().split()[0])
    with pg_factory() as s:
        history = s.execute(
            select(DeliveryAttempt.outcome, DeliveryAttempt.worker_id)
            .where(DeliveryAttempt.notification_id == stuck)
            .order_by(DeliveryAttempt.number)
        ).all()
    assert [outcome for outcome, _ in history] == ["lease_expired", "sent"]
    assert history[0][1] != history[1][1]
    assert str(stuck) in record.read_text().split()
    assert os.path.getsize(record) > 0


BURST_TIMERS = 12
TOKEN = "123456:TEST-token"


def test_four_workers_lose_nothing_when_the_telegram_sender_is_killed_mid_burst(
    pg_url: str, pg_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Nothing lost, at most the killed sender's batch in flight received twice, and its
    rows re-delivered within the lease plus one sweep (issue 9, point 5)."""
    org = load_demo_org(pg_factory)
    clock = SystemClock()
    incident_id = open_(pg_factory, org, "general", at=clock.now())
    people = sorted(org.values(), key=lambda p: p.id)
    chats = {p.id: 3000 + i for i, p in enumerate(people)}
    with pg_factory() as s, s.begin():
        for p in people:
            add_destination(
                s,
                person_id=p.id,
                kind="telegram",
                address=str(chats[p.id]),
                actor=system_actor("cli"),
                now=clock.now(),
            )
    policy = short_lease_policy(tmp_path, lease="PT3S")
    timeout = 2.0
    lease = max(3.0, timeout + LEASE_MARGIN.total_seconds())  # outbox.lease_for
    sweep_seconds = 0.5
    with FakeTelegram(token=TOKEN) as fake:
        env = {
            "FENGHUO_TEST_TELEGRAM_URL": fake.base_url,
            "FENGHUO_TEST_TELEGRAM_TOKEN": TOKEN,
            "FENGHUO_TEST_TELEGRAM_TIMEOUT": str(timeout),
        }
        logs = [tmp_path / f"worker{i}.log" for i in range(4)]
        procs = {
            f"w{i}": worker_process(
                pg_url,
                "--policy",
                str(policy),
                "--channels",
                "",
                "--channel-factory",
                "tests.escalation.process_telegram:telegram_channels",
                "--worker-id",
                f"w{i}",
                env=env,
                log=logs[i],
            )
            for i in range(4)
        }
        try:
            wait_for(
                lambda: all(b"started" in log.read_bytes() for log in logs),
                "workers to start",
                progress=lambda: sum(b"started" in log.read_bytes() for log in logs),
            )
            now = clock.now()
            with pg_factory() as s, s.begin():
                timers = [
                    Timer(
                        incident_id=incident_id,
                        kind="notice",
                        notice="burst",
                        due_at=now,
                        status="fired",
                        fired_at=now,
                        cancel_reason="",
                        note="burst",
                        created_at=now,
                    )
                    for _ in range(BURST_TIMERS)
                ]
                s.add_all(timers)
                s.flush()
                dests = dict(
                    s.execute(
                        select(Destination.person_id, Destination.id).where(
                            Destination.kind == "telegram"
                        )
                    ).all()
                )
                s.execute(
                    insert(Notification),
                    [
                        {
                            "incident_id": incident_id,
                            "timer_id": t.id,
                            "person_id": p.id,
                            "channel": "telegram",
                            "destination_id": dests[p.id],
                            "kind": "step",
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "last_error": "",
                            "payload_json": json.dumps({"number": f"FH-{t.id}"}),
                            "text_zh": "演练",
                            "text_en": "drill",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for t in timers
                        for p in people
                    ],
                )
            total = BURST_TIMERS * len(people)
            wait_for(
                lambda: len(fake.sent) >= total // 4,
                "the burst to be under way",
                progress=lambda: len(fake.sent),
            )

            def sender_mid_claim() -> str | None:
                """The worker with Telegram rows claimed and not written back."""
                with pg_factory() as s:
                    return s.scalars(
                        select(DeliveryAttempt.worker_id)
                        .join(Notification, Notification.id == DeliveryAttempt.notification_id)
                        .where(
                            Notification.channel == "telegram",
                            DeliveryAttempt.outcome == "sending",
                        )
                        .limit(1)
                    ).first()

            found: list[str] = []

            def sender_caught() -> bool:
                worker = sender_mid_claim()
                if worker is not None:
                    found.append(worker)
                return worker is not None

            wait_for(
                sender_caught, "the sender to hold claimed rows", progress=lambda: len(fake.sent)
            )
            sender = found[0]
            killed_at = clock.now()
            procs[sender].send_signal(signal.SIGKILL)
            procs[sender].wait(timeout=STALL_SECONDS)
            assert len(fake.sent) < total, "killed mid-burst"

            def left() -> int | None:
                with pg_factory() as s:
                    return s.scalar(
                        select(func.count())
                        .select_from(Notification)
                        .where(Notification.channel == "telegram", Notification.status != "sent")
                    )

            wait_for(
                lambda: left() == 0,
                "every Telegram notification to be delivered",
                progress=lambda: (left(), len(fake.sent)),
            )
        finally:
            survivors = [p for name, p in procs.items() if p.poll() is None]
            codes = stop(survivors)
        received = Counter(m.chat_id for m in fake.sent)
    assert codes == [0, 0, 0]
    # Nothing lost: every chat has every notice …
    for p in people:
        assert received[chats[p.id]] >= BURST_TIMERS, p.login
    # … and at most the messages the killed sender had in flight came twice: its
    # batch, sent concurrently (one message per chat at a time).
    assert sum(received.values()) - total <= TelegramChannel.batch_size
    with pg_factory() as s:
        lapsed = dict(
            s.execute(
                select(DeliveryAttempt.notification_id, DeliveryAttempt.finished_at).where(
                    DeliveryAttempt.outcome == "lease_expired", DeliveryAttempt.worker_id == sender
                )
            ).all()
        )
        assert lapsed, "the killed sender held rows"
        resent = dict(
            s.execute(
                select(DeliveryAttempt.notification_id, func.min(DeliveryAttempt.started_at))
                .where(
                    DeliveryAttempt.notification_id.in_(list(lapsed)),
                    DeliveryAttempt.worker_id != sender,
                    DeliveryAttempt.outcome == "sent",
                )
                .group_by(DeliveryAttempt.notification_id)
            ).all()
        )
    assert set(resent) == set(lapsed)
    # Taken over (the lapsed lease closed by another worker's claim) at the first round
    # after the lease, within the lease plus one sweep (a second's grace for a busy
    # machine) …
    taken_over = max(at for at in lapsed.values() if at is not None) - killed_at
    assert taken_over <= timedelta(seconds=lease + sweep_seconds + 1.0), taken_over
    # … and sent again right after, at the pace the sends allow (rounds of 0.4 s here,
    # one message a second per chat).
    last_resent = max(resent.values()) - killed_at
    assert last_resent <= timedelta(seconds=lease + sweep_seconds + 4.0), last_resent
