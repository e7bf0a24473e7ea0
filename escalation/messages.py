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
    if kind == "step":
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
    if notice.deadline is not None and kind in ("step", "acknowledged"):
        d = notice.deadline
        zh += f"最近时限:{d.title_zh} {_when(d.due_at, tz)} 前。"
        en += f" Nearest deadline: {d.title_en} by {_when(d.due_at, tz)}."
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
        **dict(notice.extra),
    }
    return zh, en, payload
