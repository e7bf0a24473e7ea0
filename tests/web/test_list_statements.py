"""The incident list costs the same statements whatever its length: no query per row.

Counted with a ``before_cursor_execute`` listener on the app's engine while one page is
served, for a viewer who sees everything and for a department head (whose visibility
filter once joined ``system_user`` per incident), listed plainly and searched.
"""

from __future__ import annotations

import pytest
from flask import Flask

from app.web import incident_pages
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.statements import statements
from tests.web.conftest import Browser, as_, open_, services_of

PAGES = ("/incidents", "/incidents?q=门户", "/incidents?q=篡改网站", "/incidents?open=1")
# (responsible department, system): some visible to the traffic head by department,
# some by a system the traffic division uses, some not at all.
SPREAD = (
    ("traffic", None),
    ("finance", "portal"),
    ("finance", "finance-system"),
    ("legal", "oa"),
    ("traffic", "traffic-platform"),
    ("legal", None),
)


def _statements(app: Flask, who: Browser, path: str) -> int:
    who.get(path)  # once first: the session's own first-request statements
    with statements(services_of(app).engine) as seen:
        assert who.get(path).status_code == 200
    return len(seen)


def _open(app: Flask, org: dict[str, Person], clock: FrozenClock, rounds: int) -> None:
    for n in range(rounds):
        for department, system in SPREAD:
            open_(
                app,
                org,
                grade="general",
                at=clock.now(),
                title=f"门户网站被篡改网站 {n}",
                department=department,
                system=system,
            )


@pytest.mark.parametrize("login", ["duty", "trafhead"])
def test_a_longer_page_costs_no_more_statements(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    login: str,
) -> None:
    _open(app, org, clock, 2)
    who = as_(app, login)
    for path in PAGES:
        monkeypatch.setattr(incident_pages, "PAGE_SIZE", 1)
        short = _statements(app, who, path)
        monkeypatch.setattr(incident_pages, "PAGE_SIZE", 12)
        assert _statements(app, who, path) == short, path


@pytest.mark.parametrize("login", ["duty", "trafhead"])
def test_more_incidents_cost_no_more_statements(
    app: Flask, org: dict[str, Person], clock: FrozenClock, login: str
) -> None:
    _open(app, org, clock, 1)
    who = as_(app, login)
    before = {path: _statements(app, who, path) for path in PAGES}
    _open(app, org, clock, 3)
    assert {path: _statements(app, who, path) for path in PAGES} == before


def test_the_department_head_sees_the_incidents_of_the_systems_the_division_uses(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    _open(app, org, clock, 1)
    page = as_(app, "trafhead").text("/incidents")
    # traffic; finance on the portal; legal on the OA system; traffic on its platform.
    assert page.count("门户网站被篡改网站 0") == 4
