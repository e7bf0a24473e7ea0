"""Commands that check what is in force: the audit chain (``audit verify``) and the
escalation and reporting policy (``policy check``, ``policy show``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli import _session, _settings, main
from config.policy import PolicyError, load_policy
from incidents.audit import verify

# --- audit -----------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The audit chain."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain; exit 1 naming the first broken event."""
    with _session(_settings()) as session:
        result = verify(session)
    click.echo(result.describe())
    if not result.ok:
        sys.exit(1)


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
    click.echo(
        f"policy ok: {len(loaded.grades)} grades, reporter category "
        f"{loaded.reporter_category}, time zone {loaded.timezone}"
    )


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
