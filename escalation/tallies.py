"""The all-time figures as counters, kept by the database in the transaction of each change.

``escalation.stats`` shows, over the whole record, the reports met, filed late and missed
per grade, incidents reported as required or not, mean times to acknowledge and to
resolve, and the share handled promptly. Counting them from the rows read every incident
and every obligation on each dashboard refresh: about a second at 300,000 incidents. They
are kept instead in two tables, by triggers (SQLite triggers, PostgreSQL plpgsql), so
they move in the very statement that changes the record, whatever wrote it — a use case
through the ORM, a set-based ``UPDATE`` of the sweep, a multi-row ``INSERT`` of
``clocks.start``, a migration, an operator's SQL:

- ``incident_tally`` — one row per incident: its current grade, how many of its
  obligations are met, late, missed and pending, its seconds to acknowledge (logging to
  acknowledgement) and to resolve (detection to resolution) when both ends are known,
  and whether it was handled promptly (from ``incident_clock``). Kept by triggers on
  ``incident``, ``obligation`` and ``incident_clock``.
- ``figures_rollup`` — one row per grade: the sums of those over the incidents of that
  grade (``ROLLUP``), and how many incidents have a report failed (late or missed) or,
  with none failed, one still pending. Kept by triggers on ``incident_tally``: a regrade
  moves the incident's whole share from one grade's row to the other's.

The all-time figures are then a sum over four rows, plus, for "reported as required",
the one part that depends on the time asked: incidents whose only failure is a pending
report past its deadline that the sweep has not marked yet, counted from the pending
obligations' partial index (``escalation.stats``).

On PostgreSQL the triggers first lock the audit chain's head row, the lock every writer
takes to append its events (``incidents.audit``): the rollup's four hot rows then change
only under it, so they add no lock order of their own and cannot deadlock two writers
that took head and rollup in opposite orders. (On SQLite every writer holds the write
lock.) A change of that locking in ``incidents.audit`` must change ``_PG_LOCK`` too.

``rebuild`` recounts both tables from the rows (migration 0016's backfill, the bulk
populate of ``bench/``); ``escalation.stats.recount`` recomputes the figures from the
rows the old way, and ``differences`` compares the two (``fenghuo stats check``, the
tests' invariant).
"""

# The SQL below is assembled from this module's own constant names, never from input.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Boolean, Connection, Float, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class IncidentTally(Base):
    """Per incident, what the all-time figures count of it (kept by triggers)."""

    __tablename__ = "incident_tally"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    grade: Mapped[str] = mapped_column(String(32))
    obligations_met: Mapped[int] = mapped_column(Integer, default=0)
    obligations_late: Mapped[int] = mapped_column(Integer, default=0)
    obligations_missed: Mapped[int] = mapped_column(Integer, default=0)
    obligations_pending: Mapped[int] = mapped_column(Integer, default=0)
    acknowledge_seconds: Mapped[float | None] = mapped_column(Float)
    resolve_seconds: Mapped[float | None] = mapped_column(Float)
    handled_promptly: Mapped[bool | None] = mapped_column(Boolean)


class FiguresRollup(Base):
    """Per grade, the sums of the incident tallies of that grade (kept by triggers)."""

    __tablename__ = "figures_rollup"

    grade: Mapped[str] = mapped_column(String(32), primary_key=True)
    incidents: Mapped[int] = mapped_column(Integer, default=0)
    reports_met: Mapped[int] = mapped_column(Integer, default=0)
    reports_late: Mapped[int] = mapped_column(Integer, default=0)
    reports_missed: Mapped[int] = mapped_column(Integer, default=0)
    incidents_failed: Mapped[int] = mapped_column(Integer, default=0)
    incidents_owing: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged: Mapped[int] = mapped_column(Integer, default=0)
    acknowledge_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    resolve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    promptly_yes: Mapped[int] = mapped_column(Integer, default=0)
    promptly_no: Mapped[int] = mapped_column(Integer, default=0)


# --- what is counted, once for both engines -------------------------------------------

