"""The grading guide as a service: suggest a grade from impact facts, list the facts.

``POST /grading/suggest`` is what a form calls while the duty officer types; it stores
nothing. ``GET /grading/fields`` describes the impact facts (from ``IMPACT_FIELDS``), the
grades and the categories, so a client builds its form from the same source as ours.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.params import body_object, check_query, json_body
from app.api.serialize import grade_fields, names
from incidents.errors import ValidationError
from incidents.grading import GRADES, IMPACT_FIELDS, Impact, below_suggestion, parse_grade, suggest
from incidents.impact import FieldSpec
from incidents.models import CATEGORIES


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


@bp.get("/grading/fields")
def grading_fields() -> ResponseReturnValue:
    check_query(())
    return jsonify(
        {
            "fields": [field_description(name, spec) for name, spec in IMPACT_FIELDS.items()],
            "grades": [grade_fields(grade) for grade in GRADES],
            "categories": [
                {"code": code, "name": names(pair)} for code, pair in CATEGORIES.items()
            ],
        }
    )


@bp.post("/grading/suggest")
def grading_suggest() -> ResponseReturnValue:
    """Suggest a grade for ``impact``; with ``grade``, say whether it is below the suggestion."""
    check_query(())
    data = body_object(json_body(), ("impact", "grade"))
    raw = data.get("impact", {})
    if not isinstance(raw, dict):
        raise ValidationError("must be an object of impact facts", field="impact")
    suggestion = suggest(Impact.from_mapping(raw))
    chosen = data.get("grade")
    below: bool | None = None
    if chosen is not None:
        below = below_suggestion(parse_grade(chosen), suggestion.grade)
    return jsonify(
        {
            **grade_fields(suggestion.grade),
            "reasons": [reason.to_dict() for reason in suggestion.reasons],
            "also": [reason.to_dict() for reason in suggestion.also],
            "below_suggestion": below,
        }
    )
