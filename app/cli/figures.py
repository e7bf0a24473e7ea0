"""``fenghuo stats check`` and ``fenghuo stats recount``: the all-time figures' counters
(``escalation.tallies``) against the rows, and recounted from them."""

from __future__ import annotations

import sys

import click

from app.cli import _session, _settings, main
from escalation.stats import differences
from escalation.tallies import rebuild
from incidents.clock import SystemClock


@main.group()
def stats() -> None:
    """The dashboard's figures."""


@stats.command("check")
def stats_check() -> None:
    """Recount the all-time figures from every incident and compare them with the
    counters the database keeps; exit 1 naming each that differs."""
    with _session(_settings()) as session:
        found = differences(session, SystemClock().now())
    for line in found:
        click.echo(line, err=True)
    if found:
        click.echo("the counters differ from the rows: `fenghuo stats recount` rebuilds them")
        sys.exit(1)
    click.echo("the figures' counters agree with the rows")


@stats.command("recount")
def stats_recount() -> None:
    """Rebuild the counters from the rows (one transaction; writers wait meanwhile)."""
    with _session(_settings()) as session:
        rebuild(session.connection())
    click.echo("the figures' counters recounted from the rows")