#: An obligation's share of its incident's tally, over an obligation row ``{r}``.
TALLY: Final[dict[str, str]] = {
    f"obligations_{status}": f"CASE WHEN {{r}}.status = '{status}' THEN 1 ELSE 0 END"
    for status in ("met", "late", "missed", "pending")
}
_FAILED = "{r}.obligations_late + {r}.obligations_missed"
#: An incident tally's share of its grade's rollup row, over a tally row ``{r}``.
ROLLUP: Final[dict[str, str]] = {
    "incidents": "1",
    "reports_met": "{r}.obligations_met",
    "reports_late": "{r}.obligations_late",
    "reports_missed": "{r}.obligations_missed",
    "incidents_failed": f"CASE WHEN {_FAILED} > 0 THEN 1 ELSE 0 END",
    "incidents_owing": f"CASE WHEN {_FAILED} = 0 AND {{r}}.obligations_pending > 0 "
    "THEN 1 ELSE 0 END",
    "acknowledged": "CASE WHEN {r}.acknowledge_seconds IS NULL THEN 0 ELSE 1 END",
    "acknowledge_seconds": "COALESCE({r}.acknowledge_seconds, 0)",
    "resolved": "CASE WHEN {r}.resolve_seconds IS NULL THEN 0 ELSE 1 END",
    "resolve_seconds": "COALESCE({r}.resolve_seconds, 0)",
    "promptly_yes": "CASE WHEN {r}.handled_promptly THEN 1 ELSE 0 END",
    "promptly_no": "CASE WHEN NOT {r}.handled_promptly THEN 1 ELSE 0 END",
}
#: The incident columns a tally reads (a trigger on other columns would only cost).
INCIDENT_COLUMNS: Final = ("grade", "created_at", "acknowledged_at", "detected_at", "resolved_at")


def seconds_between(dialect: str, start: str, end: str) -> str:
    """``end - start`` in seconds when both are known and in order, else NULL — the
    same arithmetic as the recount's (``escalation.stats``)."""
    if dialect == "postgresql":
        span = f"CAST(EXTRACT(EPOCH FROM {end} - {start}) AS double precision)"
    else:  # SQLite keeps UTC text that julianday() reads, and compares it in order
        span = f"(julianday({end}) - julianday({start})) * 86400.0"
    return (
        f"CASE WHEN {start} IS NOT NULL AND {end} IS NOT NULL AND {end} >= {start} THEN {span} END"
    )


def _incident_values(dialect: str, row: str) -> dict[str, str]:
    return {
        "grade": f"{row}.grade",
        "acknowledge_seconds": seconds_between(
            dialect, f"{row}.created_at", f"{row}.acknowledged_at"
        ),
        "resolve_seconds": seconds_between(dialect, f"{row}.detected_at", f"{row}.resolved_at"),
    }


def _moves(spec: dict[str, str], row: str, sign: str) -> str:
    return ", ".join(f"{col} = {col} {sign} ({expr.format(r=row)})" for col, expr in spec.items())


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_rollup(row: str, sign: str) -> str:
    # The grade's row may be missing (a new database, a truncated one): made first.
    return (
        f"INSERT OR IGNORE INTO figures_rollup (grade) VALUES ({row}.grade); "
        f"UPDATE figures_rollup SET {_moves(ROLLUP, row, sign)} WHERE grade = {row}.grade;"
    )


def _sqlite_tally(row: str, sign: str) -> str:
    return (
        f"UPDATE incident_tally SET {_moves(TALLY, row, sign)} "
        f"WHERE incident_id = {row}.incident_id;"
    )


