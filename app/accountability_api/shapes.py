"""The accountability API's bodies as models: the facts Article 5 reads, the engine's
assessment, a case (its summary, or its detail with the determination and the steps), the
subjects of an incident and the perfunctory closures — as ``accountability.present``,
``accountability.rules`` and ``accountability.subjects`` build them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, create_model

from accountability.access import PARTIES
from accountability.models import CASE_STATUSES
from accountability.present import ACTIONS
from accountability.rules import COOPERATION, FACT_DEFAULTS, FACT_KEYS, IMPACTS, PRESUMABLE
from app.api.contract import Body, Id, Out, enum_of, one_of
from app.api.shapes import Grade, Names, Status

Text = Annotated[str, Field(description="Chinese or English text")]
CaseStatus = Annotated[str, one_of(CASE_STATUSES), enum_of(CASE_STATUSES)]
Deciders = ("leading_group", "joint_decision_then_leading_group_approval")


def _fact(key: str, default: object) -> tuple[Any, Any]:
    if key == "grade":
        return Grade | None, None
    if key == "impact":
        return Annotated[str, one_of(IMPACTS), enum_of(IMPACTS)], default
    if key == "cooperation":
        return Annotated[str, one_of(COOPERATION), enum_of(COOPERATION)], default
    if key == "prior_sanctions":
        return Annotated[int, Field(ge=0)], default
    return bool, default


if TYPE_CHECKING:  # generated below from FACT_DEFAULTS; to the type checker, a plain model

    class Facts(Body): ...

else:
    Facts = create_model(
        "Facts",
        __base__=Body,
        __doc__="The facts Article 5 reads; every one optional, with its default.",
        **{key: _fact(key, default) for key, default in FACT_DEFAULTS.items()},
    )


class Clause(Out):
    id: str
    tier: int
    zh: str
    en: str


class SanctionOption(Out):
    code: str
    zh: str
    en: str
    decided_by: Annotated[str, one_of(Deciders), enum_of(Deciders)]
    clause: Annotated[str, one_of(("6(1)", "6(2)")), enum_of(("6(1)", "6(2)"))]
    condition: Names | None


class Exemption(Out):
    id: str
    zh: str
    en: str


class PoliceReferral(Out):
    """Tier 4: the referral to the police beside serious handling, where very serious."""

    code: str
    zh: str
    en: str
    in_addition_to: str
    condition: Names


class Assessment(Out):
    tier: int = Field(ge=0, le=4)
    clauses: list[Clause]
    waived: list[Clause]
    exemption: Exemption | None
    sanctions: list[SanctionOption]
    facts: dict[str, Any]
    rule_version: str
    uncovered: bool
    note: Names | None
    presumed: list[Annotated[str, one_of(PRESUMABLE), enum_of(PRESUMABLE)]] = Field(
        description="facts left out whose default decided a clause (what-if use only)"
    )
    police_referral: PoliceReferral | None


class PersonLink(Out):
    """A person by id; login and name null if the person is gone from the directory."""

    id: Id
    login: str | None
    name: str | None


class Basis(Out):
    kind: str
    clause: str
    zh: str
    en: str


class CaseIncident(Out):
    id: Id
    number: str
    title: str
    grade: Grade
    status: Status


class CaseSubject(PersonLink):
    role: str
    clause: str
    basis: Basis
    department_id: Id | None


class SanctionRef(Out):
    code: str
    zh: str
    en: str


class CaseSummary(Out):
    id: Id
    incident: CaseIncident
    subject: CaseSubject
    status: CaseStatus
    status_name: Names
    version: int
    tier: int | None
    uncovered: bool
    proposed_sanction: SanctionRef | None
    sanction: SanctionRef | None
    perfunctory: bool
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class CaseFact(Out):
    key: Annotated[str, one_of(FACT_KEYS), enum_of(FACT_KEYS)]
    pending: bool = Field(description="derived, but the record cannot tell yet")
    value: Any
    source: Annotated[
        str,
        one_of(("record", "override", "finding", "default")),
        enum_of(("record", "override", "finding", "default")),
    ]
    derived: Any = Field(description="what the record says, for a derived fact")
    detail: Names | None
    evidence: str
    reason: str
    finding_id: Id | None
    recorded_by_id: Id | None
    recorded_at: datetime | None


class Determination(Out):
    id: Id
    rule_version: str
    determined_at: datetime
    determined_by: PersonLink | None
    facts: dict[str, Any]
    sources: dict[str, Any]
    assessment: Assessment


class Decider(Out):
    clause: str
    zh: str
    en: str


class Proposal(Out):
    round: int
    sanction: SanctionRef | None
    reason: str
    by: PersonLink | None
    at: datetime | None
    decider: Decider | None


class Answer(Out):
    agreed: bool
    by: PersonLink | None
    note: str
    at: datetime | None


class Party(Out):
    party: Annotated[str, one_of(PARTIES), enum_of(PARTIES)]
    zh: str
    en: str
    holders: list[PersonLink | None]
    answer: Answer | None


class JointDecision(Out):
    round: int
    parties: list[Party]


class Decision(Out):
    sanction: SanctionRef | None
    reason: str
    by: PersonLink | None
    at: datetime | None
    clause: str | None
    for_noncompliance: bool


class Done(Out):
    by: PersonLink | None
    at: datetime | None


class Referrals(Out):
    police: bool = Field(description="5.4: beside serious handling, where very serious")
    judicial: bool = Field(description="Art. 4: to the judicial organs")
    reason: str


class PoliceSteps(Out):
    reported_on: date | None
    executed_on: date | None
    closed_on: date | None


class Closure(Done):
    justification: str
    waived_reason: str
    perfunctory: bool


class Rule(Out):
    clause: str
    zh: str
    en: str


class Case(CaseSummary):
    facts: list[CaseFact]
    facts_changed: bool
    changed_facts: list[str]
    determination: Determination | None
    proposal: Proposal | None
    joint_decision: JointDecision | None
    decision: Decision | None
    execution: Done
    referrals: Referrals
    police: PoliceSteps
    closure: Closure
    perfunctory_rule: Rule
    actions: list[Annotated[str, one_of(ACTIONS), enum_of(ACTIONS)]] = Field(
        description="the steps the caller may take now"
    )


class CaseList(Out):
    items: list[CaseSummary]


class CasePage(CaseList):
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class PerfunctoryItem(CaseSummary):
    justification: str
    waived: bool
    closed_by: PersonLink | None
    allowed_sanctions: list[str]


class PerfunctoryList(Out):
    rule: Rule
    items: list[PerfunctoryItem]


class SubjectBasis(Out):
    kind: str
    role: str
    clause: str
    department_id: Id | None
    system_id: Id | None
    zh: str
    en: str


class Subject(Out):
    person_id: Id
    login: str
    name: str
    role: str
    clause: str
    department_id: Id | None
    basis: SubjectBasis
    also: list[SubjectBasis]
    standing: Names | None
    case_id: Id | None = Field(description="the subject's case, once opened")


class Subjects(Out):
    incident_id: Id
    at: datetime = Field(description="the detection time, at which Article 3 is read")
    items: list[Subject]
