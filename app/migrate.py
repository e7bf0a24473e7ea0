"""Running the Alembic migrations from code (``fenghuo db upgrade``, tests, ``make run``).

Alembic logs its set-up at INFO on every start: one "setup plugin" line per
autogenerate plugin (as ``alembic.config`` is imported), "Context impl SQLiteImpl." and
"Will assume non-transactional DDL.". They tell an operator nothing, so its plugin logger
is raised to WARNING before Alembic is imported and those two lines are filtered out of
its migration logger; "Running upgrade a -> b" stays, since that is what an operator
wants to see when the schema changes. Only Alembic's own loggers are touched, never the
root logger.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# The start-up lines of alembic.runtime.migration that say nothing about the schema.
_BOILERPLATE = ("Context impl ", "Will assume ")


class _StartupNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_BOILERPLATE)


_NOISE = _StartupNoise()


def quiet_alembic() -> None:
    """Keep Alembic's start-up chatter out of the logs (harmless to call again)."""
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").addFilter(_NOISE)  # added once


def alembic_config(url: str) -> Config:
    quiet_alembic()  # before the import: importing alembic.config sets up the plugins
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    cfg = alembic_config(url)
    from alembic import command

    command.upgrade(cfg, revision)


def current_heads(url: str) -> list[str]:
    quiet_alembic()
    from alembic.runtime.migration import MigrationContext

    from incidents.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
