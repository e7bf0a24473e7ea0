"""A fast bulk populate: N incidents with their clocks, on a scratch database of either engine.

The read benches (``ui_bench``, ``dashboard_queries``) share it. On a migrated database
(migrated here if it is not) it loads the demo organisation, its duty rosters and
passwords through the ordinary use cases, with 20 more departments and 100 more systems,
each used by two departments, so the visibility filter has work. Then, in one
transaction and without the ORM, ``N`` incidents spread over three years before ``now``:

- about 1.6 % still open (a quarter of the last 30 days' incidents, 1 % of the older
  ones), of every grade; a third of them nobody has acknowledged, some reopened, one in
  seven of the acknowledged ones regraded upwards with a second chain still waiting for
  acknowledgement; a few resolved and owing the final report; the rest closed, some
  after a regrade (two chains, a grade change);
- each with its clock (handled promptly or not), escalation chain(s), the grade's
  reporting obligations (met, late; for open incidents missed, met or pending), the
  timers (for a closed incident the fired first page and its breaches; for an open one
  every page and alert still ahead), one sent notification per fired first page, and
  its systems;
- titles of a place and what happened there (``PLACES``, ``WHAT``);
- audit events (``incident.created``) for the open incidents and those of the last week,
  hashed and chained under the audit key of the environment (or the one given), the head
  moved one event at a time as the database's trigger wants: ``fenghuo audit verify``
  passes on the result. The older incidents have no event of their own.

PostgreSQL loads through ``COPY`` (psycopg's ``cursor.copy``), SQLite through
``executemany`` with the journal off and ``synchronous=OFF`` for the load only (a
scratch file: a crash loses it whole). On both, the big tables' secondary indexes are
dropped for the load and created again from their own definitions afterwards (faster
than maintaining them row by row), then ``VACUUM ANALYZE`` / ``ANALYZE``. The data are
a function of ``seed`` and ``n``.

    .venv/bin/python bench/populate.py --incidents 1000000 --engine both [--keep]
    .venv/bin/python bench/populate.py --url postgresql+psycopg://…/db --incidents 100000

From another bench::

    from bench.populate import populate, scratch_database
    with scratch_database("sqlite") as url:
        populate(url, 100_000, seed=1)
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import harness  # noqa: E402,F401  (the benches' audit key: a kept database verifies in them)
import yaml  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.migrate import upgrade  # noqa: E402
from config.audit_key import Keyring, keyring_from_environment  # noqa: E402
from config.policy import Policy, format_duration, load_policy  # noqa: E402
from escalation import tallies  # noqa: E402
from incidents.audit import GENESIS, bind_keyring, compute_hash, head_message, system_actor  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.grading import GRADES  # noqa: E402
from incidents.models import CATEGORIES  # noqa: E402
from incidents.org import Department, Person, System  # noqa: E402

#: The instant the data are built around (a Friday, 10:00 in Beijing).
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
PASSWORD = "bench-password"  # a throwaway database
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SPAN = timedelta(days=3 * 365)
EXTRA_DEPARTMENTS = 20
EXTRA_SYSTEMS = 100
GRADE_WEIGHTS = {"general": 80, "relatively_major": 15, "major": 4, "especially_major": 1}
OPEN_RECENT, OPEN_OLDER = 0.25, 0.01  # shares still open: last 30 days, before
RECENT = timedelta(days=30)
AUDITED = timedelta(days=7)  # incidents this recent (and every open one) get an event
# The tables the load writes to, whose secondary indexes are rebuilt after it.
BIG_TABLES = (
    "incident",
    "incident_system",
    "grade_change",
    "incident_clock",
    "escalation_chain",
    "obligation",
    "timer",
    "notification",
    "audit_event",
)
# Titles as duty officers write them: where, then what (勒索 and 篡改 among the words
# people search for; one in a thousand titles has the rare 供应链投毒).
PLACES = (
    *(f"业务系统{y:03d}" for y in range(1, 41)),
    *("局门户网站", "交通管理综合信息平台", "财务管理系统", "协同办公系统", "办公终端"),
    *("视频监控平台", "数据共享交换平台", "政务服务网", "邮件系统", "核心交换机"),
)
WHAT = (
    *("遭勒索病毒加密", "首页被篡改", "疑似数据泄露", "遭DDoS攻击", "出现弱口令登录"),
    *("感染挖矿木马", "收到钓鱼邮件", "被植入网页木马", "异常外联", "服务中断"),
    *("配置被违规修改", "存在高危漏洞", "账号异常登录", "断电宕机", "链路故障"),
    *("数据库被拖库", "勒索信息弹窗", "页面被篡改为赌博内容", "暴力破解告警", "证书过期"),
) * 50 + ("遭供应链投毒",)
ORG_LOGINS = ("duty", "trafhead", "cchead", "deputy", "director")
BENCH_LOGINS = ("duty", "trafhead")  # who gets ``password``: the benches' two viewers


@dataclass
class Populated:
    """What ``populate`` wrote, for the bench that called it."""

    url: str
    incidents: int
    open: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    password: str = PASSWORD


# --- the organisation ---------------------------------------------------------------------


def _organisation() -> str:
    """The demo organisation with 20 more departments and 100 more systems."""
    doc = yaml.safe_load((ROOT / "app" / "demo" / "organisation.yaml").read_text(encoding="utf-8"))
    extra = [f"bench{d:02d}" for d in range(1, EXTRA_DEPARTMENTS + 1)]
    doc["departments"] += [
        {
            "code": code,
            "name": f"业务处{d:02d}",
            "name_en": f"Division {d:02d}",
            "kind": "business",
            "parent": "leadership",
            "competent": "office",
        }
        for d, code in enumerate(extra, start=1)
    ]
    users = ["traffic", "finance", "legal", "office", *extra]
    doc["systems"] += [
        {
            "code": f"sys{y:03d}",
            "name": f"业务系统{y:03d}",
            "owner": users[y % len(users)],
            "operator": "cc",
            "users": sorted({users[y % len(users)], users[(y * 7 + 3) % len(users)]}),
            "mlps_level": 2 + y % 2,
        }
        for y in range(1, EXTRA_SYSTEMS + 1)
    ]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _load_organisation(url: str, keyring: Keyring, now: datetime, password: str) -> None:
    from app.demo.rosters import seed_demo_rosters
    from escalation.organisation import import_organisation
    from incidents.accounts import set_password

    engine = make_engine(url)
    bind_keyring(engine, keyring)
    actor = system_actor("cli")
    try:
        with Session(engine) as session, session.begin():
            import_organisation(session, _organisation(), actor=actor, now=now)
            seed_demo_rosters(session, actor=actor, now=now)
            for person in session.scalars(select(Person).where(Person.login.in_(BENCH_LOGINS))):
                set_password(session, person=person, password=password, actor=actor, now=now)
    finally:
        engine.dispose()


# --- the rows -----------------------------------------------------------------------------


def _grade(rng: random.Random) -> str:
    return rng.choices(list(GRADE_WEIGHTS), weights=list(GRADE_WEIGHTS.values()))[0]


def _higher(grade: str) -> str:
    return GRADES[min(GRADES.index(grade) + 1, len(GRADES) - 1)]


class _Ids:
    """The next free id per table."""

    def __init__(self, start: dict[str, int]) -> None:
        self._next = dict(start)

    def take(self, table: str) -> int:
        value = self._next.get(table, 1)
        self._next[table] = value + 1
        return value


COLUMNS: dict[str, tuple[str, ...]] = {
    "incident": (
        "id", "number", "year", "seq", "title", "description", "category", "grade",
        "status", "detected_at", "occurred_at", "location", "responsible_department_id",
        "reporter_id", "handling_lead_id", "caused_by_id", "impact_json", "suggested_grade",
        "suggestion_json", "below_suggestion", "acknowledged_at", "acknowledged_by_id",
        "handling_started_at", "resolved_at", "closed_at", "reopen_count", "version",
        "created_at", "updated_at",
    ),
    "incident_system": ("incident_id", "system_id"),
    "grade_change": ("id", "incident_id", "from_grade", "to_grade", "reason", "actor_id", "at"),
    "incident_clock": (
        "incident_id", "grade", "snapshot_json", "reporter_category", "timezone",
        "handling_due_at", "handled_promptly", "started_at", "updated_at",
    ),
    "escalation_chain": (
        "id", "incident_id", "generation", "grade", "steps_json", "reason", "started_at",
        "acknowledged_at", "acknowledged_by_id", "ended_at", "end_reason",
    ),
    "obligation": (
        "id", "incident_id", "name", "to", "title_zh", "title_en", "start", "window", "grade",
        "due_at", "status", "fulfilled_at", "report_id", "late_reason", "breached_at",
        "waived_reason", "created_at", "updated_at",
    ),
    "timer": (
        "id", "incident_id", "kind", "due_at", "status", "chain_id", "step_index",
        "repeat_index", "until", "obligation_id", "fraction", "receipt_id", "notice",
        "fired_at", "cancelled_at", "cancel_reason", "recipients_json", "note", "created_at",
    ),
    "notification": (
        "id", "incident_id", "timer_id", "person_id", "channel", "destination_id", "kind",
        "status", "attempts", "next_attempt_at", "lease_token", "leased_by", "last_error",
        "sent_at", "external_id", "fallback_of_id", "fallback_since", "receipt_id",
        "payload_json", "text_zh", "text_en", "created_at", "updated_at",
    ),
    "audit_event": (
        "id", "seq", "at", "actor_id", "actor_login", "source", "kind", "subject_type",
        "subject_id", "incident_id", "data", "prev_hash", "hash", "key_id",
    ),
}  # fmt: skip


@dataclass
class _World:
    """What the generator needs from the organisation and the policy."""

    policy: Policy
    departments: list[int]  # business departments, responsible for incidents
    systems: list[int]
    duty: int
    heads: list[int]  # who acknowledges
    keyring: Keyring
    audit_seq: int
    audit_hash: str
    ids: _Ids


def _generate(
    world: _World, n: int, seed: int, now: datetime
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every row, as (table, values in ``COLUMNS`` order), incident by incident."""
    rng = random.Random(seed)
    now = now.astimezone(UTC).replace(tzinfo=None)  # naive UTC inside: see _Sink
    policy = world.policy
    cat = policy.reporter_category
    snapshots = {g: json.dumps(policy.grade(g).to_dict(), ensure_ascii=False) for g in GRADES}
    steps = {
        g: json.dumps([s.to_dict() for s in policy.grade(g).chain], ensure_ascii=False)
        for g in GRADES
    }
    # Per grade: its pages (step, repeat, offset, stop condition) and obligations.
    pages = {
        g: [
            (index, repeat, offset, step.until)
            for index, step in enumerate(policy.grade(g).chain)
            for repeat, offset in enumerate(step.offsets())
        ]
        for g in GRADES
    }
    owed = {g: [(spec, spec.window(cat)) for spec in policy.grade(g).obligations] for g in GRADES}
    windows = {w: format_duration(w) for g in GRADES for _s, w in owed[g]}
    categories = list(CATEGORIES)
    key = world.keyring.current
    seq_by_year: dict[int, int] = {}
    ids = world.ids
    start = now - SPAN
    # Sorted detection instants: ids rise with time, as logging makes them.
    offsets = sorted(rng.random() for _ in range(n))
    for k, offset in enumerate(offsets, start=1):
        detected = start + SPAN * offset - timedelta(minutes=5)
        detected = detected.replace(microsecond=0)
        age = now - detected
        grade = _grade(rng)
        gp = policy.grade(grade)
        still_open = rng.random() < (OPEN_RECENT if age < RECENT else OPEN_OLDER)
        created = detected + timedelta(minutes=rng.randint(1, 20))
        unacked = still_open and rng.random() < 1 / 3
        acknowledged = None if unacked else created + timedelta(seconds=rng.randint(30, 3600))
        if acknowledged is not None and acknowledged > now:
            acknowledged, unacked = None, True
        regraded = (
            grade != GRADES[-1]
            and acknowledged is not None
            and rng.random() < (1 / 7 if still_open else 0.05)
        )
        resolved: datetime | None = None
        status = "closed"
        if still_open:
            status = "new" if unacked else rng.choice(("acknowledged", "handling", "handling"))
            if not unacked and rng.random() < 0.08:
                status = "reopened"
            elif not unacked and rng.random() < 0.1:
                status = "resolved"
                resolved = max(acknowledged or created, now - age / 2)
        else:
            spread = gp.handling_target.total_seconds()
            resolved = detected + timedelta(seconds=int(spread * rng.uniform(0.2, 1.3)))
            if acknowledged is not None and resolved < acknowledged:
                resolved = acknowledged + timedelta(minutes=10)
        closed = resolved + timedelta(hours=2) if status == "closed" and resolved else None
        final_grade = _higher(grade) if regraded else grade
        incident_id = ids.take("incident")
        year = created.replace(tzinfo=UTC).astimezone(policy.tz).year
        seq_by_year[year] = seq_by_year.get(year, 0) + 1
        ack_by = rng.choice(world.heads) if acknowledged else None
        yield (
            "incident",
            (
                incident_id,
                f"FH-{year}-{seq_by_year[year]:05d}",
                year,
                seq_by_year[year],
                f"{rng.choice(PLACES)}{rng.choice(WHAT)}",
                "",
                categories[k % len(categories)],
                final_grade,
                status,
                detected,
                None,
                "",
                rng.choice(world.departments),
                world.duty,
                ack_by,
                None,
                "{}",
                grade,
                "{}",
                False,
                acknowledged,
                ack_by,
                acknowledged,
                resolved,
                closed,
                1 if status == "reopened" else 0,
                1,
                created,
                closed or resolved or acknowledged or created,
            ),
        )
        for system in {rng.choice(world.systems) for _ in range(rng.choice((1, 1, 2)))}:
            yield "incident_system", (incident_id, system)
        upgraded_at = (acknowledged or created) + timedelta(minutes=30) if regraded else None
        if upgraded_at is not None and upgraded_at > now:
            upgraded_at = now - timedelta(minutes=1)
        yield (
            "grade_change",
            (ids.take("grade_change"), incident_id, None, grade, "", world.duty, created),
        )
        if upgraded_at is not None:
            yield (
                "grade_change",
                (
                    ids.take("grade_change"),
                    incident_id,
                    grade,
                    final_grade,
                    "影响范围扩大",
                    world.duty,
                    upgraded_at,
                ),
            )
        fgp = policy.grade(final_grade)
        handling_due = detected + fgp.handling_target
        yield (
            "incident_clock",
            (
                incident_id,
                final_grade,
                snapshots[final_grade],
                cat,
                policy.timezone,
                handling_due,
                None if status != "closed" or resolved is None else resolved <= handling_due,
                created,
                upgraded_at or created,
            ),
        )
        # Chains: the first, ended by the upgrade or the resolution; the second after an
        # upgrade, waiting for acknowledgement while the incident is open.
        first_chain = ids.take("escalation_chain")
        first_end = upgraded_at or resolved
        yield (
            "escalation_chain",
            (
                first_chain,
                incident_id,
                1,
                grade,
                steps[grade],
                "opened",
                created,
                acknowledged,
                ack_by,
                first_end,
                "upgraded" if upgraded_at else ("resolved" if resolved else ""),
            ),
        )
        chain_ids = [(first_chain, grade, created)]
        if upgraded_at is not None:
            second = ids.take("escalation_chain")
            second_ack = None if still_open else upgraded_at + timedelta(minutes=5)
            yield (
                "escalation_chain",
                (
                    second,
                    incident_id,
                    2,
                    final_grade,
                    steps[final_grade],
                    "upgraded",
                    upgraded_at,
                    second_ack,
                    ack_by if second_ack else None,
                    resolved,
                    "resolved" if resolved else "",
                ),
            )
            chain_ids.append((second, final_grade, upgraded_at))
        # Obligations of the final grade, from detection (or from the resolution).
        for spec, window in owed[final_grade]:
            opened = detected if spec.start == "detected" else resolved
            due = opened + window if opened is not None else None
            fulfilled = breached = None
            late_reason = ""
            if status == "closed":
                assert opened is not None and due is not None
                if rng.random() < 0.06:
                    state = "late"
                    fulfilled = due + timedelta(minutes=rng.randint(5, 120))
                    breached, late_reason = due, "值班电话故障"
                else:
                    state = "met"
                    fulfilled = opened + window * rng.uniform(0.1, 0.95)
            elif due is not None and due <= now:
                if rng.random() < 0.5:
                    state, breached = "missed", due
                else:
                    state, fulfilled = "met", opened + window * rng.uniform(0.1, 0.95)
            else:
                state = "pending"
            obligation_id = ids.take("obligation")
            yield (
                "obligation",
                (
                    obligation_id,
                    incident_id,
                    spec.name,
                    spec.to,
                    spec.title_zh,
                    spec.title_en,
                    spec.start,
                    windows[window],
                    final_grade,
                    due,
                    state,
                    fulfilled,
                    None,
                    late_reason,
                    breached,
                    "",
                    created,
                    fulfilled or breached or created,
                ),
            )
            if due is None:
                continue
            if state == "pending":
                for fraction in fgp.warn_at:
                    at = due - window + window * fraction
                    if at > now:
                        yield (
                            "timer",
                            _timer(
                                ids,
                                incident_id,
                                "warning",
                                at,
                                created,
                                obligation_id=obligation_id,
                                fraction=fraction,
                            ),
                        )
                yield (
                    "timer",
                    _timer(ids, incident_id, "breach", due, created, obligation_id=obligation_id),
                )
            elif breached is not None:
                yield (
                    "timer",
                    _timer(
                        ids,
                        incident_id,
                        "breach",
                        due,
                        created,
                        obligation_id=obligation_id,
                        status="fired",
                        fired_at=due,
                    ),
                )
        # Timers of the chain: the first page fired at once (and its notification); for
        # an open incident nobody acknowledged, every later page still ahead.
        waiting = still_open and (acknowledged is None or len(chain_ids) > 1)
        for chain_id, chain_grade, chain_start in chain_ids:
            ahead = waiting and chain_id == chain_ids[-1][0]
            for index, repeat, offset, until in pages[chain_grade]:
                due_at = chain_start + offset
                if index == 0 and repeat == 0:
                    timer_id = ids.take("timer")
                    yield (
                        "timer",
                        _timer_values(
                            timer_id,
                            incident_id,
                            "step",
                            due_at,
                            chain_start,
                            chain_id=chain_id,
                            step_index=0,
                            repeat_index=0,
                            until=until,
                            status="fired",
                            fired_at=due_at,
                        ),
                    )
                    yield (
                        "notification",
                        _notification(ids, incident_id, timer_id, world.duty, due_at),
                    )
                elif ahead and due_at > now:
                    yield (
                        "timer",
                        _timer(
                            ids,
                            incident_id,
                            "step",
                            due_at,
                            chain_start,
                            chain_id=chain_id,
                            step_index=index,
                            repeat_index=repeat,
                            until=until,
                        ),
                    )
        if still_open or age < AUDITED:
            data = json.dumps(
                {"grade": grade, "number": f"FH-{year}-{seq_by_year[year]:05d}"},
                sort_keys=True,
                ensure_ascii=False,
                separators=(",", ":"),
            )
            world.audit_seq += 1
            digest = compute_hash(
                world.audit_hash,
                key=key,
                seq=world.audit_seq,
                at=created.replace(tzinfo=UTC),
                actor_login="duty",
                actor_id=world.duty,
                source="web",
                kind="incident.created",
                subject_type="incident",
                subject_id=incident_id,
                incident_id=incident_id,
                data=data,
            )
            yield (
                "audit_event",
                (
                    ids.take("audit_event"),
                    world.audit_seq,
                    created,
                    world.duty,
                    "duty",
                    "web",
                    "incident.created",
                    "incident",
                    incident_id,
                    incident_id,
                    data,
                    world.audit_hash,
                    digest,
                    key.key_id,
                ),
            )
            world.audit_hash = digest
    yield "_counters", tuple(seq_by_year.items())


