"""The ``fenghuo`` command: processes, database, organisation, tokens, audit, policy.

Each command parses its arguments, calls one use case, and prints the result.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.policy import PolicyError, load_policy
from config.settings import ConfigError, Settings, load_settings
from incidents.audit import Actor, verify
from incidents.clock import SystemClock
from incidents.db import make_engine, make_sessionmaker
from incidents.errors import FenghuoError
from incidents.org import Person

CLI_ACTOR = Actor(None, "cli", "cli")
DEMO_ORG = Path(__file__).resolve().parent / "demo" / "organisation.yaml"
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


@click.group()
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
    from incidents.org_io import import_org

    settings = _settings()
    with _session(settings) as session:
        result = import_org(
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
    """Load the demo organisation and set every demo password; return the password."""
    from incidents.accounts import set_password
    from incidents.org_io import import_org

    now = SystemClock().now()
    with _session(settings) as session:
        if only_if_empty and session.scalar(select(func.count()).select_from(Person)):
            return None
        import_org(session, DEMO_ORG.read_text(encoding="utf-8"), actor=CLI_ACTOR, now=now)
        password = settings.demo_password or secrets.token_urlsafe(9)
        for person in session.scalars(select(Person)):
            set_password(session, person=person, password=password, actor=CLI_ACTOR, now=now)
    return password


def _print_logins(password: str, settings: Settings) -> None:
    click.echo("")
    click.echo("Demo organisation loaded. Log in at " + settings.public_url + "/login")
    click.echo("  logins:   " + ", ".join(DEMO_LOGINS) + " (and officehead, finhead)")
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


# --- accounts --------------------------------------------------------------------------


@main.group()
def token() -> None:
    """Bearer tokens for machines (API)."""


@token.command("create")
@click.option("--person", "login", required=True, help="login of the person the token acts as")
@click.option("--name", required=True, help="what the token is for, e.g. 'siem'")
def token_create(login: str, name: str) -> None:
    """Create a token; it is printed once, as the last line."""
    from incidents.tokens import create_token

    with _session(_settings()) as session:
        clear, row = create_token(
            session, login=login, name=name, actor=CLI_ACTOR, now=SystemClock().now()
        )
        token_id = row.id
    click.echo(f"token {token_id} for {login} ({name}); only its hash is stored:")
    click.echo(clear)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke the token with id TOKEN_ID."""
    from incidents.tokens import revoke_token

    with _session(_settings()) as session:
        revoke_token(session, token_id=token_id, actor=CLI_ACTOR, now=SystemClock().now())
    click.echo(f"token {token_id} revoked")


@token.command("list")
def token_list() -> None:
    """List tokens (never their values)."""
    from incidents.org import ApiToken

    with _session(_settings()) as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.person.login}\t{row.name}\t{row.prefix}…\t{state}")


@main.command("set-password")
@click.argument("login")
@click.password_option()
def set_password_cmd(login: str, password: str) -> None:
    """Set the password of LOGIN."""
    from incidents.accounts import set_password

    with _session(_settings()) as session:
        person = session.scalars(select(Person).where(Person.login == login)).first()
        if person is None:
            raise click.ClickException(f"no person with login {login!r}")
        set_password(
            session, person=person, password=password, actor=CLI_ACTOR, now=SystemClock().now()
        )
    click.echo("password set")


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


# --- telegram --------------------------------------------------------------------------


@main.group()
def telegram() -> None:
    """Linking people and group chats to Telegram."""


@telegram.command("status")
def telegram_status() -> None:
    """Say whether Telegram is on."""
    from escalation.telegram import cli as tg

    click.echo(tg.status_line(_settings()))


@telegram.command("link")
@click.option("--person", "login", required=True, help="login of the person")
@click.option("--chat-id", required=True, type=int, help="their Telegram chat id")
def telegram_link(login: str, chat_id: int) -> None:
    """Link a person to a Telegram chat from the command line."""
    from escalation.telegram import cli as tg

    with _session(_settings()) as session:
        line = tg.link(
            session, login=login, chat_id=chat_id, actor=CLI_ACTOR, now=SystemClock().now()
        )
    click.echo(line)


