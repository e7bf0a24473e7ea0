"""The threshold table of the 2025 CAC grading guide (《网络安全事件分级指南》).

:data:`THRESHOLDS` holds every enumerated condition of levels 一, 二 and 三
("满足下列条件之一的"), one :class:`Threshold` each, in the guide's item order, with the
guide's own wording of the threshold in Chinese and English. ``incidents.grading.suggest``
applies the table to an ``Impact``; the items and what the facts cannot show are
described there.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.impact import SITE_CLASS_RANK, Impact

__all__ = ["THRESHOLDS", "Threshold"]


@dataclass(frozen=True)
class Threshold:
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
) -> Threshold:
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
    return Threshold(grade, dimension, fact, minimum, zh.strip(), en, site_class)


def _spread(grade: str, site_class: str, *minimums: int) -> tuple[Threshold, ...]:
    """Item 6(1)-(3) of one level: home page, other pages, shares, views; any one suffices."""
    return tuple(
        _at(grade, "defacement", fact, minimum, site_class)
        for fact, minimum in zip(_SPREAD_FACTS, minimums, strict=True)
    )


THRESHOLDS: tuple[Threshold, ...] = (
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
    Threshold(
        _II,
        "data",
        "data_involved",
        "core",
        "核心数据自重大级起列入；对国家安全和社会稳定构成特别严重威胁的为特别重大，威胁程度需研判",
        "core data is listed from major up; a particularly serious threat to national "
        "security and social stability makes it especially major, a judgement to make",
    ),
    Threshold(
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
