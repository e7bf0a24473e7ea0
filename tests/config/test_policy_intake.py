"""The policy's [intake] section: defaults, the packaged file, and errors naming the key."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from config.policy import DEFAULT_POLICY_PATH, Policy, PolicyError, load_policy
from config.policy_intake import IntakePolicy


def default_dict() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def with_intake(intake: object) -> dict[str, Any]:
    data = copy.deepcopy(default_dict())
    data["intake"] = intake
    return data


def refused(intake: object) -> str:
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(with_intake(intake))
    return str(caught.value)


def test_the_packaged_policy_maps_critical_to_major_and_reads_system_service_instance() -> None:
    intake = load_policy().intake
    assert intake.grade_for("critical") == "major"
    assert intake.grade_for(" Critical ") == "major"  # case folded
    assert intake.grade_for("warning") == "general"
    assert intake.grade_for("urgent") is None
    assert intake.system_labels == ("system", "service", "instance")
    assert intake.department_labels[0] == "team"


def test_a_policy_without_intake_gets_the_defaults() -> None:
    data = copy.deepcopy(default_dict())
    data.pop("intake", None)
    assert Policy.from_dict(data).intake == IntakePolicy()


def test_the_section_survives_to_dict_and_back() -> None:
    policy = Policy.from_dict(
        with_intake(
            {
                "default_grade": "relatively_major",
                "grades": {"P1": "especially_major"},
                "systems": {"portal-nginx": "portal"},
                "departments": {"netops": "cc"},
                "department_labels": [],
            }
        )
    )
    assert policy.intake.grade_for("p1") == "especially_major"
    assert policy.intake.grade_for("critical") is None  # the table replaces the default one
    assert policy.intake.department_labels == ()
    assert Policy.from_dict(policy.to_dict()).intake == policy.intake


@pytest.mark.parametrize(
    ("intake", "message"),
    [
        (
            {"grades": {"critical": "severe"}},
            "intake.grades.critical: must be one of general, relatively_major, major, "
            "especially_major, got 'severe'",
        ),
        (
            {"system_labels": ["system", "service name"]},
            "intake.system_labels[1]: must be a label name ([A-Za-z_][A-Za-z0-9_]*), "
            "got 'service name'",
        ),
        ({"severity_labels": ["severity", "severity"]}, "intake.severity_labels[1]: 'severity'"),
        ({"default_grade": "low"}, "intake.default_grade: must be one of general"),
        ({"grades": {"High": "major", "high": "general"}}, "intake.grades.high: is listed twice"),
        ({"systems": {"mail": 3}}, "intake.systems.mail: must be a system code"),
        ({"departments": ["cc"]}, "intake.departments: must be a table"),
        ({"severity": ["x"]}, "intake.severity: unknown key; expected one of system_labels"),
        ("yes", "intake: must be a table"),
    ],
)
def test_a_bad_intake_section_names_the_key(intake: object, message: str) -> None:
    assert refused(intake).startswith(message)
