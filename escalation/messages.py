"""The text of every notice, in Chinese and English, frozen when the notice is written.

Messages carry the number, grade, title, what is asked and the nearest deadline in the
policy's time zone — never the incident's description or impact detail (a channel such
as Telegram leaves the building). Channels pick the text in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from incidents.grading import GRADE_NAMES
from incidents.models import Incident


@dataclass(frozen=True)
class Deadline:
    name: str
    title_zh: str
    title_en: str
    due_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "due_at": self.due_at.isoformat(),
        }


@dataclass(frozen=True)
class Notice:
    """What a notice is about; ``render`` turns it into text and a payload."""

    kind: str
    step: int | None = None
    repeat: int | None = None
    deadline: Deadline | None = None
    obligation: Deadline | None = None
    fraction: float | None = None
    actor_name: str = ""
    detail: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Fired this long after it was due (the worker was down): the text says so.
    late_minutes: int | None = None
    # An inform escalated for want of a receipt: who did not confirm, within how long.
    unconfirmed_name: str = ""
    unconfirmed_minutes: int | None = None


def _when(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _head(incident: Incident) -> tuple[str, str]:
    zh_grade, en_grade = GRADE_NAMES.get(incident.grade, (incident.grade, incident.grade))
    return (
        f"【烽火】{zh_grade}事件 {incident.number}「{incident.title}」",
        f"[Fenghuo] {en_grade.capitalize()} incident {incident.number} “{incident.title}”",
    )


def render(incident: Incident, notice: Notice, tz: tzinfo) -> tuple[str, str, dict[str, Any]]:
    """Chinese text, English text and the JSON payload for ``notice`` about ``incident``."""
    zh, en = _head(incident)
    kind = notice.kind
    if kind == "inform":
        step = (notice.step or 0) + 1
        if notice.unconfirmed_name:
            zh += (
                f":{notice.unconfirmed_name}未在{notice.unconfirmed_minutes}分钟内签收,"
                "现向您通报,请知悉并签收。"
            )
            en += (
                f": {notice.unconfirmed_name} did not confirm receipt within "
                f"{notice.unconfirmed_minutes} min, so you are informed; please confirm receipt."
            )
        else:
            zh += f"特此通报(第{step}级),请知悉并签收" + (
                f"(第{notice.repeat}次提醒)。" if notice.repeat else "。"
            )
            en += f" — for your information (step {step}); please confirm receipt" + (
                f" (reminder {notice.repeat})." if notice.repeat else "."
            )
    elif kind == "report":
        zh += ":" + str(notice.extra.get("text_zh", ""))
        en += ": " + str(notice.extra.get("text_en", ""))
    elif kind == "step":
        step = (notice.step or 0) + 1
        again = notice.repeat or 0
        zh += f"需要您确认处置(第{step}级" + (f",第{again}次重复提醒)。" if again else ")。")
        en += f" needs your acknowledgement (step {step}" + (
            f", reminder {again})." if again else ")."
        )
    elif kind == "warning" and notice.obligation is not None:
        ob = notice.obligation
        share = round((notice.fraction or 0) * 100)
        zh += f":{ob.title_zh}时限已过{share}%,请于 {_when(ob.due_at, tz)} 前报告。"
        en += f": {share}% of the time for “{ob.title_en}” has passed; report by " + (
            f"{_when(ob.due_at, tz)}."
        )
    elif kind == "breach" and notice.obligation is not None:
        ob = notice.obligation
        zh += f":{ob.title_zh}未在时限 {_when(ob.due_at, tz)} 前报告(未按要求上报)。"
        en += f": “{ob.title_en}” was not filed by its deadline {_when(ob.due_at, tz)} " + (
            "(not reported as required)."
        )
    elif kind == "acknowledged":
        zh += f"已由{notice.actor_name}确认。"
        en += f" was acknowledged by {notice.actor_name}."
    elif kind == "resolved":
        zh += f"已处置完毕({notice.actor_name})。"
        en += f" was resolved by {notice.actor_name}."
        if notice.detail:
            zh += notice.detail
            en += " " + notice.detail
    elif kind == "reopened":
        zh += f"已被{notice.actor_name}重新打开:{notice.detail}"
        en += f" was reopened by {notice.actor_name}: {notice.detail}"
    else:  # "case" and anything a higher layer writes: its own words
        zh += ":" + str(notice.extra.get("text_zh", notice.detail))
        en += ": " + str(notice.extra.get("text_en", notice.detail))
    if notice.deadline is not None and kind in ("step", "inform", "acknowledged"):
        d = notice.deadline
        zh += f"最近时限:{d.title_zh} {_when(d.due_at, tz)} 前。"
        en += f" Nearest deadline: {d.title_en} by {_when(d.due_at, tz)}."
    if notice.late_minutes:
        zh += f"(本条迟发{notice.late_minutes}分钟:烽火曾中断,应于此前发出。)"
        en += f" (Sent {notice.late_minutes} min late: Fenghuo was not running when it was due.)"
    payload: dict[str, Any] = {
        "number": incident.number,
        "grade": incident.grade,
        "category": incident.category,
        "title": incident.title,
        "step": notice.step,
        "repeat": notice.repeat,
        "fraction": notice.fraction,
        "obligation": notice.obligation.to_dict() if notice.obligation else None,
        "deadline": notice.deadline.to_dict() if notice.deadline else None,
        "link_path": f"/incidents/{incident.id}",
        "timezone": str(tz),
        "late_minutes": notice.late_minutes,
        # A report's text is the message itself; other kinds keep their extra facts.
        **{
            k: v
            for k, v in notice.extra.items()
            if kind != "report" or k not in ("text_zh", "text_en")
        },
    }
    return zh, en, payload


# A delivered report's items in a message: enough to read on a phone, the rest behind the
# link (Telegram carries at most 4,096 characters).
_ITEM_CHARS = 600
_REPORT_CHARS = 3000


def report_text(
    *,
    title_zh: str,
    title_en: str,
    kind_zh: str,
    kind_en: str,
    items: Mapping[str, Any],
    labels: Mapping[str, tuple[str, str, str]],
    filed_by: str,
    filed_at: datetime,
    tz: tzinfo,
    cac: bool,
) -> tuple[str, str]:
    """The Chinese and English text of a delivered report (``labels``: key → number,
    zh, en). For a report to the CAC the leadership is told that it was filed."""
    when = _when(filed_at, tz)
    if cac:
        zh = f"{filed_by}已于 {when} 报送《{title_zh}》({kind_zh})。报送内容:"
        en = f"{filed_by} filed “{title_en}” ({kind_en}) at {when}. As filed:"
    else:
        zh = f"{filed_by}于 {when} 报送《{title_zh}》({kind_zh}),请审阅并签收:"
        en = f"{filed_by} filed “{title_en}” ({kind_en}) at {when}; please read and confirm:"
    zh_lines, en_lines = [zh], [en]
    for key, value in items.items():
        number, label_zh, label_en = labels.get(key, ("", key, key))
        text = _item_value(value)
        if len(text) > _ITEM_CHARS:
            text = text[: _ITEM_CHARS - 1] + "…"
        zh_lines.append(f"({number}){label_zh}:{text}")
        en_lines.append(f"({number}) {label_en}: {text}")
    zh_text, en_text = "\n".join(zh_lines), "\n".join(en_lines)
    if len(zh_text) > _REPORT_CHARS:
        zh_text = zh_text[: _REPORT_CHARS - 20] + "…(全文见链接)"
    if len(en_text) > _REPORT_CHARS:
        en_text = en_text[: _REPORT_CHARS - 20] + "… (full text at the link)"
    return zh_text, en_text


def _item_value(value: object) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, ""))
    return str(value)
