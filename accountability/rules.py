"""Article 5 of the implementation rules as a pure function over facts.

``assess(facts)`` validates and normalises the facts, matches the fourteen clauses of
5.1–5.4 and the 5.4 closing sentence (``5.4(closing)``: the pursuer held to account),
applies a 5.5 exemption to the clauses about the incident's occurrence and consequences
only, and answers the tier with the sanctions it allows under Article 4 and
who decides them under Article 6. It reads no clock, no database and no configuration:
the same facts always give the same assessment, and ``Assessment.to_dict()`` is the JSON
every face shows.

The engine never invents a clause. An incident that matches nothing and is not exempt is
``uncovered``: the text is silent and the case is for the leading group's judgement.

``assess`` is also a what-if calculator: a fact left out takes its default
(``FACT_DEFAULTS``). The defaults of the conduct facts (reported, rules implemented,
cooperation, nothing concealed or destroyed, no exemption) say "no misconduct found";
those of the two circumstances 5.2(c), 5.3(b) and 5.4(b) turn on — handled promptly
(处理及时) and the impact (影响) — are presumptions, and ``Assessment.presumed`` names
each one whose default decided a clause or ruled one out. A case determination refuses
to rest on a presumed fact (``accountability.cases.determine``).

Contradictions are refused with ``InvalidFacts`` naming the fact: conduct that needs an
incident (reporting, the investigation, evidence after the incident, an exemption for
how the incident came about) when there was none, and force majeure (5.5(a) 因不可抗力导致)
beside non-compliance that led to the incident (5.4(b) 未按规定落实…导致).

A concealed or false report (谎报/瞒报, CAC measures Art. 10) is never a report as
required: ``concealed_or_false_report`` makes 5.1(a)/5.2(a)/5.3(a) apply whatever the
obligation timestamps say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from accountability.clauses import (
    CLAUSE_SANCTIONS,
    CLAUSE_TEXT,
    EXEMPTION_TEXT,
    POLICE_REFERRAL_CONDITION,
    SANCTIONS,
    UNCOVERED_NOTE,
)
from incidents.errors import N_, ValidationError

__all__ = [
    "CLAUSE_TEXT",
    "COOPERATION",
    "DECIDED_BY",
    "FACT_DEFAULTS",
    "FACT_KEYS",
    "GRADES",
    "IMPACTS",
    "PRESUMABLE",
    "RULE_VERSION",
    "SANCTIONS",
    "SANCTION_DECIDER",
    "TIER_SANCTIONS",
    "WAIVABLE_CLAUSES",
    "Assessment",
    "Clause",
    "InvalidFacts",
    "SanctionOption",
    "assess",
    "is_milder_than_allowed",
]

#: Stored with every determination so it says which rules it used; change it whenever
#: the matching below changes.
# v2 (issue 10): contradictions refused, a false or concealed report is not as required,
# tier 4 is serious handling (the police referral beside it), the 5.4 closing sentence.
RULE_VERSION: Final = "2026-12-rules-v2"

#: Incident grades, from general to especially major.
GRADES: Final = ("general", "relatively_major", "major", "especially_major")
#: Impact on the organisation's property or reputation, ordered: a later one implies
#: every earlier one (一定影响 < 恶劣影响 < 后果严重).
IMPACTS: Final = ("none", "some", "bad", "serious")
#: Cooperation with the investigation; refusal (不配合) is at least poor (配合不力).
COOPERATION: Final = ("full", "poor", "refused")

_ENUMS: Final[dict[str, tuple[str, ...]]] = {"impact": IMPACTS, "cooperation": COOPERATION}
_BOOL_KEYS: Final = (
    "reported_as_required",
    "rules_implemented",
    "noncompliance_led_to_incident",
    "handled_promptly",
    "concealed_or_false_report",
    "evidence_destroyed_or_falsified",
    "force_majeure",
    "full_compliance_proven",
    "perfunctory_closure",
)

#: Every fact with its default; any other key is invalid.
FACT_DEFAULTS: Final[dict[str, object]] = {
    "grade": None,
    "reported_as_required": True,
    "rules_implemented": True,
    "noncompliance_led_to_incident": False,
    "handled_promptly": True,
    "impact": "none",
    "cooperation": "full",
    "concealed_or_false_report": False,
    "evidence_destroyed_or_falsified": False,
    "prior_sanctions": 0,
    "force_majeure": False,
    "full_compliance_proven": False,
    # 5.4 closing sentence: the subject, pursuing accountability for another, closed
    # that case perfunctorily or falsified it (敷衍结案、弄虚作假).
    "perfunctory_closure": False,
}
FACT_KEYS: Final = tuple(FACT_DEFAULTS)

#: The circumstances whose default is a presumption, not the absence of a finding:
#: 5.2(c), 5.3(b) and 5.4(b) turn on 处理及时 and 影响 either way, so a default that
#: decides one of them (or leaves the incident uncovered) is reported as presumed.
PRESUMABLE: Final = ("handled_promptly", "impact")

#: 5.5 waives only the clauses about the incident's occurrence and consequences, never
#: those about conduct (reporting, cooperation, concealment, evidence, non-compliance).
WAIVABLE_CLAUSES: Final = frozenset({"5.2(b)", "5.2(c)", "5.3(b)", "5.4(b)"})

#: Article 5: tier -> the sanctions it allows, mildest first. Tier 4 is 严肃处理,
#: 情况十分严重者应报警处理: serious handling is always decided, and a referral to the
#: police comes in addition where very serious (``Case.police_referral``), never instead.
TIER_SANCTIONS: Final[dict[int, tuple[str, ...]]] = {
    0: (),
    1: ("criticism_education", "written_self_criticism"),
    2: ("written_self_criticism", "circulated_criticism"),
    3: ("circulated_criticism", "general_handling"),
    4: ("serious_handling",),
}

#: Article 6: sanction -> the clause that says who decides. 6(2) names general and
#: serious handling; a police referral is at least as grave, so it takes the same joint
#: decision and approval.
SANCTION_DECIDER: Final[dict[str, str]] = {
    "criticism_education": "6(1)",
    "written_self_criticism": "6(1)",
    "circulated_criticism": "6(1)",
    "general_handling": "6(2)",
    "serious_handling": "6(2)",
    "police_referral": "6(2)",
}
DECIDED_BY: Final[dict[str, str]] = {
    "6(1)": "leading_group",
    "6(2)": "joint_decision_then_leading_group_approval",
}


class InvalidFacts(ValidationError):
    """Facts that cannot be assessed; ``field`` names the fact at fault (HTTP 422)."""

    field: str

    def __init__(
        self,
        message: str,
        *,
        field: str,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, field=field, code=code, params=params)
        self.field = field


@dataclass(frozen=True)
class Clause:
    """A clause of Article 5 (or 5.5) with its tier and its text in both languages."""

    id: str
    tier: int
    zh: str
    en: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "tier": self.tier, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class SanctionOption:
    """A sanction the tier allows, with who decides it under Article 6."""

    code: str
    zh: str
    en: str
    decided_by: str
    clause: str
    #: (zh, en) when the sanction applies only in some cases (police referral).
    condition: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, object]:
        condition = None
        if self.condition is not None:
            condition = {"zh": self.condition[0], "en": self.condition[1]}
        return {
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            "decided_by": self.decided_by,
            "clause": self.clause,
            "condition": condition,
        }


@dataclass(frozen=True)
class Assessment:
    """The outcome of ``assess``: what matched, what was waived, and what may follow."""

    tier: int
    clauses: tuple[Clause, ...]
    waived: tuple[Clause, ...]
    exemption: str | None
    sanctions: tuple[SanctionOption, ...]
    facts: dict[str, object]
    rule_version: str
    uncovered: bool
    #: Facts not supplied whose default decided a clause or ruled one out (PRESUMABLE).
    presumed: tuple[str, ...] = ()

    @property
    def clause_ids(self) -> tuple[str, ...]:
        return tuple(clause.id for clause in self.clauses)

    @property
    def waived_ids(self) -> tuple[str, ...]:
        return tuple(clause.id for clause in self.waived)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able data, the same for every face; key order is stable."""
        exemption = None
        if self.exemption is not None:
            zh, en = EXEMPTION_TEXT[self.exemption]
            exemption = {"id": self.exemption, "zh": zh, "en": en}
        note = None
        if self.uncovered:
            note = {"zh": UNCOVERED_NOTE[0], "en": UNCOVERED_NOTE[1]}
        return {
            "tier": self.tier,
            "clauses": [clause.to_dict() for clause in self.clauses],
            "waived": [clause.to_dict() for clause in self.waived],
            "exemption": exemption,
            "sanctions": [option.to_dict() for option in self.sanctions],
            "facts": dict(self.facts),
            "rule_version": self.rule_version,
            "uncovered": self.uncovered,
            "note": note,
            "presumed": list(self.presumed),
            "police_referral": _referral_option(self.tier),
        }


