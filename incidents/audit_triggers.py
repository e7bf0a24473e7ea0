"""The database's own refusal to rewrite the audit chain (5.4(c)), on both engines.

Installed by the migrations: 0001 refuses UPDATE and DELETE of events; 0007 keeps the
head moving forward one event at a time and refuses TRUNCATE (PostgreSQL). Someone who
disables the triggers is still caught by ``incidents.audit.verify``: the hashes are
keyed and the head is checkpointed outside the database.
"""

from __future__ import annotations

# Triggers that refuse UPDATE and DELETE on the event table; installed by the migration.
PG_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_event_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only (5.4(c)): % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_immutable();
"""
SQLITE_TRIGGER_SQL = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only (5.4(c))'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only (5.4(c))'); END""",
)
# 0006: the head only moves forward one event at a time and is never deleted; neither
# table can be truncated (PostgreSQL).
PG_HEAD_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_head_forward() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.seq <> OLD.seq + 1 THEN
    RAISE EXCEPTION 'the audit chain head only moves forward (5.4(c)): % refused', TG_OP;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_forward();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_immutable();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_immutable();
"""
PG_HEAD_TRIGGER_DROP_SQL = """
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP TRIGGER IF EXISTS audit_head_forward ON audit_head;
DROP FUNCTION IF EXISTS audit_head_forward();
"""
SQLITE_HEAD_TRIGGER_SQL = (
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward (5.4(c))'); END""",
    """CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    WHEN NEW.seq <> OLD.seq + 1
    BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward (5.4(c))'); END""",
)
SQLITE_HEAD_TRIGGER_DROP = ("audit_head_no_delete", "audit_head_forward")