def _timer_values(
    timer_id: int,
    incident_id: int,
    kind: str,
    due_at: datetime,
    created: datetime,
    *,
    status: str = "pending",
    chain_id: int | None = None,
    step_index: int | None = None,
    repeat_index: int | None = None,
    until: str | None = None,
    obligation_id: int | None = None,
    fraction: float | None = None,
    fired_at: datetime | None = None,
) -> tuple[Any, ...]:
    recipients = '[{"target":"role:duty_officer"}]' if fired_at else None
    return (
        timer_id, incident_id, kind, due_at, status, chain_id, step_index, repeat_index,
        until, obligation_id, fraction, None, None, fired_at, None, "", recipients, "", created,
    )  # fmt: skip


def _timer(
    ids: _Ids, incident_id: int, kind: str, due_at: datetime, created: datetime, **fields: Any
) -> tuple[Any, ...]:
    return _timer_values(ids.take("timer"), incident_id, kind, due_at, created, **fields)


def _notification(
    ids: _Ids, incident_id: int, timer_id: int, person_id: int, at: datetime
) -> tuple[Any, ...]:
    return (
        ids.take("notification"), incident_id, timer_id, person_id, "inbox", None, "step",
        "sent", 1, at, None, None, "", at, None, None, None, None,
        f'{{"incident_id":{incident_id}}}', "请确认事件", "Please acknowledge", at, at,
    )  # fmt: skip