def assess(facts: Mapping[str, object]) -> Assessment:
    """Assess ``facts`` under Article 5; raise ``InvalidFacts`` naming the field at fault.

    Every key is optional (``FACT_DEFAULTS``); ``facts`` is not modified. ``presumed``
    lists the keys left out whose default mattered (see the module doc).
    """
    normal = _normalise(facts)
    matched, exemption, uncovered = _outcome(normal)
    waived = [c for c in matched if exemption is not None and c in WAIVABLE_CLAUSES]
    kept = [c for c in matched if c not in waived]
    tier = max((CLAUSE_TEXT[c][0] for c in kept), default=0)
    codes = allowed_sanctions(tier, kept)
    return Assessment(
        tier=tier,
        clauses=tuple(_clause(c) for c in kept),
        waived=tuple(_clause(c) for c in waived),
        exemption=exemption,
        sanctions=tuple(_sanction(code) for code in codes),
        facts=normal,
        rule_version=RULE_VERSION,
        uncovered=uncovered,
        presumed=_presumed(facts, normal, (matched, exemption, uncovered)),
    )


_Outcome = tuple[list[str], str | None, bool]


def _outcome(normal: Mapping[str, object]) -> _Outcome:
    view = _Facts.of(normal)
    matched = [clause_id for clause_id, test in _MATCHERS.items() if test(view)]
    exemption = _exemption(normal)
    # An incident the text says nothing about is not "no accountability": only 5.5
    # says that, so the leading group must judge it.
    uncovered = normal["grade"] is not None and not matched and exemption is None
    return matched, exemption, uncovered


