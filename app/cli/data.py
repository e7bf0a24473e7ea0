"""Commands for the database and what goes in it first: the schema (``db``), the
organisation (``org``) and the demo organisation (``demo``).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from sqlalchemy import func, select

from app.cli import CLI_ACTOR, _session, _settings, main
from config.settings import Settings
from incidents.clock import SystemClock
from incidents.org import Person

DEMO_ORG = Path(__file__).resolve().parent.parent / "demo" / "organisation.yaml"
DEMO_LOGINS = (
    "admin",
    "duty",
    "cchead",
    "netsec",
    "deputy",
    "director",
    "lgoffice",
    "lgmember",
    "hr",
    "trafhead",
    "trafstaff",
)


# --- database --------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (Alembic) to FENGHUO_DATABASE_URL."""
    from app.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"database at head: {_redact(settings.database_url)}")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# --- organisation ----------------------------------------------------------------------


@main.group()
def org() -> None:
    """The organisation: departments, people, positions, systems."""


@org.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def org_import(file: Path) -> None:
    """Import (idempotently) the organisation from a YAML FILE."""
    from escalation.organisation import import_organisation

    settings = _settings()
    with _session(settings) as session:
        result = import_organisation(
            session, file.read_text(encoding="utf-8"), actor=CLI_ACTOR, now=SystemClock().now()
        )
    if not result.changed:
        click.echo("no change")
        return
    for what, counts in (("created", result.created), ("updated", result.updated)):
        for kind, n in sorted(counts.items()):
            click.echo(f"{what} {n} {kind}")


@org.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def org_export(file: Path | None) -> None:
    """Export the organisation as YAML (to FILE, or standard output)."""
    from incidents.org_io import export_org

    with _session(_settings()) as session:
        text = export_org(session)
    if file is None:
        click.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")


# --- demo ------------------------------------------------------------------------------


@main.group()
def demo() -> None:
    """The demo organisation."""


def seed_demo(settings: Settings, *, only_if_empty: bool) -> str | None:
    """Load the demo organisation and its duty roster and set every demo password;
    return the password."""
    from app.demo.rosters import seed_demo_rosters
    from escalation.organisation import import_organisation
    from incidents.accounts import set_password

    now = SystemClock().now()
    with _session(settings) as session:
        if only_if_empty and session.scalar(select(func.count()).select_from(Person)):
            return None
        import_organisation(session, DEMO_ORG.read_text(encoding="utf-8"), actor=CLI_ACTOR, now=now)
        seed_demo_rosters(session, actor=CLI_ACTOR, now=now)
        password = settings.demo_password or secrets.token_urlsafe(9)
        for person in session.scalars(select(Person)):
            set_password(session, person=person, password=password, actor=CLI_ACTOR, now=now)
    return password


def _print_logins(password: str, settings: Settings) -> None:
    click.echo("")
    click.echo("Demo organisation loaded. Log in at " + settings.public_url + "/login")
    click.echo(
        "  logins:   "
        + ", ".join(DEMO_LOGINS)
        + " (and officehead, finhead; on the duty roster also duty2-4, tech1-2)"
    )
    click.echo(
        "  password: "
        + password
        + ("" if settings.demo_password else "   (set FENGHUO_DEMO_PASSWORD to choose it)")
    )
    click.echo("")


@demo.command("seed")
def demo_seed() -> None:
    """Load the demo organisation and set the demo passwords."""
    settings = _settings()
    password = seed_demo(settings, only_if_empty=False)
    assert password is not None
    _print_logins(password, settings)
