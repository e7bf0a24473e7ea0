"""The all-time figures' counters equal the rows, whatever happened and in whatever order.

The counters (``escalation.tallies``) are kept by triggers on both engines; the check
(``escalation.stats.differences``) recounts the same figures from the rows, reading every
incident. After each step of a random sequence of use cases — open, acknowledge, start
handling, file reports (on time, late), the sweep's breaches, regrade up and down,
resolve, close, reopen — the two agree.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from escalation import response
from escalation.models import Obligation
from escalation.stats import counted, differences, figures
from escalation.sweep import sweep
from escalation.tallies import FiguresRollup, rebuild
from incidents.errors import FenghuoError
from incidents.grading import GRADES
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import DEFAULT_POLICY, FINAL, INITIAL, open_
from tests.statements import executed

ZONE = DEFAULT_POLICY.tz
ACTIONS = (
    *("open", "open", "ack", "handle", "handle", "file", "file_final", "sweep", "regrade"),
    *("resolve", "resolve", "close", "close", "reopen"),
)


def _one(s: Session, rng: random.Random, statuses: tuple[str, ...]) -> int | None:
    ids = list(s.scalars(select(Incident.id).where(Incident.status.in_(statuses))))
    return rng.choice(ids) if ids else None


def _step(
    factory: sessionmaker[Session], org: dict[str, Person], rng: random.Random, minute: int
) -> str:
    """One use case on a random incident at ``T0 + minute``; its name (or why none ran)."""
    now = T0 + timedelta(minutes=minute)
    action = rng.choice(ACTIONS)
    if action == "open":
        grade = rng.choice(GRADES)
        open_(factory, org, grade, at=now, detected_at=now - timedelta(minutes=rng.randint(0, 90)))
        return action
    if action == "sweep":
        sweep(factory, now=now, policy=DEFAULT_POLICY)
        return action
    lead = actor_for(org["cchead"])
    try:
        with factory() as s, s.begin():
            if action == "resolve":
                incident_id = _one(s, rng, ("handling",))
            elif action == "handle":
                incident_id = _one(s, rng, ("acknowledged", "reopened"))
            elif action in ("ack", "regrade", "file"):
                incident_id = _one(s, rng, OPEN_STATUSES)
            elif action in ("close", "file_final"):
                incident_id = _one(s, rng, ("resolved",))
            else:
                incident_id = _one(s, rng, ("resolved", "closed"))
            if incident_id is None:
                return f"{action}: none"
            if action == "ack":
                response.acknowledge(s, incident_id=incident_id, actor=lead, now=now)
            elif action == "handle":
                response.start_handling(s, incident_id=incident_id, actor=lead, now=now)
            elif action == "regrade":
                grade = rng.choice(GRADES)
                response.regrade(
                    s,
                    incident_id=incident_id,
                    grade=grade,
                    reason="影响范围变化",
                    actor=lead,
                    now=now,
                    policy=DEFAULT_POLICY,
                )
            elif action == "resolve":
                response.resolve(
                    s, incident_id=incident_id, actor=lead, now=now, policy=DEFAULT_POLICY
                )
            elif action == "close":
                response.close(s, incident_id=incident_id, actor=lead, now=now)
            elif action == "reopen":
                response.reopen(
                    s,
                    incident_id=incident_id,
                    reason="复发",
                    actor=lead,
                    now=now,
                    policy=DEFAULT_POLICY,
                )
            else:
                response.file_report(
                    s,
                    incident_id=incident_id,
                    kind="initial" if action == "file" else "final",
                    items=INITIAL if action == "file" else FINAL,
                    actor=actor_for(org["duty"]),
                    now=now,
                    policy=DEFAULT_POLICY,
                    late_reason="值班交接延误" if rng.random() < 0.8 else None,
                )
    except FenghuoError as exc:  # refused (nothing owed, wrong state…): rolled back
        return f"{action}: {exc.code}"
    return action


def test_the_counters_equal_the_rows_after_any_sequence_of_use_cases(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    rng = random.Random(11)
    done: list[str] = []
    minute = 0
    for _ in range(90):
        minute += rng.choice((1, 5, 30, 90))
        done.append(_step(any_factory, any_org, rng, minute))
        with any_factory() as s:
            now = T0 + timedelta(minutes=minute)
            assert differences(s, now) == [], done
            # …and at an instant later, when pending reports have passed their deadline.
            assert differences(s, now + timedelta(hours=5)) == [], done
    # The sequence did exercise what the counters count.
    ran = {d for d in done if ":" not in d}
    assert {"open", "ack", "file", "sweep", "regrade", "resolve", "close"} <= ran, ", ".join(done)
    with any_factory() as s:
        kept = counted(s, T0 + timedelta(minutes=minute))
    assert sum(kept.reported_as_required.values()) == done.count("open")
    assert any(r["missed"] for r in kept.reports.values())
    assert kept.mean_time_to_acknowledge_seconds is not None


def test_a_pending_report_past_its_deadline_counts_as_not_reported_before_the_sweep(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    open_(any_factory, any_org, "major")
    with any_factory() as s:
        assert counted(s, T0).reported_as_required == {"yes": 0, "not_yet_known": 1, "no": 0}
        later = counted(s, T0 + timedelta(hours=2))  # the internal report (1 h) is overdue
        assert later.reported_as_required == {"yes": 0, "not_yet_known": 0, "no": 1}
        assert differences(s, T0 + timedelta(hours=2)) == []


def test_the_figures_read_no_whole_table(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    """The figures come from the rollup's rows and indexed sets: on SQLite, no statement
    that ``figures`` issues scans a table of the record (PostgreSQL's plans depend on
    the table's size: bench/dashboard_queries.py reads them at 1,000,000)."""
    open_(factory, org, "major")
    with factory() as s:
        conn = s.connection()
        with executed(conn) as sent:
            figures(s, now=T0, tz=ZONE)
        seen = [sql for sql, _ in sent if sql.lstrip().upper().startswith("SELECT")]
        scans = []
        for statement in seen:
            # Parameters are not needed for the plan's shape: NULLs stand in.
            count = statement.count("?")
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, (None,) * count):
                step = str(row[-1])
                big = ("incident ", "obligation ", "incident_clock ", "incident_tally ")
                if step.startswith("SCAN") and any(f"SCAN {t}" in step + " " for t in big):
                    scans.append((statement, step))
        assert scans == []


