"""Worker processes on PostgreSQL: four side by side, and one killed mid-delivery.

These run real ``python -m escalation.worker`` processes on the wall clock, so the
incidents are opened at the real time (a ``SystemClock``) and the tests wait, with a
deadline, for the database to show the work done.
"""

from __future__ import annotations

import json
import os
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
from escalation.models import DeliveryAttempt, EscalationChain, Notification, Timer
from incidents.audit import AuditEvent
from incidents.clock import SystemClock
from incidents.db import make_engine, make_sessionmaker
from tests.conftest import load_demo_org
from tests.escalation.support import open_
from tests.escalation.test_worker import wait_for, worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMERS = 5000
INCIDENTS = 20


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def short_lease_policy(tmp_path: Path) -> Path:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = text.replace('lease = "PT2M"', 'lease = "PT2S"').replace(
        'backoff_base = "PT30S"', 'backoff_base = "PT1S"'
    )
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
            codes.append(proc.wait(timeout=30))
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
            lambda: all(b"started" in log.read_bytes() for log in logs), 60, "four workers to start"
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
        expected = 2 * (TIMERS + INCIDENTS)  # two people each, plus the pages at open

        def delivered() -> bool:
            with pg_factory() as s:
                return (
                    s.scalar(
                        select(func.count())
                        .select_from(Notification)
                        .where(Notification.status == "sent")
                    )
                    == expected
                )

        wait_for(delivered, 120, "every notification to be delivered")
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
        wait_for(marker.exists, 60, "the first worker to start sending")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
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

        def all_sent() -> bool:
            with pg_factory() as s:
                statuses = s.scalars(
                    select(Notification.status).where(Notification.incident_id == incident_id)
                ).all()
                return len(statuses) == 3 and set(statuses) == {"sent"}

        wait_for(all_sent, 60, "the second worker to deliver everything")
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
