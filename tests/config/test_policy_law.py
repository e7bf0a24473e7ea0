"""The policy may be stricter than the CAC measures, never looser (config.policy_law).

国家网络安全事件报告管理办法 Art. 4: 关键信息基础设施运营者 1 小时内向保护工作部门、公安机关
报告; 中央和国家机关 2 小时; 其他网络运营者 4 小时. Art. 8: 处置结束后 30 日内 处置总结报告.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import main
from config.policy import DEFAULT_POLICY_PATH, Policy, PolicyError

REPORTABLE = ("relatively_major", "major", "especially_major")


def default_dict() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def obligation(data: dict[str, Any], grade: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        o for o in data["grades"][grade]["obligations"] if o["name"] == name
    )
    return found


def index_of(data: dict[str, Any], grade: str, name: str) -> int:
    return next(i for i, o in enumerate(data["grades"][grade]["obligations"]) if o["name"] == name)


def refused(change: Callable[[dict[str, Any]], object]) -> PolicyError:
    data = copy.deepcopy(default_dict())
    change(data)
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    return caught.value


def loaded(change: Callable[[dict[str, Any]], object]) -> Policy:
    data = copy.deepcopy(default_dict())
    change(data)
    return Policy.from_dict(data)


@pytest.mark.parametrize("grade", REPORTABLE)
def test_art_4_an_8_hour_external_deadline_is_refused_naming_the_key(grade: str) -> None:
    """Art. 4: 其他网络运营者…4 小时内 — 8 hours is looser."""
    error = refused(lambda d: obligation(d, grade, "external")["within"].update(local="PT8H"))
    i = index_of(default_dict(), grade, "external")
    assert error.key == f"grades.{grade}.obligations[{i}].within.local"
    assert "CAC measures Art. 4" in error.message


def test_art_4_a_2_hour_cii_deadline_is_refused() -> None:
    """Art. 4: 关键信息基础设施运营者…1 小时内."""
    error = refused(lambda d: obligation(d, "major", "external")["within"].update(cii="PT2H"))
    assert error.key.endswith(".within.cii")


def test_art_4_a_single_deadline_is_held_to_the_policy_s_own_category() -> None:
    def flat(hours: int) -> Callable[[dict[str, Any]], object]:
        return lambda d: obligation(d, "major", "external").update(within=f"PT{hours}H")

    assert loaded(flat(4)).reporter_category == "local"
    error = refused(flat(5))
    assert (
        error.key
        == f"grades.major.obligations[{index_of(default_dict(), 'major', 'external')}].within"
    )


@pytest.mark.parametrize("grade", REPORTABLE)
def test_art_8_a_90_day_final_report_is_refused_naming_the_key(grade: str) -> None:
    """Art. 8: 应急处置工作结束后 30 日内 — 90 days is looser."""
    error = refused(lambda d: obligation(d, grade, "final").update(within="P90D"))
    assert (
        error.key
        == f"grades.{grade}.obligations[{index_of(default_dict(), grade, 'final')}].within"
    )
    assert "CAC measures Art. 8" in error.message


def test_a_looser_deadline_with_a_loose_reason_is_the_bureau_s_choice() -> None:
    def loose(d: dict[str, Any]) -> None:
        obligation(d, "major", "final").update(
            within="P90D", loose_reason="省网信办书面同意延长至 90 日"
        )

    policy = loaded(loose)
    final = next(o for o in policy.grade("major").obligations if o.name == "final")
    assert (final.within, final.loose_reason) == (
        timedelta(days=90),
        "省网信办书面同意延长至 90 日",
    )
    assert final.to_dict()["loose_reason"] == "省网信办书面同意延长至 90 日"


def test_a_blank_loose_reason_is_refused() -> None:
    error = refused(lambda d: obligation(d, "major", "final").update(loose_reason="  "))
    assert error.key.endswith(".loose_reason")


def test_a_stricter_deadline_is_always_allowed() -> None:
    policy = loaded(lambda d: obligation(d, "major", "external")["within"].update(local="PT1H"))
    external = next(o for o in policy.grade("major").obligations if o.name == "external")
    assert external.window("local") == timedelta(hours=1)


def test_a_reportable_grade_without_its_external_report_is_refused() -> None:
    i = index_of(default_dict(), "major", "external")
    error = refused(lambda d: d["grades"]["major"]["obligations"].pop(i))
    assert error.key == "grades.major.obligations"
    assert "'cac'" in error.message


def test_the_internal_report_and_general_incidents_are_the_bureau_s() -> None:
    def slow(d: dict[str, Any]) -> None:
        obligation(d, "major", "internal").update(within="PT12H")
        obligation(d, "general", "internal").update(within="P7D")

    assert loaded(slow).grade("general").obligations[0].within == timedelta(days=7)


def test_art_4_a_cii_operator_reports_to_the_public_security_organ_by_default() -> None:
    """Art. 4: 关键信息基础设施运营者…向保护工作部门、公安机关报告."""
    cii = loaded(lambda d: d.update(reporter_category="cii"))
    for grade in REPORTABLE:
        police = [o for o in cii.grade(grade).obligations if o.to == "police"]
        assert [(o.name, o.window("cii"), o.start) for o in police] == [
            ("public_security", timedelta(hours=1), "detected")
        ]
    local = loaded(lambda d: None)
    assert all(o.to != "police" for g in REPORTABLE for o in local.grade(g).obligations)


def test_a_cii_policy_without_the_report_to_the_public_security_organ_is_refused() -> None:
    def strip(d: dict[str, Any]) -> None:
        d["reporter_category"] = "cii"
        d["grades"]["major"]["obligations"].pop(index_of(d, "major", "public_security"))

    error = refused(strip)
    assert error.key == "grades.major.obligations"
    assert "'police'" in error.message


def test_only_for_names_reporter_categories() -> None:
    error = refused(lambda d: obligation(d, "major", "public_security").update(only_for=["mars"]))
    assert error.key.endswith(".only_for[0]")


def test_fenghuo_policy_check_refuses_the_looser_deadlines_naming_the_key(
    tmp_path: Path,
) -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    eight = tmp_path / "eight.toml"
    eight.write_text(text.replace('local = "PT4H"', 'local = "PT8H"', 1), encoding="utf-8")
    ninety = tmp_path / "ninety.toml"
    ninety.write_text(text.replace('within = "P30D"', 'within = "P90D"', 1), encoding="utf-8")

    for path, key in (
        (eight, "grades.relatively_major.obligations[1].within.local"),
        (ninety, "grades.relatively_major.obligations[3].within"),
    ):
        result = CliRunner().invoke(main, ["policy", "check", str(path)])
        assert result.exit_code == 1, result.output
        assert key in result.output
    good = CliRunner().invoke(main, ["policy", "check", str(DEFAULT_POLICY_PATH)])
    assert good.exit_code == 0, good.output
