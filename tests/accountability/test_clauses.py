"""Article 5 clause by clause, and every refusal, each held against its Chinese.

One test per clause and per refusal, named after the clause; the docstring quotes the
text it proves. Facts left out take the engine's defaults, and the clauses that turn on
处理及时 and 影响 state them, so that nothing below rests on a presumption.
"""

from __future__ import annotations

from typing import Any

import pytest

from accountability.clauses import CLAUSE_TEXT, EXEMPTION_TEXT
from accountability.rules import InvalidFacts, assess

MAJOR_PROMPT_NONE: dict[str, object] = {
    "grade": "major",
    "handled_promptly": True,
    "impact": "none",
}
MAJOR_LATE_NONE: dict[str, object] = {"grade": "major", "handled_promptly": False, "impact": "none"}
ESPECIALLY_LATE_NONE: dict[str, object] = {**MAJOR_LATE_NONE, "grade": "especially_major"}


def clauses(facts: dict[str, object]) -> tuple[str, ...]:
    result = assess(facts)
    assert result.presumed == (), result.presumed
    return result.clause_ids


def refused(facts: dict[str, Any]) -> str:
    with pytest.raises(InvalidFacts) as caught:
        assess(facts)
    return caught.value.field


def test_the_quotes_below_are_the_engine_s_text() -> None:
    assert CLAUSE_TEXT["5.2(c)"][1].endswith("未对医院财产或声誉造成影响的")
    assert EXEMPTION_TEXT["5.5(a)"][0] == "因不可抗力导致发生的网络安全事故"


# --- 5.1 批评教育或责令作出书面检查 ---------------------------------------------------------


def test_5_1_a() -> None:
    """5.1(a) 发生一般或较大安全事件,未按要求上报的."""
    assert clauses({"grade": "general", "reported_as_required": False}) == ("5.1(a)",)
    assert clauses({"grade": "relatively_major", "reported_as_required": False}) == ("5.1(a)",)


def test_5_1_b() -> None:
    """5.1(b) 未按规定落实相关网络安全管理制度及技术规范,且未导致安全事件发生的."""
    assert clauses({"rules_implemented": False}) == ("5.1(b)",)


def test_5_1_c() -> None:
    """5.1(c) 发生重大安全事件后,对调查工作配合不力的."""
    assert clauses({**MAJOR_LATE_NONE, "cooperation": "poor"}) == ("5.1(c)",)


# --- 5.2 责令其作出书面检查或通报批评 ---------------------------------------------------------


def test_5_2_a() -> None:
    """5.2(a) 发生重大安全事件,未按要求上报的."""
    assert clauses({**MAJOR_LATE_NONE, "reported_as_required": False}) == ("5.2(a)",)


def test_5_2_b() -> None:
    """5.2(b) 未按规定落实相关网络安全管理制度技术规范,导致一般或较大安全事件发生的."""
    facts = {"grade": "general", "rules_implemented": False, "noncompliance_led_to_incident": True}
    assert clauses(facts) == ("5.2(b)",)


def test_5_2_c() -> None:
    """5.2(c) 发生重大或特别重大安全事件,且发生安全事件后处理及时,未对医院财产或声誉造成影响的."""
    assert clauses(MAJOR_PROMPT_NONE) == ("5.2(c)",)


def test_5_2_c_is_not_presumed() -> None:
    """5.2(c) turns on 处理及时 and 影响: left out, they are named as presumed."""
    assert assess({"grade": "major"}).presumed == ("handled_promptly", "impact")


def test_5_2_d() -> None:
    """5.2(d) 经过批评教育或责令作出书面检查后,仍不按规定落实相关网络安全管理制度及技术规范的."""
    assert clauses({"rules_implemented": False, "prior_sanctions": 1}) == ("5.1(b)", "5.2(d)")


def test_5_2_e() -> None:
    """5.2(e) 发生特别重大安全事件后,对调查工作配合不力的."""
    assert clauses({**ESPECIALLY_LATE_NONE, "cooperation": "poor"}) == ("5.2(e)",)


# --- 5.3 通报批评或一般处理 ---------------------------------------------------------------


def test_5_3_a() -> None:
    """5.3(a) 发生特别重大安全事件,未按要求上报的."""
    assert clauses({**ESPECIALLY_LATE_NONE, "reported_as_required": False}) == ("5.3(a)",)


def test_5_3_a_a_false_report_is_not_reported_as_required() -> None:
    """5.3(a) 未按要求上报: reported on time but falsely (谎报), with some impact."""
    facts = {
        "grade": "especially_major",
        "reported_as_required": True,
        "concealed_or_false_report": True,
        "handled_promptly": True,
        "impact": "some",
    }
    result = assess(facts)
    assert (result.clause_ids, result.tier, result.uncovered) == (("5.3(a)",), 3, False)


def test_5_3_b() -> None:
    """5.3(b) 发生重大或特别重大安全事件,且发生安全事件后处理不及时,
    给单位财产或声誉带来一定影响的."""
    assert clauses({**MAJOR_LATE_NONE, "impact": "some"}) == ("5.3(b)",)


def test_5_3_c() -> None:
    """5.3(c) 发生特别重大安全事件后,对调查工作不配合的."""
    assert clauses({**ESPECIALLY_LATE_NONE, "cooperation": "refused"}) == ("5.3(c)",)


# --- 5.4 严肃处理,情况十分严重者应报警处理 -------------------------------------------------------


