"""Report filings: what a report to the leadership or the cyberspace administration says.

The contents are law, not policy. CAC measures (国家网络安全事件报告管理办法, 2025) Art. 7
lists eight items a report carries; when the facts are not yet known, items (一) and
(二) are filed first within the deadline and the rest follow promptly (及时补报), and new
important developments are reported as they come (续报). Art. 8 lists what the final
summary report (处置总结报告) covers, within 30 days after handling ends.

Kinds of filing:

- ``initial`` (初次报告): items 1 (``entity``) and 2 (``occurrence``) are required; any
  other Art. 7 item may come with them. A ransomware incident (``ransomware: true``)
  carries item 2a (``ransom``: amount, method and date of the demand); what is not yet
  known is marked to be determined (``"tbd"``, 待定) rather than holding the report
  back — Art. 7 lets the first report go with what is known and the rest follow as
  supplements (其他情况及时补报). ``ransom_to_be_determined`` lists what is still owed.
- ``supplement`` (补报): at least one Art. 7 item that the initial report left out or
  that corrects it.
- ``follow_up`` (续报): new important developments or investigation progress
  (``progress``) and/or any Art. 7 item.
- ``final`` (处置总结报告): all six Art. 8 items.

This module validates and stores filings and audits them. Which reporting obligation a
filing fulfils, and whether on time, is the escalation layer's business
(``escalation.response.file_report``); faces call that, not :func:`add_report`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from incidents.audit import Actor, record
from incidents.db import Base, UTCDateTime
from incidents.errors import N_, ValidationError
from incidents.org import Person

# The kinds are codes; marked so that a message naming one (%(kind)s) reads in the
# reader's language: 初次报告, 补报, 续报, 处置总结报告 (KIND_NAMES).
REPORT_KINDS = (N_("initial"), N_("supplement"), N_("follow_up"), N_("final"))
KIND_NAMES: dict[str, tuple[str, str]] = {
    "initial": ("初次报告", "initial report"),
    "supplement": ("补报", "supplementary report"),
    "follow_up": ("续报", "follow-up report"),
    "final": ("处置总结报告", "final summary report"),
}

MAX_TEXT = 20000


@dataclass(frozen=True)
class ItemSpec:
    """One item of a report: its number in the article, and its names."""

    number: str
    zh: str
    en: str


# CAC measures Art. 7, in the article's order. Item 2a is the ransomware addition.
ART7_ITEMS: dict[str, ItemSpec] = {
    "entity": ItemSpec(
        "1",
        "涉事单位名称及涉事系统或设施基本情况",
        "Affected entity; basic facts of the affected system or facility",
    ),
    "occurrence": ItemSpec(
        "2",
        "事件发现或发生的时间、地点、类型、级别，已造成的影响和危害，已采取的措施及效果",
        "Time and place of discovery or occurrence, type, grade, impact and harm so far, "
        "measures taken and their effect",
    ),
    "ransom": ItemSpec(
        "2a",
        "勒索软件攻击事件要求支付赎金的金额、方式、日期等",
        "Ransomware: amount, method and date of the ransom demanded",
    ),
    "trend": ItemSpec(
        "3",
        "事态发展趋势及可能造成的进一步影响和危害",
        "Expected trend and possible further impact and harm",
    ),
    "preliminary_cause": ItemSpec("4", "事件原因初步分析意见", "Preliminary analysis of the cause"),
    "leads": ItemSpec(
        "5",
        "溯源调查工作线索(攻击者信息、攻击路径、存在的漏洞等)",
        "Attribution leads: suspected attacker, attack path, vulnerabilities",
    ),
    "next_steps": ItemSpec(
        "6",
        "拟进一步采取的应对措施以及请求支援事项",
        "Planned further response and support requested",
    ),
    "scene": ItemSpec("7", "事件现场保护情况", "Preservation of the incident scene"),
    "other": ItemSpec("8", "其他应当报告的情况", "Other matters to report"),
}
# Art. 7: "新的重要情况或调查工作取得阶段性进展" — what a follow-up report is for.
PROGRESS_ITEM = ItemSpec(
    "7+", "新的重要情况或调查工作阶段性进展", "New important developments or investigation progress"
)
# CAC measures Art. 8: the final summary report.
ART8_ITEMS: dict[str, ItemSpec] = {
    "cause": ItemSpec("8.1", "事件发生原因", "Cause of the incident"),
    "measures": ItemSpec("8.2", "应急处置措施", "Emergency response measures"),
    "harm": ItemSpec("8.3", "造成的危害", "Harm caused"),
    "accountability": ItemSpec("8.4", "责任追究", "Accountability actions"),
    "rectification": ItemSpec("8.5", "完善整改情况", "Remediation and rectification"),
    "lessons": ItemSpec("8.6", "教训", "Lessons learned"),
}
INITIAL_REQUIRED = ("entity", "occurrence")
RANSOM_FIELDS = ("amount", "currency", "method", "date", "note")
#: Item 2a's parts the report must state, each known or marked to be determined.
RANSOM_REQUIRED = ("amount", "method", "date")
#: Marks an item 2a part not yet known (待定): it follows in a supplement (Art. 7 补报).
TBD = "tbd"
TBD_NAMES: tuple[str, str] = ("待定(后续补报)", "to be determined (a supplement follows)")


class Report(Base):
    """One filing, as filed: its items never change afterwards (file a supplement)."""

    __tablename__ = "report"
    __table_args__ = (
        Index("ix_report_incident", "incident_id", "id"),
        Index("ix_report_filed", "filed_at"),  # reports filed today (escalation.stats)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # Names of the reporting obligations this filing fulfilled (JSON list).
    obligations_json: Mapped[str] = mapped_column(Text, default="[]")
    items_json: Mapped[str] = mapped_column(Text)
    late_reason: Mapped[str] = mapped_column(Text, default="")
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    filed_by: Mapped[Person | None] = relationship()

    @property
    def items(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.items_json)
        return loaded

    @property
    def obligations(self) -> list[str]:
        loaded: list[str] = json.loads(self.obligations_json or "[]")
        return loaded

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "kind": self.kind,
            "kind_zh": KIND_NAMES[self.kind][0],
            "kind_en": KIND_NAMES[self.kind][1],
            "obligations": self.obligations,
            "items": self.items,
            "late_reason": self.late_reason,
            "filed_at": self.filed_at.isoformat(),
            "filed_by_id": self.filed_by_id,
        }


# --- validation ---------------------------------------------------------------------


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field, code="text")
    text = value.strip()
    if not text:
        raise ValidationError("must not be empty", field=field, code="not_empty")
    if len(text) > MAX_TEXT:
        raise ValidationError(
            "must be at most %(max)s characters",
            field=field,
            code="too_long",
            params={"max": MAX_TEXT},
        )
    return text


def _ransom(value: object) -> dict[str, object]:
    """Item 2a: the amount, method and date of the ransom demanded (Art. 7(二)); a part
    left out or given as ``"tbd"`` is to be determined (Art. 7: 其他情况及时补报)."""
    field = "items.ransom"
    if not isinstance(value, Mapping):
        raise ValidationError(
            'must be an object with amount, method and date (each may be "tbd"; '
            "currency and note optional)",
            field=field,
            code="object_amount_method_date",
        )
    for key in value:
        if key not in RANSOM_FIELDS:
            raise ValidationError(
                "unknown field; allowed: %(allowed)s",
                field=f"{field}.{key}",
                code="unknown_field_allowed",
                params={"allowed": ", ".join(RANSOM_FIELDS)},
            )
    amount = value.get("amount", TBD)
    if amount is None:
        amount = TBD
    if amount != TBD and (
        isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0
    ):
        raise ValidationError(
            'must be a number ≥ 0, or "tbd"', field=f"{field}.amount", code="number_0_tbd"
        )
    raw_date = value.get("date", TBD)
    if raw_date is None:
        raw_date = TBD
    if not isinstance(raw_date, str):
        raise ValidationError(
            'must be an ISO 8601 date (e.g. 2026-11-27), or "tbd"',
            field=f"{field}.date",
            code="iso_8601_date_tbd",
        )
    if raw_date != TBD:
        try:
            date.fromisoformat(raw_date[:10])
        except ValueError:
            raise ValidationError(
                "not an ISO 8601 date: %(raw_date)r",
                field=f"{field}.date",
                code="not_iso_8601_date",
                params={"raw_date": raw_date},
            ) from None
    method = value.get("method", TBD)
    out: dict[str, object] = {
        "amount": amount,
        "currency": _text(value.get("currency", "CNY"), f"{field}.currency"),
        "method": TBD if method in (None, TBD) else _text(method, f"{field}.method"),
        "date": raw_date,
    }
    if value.get("note") is not None:
        out["note"] = _text(value["note"], f"{field}.note")
    return out


def ransom_to_be_determined(items: Mapping[str, object]) -> list[str]:
    """The parts of item 2a a filing marked to be determined (a supplement is owed)."""
    ransom = items.get("ransom")
    if not isinstance(ransom, Mapping):
        return []
    return [key for key in RANSOM_REQUIRED if ransom.get(key, TBD) == TBD]


def allowed_items(kind: str) -> tuple[str, ...]:
    """The item keys a filing of ``kind`` may carry."""
    if kind == "final":
        return tuple(ART8_ITEMS)
    if kind == "follow_up":
        return (*ART7_ITEMS, "progress", "ransomware")
    return (*ART7_ITEMS, "ransomware")


def validate_items(kind: str, items: Mapping[str, object]) -> dict[str, object]:
    """Check ``items`` against Art. 7 (or Art. 8 for ``final``); return the clean items.

    Raises ``ValidationError`` naming ``kind`` or ``items.<key>``.
    """
    if kind not in REPORT_KINDS:
        raise ValidationError(
            "must be one of %(choices)s; got %(kind)r",
            field="kind",
            code="kind.choice",
            params={"choices": ", ".join(REPORT_KINDS), "kind": kind},
        )
    if not isinstance(items, Mapping):
        raise ValidationError(
            "must be an object of report items", field="items", code="items.object_report_items"
        )
    allowed = allowed_items(kind)
    for key in items:
        if key not in allowed:
            raise ValidationError(
                "not an item of a %(kind)s report; allowed: %(allowed)s",
                field=f"items.{key}",
                code="not_item_report_allowed",
                params={"kind": kind, "allowed": ", ".join(allowed)},
            )
    clean: dict[str, object] = {}
    ransomware = items.get("ransomware", False)
    if not isinstance(ransomware, bool):
        raise ValidationError(
            "must be true or false", field="items.ransomware", code="items.ransomware.true_false"
        )
    for key, value in items.items():
        if key == "ransomware" or value is None:
            continue
        clean[key] = _ransom(value) if key == "ransom" else _text(value, f"items.{key}")
    if ransomware:
        clean["ransomware"] = True
    if kind == "initial":
        # Art. 7: items (一) and (二) first, within the deadline; the rest as supplements.
        for key in INITIAL_REQUIRED:
            if key not in clean:
                spec = ART7_ITEMS[key]
                raise ValidationError(
                    "item %(number)s (%(zh)s) is required in an initial report",
                    field=f"items.{key}",
                    code="item_required_initial_report",
                    params={"number": spec.number, "zh": spec.zh},
                )
    if kind == "final":
        for key, spec in ART8_ITEMS.items():
            if key not in clean:
                raise ValidationError(
                    "Art. 8 requires %(zh)s (%(en)s) in the final report",
                    field=f"items.{key}",
                    code="art_8_requires_final",
                    params={"zh": spec.zh, "en": spec.en},
                )
    if ransomware and "ransom" not in clean and kind == "initial":
        # Art. 7: the first report does not wait for what nobody knows yet; item 2a is
        # stated as to be determined, and a supplement follows.
        clean["ransom"] = {key: TBD for key in RANSOM_REQUIRED}
    if not any(key != "ransomware" for key in clean):
        raise ValidationError(
            "a %(kind)s report needs at least one item",
            field="items",
            code="items.report_needs_least_item",
            params={"kind": kind},
        )
    return clean


# --- storage --------------------------------------------------------------------------


def _digest(items: Mapping[str, object]) -> str:
    text = json.dumps(items, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_report(
    session: Session,
    *,
    incident_id: int,
    kind: str,
    items: Mapping[str, object],
    obligations: list[str],
    late_reason: str,
    actor: Actor,
    now: datetime,
) -> Report:
    """Store an already validated filing and audit it.

    The audit event carries a SHA-256 of the items, so a later edit of the stored
    text directly in the database is found by comparing (5.4(c)).
    """
    report = Report(
        incident_id=incident_id,
        kind=kind,
        obligations_json=json.dumps(obligations),
        items_json=json.dumps(dict(items), ensure_ascii=False, sort_keys=True),
        late_reason=late_reason,
        filed_at=now,
        filed_by_id=actor.person_id,
    )
    session.add(report)
    session.flush()
    record(
        session,
        actor=actor,
        kind="report.filed",
        subject_type="report",
        subject_id=report.id,
        incident_id=incident_id,
        now=now,
        data={
            "kind": kind,
            "obligations": obligations,
            "items": sorted(items),
            "items_sha256": _digest(items),
            "late_reason": late_reason,
        },
    )
    return report


def reports_of(session: Session, incident_id: int) -> list[Report]:
    """Every filing of an incident, oldest first."""
    stmt = select(Report).where(Report.incident_id == incident_id).order_by(Report.id)
    return list(session.scalars(stmt))


def has_initial(session: Session, incident_id: int) -> bool:
    stmt = select(Report.id).where(Report.incident_id == incident_id, Report.kind == "initial")
    return session.scalar(stmt.limit(1)) is not None
