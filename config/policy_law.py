"""The policy may be stricter than the law, never looser (CAC measures, 2025).

国家网络安全事件报告管理办法 sets, for 较大 (relatively major) and above:

- Art. 4 — the first report, counted from discovery (发现或获知): a critical information
  infrastructure operator within 1 h to its 保护工作部门 **and** to the 公安机关; central
  and state organs within 2 h to their 网信工作机构; every other operator within 4 h to
  the provincial 网信部门;
- Art. 8 — the final summary report (处置总结报告) within 30 days after handling ends.

:func:`check_against_law` holds every reportable grade of a policy to those limits: an
obligation to ``cac`` counted from detection no looser than Art. 4 for each reporter
category it names, one to ``police`` no looser than 1 h for ``cii``, one to ``cac``
counted from resolution no longer than 30 days, and each of them present (for ``cii``,
the report to the public security organ too). A deadline looser than the law is refused
naming its key, unless the obligation carries ``loose_reason`` — the written reason the
bureau answers for (a sector rule, a written agreement with the receiving body…). What
the law does not govern (the internal report, 一般 incidents) is left to the bureau.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from config.durations import format_duration
from config.policy_checks import PolicyError

if TYPE_CHECKING:
    from config.policy import GradePolicy, ObligationSpec

#: The grades the CAC measures make reportable (Art. 4: 较大 and above).
REPORTABLE: Final = ("relatively_major", "major", "especially_major")
#: (to, from) -> reporter category -> the longest deadline the measures allow.
LIMITS: Final[dict[tuple[str, str], dict[str, timedelta]]] = {
    # Art. 4: 1 h (cii), 2 h (central), 4 h (other operators).
    ("cac", "detected"): {
        "cii": timedelta(hours=1),
        "central": timedelta(hours=2),
        "local": timedelta(hours=4),
    },
    # Art. 4: a CII operator reports to the public security organ too, within 1 h.
    ("police", "detected"): {"cii": timedelta(hours=1)},
    # Art. 8: the final summary report within 30 days after handling ends.
    ("cac", "resolved"): {
        "cii": timedelta(days=30),
        "central": timedelta(days=30),
        "local": timedelta(days=30),
    },
}
#: Which article each limit comes from, for the refusal.
ARTICLE: Final[dict[tuple[str, str], str]] = {
    ("cac", "detected"): "CAC measures Art. 4",
    ("police", "detected"): "CAC measures Art. 4 (CII: 保护工作部门 and 公安机关)",
    ("cac", "resolved"): "CAC measures Art. 8",
}


def check_against_law(reporter_category: str, grades: Mapping[str, GradePolicy]) -> None:
    """Raise ``PolicyError`` naming the key of the first obligation looser than the law
    (without ``loose_reason``), or the ``obligations`` of a grade that lacks one the law
    requires of ``reporter_category``."""
    for grade in REPORTABLE:
        if grade not in grades:
            continue
        key = f"grades.{grade}.obligations"
        specs = grades[grade].obligations
        for index, spec in enumerate(specs):
            _check_one(spec, f"{key}[{index}]", reporter_category)
        for (to, start), limits in LIMITS.items():
            if reporter_category not in limits:
                continue
            if not any(
                spec.to == to and spec.start == start and _applies(spec, reporter_category)
                for spec in specs
            ):
                raise PolicyError(
                    key,
                    f"{ARTICLE[(to, start)]} requires a report to {to!r} counted from "
                    f"{start!r} within {format_duration(limits[reporter_category])} for a "
                    f"{reporter_category!r} reporter; this grade has none",
                )


def _applies(spec: ObligationSpec, reporter_category: str) -> bool:
    return not spec.only_for or reporter_category in spec.only_for


def _check_one(spec: ObligationSpec, key: str, reporter_category: str) -> None:
    """A per-category ``within`` is held to the law for every category it states; a
    single one for the policy's own reporter category."""
    limits = LIMITS.get((spec.to, spec.start))
    if limits is None or spec.loose_reason:
        return
    within = spec.within
    windows = within.items() if isinstance(within, dict) else [(reporter_category, within)]
    for category, window in windows:
        if spec.only_for and category not in spec.only_for:
            continue
        limit = limits.get(category)
        if limit is None or window <= limit:
            continue
        where = f"{key}.within" + (f".{category}" if isinstance(within, dict) else "")
        raise PolicyError(
            where,
            f"{format_duration(window)} is looser than {ARTICLE[(spec.to, spec.start)]} "
            f"allows a {category!r} reporter ({format_duration(limit)}); shorten it, or "
            "give the obligation a loose_reason the bureau answers for",
        )


def applicable(grade: GradePolicy, reporter_category: str) -> GradePolicy:
    """``grade`` with only the obligations ``reporter_category`` owes (``only_for``)."""
    kept = tuple(spec for spec in grade.obligations if _applies(spec, reporter_category))
    return grade if kept == grade.obligations else replace(grade, obligations=kept)
