"""Drafts of Art. 7 items (一) and (二) from what the record already knows.

The duty officer has an hour or a few to file the initial report; retyping the entity,
the systems, the times and the grade is where mistakes creep in. These drafts, in
Chinese as the report is, prefill the form; the officer completes and corrects them
(measures taken and their effect are for the officer to write).
"""

from __future__ import annotations

from datetime import tzinfo

from app.reports.document import LEVEL_ZH, NOT_GIVEN, zh_time
from incidents.grading import GRADE_LEVEL, GRADE_NAMES, IMPACT_FIELDS
from incidents.models import CATEGORIES, Incident


def _system_line(incident: Incident) -> list[str]:
    lines = []
    for system in incident.systems:
        facts = []
        if system.is_cii:
            facts.append("关键信息基础设施")
        if system.mlps_level:
            facts.append(f"网络安全等级保护第{system.mlps_level}级")
        facts.append(f"主管部门：{system.owner_department.name}")
        if system.operator_department is not None:
            facts.append(f"运维部门：{system.operator_department.name}")
        users = "、".join(d.name for d in system.user_departments)
        if users:
            facts.append(f"使用部门：{users}")
        lines.append(f"{system.name}（{'；'.join(facts)}）")
    return lines


def _impact_lines(incident: Incident) -> list[str]:
    impact = incident.impact
    lines = []
    for name, spec in IMPACT_FIELDS.items():
        value = impact.get(name, spec.default)
        if value == spec.default:
            continue
        if spec.kind == "bool":
            lines.append(spec.zh)
        elif spec.kind == "enum":
            lines.append(f"{spec.zh}：{spec.choice_names[str(value)][0]}")
        else:
            lines.append(f"{spec.zh}：{value}")
    return lines


def draft_items(incident: Incident, tz: tzinfo) -> dict[str, str]:
    """``entity`` and ``occurrence`` drafted from the incident, in Chinese."""
    department = incident.responsible_department.name if incident.responsible_department else ""
    systems = _system_line(incident)
    entity = f"涉事单位：{department or NOT_GIVEN}。"
    if systems:
        entity += "\n涉事系统：" + "；".join(systems) + "。"
    grade = incident.grade
    occurrence = [
        f"发现（获知）时间：{zh_time(incident.detected_at, tz)}；"
        f"发生时间：{zh_time(incident.occurred_at, tz)}；"
        f"地点：{incident.location or NOT_GIVEN}。",
        f"事件类型：{CATEGORIES[incident.category][0]}；"
        f"事件级别：{GRADE_NAMES[grade][0]}（{LEVEL_ZH[GRADE_LEVEL[grade]]}）。",
    ]
    impact = _impact_lines(incident)
    reasons = [str(r.get("zh", "")) for r in incident.suggestion.get("reasons", [])]
    occurrence.append(
        "已造成的影响和危害：" + ("；".join(impact + reasons) if impact or reasons else "") + "。"
    )
    occurrence.append("已采取的措施及效果：")
    return {"entity": entity, "occurrence": "\n".join(occurrence)}
