"""Grade suggestion from the 2025 CAC grading guide (《网络安全事件分级指南》).

The guide sets each level (一 特别重大, 二 重大, 三 较大) by a qualitative test and by an
enumerated list, "通常情况下，满足下列条件之一的，可判别为…". ``suggest`` applies the
enumerated list to an ``Impact``:

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
    SITE_CLASS_RANK,
    FieldSpec,
    Impact,
)

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


@dataclass(frozen=True)
class _Threshold:
    """One enumerated condition: ``fact`` reaches ``minimum`` (or equals it, for an enum).

    ``site_class`` is the lowest site class the condition applies to, when it has one.
    """

    grade: str
    dimension: str
    fact: str
    minimum: int | str
    zh: str
    en: str
    site_class: str | None = None

    @property
    def machine(self) -> str:
        test = (
            f"{self.fact}={self.minimum}"
            if isinstance(self.minimum, str)
            else f"{self.fact}>={self.minimum}"
        )
        return test if self.site_class is None else f"site_class>={self.site_class} & {test}"

    def met_by(self, impact: Impact) -> bool:
        # Outage counts only for CII (item 2); defacement only when it happened (item 6).
        if self.dimension == "cii_outage" and not impact.cii:
            return False
        if self.dimension == "defacement" and not impact.defacement:
            return False
        if self.site_class is not None and (
            SITE_CLASS_RANK[impact.site_class] < SITE_CLASS_RANK[self.site_class]
        ):
            return False
        value = getattr(impact, self.fact)
        if isinstance(self.minimum, str):
            return bool(value == self.minimum)
        return bool(value >= self.minimum)


_I, _II, _III = "especially_major", "major", "relatively_major"

# Item 1 names portals and news sites: level I the provincial class, II and III the
# municipal class (a higher class meets a lower class's test).
_OUTAGE_SITES = {
    "provincial": (
        "省级以上党政机关门户网站、中央重点新闻网站",
        "a provincial or higher Party or government portal or a central key news site",
    ),
    "municipal": (
        "地市级以上党政机关、企事业单位门户网站，省级以上重点新闻网站",
        "a prefecture-level or higher portal or a provincial or higher key news site",
    ),
}

# Item 6 adds platforms to each class; the class caps the level a spread can reach.
_DEFACED_SITES = {
    "provincial": (
        "省级以上党政机关门户网站、中央重点新闻网站、超大型网络平台",
        "a provincial or higher Party or government portal, a central key news site or a "
        "very large platform",
    ),
    "municipal": (
        "地市级以上党政机关、企事业单位门户网站，省级以上重点新闻网站，大型以上网络平台",
        "a prefecture-level or higher portal, a provincial or higher key news site or a "
        "large or larger platform",
    ),
    "basic": (
        "党政机关、企事业单位门户网站，重点新闻网站，网络平台",
        "a Party, government, enterprise or institution portal, a key news site or a platform",
    ),
}
_SPREAD_SCOPE = {
    _I: ("特大范围", "a very wide spread"),
    _II: ("大范围", "a wide spread"),
    _III: ("较大范围", "a relatively wide spread"),
}

# How the guide words each numeric threshold; {} is the threshold in words.
_WORDING: dict[str, tuple[str, str]] = {
    "site_outage_minutes": ("因攻击、故障{}以上不能访问", "inaccessible for {} or more"),
    "system_outage_minutes": ("整体中断运行{}以上", "whole-system outage of {} or more"),
    "main_function_outage_minutes": (
        "主要功能中断运行{}以上",
        "main-function outage of {} or more",
    ),
    "province_population_share": (
        "一个或多个省级行政区 {}% 以上人口",
        "{}% or more of the population of one or more provinces",
    ),
    "city_population_share": (
        "一个或多个地市级行政区 {}% 以上人口",
        "{}% or more of the population of one or more prefecture-level cities",
    ),
    "people_affected": ("{}人以上", "{} people or more"),
    "pi_records_leaked": (
        "泄露{}人以上公民个人信息",
        "personal information of {} people or more leaked",
    ),
    "economic_loss_cny": ("{}元以上直接经济损失", "direct economic loss of CNY {} or more"),
    "defacement_home_minutes": ("主页上持续{}以上", "on the home page for {} or more"),
    "defacement_other_minutes": ("其他页面持续{}以上", "on other pages for {} or more"),
    "defacement_shares": ("社交平台转发{}次以上", "shared {} times or more on social platforms"),
    "defacement_views": ("浏览或点击{}次以上", "viewed or clicked {} times or more"),
}
_SPREAD_FACTS = (
    "defacement_home_minutes",
    "defacement_other_minutes",
    "defacement_shares",
    "defacement_views",
)


def _words(fact: str, n: int) -> tuple[str, str]:
    """``n`` as the guide writes it, (zh, en): 6 小时, 1000 万, 1 亿; 6 hours, 10 million."""
    if fact.endswith("_minutes"):
        if n % 60:
            return f" {n} 分钟", f"{n} minutes"
        hours = n // 60
        return f" {hours} 小时", f"{hours} hour{'s' if hours != 1 else ''}"
    if fact.endswith("_share"):
        return f"{n}", f"{n}"
    if n % 10**8 == 0:
        zh = f" {n // 10**8} 亿"
    elif n % 10**4 == 0:
        zh = f" {n // 10**4} 万"
    else:
        zh = f" {n} "
    en = f"{n // 10**6} million" if n % 10**6 == 0 else f"{n:,}"
    return zh, en


def _at(
    grade: str, dimension: str, fact: str, minimum: int, site_class: str | None = None
) -> _Threshold:
    """A numeric threshold of the guide, worded from ``_WORDING`` and the site class."""
    zh_n, en_n = _words(fact, minimum)
    zh, en = (template.format(n) for template, n in zip(_WORDING[fact], (zh_n, en_n), strict=True))
    if dimension == "site_outage" and site_class is not None:
        zh_site, en_site = _OUTAGE_SITES[site_class]
        zh, en = f"{zh_site}{zh}", f"{en_site} {en}"
    elif dimension == "defacement" and site_class is not None:
        zh_site, en_site = _DEFACED_SITES[site_class]
        zh_scope, en_scope = _SPREAD_SCOPE[grade]
        zh = f"{zh_site}被攻击篡改，{zh}，即“{zh_scope}”传播"
        en = f"{en_site} defaced, content {en}: {en_scope}"
    return _Threshold(grade, dimension, fact, minimum, zh.strip(), en, site_class)


def _spread(grade: str, site_class: str, *minimums: int) -> tuple[_Threshold, ...]:
    """Item 6(1)-(3) of one level: home page, other pages, shares, views; any one suffices."""
    return tuple(
        _at(grade, "defacement", fact, minimum, site_class)
        for fact, minimum in zip(_SPREAD_FACTS, minimums, strict=True)
    )


_THRESHOLDS: tuple[_Threshold, ...] = (
    # Item 1 (一1, 二1, 三1).
    _at(_I, "site_outage", "site_outage_minutes", 24 * 60, "provincial"),
    _at(_II, "site_outage", "site_outage_minutes", 6 * 60, "municipal"),
    _at(_III, "site_outage", "site_outage_minutes", 2 * 60, "municipal"),
    # Item 2 (一2, 二2, 三2).
    _at(_I, "cii_outage", "system_outage_minutes", 6 * 60),
    _at(_I, "cii_outage", "main_function_outage_minutes", 24 * 60),
    _at(_II, "cii_outage", "system_outage_minutes", 60),
    _at(_II, "cii_outage", "main_function_outage_minutes", 3 * 60),
    _at(_III, "cii_outage", "system_outage_minutes", 10),
    _at(_III, "cii_outage", "main_function_outage_minutes", 30),
    # Item 3 (一3, 二3, 三3). A province share is never read as a city share: each level
    # names its own kind of area and the reporter states both. (Strictly, a province
    # share of p% means some city in it is at least p% affected; the form asks for the
    # city share so that this is stated by someone who knows, not inferred.)
    _at(_I, "population", "province_population_share", 50),
    _at(_I, "population", "people_affected", 10_000_000),
    _at(_II, "population", "city_population_share", 50),
    _at(_II, "population", "people_affected", 1_000_000),
    _at(_III, "population", "city_population_share", 30),
    _at(_III, "population", "people_affected", 100_000),
    # Item 4 (一4, 二4, 三4). Core data is listed from 重大 up, important data from 较大
    # up; the level within turns on how severe the threat to national security and social
    # stability is, which the facts do not carry. Suggest the lowest level it can be and
    # say that the rest is a judgement.
    _Threshold(
        _II,
        "data",
        "data_involved",
        "core",
        "核心数据自重大级起列入；对国家安全和社会稳定构成特别严重威胁的为特别重大，威胁程度需研判",
        "core data is listed from major up; a particularly serious threat to national "
        "security and social stability makes it especially major, a judgement to make",
    ),
    _Threshold(
        _III,
        "data",
        "data_involved",
        "important",
        "重要数据自较大级起列入；构成严重或特别严重威胁的为重大或特别重大，威胁程度需研判",
        "important data is listed from relatively major up; a serious or particularly "
        "serious threat makes it major or especially major, a judgement to make",
    ),
    # Item 5 (一5, 二5, 三5).
    _at(_I, "pi_leak", "pi_records_leaked", 100_000_000),
    _at(_II, "pi_leak", "pi_records_leaked", 10_000_000),
    _at(_III, "pi_leak", "pi_records_leaked", 1_000_000),
    # Item 6 (一6, 二6, 三6): home page minutes, other page minutes, shares, views. Item
    # 6(4), a determination by 网信 or 公安, is not a fact here; the grader applies it.
    *_spread(_I, "provincial", 6 * 60, 24 * 60, 100_000, 1_000_000),
    *_spread(_II, "municipal", 2 * 60, 12 * 60, 10_000, 100_000),
    *_spread(_III, "basic", 30, 2 * 60, 1_000, 10_000),
    # Item 7 (一7, 二7, 三7).
    _at(_I, "economic_loss", "economic_loss_cny", 100_000_000),
    _at(_II, "economic_loss", "economic_loss_cny", 20_000_000),
    _at(_III, "economic_loss", "economic_loss_cny", 5_000_000),
)


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


def _reason(threshold: _Threshold, impact: Impact) -> Reason:
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
    best: dict[str, _Threshold] = {}
    for threshold in _THRESHOLDS:
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
            f"{field} must be one of {', '.join(GRADES)}; got {value!r}", field=field
        )
    return value


def below_suggestion(chosen: str, suggested: str) -> bool:
    """True when the chosen grade is milder than the suggested one (issue 2, item 4).

    Raises ``ValidationError`` (field ``grade`` or ``suggested``) for an unknown grade.
    """
    chosen_rank = GRADE_RANK[parse_grade(chosen)]
    return chosen_rank < GRADE_RANK[parse_grade(suggested, field="suggested")]
