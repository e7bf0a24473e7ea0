"""A filed report as a document: header facts and numbered items, in Chinese.

The layout follows how a bureau writes a 网络安全事件报告: a title naming the kind of
report (初次报告, 补报, 续报, 处置总结报告), who it goes to and when, a table of the
incident's key facts (number, name, grade with its national level, category, times),
then the items of CAC measures Art. 7 — (一) through (八), with (二) followed by the
ransomware details where the incident is one — or, for the final summary report, the six
items of Art. 8. An item the filing leaves out is shown as "（本次未报，将及时补报）" in an
initial report, so the reader sees what is still owed rather than a silent gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import Obligation
from incidents.grading import GRADE_LEVEL, GRADE_NAMES
from incidents.models import CATEGORIES, Incident
from incidents.org import Department, Person, Position
from incidents.reports import (
    ART7_ITEMS,
    ART8_ITEMS,
    KIND_NAMES,
    PROGRESS_ITEM,
    TBD,
    TBD_NAMES,
    Report,
)

CHINESE_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
RECIPIENTS_ZH = {
    "leading_group": "局网络安全工作领导小组",
    "cac": "属地网信部门",
    "superior": "上级主管部门",
    "police": "公安机关",
}
LEVEL_ZH = {"I": "Ⅰ级", "II": "Ⅱ级", "III": "Ⅲ级", "IV": "Ⅳ级"}
NOT_YET = "（本次未报，将及时补报）"
NOT_GIVEN = "（无）"


@dataclass(frozen=True)
class Section:
    """One numbered item: ``label`` such as ``（一）``, the article's wording, the text."""

    label: str
    title: str
    body: str


@dataclass(frozen=True)
class ReportDocument:
    title: str
    kind_title: str
    reference: str
    recipients: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    late_note: str
    filed_by: str
    department: str
    phone: str
    filed_at: str
    basis: str
    # The newest signed checkpoint of the audit chain when the document was made (5.4(c)).
    audit_checkpoint: str = ""
    # The filing time (UTC-aware): the creation date the PDF and DOCX files carry.
    created_at: datetime | None = None

    @property
    def filename(self) -> str:
        """A file name without spaces or slashes: ``FH-2026-0001-R3-初次报告``."""
        return f"{self.reference}-{self.kind_title.strip('（）')}"


def zh_time(value: datetime | None, tz: tzinfo) -> str:
    """``2026年11月27日 09时30分`` in ``tz``; the way a bureau writes a time."""
    if value is None:
        return NOT_GIVEN
    local = value.astimezone(tz)
    return (
        f"{local.year}年{local.month:02d}月{local.day:02d}日 {local.hour:02d}时{local.minute:02d}分"
    )


def _ransom_text(value: object) -> str:
    if not isinstance(value, dict):
        return str(value)

    def part(key: str) -> str:
        # Art. 7: a part not yet known is stated as such; a supplement follows (补报).
        found = value.get(key, TBD)
        return TBD_NAMES[0] if found == TBD else str(found)

    amount = part("amount")
    if value.get("amount", TBD) != TBD:
        amount = f"{amount} {value.get('currency', '')}".rstrip()
    parts = [
        f"赎金金额：{amount}",
        f"支付方式：{part('method')}",
        f"要求支付日期：{part('date')}",
    ]
    if value.get("note"):
        parts.append(f"说明：{value['note']}")
    return "；".join(parts)


def _sections(report: Report) -> tuple[Section, ...]:
    items = report.items
    if report.kind == "final":
        # CAC measures Art. 8: cause, measures, harm, accountability, rectification, lessons.
        return tuple(
            Section(f"（{CHINESE_NUMERALS[i]}）", spec.zh, str(items.get(key) or NOT_GIVEN))
            for i, (key, spec) in enumerate(ART8_ITEMS.items())
        )
    missing = NOT_YET if report.kind == "initial" else NOT_GIVEN
    out: list[Section] = []
    if report.kind == "follow_up" and items.get("progress"):
        out.append(Section("【续报】", PROGRESS_ITEM.zh, str(items["progress"])))
    numeral = 0
    for key, spec in ART7_ITEMS.items():
        if key == "ransom":
            # Art. 7(二): for ransomware, the amount, method and date of the demand.
            if items.get("ransomware") or items.get("ransom"):
                out.append(
                    Section("（二）附", spec.zh, _ransom_text(items.get("ransom")) or missing)
                )
            continue
        label = f"（{CHINESE_NUMERALS[numeral]}）"
        numeral += 1
        value = items.get(key)
        if value is None and report.kind in ("supplement", "follow_up"):
            continue  # a supplement carries only what it adds
        out.append(Section(label, spec.zh, str(value) if value is not None else missing))
    return tuple(out)


