"""The people a policy names (``person:LOGIN``), held against the organisation.

A target naming nobody pages nobody when its step fires, with no fallback to catch it;
so ``fenghuo policy check`` names such a target when a database is there to ask, and
the worker refuses to start on one.
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import PERSON_PREFIX, Policy
from incidents.org import Person


def person_targets(policy: Policy) -> list[tuple[str, str]]:
    """Every ``person:`` target of the policy as (key path, login), in document order."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str) and value.startswith(PERSON_PREFIX):
            found.append((path, value.removeprefix(PERSON_PREFIX)))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(policy.to_dict(), "")
    return found


def unknown_people(session: Session, policy: Policy) -> list[tuple[str, str]]:
    """The ``person:`` targets whose login is no active person, as (key path, login)."""
    targets = person_targets(policy)
    logins = {login for _path, login in targets}
    active = set(
        session.scalars(select(Person.login).where(Person.login.in_(logins), Person.active))
    )
    return [(path, login) for path, login in targets if login not in active]


def describe_unknown(unknown: list[tuple[str, str]]) -> str:
    return "; ".join(f"{path}: person:{login} is no active person" for path, login in unknown)


def refuse_unknown_people(factory: sessionmaker[Session], policy: Policy) -> None:
    """Stop the worker (exit 2) if the policy names a person the organisation lacks."""
    with factory() as session:
        unknown = unknown_people(session, policy)
    if unknown:
        print(
            f"fenghuo worker: the policy names unknown people: {describe_unknown(unknown)}",
            file=sys.stderr,
        )
        raise SystemExit(2)
