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

A filing is *delivered*, not only recorded: a report to the leadership
(``to = "leading_group"``) goes to the obligation's ``inform`` targets (by default the
leading group's members) with its items as text, a link, and its PDF where the channel
carries files; for a report to the CAC the leadership is told that it was filed. Both are
informs: each addressee confirms receipt, or the next person up is told
(``escalation.receipts``). A supplement or follow-up goes to everyone who received an
earlier report of the incident. The filer is not sent their own report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.policy import DEFAULT_INFORM_ON_FILING, Policy
from escalation import clocks, obligations
from escalation.chains import cancel_steps
from escalation.firing import Firing
from escalation.frozen import get_clock, grade_policy, zone
from escalation.guard import lock, require_handle
from escalation.messages import report_text
from escalation.models import FULFILLED, Obligation, Receipt
from incidents.audit import Actor, record
from incidents.errors import Conflict, ValidationError
from incidents.models import Incident
from incidents.org import Person
from incidents.reports import (
    ART7_ITEMS,
    ART8_ITEMS,
    KIND_NAMES,
    PROGRESS_ITEM,
    Report,
    add_report,
    has_initial,
    validate_items,
)

_LABELS = {
    key: (spec.number, spec.zh, spec.en)
    for key, spec in {**ART7_ITEMS, **ART8_ITEMS, "progress": PROGRESS_ITEM}.items()
}


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(value))
    raise ValidationError(
        "must be an obligation name or a non-empty list of names",
        field="items.obligation",
        code="items.obligation.obligation_name_non_empty",
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
                    "no %(kind)s reporting obligation %(name)r for this incident; known: %(known)s",
                    field="items.obligation",
                    code="items.obligation.no_reporting_obligation_incident",
                    params={"kind": kind, "name": name, "known": known},
                )
            if ob.status in FULFILLED:
                raise Conflict(
                    "%(title_en)s is already %(status)s; file a supplement or follow-up",
                    field="items.obligation",
                    code="already_filed",
                    params={"title_en": ob.title_en, "status": ob.status},
                )
            targets.append(ob)
        return targets
    targets = [o for o in mine if o.status in obligations.UNFULFILLED]
    if not targets and mine:
        raise Conflict(
            "every %(kind)s report owed is already filed; file a supplement or follow-up",
            field="kind",
            code="already_filed",
            params={"kind": kind},
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
        raise ValidationError(
            "must be an object of report items", field="items", code="items.object_report_items"
        )
    fields = dict(items)
    chosen = fields.pop("obligation", None)
    clean = validate_items(kind, fields)
    if kind in ("supplement", "follow_up"):
        if chosen is not None:
            raise ValidationError(
                "only initial and final reports fulfil an obligation",
                field="items.obligation",
                code="items.obligation.only_initial_final_reports",
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
        raise ValidationError(
            "the filing is late (%(due)s); give the reason",
            field="late_reason",
            code="late_reason.filing_late_give_reason",
            params={"due": due},
        )
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
    _deliver(session, incident, report, targets, actor=actor, now=now)
    if kind == "initial" and obligations.initial_done(session, incident_id):
        cancel_steps(
            session,
            incident_id=incident_id,
            until=("reported",),
            reason="initial reports filed",
            now=now,
        )
    return report


def _deliver(
    session: Session,
    incident: Incident,
    report: Report,
    targets: list[Obligation],
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Deliver the filing to its addressees as an inform (see the module doc)."""
    clock = get_clock(session, incident.id)
    specs = {o.name: o for o in grade_policy(clock).obligations} if clock is not None else {}
    recipients: list[str] = []
    within = timedelta(minutes=15)
    leadership = False
    for ob in targets:
        spec = specs.get(ob.name)
        inform = spec.inform if spec is not None else DEFAULT_INFORM_ON_FILING.get(ob.to, ())
        if spec is not None:
            within = min(within, spec.confirm_within)
        leadership = leadership or ob.to == "leading_group"
        recipients += [t for t in inform if t not in recipients]
    if not targets:
        # A supplement or follow-up: to whoever received the earlier reports.
        earlier = session.scalars(
            select(Person.login)
            .join(Receipt, Receipt.person_id == Person.id)
            .where(Receipt.incident_id == incident.id, Receipt.report_id.is_not(None))
            .distinct()
        ).all()
        recipients = [f"person:{login}" for login in sorted(earlier)]
        leadership = True
    if not recipients:
        return
    tz = zone(clock) if clock is not None else UTC
    filer = session.get(Person, actor.person_id) if actor.person_id is not None else None
    first = targets[0] if targets else None
    kind_zh, kind_en = KIND_NAMES.get(report.kind, (report.kind, report.kind))
    text_zh, text_en = report_text(
        title_zh=first.title_zh if first is not None else kind_zh,
        title_en=first.title_en if first is not None else kind_en,
        kind_zh=kind_zh,
        kind_en=kind_en,
        items=report.items,
        labels=_LABELS,
        filed_by=filer.name if filer is not None else actor.login,
        filed_at=report.filed_at,
        tz=tz,
        cac=not leadership,
    )
    firing = Firing(session, now=now, default_tz=tz)
    firing.inform_report(
        incident,
        report_id=report.id,
        targets=recipients,
        confirm_within=within,
        text_zh=text_zh,
        text_en=text_en,
        exclude=actor.person_id,
    )
    firing.finish(actor)
