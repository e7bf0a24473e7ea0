"""Commands for accounts: machines' bearer tokens (``token``) and people's passwords
(``set-password``).
"""

from __future__ import annotations

import click
from sqlalchemy import select

from app.cli import CLI_ACTOR, _session, _settings, main
from incidents.clock import SystemClock
from incidents.org import Person


@main.group()
def token() -> None:
    """Bearer tokens for machines (API)."""


@token.command("create")
@click.option("--person", "login", required=True, help="login of the person the token acts as")
@click.option("--name", required=True, help="what the token is for, e.g. 'siem'")
@click.option(
    "--scope",
    type=click.Choice(["full", "intake"]),
    default="full",
    show_default=True,
    help="full: what the person may do; intake: post monitoring alerts, nothing else",
)
def token_create(login: str, name: str, scope: str) -> None:
    """Create a token; it is printed once, as the last line."""
    from incidents.tokens import create_token

    with _session(_settings()) as session:
        clear, row = create_token(
            session, login=login, name=name, actor=CLI_ACTOR, now=SystemClock().now(), scope=scope
        )
        token_id = row.id
    click.echo(f"token {token_id} for {login} ({name}, scope {scope}); only its hash is stored:")
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
            click.echo(
                f"{row.id}\t{row.person.login}\t{row.name}\t{row.prefix}…\t{row.scope}\t{state}"
            )


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
