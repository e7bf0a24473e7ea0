"""Every page and every error path in the reader's language (issue 14).

The crawl walks ``app.url_map``, so a route added tomorrow is crawled tomorrow: every GET
page of the web face with its parameters filled from a seeded incident, report,
accountability case, department, person and system (a parameter nothing seeded names gets
an id that does not exist: its 404 page is crawled instead), then every form posted empty,
then the named bad inputs below, then the HTTP errors (404, 405, 413, CSRF, Flask-Login's
prompt). It does so as people whose language is zh_CN and again as people whose language
is English, and fails on any page that says English the catalogue translates (zh_CN), or
the catalogue's Chinese (en), or leaves a placeholder unfilled (``tests/web/words.py``).

The API is called with bad input with and without ``Accept-Language: zh-CN``: every error
body keeps its code, field and params, and says its message in Chinese only when asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from accountability import cases
from incidents.audit import Actor
from incidents.clock import FrozenClock
from incidents.org import Department, Person, System
from incidents.reports import Report
from incidents.tokens import create_token
from tests.web.conftest import PASSWORD, Browser, open_, services_of
from tests.web.words import CJK, leaks, visible_text

LANGUAGES = ("zh_CN", "en")
# Who crawls: the duty officer (incidents, reports), the leading group office
# (accountability), the administrator (organisation) and a staff member outside the
# incident's chain (the refusals).
CRAWLERS = ("duty", "lgoffice", "admin", "trafstaff")
# Not pages of the web face: the API (crawled below), static files, probes and machine
# endpoints, the webhook (Telegram's, checked by its secret).
SKIP_PREFIXES = ("/api/", "/static/", "/metrics", "/healthz", "/readyz", "/telegram/")
# Posted last or not at all: signing out ends the crawl's own session.
LAST_POSTS = ("/logout",)
HTML = "text/html"


@dataclass
class Seeded:
    values: dict[str, object]
    leaks: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


def _set_language(app: Flask, language: str) -> None:
    with services_of(app).sessions() as s, s.begin():
        people = list(s.scalars(select(Person)))
        hashed = next(p.password_hash for p in people if p.password_hash)
        for person in people:
            person.language = language
            person.password_hash = hashed  # every demo login signs in with PASSWORD


def _seed(app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser) -> Seeded:
    incident = open_(app, org, grade="major", at=clock.now() - timedelta(minutes=30))
    filed = duty.post(
        f"/incidents/{incident}/reports/new",
        {
            "kind": "initial",
            "items.entity": "某市局交通管理处；交通管理综合信息平台（关键信息基础设施）",
            "items.occurrence": "2026年11月27日09时发现平台主要功能中断，已切换备用链路。",
        },
    )
    assert filed.status_code == 302, filed.get_data(as_text=True)[-1500:]
    factory = services_of(app).sessions
    with factory() as s, s.begin():
        report = s.scalars(select(Report.id).where(Report.incident_id == incident)).one()
        lgoffice = s.scalars(select(Person).where(Person.login == "lgoffice")).one()
        subject = s.scalars(select(Person.id).where(Person.login == "trafhead")).one()
        case = cases.open_case(
            s,
            incident_id=incident,
            person_id=subject,
            actor=Actor(lgoffice.id, lgoffice.login, "web"),
            now=clock.now(),
        )
        values: dict[str, object] = {
            "incident_id": incident,
            "report_id": report,
            "case_id": case.id,
            "department_id": s.scalars(
                select(Department.id).where(Department.code == "traffic")
            ).one(),
            "person_id": subject,
            "system_id": s.scalars(select(System.id).order_by(System.id).limit(1)).one(),
            "role": "duty_officer",
            "year": clock.now().year,
        }
    return Seeded(values)


def _fill(rule: Rule, values: dict[str, object]) -> str:
    """The rule's path with each parameter from ``values``; an id nothing seeded names is
    one that does not exist, and a text parameter a word that names nothing."""
    path = rule.rule
    for name, converter in rule._converters.items():  # werkzeug keeps them here
        if name in values:
            value = values[name]
        elif type(converter).__name__ in ("IntegerConverter", "IdConverter"):
            value = 999_999
        else:
            value = "nothing-by-this-name"
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


def _web_rules(app: Flask, method: str) -> list[Rule]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if method in (r.methods or ())
            and not r.rule.startswith(SKIP_PREFIXES)
            and r.rule not in LAST_POSTS
        ),
        key=lambda r: r.rule,
    )


def _check(seeded: Seeded, who: str, what: str, reply: TestResponse, language: str) -> None:
    assert reply.status_code < 500, (who, what, reply.status_code)
    data = reply.get_data()
    reply.close()  # a file sent (favicon, PDF) is closed once read
    if reply.mimetype == HTML:
        text = visible_text(data.decode(), language)
    elif reply.mimetype == "application/json":
        # An error's message, and the rendered fragments the live pages fetch.
        text = " ".join(
            visible_text(piece, language) if "<" in piece else piece
            for piece in _strings(json.loads(data))
        )
    else:
        return  # a document (PDF, DOCX, xlsx, ics, YAML): its words are the report's own
    seeded.seen.add(what)
    seeded.leaks += [f"{who} {what} ({reply.status_code}): {w!r}" for w in leaks(text, language)]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _visit(seeded: Seeded, who: str, browser: Browser, path: str, language: str) -> None:
    reply = browser.get(path, follow_redirects=True)
    _check(seeded, who, f"GET {path}", reply, language)


def _post(
    seeded: Seeded,
    who: str,
    browser: Browser,
    path: str,
    data: dict[str, Any],
    language: str,
    **kw: Any,
) -> TestResponse:
    reply = browser.post(path, data, follow_redirects=True, **kw)
    _check(seeded, who, f"POST {path} {sorted(data)}", reply, language)
    return reply


def _bad_inputs(seeded: Seeded) -> list[tuple[str, str, dict[str, Any]]]:
    """The named error paths: (who, path, form) each refused with a domain error."""
    incident = seeded.values["incident_id"]
    case = seeded.values["case_id"]
    person = seeded.values["person_id"]
    new = {"title": "交通平台主要功能中断", "category": "equipment_failure", "grade": "major"}
    return [
        ("duty", "/incidents/new", {**new, "detected_at": "2030-01-01T08:00"}),  # the future
        ("duty", "/incidents/new", {**new, "detected_at": "yesterday"}),
        ("duty", "/incidents/new", {**new, "detected_at": "2026-11-27T08:00", "grade": ""}),
        ("duty", "/incidents/new", {**new, "detected_at": "2026-11-27T08:00", "title": ""}),
        ("duty", f"/incidents/{incident}/reports/new", {"kind": "initial", "items.entity": "x"}),
        ("duty", f"/incidents/{incident}/reports/new", {"kind": "final"}),
        ("duty", f"/incidents/{incident}/reports/new", {"kind": "bogus"}),
        ("duty", f"/incidents/{incident}/regrade", {"grade": "especially_major", "reason": ""}),
        ("duty", f"/incidents/{incident}/regrade", {"grade": "nonsense", "reason": "x"}),
        ("duty", f"/incidents/{incident}/close", {}),  # reports owed
        ("trafstaff", f"/incidents/{incident}/acknowledge", {}),
        ("trafstaff", "/incidents/new", {**new, "detected_at": "2026-11-27T08:00"}),
        ("admin", "/org/import", {"text": "departments: [unclosed"}),
        ("admin", "/org/import", {"text": "people:\n  - login: x\n    colour: red\n"}),
        ("admin", "/org/import", {}),
        ("lgoffice", f"/incidents/{incident}/accountability", {"person_id": "duty"}),
        ("lgoffice", f"/incidents/{incident}/accountability", {"person_id": str(person)}),
        ("lgoffice", f"/accountability/cases/{case}/findings", {"fact": "bogus"}),
        ("lgoffice", f"/accountability/cases/{case}/propose", {"sanction": "bogus"}),
        ("lgoffice", f"/accountability/cases/{case}/decide", {}),
        ("lgoffice", f"/accountability/cases/{case}/execute", {"on": "not a date"}),
        ("duty", "/profile/language", {"language": "fr"}),
    ]


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def crawl(
    app: Flask, org: dict[str, Person], clock: FrozenClock, language: str
) -> Iterator[tuple[Seeded, dict[str, Browser]]]:
    _set_language(app, language)
    browsers = {login: Browser(app) for login in CRAWLERS}
    for login, browser in browsers.items():
        assert browser.login(login, PASSWORD).status_code == 302, login
    yield _seed(app, org, clock, browsers["duty"]), browsers


def test_every_page_is_in_the_readers_language(
    app: Flask, crawl: tuple[Seeded, dict[str, Browser]], language: str
) -> None:
    seeded, browsers = crawl
    rules = _web_rules(app, "GET")
    assert len(rules) > 30  # the crawl found the web face
    for who, browser in browsers.items():
        for rule in rules:
            _visit(seeded, who, browser, _fill(rule, seeded.values), language)
    assert len(seeded.seen) > 25  # pages and JSON read, not only documents
    assert not seeded.leaks, "\n".join(seeded.leaks)


def test_every_form_refuses_in_the_readers_language(
    app: Flask, crawl: tuple[Seeded, dict[str, Browser]], language: str
) -> None:
    seeded, browsers = crawl
    for who, path, form in _bad_inputs(seeded):
        reply = _post(seeded, who, browsers[who], path, form, language)
        assert reply.status_code >= 400 or "flash error" in reply.get_data(as_text=True), (
            who,
            path,
            form,
        )
    # Then every form of the web face, posted empty, by each crawler.
    for who, browser in browsers.items():
        for rule in _web_rules(app, "POST"):
            _post(seeded, who, browser, _fill(rule, seeded.values), {}, language)
    assert not seeded.leaks, "\n".join(seeded.leaks)


def test_the_http_errors_are_in_the_readers_language(
    app: Flask, crawl: tuple[Seeded, dict[str, Browser]], language: str
) -> None:
    seeded, browsers = crawl
    duty = browsers["duty"]
    checks = {
        "404": duty.get("/no/such/page"),
        "404 id": duty.get("/incidents/999999"),
        "404 past the database": duty.get("/incidents/99999999999999"),
        "405": duty.get("/logout"),
        "413": duty.post("/org/import", {"text": "x" * (6 * 1024 * 1024)}),
        "CSRF": duty.client.post("/profile/language", data={"language": "en"}),
    }
    for what, reply in checks.items():
        _check(seeded, "duty", what, reply, language)
        assert reply.status_code >= 400, what
        if language == "zh_CN":
            assert CJK.search(visible_text(reply.get_data(as_text=True)).split("·")[-1]), what
    # Flask-Login's prompt, to a visitor whose browser asked for the language by ?lang=.
    visitor = Browser(app)
    visitor.get(f"/login?lang={language}")
    prompt = visitor.get("/incidents", follow_redirects=True)
    _check(seeded, "visitor", "GET /incidents signed out", prompt, language)
    page = prompt.get_data(as_text=True)
    assert ("请先登录再访问此页面" in page) == (language == "zh_CN")
    assert ("Please log in to access this page." in page) == (language == "en")
    # Signing out is the last form.
    _post(seeded, "duty", duty, "/logout", {}, language)
    assert not seeded.leaks, "\n".join(seeded.leaks)


# --- the API ------------------------------------------------------------------------


def _api_token(app: Flask, clock: FrozenClock, login: str) -> str:
    with services_of(app).sessions() as s, s.begin():
        token, _row = create_token(
            s, login=login, name="crawl", actor=Actor(None, "cli", "cli"), now=clock.now()
        )
    return token


def _api_calls(app: Flask, incident: int) -> list[tuple[str, str, Any]]:
    """Bad input for every API route that takes a body (an unknown field), and the named
    error paths: a future detection time, a missing field, a wrong method, no such id."""
    calls: list[tuple[str, str, Any]] = []
    values: dict[str, object] = {"incident_id": incident}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "intake" in rule.rule:
            continue  # the intake endpoints take a monitoring token, checked by their tests
        for method in sorted((rule.methods or set()) & {"POST", "PATCH", "PUT"}):
            calls.append((method, _fill(rule, values), {"no_such_field_at_all": 1}))
    calls += [
        (
            "POST",
            "/api/v1/incidents",
            {
                "title": "门户网站被篡改",
                "category": "network_attack",
                "grade": "major",
                "detected_at": "2030-01-01T00:00:00+08:00",
            },
        ),
        ("POST", "/api/v1/incidents", {"title": "门户网站被篡改"}),
        ("PATCH", f"/api/v1/incidents/{incident}", {"status": "nonsense"}),
        ("DELETE", "/api/v1/incidents", None),
        ("GET", "/api/v1/incidents/999999", None),
        ("GET", "/api/v1/incidents?limit=0", None),
    ]
    return calls


def test_api_errors_speak_chinese_when_asked_and_english_by_default(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    token = _api_token(app, clock, "duty")
    client = app.test_client()
    wrong: list[str] = []
    asked = 0
    for method, path, body in _api_calls(app, incident):
        replies = {}
        for language, header in (("en", None), ("zh_CN", "zh-CN,zh;q=0.9,en;q=0.5")):
            headers = {"Authorization": f"Bearer {token}"}
            if header:
                headers["Accept-Language"] = header
            reply = client.open(path, method=method, json=body, headers=headers)
            replies[language] = reply
            if reply.status_code < 400:
                continue
            error = reply.get_json()["error"]
            message = str(error["message"])
            asked += 1
            if language == "zh_CN" and not CJK.search(message):
                wrong.append(f"{method} {path} zh-CN: {message!r}")
            if language == "en" and CJK.search(message.split(":")[0]):
                wrong.append(f"{method} {path} en: {message!r}")
            wrong += [f"{method} {path} {language}: {w!r}" for w in leaks(message, language)]
        en, zh = replies["en"], replies["zh_CN"]
        assert en.status_code == zh.status_code, (method, path)
        if en.status_code >= 400:
            plain, chinese = en.get_json()["error"], zh.get_json()["error"]
            # The words change with the reader; what a machine reads does not.
            assert {k: v for k, v in plain.items() if k != "message"} == {
                k: v for k, v in chinese.items() if k != "message"
            }, (method, path)
    assert asked > 20
    assert not wrong, "\n".join(wrong)


def test_an_api_caller_without_a_token_is_told_in_its_language(app: Flask) -> None:
    client = app.test_client()
    plain = client.get("/api/v1/incidents").get_json()["error"]
    chinese = client.get("/api/v1/incidents", headers={"Accept-Language": "zh"}).get_json()["error"]
    assert plain["code"] == chinese["code"] == "unauthorized"
    assert plain["message"] == "authentication required: send Authorization: Bearer <token>"
    assert chinese["message"] == "需要认证：请发送 Authorization: Bearer <token>"


def test_the_web_shows_a_domain_error_in_the_persons_language_not_the_sessions(
    app: Flask, org: dict[str, Person], clock: FrozenClock
) -> None:
    """The person's setting wins over an English Accept-Language header on the web."""
    _set_language(app, "zh_CN")
    duty = Browser(app)
    duty.login("duty", PASSWORD)
    reply = duty.post(
        "/incidents/new",
        {
            "title": "交通平台主要功能中断",
            "category": "equipment_failure",
            "grade": "major",
            "detected_at": "2030-01-01T08:00",
        },
        headers={"Accept-Language": "en"},
    )
    assert reply.status_code == 422
    page = visible_text(reply.get_data(as_text=True))
    assert "不能晚于当前时间" in page
    assert "cannot be in the future" not in page


