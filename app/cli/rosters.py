"""Commands for the duty rosters (值班表): ``roster import`` loads a month from the xlsx
or CSV file the office keeps (layout in ``incidents.roster_import`` and docs/roster.md)."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import CLI_ACTOR, _session, _settings, main
from incidents.clock import SystemClock


@main.group()
def roster() -> None:
    """Duty rosters: who is on duty."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--month", required=True, help="the month the file covers, YYYY-MM")
@click.option("--check", is_flag=True, help="only check the file; write nothing")
def roster_import(file: Path, month: str, check: bool) -> None:
    """Import FILE (xlsx or CSV, one row per day) as the month's duty overrides.

    All or nothing: a problem is reported with its row and column and nothing is written.
    """
    from incidents.roster_import import import_month

    with _session(_settings()) as session:
        result = import_month(
            session,
            data=file.read_bytes(),
            filename=file.name,
            month=month,
            actor=CLI_ACTOR,
            now=SystemClock().now(),
            dry_run=check,  # a check only reads
        )
    roles = ", ".join(f"{role} {count}" for role, count in result.overrides.items())
    if check:
        click.echo(f"{file.name}: {result.days} days of {result.month} read, no problems")
        return
    click.echo(f"{result.month}: {result.days} days read; overrides written: {roles}")
    if result.revoked:
        click.echo(f"{result.revoked} overrides of an earlier import of the month revoked")
    if result.skipped_past:
        click.echo(f"{result.skipped_past} shifts already over were left as they were")