@telegram.command("link-group")
@click.option("--chat-id", required=True, type=int, help="the group's chat id (negative)")
@click.option("--role", default=None, help="position role whose alerts go to the group")
@click.option("--department", default=None, help="department code whose alerts go there")
def telegram_link_group(chat_id: int, role: str | None, department: str | None) -> None:
    """Link a group chat to a role or a department (e.g. the leading group's chat)."""
    from escalation.telegram import cli as tg

    if (role is None) == (department is None):
        raise click.UsageError("give exactly one of --role and --department")
    with _session(_settings()) as session:
        line = tg.link_group(
            session,
            chat_id=chat_id,
            actor=CLI_ACTOR,
            now=SystemClock().now(),
            role=role,
            department=department,
        )
    click.echo(line)


@telegram.command("unlink")
@click.option("--person", "login", required=True)
def telegram_unlink(login: str) -> None:
    """Stop sending a person's alerts to Telegram."""
    from escalation.telegram import cli as tg

    with _session(_settings()) as session:
        line = tg.unlink(session, login=login, actor=CLI_ACTOR, now=SystemClock().now())
    click.echo(line)


@telegram.command("code")
@click.option("--person", "login", required=True)
def telegram_code(login: str) -> None:
    """Issue a one-time link code (10 minutes, single use) for a person."""
    from escalation.telegram import cli as tg

    settings = _settings()
    with _session(settings) as session:
        lines = tg.code(
            session, login=login, now=SystemClock().now(), secret_key=settings.secret_key
        )
    for line in lines:
        click.echo(line)


# --- processes -------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def web(host: str | None, port: int | None) -> None:
    """Serve the web face and API (development server; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from app import create_app

    settings = _settings()
    app = create_app(settings)
    run_simple(host or settings.host, port or settings.port, app, threaded=True, use_reloader=False)


@main.command()
def worker() -> None:
    """Sweep due timers and deliver notifications (APScheduler wakes it)."""
    from escalation.worker import run_worker_from_settings

    settings = _settings()
    try:
        pol = load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    run_worker_from_settings(settings, pol, SystemClock())


@main.command()
def bot() -> None:
    """Answer Telegram (one poller per bot token)."""
    settings = _settings()
    if not settings.telegram_enabled:
        raise click.ClickException("Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set")
    from escalation.telegram.bot import run_bot_from_settings

    run_bot_from_settings(settings, load_policy(settings.policy_path), SystemClock())


@main.command()
@click.option("--seed/--no-seed", default=True, help="seed the demo organisation if empty")
def run(seed: bool) -> None:
    """Everything on one machine: migrate, seed if empty, web + worker (+ bot)."""
    from app.migrate import upgrade

    settings = _settings()
    try:
        load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    upgrade(settings.database_url)
    if seed:
        password = seed_demo(settings, only_if_empty=True)
        if password is not None:
            _print_logins(password, settings)
    children = [subprocess.Popen([sys.executable, "-m", "app.cli", "worker"])]
    if settings.telegram_enabled:
        children.append(subprocess.Popen([sys.executable, "-m", "app.cli", "bot"]))
    else:
        click.echo("Telegram is off (set FENGHUO_TELEGRAM_TOKEN to turn it on).")

    def stop(*_args: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    def terminate(*_args: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    # The web face under gunicorn (2 workers), as in production; each worker builds its
    # own engine (no --preload), and the worker and bot run as their own processes.
    children.append(
        subprocess.Popen(  # noqa: S603 - our own interpreter and settings, no shell
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"{settings.host}:{settings.port}",
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
                "app:create_app()",
            ]
        )
    )
    click.echo(f"Fenghuo on {settings.public_url}  (Ctrl-C stops everything)")
    try:
        _watch(children)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def _watch(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait until any process stops; the product is not whole without each of them."""
    while True:
        for child in children:
            code = child.poll()
            if code is not None:
                raise click.ClickException(f"a process stopped with code {code}: {child.args!r}")
        time.sleep(1)


if __name__ == "__main__":
    main()
