"""What the clocks recorded about an incident, read for accountability.

Two facts of Article 5 are outcomes of the escalation layer's clocks: whether the
incident was reported as required (the reporting obligations: 5.1(a), 5.2(a), 5.3(a)) and
whether it was handled promptly (the handling target: 5.2(c), 5.3(b), 5.4(b)). This
module reads them through ``escalation.reporting`` (the one tri-state rule every face
uses) and ``escalation.queries``, and says how each is known, in Chinese and English,
with times in the zone the incident's clocks were frozen with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from escalation import queries
from escalation.frozen import get_clock
from escalation.reporting import reported_as_required
from incidents.models import Incident

#: How a failed obligation failed, (zh, en).
BREACHED: dict[str, tuple[str, str]] = {
    "late": ("迟报", "filed late"),
    "missed": ("超时未报", "missed"),
    "overdue": ("已过时限仍未报送", "pending past its deadline"),
}


@dataclass(frozen=True)
class Outcome:
    """A fact as the clocks give it; ``value`` is None while the record cannot tell yet."""

    value: bool | None
    detail: tuple[str, str]


def reporting(session: Session, incident: Incident, *, now: datetime) -> Outcome:
    """The tri-state of ``escalation.reporting``: false once any obligation is late,
    missed or pending past its deadline; not known (None) while one is still due in
    time — a determination then waits; true once every one is met or waived."""
    found = reported_as_required(session, incident.id, now)
    if found.value is False:
        failed = [(line, BREACHED[line.status]) for line in found.failed]
        return Outcome(
            False,
            (
                "；".join(f"{line.title_zh}:{zh}" for line, (zh, _) in failed),
                "; ".join(f"{line.title_en}: {en}" for line, (_, en) in failed),
            ),
        )
    if found.value is None:
        return Outcome(
            None,
            (
                "尚无迟报或超时未报;仍待报送:" + "、".join(line.title_zh for line in found.due),
                "none late or missed so far; still due: "
                + ", ".join(line.title_en for line in found.due),
            ),
        )
    return Outcome(True, ("均按时报送", "every report filed by its deadline"))


def handling(session: Session, incident: Incident, *, now: datetime) -> Outcome:
    """The handling target's outcome; None while unresolved within the target."""
    found = queries.handling_outcome(session, incident.id, now)
    if found["handling_due_at"] is None:
        return Outcome(None, ("无处置时限记录", "no handling target on record"))
    clock = get_clock(session, incident.id)
    zone = ZoneInfo(clock.timezone) if clock is not None else None
    due = _when(found["handling_due_at"], zone)
    prompt = found["handled_promptly"]
    if prompt is None:
        return Outcome(
            None,
            (
                f"尚未处置完毕,处置时限 {due} 未到",
                f"unresolved, handling target {due} not yet reached",
            ),
        )
    if found["resolved_at"] is None:
        return Outcome(
            False,
            (f"超过处置时限 {due} 仍未处置完毕", f"unresolved past the handling target {due}"),
        )
    resolved = _when(found["resolved_at"], zone)
    if prompt:
        return Outcome(
            True, (f"{resolved} 处置完毕,在处置时限 {due} 内", f"resolved {resolved}, by {due}")
        )
    return Outcome(
        False,
        (
            f"{resolved} 处置完毕,超过处置时限 {due}",
            f"resolved {resolved}, after the handling target {due}",
        ),
    )


def _when(iso: str, zone: ZoneInfo | None) -> str:
    at = datetime.fromisoformat(iso)
    if zone is not None:
        at = at.astimezone(zone)
    return at.strftime("%Y-%m-%d %H:%M")
