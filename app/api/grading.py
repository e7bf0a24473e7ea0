"""The grading guide as a service: suggest a grade from impact facts, list the facts.

``POST /grading/suggest`` is what a form calls while the duty officer types; it stores
nothing. ``GET /grading/fields`` describes the impact facts (from ``IMPACT_FIELDS``), the
grades and the categories, so a client builds its form from the same source as ours.

The first resource declared through ``app.api.contract``: the models below validate the
body and are the document's schemas.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from app.api.contract import Body, Out, endpoint, enum_of, one_of, schema_ref
from app.api.serialize import grade_fields, names
from incidents.errors import ValidationError
from incidents.grading import (
    GRADE_COLOUR,
    GRADE_LEVEL,
    GRADES,
    IMPACT_FIELDS,
    Impact,
    below_suggestion,
    suggest,
)
from incidents.impact import FieldSpec
from incidents.models import CATEGORIES

_GRADE_TEXT = "CAC grading guide (2025): general 一般 (IV) … especially_major 特别重大 (I)"
_CATEGORIES = list(CATEGORIES)
_LEVELS = list(dict.fromkeys(GRADE_LEVEL.values()))
_COLOURS = list(dict.fromkeys(GRADE_COLOUR.values()))
_KINDS = ("bool", "int", "float", "enum")
Grade = Annotated[str, one_of(GRADES), enum_of(GRADES, _GRADE_TEXT)]
Category = Annotated[
    str, one_of(_CATEGORIES), enum_of(_CATEGORIES, "GB/T 20986-2023 top-level category")
]


class Names(Out):
    zh: str
    en: str


class Reason(Out):
    grade: Grade
    dimension: str
    threshold: str
    zh: str
    en: str


class GradeInfo(Out):
    grade: Grade
    grade_name: Names
    grade_level: Annotated[str, one_of(_LEVELS), enum_of(_LEVELS)]
    grade_colour: Annotated[str, one_of(_COLOURS), enum_of(_COLOURS)]


class Choice(Out):
    code: str
    name: Names


class GradingField(Out):
    name: Annotated[str, one_of(list(IMPACT_FIELDS)), enum_of(list(IMPACT_FIELDS))]
    kind: Annotated[str, one_of(_KINDS), enum_of(_KINDS)]
    label: Names
    default: bool | int | float | str
    unit: str | None
    minimum: int | None
    maximum: int | None
    choices: list[Choice]


class CategoryInfo(Out):
    code: Category
    name: Names


class GradingFields(Out):
    fields: list[GradingField]
    grades: list[GradeInfo]
    categories: list[CategoryInfo]


class SuggestRequest(Body):
    impact: Annotated[dict[str, Any], schema_ref("ImpactInput")] = Field(default_factory=dict)
    grade: Grade | None = None


class SuggestResponse(GradeInfo):
    reasons: list[Reason]
    also: list[Reason]
    below_suggestion: bool | None


def field_description(name: str, spec: FieldSpec) -> dict[str, Any]:
    return {
        "name": name,
        "kind": spec.kind,
        "label": {"zh": spec.zh, "en": spec.en},
        "default": spec.default,
        "unit": spec.unit,
        "minimum": spec.minimum,
        "maximum": spec.maximum,
        "choices": [
            {"code": code, "name": names(spec.choice_names[code])} for code in spec.choices
        ],
    }


@endpoint(
    "get",
    "/grading/fields",
    operation_id="gradingFields",
    summary="The impact facts, grades and categories",
    tag="grading",
    response=GradingFields,
)
def grading_fields() -> GradingFields:
    return GradingFields.model_validate(
        {
            "fields": [field_description(name, spec) for name, spec in IMPACT_FIELDS.items()],
            "grades": [grade_fields(grade) for grade in GRADES],
            "categories": [
                {"code": code, "name": names(pair)} for code, pair in CATEGORIES.items()
            ],
        }
    )


@endpoint(
    "post",
    "/grading/suggest",
    operation_id="suggestGrade",
    summary="Suggest a grade from impact facts (stores nothing)",
    tag="grading",
    response=SuggestResponse,
    body=SuggestRequest,
)
def grading_suggest(body: SuggestRequest) -> SuggestResponse:
    """Suggest a grade for ``impact``; with ``grade``, say whether it is below the suggestion."""
    if not isinstance(body.impact, dict):
        raise ValidationError("must be an object of impact facts", field="impact")
    suggestion = suggest(Impact.from_mapping(body.impact))
    below: bool | None = None
    if body.grade is not None:
        below = below_suggestion(body.grade, suggestion.grade)
    return SuggestResponse.model_validate(
        {
            **grade_fields(suggestion.grade),
            "reasons": [reason.to_dict() for reason in suggestion.reasons],
            "also": [reason.to_dict() for reason in suggestion.also],
            "below_suggestion": below,
        }
    )