# --- the load -----------------------------------------------------------------------------


#: Per table, the positions of its time columns.
TIME_COLUMNS: dict[str, tuple[int, ...]] = {
    table: tuple(i for i, c in enumerate(columns) if c == "at" or c.endswith("_at"))
    for table, columns in COLUMNS.items()
}


class _Sink:
    """Writes rows table by table, in big chunks, to one engine's connection."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= 20_000:
            self.flush()

    def flush(self) -> None:
        """Every table's rows, parents before children (the foreign keys hold)."""
        for name in self.buffers:
            rows = self.buffers[name]
            if rows:
                self._write(name, rows)
                self.counts[name] += len(rows)
                self.buffers[name] = []

    def _write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        columns = COLUMNS[table]
        quoted = ", ".join(f'"{c}"' for c in columns)
        # The generator's times are naive UTC; written as text in each engine's form
        # (SQLAlchemy's SQLite DATETIME text, always with microseconds; timestamptz).
        suffix = "" if self.dialect == "sqlite" else "+00"
        times = TIME_COLUMNS[table]
        converted: list[Any] = rows
        if times:
            converted = []
            for row in rows:
                values = list(row)
                for i in times:
                    value = values[i]
                    if value is not None:
                        values[i] = value.isoformat(" ", "microseconds") + suffix
                converted.append(values)
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.connection.executemany(
                f"INSERT INTO {table} ({quoted}) VALUES ({marks})", converted
            )
            return
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
        ):
            for values in converted:
                copy.write_row(values)