def test_5_4_a() -> None:
    """5.4(a) 发生重大或特别重大安全事件造成后果严重并刻意隐瞒或谎报,造成恶劣影响的."""
    facts = {**MAJOR_LATE_NONE, "impact": "serious", "concealed_or_false_report": True}
    # 隐瞒或谎报 is also 未按要求上报: 5.2(a) beside 5.4(a); 处理不及时 adds 5.3(b).
    assert clauses(facts) == ("5.2(a)", "5.3(b)", "5.4(a)")


def test_5_4_b() -> None:
    """5.4(b) 未按规定落实相关网络安全管理制度及技术规范导致发生重大或特别重大安全事件,
    且发生安全事件后处理不及时,给单位财产或声誉带来恶劣影响的."""
    facts = {
        **MAJOR_LATE_NONE,
        "impact": "bad",
        "rules_implemented": False,
        "noncompliance_led_to_incident": True,
    }
    assert clauses(facts) == ("5.3(b)", "5.4(b)")


def test_5_4_c() -> None:
    """5.4(c) 发生安全事件后销毁证据、弄虚作假的."""
    assert clauses({"grade": "general", "evidence_destroyed_or_falsified": True}) == ("5.4(c)",)


def test_5_4_tier_4_is_serious_handling_with_the_referral_beside_it() -> None:
    """5.4 应当予严肃处理,情况十分严重者应报警处理."""
    result = assess({"grade": "general", "evidence_destroyed_or_falsified": True})
    assert [o.code for o in result.sanctions] == ["serious_handling"]
    referral = result.to_dict()["police_referral"]
    assert isinstance(referral, dict) and referral["in_addition_to"] == "serious_handling"


def test_5_4_closing() -> None:
    """5.4 对应追究责任主体责任而敷衍结案、弄虚作假的,应当对责任追究主体通报批评."""
    result = assess({"grade": "general", "perfunctory_closure": True})
    assert result.clause_ids == ("5.4(closing)",)
    assert [o.code for o in result.sanctions] == ["circulated_criticism"]


# --- 5.5 不追究责任 -----------------------------------------------------------------------


def test_5_5_a() -> None:
    """5.5(a) 因不可抗力导致发生的网络安全事故."""
    result = assess({**MAJOR_LATE_NONE, "impact": "some", "force_majeure": True})
    assert (result.tier, result.waived_ids, result.exemption) == (0, ("5.3(b)",), "5.5(a)")


def test_5_5_b() -> None:
    """5.5(b) 有充分证据证明完全落实了相关安全要求,由未知原因导致网络安全事故发生的."""
    result = assess({**MAJOR_PROMPT_NONE, "full_compliance_proven": True})
    assert (result.tier, result.waived_ids, result.exemption) == (0, ("5.2(c)",), "5.5(b)")


# --- refusals: each contradiction names its fact ------------------------------------


def test_refused_not_reported_without_an_incident() -> None:
    """5.1(a)–5.3(a) 发生…安全事件,未按要求上报: no incident, nothing to report."""
    assert refused({"reported_as_required": False}) == "reported_as_required"


def test_refused_a_false_report_without_an_incident() -> None:
    """5.4(a) 刻意隐瞒或谎报: no incident, no report to conceal."""
    assert refused({"concealed_or_false_report": True}) == "concealed_or_false_report"


def test_refused_cooperation_with_no_investigation() -> None:
    """5.1(c) 发生重大安全事件后,对调查工作配合不力: no incident, no investigation."""
    assert refused({"cooperation": "poor"}) == "cooperation"
    assert refused({"cooperation": "refused"}) == "cooperation"


def test_refused_evidence_destroyed_after_no_incident() -> None:
    """5.4(c) 发生安全事件后销毁证据: 'after an incident' — there was none."""
    assert refused({"evidence_destroyed_or_falsified": True}) == "evidence_destroyed_or_falsified"


def test_refused_force_majeure_without_an_incident() -> None:
    """5.5(a) 因不可抗力导致发生的网络安全事故: no incident was caused."""
    assert refused({"force_majeure": True}) == "force_majeure"


def test_refused_full_compliance_without_an_incident() -> None:
    """5.5(b) 由未知原因导致网络安全事故发生的: no incident arose."""
    assert refused({"full_compliance_proven": True}) == "full_compliance_proven"


def test_refused_force_majeure_beside_non_compliance_that_led_to_the_incident() -> None:
    """5.5(a) 因不可抗力导致 against 5.4(b) 未按规定落实…导致: one cause or the other."""
    facts = {
        **MAJOR_LATE_NONE,
        "impact": "bad",
        "rules_implemented": False,
        "noncompliance_led_to_incident": True,
        "force_majeure": True,
    }
    assert refused(facts) == "force_majeure"


def test_refused_full_compliance_beside_rules_not_implemented() -> None:
    """5.5(b) 完全落实了相关安全要求 against 未按规定落实: both cannot hold."""
    facts = {"grade": "major", "rules_implemented": False, "full_compliance_proven": True}
    assert refused(facts) == "full_compliance_proven"


def test_refused_non_compliance_leading_to_no_incident() -> None:
    """5.2(b) 导致…安全事件发生: there was none (that is 5.1(b) 且未导致)."""
    facts = {"rules_implemented": False, "noncompliance_led_to_incident": True}
    assert refused(facts) == "noncompliance_led_to_incident"


def test_refused_impact_without_an_incident() -> None:
    """5.3(b) 给单位财产或声誉带来一定影响: an impact needs an incident."""
    assert refused({"impact": "some"}) == "impact"
