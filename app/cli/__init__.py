"""The ``fenghuo`` command: processes, database, organisation, tokens, audit, policy.

Each command parses its arguments, calls one use case, and prints the result.

This module holds the ``main`` group and what every command shares: the settings, one
session per command (one transaction, domain errors shown as command errors) and the
actor the audit trail names. The commands are in ``data`` (database, organisation,
demo), ``accounts`` (tokens, passwords), ``checks`` (audit chain, policy),
``telegram_links`` and ``processes`` (web, worker, bot, run); ``python -m app.cli``
runs ``main`` (``__main__``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from app.cli.failures import FenghuoGroup
from config.settings import ConfigError, Settings, load_settings
from incidents.audit import Actor
from incidents.db import make_engine, make_sessionmaker
from incidents.errors import FenghuoError

CLI_ACTOR = Actor(None, "cli", "cli")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            yield session
    except FenghuoError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise click.ClickException(f"{exc.message}{where}") from None
    finally:
        engine.dispose()


@click.group(cls=FenghuoGroup)
def main() -> None:
    """Fenghuo (烽火): incident management, escalation and accountability."""
    # python-telegram-bot 22: have RetryAfter.retry_after be a timedelta (its future).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(
        level=os.environ.get("FENGHUO_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The HTTP client logs every Telegram request, and APScheduler every wake-up, at INFO:
    # noise for operators.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


# Imported last, for their side effect: each module registers its commands on ``main``,
# which it imports from here.
from app.cli import (  # noqa: E402, F401
    accounts,
    checks,
    data,
    destinations,
    figures,
    processes,
    rosters,
    telegram_links,
)
