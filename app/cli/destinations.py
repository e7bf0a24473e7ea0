"""Commands for where people and groups are reached (``destination``); the rules are in
``escalation.destinations``.

A person's destinations are tried in order (``order``); everyone has the in-app inbox as
well, without a row. A group destination is a robot in a group chat (WeCom, DingTalk,
Feishu), named so a policy step's ``groups = ["NAME"]`` can send to it.
"""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli import CLI_ACTOR, _session, _settings, main
from escalation.channels.addresses import redact_webhook
from escalation.destinations import (
    GROUP_KINDS,
    PERSON_KINDS,
    add_group_destination,
    add_person_destination,
    group_destinations,
    order_destinations,
    ordered_destinations,
    remove_destination,
)
from escalation.models import Destination
from incidents.clock import SystemClock
from incidents.errors import NotFound
from incidents.org import Person


def _person(session: Session, login: str) -> Person:
    person = session.scalars(select(Person).where(Person.login == login)).first()
    if person is None:
        raise NotFound(f"no person with login {login!r}", field="person")
    return person


def _state(dest: Destination) -> str:
    return "on" if dest.enabled else f"off ({dest.disabled_reason or 'disabled'})"


def person_lines(session: Session, person: Person) -> list[str]:
    lines = [f"{person.login} ({person.name}), tried in this order:"]
    for rank, dest in enumerate(ordered_destinations(session, person.id), start=1):
        label = f"  [{dest.label}]" if dest.label else ""
        lines.append(f"  {rank}. #{dest.id} {dest.kind} {dest.address}{label}  {_state(dest)}")
    lines.append("  and always the in-app inbox")
    return lines


def group_lines(session: Session) -> list[str]:
    groups = group_destinations(session)
    if not groups:
        return ["no group destinations (fenghuo destination add-group)"]
    lines = ["group destinations (a policy step's groups = [NAME]):"]
    for dest in groups:
        signed = "signed" if dest.secret else "unsigned"
        lines.append(
            f"  #{dest.id} {dest.label}: {dest.kind} {redact_webhook(dest.address)} "
            f"{signed}  {_state(dest)}"
        )
    return lines


@main.group()
def destination() -> None:
    """Where people and group chats are reached, and in which order."""


@destination.command("list")
@click.option("--person", "login", default=None, help="only this person's destinations")
def destination_list(login: str | None) -> None:
    """List people's destinations in the order they are tried, then the groups."""
    with _session(_settings()) as session:
        if login is not None:
            lines = person_lines(session, _person(session, login))
        else:
            owners = session.scalars(
                select(Person)
                .where(Person.id.in_(select(Destination.person_id).distinct()))
                .order_by(Person.login)
            ).all()
            lines = [line for person in owners for line in person_lines(session, person)]
            lines += group_lines(session)
    click.echo("\n".join(lines))


@destination.command("add")
@click.option("--person", "login", required=True, help="login of the person")
@click.option("--kind", required=True, type=click.Choice(PERSON_KINDS))
@click.option("--address", required=True, help="an email address, or a Telegram chat id")
@click.option("--priority", type=int, default=None, help="place in the order (0 first)")
def destination_add(login: str, kind: str, address: str, priority: int | None) -> None:
    """Add a destination for a person (it goes last in their order unless --priority)."""
    with _session(_settings()) as session:
        person = _person(session, login)
        dest = add_person_destination(
            session,
            person_id=person.id,
            kind=kind,
            address=address,
            priority=priority,
            actor=CLI_ACTOR,
            now=SystemClock().now(),
        )
        line = f"#{dest.id} {kind} {dest.address} added for {login}"
    click.echo(line)


@destination.command("add-group")
@click.option("--kind", required=True, type=click.Choice(GROUP_KINDS))
@click.option("--name", required=True, help='the name a policy step\'s groups = ["NAME"] uses')
@click.option("--url", required=True, help="the robot's webhook URL")
@click.option("--secret", default="", help="the signing secret (DingTalk 加签, Feishu 签名校验)")
def destination_add_group(kind: str, name: str, url: str, secret: str) -> None:
    """Add (or update) a group destination: a robot in a group chat."""
    with _session(_settings()) as session:
        dest = add_group_destination(
            session,
            kind=kind,
            name=name,
            url=url,
            secret=secret,
            actor=CLI_ACTOR,
            now=SystemClock().now(),
        )
        line = f"#{dest.id} group {name!r}: {kind} robot at {redact_webhook(dest.address)}" + (
            ", signed" if dest.secret else ""
        )
    click.echo(line)


@destination.command("remove")
@click.option("--id", "destination_id", required=True, type=int, help="the destination's #id")
def destination_remove(destination_id: int) -> None:
    """Remove a destination (kept, disabled, when notices were sent there)."""
    with _session(_settings()) as session:
        outcome = remove_destination(
            session, destination_id=destination_id, actor=CLI_ACTOR, now=SystemClock().now()
        )
    click.echo(
        f"destination #{destination_id} removed"
        + (" (kept disabled: notices were sent there)" if outcome == "disabled" else "")
    )


@destination.command("order")
@click.option("--person", "login", required=True, help="login of the person")
@click.argument("destination_ids", nargs=-1, required=True, type=int)
def destination_order(login: str, destination_ids: tuple[int, ...]) -> None:
    """Try these destinations first, in this order (the person's others follow)."""
    with _session(_settings()) as session:
        person = _person(session, login)
        order_destinations(
            session,
            person_id=person.id,
            destination_ids=list(destination_ids),
            actor=CLI_ACTOR,
            now=SystemClock().now(),
        )
        lines = person_lines(session, person)
    click.echo("\n".join(lines))
