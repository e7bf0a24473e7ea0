"""Searching incidents on both engines: exact number first, the text index, short Chinese.

Three characters and more go through the engine's text index (FTS5 trigram on SQLite,
pg_trgm on PostgreSQL); one or two — 勒索, 篡改 — through migration 0016's one- and
two-character pieces, which must still find them (SQLite 3.40's FTS5 ``LIKE`` misses
such patterns). Every search runs twice (``_path``): as it runs, where the newest
``RECENT`` incidents read on the table hold every match here, and with that pass
skipped, so every match comes through the index (kept in step when a title changes).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from config.policy import load_policy
from escalation.response import open_incident
from incidents import queries
from incidents.inputs import IncidentInput
from incidents.org import Person
from incidents.permissions import capabilities
from incidents.queries import IncidentFilter, list_incidents
from incidents.service import patch_incident
from tests.conftest import T0, actor_for

POLICY = load_policy()


@pytest.fixture(autouse=True, params=["newest first", "through the index"])
def _path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "through the index":
        monkeypatch.setattr(queries, "RECENT", 0)


TITLES = (
    "门户网站被篡改",
    "财务系统遭勒索病毒加密",
    "VPN 网关异常登录",
    "办公网 50%_带宽被占满",
    "邮件服务器被钓鱼攻击",
)


def _open_all(factory: sessionmaker[Session], org: dict[str, Person]) -> dict[str, str]:
    numbers: dict[str, str] = {}
    for title in TITLES:
        data = IncidentInput.parse(
            {
                "title": title,
                "category": "network_attack",
                "grade": "general",
                "detected_at": T0.isoformat(),
            }
        )
        with factory() as s, s.begin():
            incident = open_incident(
                s, data=data, actor=actor_for(org["duty"]), now=T0, policy=POLICY
            )
            numbers[title] = incident.number
    return numbers


def _found(factory: sessionmaker[Session], org: dict[str, Person], query: str) -> list[str]:
    with factory() as s:
        caps = capabilities(s, s.get(Person, org["cchead"].id), T0)  # type: ignore[arg-type]
        page = list_incidents(s, caps, IncidentFilter(text=query), limit=50)
        return sorted(i.title for i in page.items)


def test_two_chinese_characters_find_their_incidents_on_both_engines(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "勒索") == ["财务系统遭勒索病毒加密"]
    assert _found(any_factory, any_org, "篡改") == ["门户网站被篡改"]  # a title's end
    assert _found(any_factory, any_org, "钓") == ["邮件服务器被钓鱼攻击"]
    assert _found(any_factory, any_org, "改") == ["门户网站被篡改"]  # its last character
    assert _found(any_factory, any_org, "vp") == ["VPN 网关异常登录"]
    assert _found(any_factory, any_org, "暗链") == []


def test_longer_queries_go_through_the_index_and_ignore_ascii_case(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "门户网站") == ["门户网站被篡改"]
    assert _found(any_factory, any_org, "vpn 网关") == ["VPN 网关异常登录"]
    assert _found(any_factory, any_org, "被篡改的") == []


def test_like_wildcards_in_a_query_are_taken_literally(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "%_") == ["办公网 50%_带宽被占满"]
    assert _found(any_factory, any_org, "50%_带") == ["办公网 50%_带宽被占满"]
    assert _found(any_factory, any_org, "_") == ["办公网 50%_带宽被占满"]


def test_an_exact_number_finds_that_incident_alone(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    numbers = _open_all(any_factory, any_org)
    number = numbers["VPN 网关异常登录"]
    assert _found(any_factory, any_org, number) == ["VPN 网关异常登录"]
    assert _found(any_factory, any_org, number.lower()) == ["VPN 网关异常登录"]
    # A part of a number is a text search: every incident of the year has it.
    assert len(_found(any_factory, any_org, number[:8])) == len(TITLES)


def test_an_edited_title_is_found_by_its_new_words(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    with any_factory() as s, s.begin():
        incident_id = s.execute(
            text("SELECT id FROM incident WHERE title = :t"), {"t": "门户网站被篡改"}
        ).scalar_one()
        patch_incident(
            s,
            incident_id=incident_id,
            data=IncidentInput.parse({"title": "门户网站首页被植入暗链"}, partial=True),
            actor=actor_for(any_org["duty"]),
            now=T0,
        )
    assert _found(any_factory, any_org, "植入暗链") == ["门户网站首页被植入暗链"]
    assert _found(any_factory, any_org, "暗链") == ["门户网站首页被植入暗链"]
    assert _found(any_factory, any_org, "被篡改") == []
    assert _found(any_factory, any_org, "篡改") == []


def test_the_index_exists_on_each_engine(any_factory: sessionmaker[Session]) -> None:
    with any_factory() as s:
        if s.get_bind().dialect.name == "sqlite":
            found = s.scalar(
                select(text("name"))
                .select_from(text("sqlite_master"))
                .where(text("name = 'incident_search'"))
            )
            assert found == "incident_search"
        else:
            indexes = set(
                s.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'incident'"))
            )
            assert {"ix_incident_title_trgm", "ix_incident_number_trgm"} <= indexes


def test_the_index_is_read_window_by_window_down_to_the_first_incident(
    any_factory: sessionmaker[Session],
    any_org: dict[str, Person],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows of one id, then 8, 64...: every incident lies in a window of its own and
    # the search still ends, with the newest first, stopping once the page is full.
    monkeypatch.setattr(queries, "RECENT", 0)
    monkeypatch.setattr(queries, "WINDOW", 1)
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "网") == [
        "VPN 网关异常登录",
        "办公网 50%_带宽被占满",
        "门户网站被篡改",
    ]
    with any_factory() as s:
        caps = capabilities(s, s.get(Person, any_org["cchead"].id), T0)  # type: ignore[arg-type]
        page = list_incidents(s, caps, IncidentFilter(text="网"), limit=2)
        assert [i.title for i in page.items] == ["办公网 50%_带宽被占满", "VPN 网关异常登录"]
