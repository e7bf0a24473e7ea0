"""A burst of Telegram alerts through a real worker process to a fake Bot API process.

``--chats`` duty officers (default 100), each linked to a private chat, and
``--per-chat`` incidents (default 3) opened in one transaction: each pages every duty
officer at once, so ``chats × per-chat`` Telegram notifications (300) are queued at one
instant. The worker runs as its own process (``python -m escalation.worker``, waking
every ``--sweep-seconds``) with the Telegram channel pointed at the fake Bot API server
(``FENGHUO_TELEGRAM_TOKEN``, ``FENGHUO_TELEGRAM_API_URL``), which runs in a process of
its own (``tests.fakes.telegram.serve``) and answers 429 to any message over
Telegram's limits: 30 a second overall (a sliding second) and one a second per chat.

The figure is the wall time from the queueing transaction's commit to the fake server
accepting the last message, set against the time the limits allow for the burst:

- nominal: ``max(N / 30, per-chat / 1)`` seconds — 300 ÷ 30/s = 10 s (the goal's
  yardstick; three messages a chat at one a second is 3 s, under it);
- strict floor: ``max(⌈N / 30⌉ − 1, per-chat − 1)`` seconds — 9 s: thirty accepted at
  once, then thirty more at each full second, the last thirty at 9 s, even by a sender
  that costs nothing and a network with no latency.

Also: the 429 count (the goal is none), the pick-up (queued → first message accepted:
the worker waits for its next wake-up), the sender's own pace (first → last accepted,
against the strict floor), the load average over each burst
(``FENGHUO_BENCH_VERBOSE=1`` prints the messages accepted in each second). Each engine
gets its own scratch database; the burst is repeated ``--repeats`` times (min and
median), and ``fenghuo audit verify`` runs at the end.

    python bench/telegram_burst.py [--chats 100] [--per-chat 3] [--engine both]
        [--repeats 3] [--sweep-seconds 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import harness  # noqa: E402

TOKEN = "123456:BENCH"
# No message accepted for this long: the burst is stuck (a failure, not a figure).
STALL_SECONDS = 60.0
# Between two bursts, so that every chat's one-a-second window is clear again.
SETTLE_SECONDS = 2.0


# --- the worker's channel (runs in the worker process) --------------------------------


def channels(*, session_factory: Any, clock: Any) -> Mapping[str, Any]:
    """``--channel-factory`` for the worker: the Telegram channel as ``fenghuo worker``
    builds it from the settings (``FENGHUO_TELEGRAM_TOKEN``, ``FENGHUO_TELEGRAM_API_URL``)."""
    from config.policy import load_policy
    from config.settings import load_settings
    from escalation.channels.base import make_channel

    settings = load_settings()
    policy = load_policy()
    return {
        "telegram": make_channel(
            "telegram",
            {
                "session_factory": session_factory,
                "clock": clock,
                "token": settings.telegram_token,
                "api_url": settings.telegram_api_url,
                "public_url": settings.public_url,
                "redact_titles": policy.redact_titles,
                "timezone": policy.timezone,
            },
        )
    }


# --- the fake Bot API server (its own process) ----------------------------------------


class FakeServer:
    """``python -m tests.fakes.telegram.serve``: commands on stdin, JSON lines back."""

    def __init__(self, log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.telegram.serve", "--token", TOKEN],
            cwd=harness.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, "PYTHONPATH": str(harness.ROOT)},
        )
        self.base_url = str(self._read()["base_url"])

    def _read(self) -> dict[str, Any]:
        out: IO[bytes] | None = self.proc.stdout
        assert out is not None
        line = out.readline()
        if not line:
            raise RuntimeError(f"the fake Bot API server exited ({self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(command.encode() + b"\n")
        stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=harness.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@contextmanager
def fake_server(log: Path) -> Iterator[FakeServer]:
    server = FakeServer(log)
    try:
        yield server
    finally:
        server.close()


# --- the burst (this process) ---------------------------------------------------------


def seed(url: str, chats: int) -> None:
    """A command center with ``chats`` duty officers, each linked to a private chat."""
    from escalation.telegram.linking import link_person
    from incidents.audit import Actor
    from incidents.db import make_engine, make_sessionmaker
    from incidents.org import Department, Person, Position

    now = datetime.now(UTC)
    cli = Actor(None, "bench", "cli")
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            cc = Department(
                code="cc", name="指挥中心", name_en="Command center", kind="command_center"
            )
            s.add(cc)
            s.flush()
            for i in range(chats):
                person = Person(login=f"duty{i:03d}", name=f"值班员{i:03d}", created_at=now)
                s.add(person)
                s.flush()
                s.add(
                    Position(
                        person_id=person.id,
                        role="duty_officer",
                        department_id=cc.id,
                        valid_from=datetime(2024, 1, 1, tzinfo=UTC),
                    )
                )
                s.flush()
                link_person(s, login=person.login, chat_id=10_000 + i, actor=cli, now=now)
    finally:
        engine.dispose()


def queue_burst(url: str, per_chat: int, round_no: int) -> tuple[float, int]:
    """Open ``per_chat`` incidents in one transaction (each pages every duty officer);
    returns the ``time.monotonic()`` of its commit and the Telegram rows it queued."""
    from sqlalchemy import func, select

    from config.policy import load_policy
    from escalation.models import Notification
    from escalation.response import open_incident
    from incidents.audit import Actor
    from incidents.db import make_engine, make_sessionmaker
    from incidents.inputs import IncidentInput
    from incidents.org import Person

    policy = load_policy()
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        with factory() as s:
            first = s.scalars(select(Person).order_by(Person.id)).first()
            assert first is not None
            actor = Actor(first.id, first.login, "cli")
            before = s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.channel == "telegram")
            )
        now = datetime.now(UTC)
        with factory() as s, s.begin():
            for n in range(per_chat):
                data = IncidentInput.parse(
                    {
                        "title": f"演练 {round_no}-{n + 1}",
                        "category": "malware",
                        "grade": "general",
                        "detected_at": now.isoformat(),
                    }
                )
                open_incident(s, data=data, actor=actor, now=now, policy=policy)
        committed = time.monotonic()
        with factory() as s:
            after = s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.channel == "telegram")
            )
    finally:
        engine.dispose()
    return committed, int(after or 0) - int(before or 0)


def unsent(url: str) -> int:
    from sqlalchemy import func, select

    from escalation.models import Notification
    from incidents.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.channel == "telegram", Notification.status != "sent")
                )
                or 0
            )
    finally:
        engine.dispose()


@dataclass
class Burst:
    seconds: float  # queued → last accepted
    pickup: float  # queued → first accepted
    sent: int
    rate_limited: int
    load: tuple[float, float, float]


def burst(url: str, fake: FakeServer, total: int, per_chat: int, round_no: int) -> Burst:
    fake.ask("reset")
    queued_at, queued = queue_burst(url, per_chat, round_no)
    if queued != total:
        raise RuntimeError(f"{queued} Telegram notifications queued, {total} expected")
    seen, moved = 0, time.monotonic()
    while True:
        stats = fake.ask("stats")
        if stats["sent"] >= total:
            break
        if stats["sent"] > seen:
            seen, moved = stats["sent"], time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            raise RuntimeError(f"stuck at {seen} of {total} messages for {STALL_SECONDS:g} s")
        time.sleep(0.05)
    load = os.getloadavg()
    if os.environ.get("FENGHUO_BENCH_VERBOSE"):
        per_second: dict[int, int] = {}
        for at in stats["at"]:
            per_second[int(at - queued_at)] = per_second.get(int(at - queued_at), 0) + 1
        print("  accepted per second after queueing:", dict(sorted(per_second.items())))
    # The worker writes the outcomes back; the next burst starts with every window clear.
    while unsent(url):
        time.sleep(0.1)
    time.sleep(SETTLE_SECONDS)
    return Burst(
        seconds=stats["last_at"] - queued_at,
        pickup=stats["first_at"] - queued_at,
        sent=stats["sent"],
        rate_limited=stats["rate_limited"],
        load=load,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_common_args(parser)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--per-chat", type=int, default=3)
    parser.add_argument("--sweep-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    total = args.chats * args.per_chat
    nominal = max(total / 30, args.per_chat / 1.0)
    strict = float(max(math.ceil(total / 30) - 1, args.per_chat - 1))
    report = harness.Report("telegram_burst", json_path=args.json)
    report.note(
        f"{total} alerts to {args.chats} chats; the limits allow {nominal:g} s nominal "
        f"(max({total}/30, {args.per_chat} at 1/s)), {strict:g} s strict floor (sliding "
        f"windows: the last 30 at {strict:g} s); worker wakes every {args.sweep_seconds:g} s"
    )
    size = f"{args.chats}x{args.per_chat}"
    for engine in harness.engines(args.engine):
        try:
            with harness.scratch(engine, demo=False) as db:
                seed(db.url, args.chats)
                with fake_server(db.instance / "fake-telegram.log") as fake:
                    env = {
                        "FENGHUO_TELEGRAM_TOKEN": TOKEN,
                        "FENGHUO_TELEGRAM_API_URL": fake.base_url,
                        "FENGHUO_PUBLIC_URL": "https://fenghuo.example.gov.cn",
                    }
                    with harness.worker(
                        db,
                        sweep_seconds=args.sweep_seconds,
                        channels="inbox",
                        channel_factory="telegram_burst:channels",
                        env=env,
                    ):
                        bursts = [
                            burst(db.url, fake, total, args.per_chat, n)
                            for n in range(max(args.repeats, 1))
                        ]
                for b in bursts:
                    print(
                        f"{engine}: {b.sent} in {b.seconds:.2f} s (first after {b.pickup:.2f} s), "
                        f"{b.rate_limited} × 429, load {b.load[0]:.2f}",
                        flush=True,
                    )
                seconds = harness.spread(b.seconds for b in bursts)
                loads = ", ".join(f"{b.load[0]:.1f}" for b in bursts)
                report.add(
                    harness.Row(
                        "burst ÷ the time the limits allow",
                        engine,
                        seconds.median,
                        "s",
                        best=seconds.min,
                        repeats=seconds.repeats,
                        yardstick=nominal,
                        goal="telegram_ratio",
                        size=size,
                        note=f"load {loads}",
                    )
                )
                report.add(
                    harness.Row(
                        "burst ÷ the strict floor",
                        engine,
                        seconds.median,
                        "s",
                        best=seconds.min,
                        repeats=seconds.repeats,
                        yardstick=strict,
                        size=size,
                    )
                )
                report.add(
                    harness.Row(
                        "429 answers",
                        engine,
                        float(max(b.rate_limited for b in bursts)),
                        "",
                        repeats=len(bursts),
                        goal="telegram_429",
                        size=size,
                    )
                )
                sending = harness.spread(b.seconds - b.pickup for b in bursts)
                report.add(
                    harness.Row(
                        "first → last accepted ÷ the strict floor",
                        engine,
                        sending.median,
                        "s",
                        best=sending.min,
                        repeats=sending.repeats,
                        yardstick=strict,
                        size=size,
                        note="the sender's pace, the pick-up left out",
                    )
                )
                pickup = harness.spread(b.pickup for b in bursts)
                report.add(
                    harness.Row(
                        "pick-up (queued → first accepted)",
                        engine,
                        pickup.median,
                        "s",
                        best=pickup.min,
                        repeats=pickup.repeats,
                        size=size,
                    )
                )
                report.add(harness.verify_audit(db))
        except harness.EngineUnavailable as exc:
            report.note(f"{engine} skipped: {exc}")
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
