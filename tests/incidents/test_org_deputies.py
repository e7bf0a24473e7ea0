"""A person's deputy (代理人) in the organisation file: who an unconfirmed inform reaches too."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incidents.audit import system_actor
from incidents.errors import ValidationError
from incidents.org import Person
from incidents.org_io import export_org, import_org
from tests.conftest import T0

CLI = system_actor("cli")


def people(*entries: str) -> str:
    return "people:\n" + "".join(entries)


def test_a_deputy_may_be_listed_after_the_person_they_stand_in_for(
    factory: sessionmaker[Session],
) -> None:
    text = people(
        "  - {login: chief, name: 局长, deputy: second}\n",
        "  - {login: second, name: 副局长}\n",
    )
    with factory() as s, s.begin():
        import_org(s, text, actor=CLI, now=T0)
    with factory() as s:
        chief = s.scalars(select(Person).where(Person.login == "chief")).one()
        second = s.scalars(select(Person).where(Person.login == "second")).one()
        assert chief.deputy_id == second.id
        assert "deputy: second" in export_org(s)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (("  - {login: chief, name: 局长, deputy: nobody}\n",), "no person with login 'nobody'"),
        (("  - {login: chief, name: 局长, deputy: chief}\n",), "cannot be their own deputy"),
    ],
)
def test_an_unknown_or_self_deputy_is_refused_and_nothing_is_stored(
    factory: sessionmaker[Session], entries: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught, factory() as s, s.begin():
        import_org(s, people(*entries), actor=CLI, now=T0)
    assert caught.value.field == "people[0].deputy"
    with factory() as s:
        assert s.scalars(select(Person).where(Person.login == "chief")).first() is None
