"""Report filings (CAC measures Art. 7 and Art. 8) on one incident.

``POST`` files a report through ``escalation.response.file_report``, which checks the
items for the kind of filing (which items a kind needs and allows), fulfils the
obligations it answers (on time or late) and audits it. ``GET`` lists the filings as
filed, oldest first. The item models are generated from ``ART7_ITEMS`` and ``ART8_ITEMS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from flask.typing import ResponseReturnValue
from pydantic import Field, StringConstraints, create_model

from app.api.auth import actor
from app.api.contract import Body, Id, Out, endpoint, enum_of, one_of, unlisted
from app.api.incidents import ID_TEXT, ensure_visible
from app.api.serialize import report as report_json
from app.api.shapes import Names, PersonRef
from app.api.unit import unit
from app.extensions import db, now, services
from escalation import response
from incidents.reports import (
    ART7_ITEMS,
    ART8_ITEMS,
    MAX_TEXT,
    PROGRESS_ITEM,
    REPORT_KINDS,
    ItemSpec,
    reports_of,
)

Kind = Annotated[
    str,
    one_of(REPORT_KINDS),
    enum_of(REPORT_KINDS, "initial 初次报告, supplement 补报, follow_up 续报, final 处置总结报告"),
]
ITEMS_TEXT = (
    "initial: items entity and occurrence required (Art. 7 (一)(二)); supplement: any Art. 7 "
    "item; follow_up: progress and/or Art. 7 items; final: all six Art. 8 items (cause, "
    "measures, harm, accountability, rectification, lessons)."
)
NonNegative = Annotated[int, Field(ge=0)]
TBD_TEXT = '"tbd": to be determined (Art. 7 补报)'


class Ransom(Body):
    """Item 2a: a part left out or ``"tbd"`` is to be determined."""

    amount: NonNegative | Annotated[float, Field(ge=0)] | Literal["tbd"] | None = Field(
        None, description=TBD_TEXT
    )
    currency: str | None = None
    method: str | None = Field(None, description=TBD_TEXT)
    date: str | None = Field(None, description='ISO 8601 date, or "tbd": to be determined')
    note: str | None = None


class FiledRansom(Out):
    amount: int | float | Literal["tbd"]
    currency: str
    method: str
    date: str
    note: str = Field("", json_schema_extra=unlisted)


def _text(spec: ItemSpec) -> Any:
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_TEXT),
        Field(description=f"item {spec.number}: {spec.en} — {spec.zh}"),
    ]


_TEXTS: dict[str, ItemSpec] = {
    **{key: spec for key, spec in ART7_ITEMS.items() if key != "ransom"},
    "progress": PROGRESS_ITEM,
    **ART8_ITEMS,
}
_RANSOM_TEXT = f"item {ART7_ITEMS['ransom'].number}: {ART7_ITEMS['ransom'].en}"
_RANSOMWARE_TEXT = (
    'a ransomware incident: item 2a is then stated, each part known or "tbd" (to be '
    "determined; an initial report without it states all three so)"
)
if TYPE_CHECKING:  # generated below from the articles' items; to the type checker, plain

    class ReportItems(Body): ...

    class FiledItems(Out): ...

else:
    ReportItems = create_model(
        "ReportItems",
        __base__=Body,
        __doc__=ITEMS_TEXT,
        **{key: (_text(spec) | None, None) for key, spec in _TEXTS.items()},
        ransom=(Ransom | None, Field(None, description=_RANSOM_TEXT)),
        ransomware=(bool | None, Field(None, description=_RANSOMWARE_TEXT)),
        obligation=(
            str | Annotated[list[str], Field(min_length=1)] | None,
            Field(
                None,
                description="initial or final: the obligation(s) this filing answers, by name "
                "(e.g. internal, external); default: every one still owed. Not stored as an "
                "item.",
            ),
        ),
    )
    FiledItems = create_model(
        "FiledItems",
        __base__=Out,
        __doc__="The items as filed (stripped; item 2a completed with what is to be determined).",
        **{key: (str, Field("", json_schema_extra=unlisted)) for key in _TEXTS},
        ransom=(FiledRansom | None, Field(None, json_schema_extra=unlisted)),
        ransomware=(bool, Field(False, json_schema_extra=unlisted)),
    )


class ReportCreate(Body):
    kind: Kind
    items: ReportItems
    late_reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="why the filing is late, when it is"
    )


class Report(Out):
    id: Id
    incident_id: Id
    kind: Kind
    kind_name: Names
    obligations: list[str] = Field(description="names of the obligations this filing met")
    items: FiledItems
    late_reason: str
    filed_at: datetime
    filed_by: PersonRef | None


class ReportList(Out):
    items: list[Report]


@endpoint(
    "post",
    "/incidents/<int:incident_id>/reports",
    operation_id="fileReport",
    summary="File a report (Art. 7 items, or Art. 8 for the final)",
    tag="reports",
    response=Report,
    status=201,
    body=ReportCreate,
    errors=(401, 403, 404, 409),
    guard=ensure_visible,
    path_descriptions=ID_TEXT,
    description="Fulfils the pending obligations the filing answers; a late filing is "
    "recorded as late, with its reason.",
)
def file_report(incident_id: int, body: ReportCreate) -> ResponseReturnValue:
    with unit() as session:
        filed = response.file_report(
            session,
            incident_id=incident_id,
            kind=body.kind,
            items=body.items.model_dump(exclude_unset=True),
            actor=actor(),
            now=now(),
            policy=services().policy,
            late_reason=(body.late_reason or "").strip() or None,
        )
        return report_json(filed)


@endpoint(
    "get",
    "/incidents/<int:incident_id>/reports",
    operation_id="listReports",
    summary="The incident's report filings, oldest first",
    tag="reports",
    response=ReportList,
    errors=(401, 404),
    path_descriptions=ID_TEXT,
)
def list_reports(incident_id: int) -> ResponseReturnValue:
    ensure_visible(incident_id)
    return {"items": [report_json(row) for row in reports_of(db(), incident_id)]}
