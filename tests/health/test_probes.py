"""/readyz says whether paging works and names what does not; /metrics is the Prometheus
text format, loopback-only or behind a bearer token, and its figures move as
notifications are delivered and fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from config.settings import load_settings
from escalation import health
from escalation.models import DeliveryAttempt, Notification
from escalation.worker_health import WorkerHealth
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import T0, TEST_SECRET
from tests.escalation.support import ScriptedChannel
from tests.health.support import Unreachable, minute, round_at, telegram_for
from tests.web.conftest import open_, services_of

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def beat_worker(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    with factory() as s, s.begin():
        health.beat(s, name="worker:w1", kind="worker", now=clock.now(), started_at=T0)
        health.record_channels(s, health.channel_health(s).values(), now=clock.now())


def test_readyz_is_200_while_paging_works(app: Flask, clock: FrozenClock) -> None:
    beat_worker(services_of(app).sessions, clock)
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["ready"] is True and body["failing"] == []
    assert body["database"] == {"ok": True}
    assert body["worker"]["heartbeat_age_seconds"] == 0.0
    assert body["bot"]["expected"] is False  # no Telegram token in these tests


def test_readyz_is_503_naming_a_silent_worker(app: Flask, clock: FrozenClock) -> None:
    beat_worker(services_of(app).sessions, clock)
    clock.advance(minutes=2)
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["failing"] == ["worker"]
    assert body["worker"] == {
        "ok": False,
        "heartbeat_age_seconds": 120.0,
        "stale_after_seconds": 30.0,
    }


def test_readyz_names_a_failing_channel_with_a_reason_code_and_no_personal_data(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    factory = services_of(app).sessions
    telegram_for(factory, org, "duty", "cchead")
    open_(app, org, grade="major", at=clock.now())
    round_at(factory, 0, {"telegram": Unreachable()})
    beat_worker(factory, clock)
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["failing"] == ["channel:telegram"]
    assert body["channels"]["telegram"] == {
        "ok": False,
        "state": "failing",
        "reason": "unreachable",
        "since": T0.isoformat(),
    }
    text = reply.get_data(as_text=True)
    for private in ("duty", "cchead", "1001", "NetworkError", "门户网站"):
        assert private not in text


def attempts(factory: sessionmaker[Session], channel: str, outcome: str) -> int:
    with factory() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(DeliveryAttempt)
                .join(Notification, Notification.id == DeliveryAttempt.notification_id)
                .where(Notification.channel == channel, DeliveryAttempt.outcome == outcome)
            )
            or 0
        )


def scrape(app: Flask, **headers: str) -> Samples:
    reply = app.test_client().get("/metrics", headers=headers)
    assert reply.status_code == 200, reply.status_code
    assert reply.content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(reply.get_data(as_text=True))
        for s in family.samples
    }


def test_metrics_figures_move_as_notifications_are_delivered_and_fail(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    factory = services_of(app).sessions
    telegram_for(factory, org, "duty", "cchead")
    worker = WorkerHealth("w1", started_at=T0, channels=["inbox", "telegram"])
    worker.started(factory, T0)
    before = scrape(app)

    open_(app, org, grade="major", at=clock.now())
    queued = scrape(app)
    assert queued[("fenghuo_outbox_depth", (("channel", "telegram"),))] == 2
    assert queued[("fenghuo_outbox_depth", (("channel", "inbox"),))] == 3

    # Telegram cannot be reached; the inbox delivers.
    round_at(factory, 0, {"telegram": Unreachable()})
    clock.advance(minutes=1)
    worker.after_round(factory, minute(1), seconds=0.25)
    failed = scrape(app)

    def moved(samples: Samples, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return samples.get(key, 0.0) - before.get(key, 0.0)

    assert moved(failed, "fenghuo_deliveries_total", channel="inbox", outcome="sent") == 3
    tried = attempts(factory, "telegram", "temporary")
    assert tried >= 1
    assert (
        moved(failed, "fenghuo_deliveries_total", channel="telegram", outcome="temporary") == tried
    )
    assert failed[("fenghuo_channel_failing", (("channel", "telegram"),))] == 1
    assert failed[("fenghuo_outbox_oldest_pending_age_seconds", (("channel", "telegram"),))] == 60
    assert failed[("fenghuo_worker_heartbeat_age_seconds", ())] == 0
    assert moved(failed, "fenghuo_sweep_duration_seconds_count") == 1
    assert moved(failed, "fenghuo_due_to_handed_seconds_count", channel="inbox") == 3
    assert failed[("fenghuo_obligations", (("status", "pending"),))] >= 1

    # Telegram is back: the retries are delivered and the channel is healthy again.
    round_at(factory, 2, {"telegram": ScriptedChannel("telegram", [])})
    clock.advance(minutes=1)
    worker.after_round(factory, minute(2), seconds=0.25)
    back = scrape(app)
    # The two pages, and the notice to the next person up that the hand-over after
    # fallback_after (two minutes) wrote for duty, who was unreachable.
    sent = attempts(factory, "telegram", "sent")
    assert sent == 3
    assert moved(back, "fenghuo_deliveries_total", channel="telegram", outcome="sent") == sent
    assert back[("fenghuo_outbox_depth", (("channel", "telegram"),))] == 0
    assert back[("fenghuo_channel_failing", (("channel", "telegram"),))] == 0
    assert moved(back, "fenghuo_due_to_handed_seconds_count", channel="telegram") == sent
    # The pages were handed over two minutes after they were due, the notice at once.
    assert moved(back, "fenghuo_due_to_handed_seconds_sum", channel="telegram") == 240


def test_metrics_are_for_loopback_clients_only_without_a_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403


@pytest.fixture
def token_app(sqlite_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": sqlite_url,
            "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
            "FENGHUO_ENV": "test",
            "FENGHUO_SECRET_KEY": TEST_SECRET,
            "FENGHUO_METRICS_TOKEN": "s3cr3t-scrape-token",
        }
    )
    built = create_app(settings, clock=clock, overrides={"TESTING": True})
    yield built
    services_of(built).engine.dispose()


def test_with_a_token_any_client_presenting_it_may_scrape(token_app: Flask) -> None:
    client = token_app.test_client()
    far = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics", environ_base=far).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=far, headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cr3t-scrape-token"}
    assert client.get("/metrics", environ_base=far, headers=right).status_code == 200
