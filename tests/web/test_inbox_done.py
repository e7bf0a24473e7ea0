"""An inbox item is done once its ask is met — a page when the incident is acknowledged,
an inform when its reader confirms receipt — still listed, shown as done with who and
when, and no longer counted in the header's badge."""

from __future__ import annotations

import re

from flask import Flask

from escalation.sweep import sweep
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import as_, open_, services_of
from tests.web.test_inbox import _deliver

BADGE = re.compile(r'<span class="badge"[^>]*>(\d+)</span>')


def _items(page: str) -> list[str]:
    return re.findall(r"<li class=\"[^\"]*\"[^>]*>.*?</li>", page, re.S)


def _badge(page: str) -> int:
    found = BADGE.search(page)
    return int(found.group(1)) if found else 0


def test_a_page_is_done_once_the_incident_is_acknowledged(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    incident = open_(app, org, grade="major", at=clock.now(), title="平台中断")
    _deliver(app, clock)
    cchead = as_(app, "cchead")  # paged by the chain's first step
    before = cchead.text("/inbox")
    pages = [i for i in _items(before) if "data-done" not in i]
    assert pages and _badge(before) >= 1
    assert "data-done" not in before

    clock.advance(minutes=3)
    assert as_(app, "netsec").post(f"/incidents/{incident}/acknowledge").status_code == 302
    after = cchead.text("/inbox")
    done = [i for i in _items(after) if 'data-done="1"' in i]
    assert done, after
    assert all('class="done"' in i for i in done)
    assert all(org["netsec"].name in i and "11-27 09:03" in i for i in done)
    assert len(_items(after)) == len(_items(before))  # shown as done, not hidden
    assert _badge(after) == _badge(before) - len(done)


def test_a_page_of_an_unacknowledged_incident_is_not_done(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    open_(app, org, grade="major", at=clock.now(), title="平台中断")
    open_(app, org, grade="major", at=clock.now(), title="另一个事件")
    _deliver(app, clock)
    page = as_(app, "cchead").text("/inbox")
    assert "data-done" not in page
    assert 'class="unread"' in page


def test_an_inform_is_done_once_the_leader_confirms_it_not_when_someone_acknowledges(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    incident = open_(app, org, grade="major", at=clock.now(), title="平台中断")
    clock.advance(minutes=30)  # the major chain informs 3(2) after 30 min (签收 asked)
    services = services_of(app)
    while sweep(services.sessions, now=clock.now(), policy=services.policy).more:
        pass
    _deliver(app, clock)
    netsec = as_(app, "netsec")
    assert [i for i in _items(netsec.text("/inbox")) if "请知悉并签收" in i]

    assert as_(app, "cchead").post(f"/incidents/{incident}/acknowledge").status_code == 302
    page = netsec.text("/inbox")
    informs = [i for i in _items(page) if "请知悉并签收" in i]
    assert informs and not [i for i in informs if "data-done" in i]  # the receipt is owed
    badge = _badge(page)

    clock.advance(minutes=2)
    assert netsec.post(f"/incidents/{incident}/receipts/confirm").status_code == 302
    page = netsec.text("/inbox")
    confirmed = [i for i in _items(page) if 'data-done="1"' in i and "已于" in i and "签收" in i]
    assert confirmed
    assert _badge(page) < badge