#: The values a presumable fact could take instead of its default.
_ALTERNATIVES: Final[dict[str, tuple[object, ...]]] = {
    "handled_promptly": (True, False),
    "impact": IMPACTS,
}


def _presumed(
    given: Mapping[str, object], normal: Mapping[str, object], outcome: _Outcome
) -> tuple[str, ...]:
    """The presumable facts left out whose default decided the outcome: some other
    value would match another clause, or end an uncovered result."""
    found = []
    for key in PRESUMABLE:
        if key in given:
            continue
        for value in _ALTERNATIVES[key]:
            if value == normal[key]:
                continue
            other = {**normal, key: value}
            try:
                _check_consistency(other)
            except InvalidFacts:
                continue
            if _outcome(other) != outcome:
                found.append(key)
                break
    return tuple(found)


def _referral_option(tier: int) -> dict[str, object] | None:
    """Tier 4 only: the police referral that comes beside serious handling."""
    if tier != 4:
        return None
    zh, en = SANCTIONS["police_referral"]
    return {
        "code": "police_referral",
        "zh": zh,
        "en": en,
        "in_addition_to": "serious_handling",
        "condition": {"zh": POLICE_REFERRAL_CONDITION[0], "en": POLICE_REFERRAL_CONDITION[1]},
    }


