"""Debian's real Alertmanager, fed alerts through its own API, notifies Fenghuo's intake on
loopback with a token scoped to intake: one incident per alert group, a repeat updates it,
an alert ended in the past is recorded as resolved, and the first step pages the duty
officer on duty.

Without ``/usr/bin/prometheus-alertmanager`` this skips, or fails under
``FENGHUO_REQUIRE_ALL=1`` (as in CI, whose ``.ci/run`` installs it). Fenghuo's clock is
frozen (nothing below fires on time); only Alertmanager's own timers run, and the test
waits for their effects by polling, failing when nothing has changed for ``STALL``
seconds.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.extensions import Services
from escalation.intake import IntakeGroup
from escalation.models import Notification, Timer
from incidents.audit import AuditEvent, system_actor
from incidents.clock import FrozenClock
from incidents.models import Incident
from incidents.org import Person
from incidents.responsibility import holders
from incidents.rosters import set_rotation
from incidents.tokens import create_token
from tests.conftest import T0, make_app, need

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
STALL = 20.0  # seconds without progress before the test gives up
POLL = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Fenghuo:
    app: Flask
    url: str

    @property
    def services(self) -> Services:
        found: Services = self.app.extensions["fenghuo"]
        return found


@pytest.fixture
def fenghuo(
    sqlite_url: str, org: dict[str, Person], tmp_path: Path, clock: FrozenClock
) -> Iterator[Fenghuo]:
    """Fenghuo's web app on a real loopback socket (a server thread)."""
    app = make_app(sqlite_url, tmp_path / "instance", clock)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live = Fenghuo(app, f"http://127.0.0.1:{server.server_port}")
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=5)
        live.services.engine.dispose()


