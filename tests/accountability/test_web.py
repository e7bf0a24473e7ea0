"""The accountability pages: what a case rests on, and what the viewer may do about it."""

from __future__ import annotations

import html
from typing import Any

from accountability import cases
from accountability.clauses import CLAUSE_TEXT, DECIDER_TEXT, EXEMPTION_TEXT
from tests.accountability.support import HOUR, Bureau
from tests.conftest import T0

DAY = T0 + 24 * HOUR


def _text(browser: Any, path: str) -> str:
    reply = browser.get(path)
    assert reply.status_code == 200, (path, reply.status_code)
    return html.unescape(reply.get_data(as_text=True))


def _exempt_case(bureau: Bureau) -> int:
    """Force majeure on a major incident reported late and handled late with some impact:
    5.2(a) (reporting is conduct) stays, 5.3(b) (consequences) is waived by 5.5(a)."""
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    bureau.file(incident, T0 + 6 * HOUR, "external", late_reason="通信中断")
    bureau.resolve(incident, T0 + 14 * HOUR)
    case = bureau.open_case(incident, "trafhead", DAY)
    bureau.find(case, DAY, force_majeure=True, impact="some")
    bureau.run("lgoffice", DAY, cases.determine, case_id=case)
    return case


def test_the_case_page_shows_matched_and_waived_clauses_in_chinese(
    bureau: Bureau, browser_as: Any
) -> None:
    case = _exempt_case(bureau)
    page = _text(browser_as("lgoffice"), f"/accountability/cases/{case}")

    assert CLAUSE_TEXT["5.2(a)"][1] in page
    assert CLAUSE_TEXT["5.3(b)"][1] in page
    assert EXEMPTION_TEXT["5.5(a)"][0] in page
    assert DECIDER_TEXT["6(1)"][0] in page  # tier 2: written self-criticism or circulated


def test_the_case_page_shows_the_clauses_in_english_when_asked(
    bureau: Bureau, browser_as: Any
) -> None:
    case = _exempt_case(bureau)
    page = _text(browser_as("lgoffice"), f"/accountability/cases/{case}?lang=en")

    assert CLAUSE_TEXT["5.2(a)"][2] in page
    assert CLAUSE_TEXT["5.3(b)"][2] in page
    assert CLAUSE_TEXT["5.2(a)"][1] not in page


def test_the_case_page_offers_only_the_viewer_s_steps(bureau: Bureau, browser_as: Any) -> None:
    case = _exempt_case(bureau)

    office = _text(browser_as("lgoffice"), f"/accountability/cases/{case}")
    hr = _text(browser_as("hr"), f"/accountability/cases/{case}")
    assert f"/accountability/cases/{case}/propose" in office
    assert f"/accountability/cases/{case}/propose" not in hr
    assert f"/accountability/cases/{case}/decide" not in hr


def test_the_case_page_is_not_for_the_duty_officer(bureau: Bureau, browser_as: Any) -> None:
    case = _exempt_case(bureau)

    assert browser_as("duty").get(f"/accountability/cases/{case}").status_code == 404


def test_a_leading_group_member_decides_from_the_page(bureau: Bureau, browser_as: Any) -> None:
    case = _exempt_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction="written_self_criticism")
    member = browser_as("lgmember")
    member.get(f"/accountability/cases/{case}")
    reply = member.post(f"/accountability/cases/{case}/decide", {"sanction": "as_proposed"})

    assert reply.status_code == 302
    assert bureau.case(case).status == "decided"


def test_a_refused_step_comes_back_as_a_message(bureau: Bureau, browser_as: Any) -> None:
    case = _exempt_case(bureau)
    office = browser_as("lgoffice")
    office.get(f"/accountability/cases/{case}")
    office.post(f"/accountability/cases/{case}/propose", {"sanction": "", "reason": ""})
    page = _text(office, f"/accountability/cases/{case}")

    assert 'class="flash error"' in page
    assert bureau.case(case).status == "determined"


def test_the_perfunctory_page_lists_a_closure_without_sanction(
    bureau: Bureau, browser_as: Any
) -> None:
    case = _exempt_case(bureau)
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction=None, reason="不可抗力为主因")
    bureau.run("lgmember", DAY, cases.decide, case_id=case)
    bureau.run("lgoffice", DAY, cases.close_case, case_id=case, justification="不可抗力为主因")
    page = _text(browser_as("lgmember"), "/accountability/perfunctory")

    assert f"/accountability/cases/{case}" in page
    assert "不可抗力为主因" in page


def test_the_case_list_shows_the_viewer_s_cases(bureau: Bureau, browser_as: Any) -> None:
    case = _exempt_case(bureau)

    link = f"/accountability/cases/{case}"
    assert link in _text(browser_as("trafhead"), "/accountability/cases")
    assert link not in _text(browser_as("finhead"), "/accountability/cases")


def test_an_investigator_opens_a_case_from_the_incident_s_subjects(
    bureau: Bureau, browser_as: Any
) -> None:
    incident = bureau.open_incident("general")
    office = browser_as("lgoffice")
    page = _text(office, f"/incidents/{incident}/accountability")
    assert "钱进" in page  # trafstaff, who caused it (3(4))

    reply = office.post(
        f"/incidents/{incident}/accountability", {"person_id": str(bureau.id_of("trafstaff"))}
    )
    assert reply.status_code == 302
    assert "/accountability/cases/" in reply.headers["Location"]


def test_an_investigator_enters_a_finding_from_the_page(bureau: Bureau, browser_as: Any) -> None:
    case = _exempt_case(bureau)
    office = browser_as("lgoffice")
    office.get(f"/accountability/cases/{case}")
    office.post(
        f"/accountability/cases/{case}/findings",
        {"fact": "cooperation", "value": "poor", "evidence": "三次通知未到场"},
    )
    office.post(
        f"/accountability/cases/{case}/findings",
        {"fact": "prior_sanctions", "value": "1", "reason": "外单位处分记录"},
    )

    page = _text(office, f"/accountability/cases/{case}?lang=en")
    assert "三次通知未到场" in page
    assert "外单位处分记录" in page
    with bureau.factory() as s:
        from accountability.facts import case_facts

        facts = case_facts(s, bureau.case_on(s, case), now=DAY).facts()
    assert (facts["cooperation"], facts["prior_sanctions"]) == ("poor", 1)
