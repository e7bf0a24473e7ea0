"""The policy's ``[intake]`` section: how a monitoring alert's labels become an incident's
system, responsible department, category and suggested grade.

``docs/policy.md`` ("Monitoring intake") and ``docs/intake.md`` describe every key. The
mapping is read by ``escalation.intake_mapping`` when an alert group opens its incident;
a value the mapping does not know falls back to the default and the incident's timeline
says so. Without an ``[intake]`` section the defaults below apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from config.policy_checks import PolicyError, Table, describe, read_choice, read_list
from config.policy_terms import GRADES

# Prometheus' label names; department and system codes as the organisation file has them.
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# severity label value (case folded) -> grade: Alertmanager's usual critical/warning/info.
DEFAULT_SEVERITY_GRADES: Mapping[str, str] = MappingProxyType(
    {
        "critical": "major",
        "high": "relatively_major",
        "warning": "general",
        "info": "general",
    }
)
KEYS = (
    "system_labels",
    "department_labels",
    "severity_labels",
    "category_labels",
    "default_grade",
    "grades",
    "systems",
    "departments",
)


@dataclass(frozen=True)
class IntakePolicy:
    """Labels to read, in order (the first one present with a known value wins), and the
    tables that translate their values."""

    system_labels: tuple[str, ...] = ("system", "service", "instance")
    department_labels: tuple[str, ...] = ("team", "department")
    severity_labels: tuple[str, ...] = ("severity",)
    category_labels: tuple[str, ...] = ("category",)
    # The grade of an alert with no severity, or one ``grades`` does not list.
    default_grade: str = "general"
    # severity value, case folded -> grade.
    grades: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SEVERITY_GRADES)
    # label value -> system code, for values that are not the system's code themselves.
    systems: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # label value -> department code, likewise.
    departments: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def grade_for(self, severity: str) -> str | None:
        """The grade ``severity`` maps to, or None when the table does not list it."""
        return self.grades.get(severity.strip().casefold())

    def to_dict(self) -> dict[str, Any]:
        return {
            "system_labels": list(self.system_labels),
            "department_labels": list(self.department_labels),
            "severity_labels": list(self.severity_labels),
            "category_labels": list(self.category_labels),
            "default_grade": self.default_grade,
            "grades": dict(self.grades),
            "systems": dict(self.systems),
            "departments": dict(self.departments),
        }

    @classmethod
    def from_dict(cls, d: object, *, key: str = "intake") -> IntakePolicy:
        """Validate an ``[intake]`` table (or :meth:`to_dict`'s output)."""
        t = Table(d, key, KEYS)
        defaults = cls()
        return cls(
            system_labels=_labels(t, "system_labels", defaults.system_labels),
            department_labels=_labels(t, "department_labels", defaults.department_labels),
            severity_labels=_labels(t, "severity_labels", defaults.severity_labels),
            category_labels=_labels(t, "category_labels", defaults.category_labels),
            default_grade=read_choice(
                t.optional("default_grade", defaults.default_grade), t.path("default_grade"), GRADES
            ),
            grades=_grades(t.optional("grades", None), t.path("grades")),
            systems=_codes(t.optional("systems", {}), t.path("systems"), "system"),
            departments=_codes(t.optional("departments", {}), t.path("departments"), "department"),
        )


def _labels(t: Table, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    key = t.path(name)
    labels: list[str] = []
    for i, item in enumerate(read_list(t.optional(name, list(default)), key)):
        if not isinstance(item, str) or not _LABEL.fullmatch(item):
            raise PolicyError(
                f"{key}[{i}]",
                f"must be a label name ([A-Za-z_][A-Za-z0-9_]*), got {describe(item)}",
            )
        if item in labels:
            raise PolicyError(f"{key}[{i}]", f"{item!r} is listed twice")
        labels.append(item)
    return tuple(labels)


def _table(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(key, f"must be a table of label value = …, got {describe(value)}")
    return value


def _grades(value: object, key: str) -> Mapping[str, str]:
    if value is None:
        return DEFAULT_SEVERITY_GRADES
    out: dict[str, str] = {}
    for severity, grade in _table(value, key).items():
        folded = severity.strip().casefold()
        if not folded:
            raise PolicyError(key, "a severity value must not be empty")
        if folded in out:
            raise PolicyError(
                f"{key}.{severity}", "is listed twice (severity values are compared case-folded)"
            )
        out[folded] = read_choice(grade, f"{key}.{severity}", GRADES)
    return MappingProxyType(out)


def _codes(value: object, key: str, what: str) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for label_value, code in _table(value, key).items():
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise PolicyError(
                f"{key}.{label_value}",
                f"must be a {what} code as in the organisation file, got {describe(code)}",
            )
        out[label_value] = code
    return MappingProxyType(out)
