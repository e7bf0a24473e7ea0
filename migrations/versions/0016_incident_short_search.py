"""an index for one- and two-character searches (勒索, 篡改), which trigrams cannot serve

The trigram indexes of ``0014_incident_search`` hold substrings of three characters, so
a query of one or two characters found nothing to look up and read the whole table.
This index holds every one- and two-character substring of an incident's title and
number:

- SQLite: a contentless FTS5 table ``incident_gram`` (``detail=none``: row ids only) whose
  one column is the text's overlapping two-character pieces and its last character,
  space-separated, computed in SQL from a table of positions (``incident_gram_position``,
  1..340: the longest title and number) by the triggers that keep it in step. The
  ``unicode61`` tokenizer folds case; a two-character query is one token, a one-character
  query the prefix query ``"x"*`` (every piece starting with it, and the last character).
- PostgreSQL: ``incident_grams(title, number)``, an immutable function giving the set of
  lower-cased one- and two-character substrings, under a GIN index; a query is
  ``incident_grams(title, number) @> ARRAY[lower(q)]``.

Both return candidates; the list keeps the ``LIKE`` on the row, so the meaning of a
search does not change, only the rows it reads.

Revision ID: 0016_incident_short_search
Revises: 0015_dashboard_indexes
Create Date: 2026-12-02 18:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0016_incident_short_search"
down_revision = "0015_dashboard_indexes"
branch_labels = None
depends_on = None

# The space-separated pieces of ROW's title and number (ROW: new, old or incident).
_PIECES = (
    "(SELECT group_concat(substr(ROW.title || ' ' || ROW.number, n, 2), ' ') "
    "FROM incident_gram_position WHERE n <= length(ROW.title || ' ' || ROW.number))"
)
_NEW, _OLD, _EACH = (_PIECES.replace("ROW", row) for row in ("new", "old", "incident"))
_SQLITE_UP = (
    # 1..340: the longest title (300), a space and the longest number (32), with room.
    "CREATE TABLE incident_gram_position (n INTEGER PRIMARY KEY)",
    "WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 340) "
    "INSERT INTO incident_gram_position SELECT n FROM p",
    "CREATE VIRTUAL TABLE incident_gram USING fts5("
    "pieces, content='', detail=none, tokenize='unicode61')",
    "CREATE TRIGGER incident_gram_ai AFTER INSERT ON incident BEGIN "
    "INSERT INTO incident_gram(rowid, pieces) VALUES (new.id, NEW); "
    "END".replace("NEW", _NEW),
    "CREATE TRIGGER incident_gram_ad AFTER DELETE ON incident BEGIN "
    "INSERT INTO incident_gram(incident_gram, rowid, pieces) VALUES ('delete', old.id, OLD); "
    "END".replace("OLD", _OLD),
    "CREATE TRIGGER incident_gram_au AFTER UPDATE OF title, number ON incident BEGIN "
    "INSERT INTO incident_gram(incident_gram, rowid, pieces) VALUES ('delete', old.id, OLD); "
    "INSERT INTO incident_gram(rowid, pieces) VALUES (new.id, NEW); "
    "END".replace("OLD", _OLD).replace("NEW", _NEW),
    "INSERT INTO incident_gram(rowid, pieces) SELECT incident.id, EACH FROM incident".replace(
        "EACH", _EACH
    ),
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS incident_gram_au",
    "DROP TRIGGER IF EXISTS incident_gram_ad",
    "DROP TRIGGER IF EXISTS incident_gram_ai",
    "DROP TABLE IF EXISTS incident_gram",
    "DROP TABLE IF EXISTS incident_gram_position",
)
_PG_UP = (
    "CREATE FUNCTION incident_grams(title text, number text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
    "SELECT coalesce(array_agg(DISTINCT piece), '{}') FROM ("
    "SELECT lower(substr(whole, i, width)) AS piece "
    "FROM (SELECT title || ' ' || number AS whole) AS t, "
    "generate_series(1, length(whole)) AS i, (VALUES (1), (2)) AS w(width)"
    ") AS pieces $$",
    "CREATE INDEX ix_incident_grams ON incident USING gin (incident_grams(title, number))",
)
_PG_DOWN = (
    "DROP INDEX IF EXISTS ix_incident_grams",
    "DROP FUNCTION IF EXISTS incident_grams(text, text)",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_UP if dialect == "sqlite" else _PG_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_DOWN if dialect == "sqlite" else _PG_DOWN:
        op.execute(statement)
