"""Tier 4 and Article 4: what is imposed, by whom, and what goes beside it.

5.4: 应当予严肃处理,情况十分严重者应报警处理 — serious handling always; a police referral
in addition where very serious. Art. 4: 由局办公室…给予当事人…处理;构成违法犯罪的由司法机关
依法追究刑事责任.
"""

from __future__ import annotations

import pytest

from accountability import cases
from incidents.errors import ValidationError
from tests.accountability.support import DAY, Bureau, tier3_case, tier4_case


def _propose(bureau: Bureau, case: int, sanction: str | None, **kw: object) -> None:
    bureau.run("lgoffice", DAY, cases.propose, case_id=case, sanction=sanction, **kw)


@pytest.mark.parametrize(
    "sanction",
    [
        pytest.param("police_referral", id="a referral instead of serious handling"),
        pytest.param("general_handling", id="milder general handling, even with reasons"),
        pytest.param(None, id="nothing, even with reasons"),
    ],
)
def test_5_4_a_tier_4_decision_without_serious_handling_is_refused(
    bureau: Bureau, sanction: str | None
) -> None:
    """5.4 应当予严肃处理: the 'shall' leaves no milder choice at tier 4."""
    case = tier4_case(bureau)
    with pytest.raises(ValidationError) as refused:
        _propose(bureau, case, sanction, reason="情节较轻")
    assert refused.value.field == "sanction"
    assert bureau.case(case).proposed_sanction is None


def test_5_4_the_police_referral_comes_beside_serious_handling(bureau: Bureau) -> None:
    """情况十分严重者应报警处理: the referral is added, with why it is very serious."""
    case = tier4_case(bureau)
    with pytest.raises(ValidationError) as refused:
        _propose(bureau, case, "serious_handling", police_referral=True)
    assert refused.value.field == "reason"

    _propose(bureau, case, "serious_handling", police_referral=True, reason="销毁全部日志")
    proposed = bureau.case(case)
    assert (proposed.proposed_sanction, proposed.police_referral) == ("serious_handling", True)
    assert proposed.referral_reason == "销毁全部日志"


def test_5_4_a_police_referral_below_tier_4_is_refused(bureau: Bureau) -> None:
    case = tier3_case(bureau)
    with pytest.raises(ValidationError) as refused:
        _propose(bureau, case, "general_handling", police_referral=True, reason="严重")
    assert refused.value.field == "police_referral"


def test_art_4_a_crime_is_referred_to_the_judicial_organs_at_any_tier(bureau: Bureau) -> None:
    """构成违法犯罪的由司法机关依法追究刑事责任."""
    case = tier3_case(bureau)
    with pytest.raises(ValidationError) as refused:
        _propose(bureau, case, "general_handling", judicial_referral=True)
    assert refused.value.field == "reason"
    _propose(
        bureau, case, "general_handling", judicial_referral=True, reason="涉嫌破坏计算机信息系统罪"
    )
    assert bureau.case(case).judicial_referral is True


def test_art_4_the_office_carries_out_the_decided_handling(bureau: Bureau) -> None:
    """由局办公室…给予当事人…处理: the bureau Office is told and records the execution."""
    case = tier4_case(bureau)
    _propose(bureau, case, "serious_handling")
    for login in ("lgoffice", "hr", "officehead"):
        bureau.run(login, DAY, cases.agree, case_id=case, agreed=True)
    bureau.run("lgmember", DAY, cases.approve, case_id=case, approved=True)

    assert "officehead" in bureau.notified(case, "execute")
    bureau.run("officehead", DAY, cases.execute, case_id=case, note="已按程序严肃处理")
    done = bureau.case(case)
    assert (done.status, done.executed_by_id) == ("executed", bureau.id_of("officehead"))