def _secondary_indexes(connection: Any, dialect: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the big tables' indexes that no constraint owns."""
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in BIG_TABLES)
        rows = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            BIG_TABLES,
        ).fetchall()
        return [(str(name), str(sql)) for name, sql in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) AND NOT EXISTS ("
            " SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            " (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
            (list(BIG_TABLES),),
        )
        return [(str(name), str(sql)) for name, sql in cursor.fetchall()]


def _foreign_keys(connection: Any) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the big tables' foreign keys (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            (list(BIG_TABLES),),
        )
        return [(str(t), str(n), str(d)) for t, n, d in cursor.fetchall()]


def _world(url: str, policy: Policy, keyring: Keyring) -> _World:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            if session.scalar(text("SELECT count(*) FROM incident")):
                raise SystemExit("populate wants a database without incidents")
            departments = list(
                session.scalars(
                    select(Department.id).where(Department.kind == "business").order_by("id")
                )
            )
            systems = list(session.scalars(select(System.id).order_by(System.id)))
            people = dict(
                session.execute(
                    select(Person.login, Person.id).where(Person.login.in_(ORG_LOGINS))
                ).all()
            )
            head = session.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
            start = {}
            for table in COLUMNS:
                if "id" in COLUMNS[table]:
                    last = session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}"))
                    start[table] = 1 + int(last or 0)
    finally:
        engine.dispose()
    return _World(
        policy=policy,
        departments=departments,
        systems=systems,
        duty=people["duty"],
        heads=[people[p] for p in ("cchead", "deputy", "duty")],
        keyring=keyring,
        audit_seq=int(head.seq) if head else 0,
        audit_hash=str(head.hash) if head else GENESIS,
        ids=_Ids(start),
    )