def sqlite_triggers() -> tuple[str, ...]:
    """The CREATE TRIGGER statements of the SQLite database."""
    values = _incident_values("sqlite", "NEW")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in INCIDENT_COLUMNS)
    return (
        "CREATE TRIGGER incident_tally_ai AFTER INSERT ON incident BEGIN "
        f"INSERT INTO incident_tally (incident_id, {', '.join(values)}, obligations_met, "
        "obligations_late, obligations_missed, obligations_pending) "
        f"VALUES (NEW.id, {', '.join(values.values())}, 0, 0, 0, 0); END",
        f"CREATE TRIGGER incident_tally_au AFTER UPDATE OF {', '.join(INCIDENT_COLUMNS)} "
        f"ON incident WHEN {changed} BEGIN "
        "UPDATE incident_tally SET "
        + ", ".join(f"{c} = {v}" for c, v in values.items())
        + " WHERE incident_id = NEW.id; END",
        f"CREATE TRIGGER obligation_tally_ai AFTER INSERT ON obligation BEGIN "
        f"{_sqlite_tally('NEW', '+')} END",
        "CREATE TRIGGER obligation_tally_au AFTER UPDATE OF status, incident_id ON obligation "
        "WHEN OLD.status IS NOT NEW.status OR OLD.incident_id IS NOT NEW.incident_id BEGIN "
        f"{_sqlite_tally('OLD', '-')} {_sqlite_tally('NEW', '+')} END",
        f"CREATE TRIGGER obligation_tally_ad AFTER DELETE ON obligation BEGIN "
        f"{_sqlite_tally('OLD', '-')} END",
        "CREATE TRIGGER clock_tally_ai AFTER INSERT ON incident_clock BEGIN "
        "UPDATE incident_tally SET handled_promptly = NEW.handled_promptly "
        "WHERE incident_id = NEW.incident_id; END",
        "CREATE TRIGGER clock_tally_au AFTER UPDATE OF handled_promptly ON incident_clock "
        "WHEN OLD.handled_promptly IS NOT NEW.handled_promptly BEGIN "
        "UPDATE incident_tally SET handled_promptly = NEW.handled_promptly "
        "WHERE incident_id = NEW.incident_id; END",
        "CREATE TRIGGER clock_tally_ad AFTER DELETE ON incident_clock BEGIN "
        "UPDATE incident_tally SET handled_promptly = NULL "
        "WHERE incident_id = OLD.incident_id; END",
        f"CREATE TRIGGER tally_rollup_ai AFTER INSERT ON incident_tally BEGIN "
        f"{_sqlite_rollup('NEW', '+')} END",
        f"CREATE TRIGGER tally_rollup_au AFTER UPDATE ON incident_tally BEGIN "
        f"{_sqlite_rollup('OLD', '-')} {_sqlite_rollup('NEW', '+')} END",
        f"CREATE TRIGGER tally_rollup_ad AFTER DELETE ON incident_tally BEGIN "
        f"{_sqlite_rollup('OLD', '-')} END",
    )


SQLITE_TRIGGER_NAMES: Final = (
    "incident_tally_ai",
    "incident_tally_au",
    "obligation_tally_ai",
    "obligation_tally_au",
    "obligation_tally_ad",
    "clock_tally_ai",
    "clock_tally_au",
    "clock_tally_ad",
    "tally_rollup_ai",
    "tally_rollup_au",
    "tally_rollup_ad",
)


# --- PostgreSQL ---------------------------------------------------------------------------

# The audit head's row lock first: see the module doc.
_PG_LOCK = "PERFORM 1 FROM audit_head WHERE id = 1 FOR UPDATE;"


def _pg_rollup(row: str, sign: str) -> str:
    return (
        f"INSERT INTO figures_rollup (grade) VALUES ({row}.grade) ON CONFLICT DO NOTHING; "
        f"UPDATE figures_rollup SET {_moves(ROLLUP, row, sign)} WHERE grade = {row}.grade;"
    )


