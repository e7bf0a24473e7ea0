"""Administrators manage the organisation on the web (issue 2, item 6): import a YAML file
(uploaded or pasted) and download the current one; no one else may."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from incidents.audit import AuditEvent
from incidents.org import Person
from tests.web.conftest import Browser, as_


@pytest.fixture
def admin(app: Flask, sessions: sessionmaker[Session]) -> Browser:
    """The demo ``admin`` (an administrator), logged in with the tests' password."""
    with sessions() as s, s.begin():
        # The web fixtures set one password hash for their logins; admin gets the same.
        duty = s.scalars(select(Person).where(Person.login == "duty")).one()
        s.scalars(
            select(Person).where(Person.login == "admin")
        ).one().password_hash = duty.password_hash
    return as_(app, "admin")


def exported(browser: Browser) -> str:
    reply = browser.get("/org/export.yaml")
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def changed_file(browser: Browser) -> str:
    """The current organisation with trafstaff renamed and a new head of the legal division."""
    doc: dict[str, Any] = yaml.safe_load(exported(browser))
    next(p for p in doc["people"] if p["login"] == "trafstaff")["name"] = "钱进进"
    doc["people"].append(
        {
            "login": "legalhead",
            "name": "何平",
            "positions": [
                {
                    "role": "department_head",
                    "department": "legal",
                    "from": "2026-11-01T00:00:00+08:00",
                    "title": "法制处处长",
                }
            ],
        }
    )
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def upload(browser: Browser, content: str, **extra: str) -> Any:
    data = {"file": (io.BytesIO(content.encode("utf-8")), "organisation.yaml"), **extra}
    return browser.post("/org/import", data)


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """(people, audit events): what a refused import must leave unchanged."""
    with sessions() as s:
        people = s.scalar(select(func.count()).select_from(Person)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return people, events


def result_row(page: str, kind: str) -> tuple[int, int]:
    """(created, updated) as the result table shows them for ``kind``."""
    found = re.search(
        rf'<tr data-kind="{kind}">\s*<th scope="row">[^<]*</th>\s*<td>(\d+)</td>\s*<td>(\d+)</td>',
        page,
    )
    assert found is not None, f"no result row for {kind}"
    return int(found.group(1)), int(found.group(2))


# --- the way in ------------------------------------------------------------------------


def test_the_organisation_pages_link_to_the_import_page_for_an_admin(admin: Browser) -> None:
    for path in ("/org", "/org/people", "/org/systems"):
        assert 'href="/org/import"' in admin.text(path)


def test_the_organisation_pages_show_no_import_link_to_others(duty: Browser) -> None:
    assert 'href="/org/import"' not in duty.text("/org")


def test_the_import_page_has_an_upload_a_text_box_and_the_download_link(admin: Browser) -> None:
    page = admin.text("/org/import")
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file"' in page and 'name="file"' in page
    assert '<textarea id="text" name="text"' in page
    assert 'name="csrf_token"' in page
    assert 'href="/org/export.yaml"' in page


def test_the_download_is_the_organisation_as_a_yaml_attachment(admin: Browser) -> None:
    reply = admin.get("/org/export.yaml")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert reply.headers["Content-Disposition"].startswith("attachment;")
    assert reply.headers["Cache-Control"] == "no-store"
    doc = yaml.safe_load(reply.get_data(as_text=True))
    assert "trafstaff" in {p["login"] for p in doc["people"]}


# --- importing -------------------------------------------------------------------------


def test_an_uploaded_change_is_imported_counted_and_visible(admin: Browser) -> None:
    reply = upload(admin, changed_file(admin))
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert result_row(page, "people") == (1, 1)
    assert result_row(page, "positions") == (1, 0)
    people = admin.text("/org/people")
    assert "钱进进" in people
    assert "何平" in people


def test_the_import_is_audited_as_the_admin_on_the_web(
    admin: Browser, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        last = s.scalar(select(func.max(AuditEvent.seq))) or 0
    upload(admin, changed_file(admin))
    with sessions() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.seq > last)))
    assert sorted(e.kind for e in events) == [
        "org.person.created",
        "org.person.updated",
        "org.position.created",
    ]
    assert {(e.actor_login, e.source) for e in events} == {("admin", "web")}


def test_pasted_yaml_is_imported_too(admin: Browser) -> None:
    reply = admin.post("/org/import", {"text": changed_file(admin)})
    assert reply.status_code == 200
    assert result_row(reply.get_data(as_text=True), "people") == (1, 1)


def test_importing_the_download_changes_nothing(
    admin: Browser, sessions: sessionmaker[Session]
) -> None:
    text = exported(admin)
    before = counts(sessions)
    reply = upload(admin, text)
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert 'id="import-result"' in page
    assert "data-kind=" not in page  # no counts: nothing was created or updated
    assert counts(sessions) == before


def test_a_bad_file_shows_the_field_and_changes_nothing(
    admin: Browser, sessions: sessionmaker[Session]
) -> None:
    doc: dict[str, Any] = yaml.safe_load(changed_file(admin))
    bad = next(i for i, p in enumerate(doc["people"]) if p["login"] == "trafhead")
    doc["people"][bad]["positions"][0]["role"] = "chief"
    before = counts(sessions)
    reply = upload(admin, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert f"<code>people[{bad}].positions[0].role</code>" in page
    assert 'id="import-result"' not in page
    assert counts(sessions) == before
    assert "钱进进" not in admin.text("/org/people")


def test_pasted_text_that_is_not_yaml_is_shown_again_with_the_error(admin: Browser) -> None:
    reply = admin.post("/org/import", {"text": "people: [login: {"})
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert "<code>file</code>" in page
    assert "people: [login: {</textarea>" in page


def test_a_file_and_pasted_text_together_are_refused(
    admin: Browser, sessions: sessionmaker[Session]
) -> None:
    text = changed_file(admin)
    before = counts(sessions)
    reply = upload(admin, text, text=text)
    assert reply.status_code == 422
    assert "<code>file</code>" in reply.get_data(as_text=True)
    assert counts(sessions) == before


def test_an_empty_form_is_refused(admin: Browser) -> None:
    reply = admin.post("/org/import", {"text": "  "})
    assert reply.status_code == 422
    assert "<code>file</code>" in reply.get_data(as_text=True)


def test_a_file_that_is_not_utf8_is_refused(admin: Browser) -> None:
    data = {"file": (io.BytesIO("people: []  # 人员".encode("gbk")), "org.yaml")}
    reply = admin.post("/org/import", data)
    assert reply.status_code == 422
    assert "<code>file</code>" in reply.get_data(as_text=True)


# --- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["duty", "director", "netsec", "trafhead"])
def test_only_an_admin_may_open_the_import_page_or_download(app: Flask, login: str) -> None:
    other = as_(app, login)
    assert other.get("/org/import").status_code == 403
    assert other.get("/org/export.yaml").status_code == 403


@pytest.mark.parametrize("login", ["duty", "director"])
def test_only_an_admin_may_import(
    app: Flask, admin: Browser, sessions: sessionmaker[Session], login: str
) -> None:
    text = changed_file(admin)
    other = as_(app, login)
    before = counts(sessions)
    assert upload(other, text).status_code == 403
    assert counts(sessions) == before


def test_the_import_needs_the_csrf_token(admin: Browser, sessions: sessionmaker[Session]) -> None:
    text = changed_file(admin)
    before = counts(sessions)
    reply = admin.client.post(
        "/org/import",
        data={"file": (io.BytesIO(text.encode("utf-8")), "organisation.yaml")},
    )
    assert reply.status_code == 400
    assert counts(sessions) == before
