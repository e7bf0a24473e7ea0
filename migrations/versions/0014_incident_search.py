"""text search over incidents that finds Chinese: FTS5 trigram on SQLite, pg_trgm on PostgreSQL

SQLite: an external-content FTS5 table ``incident_search`` (title, number) with the
``trigram`` tokenizer, kept in step with ``incident`` by triggers and rebuilt from the rows
already there. PostgreSQL: the ``pg_trgm`` extension and GIN trigram indexes on title and
number, which serve ``ILIKE '%…%'`` for three characters and more. Queries of one or two
characters (勒索, 篡改) get no trigram on either engine: ``incidents.search`` routes them to
the base table (and, on SQLite 3.40, away from the FTS table, whose ``LIKE`` misses
non-ASCII patterns that short).

Revision ID: 0014_incident_search
Revises: 0013_calendar_feed
Create Date: 2026-12-02 14:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0014_incident_search"
down_revision = "0013_calendar_feed"
branch_labels = None
depends_on = None

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE incident_search USING fts5("
    "title, number, content='incident', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER incident_search_ai AFTER INSERT ON incident BEGIN "
    "INSERT INTO incident_search(rowid, title, number) VALUES (new.id, new.title, new.number); "
    "END",
    "CREATE TRIGGER incident_search_ad AFTER DELETE ON incident BEGIN "
    "INSERT INTO incident_search(incident_search, rowid, title, number) "
    "VALUES ('delete', old.id, old.title, old.number); "
    "END",
    "CREATE TRIGGER incident_search_au AFTER UPDATE OF title, number ON incident BEGIN "
    "INSERT INTO incident_search(incident_search, rowid, title, number) "
    "VALUES ('delete', old.id, old.title, old.number); "
    "INSERT INTO incident_search(rowid, title, number) VALUES (new.id, new.title, new.number); "
    "END",
    "INSERT INTO incident_search(incident_search) VALUES ('rebuild')",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS incident_search_au",
    "DROP TRIGGER IF EXISTS incident_search_ad",
    "DROP TRIGGER IF EXISTS incident_search_ai",
    "DROP TABLE IF EXISTS incident_search",
)
# pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
_PG_UP = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_incident_title_trgm ON incident "
    "USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_incident_number_trgm ON incident "
    "USING gin (number gin_trgm_ops)",
)
_PG_DOWN = (
    "DROP INDEX IF EXISTS ix_incident_number_trgm",
    "DROP INDEX IF EXISTS ix_incident_title_trgm",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_UP if dialect == "sqlite" else _PG_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_DOWN if dialect == "sqlite" else _PG_DOWN:
        op.execute(statement)