def test_rebuild_recounts_counters_gone_wrong(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    incident_id = open_(any_factory, any_org, "relatively_major")
    with any_factory() as s, s.begin():
        # Past the triggers: a tally no longer true.
        s.execute(update(FiguresRollup).values(incidents=FiguresRollup.incidents + 5))
    with any_factory() as s:
        assert differences(s, T0)
    with any_factory() as s, s.begin():
        rebuild(s.connection())
    with any_factory() as s:
        assert differences(s, T0) == []
        # The triggers are back: a change still moves the counters.
    with any_factory() as s, s.begin():
        s.execute(
            update(Obligation)
            .where(Obligation.incident_id == incident_id)
            .values(status="missed", breached_at=T0)
        )
    with any_factory() as s:
        assert differences(s, T0) == []
        assert s.scalar(text("SELECT sum(reports_missed) FROM figures_rollup")) >= 1


def test_the_stats_commands_check_and_recount(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_DEMO_PASSWORD": "demo-pass-1",
    }

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=env)
        return result.exit_code, result.output

    assert run("demo", "seed")[0] == 0
    assert run("stats", "check") == (0, "the figures' counters agree with the rows\n")
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO figures_rollup (grade, incidents) VALUES ('major', 3)"))
    engine.dispose()
    code, out = run("stats", "check")
    assert code == 1
    assert "reported as required: counted {'yes': 3" in out
    assert run("stats", "recount")[0] == 0
    assert run("stats", "check")[0] == 0
