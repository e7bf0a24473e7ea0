"""Grade suggestion from the 2025 CAC grading guide (《网络安全事件分级指南》).

The guide sets each level (一 特别重大, 二 重大, 三 较大) by a qualitative test and by an
enumerated list, "通常情况下，满足下列条件之一的，可判别为…". ``suggest`` applies the
enumerated list (the table in ``incidents.thresholds``) to an ``Impact``:

- item 1: portal or news site inaccessible (``site_outage``);
- item 2: critical information infrastructure out of operation (``cii_outage``);
- item 3: people whose work or daily life is affected (``population``);
- item 4: core or important data (``data``);
- item 5: personal information leaked (``pi_leak``);
- item 6: defacement spreading illegal or harmful content (``defacement``);
- item 7: direct economic loss (``economic_loss``).

"以上" includes the number (注), so every test is ``>=``. A higher level takes precedence
("且未达到…"): the suggestion is the highest level any condition reaches, and 一般 (IV)
is the residual level when none is reached.

What the facts cannot show is left to the person grading: the qualitative tests and the
"其他…" items, a 网信/公安 determination of the spread (item 6(4)), and how severe the
threat from leaked core or important data is. The suggestion is therefore a floor; a
chosen grade below it is flagged (``below_suggestion``), one above it is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.errors import ValidationError
from incidents.impact import (
    DATA_CLASS_NAMES,
    IMPACT_FIELDS,
    FieldSpec,
    Impact,
)
from incidents.thresholds import THRESHOLDS, Threshold

__all__ = [
    "DIMENSIONS",
    "GRADES",
    "GRADE_COLOUR",
    "GRADE_LEVEL",
    "GRADE_NAMES",
    "GRADE_RANK",
    "IMPACT_FIELDS",
    "FieldSpec",
    "Impact",
    "Reason",
    "Suggestion",
    "below_suggestion",
    "parse_grade",
    "suggest",
]

GRADES = ("general", "relatively_major", "major", "especially_major")
GRADE_RANK: dict[str, int] = {grade: rank for rank, grade in enumerate(GRADES)}
GRADE_NAMES: dict[str, tuple[str, str]] = {
    "general": ("一般", "general"),
    "relatively_major": ("较大", "relatively major"),
    "major": ("重大", "major"),
    "especially_major": ("特别重大", "especially major"),
}
# National response levels and warning colours (notes: regulation §2.1).
GRADE_LEVEL: dict[str, str] = {
    "general": "IV",
    "relatively_major": "III",
    "major": "II",
    "especially_major": "I",
}
GRADE_COLOUR: dict[str, str] = {
    "general": "blue",
    "relatively_major": "yellow",
    "major": "orange",
    "especially_major": "red",
}

# The guide's item order, used to order reasons the way the guide lists them.
DIMENSIONS = (
    "site_outage",
    "cii_outage",
    "population",
    "data",
    "pi_leak",
    "defacement",
    "economic_loss",
)


@dataclass(frozen=True)
class Reason:
    """One threshold of the guide that the impact meets.

    ``threshold`` is machine-readable: ``&``-joined conditions such as
    ``system_outage_minutes>=360`` or ``site_class>=municipal & site_outage_minutes>=360``;
    ``zh`` and ``en`` state the fact, the level and the threshold as the guide words it.
    """

    grade: str
    dimension: str
    threshold: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {
            "grade": self.grade,
            "dimension": self.dimension,
            "threshold": self.threshold,
            "zh": self.zh,
            "en": self.en,
        }


@dataclass(frozen=True)
class Suggestion:
    """The suggested grade and why.

    ``reasons`` lists every threshold met at ``grade`` (empty for the residual
    ``general``); ``also`` lists facts that reached only a lower level, each at the
    highest level it reached. Both follow the guide's item order.
    """

    grade: str
    reasons: tuple[Reason, ...] = ()
    also: tuple[Reason, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "grade": self.grade,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "also": [reason.to_dict() for reason in self.also],
        }


# The observed fact in words; {} is the value. Reason texts start from these.
_OBSERVED: dict[str, tuple[str, str]] = {
    "site_outage_minutes": ("网站不能访问 {} 分钟", "site inaccessible for {} minutes"),
    "system_outage_minutes": (
        "关键信息基础设施整体中断运行 {} 分钟",
        "critical information infrastructure wholly out of operation for {} minutes",
    ),
    "main_function_outage_minutes": (
        "关键信息基础设施主要功能中断运行 {} 分钟",
        "main functions of critical information infrastructure out of operation for {} minutes",
    ),
    "province_population_share": (
        "影响省级行政区 {}% 人口的工作、生活",
        "work or daily life of {}% of the population of the provinces affected",
    ),
    "city_population_share": (
        "影响地市级行政区 {}% 人口的工作、生活",
        "work or daily life of {}% of the population of the prefecture-level cities affected",
    ),
    "people_affected": ("影响 {} 人的工作、生活", "work or daily life of {} people affected"),
    "data_involved": (
        "涉及{}泄露或被窃取、篡改、假冒",
        "{} leaked, stolen, tampered with or forged",
    ),
    "pi_records_leaked": ("泄露 {} 人的公民个人信息", "personal information of {} people leaked"),
    "economic_loss_cny": ("直接经济损失 {} 元", "direct economic loss of CNY {}"),
    "defacement_home_minutes": (
        "篡改内容在主页上持续 {} 分钟",
        "defaced content on the home page for {} minutes",
    ),
    "defacement_other_minutes": (
        "篡改内容在其他页面持续 {} 分钟",
        "defaced content on other pages for {} minutes",
    ),
    "defacement_shares": (
        "篡改内容通过社交平台转发 {} 次",
        "defaced content shared {} times on social platforms",
    ),
    "defacement_views": (
        "篡改内容被浏览或点击 {} 次",
        "defaced content viewed or clicked {} times",
    ),
}


def _observed(fact: str, impact: Impact) -> tuple[str, str]:
    """The fact as observed in ``impact``, in words (zh, en)."""
    value = getattr(impact, fact)
    zh_template, en_template = _OBSERVED[fact]
    if fact == "data_involved":
        zh_value, en_value = DATA_CLASS_NAMES[value]
    else:
        zh_value = en_value = f"{value:g}" if isinstance(value, float) else f"{value:,}"
    return zh_template.format(zh_value), en_template.format(en_value)


def _reason(threshold: Threshold, impact: Impact) -> Reason:
    zh_fact, en_fact = _observed(threshold.fact, impact)
    zh_grade, en_grade = GRADE_NAMES[threshold.grade]
    return Reason(
        grade=threshold.grade,
        dimension=threshold.dimension,
        threshold=threshold.machine,
        zh=f"{zh_fact}，达到{zh_grade}标准（{threshold.zh}）",
        en=f"{en_fact[:1].upper()}{en_fact[1:]}: meets the {en_grade} threshold ({threshold.en})",
    )


def suggest(impact: Impact) -> Suggestion:
    """Suggest a grade for ``impact`` from the guide's enumerated conditions.

    Each fact (one impact field, e.g. ``people_affected``) counts at the highest level it
    reaches. The suggested grade is the highest level over all facts, ``general`` when
    none reaches 较大. ``reasons`` holds every fact at that level, ``also`` the facts that
    reached a lower one, both in the guide's item order.
    """
    best: dict[str, Threshold] = {}
    for threshold in THRESHOLDS:
        held = best.get(threshold.fact)
        if threshold.met_by(impact) and (
            held is None or GRADE_RANK[threshold.grade] > GRADE_RANK[held.grade]
        ):
            best[threshold.fact] = threshold
    if not best:
        return Suggestion(grade="general")
    fields = list(IMPACT_FIELDS)
    met = sorted(
        best.values(),
        key=lambda t: (-GRADE_RANK[t.grade], DIMENSIONS.index(t.dimension), fields.index(t.fact)),
    )
    grade = met[0].grade
    return Suggestion(
        grade=grade,
        reasons=tuple(_reason(t, impact) for t in met if t.grade == grade),
        also=tuple(_reason(t, impact) for t in met if t.grade != grade),
    )


def parse_grade(value: object, *, field: str = "grade") -> str:
    """Return ``value`` if it is one of ``GRADES``, else raise ``ValidationError``."""
    if not isinstance(value, str) or value not in GRADE_RANK:
        raise ValidationError(
            "%(field)s must be one of %(choices)s; got %(value)r",
            field=field,
            code="choice",
            params={"field": field, "choices": ", ".join(GRADES), "value": value},
        )
    return value


def below_suggestion(chosen: str, suggested: str) -> bool:
    """True when the chosen grade is milder than the suggested one (issue 2, item 4).

    Raises ``ValidationError`` (field ``grade`` or ``suggested``) for an unknown grade.
    """
    chosen_rank = GRADE_RANK[parse_grade(chosen)]
    return chosen_rank < GRADE_RANK[parse_grade(suggested, field="suggested")]
