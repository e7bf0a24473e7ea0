"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of everything the API reads and sends.

Enums and the impact facts are generated from the code's own constants (``GRADES``,
``CATEGORIES``, ``STATUSES``, ``IMPACT_FIELDS``, ``ROLES``), so the document cannot drift
from the validation. Response objects are closed (``additionalProperties: false``): the
API tests validate real responses against them, which makes the document exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from incidents.audit import SOURCES
from incidents.grading import GRADE_COLOUR, GRADE_LEVEL, GRADES, IMPACT_FIELDS
from incidents.impact import FieldSpec
from incidents.inputs import CREATE_FIELDS, PATCH_FIELDS
from incidents.lifecycle import STATUSES
from incidents.models import CATEGORIES
from incidents.org import ROLES
from incidents.org_io import DEPARTMENT_KINDS

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
ID: Schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # PostgreSQL integer
BOOL: Schema = {"type": "boolean"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
ANY_OBJECT: Schema = {"type": "object"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    if isinstance(kind, str):
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def enum(values: Iterable[str], description: str = "") -> Schema:
    out: Schema = {"type": "string", "enum": list(values)}
    if description:
        out["description"] = description
    return out


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def obj(
    properties: dict[str, Schema],
    *,
    required: Iterable[str] | None = None,
    description: str = "",
    closed: bool = True,
) -> Schema:
    """An object; every property is required unless ``required`` says otherwise."""
    out: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }
    if closed:
        out["additionalProperties"] = False
    if description:
        out["description"] = description
    return out


def items_of(name: str) -> Schema:
    return obj({"items": array(ref(name))})


GRADE = enum(GRADES, "CAC grading guide (2025): general 一般 (IV) … especially_major 特别重大 (I)")
CATEGORY = enum(CATEGORIES, "GB/T 20986-2023 top-level category")
STATUS = enum(STATUSES)
ROLE = enum(ROLES, "Article 3 role")
NAMES = obj({"zh": STR, "en": STR})


def _impact_property(spec: FieldSpec) -> Schema:
    if spec.kind == "bool":
        out: Schema = {"type": "boolean"}
    elif spec.kind == "int":
        out = {"type": "integer"}
    elif spec.kind == "float":
        out = {"type": "number"}
    else:
        out = {"type": "string", "enum": list(spec.choices)}
    if spec.minimum is not None:
        out["minimum"] = spec.minimum
    if spec.maximum is not None:
        out["maximum"] = spec.maximum
    out["default"] = spec.default
    unit = f" [{spec.unit}]" if spec.unit else ""
    out["description"] = f"{spec.en}{unit} — {spec.zh}"
    return out


def impact_schema(*, complete: bool) -> Schema:
    """The impact facts from ``IMPACT_FIELDS``; as input every fact is optional."""
    props = {name: _impact_property(spec) for name, spec in IMPACT_FIELDS.items()}
    return obj(
        props,
        required=None if complete else (),
        description="Impact facts of the CAC grading guide (2025); absent facts are 'none'.",
    )


_INCIDENT_INPUT: dict[str, Schema] = {
    "title": {"type": "string", "minLength": 1, "maxLength": 300},
    "description": {"type": ["string", "null"], "maxLength": 20000},
    "category": CATEGORY,
    "grade": {**nullable(GRADE), "description": "omit to take the suggested grade"},
    "grade_reason": {"type": ["string", "null"], "maxLength": 2000},
    "detected_at": {
        **DATETIME,
        "description": "发现或获知, with a zone; the reporting clock starts here",
    },
    "occurred_at": nullable(DATETIME),
    "location": {"type": ["string", "null"], "maxLength": 300},
    "system_ids": nullable(array(ID)),
    "responsible_department_id": {
        **nullable(ID),
        "description": "defaults to the owner department of the first system (谁主管谁负责)",
    },
    "handling_lead_id": nullable(ID),
    "caused_by_id": nullable(ID),
    "impact": {"anyOf": [ref("ImpactInput"), {"type": "null"}]},
}


def _incident_input(fields: set[str], required: tuple[str, ...]) -> Schema:
    return obj({name: _INCIDENT_INPUT[name] for name in sorted(fields)}, required=required)


REASON = obj({"grade": GRADE, "dimension": STR, "threshold": STR, "zh": STR, "en": STR})

GRADE_FIELDS: dict[str, Schema] = {
    "grade": GRADE,
    "grade_name": ref("Names"),
    "grade_level": enum(dict.fromkeys(GRADE_LEVEL.values())),
    "grade_colour": enum(dict.fromkeys(GRADE_COLOUR.values())),
}

PERSON_REF = obj({"id": ID, "login": STR, "name": STR})
DEPARTMENT_REF = obj({"id": ID, "code": STR, "name": STR, "name_en": STR})
SYSTEM_REF = obj({"id": ID, "code": STR, "name": STR, "is_cii": BOOL})

INCIDENT = obj(
    {
        "id": ID,
        "number": {"type": "string", "pattern": r"^FH-\d{4}-\d{4,}$"},
        "title": STR,
        "description": STR,
        "category": CATEGORY,
        "category_name": ref("Names"),
        **GRADE_FIELDS,
        "status": STATUS,
        "status_name": ref("Names"),
        "detected_at": DATETIME,
        "occurred_at": nullable(DATETIME),
        "location": STR,
        "systems": array(ref("SystemRef")),
        "responsible_department": nullable(ref("DepartmentRef")),
        "reporter": nullable(ref("PersonRef")),
        "handling_lead": nullable(ref("PersonRef")),
        "caused_by": nullable(ref("PersonRef")),
        "impact": ref("Impact"),
        "suggestion": ref("Suggestion"),
        "below_suggestion": {
            **BOOL,
            "description": "the chosen grade is milder than the guide's suggestion",
        },
        "acknowledged_at": nullable(DATETIME),
        "acknowledged_by": nullable(ref("PersonRef")),
        "handling_started_at": nullable(DATETIME),
        "resolved_at": nullable(DATETIME),
        "closed_at": nullable(DATETIME),
        "reopen_count": INT,
        "created_at": DATETIME,
        "updated_at": DATETIME,
        "version": {**INT, "description": "grows by one with every change"},
        "links": obj(
            {
                name: STR
                for name in ("self", "timeline", "reports", "obligations", "escalation", "web")
            }
        ),
    }
)

POSITION = obj(
    {
        "id": ID,
        "person_id": ID,
        "role": ROLE,
        "role_name": ref("Names"),
        "clause": STR,
        "department_id": nullable(ID),
        "title": STR,
        "valid_from": DATETIME,
        "valid_until": nullable(DATETIME),
        "in_charge_of": {**array(ID), "description": "departments in charge of (分管), 3(2)"},
    }
)

PERSON = obj(
    {
        "id": ID,
        "login": STR,
        "name": STR,
        "email": STR,
        "phone": STR,
        "language": STR,
        "is_admin": BOOL,
        "active": BOOL,
        "positions": {**array(ref("Position")), "description": "positions held now"},
    },
    # Contact details and the admin flag only for admins and the person themselves.
    required=("id", "login", "name", "active", "positions"),
)

DEPARTMENT = obj(
    {
        "id": ID,
        "code": STR,
        "name": STR,
        "name_en": STR,
        "kind": enum(DEPARTMENT_KINDS),
        "parent_id": nullable(ID),
        "competent_department_id": nullable(ID),
    }
)

SYSTEM = obj(
    {
        "id": ID,
        "code": STR,
        "name": STR,
        "description": STR,
        "owner_department_id": {**ID, "description": "主管"},
        "operator_department_id": {**nullable(ID), "description": "运维"},
        "operator_person_id": nullable(ID),
        "user_department_ids": {**array(ID), "description": "使用"},
        "is_cii": BOOL,
        "mlps_level": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
    }
)

RESPONSIBLE = obj(
    {
        "person_id": ID,
        "login": STR,
        "name": STR,
        "role": ROLE,
        "role_name": ref("Names"),
        "clause": STR,
        "department_id": nullable(ID),
        "basis": STR,
    }
)

GRADING_FIELD = obj(
    {
        "name": enum(IMPACT_FIELDS),
        "kind": enum(("bool", "int", "float", "enum")),
        "label": ref("Names"),
        "default": {"type": ["boolean", "integer", "number", "string"]},
        "unit": {"type": ["string", "null"]},
        "minimum": {"type": ["integer", "null"]},
        "maximum": {"type": ["integer", "null"]},
        "choices": array(obj({"code": STR, "name": ref("Names")})),
    }
)

TIMELINE_EVENT = obj(
    {
        "seq": INT,
        "at": DATETIME,
        "kind": STR,
        "source": enum(SOURCES),
        "actor": obj({"id": nullable(ID), "login": STR}),
        "data": ANY_OBJECT,
        "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    }
)

# What an organisation import counts (``incidents.org_writer.ImportResult``), per kind.
ORG_KINDS = ("departments", "people", "positions", "systems")
ORG_COUNTS = obj(
    {kind: {"type": "integer", "minimum": 1} for kind in ORG_KINDS},
    required=(),
    description="rows per kind; a kind with none is left out",
)

ERROR = obj(
    {
        "error": obj(
            {
                "code": {**STR, "description": "machine-readable, e.g. invalid, not_found"},
                "message": STR,
                "field": {
                    "type": ["string", "null"],
                    "description": "the input at fault: a body field (impact.cii, "
                    "system_ids[0]), a query parameter or a header",
                },
                "params": {
                    **ANY_OBJECT,
                    "description": "the values the message is filled with, by name",
                },
            },
            required=("code", "message", "field"),
        )
    }
)


def base_schemas() -> dict[str, Schema]:
    """The component schemas of the record, the organisation and the grading guide."""
    return {
        "Error": ERROR,
        "Names": NAMES,
        "PersonRef": PERSON_REF,
        "DepartmentRef": DEPARTMENT_REF,
        "SystemRef": SYSTEM_REF,
        "Impact": impact_schema(complete=True),
        "ImpactInput": impact_schema(complete=False),
        "Reason": REASON,
        "Suggestion": obj(
            {"grade": GRADE, "reasons": array(ref("Reason")), "also": array(ref("Reason"))}
        ),
        "Incident": INCIDENT,
        "IncidentCreate": _incident_input(CREATE_FIELDS, ("title", "category", "detected_at")),
        "IncidentPatch": _incident_input(PATCH_FIELDS, ()),
        "IncidentPage": obj(
            {
                "items": array(ref("Incident")),
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "pass as ?cursor= for the next page; null on the last",
                },
            }
        ),
        "TransitionRequest": obj(
            {"to": STATUS, "reason": {"type": ["string", "null"], "maxLength": 2000}},
            required=("to",),
        ),
        "GradeRequest": obj(
            {"grade": GRADE, "reason": {"type": "string", "minLength": 1, "maxLength": 2000}}
        ),
        "TimelineEvent": TIMELINE_EVENT,
        "Timeline": items_of("TimelineEvent"),
        "GradingField": GRADING_FIELD,
        "GradingFields": obj(
            {
                "fields": array(ref("GradingField")),
                "grades": array(obj(GRADE_FIELDS)),
                "categories": array(obj({"code": CATEGORY, "name": ref("Names")})),
            }
        ),
        "SuggestRequest": obj({"impact": ref("ImpactInput"), "grade": GRADE}, required=()),
        "SuggestResponse": obj(
            {
                **GRADE_FIELDS,
                "reasons": array(ref("Reason")),
                "also": array(ref("Reason")),
                "below_suggestion": {
                    "type": ["boolean", "null"],
                    "description": "whether the grade sent is below the suggestion; "
                    "null when no grade was sent",
                },
            }
        ),
        "Department": DEPARTMENT,
        "DepartmentList": items_of("Department"),
        "Position": POSITION,
        "PositionList": items_of("Position"),
        "Person": PERSON,
        "PersonList": items_of("Person"),
        "System": SYSTEM,
        "SystemList": items_of("System"),
        "Responsible": RESPONSIBLE,
        "ResponsibleChain": obj(
            {
                "at": DATETIME,
                "department_id": ID,
                "system_id": nullable(ID),
                "chain": array(ref("Responsible")),
            }
        ),
        "OrgImportResult": obj(
            {
                "changed": {**BOOL, "description": "false: the file matched the record"},
                "created": ORG_COUNTS,
                "updated": ORG_COUNTS,
            }
        ),
        "Me": obj(
            {
                "id": ID,
                "login": STR,
                "name": STR,
                "language": STR,
                "is_admin": BOOL,
                "positions": array(ref("Position")),
                "capabilities": obj(
                    {"sees_all": BOOL, "can_log": BOOL, "can_handle": BOOL, "can_manage_org": BOOL}
                ),
            }
        ),
    }