def _filer(session: Session, person: Person | None, at: datetime) -> tuple[str, str, str]:
    """The filer's name, department (as held when filing) and phone."""
    if person is None:
        return NOT_GIVEN, NOT_GIVEN, NOT_GIVEN
    department = session.scalars(
        select(Department.name)
        .join(Position, Position.department_id == Department.id)
        .where(
            Position.person_id == person.id,
            Position.valid_from <= at,
            (Position.valid_until.is_(None)) | (Position.valid_until > at),
        )
        .order_by(Position.valid_from)
    ).first()
    return person.name, department or NOT_GIVEN, person.phone or NOT_GIVEN


def _sequence(session: Session, report: Report) -> int:
    """The report's place among its incident's filings (1 for the first)."""
    ids: Sequence[int] = session.scalars(
        select(Report.id).where(Report.incident_id == report.incident_id).order_by(Report.id)
    ).all()
    return list(ids).index(report.id) + 1 if report.id in ids else len(ids) + 1


def build(session: Session, incident: Incident, report: Report, tz: tzinfo) -> ReportDocument:
    """The document for ``report`` (a filing of ``incident``), times in ``tz``."""
    obligations = list(
        session.scalars(
            select(Obligation)
            .where(Obligation.incident_id == incident.id, Obligation.name.in_(report.obligations))
            .order_by(Obligation.id)
        )
    )
    recipients = "、".join(dict.fromkeys(RECIPIENTS_ZH.get(o.to, o.to) for o in obligations)) or (
        "属地网信部门" if report.kind != "final" else "原报送渠道"
    )
    name, department, phone = _filer(session, report.filed_by, report.filed_at)
    grade = incident.grade
    facts: list[tuple[str, str]] = [
        ("事件编号", incident.number),
        ("事件名称", incident.title),
        ("事件级别", f"{GRADE_NAMES[grade][0]}网络安全事件（{LEVEL_ZH[GRADE_LEVEL[grade]]}）"),
        ("事件类型", CATEGORIES[incident.category][0] + "（GB/T 20986-2023）"),
        ("发现（获知）时间", zh_time(incident.detected_at, tz)),
        ("发生时间", zh_time(incident.occurred_at, tz)),
        ("事件地点", incident.location or NOT_GIVEN),
        (
            "涉事系统",
            "、".join(s.name for s in incident.systems) or NOT_GIVEN,
        ),
        (
            "责任部门",
            incident.responsible_department.name if incident.responsible_department else NOT_GIVEN,
        ),
    ]
    if incident.below_suggestion:
        facts.append(
            (
                "定级说明",
                f"按分级指南建议定为{GRADE_NAMES[incident.suggested_grade][0]}，现定级低于建议级别",
            )
        )
    late_note = ""
    if report.late_reason:
        late_note = f"迟报说明：{report.late_reason}"
    basis = (
        "依据《国家网络安全事件报告管理办法》第八条报送处置总结报告。"
        if report.kind == "final"
        else "依据《国家网络安全事件报告管理办法》第七条报送。"
    )
    return ReportDocument(
        title="网络安全事件报告",
        kind_title=f"（{KIND_NAMES[report.kind][0]}）",
        reference=f"{incident.number}-R{_sequence(session, report)}",
        recipients=recipients,
        facts=tuple(facts),
        sections=_sections(report),
        late_note=late_note,
        filed_by=name,
        department=department,
        phone=phone,
        filed_at=zh_time(report.filed_at, tz),
        basis=basis,
        audit_checkpoint=_audit_checkpoint(session),
        created_at=report.filed_at,
    )


def _audit_checkpoint(session: Session) -> str:
    """The line every document carries: the newest signed checkpoint of the audit chain,
    so a printed report can later be held against the chain (5.4(c))."""
    from incidents.audit import checkpoint_path_for, keyring_for
    from incidents.audit_checkpoints import latest_checkpoint

    cp = latest_checkpoint(checkpoint_path_for(session), keyring_for(session))
    if cp is None:
        return "审计链检查点：（尚无）"
    return f"审计链检查点：{cp.summary()}"
