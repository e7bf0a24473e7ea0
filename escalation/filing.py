"""Filing a report: the filing is stored, and the obligations it answers are fulfilled.

Which obligations a filing fulfils:

- ``initial`` — those counted from detection (the internal report to the leadership,
  the external report to the cyberspace administration…). The leadership and the CAC
  are told separately and often at different times, so the filing may name them with
  the item ``obligation`` (a name or a list of names, e.g. ``"internal"``); without it,
  it fulfils every one still owed. Naming one already filed is a conflict: file a
  supplement instead.
- ``final`` — those counted from resolution (the Art. 8 summary report); only after
  the incident is resolved.
- ``supplement`` and ``follow_up`` fulfil nothing; they need an initial report first.

A filing after an obligation's deadline (or after its breach) makes it ``late`` and
needs ``late_reason``; the breach stays on record. Filing stops the obligation's
warnings and breach alert, and once every initial report is filed the chain's
``until = "reported"`` steps stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from config.policy import Policy
from escalation import clocks, obligations
from escalation.chains import cancel_steps
from escalation.guard import lock, require_handle
from escalation.models import FULFILLED, Obligation
from incidents.audit import Actor, record
from incidents.errors import Conflict, ValidationError
from incidents.reports import Report, add_report, has_initial, validate_items


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(value))
    raise ValidationError(
        "must be an obligation name or a non-empty list of names", field="items.obligation"
    )


def _targets(
    session: Session, incident_id: int, kind: str, chosen: object | None
) -> list[Obligation]:
    start = "detected" if kind == "initial" else "resolved"
    mine = [o for o in obligations.of_incident(session, incident_id) if o.start == start]
    if chosen is not None:
        by_name = {o.name: o for o in mine}
        targets: list[Obligation] = []
        for name in _names(chosen):
            ob = by_name.get(name)
            if ob is None:
                known = ", ".join(by_name) or "none"
                raise ValidationError(
                    f"no {kind} reporting obligation {name!r} for this incident; known: {known}",
                    field="items.obligation",
                )
            if ob.status in FULFILLED:
                raise Conflict(
                    f"{ob.title_en} is already {ob.status}; file a supplement or follow-up",
                    field="items.obligation",
                    code="already_filed",
                )
            targets.append(ob)
        return targets
    targets = [o for o in mine if o.status in obligations.UNFULFILLED]
    if not targets and mine:
        raise Conflict(
            f"every {kind} report owed is already filed; file a supplement or follow-up",
            field="kind",
            code="already_filed",
        )
    return targets


def file_report(
    session: Session,
    *,
    incident_id: int,
    kind: str,
    items: Mapping[str, object],
    actor: Actor,
    now: datetime,
    policy: Policy,
    late_reason: str | None = None,
) -> Report:
    """File a report and fulfil the obligations it answers (see the module doc)."""
    incident = lock(session, incident_id)
    require_handle(session, actor, now, "file reports")
    clocks.ensure(session, incident, policy, actor=actor, now=now)
    if not isinstance(items, Mapping):
        raise ValidationError("must be an object of report items", field="items")
    fields = dict(items)
    chosen = fields.pop("obligation", None)
    clean = validate_items(kind, fields)
    if kind in ("supplement", "follow_up"):
        if chosen is not None:
            raise ValidationError(
                "only initial and final reports fulfil an obligation", field="items.obligation"
            )
        if not has_initial(session, incident_id):
            raise Conflict(
                "file the initial report first (Art. 7: items 1 and 2)",
                field="kind",
                code="no_initial_report",
            )
        targets: list[Obligation] = []
    else:
        if kind == "final" and incident.status not in ("resolved", "closed"):
            raise Conflict(
                "the final summary report follows the end of handling (Art. 8); resolve first",
                field="kind",
                code="not_resolved",
            )
        targets = _targets(session, incident_id, kind, chosen)
    late = [o for o in targets if o.status == "missed" or (o.due_at is not None and now > o.due_at)]
    reason = (late_reason or "").strip()
    if late and not reason:
        due = ", ".join(
            f"{o.title_en} was due {o.due_at.isoformat()}" for o in late if o.due_at is not None
        )
        raise ValidationError(f"the filing is late ({due}); give the reason", field="late_reason")
    report = add_report(
        session,
        incident_id=incident_id,
        kind=kind,
        items=clean,
        obligations=[o.name for o in targets],
        late_reason=reason if late else "",
        actor=actor,
        now=now,
    )
    for ob in targets:
        status = obligations.fulfil(session, ob, report_id=report.id, late_reason=reason, now=now)
        record(
            session,
            actor=actor,
            kind=f"obligation.{status}",
            subject_type="obligation",
            subject_id=ob.id,
            incident_id=incident_id,
            now=now,
            data={
                "name": ob.name,
                "report_id": report.id,
                "due_at": ob.due_at.isoformat() if ob.due_at else None,
                "late_reason": ob.late_reason,
            },
        )
    if kind == "initial" and obligations.initial_done(session, incident_id):
        cancel_steps(
            session,
            incident_id=incident_id,
            until=("reported",),
            reason="initial reports filed",
            now=now,
        )
    return report