@dataclass
class Alertmanager:
    url: str
    log: Path

    def post(self, alerts: list[dict[str, object]]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextmanager
def start_alertmanager(tmp_path: Path, intake_url: str, token: str) -> Iterator[Alertmanager]:
    if not ALERTMANAGER.exists():
        need("prometheus-alertmanager", f"{ALERTMANAGER} is missing (apt-get install it)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "route": {
                    "receiver": "fenghuo",
                    "group_by": ["alertname", "service"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "2s",
                },
                "receivers": [
                    {
                        "name": "fenghuo",
                        "webhook_configs": [
                            {
                                "url": intake_url,
                                "send_resolved": True,
                                "http_config": {
                                    "authorization": {"type": "Bearer", "credentials": token}
                                },
                            }
                        ],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    port = free_port()
    log = tmp_path / "alertmanager.log"
    storage = tmp_path / "alertmanager-data"
    storage.mkdir()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(ALERTMANAGER),
                f"--config.file={config}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=info",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    am = Alertmanager(f"http://127.0.0.1:{port}", log)
    try:
        wait_until(lambda: _ready(am.url, process), "Alertmanager ready", am)
        yield am
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"Alertmanager exited with {process.returncode}")
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def wait_until(
    done: Callable[[], object],
    what: str,
    am: Alertmanager | None = None,
    progress: Callable[[], object] = lambda: None,
) -> None:
    """Poll ``done`` until it is true; fail when ``progress()`` has not changed (and ``done``
    not become true) for ``STALL`` seconds — never a fixed sleep."""
    seen = progress()
    last_change = time.monotonic()
    while not done():
        now = time.monotonic()
        state = progress()
        if state != seen:
            seen, last_change = state, now
        elif now - last_change > STALL:
            log = am.tail() if am is not None else ""
            raise AssertionError(f"no progress for {STALL:.0f} s waiting for {what}\n{log}")
        time.sleep(POLL)


def wall_clock() -> datetime:
    # Alertmanager's own clock decides what "ended in the past" means.
    return datetime.now(UTC)


def alert(
    alertname: str, service: str, instance: str, ends_at: datetime | None = None
) -> dict[str, object]:
    body: dict[str, object] = {
        "labels": {
            "alertname": alertname,
            "service": service,
            "instance": instance,
            "severity": "warning",
        },
        "annotations": {"summary": f"{alertname} on {service}"},
    }
    if ends_at is not None:
        body["startsAt"] = (ends_at - timedelta(minutes=5)).isoformat()
        body["endsAt"] = ends_at.isoformat()
    return body


def test_real_alertmanager_opens_one_incident_per_group_and_pages_the_duty_officer_on_duty(
    fenghuo: Fenghuo, tmp_path: Path
) -> None:
    sessions = fenghuo.services.sessions
    actor = system_actor("cli")
    with sessions() as s, s.begin():
        people = {p.login: p for p in s.scalars(select(Person))}
        # The roster has admin on duty; the duty officer's post is held by "duty": the
        # page must follow the roster, not the organisation chart.
        set_rotation(
            s,
            "duty_officer",
            people=[people["admin"].id],
            handoffs=["08:30"],
            period="daily",
            anchor_date=date(2026, 11, 1),
            actor=actor,
            now=T0 - timedelta(days=1),
        )
        # trafstaff may not log incidents: only the token's intake scope lets it post.
        token, _row = create_token(
            s, login="trafstaff", name="alertmanager", actor=actor, now=T0, scope="intake"
        )
        position_holders = {p.id for _, p in holders(s, "duty_officer", T0)}
    intake_url = f"{fenghuo.url}/api/v1/intake/alertmanager"

    def groups() -> dict[str, IntakeGroup]:
        with sessions() as s:
            rows = s.scalars(select(IntakeGroup)).all()
            s.expunge_all()
            return {row.key: row for row in rows}

    def group_of(alertname: str, service: str) -> IntakeGroup | None:
        for key, row in groups().items():
            if f'alertname="{alertname}"' in key and f'service="{service}"' in key:
                return row
        return None

    def state() -> object:
        return sorted((k, g.notifications, g.resolved) for k, g in groups().items())

    with start_alertmanager(tmp_path, intake_url, token) as am:
        # Three groups: PortalDown/portal (two alerts), PortalDown/oa, DiskFull/portal.
        am.post(
            [
                alert("PortalDown", "portal", "web-1"),
                alert("PortalDown", "portal", "web-2"),
                alert("PortalDown", "oa", "oa-1"),
                alert("DiskFull", "portal", "web-1"),
            ]
        )
        wait_until(lambda: len(groups()) == 3, "one incident per alert group", am, state)

        portal = group_of("PortalDown", "portal")
        assert portal is not None and portal.incident_id is not None
        with sessions() as s:
            pages_at_open = len(
                s.scalars(
                    select(Notification).where(Notification.incident_id == portal.incident_id)
                ).all()
            )

        # Alertmanager repeats the unchanged group after repeat_interval: same incident.
        wait_until(
            lambda: (g := group_of("PortalDown", "portal")) is not None and g.notifications >= 2,
            "a repeated notification of PortalDown/portal",
            am,
            state,
        )

        # An alert of the oa group ended in the past: Alertmanager sends it as resolved.
        am.post([alert("PortalDown", "oa", "oa-1", ends_at=wall_clock() - timedelta(minutes=1))])
        wait_until(
            lambda: (g := group_of("PortalDown", "oa")) is not None and g.resolved >= 1,
            "PortalDown/oa resolved",
            am,
            state,
        )

    final = groups()
    assert len(final) == 3
    incident_ids = {g.incident_id for g in final.values()}
    assert None not in incident_ids and len(incident_ids) == 3
    portal_again = group_of("PortalDown", "portal")
    assert portal_again is not None and portal_again.incident_id == portal.incident_id
    oa = group_of("PortalDown", "oa")
    assert oa is not None

    with sessions() as s:
        assert len(s.scalars(select(Incident)).all()) == 3
        kinds = {
            incident_id: [
                e.kind
                for e in s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.incident_id == incident_id)
                    .order_by(AuditEvent.seq)
                )
            ]
            for incident_id in incident_ids
        }
        assert "intake.repeated" in kinds[portal.incident_id]
        assert "intake.resolved" in kinds[oa.incident_id]
        oa_incident = s.get(Incident, oa.incident_id)
        assert oa_incident is not None and oa_incident.status == "new"  # a person decides
        sources = set(
            s.scalars(select(AuditEvent.source).where(AuditEvent.incident_id.in_(incident_ids)))
        )
        assert sources == {"monitoring"}

        # A repeat pages nobody: the portal incident has only the pages of its opening.
        assert (
            len(
                s.scalars(
                    select(Notification).where(Notification.incident_id == portal.incident_id)
                ).all()
            )
            == pages_at_open
        )

        # The first step paged the duty officer on duty (the roster's admin) — or, with a
        # policy whose first step names the position, the post's holder.
        first_step = fenghuo.services.policy.grade("general").chain[0].notify
        if "on_duty:duty_officer" in first_step:
            expected = {people["admin"].id}
        else:
            assert "duty_officer" in first_step
            expected = position_holders
        for incident_id in incident_ids:
            paged = set(
                s.scalars(
                    select(Notification.person_id)
                    .join(Timer, Timer.id == Notification.timer_id)
                    .where(
                        Notification.incident_id == incident_id,
                        Timer.step_index == 0,
                        Timer.repeat_index == 0,
                    )
                )
            )
            assert expected <= paged, (incident_id, paged)
