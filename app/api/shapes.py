"""The record's shapes as the API sends them (``app.api.serialize`` builds them), as models.

Enums and the impact facts come from the code's own constants (``GRADES``,
``CATEGORIES``, ``STATUSES``, ``IMPACT_FIELDS``, ``ROLES``), so the document cannot drift
from the record. The models are closed (``Out``): under test every answer is held to its
model, and the API tests validate real responses against the generated document.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, create_model

from app.api.contract import Body, Id, Out, enum_of, one_of, unlisted
from incidents.audit import SOURCES
from incidents.grading import GRADE_COLOUR, GRADE_LEVEL, GRADES, IMPACT_FIELDS
from incidents.impact import FieldSpec
from incidents.lifecycle import STATUSES
from incidents.models import CATEGORIES
from incidents.org import ROLES
from incidents.org_io import DEPARTMENT_KINDS

GRADE_TEXT = "CAC grading guide (2025): general 一般 (IV) … especially_major 特别重大 (I)"
_CATEGORIES = list(CATEGORIES)
_ROLES = list(ROLES)
_LEVELS = list(dict.fromkeys(GRADE_LEVEL.values()))
_COLOURS = list(dict.fromkeys(GRADE_COLOUR.values()))
Grade = Annotated[str, one_of(GRADES), enum_of(GRADES, GRADE_TEXT)]
Category = Annotated[
    str, one_of(_CATEGORIES), enum_of(_CATEGORIES, "GB/T 20986-2023 top-level category")
]
Status = Annotated[str, one_of(STATUSES), enum_of(STATUSES)]
Role = Annotated[str, one_of(_ROLES), enum_of(_ROLES, "Article 3 role")]
Count = Annotated[int, Field(ge=0)]


class Names(Out):
    zh: str
    en: str


class GradeInfo(Out):
    grade: Grade
    grade_name: Names
    grade_level: Annotated[str, one_of(_LEVELS), enum_of(_LEVELS)]
    grade_colour: Annotated[str, one_of(_COLOURS), enum_of(_COLOURS)]


class Reason(Out):
    grade: Grade
    dimension: str
    threshold: str
    zh: str
    en: str


class Suggestion(Out):
    grade: Grade
    reasons: list[Reason]
    also: list[Reason]


def _impact_fact(spec: FieldSpec, *, complete: bool) -> tuple[Any, Any]:
    kinds: dict[str, Any] = {"bool": bool, "int": int, "float": float}
    kind = kinds.get(spec.kind) or Annotated[str, one_of(spec.choices), enum_of(spec.choices)]
    unit = f" [{spec.unit}]" if spec.unit else ""
    constraints = Field(
        ge=spec.minimum, le=spec.maximum, description=f"{spec.en}{unit} — {spec.zh}"
    )
    return Annotated[kind, constraints], (... if complete else spec.default)


_IMPACT_TEXT = "Impact facts of the CAC grading guide (2025); absent facts are 'none'."
if TYPE_CHECKING:  # generated below from IMPACT_FIELDS; to the type checker, plain models

    class ImpactInput(Body): ...

    class Impact(Out): ...

else:
    ImpactInput = create_model(
        "ImpactInput",
        __base__=Body,
        __doc__=_IMPACT_TEXT,
        **{name: _impact_fact(spec, complete=False) for name, spec in IMPACT_FIELDS.items()},
    )
    Impact = create_model(
        "Impact",
        __base__=Out,
        __doc__=_IMPACT_TEXT,
        **{name: _impact_fact(spec, complete=True) for name, spec in IMPACT_FIELDS.items()},
    )


class PersonRef(Out):
    id: Id
    login: str
    name: str


class DepartmentRef(Out):
    id: Id
    code: str
    name: str
    name_en: str


class SystemRef(Out):
    id: Id
    code: str
    name: str
    is_cii: bool


class IncidentLinks(Out):
    self: str
    timeline: str
    reports: str
    obligations: str
    escalation: str
    web: str


class Incident(GradeInfo):
    id: Id
    number: str = Field(pattern=r"^FH-\d{4}-\d{4,}$")
    title: str
    description: str
    category: Category
    category_name: Names
    status: Status
    status_name: Names
    detected_at: datetime
    occurred_at: datetime | None
    location: str
    systems: list[SystemRef]
    responsible_department: DepartmentRef | None
    reporter: PersonRef | None
    handling_lead: PersonRef | None
    caused_by: PersonRef | None
    impact: Impact
    suggestion: Suggestion
    below_suggestion: bool = Field(
        description="the chosen grade is milder than the guide's suggestion"
    )
    acknowledged_at: datetime | None
    acknowledged_by: PersonRef | None
    handling_started_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="grows by one with every change")
    links: IncidentLinks


class IncidentPage(Out):
    items: list[Incident]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last"
    )


class Actor(Out):
    id: Id | None
    login: str


class TimelineEvent(Out):
    seq: int
    at: datetime
    kind: str
    source: Annotated[str, one_of(SOURCES), enum_of(SOURCES)]
    actor: Actor
    data: dict[str, Any]
    hash: str = Field(pattern="^[0-9a-f]{64}$")


class Timeline(Out):
    items: list[TimelineEvent]


class Department(Out):
    id: Id
    code: str
    name: str
    name_en: str
    kind: Annotated[str, one_of(DEPARTMENT_KINDS), enum_of(DEPARTMENT_KINDS)]
    parent_id: Id | None
    competent_department_id: Id | None


class RoleFields(Out):
    role: Role
    role_name: Names
    clause: str


class Position(RoleFields):
    id: Id
    person_id: Id
    department_id: Id | None
    title: str
    valid_from: datetime
    valid_until: datetime | None
    in_charge_of: list[Id] = Field(description="departments in charge of (分管), 3(2)")


class Person(Out):
    """Contact details and the admin flag only for admins and the person themselves."""

    id: Id
    login: str
    name: str
    email: str = Field("", json_schema_extra=unlisted)
    phone: str = Field("", json_schema_extra=unlisted)
    language: str = Field("", json_schema_extra=unlisted)
    is_admin: bool = Field(False, json_schema_extra=unlisted)
    active: bool
    positions: list[Position] = Field(description="positions held now")


class System(Out):
    id: Id
    code: str
    name: str
    description: str
    owner_department_id: Id = Field(description="主管")
    operator_department_id: Id | None = Field(description="运维")
    operator_person_id: Id | None
    user_department_ids: list[Id] = Field(description="使用")
    is_cii: bool
    mlps_level: Annotated[int, Field(ge=1, le=5)] | None


class DepartmentList(Out):
    items: list[Department]


class PersonList(Out):
    items: list[Person]


class PositionList(Out):
    items: list[Position]


class SystemList(Out):
    items: list[System]


class Responsible(RoleFields):
    person_id: Id
    login: str
    name: str
    department_id: Id | None
    basis: str


class ResponsibleChain(Out):
    at: datetime
    department_id: Id
    system_id: Id | None
    chain: list[Responsible]