def _connect(url: str) -> tuple[Any, str]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database), isolation_level=None)
        return conn, "sqlite"
    import psycopg

    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo), "postgresql"


def _advance_head(connection: Any, dialect: str, events: list[tuple[Any, ...]], key: Any) -> None:
    """Move the audit head over ``events`` one at a time (its trigger allows no jump)."""
    seq_at, hash_at = COLUMNS["audit_event"].index("seq"), COLUMNS["audit_event"].index("hash")
    moves = [
        (row[seq_at], row[hash_at], key.mac(head_message(row[seq_at], row[hash_at])))
        for row in events
    ]
    if not moves:
        return
    if dialect == "sqlite":
        connection.executemany(
            "UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1", moves
        )
    else:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE audit_head SET seq = %s, hash = %s, mac = %s WHERE id = 1", moves
            )


_STARTED = [time.perf_counter()]


def _phase(what: str) -> None:
    """Say how long the load has taken so far (to stderr: the benches print tables)."""
    print(f"  populate: {what} at {time.perf_counter() - _STARTED[0]:.1f} s", file=sys.stderr)


def _run(connection: Any, statements: str | Sequence[str]) -> None:
    for statement in [statements] if isinstance(statements, str) else statements:
        connection.execute(statement)


def _load(url: str, world: _World, n: int, seed: int, now: datetime) -> dict[str, int]:
    connection, dialect = _connect(url)
    try:
        if dialect == "sqlite":
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("PRAGMA cache_size=-400000")
            connection.execute("PRAGMA temp_store=MEMORY")
            connection.execute("BEGIN")
        else:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
        # PostgreSQL's advice for a bulk load: indexes and foreign keys dropped, made
        # again afterwards (one sort per index, one join per key, not one probe per row).
        # SQLite's connection here leaves foreign keys off.
        # The figures' counters are recounted after the load, set by set, rather than
        # kept row by row by their triggers during it.
        _run(
            connection,
            tallies.PG_DROP
            if dialect == "postgresql"
            else [f"DROP TRIGGER IF EXISTS {name}" for name in tallies.SQLITE_TRIGGER_NAMES],
        )
        indexes = _secondary_indexes(connection, dialect)
        keys = _foreign_keys(connection) if dialect == "postgresql" else []
        for table, name, _definition in keys:
            connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _sql in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        sink = _Sink(connection, dialect)
        counters: tuple[tuple[int, int], ...] = ()
        events: list[tuple[Any, ...]] = []
        for table, row in _generate(world, n, seed, now):
            if table == "_counters":
                counters = row
                continue
            if table == "audit_event":
                events.append(row)
            sink.add(table, row)
        sink.flush()
        _phase("rows written")
        _advance_head(connection, dialect, events, world.keyring.current)
        for year, last in counters:
            mark = "?" if dialect == "sqlite" else "%s"
            connection.execute(
                f"INSERT INTO incident_counter (year, last) VALUES ({mark}, {mark})", (year, last)
            )
        _phase("audit head moved")
        for _name, sql in indexes:
            connection.execute(sql)
        _phase(f"{len(indexes)} indexes built")
        for table, name, definition in keys:
            connection.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        if keys:
            _phase(f"{len(keys)} foreign keys checked")
        _run(connection, tallies.rebuild_statements(dialect))
        _run(
            connection,
            tallies.pg_triggers() if dialect == "postgresql" else tallies.sqlite_triggers(),
        )
        _phase("figures' counters recounted")
        if dialect == "postgresql":
            for table in BIG_TABLES:
                if "id" not in COLUMNS[table]:
                    continue
                connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        if dialect == "sqlite":
            connection.execute("COMMIT")
            connection.execute("ANALYZE")
            connection.execute("PRAGMA journal_mode=WAL")
        else:
            connection.commit()
            connection.autocommit = True
            connection.execute("VACUUM ANALYZE")
        _phase("analyzed")
        return sink.counts
    finally:
        connection.close()