def pg_triggers() -> str:
    """The functions and triggers of the PostgreSQL database, one script."""
    values = _incident_values("postgresql", "NEW")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in INCIDENT_COLUMNS)
    tally_new = _sqlite_tally("NEW", "+")
    tally_old = _sqlite_tally("OLD", "-")
    return f"""
CREATE FUNCTION incident_tally_of_incident() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_PG_LOCK}
    INSERT INTO incident_tally (incident_id, {", ".join(values)}, obligations_met,
      obligations_late, obligations_missed, obligations_pending)
    VALUES (NEW.id, {", ".join(values.values())}, 0, 0, 0, 0);
  ELSIF {changed} THEN
    {_PG_LOCK}
    UPDATE incident_tally SET {", ".join(f"{c} = {v}" for c, v in values.items())}
    WHERE incident_id = NEW.id;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER incident_tally_of_incident
  AFTER INSERT OR UPDATE OF {", ".join(INCIDENT_COLUMNS)} ON incident
  FOR EACH ROW EXECUTE FUNCTION incident_tally_of_incident();

CREATE FUNCTION incident_tally_of_obligation() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.incident_id = NEW.incident_id THEN
      RETURN NULL;
    END IF;
  END IF;
  {_PG_LOCK}
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {tally_old}
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {tally_new}
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER incident_tally_of_obligation
  AFTER INSERT OR DELETE OR UPDATE OF status, incident_id ON obligation
  FOR EACH ROW EXECUTE FUNCTION incident_tally_of_obligation();

CREATE FUNCTION incident_tally_of_clock() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    {_PG_LOCK}
    UPDATE incident_tally SET handled_promptly = NULL WHERE incident_id = OLD.incident_id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.handled_promptly IS NOT DISTINCT FROM NEW.handled_promptly THEN
      RETURN NULL;
    END IF;
  END IF;
  {_PG_LOCK}
  UPDATE incident_tally SET handled_promptly = NEW.handled_promptly
  WHERE incident_id = NEW.incident_id;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER incident_tally_of_clock
  AFTER INSERT OR DELETE OR UPDATE OF handled_promptly ON incident_clock
  FOR EACH ROW EXECUTE FUNCTION incident_tally_of_clock();

CREATE FUNCTION figures_rollup_of_tally() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_pg_rollup("OLD", "-")}
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_pg_rollup("NEW", "+")}
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER figures_rollup_of_tally
  AFTER INSERT OR UPDATE OR DELETE ON incident_tally
  FOR EACH ROW EXECUTE FUNCTION figures_rollup_of_tally();
"""


PG_DROP: Final = """
DROP TRIGGER IF EXISTS figures_rollup_of_tally ON incident_tally;
DROP TRIGGER IF EXISTS incident_tally_of_clock ON incident_clock;
DROP TRIGGER IF EXISTS incident_tally_of_obligation ON obligation;
DROP TRIGGER IF EXISTS incident_tally_of_incident ON incident;
DROP FUNCTION IF EXISTS figures_rollup_of_tally();
DROP FUNCTION IF EXISTS incident_tally_of_clock();
DROP FUNCTION IF EXISTS incident_tally_of_obligation();
DROP FUNCTION IF EXISTS incident_tally_of_incident();
"""


def install(conn: Connection) -> None:
    """Create the triggers (the tables exist)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(pg_triggers())
        return
    for statement in sqlite_triggers():
        conn.exec_driver_sql(statement)


def uninstall(conn: Connection) -> None:
    """Drop the triggers (a bulk load that ``rebuild``s after)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(PG_DROP)
        return
    for name in SQLITE_TRIGGER_NAMES:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def rebuild_statements(dialect: str) -> Sequence[str]:
    """Statements that recount both tables from the rows, set by set."""
    values = _incident_values(dialect, "i")
    tally_cols = ", ".join(TALLY)
    sums = ", ".join(f"SUM({expr.format(r='o')}) AS {col}" for col, expr in TALLY.items())
    coalesced = ", ".join(f"COALESCE(o.{col}, 0)" for col in TALLY)
    rollup_cols = ", ".join(ROLLUP)
    rollup_sums = ", ".join(f"SUM({expr.format(r='t')})" for expr in ROLLUP.values())
    return (
        "DELETE FROM figures_rollup",
        "DELETE FROM incident_tally",
        f"INSERT INTO incident_tally (incident_id, {', '.join(values)}, {tally_cols}, "
        "handled_promptly) "
        f"SELECT i.id, {', '.join(values.values())}, {coalesced}, c.handled_promptly "
        "FROM incident i "
        f"LEFT JOIN (SELECT incident_id, {sums} FROM obligation o GROUP BY incident_id) o "
        "ON o.incident_id = i.id "
        "LEFT JOIN incident_clock c ON c.incident_id = i.id",
        f"INSERT INTO figures_rollup (grade, {rollup_cols}) "
        f"SELECT t.grade, {rollup_sums} FROM incident_tally t GROUP BY t.grade",
    )


def rebuild(conn: Connection, *, triggers: bool = True) -> None:
    """Recount ``incident_tally`` and ``figures_rollup`` from the rows, in the caller's
    transaction: the triggers dropped meanwhile (else they would add row by row what
    the recount adds set by set) and, with ``triggers``, made again."""
    uninstall(conn)
    for statement in rebuild_statements(conn.dialect.name):
        conn.execute(text(statement))
    if triggers:
        install(conn)
