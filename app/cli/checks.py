"""Commands that check what is in force: the audit chain (``audit verify``) and the
escalation and reporting policy (``policy check``, ``policy show``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from app.cli import _session, _settings, main
from config.policy import Policy, PolicyError, load_policy
from config.settings import Settings
from escalation.policy_people import describe_unknown, person_targets, unknown_people
from incidents.audit import verify
from incidents.audit_checkpoints import CheckpointError, read_checkpoints, write_checkpoint
from incidents.clock import SystemClock
from incidents.db import make_engine, make_sessionmaker

# --- audit -----------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The audit chain."""


def _checkpoint_file(settings: Settings) -> Path:
    assert settings.audit_checkpoint_path is not None
    return settings.audit_checkpoint_path


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain and check it against the latest checkpoint; exit 1 naming the
    first broken or missing event."""
    settings = _settings()
    keyring = settings.audit_keyring
    assert keyring is not None
    try:
        checkpoints = read_checkpoints(_checkpoint_file(settings), keyring)
    except CheckpointError as exc:
        click.echo(f"audit checkpoints not trusted: {exc}", err=True)
        sys.exit(1)
    with _session(settings) as session:
        result = verify(session, checkpoints=checkpoints, keyring=keyring)
    click.echo(result.describe(), err=not result.ok)
    if not result.ok:
        sys.exit(1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify the chain, then append a signed checkpoint of its head to the checkpoint
    file (FENGHUO_AUDIT_CHECKPOINTS); run it from cron. Exit 1 if the chain is broken."""
    settings = _settings()
    try:
        with _session(settings) as session:
            cp = write_checkpoint(
                session,
                _checkpoint_file(settings),
                now=SystemClock().now(),
                keyring=settings.audit_keyring,
            )
    except CheckpointError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"checkpoint written: event {cp.seq}, hash {cp.hash}, at {cp.at}")


# --- policy ----------------------------------------------------------------------------


@main.group()
def policy() -> None:
    """The escalation and reporting policy."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path) -> None:
    """Validate a policy FILE; exit 1 naming the key at fault."""
    try:
        loaded = load_policy(file)
    except PolicyError as exc:
        click.echo(f"invalid policy: {exc}", err=True)
        sys.exit(1)
    unknown = _unknown_people(loaded)
    if unknown:
        click.echo(f"invalid policy: {describe_unknown(unknown)}", err=True)
        sys.exit(1)
    click.echo(
        f"policy ok: {len(loaded.grades)} grades, reporter category "
        f"{loaded.reporter_category}, time zone {loaded.timezone}"
    )


def _unknown_people(loaded: Policy) -> list[tuple[str, str]]:
    """The policy's ``person:`` targets missing from the configured database; none
    checked (and said so) when no database is configured or it cannot be read."""
    if not person_targets(loaded):
        return []
    settings = _settings()
    default_file = settings.instance_path / "fenghuo.db"
    if "FENGHUO_DATABASE_URL" not in os.environ and not default_file.exists():
        click.echo("person: targets not checked: no database is configured", err=True)
        return []
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return unknown_people(session, loaded)
    except SQLAlchemyError as exc:
        reason = str(exc).strip().splitlines()[0]
        click.echo(f"person: targets not checked against the database: {reason}", err=True)
        return []
    finally:
        engine.dispose()


@policy.command("show")
def policy_show() -> None:
    """Print the policy in force (FENGHUO_POLICY or the packaged default), as JSON."""
    import json

    settings = _settings()
    try:
        loaded = load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    click.echo(json.dumps(loaded.to_dict(), ensure_ascii=False, indent=2))


@policy.command("drill")
@click.option(
    "--scale",
    default=60,
    show_default=True,
    type=click.IntRange(min=1),
    help="divide every duration by this (60: minutes become seconds)",
)
def policy_drill(scale: int) -> None:
    """Print the policy in force with every clock scaled down, for a drill instance
    (FENGHUO_POLICY=drill.toml): a whole chain in minutes instead of hours."""
    from config.policy_drill import drill_toml

    settings = _settings()
    try:
        loaded = load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    click.echo(drill_toml(loaded, scale), nl=False)