def populate(
    url: str,
    n: int,
    seed: int = 1,
    *,
    now: datetime = NOW,
    keyring: Keyring | None = None,
    password: str = PASSWORD,
    policy: Policy | None = None,
) -> Populated:
    """Migrate ``url`` if need be, load the organisation and ``n`` incidents (module doc).

    ``keyring``: the audit key the events are hashed under (default: the environment's,
    as ``fenghuo audit verify`` reads it); ``password`` is every bench login's.
    """
    started = time.perf_counter()
    keys = keyring or keyring_from_environment()
    _STARTED[0] = started
    upgrade(url)
    _phase("migrated")
    _load_organisation(url, keys, now, password)
    _phase("organisation loaded")
    world = _world(url, policy or load_policy(ROOT / "config" / "policy.toml"), keys)
    rows = _load(url, world, n, seed, now)
    opened = _open_count(url)
    return Populated(url, n, opened, time.perf_counter() - started, rows, password)


def _open_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(text("incident"))
                    .where(text("status IN ('new', 'acknowledged', 'handling', 'reopened')"))
                )
                or 0
            )
    finally:
        engine.dispose()


@contextmanager
def scratch_database(engine: str, *, pg_admin: str = PG_ADMIN, keep: bool = False) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in a temporary folder, or a new
    PostgreSQL database on ``pg_admin``'s server, removed afterwards unless ``keep``."""
    if engine == "sqlite":
        folder = tempfile.mkdtemp(prefix="fenghuo-bench-")
        try:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        finally:
            if not keep:
                import shutil

                shutil.rmtree(folder, ignore_errors=True)
        return
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    name = f"fh_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_admin.rsplit("/", 1)[0] + "/" + name
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _summary(done: Populated) -> str:
    rows = ", ".join(f"{t} {c:,}" for t, c in done.rows.items() if c)
    return (
        f"{make_url(done.url).get_backend_name()}: {done.incidents:,} incidents "
        f"({done.open:,} open) in {done.seconds:.1f} s — {rows}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--url", help="populate this database instead of a scratch one")
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--at",
        default=NOW.isoformat(),
        help="the instant the data are built around (ISO 8601, or 'now': the wall clock's)",
    )
    args = parser.parse_args(argv)
    at = datetime.now(UTC) if args.at == "now" else datetime.fromisoformat(args.at)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.url:
        print(_summary(populate(args.url, args.incidents, args.seed, now=at)))
        return 0
    engines: Iterable[str] = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    for engine in engines:
        with scratch_database(engine, pg_admin=args.pg_admin, keep=args.keep) as url:
            print(_summary(populate(url, args.incidents, args.seed, now=at)))
            if args.keep:
                print(f"  kept: {url}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
