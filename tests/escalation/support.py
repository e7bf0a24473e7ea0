"""Helpers for the escalation tests: opening incidents, walking the clock, test channels.

The channels at the bottom are also loaded by worker processes started in the tests
(``--channel-factory tests.escalation.support:process_channels``), configured through
environment variables, so that a test can watch or block delivery from outside.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Policy, load_policy
from escalation import response
from escalation.channels.base import Channel, ChannelError, OutgoingMessage, Receipt
from escalation.channels.inbox import InboxChannel
from escalation.models import Notification
from escalation.queries import obligations_of
from escalation.response import open_incident
from escalation.sweep import sweep
from escalation.worker import run_worker
from incidents import rosters
from incidents.audit import system_actor
from incidents.clock import Clock
from incidents.inputs import IncidentInput
from incidents.org import Department, Person
from tests.conftest import T0, actor_for

DEFAULT_POLICY = load_policy()


# 27 November 2026, 08:30 in Asia/Shanghai: the duty officer shift changes hands.
HANDOFF = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)


def rotate_duty(session: Session, outgoing_id: int, incoming_id: int) -> None:
    """The duty officer roster: ``outgoing_id`` holds 26 Nov 08:30 – 27 Nov 08:30 (CST),
    then ``incoming_id``, in turn, handing over daily at 08:30."""
    rosters.set_rotation(
        session,
        "duty_officer",
        people=[outgoing_id, incoming_id],
        handoffs=["08:30"],
        period="daily",
        anchor_date=date(2026, 11, 26),
        actor=system_actor("cli"),
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )


def department_id(factory: sessionmaker[Session], code: str) -> int:
    with factory() as s:
        return s.scalars(select(Department.id).where(Department.code == code)).one()


def open_(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    grade: str,
    *,
    at: datetime = T0,
    detected_at: datetime | None = None,
    department: str = "traffic",
    policy: Policy = DEFAULT_POLICY,
    by: str = "duty",
) -> int:
    """Open an incident of ``grade`` as the duty officer; return its id."""
    data = IncidentInput.parse(
        {
            "title": "门户网站被篡改",
            "category": "network_attack",
            "grade": grade,
            "detected_at": (detected_at or at).isoformat(),
            "responsible_department_id": department_id(factory, department),
        }
    )
    with factory() as s, s.begin():
        incident = open_incident(s, data=data, actor=actor_for(org[by]), now=at, policy=policy)
        return incident.id


def notices(
    factory: sessionmaker[Session], incident_id: int, *, after_id: int = 0
) -> list[tuple[int, str, str]]:
    """(id, kind, login) of the incident's inbox notifications after ``after_id``."""
    with factory() as s:
        rows = s.execute(
            select(Notification.id, Notification.kind, Person.login)
            .join(Person, Person.id == Notification.person_id)
            .where(
                Notification.incident_id == incident_id,
                Notification.channel == "inbox",
                Notification.id > after_id,
            )
            .order_by(Notification.id)
        ).all()
    return [(i, k, login) for i, k, login in rows]