def allowed_sanctions(tier: int, clause_ids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The sanctions ``tier`` allows, narrowed where every clause at that tier names its
    own (the 5.4 closing sentence: 通报批评)."""
    at_tier = [c for c in clause_ids if CLAUSE_TEXT[c][0] == tier]
    if at_tier and all(c in CLAUSE_SANCTIONS for c in at_tier):
        named = {code for c in at_tier for code in CLAUSE_SANCTIONS[c]}
        return tuple(code for code in TIER_SANCTIONS[tier] if code in named)
    return TIER_SANCTIONS[tier]


def is_milder_than_allowed(tier: int, sanction: str | None) -> bool:
    """Whether ``sanction`` (None: no sanction) is milder than every one ``tier`` allows.

    Closing a case so is what the 5.4 closing sentence calls a possible perfunctory
    closure (敷衍结案). Tier 0 allows nothing, so nothing is milder than it.
    """
    if type(tier) is not int or tier not in TIER_SANCTIONS:
        raise ValidationError(
            "tier must be one of 0–4, not %(tier)r",
            field="tier",
            code="tier.tier_0_4_not",
            params={"tier": tier},
        )
    if sanction is not None and sanction not in SANCTIONS:
        raise ValidationError(
            "unknown sanction %(sanction)r",
            field="sanction",
            code="sanction.unknown_sanction",
            params={"sanction": sanction},
        )
    allowed = TIER_SANCTIONS[tier]
    if not allowed:
        return False
    if sanction is None:
        return True
    order = list(SANCTIONS)
    return order.index(sanction) < order.index(allowed[0])


@dataclass(frozen=True)
class _Facts:
    """The validated facts, typed, as the clause tests below read them."""

    grade: str | None
    unreported: bool
    noncompliant: bool
    led: bool  # the non-compliance led to the incident
    prompt: bool
    impact: int  # index into IMPACTS
    cooperation: str
    concealed: bool
    destroyed: bool
    prior_sanctions: int
    perfunctory: bool

    @classmethod
    def of(cls, facts: Mapping[str, object]) -> _Facts:
        grade, impact, prior = facts["grade"], facts["impact"], facts["prior_sanctions"]
        return cls(
            grade=grade if isinstance(grade, str) else None,
            # 谎报/瞒报 sit beside 迟报/漏报 (CAC measures Art. 10): a false or concealed
            # report is not a report as required, whatever the timestamps say.
            unreported=facts["reported_as_required"] is False
            or facts["concealed_or_false_report"] is True,
            noncompliant=facts["rules_implemented"] is False,
            led=facts["noncompliance_led_to_incident"] is True,
            prompt=facts["handled_promptly"] is True,
            impact=IMPACTS.index(str(impact)),
            cooperation=str(facts["cooperation"]),
            concealed=facts["concealed_or_false_report"] is True,
            destroyed=facts["evidence_destroyed_or_falsified"] is True,
            prior_sanctions=prior if isinstance(prior, int) else 0,
            perfunctory=facts["perfunctory_closure"] is True,
        )

    @property
    def major_plus(self) -> bool:
        return self.grade in ("major", "especially_major")

    @property
    def lesser(self) -> bool:
        return self.grade in ("general", "relatively_major")

    def impact_at_least(self, level: str) -> bool:
        return self.impact >= IMPACTS.index(level)


# Clause id -> its test, in the order of the text. Each line is the clause's table row.
_MATCHERS: Final[dict[str, Callable[[_Facts], bool]]] = {
    "5.1(a)": lambda f: f.lesser and f.unreported,
    # No incident, or one with another cause.
    "5.1(b)": lambda f: f.noncompliant and not f.led,
    # Refusal (不配合) is at least poor cooperation (配合不力).
    "5.1(c)": lambda f: f.grade == "major" and f.cooperation in ("poor", "refused"),
    "5.2(a)": lambda f: f.grade == "major" and f.unreported,
    "5.2(b)": lambda f: f.noncompliant and f.led and f.lesser,
    "5.2(c)": lambda f: f.major_plus and f.prompt and not f.impact_at_least("some"),
    "5.2(d)": lambda f: f.noncompliant and f.prior_sanctions >= 1,
    # Refusal of an especially major investigation is 5.3(c), a higher tier, not 5.2(e).
    "5.2(e)": lambda f: f.grade == "especially_major" and f.cooperation == "poor",
    "5.3(a)": lambda f: f.grade == "especially_major" and f.unreported,
    "5.3(b)": lambda f: f.major_plus and not f.prompt and f.impact_at_least("some"),
    "5.3(c)": lambda f: f.grade == "especially_major" and f.cooperation == "refused",
    "5.4(a)": lambda f: f.major_plus and f.impact_at_least("serious") and f.concealed,
    "5.4(b)": lambda f: (
        f.noncompliant and f.led and f.major_plus and not f.prompt and f.impact_at_least("bad")
    ),
    # After an incident (发生安全事件后); never excused by 5.5.
    "5.4(c)": lambda f: f.destroyed,
    # The accountability process held to account: never excused by 5.5 (conduct).
    "5.4(closing)": lambda f: f.perfunctory,
}


def _exemption(facts: Mapping[str, object]) -> str | None:
    # 5.5(a) before 5.5(b): force majeure needs no proof of full compliance.
    if facts["force_majeure"] is True:
        return "5.5(a)"
    if facts["full_compliance_proven"] is True:
        return "5.5(b)"
    return None


def _clause(clause_id: str) -> Clause:
    tier, zh, en = CLAUSE_TEXT[clause_id]
    return Clause(id=clause_id, tier=tier, zh=zh, en=en)


def _sanction(code: str) -> SanctionOption:
    zh, en = SANCTIONS[code]
    decider = SANCTION_DECIDER[code]
    condition = POLICE_REFERRAL_CONDITION if code == "police_referral" else None
    return SanctionOption(
        code=code,
        zh=zh,
        en=en,
        decided_by=DECIDED_BY[decider],
        clause=decider,
        condition=condition,
    )


def _normalise(facts: Mapping[str, object]) -> dict[str, object]:
    """The facts with defaults filled in, in ``FACT_KEYS`` order; or ``InvalidFacts``."""
    if not isinstance(facts, Mapping):
        raise InvalidFacts("facts must be an object of named facts", field="facts")
    unknown = sorted(str(key) for key in facts if key not in FACT_DEFAULTS)
    if unknown:
        raise InvalidFacts(
            "unknown fact %(fact)r",
            field=unknown[0],
            code="unknown_fact",
            params={"fact": unknown[0]},
        )
    normal = {key: facts.get(key, default) for key, default in FACT_DEFAULTS.items()}
    for key, value in normal.items():
        _check_type(key, value)
    _check_consistency(normal)
    return normal


def _check_type(key: str, value: object) -> None:
    # Exact type checks: JSON true is not the number 1, and 1 is not true.
    if key == "grade":
        if value is not None and value not in GRADES:
            raise InvalidFacts(
                "grade must be null or one of %(choices)s",
                field=key,
                code="grade.choice",
                params={"choices": ", ".join(GRADES)},
            )
    elif key in _ENUMS:
        if not isinstance(value, str) or value not in _ENUMS[key]:
            raise InvalidFacts(
                "%(fact)s must be one of %(choices)s",
                field=key,
                code=f"{key}.choice",
                params={"fact": key, "choices": ", ".join(_ENUMS[key])},
            )
    elif key == "prior_sanctions":
        if type(value) is not int:
            raise InvalidFacts("prior_sanctions must be a whole number", field=key)
        if value < 0:
            raise InvalidFacts("prior_sanctions cannot be negative", field=key)
    elif key in _BOOL_KEYS and type(value) is not bool:
        raise InvalidFacts(
            "%(fact)s must be true or false", field=key, code=f"{key}.boolean", params={"fact": key}
        )


#: Facts that only make sense after an incident, with why (for the refusal).
_NEED_AN_INCIDENT: Final[tuple[tuple[str, object, str], ...]] = (
    ("reported_as_required", False, N_("there is nothing to report without an incident")),
    (
        "concealed_or_false_report",
        True,
        N_("there is no report to conceal without an incident"),
    ),
    (
        "cooperation",
        "full",
        N_("there is no investigation of an incident to cooperate with"),
    ),
    (
        "evidence_destroyed_or_falsified",
        True,
        N_("5.4(c) reads 发生安全事件后 (after an incident): there was none"),
    ),
    (
        "force_majeure",
        True,
        N_("5.5(a) reads 因不可抗力导致发生的网络安全事故: there was no incident"),
    ),
    (
        "full_compliance_proven",
        True,
        N_("5.5(b) reads 由未知原因导致网络安全事故发生的: there was no incident"),
    ),
)


def _check_consistency(facts: Mapping[str, object]) -> None:
    no_incident = facts["grade"] is None
    if no_incident:
        for key, value, why in _NEED_AN_INCIDENT:
            # "cooperation" is the one listed with its harmless value: any other refuses.
            contradicts = facts[key] != value if key == "cooperation" else facts[key] == value
            if contradicts:
                raise InvalidFacts(why, field=key)
    if facts["force_majeure"] is True and facts["noncompliance_led_to_incident"] is True:
        raise InvalidFacts(
            "force majeure (5.5(a) 因不可抗力导致) cannot have caused an incident that "
            "non-compliance led to (5.4(b) 未按规定落实…导致)",
            field="force_majeure",
        )
    if facts["full_compliance_proven"] is True and facts["rules_implemented"] is False:
        raise InvalidFacts(
            "full compliance cannot be proven when the rules were not implemented",
            field="full_compliance_proven",
        )
    if facts["noncompliance_led_to_incident"] is True:
        if no_incident:
            raise InvalidFacts(
                "non-compliance cannot have led to an incident when there was none",
                field="noncompliance_led_to_incident",
            )
        if facts["rules_implemented"] is True:
            raise InvalidFacts(
                "non-compliance cannot have led to the incident when the rules were implemented",
                field="noncompliance_led_to_incident",
            )
    if no_incident and facts["impact"] != "none":
        raise InvalidFacts("there is no impact without an incident", field="impact")
