"""The impact facts that grade an incident, as the 2025 CAC grading guide counts them.

The guide (《网络安全事件分级指南》, annex to the 《国家网络安全事件报告管理办法》) grades
on a short list of measurable facts: outage of critical information infrastructure, outage
of portal and news sites, people affected, personal information leaked, important or core
data, direct economic loss, and the spread of defaced content. ``Impact`` holds exactly
those facts; ``incidents.grading.suggest`` turns them into a grade.

``IMPACT_FIELDS`` describes every field (kind, zh and en labels, unit, bounds, choices) so
that the entry form and the OpenAPI schema are generated from one place.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from incidents.errors import ValidationError

FieldKind = Literal["bool", "int", "float", "enum"]
Scalar = bool | int | float | str

# Site classes, mildest first. Each class is the guide's list of sites for one level of
# the defacement test (一/二/三 item 6); the outage test (items 1) names the same
# portals and news sites without the platforms. A higher class satisfies a lower class's
# test, so grading compares ranks.
SITE_CLASSES = ("none", "basic", "municipal", "provincial")
SITE_CLASS_RANK = {name: rank for rank, name in enumerate(SITE_CLASSES)}
SITE_CLASS_NAMES: dict[str, tuple[str, str]] = {
    "none": ("不涉及门户网站、新闻网站或网络平台", "no portal, news site or platform involved"),
    "basic": (
        "党政机关、企事业单位门户网站，重点新闻网站，网络平台",
        "portal of a Party or government body, enterprise or institution; key news site; "
        "online platform",
    ),
    "municipal": (
        "地市级以上党政机关、企事业单位门户网站，省级以上重点新闻网站，大型以上网络平台",
        "portal of a prefecture-level or higher Party or government body, enterprise or "
        "institution; provincial or higher key news site; large or larger online platform",
    ),
    "provincial": (
        "省级以上党政机关门户网站，中央重点新闻网站，超大型网络平台",
        "portal of a provincial or higher Party or government body; central key news site; "
        "very large online platform",
    ),
}

DATA_CLASSES = ("none", "important", "core")
DATA_CLASS_NAMES: dict[str, tuple[str, str]] = {
    "none": ("不涉及重要数据或核心数据", "no important or core data"),
    "important": ("重要数据", "important data"),
    "core": ("核心数据", "core data"),
}


@dataclass(frozen=True)
class FieldSpec:
    """How one impact field is typed, labelled and bounded.

    ``kind`` is one of ``bool``, ``int``, ``float``, ``enum``. Numbers are never negative
    (``minimum`` is 0 for them); ``maximum`` is set for percentages. ``choices`` lists the
    enum values mildest first and ``choice_names`` gives each a (zh, en) label.
    """

    kind: FieldKind
    zh: str
    en: str
    default: Scalar
    unit: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    choice_names: Mapping[str, tuple[str, str]] = field(default_factory=dict, hash=False)


def _flag(zh: str, en: str) -> FieldSpec:
    return FieldSpec("bool", zh, en, default=False)


def _count(zh: str, en: str, unit: str) -> FieldSpec:
    return FieldSpec("int", zh, en, default=0, unit=unit, minimum=0)


def _share(zh: str, en: str) -> FieldSpec:
    return FieldSpec("float", zh, en, default=0.0, unit="percent", minimum=0, maximum=100)


def _enum(zh: str, en: str, names: dict[str, tuple[str, str]]) -> FieldSpec:
    return FieldSpec("enum", zh, en, default="none", choices=tuple(names), choice_names=dict(names))


IMPACT_FIELDS: dict[str, FieldSpec] = {
    "cii": _flag("涉及关键信息基础设施", "critical information infrastructure affected"),
    "system_outage_minutes": _count(
        "整体中断运行时长（分钟）", "whole-system outage (minutes)", "minutes"
    ),
    "main_function_outage_minutes": _count(
        "主要功能中断运行时长（分钟）", "main-function outage (minutes)", "minutes"
    ),
    "site_class": _enum("网站或平台类别", "site or platform class", SITE_CLASS_NAMES),
    "site_outage_minutes": _count(
        "网站不能访问时长（分钟）", "site inaccessible (minutes)", "minutes"
    ),
    "people_affected": _count(
        "工作、生活受影响人数", "people whose work or daily life is affected", "people"
    ),
    "province_population_share": _share(
        "受影响人口占一个或多个省级行政区人口比例（%）",
        "share of the population of one or more provinces affected (%)",
    ),
    "city_population_share": _share(
        "受影响人口占一个或多个地市级行政区人口比例（%）",
        "share of the population of one or more prefecture-level cities affected (%)",
    ),
    "pi_records_leaked": _count(
        "泄露公民个人信息涉及人数", "people whose personal information leaked", "people"
    ),
    "data_involved": _enum(
        "泄露或被窃取、篡改、假冒的数据",
        "data leaked, stolen, tampered with or forged",
        DATA_CLASS_NAMES,
    ),
    "economic_loss_cny": _count("直接经济损失（元）", "direct economic loss (CNY)", "CNY"),
    "defacement": _flag(
        "被攻击篡改导致违法有害信息传播",
        "defaced, spreading illegal or harmful content",
    ),
    "defacement_home_minutes": _count(
        "篡改内容在主页持续时长（分钟）",
        "defaced content on the home page (minutes)",
        "minutes",
    ),
    "defacement_other_minutes": _count(
        "篡改内容在其他页面持续时长（分钟）",
        "defaced content on other pages (minutes)",
        "minutes",
    ),
    "defacement_shares": _count("通过社交平台转发次数", "shares on social platforms", "count"),
    "defacement_views": _count("浏览或点击次数", "views or clicks", "count"),
}


@dataclass(frozen=True)
class Impact:
    """The measurable impact of one incident; every field defaults to "none".

    Construction validates every field (type, sign, bounds, enum value) and raises
    ``ValidationError`` with ``field="impact.<name>"``; an int given for a percentage is
    stored as a float. Use ``from_mapping`` for untrusted input (it also rejects unknown
    keys) and ``to_dict`` to store or send it: the two round-trip.

    Outage minutes count only when ``cii`` is true, defacement counts only when
    ``defacement`` is true, and both site tests depend on ``site_class``.
    """

    cii: bool = False
    system_outage_minutes: int = 0
    main_function_outage_minutes: int = 0
    site_class: str = "none"
    site_outage_minutes: int = 0
    people_affected: int = 0
    province_population_share: float = 0.0
    city_population_share: float = 0.0
    pi_records_leaked: int = 0
    data_involved: str = "none"
    economic_loss_cny: int = 0
    defacement: bool = False
    defacement_home_minutes: int = 0
    defacement_other_minutes: int = 0
    defacement_shares: int = 0
    defacement_views: int = 0

    def __post_init__(self) -> None:
        for name, spec in IMPACT_FIELDS.items():
            value = _checked(name, spec, getattr(self, name))
            # Frozen: normalising an int percentage to float needs the back door.
            object.__setattr__(self, name, value)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Impact:
        """Build an ``Impact`` from JSON-like input; absent keys take their defaults.

        Raises ``ValidationError`` naming ``impact.<key>`` for an unknown key, a wrong
        type (a bool is not a number, a string is never a number, null is not a value),
        a negative number, a percentage over 100 or an enum value not in its choices.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                "impact must be an object", field="impact", code="impact.impact_object"
            )
        for key in data:
            if not isinstance(key, str) or key not in IMPACT_FIELDS:
                raise ValidationError(
                    "unknown impact field %(key)r",
                    field=f"impact.{key}",
                    code="unknown_impact_field",
                    params={"key": key},
                )
        # Check here too so that a wrong type is reported before the constructor sees it.
        values = {key: _checked(key, IMPACT_FIELDS[key], value) for key, value in data.items()}
        return cls(**values)  # type: ignore[arg-type]  # each value was checked above

    def to_dict(self) -> dict[str, Scalar]:
        """Every field by name, JSON-ready; ``Impact.from_mapping`` reads it back."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _checked(name: str, spec: FieldSpec, value: object) -> Scalar:
    """Return ``value`` if it fits ``spec`` (an int widened to float for a float field)."""
    where = f"impact.{name}"
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ValidationError(
                "%(where)s must be true or false",
                field=where,
                code="true_false",
                params={"where": where},
            )
        return value
    if spec.kind == "enum":
        if not isinstance(value, str) or value not in spec.choices:
            raise ValidationError(
                "%(where)s must be one of %(choices)s; got %(value)r",
                field=where,
                code="choice",
                params={"where": where, "choices": ", ".join(spec.choices), "value": value},
            )
        return value
    # bool is a subclass of int, and true is not a number of minutes.
    if isinstance(value, bool) or not isinstance(value, int | float):
        wanted = "an integer" if spec.kind == "int" else "a number"
        raise ValidationError(
            "%(where)s must be %(wanted)s",
            field=where,
            code="type",
            params={"where": where, "wanted": wanted},
        )
    number: int | float
    if spec.kind == "int":
        if not isinstance(value, int):
            raise ValidationError(
                "%(where)s must be an integer", field=where, code="integer", params={"where": where}
            )
        number = value
    else:
        if not math.isfinite(value):
            raise ValidationError(
                "%(where)s must be a finite number",
                field=where,
                code="finite_number",
                params={"where": where},
            )
        number = float(value)
    if spec.minimum is not None and number < spec.minimum:
        raise ValidationError(
            "%(where)s must not be negative",
            field=where,
            code="not_negative",
            params={"where": where},
        )
    if spec.maximum is not None and number > spec.maximum:
        raise ValidationError(
            "%(where)s must be at most %(max)s",
            field=where,
            code="too_large",
            params={"where": where, "max": spec.maximum},
        )
    return number