@dataclass
class Walk:
    """Moves time a minute at a time, sweeping each minute, and notes who was told what."""

    factory: sessionmaker[Session]
    incident_id: int
    policy: Policy = DEFAULT_POLICY
    start: datetime = T0
    minute: int = 0
    last_id: int = 0
    timeline: dict[int, set[tuple[str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._collect()

    def now(self) -> datetime:
        return self.start + timedelta(minutes=self.minute)

    def _collect(self) -> None:
        for nid, kind, login in notices(self.factory, self.incident_id, after_id=self.last_id):
            self.timeline.setdefault(self.minute, set()).add((kind, login))
            self.last_id = nid

    def to(self, minute: int) -> Walk:
        """Sweep every minute up to and including ``minute``."""
        while self.minute < minute:
            self.minute += 1
            if sweep(self.factory, now=self.now(), policy=self.policy).notifications:
                self._collect()
        return self

    def note(self) -> None:
        """Record what a use case just wrote, at the current minute."""
        self._collect()

    def between(self, first: int, last: int) -> dict[int, set[tuple[str, str]]]:
        return {m: v for m, v in self.timeline.items() if first <= m <= last}


def people(kind: str, *logins: str) -> set[tuple[str, str]]:
    return {(kind, login) for login in logins}


# --- use cases at a minute after T0 ------------------------------------------------------

INITIAL = {"entity": "交通管理处;交通管理综合信息平台", "occurrence": "11月27日09:00发现篡改"}
FINAL = {
    "cause": "弱口令",
    "measures": "下线修复",
    "harm": "首页被篡改2小时",
    "accountability": "另案处理",
    "rectification": "全面改密",
    "lessons": "加强巡检",
}
LGM = ("netsec", "director", "lgmember")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ack(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    incident_id: int,
    minute: float,
    who: str = "cchead",
) -> bool:
    with factory() as s, s.begin():
        return response.acknowledge(
            s,
            incident_id=incident_id,
            actor=actor_for(org[who]),
            now=T0 + timedelta(minutes=minute),
        ).changed


def file(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    incident_id: int,
    minute: float,
    kind: str = "initial",
    late_reason: str | None = None,
    **items: object,
) -> None:
    body = dict(INITIAL if kind == "initial" else FINAL if kind == "final" else {}, **items)
    with factory() as s, s.begin():
        response.file_report(
            s,
            incident_id=incident_id,
            kind=kind,
            items=body,
            actor=actor_for(org["duty"]),
            now=T0 + timedelta(minutes=minute),
            policy=DEFAULT_POLICY,
            late_reason=late_reason,
        )


def statuses(factory: sessionmaker[Session], incident_id: int, minute: float) -> dict[str, str]:
    with factory() as s:
        rows = obligations_of(s, incident_id, T0 + timedelta(minutes=minute))
    return {r["name"]: r["status"] for r in rows}


def kinds(timeline: dict[int, set[tuple[str, str]]]) -> set[str]:
    return {kind for events in timeline.values() for kind, _ in events}


INFORMING = ("inform", "report")


def without_informs(timeline: dict[int, set[tuple[str, str]]]) -> dict[int, set[tuple[str, str]]]:
    """The pages, warnings, breaches and notices only: what informs the leaders (their own
    receipts, reminders and escalation) runs beside them and is tested on its own."""
    out: dict[int, set[tuple[str, str]]] = {}
    for minute, events in timeline.items():
        kept = {(k, login) for k, login in events if k not in INFORMING}
        if kept:
            out[minute] = kept
    return out


def regrade(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    incident_id: int,
    minute: float,
    grade: str,
) -> None:
    with factory() as s, s.begin():
        response.regrade(
            s,
            incident_id=incident_id,
            grade=grade,
            reason="影响扩大",
            actor=actor_for(org["cchead"]),
            now=T0 + timedelta(minutes=minute),
            policy=DEFAULT_POLICY,
        )


def resolve(
    factory: sessionmaker[Session], org: dict[str, Person], incident_id: int, minute: float
) -> None:
    with factory() as s, s.begin():
        response.start_handling(
            s,
            incident_id=incident_id,
            actor=actor_for(org["cchead"]),
            now=T0 + timedelta(minutes=minute),
        )
        response.resolve(
            s,
            incident_id=incident_id,
            actor=actor_for(org["cchead"]),
            now=T0 + timedelta(minutes=minute),
            policy=DEFAULT_POLICY,
            summary="已恢复",
        )


# --- channels for tests -----------------------------------------------------------------


class RecordingChannel:
    """Accepts everything and remembers it, with the time it was handed over."""

    def __init__(self, kind: str, clock: Clock | None = None) -> None:
        self.kind = kind
        self.clock = clock
        self.sent: list[OutgoingMessage] = []
        self.handed_at: list[datetime] = []

    def send(self, message: OutgoingMessage) -> Receipt:
        self.sent.append(message)
        if self.clock is not None:
            self.handed_at.append(self.clock.now())
        return Receipt(external_id=f"{self.kind}-{message.notification_id}")


class ScriptedChannel:
    """Fails as scripted (one ChannelError or None per call), then accepts."""

    def __init__(self, kind: str, script: list[ChannelError | None]) -> None:
        self.kind = kind
        self.script = list(script)
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> Receipt:
        error = self.script.pop(0) if self.script else None
        if error is not None:
            raise error
        self.sent.append(message)
        return Receipt(external_id=f"{self.kind}-{message.notification_id}")


class FileRecordingInbox:
    """The real inbox channel, also appending each notification id to a shared file."""

    kind = "inbox"

    def __init__(self, inner: InboxChannel, path: str) -> None:
        self.inner = inner
        self.path = path

    def send(self, message: OutgoingMessage) -> Receipt:
        receipt = self.inner.send(message)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{message.notification_id} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return receipt


class FileRecordingChannel:
    """Appends each notification id to a shared file, and nothing else."""

    def __init__(self, kind: str, path: str) -> None:
        self.kind = kind
        self.path = path

    def send(self, message: OutgoingMessage) -> Receipt:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{message.notification_id} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return Receipt(external_id=str(message.notification_id))


class BlockingInbox:
    """Announces the first send in a marker file, then hangs (until the process is killed)."""

    kind = "inbox"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def send(self, message: OutgoingMessage) -> Receipt:
        with open(self.marker, "a", encoding="utf-8") as fh:
            fh.write(f"{message.notification_id}\n")
        time.sleep(3600)
        raise ChannelError("unreachable")


def process_channels(*, session_factory: sessionmaker[Session], clock: Clock) -> Mapping[str, Any]:
    """``--channel-factory`` for worker processes: FENGHUO_TEST_BLOCK=<marker file> makes
    a blocking inbox; FENGHUO_TEST_RECORD=<file> a recording one (the real inbox too
    unless FENGHUO_TEST_RECORD_ONLY=1)."""
    block = os.environ.get("FENGHUO_TEST_BLOCK")
    if block:
        return {"inbox": BlockingInbox(block)}
    record = os.environ["FENGHUO_TEST_RECORD"]
    channel: Channel = (
        FileRecordingChannel("inbox", record)
        if os.environ.get("FENGHUO_TEST_RECORD_ONLY") == "1"
        else FileRecordingInbox(InboxChannel(session_factory, clock), record)
    )
    return {"inbox": channel}


@contextmanager
def worker_thread(**kwargs: Any) -> Iterator[None]:
    """``run_worker(**kwargs)`` in a thread for the block's length, then stopped: it
    must end within the shared stall timeout."""
    from tests.waiting import STALL_SECONDS

    stop = threading.Event()
    thread = threading.Thread(target=run_worker, kwargs={**kwargs, "stop": stop})
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=STALL_SECONDS)
    assert not thread.is_alive(), "the worker did not stop"