def test_params_are_filled_in_as_raised_and_known_words_looked_up() -> None:
    """The words a guard passes in (what was refused) come out in the reader's language; a
    login stays as it is; the params a machine reads are unchanged."""
    from app.i18n import error_text
    from incidents.errors import Forbidden

    refused = Forbidden(
        "only the command center may %(what)s (3(3))", params={"what": "close incidents"}
    )
    assert error_text(refused, "zh_CN") == "只有指挥中心可以关闭事件(3(3))"
    assert error_text(refused, "en") == "only the command center may close incidents (3(3))"
    assert refused.to_dict()["params"] == {"what": "close incidents"}
    stranger = Forbidden("%(login)s is not an active person", params={"login": "zhangsan"})
    assert error_text(stranger, "zh_CN") == "zhangsan 不是在岗人员"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_server_error_is_our_page_in_the_readers_language(
    app: Flask, org: dict[str, Person], language: str
) -> None:
    def boom() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers
    _set_language(app, language)
    duty = Browser(app)
    duty.login("duty", PASSWORD)
    page = duty.get("/boom")
    api = app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert page.status_code == api.status_code == 500
    text = visible_text(page.get_data(as_text=True), language)
    said = {"zh_CN": "系统出错，已记录在案", "en": "Something went wrong on our side"}
    assert said[language] in text
    assert "Internal Server Error" not in text and "a bug" not in text
    assert api.get_json()["error"]["code"] == "internal_server_error"
