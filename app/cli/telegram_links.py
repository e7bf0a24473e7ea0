"""Commands linking people and group chats to Telegram (``telegram``); the work is in
``escalation.telegram.cli``.
"""

from __future__ import annotations

import click

from app.cli import CLI_ACTOR, _session, _settings, main
from incidents.clock import SystemClock


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
