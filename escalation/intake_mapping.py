"""An alert's labels, read through the policy's ``[intake]`` mapping: the system, the
responsible department, the category and the suggested grade of the incident it opens.

Contract: :func:`map_alert` never refuses an alert. A label value the mapping does not
know falls back to the default (no system; the system owner's department, 谁主管谁负责;
category ``other``; ``intake.default_grade``) and the fallback is named in
:attr:`AlertMapping.notes`, which the intake writes on the incident's timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.policy_intake import IntakePolicy
from incidents.models import CATEGORIES
from incidents.org import Department, System


@dataclass(frozen=True)
class AlertMapping:
    """What the labels say, and what fell back (``fallbacks``: which of ``system``,
    ``department``, ``grade``, ``category``; ``notes``: the sentences for the timeline)."""

    system_id: int | None
    system_code: str | None
    department_id: int | None
    department_code: str | None
    grade: str
    grade_from: str
    category: str
    fallbacks: tuple[str, ...]
    notes: tuple[str, ...]

    def summary(self) -> str:
        """One line for the timeline: where each value came from, fallbacks first."""
        found = [f"grade {self.grade} ({self.grade_from})"]
        if self.system_code:
            found.append(f"system {self.system_code}")
        if self.department_code:
            found.append(f"department {self.department_code}")
        return "; ".join([*self.notes, ", ".join(found)])


def _present(labels: Mapping[str, str], names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, labels[name].strip()) for name in names if labels.get(name, "").strip()]


def _shown(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name}={value}" for name, value in pairs)


def _system(session: Session, pairs: list[tuple[str, str]], policy: IntakePolicy) -> System | None:
    for _name, value in pairs:
        # The mapping's alias, the value as a code, then an instance's host without :port.
        candidates = [policy.systems.get(value), value, value.rsplit(":", 1)[0]]
        for code in dict.fromkeys(c for c in candidates if c):
            found = session.scalars(select(System).where(System.code == code)).first()
            if found is not None:
                return found
    return None


def _department(
    session: Session, pairs: list[tuple[str, str]], policy: IntakePolicy
) -> Department | None:
    for _name, value in pairs:
        code = policy.departments.get(value, value)
        found = session.scalars(select(Department).where(Department.code == code)).first()
        if found is not None:
            return found
    return None


def map_alert(
    session: Session,
    *,
    labels: Mapping[str, str],
    policy: IntakePolicy,
    severity: str | None = None,
    grade: str | None = None,
    category: str | None = None,
) -> AlertMapping:
    """Map ``labels`` (and the generic webhook's explicit ``severity``, ``grade`` and
    ``category``, which win over the labels) through ``policy``."""
    notes: list[str] = []
    fallbacks: list[str] = []

    system_pairs = _present(labels, policy.system_labels)
    system = _system(session, system_pairs, policy)
    if system is None and system_pairs:
        fallbacks.append("system")
        notes.append(f"no system matches {_shown(system_pairs)}: logged without a system")

    department_pairs = _present(labels, policy.department_labels)
    department = _department(session, department_pairs, policy)
    if department is None and department_pairs:
        fallbacks.append("department")
        owner = system.owner_department if system is not None else None
        instead = (
            f"the system owner's department {owner.code} answers for it"
            if owner is not None
            else "no department set"
        )
        notes.append(f"no department matches {_shown(department_pairs)}: {instead}")
    elif department is None and system is not None:
        department = system.owner_department  # 谁主管谁负责

    if grade is not None:
        chosen, grade_from = grade, "suggested by the sender"
    else:
        severity_pairs = (
            [("severity", severity.strip())]
            if severity is not None and severity.strip()
            else _present(labels, policy.severity_labels)
        )
        mapped = policy.grade_for(severity_pairs[0][1]) if severity_pairs else None
        if mapped is not None:
            chosen, grade_from = mapped, _shown(severity_pairs[:1])
        else:
            chosen, grade_from = policy.default_grade, "intake.default_grade"
            if severity_pairs:
                fallbacks.append("grade")
                notes.append(
                    f"{_shown(severity_pairs[:1])} is not in intake.grades: "
                    f"graded {policy.default_grade}"
                )

    if category is not None:
        chosen_category = category
    else:
        category_pairs = _present(labels, policy.category_labels)
        chosen_category = "other"
        if category_pairs and category_pairs[0][1] in CATEGORIES:
            chosen_category = category_pairs[0][1]
        elif category_pairs:
            fallbacks.append("category")
            notes.append(f"{_shown(category_pairs[:1])} is no GB/T 20986 category: other")

    return AlertMapping(
        system_id=system.id if system is not None else None,
        system_code=system.code if system is not None else None,
        department_id=department.id if department is not None else None,
        department_code=department.code if department is not None else None,
        grade=chosen,
        grade_from=grade_from,
        category=chosen_category,
        fallbacks=tuple(fallbacks),
        notes=tuple(notes),
    )
