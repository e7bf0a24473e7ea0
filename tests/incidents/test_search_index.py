"""The same searches with the newest-incidents pass skipped, so every match comes through
the engine's text index: trigrams for three characters and more, migration 0016's
one- and two-character pieces for 勒索, 篡改 and 钓 (kept in step when a title changes).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from incidents import queries
from incidents.inputs import IncidentInput
from incidents.org import Person
from incidents.permissions import capabilities
from incidents.service import patch_incident
from tests.conftest import T0, actor_for
from tests.incidents.test_search import _found, _open_all


@pytest.fixture(autouse=True)
def _through_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "RECENT", 0)


def test_short_chinese_words_are_found_through_the_pieces(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "勒索") == ["财务系统遭勒索病毒加密"]
    assert _found(any_factory, any_org, "篡改") == ["门户网站被篡改"]  # a title's end
    assert _found(any_factory, any_org, "钓") == ["邮件服务器被钓鱼攻击"]
    assert _found(any_factory, any_org, "改") == ["门户网站被篡改"]  # its last character
    assert _found(any_factory, any_org, "vp") == ["VPN 网关异常登录"]
    assert _found(any_factory, any_org, "_") == ["办公网 50%_带宽被占满"]
    assert _found(any_factory, any_org, "暗链") == []


def test_longer_words_are_found_through_the_trigrams(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "门户网站") == ["门户网站被篡改"]
    assert _found(any_factory, any_org, "vpn 网关") == ["VPN 网关异常登录"]
    assert _found(any_factory, any_org, "50%_带") == ["办公网 50%_带宽被占满"]


def test_an_edited_title_is_found_by_its_new_short_words_only(
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
    assert _found(any_factory, any_org, "暗链") == ["门户网站首页被植入暗链"]
    assert _found(any_factory, any_org, "篡改") == []


def test_the_index_is_read_window_by_window_down_to_the_first_incident(
    any_factory: sessionmaker[Session],
    any_org: dict[str, Person],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows of one id, then 8, 64...: every incident lies in a window of its own and
    # the search still ends, with the newest first, stopping once the page is full.
    monkeypatch.setattr(queries, "WINDOW", 1)
    _open_all(any_factory, any_org)
    assert _found(any_factory, any_org, "网") == [
        "VPN 网关异常登录",
        "办公网 50%_带宽被占满",
        "门户网站被篡改",
    ]
    with any_factory() as s:
        caps = capabilities(s, s.get(Person, any_org["cchead"].id), T0)  # type: ignore[arg-type]
        page = queries.list_incidents(s, caps, queries.IncidentFilter(text="网"), limit=2)
        assert [i.title for i in page.items] == ["办公网 50%_带宽被占满", "VPN 网关异常登录"]
