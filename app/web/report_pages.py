"""Filing a report (CAC measures Art. 7 and 8) and the report as a document.

The form offers the items of the kind chosen — initial (items 1 and 2 at least),
supplement, follow-up, final summary — and posts them to
``escalation.response.file_report``, which fulfils the reporting obligations and records
whether on time. Each filed report then has a printable page laid out as the bureau
sends it, in Chinese, and the same document as PDF and DOCX (``app.reports``).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.extensions import db, now, services
from app.i18n import error_message
from app.reports import pdf, word
from app.reports.document import build
from app.reports.drafts import draft_items
from app.web import bp
from app.web.clocks import incident_clocks
from app.web.forms import Form
from app.web.receipts import receipts_context
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, caps, visible_incident
from escalation.response import file_report
from incidents.errors import Conflict, Forbidden, NotFound, ValidationError
from incidents.models import Incident
from incidents.reports import (
    ART7_ITEMS,
    ART8_ITEMS,
    KIND_NAMES,
    PROGRESS_ITEM,
    RANSOM_FIELDS,
    REPORT_KINDS,
    Report,
    has_initial,
)

TEXT_ITEMS = (*[k for k in ART7_ITEMS if k != "ransom"], "progress", *ART8_ITEMS)


def report_items(form: Form) -> dict[str, Any]:
    """The items typed into the form; empty boxes are not items."""
    items: dict[str, Any] = {}
    for key in TEXT_ITEMS:
        value = (form.get(f"items.{key}") or "").strip()
        if value:
            items[key] = value
    if form.get("items.ransomware") in ("on", "1", "true"):
        items["ransomware"] = True
    ransom: dict[str, Any] = {}
    for key in RANSOM_FIELDS:
        value = (form.get(f"items.ransom.{key}") or "").strip()
        if not value:
            continue
        if key == "amount":
            try:
                ransom[key] = float(value.replace(",", ""))
            except ValueError:
                raise ValidationError(_("Enter a number."), field="items.ransom.amount") from None
        else:
            ransom[key] = value
    if ransom:
        items["ransom"] = ransom
    chosen = [name for name in form.getlist("obligation") if name]
    if chosen and form.get("kind") in ("initial", "final"):
        # The filing names the obligations it answers (the leadership and the CAC are
        # often told at different times); unnamed, it answers every one still owed.
        items["obligation"] = chosen
    return items


def _default_kind(incident: Incident) -> str:
    if incident.status in ("resolved", "closed"):
        return "final"
    return "follow_up" if has_initial(db(), incident.id) else "initial"


def _render_form(incident: Incident, form: Form, errors: dict[str, str], status: int) -> Any:
    clocks = incident_clocks(db(), incident, now())
    return (
        render_template(
            "reports/new.html",
            incident=incident,
            clocks=clocks,
            form=form,
            errors=errors,
            kinds=REPORT_KINDS,
            kind_names=KIND_NAMES,
            art7=[(k, s) for k, s in ART7_ITEMS.items() if k != "ransom"],
            art8=list(ART8_ITEMS.items()),
            progress=PROGRESS_ITEM,
            ransom_spec=ART7_ITEMS["ransom"],
        ),
        status,
    )


@bp.route("/incidents/<int:incident_id>/reports/new", methods=["GET", "POST"])
@login_required
def new_report(incident_id: int) -> Any:
    incident = visible_incident(incident_id)
    if not caps().can_handle:
        raise Forbidden(_("Only the command center files reports."))
    if request.method == "GET":
        kind = request.args.get("kind") or _default_kind(incident)
        defaults: MultiDict[str, str] = MultiDict({"kind": kind})
        if kind == "initial":  # a supplement or follow-up carries only what is new
            for key, text in draft_items(incident, services().policy.tz).items():
                defaults[f"items.{key}"] = text
        return _render_form(incident, defaults, {}, 200)
    form = request.form
    kind = form.get("kind", "")
    try:
        items = report_items(form)
        with writing() as session:
            report = file_report(
                session,
                incident_id=incident_id,
                kind=kind,
                items=items,
                actor=actor(),
                now=now(),
                policy=services().policy,
                late_reason=(form.get("late_reason") or "").strip() or None,
            )
            report_id = report.id
    except ValidationError as exc:
        return _render_form(incident, form, {exc.field or "form": error_message(exc)}, 422)
    except Conflict as exc:
        return _render_form(incident, form, {"form": error_message(exc)}, 409)
    flash(_("Report filed. Its document is below; print it or download it."), "ok")
    return redirect(url_for("web.report", incident_id=incident_id, report_id=report_id))


def _report(incident_id: int, report_id: int) -> tuple[Incident, Report]:
    incident = visible_incident(incident_id)
    report = db().get(Report, report_id)
    if report is None or report.incident_id != incident.id:
        raise NotFound(
            "no report %(id)s for this incident", field="report_id", params={"id": report_id}
        )
    return incident, report


@bp.get("/incidents/<int:incident_id>/reports/<int:report_id>")
@login_required
def report(incident_id: int, report_id: int) -> str:
    incident, found = _report(incident_id, report_id)
    document = build(db(), incident, found, services().policy.tz)
    return render_template(
        "reports/document.html",
        incident=incident,
        report=found,
        doc=document,
        **receipts_context(db(), incident, report_id=found.id),
    )


@bp.get("/incidents/<int:incident_id>/reports/<int:report_id>.pdf")
@login_required
def report_pdf(incident_id: int, report_id: int) -> Response:
    incident, found = _report(incident_id, report_id)
    document = build(db(), incident, found, services().policy.tz)
    data = pdf.render(document, font_path=services().settings.pdf_font)
    return _download(data, f"{document.filename}.pdf", "application/pdf")


@bp.get("/incidents/<int:incident_id>/reports/<int:report_id>.docx")
@login_required
def report_docx(incident_id: int, report_id: int) -> Response:
    incident, found = _report(incident_id, report_id)
    document = build(db(), incident, found, services().policy.tz)
    return _download(
        word.render(document),
        f"{document.filename}.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )


def _download(data: bytes, name: str, mimetype: str) -> Response:
    return send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
