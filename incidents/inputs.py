"""Parsing of incident input from any face: names the field at fault, stores nothing.

Faces hand over plain mappings (decoded JSON, form data turned into a dict, YAML from
the CLI); these functions return typed values or raise ``ValidationError`` with the
field's name. Unknown fields are errors: a misspelt field silently ignored is a fact
silently lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.errors import ValidationError
from incidents.grading import GRADES, Impact
from incidents.models import CATEGORIES

CREATE_FIELDS = {
    "title",
    "description",
    "category",
    "grade",
    "detected_at",
    "occurred_at",
    "location",
    "system_ids",
    "responsible_department_id",
    "handling_lead_id",
    "caused_by_id",
    "impact",
    "grade_reason",
}
PATCH_FIELDS = {
    "title",
    "description",
    "category",
    "occurred_at",
    "location",
    "system_ids",
    "responsible_department_id",
    "handling_lead_id",
    "caused_by_id",
    "impact",
}


def parse_datetime(value: object, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationError(
            "must be an ISO 8601 date-time string with a zone",
            field=field_name,
            code="iso_8601_date_time",
        )
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            "not an ISO 8601 date-time: %(value)r",
            field=field_name,
            code="not_iso_8601_date",
            params={"value": value},
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError(
            "needs a time zone (for example 2026-11-27T09:30:00+08:00)",
            field=field_name,
            code="needs_time_zone",
        )
    return parsed


def _string(data: Mapping[str, Any], name: str, *, required: bool, max_len: int) -> str | None:
    if name not in data or data[name] is None:
        if required:
            raise ValidationError("is required", field=name, code="required")
        return None
    value = data[name]
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=name, code="string")
    value = value.strip()
    if required and not value:
        raise ValidationError("must not be empty", field=name, code="not_empty")
    if len(value) > max_len:
        raise ValidationError(
            "must be at most %(max)s characters",
            field=name,
            code="too_long",
            params={"max": max_len},
        )
    return value


def _choice(data: Mapping[str, Any], name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(
            "must be one of %(choices)s; got %(value)r",
            field=name,
            code="choice",
            params={"choices": ", ".join(choices), "value": value},
        )
    return value


def _id(data: Mapping[str, Any], name: str) -> int | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(
            "must be a positive integer id", field=name, code="positive_integer_id"
        )
    return value


def _ids(data: Mapping[str, Any], name: str) -> list[int] | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if not isinstance(value, list):
        raise ValidationError("must be a list of integer ids", field=name, code="list_integer_ids")
    out: list[int] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise ValidationError(
                "must be a positive integer id", field=f"{name}[{i}]", code="positive_integer_id"
            )
        if item not in out:
            out.append(item)
    return out


def _unknown(data: Mapping[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise ValidationError(
                "unknown field; allowed: %(allowed)s",
                field=str(key),
                code="unknown_field_allowed",
                params={"allowed": ", ".join(sorted(allowed))},
            )


@dataclass
class IncidentInput:
    """Validated fields for creating or patching an incident (``None`` = not given)."""

    title: str | None = None
    description: str | None = None
    category: str | None = None
    grade: str | None = None
    grade_reason: str | None = None
    detected_at: datetime | None = None
    occurred_at: datetime | None = None
    location: str | None = None
    system_ids: list[int] | None = None
    responsible_department_id: int | None = None
    handling_lead_id: int | None = None
    caused_by_id: int | None = None
    impact: Impact | None = None
    given: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, data: object, *, partial: bool = False) -> IncidentInput:
        if not isinstance(data, Mapping):
            raise ValidationError(
                "the body must be a JSON object", field=None, code="body_json_object"
            )
        _unknown(data, PATCH_FIELDS if partial else CREATE_FIELDS)
        out = cls(given=set(data))
        out.title = _string(data, "title", required=not partial, max_len=300)
        out.description = _string(data, "description", required=False, max_len=20000)
        out.location = _string(data, "location", required=False, max_len=300)
        out.category = _choice(data, "category", list(CATEGORIES))
        if not partial and out.category is None:
            raise ValidationError("is required", field="category", code="category.required")
        out.grade = _choice(data, "grade", GRADES)
        out.grade_reason = _string(data, "grade_reason", required=False, max_len=2000)
        if "detected_at" in data:
            out.detected_at = parse_datetime(data["detected_at"], "detected_at")
        elif not partial:
            raise ValidationError(
                "is required (发现或获知: the reporting clock starts here)",
                field="detected_at",
                code="detected_at.required",
            )
        if data.get("occurred_at") is not None:
            out.occurred_at = parse_datetime(data["occurred_at"], "occurred_at")
        if out.occurred_at and out.detected_at and out.occurred_at > out.detected_at:
            raise ValidationError(
                "cannot be after detected_at",
                field="occurred_at",
                code="occurred_at.cannot_after_detected",
            )
        out.system_ids = _ids(data, "system_ids")
        out.responsible_department_id = _id(data, "responsible_department_id")
        out.handling_lead_id = _id(data, "handling_lead_id")
        out.caused_by_id = _id(data, "caused_by_id")
        if data.get("impact") is not None:
            if not isinstance(data["impact"], Mapping):
                raise ValidationError(
                    "must be an object of impact facts",
                    field="impact",
                    code="impact.object_impact_facts",
                )
            out.impact = Impact.from_mapping(data["impact"])
        return out


def parse_grade_change(data: object) -> tuple[str, str]:
    if not isinstance(data, Mapping):
        raise ValidationError("the body must be a JSON object", field=None, code="body_json_object")
    _unknown(data, {"grade", "reason"})
    grade = _choice(data, "grade", GRADES)
    if grade is None:
        raise ValidationError("is required", field="grade", code="grade.required")
    reason = _string(data, "reason", required=True, max_len=2000)
    assert reason is not None
    return grade, reason


def parse_transition(data: object) -> tuple[str, str | None]:
    if not isinstance(data, Mapping):
        raise ValidationError("the body must be a JSON object", field=None, code="body_json_object")
    _unknown(data, {"to", "reason"})
    target = _string(data, "to", required=True, max_len=32)
    assert target is not None
    reason = _string(data, "reason", required=False, max_len=2000)
    return target, reason
