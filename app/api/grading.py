"""The grading guide as a service: suggest a grade from impact facts, list the facts.

``POST /grading/suggest`` is what a form calls while the duty officer types; it stores
nothing. ``GET /grading/fields`` describes the impact facts (from ``IMPACT_FIELDS``), the
grades and the categories, so a client builds its form from the same source as ours.

Declared through ``app.api.contract``: the models below validate the body and are the
document's schemas; the impact facts are ``app.api.shapes.ImpactInput``, generated from
``IMPACT_FIELDS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from app.api.contract import Body, Out, endpoint, enum_of, one_of
from app.api.serialize import grade_fields, names
from app.api.shapes import Category, Grade, GradeInfo, ImpactInput, Names, Reason
from incidents.grading import GRADES, IMPACT_FIELDS, Impact, below_suggestion, suggest
from incidents.impact import FieldSpec
from incidents.models import CATEGORIES

__all__ = ["Category", "Grade"]  # the other faces' models name grades and categories so

_KINDS = ("bool", "int", "float", "enum")


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
    impact: ImpactInput = Field(default_factory=ImpactInput)
    grade: Grade | None = None


class SuggestResponse(GradeInfo):
    reasons: list[Reason]
    also: list[Reason]
    below_suggestion: bool | None = Field(
        description="whether the grade sent is below the suggestion; null when no grade was sent"
    )


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
    suggestion = suggest(Impact.from_mapping(body.impact.model_dump(exclude_unset=True)))
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
