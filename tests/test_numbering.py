"""Incident numbers under concurrent creation: distinct and gap-free (issue 2, item 4).

Several processes (not threads: separate connections, separate interpreters, as under
gunicorn) log incidents at the same moment through the use case every face calls. The
numbers must come out FH-YYYY-0001 … FH-YYYY-N with none repeated and none skipped, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import traceback
from datetime import datetime
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import load_policy
from escalation.response import open_incident
from incidents.audit import Actor, verify
from incidents.db import make_engine, make_sessionmaker, transaction
from incidents.inputs import IncidentInput
from incidents.models import Incident
from incidents.org import Person
from tests.conftest import T0
from tests.waiting import STALL_SECONDS, wait_for

PROCESSES = 4
EACH = 25


def _log_many(
    url: str,
    duty_id: int,
    barrier: Barrier,
    errors: multiprocessing.Queue[str],
    logged: Synchronized[int],
    worker: int,
) -> None:
    """One process: wait for the others, then log ``EACH`` incidents, one per transaction,
    counting them in ``logged``. The barrier has no timeout of its own: the parent breaks
    it if a process dies before reaching it."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    policy = load_policy()
    actor = Actor(duty_id, "duty", "api")
    try:
        barrier.wait()
        for i in range(EACH):
            data = IncidentInput.parse(
                {
                    "title": f"并发登记 {worker}-{i}",
                    "category": "other",
                    "detected_at": T0.isoformat(),
                }
            )
            with transaction(factory) as session:
                open_incident(session, data=data, actor=actor, now=T0, policy=policy)
            with logged.get_lock():
                logged.value += 1
    except BaseException:
        errors.put(traceback.format_exc())
        raise
    finally:
        engine.dispose()


def log_concurrently(url: str, duty_id: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    errors: multiprocessing.Queue[str] = ctx.Queue()
    logged: Synchronized[int] = ctx.Value("i", 0)
    procs = [
        ctx.Process(target=_log_many, args=(url, duty_id, barrier, errors, logged, n))
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()

    def settled() -> bool:
        if any(proc.exitcode not in (None, 0) for proc in procs):
            barrier.abort()  # the others would wait at the barrier for the dead one
        return all(proc.exitcode is not None for proc in procs)

    try:
        # Spawned interpreters start slowly on a busy machine: wait while they arrive at
        # the barrier and then while they log, never for a fixed time.
        wait_for(
            settled,
            "the logging processes to finish",
            progress=lambda: (barrier.n_waiting, logged.value, [p.exitcode for p in procs]),
        )
    finally:
        for proc in procs:
            if proc.exitcode is None:
                barrier.abort()
                proc.kill()
            proc.join(timeout=STALL_SECONDS)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, "\n".join(failures)
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES


@pytest.fixture
def logged(
    db_url: str, any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> sessionmaker[Session]:
    log_concurrently(db_url, any_org["duty"].id)
    return any_factory


@pytest.mark.slow
def test_concurrent_processes_get_distinct_gap_free_numbers(
    logged: sessionmaker[Session],
) -> None:
    with logged() as session:
        numbers = sorted(session.scalars(select(Incident.number)))
    year = T0.year
    assert numbers == [f"FH-{year}-{n:04d}" for n in range(1, PROCESSES * EACH + 1)]


@pytest.mark.slow
def test_the_audit_chain_stays_intact_under_concurrent_logging(
    logged: sessionmaker[Session],
) -> None:
    with logged() as session:
        result = verify(session)
    assert result.ok, result.describe()


def test_the_year_of_the_number_is_the_bureaus_local_year(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    # 2026-12-31T16:30Z is already 2027 in Asia/Shanghai: the number follows local time.
    policy = load_policy()
    new_year = datetime.fromisoformat("2026-12-31T16:30:00+00:00")
    data = IncidentInput.parse(
        {"title": "跨年", "category": "other", "detected_at": new_year.isoformat()}
    )
    duty = any_org["duty"]
    with transaction(any_factory) as session:
        created = open_incident(
            session, data=data, actor=Actor(duty.id, "duty", "api"), now=new_year, policy=policy
        )
        number = created.number
    assert number == "FH-2027-0001"
