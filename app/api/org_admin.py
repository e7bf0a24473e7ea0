"""Managing the organisation over the API: export it as YAML, import a YAML file.

Both call the same use cases as ``fenghuo org export|import`` (``incidents.org_io``), so
the file format, the idempotence and the audit trail are the CLI's. Only administrators
may use them (``can_manage_org``): the file carries every account and the ``admin``
flag. An import is one unit of work: a file with an error anywhere is refused with 422
naming the field (``people[3].positions[0].role``) and nothing of it is stored, the
changes it made before the error and their audit events included.
"""

from __future__ import annotations

from flask import Response, request
from flask.typing import ResponseReturnValue
from pydantic import Field

from app.api.auth import actor, caps
from app.api.contract import Out, endpoint, unlisted
from app.api.errors import MalformedBody, UnsupportedMediaType
from app.api.unit import unit
from app.extensions import db, now
from escalation import organisation
from incidents.org_io import ImportResult, export_org
from incidents.permissions import require

# RFC 9512 registers application/yaml; text/yaml is what many tools still send.
YAML_MIMETYPES = ("application/yaml", "text/yaml")
YAML_CONTENT_TYPE = "application/yaml; charset=utf-8"
FORBIDDEN = "only administrators manage the organisation"


def yaml_body() -> str:
    """The request body as YAML text: 415 for another type or charset, 400 if not UTF-8.

    An empty body is passed on as it is: the import refuses it, naming ``file``.
    """
    if request.mimetype not in YAML_MIMETYPES:
        raise UnsupportedMediaType(
            "send the body as %(wanted)s (got %(got)s)",
            field="Content-Type",
            params={"wanted": " or ".join(YAML_MIMETYPES), "got": request.mimetype or "-"},
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("YAML bodies must be UTF-8", field="Content-Type")
    try:
        # utf-8-sig: a byte-order mark from a Windows editor is not part of the YAML.
        return request.get_data(cache=True).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedBody("the body is not valid UTF-8", code="malformed_body") from None


YAML_FILE = {
    "type": "string",
    "description": "the organisation file (departments, people with their positions, "
    "systems), as `fenghuo org export` writes it",
}
ONLY_ADMINS = "Administrators only (403 otherwise)."


class OrgCounts(Out):
    """Rows per kind; a kind with none is left out."""

    departments: int = Field(0, ge=1, json_schema_extra=unlisted)
    people: int = Field(0, ge=1, json_schema_extra=unlisted)
    positions: int = Field(0, ge=1, json_schema_extra=unlisted)
    systems: int = Field(0, ge=1, json_schema_extra=unlisted)


class OrgImportResult(Out):
    changed: bool = Field(description="false: the file matched the record")
    created: OrgCounts
    updated: OrgCounts


def import_result(result: ImportResult) -> dict[str, object]:
    """The ``OrgImportResult`` document: whether anything changed, and counts per kind."""
    return {
        "changed": result.changed,
        "created": dict(sorted(result.created.items())),
        "updated": dict(sorted(result.updated.items())),
    }


@endpoint(
    "get",
    "/org/export",
    operation_id="exportOrganisation",
    summary="The organisation as a YAML file",
    tag="organisation",
    response={"application/yaml": {"schema": YAML_FILE}},
    errors=(401, 403),
    description=ONLY_ADMINS,
)
def export_organisation() -> ResponseReturnValue:
    require(caps().can_manage_org, FORBIDDEN)
    return Response(export_org(db()), status=200, content_type=YAML_CONTENT_TYPE)


@endpoint(
    "post",
    "/org/import",
    operation_id="importOrganisation",
    summary="Import the organisation from a YAML file (idempotent)",
    tag="organisation",
    response=OrgImportResult,
    request_content={mimetype: {"schema": YAML_FILE} for mimetype in YAML_MIMETYPES},
    errors=(401, 403),
    notes={
        400: "The body is not UTF-8 (malformed_body).",
        415: f"The body is not {' or '.join(YAML_MIMETYPES)}, or not UTF-8 by its charset.",
        422: "The file has an error; `field` names it, e.g. people[3].positions[0].role. "
        "Nothing was stored.",
    },
    description=f"{ONLY_ADMINS} Departments are matched by code, people by login, systems by "
    "code, positions by (person, role, department, from). Every change is audited; the same "
    "file twice changes nothing (`changed: false`). The whole file is one transaction.",
)
def import_organisation() -> ResponseReturnValue:
    require(caps().can_manage_org, FORBIDDEN)
    text = yaml_body()
    with unit() as session:
        result = organisation.import_organisation(session, text, actor=actor(), now=now())
    return import_result(result)
