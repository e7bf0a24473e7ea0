"""JSON Schemas of the accountability API's bodies for its OpenAPI document: the
building blocks, the facts Article 5 reads, the engine's assessment, and a case (its
summary, or its detail with the determination and the steps).
"""

from __future__ import annotations

from typing import Any

from accountability.models import CASE_STATUSES
from accountability.workflow import MAX_TEXT

_STR: dict[str, Any] = {"type": "string"}
_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT}
_BOOL: dict[str, Any] = {"type": "boolean"}
_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_BILINGUAL: dict[str, Any] = {
    "type": "object",
    "properties": {"zh": _STR, "en": _STR},
    "required": ["zh", "en"],
}


def _object(props: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props if required is None else required),
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _facts_schema() -> dict[str, Any]:
    from accountability.rules import COOPERATION, FACT_DEFAULTS, GRADES, IMPACTS

    props: dict[str, Any] = {}
    for key, default in FACT_DEFAULTS.items():
        if key == "grade":
            props[key] = {"enum": [*GRADES, None], "default": None}
        elif key == "impact":
            props[key] = {"enum": list(IMPACTS), "default": default}
        elif key == "cooperation":
            props[key] = {"enum": list(COOPERATION), "default": default}
        elif key == "prior_sanctions":
            props[key] = {"type": "integer", "minimum": 0, "default": default}
        else:
            props[key] = {"type": "boolean", "default": default}
    return _object(props, required=())


def _assessment_schema() -> dict[str, Any]:
    clause = _object({"id": _STR, "tier": {"type": "integer"}, "zh": _STR, "en": _STR})
    option = _object(
        {
            "code": _STR,
            "zh": _STR,
            "en": _STR,
            "decided_by": {"enum": ["leading_group", "joint_decision_then_leading_group_approval"]},
            "clause": {"enum": ["6(1)", "6(2)"]},
            "condition": _nullable(_BILINGUAL),
        }
    )
    return _object(
        {
            "tier": {"type": "integer", "minimum": 0, "maximum": 4},
            "clauses": {"type": "array", "items": clause},
            "waived": {"type": "array", "items": clause},
            "exemption": _nullable(_object({"id": _STR, "zh": _STR, "en": _STR})),
            "sanctions": {"type": "array", "items": option},
            "facts": {"type": "object"},
            "rule_version": _STR,
            "uncovered": _BOOL,
            "note": _nullable(_BILINGUAL),
            # Facts left out whose default decided a clause (what-if use only).
            "presumed": {"type": "array", "items": {"enum": ["handled_promptly", "impact"]}},
            # Tier 4: the police referral beside serious handling, where very serious.
            "police_referral": _nullable({"type": "object"}),
        }
    )


def _case_schema(*, detail: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "object"}
    props: dict[str, Any] = {
        "id": _ID,
        "incident": {"type": "object"},
        "subject": {"type": "object"},
        "status": {"enum": list(CASE_STATUSES)},
        "status_name": _BILINGUAL,
        "version": {"type": "integer"},
        "tier": {"type": ["integer", "null"]},
        "uncovered": _BOOL,
        "proposed_sanction": _nullable({"type": "object"}),
        "sanction": _nullable({"type": "object"}),
        "perfunctory": _BOOL,
        "opened_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
    }
    if detail:
        from accountability.present import ACTIONS

        props.update(
            {
                "facts": {"type": "array", "items": {"type": "object"}},
                "facts_changed": _BOOL,
                "changed_facts": {"type": "array", "items": {"type": "string"}},
                "determination": _nullable({"type": "object"}),
                "proposal": _nullable({"type": "object"}),
                "joint_decision": _nullable({"type": "object"}),
                "decision": _nullable({"type": "object"}),
                "execution": {"type": "object"},
                "referrals": {"type": "object"},
                "police": {"type": "object"},
                "closure": {"type": "object"},
                "perfunctory_rule": {"type": "object"},
                "actions": {"type": "array", "items": {"enum": list(ACTIONS)}},
            }
        )
    obj.update(properties=props, required=list(props), additionalProperties=False)
    return obj
