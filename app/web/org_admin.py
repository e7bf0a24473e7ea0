"""Managing the organisation on the web, for administrators: import a YAML file and
download the current one.

The page calls the use cases of ``fenghuo org import|export`` (``incidents.org_io``), so
the file, its idempotence and its audit trail are the CLI's; the audit events name the
administrator, with source ``web``. The file comes as an upload or pasted into the text
box. An import is one transaction: a file with an error anywhere changes nothing, and the
page names the field at fault (``people[3].positions[0].role``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask_login import login_required
from werkzeug.datastructures import FileStorage

from app.extensions import db, now
from app.web import bp
from app.web.session_scope import writing
from app.web.templating import local
from app.web.translate import _
from app.web.viewer import actor, caps
from escalation.organisation import import_organisation
from incidents.errors import ValidationError
from incidents.org_io import ImportResult, export_org
from incidents.permissions import require

# The order the result lists its counts in (``ImportResult`` keys them by these names).
KINDS = ("departments", "people", "positions", "systems")


def _require_admin() -> None:
    require(caps().can_manage_org, _("Only administrators manage the organisation."))


def submitted_yaml(upload: FileStorage | None, pasted: str) -> str:
    """The YAML text from the uploaded file or the text box: exactly one of them."""
    has_file = upload is not None and bool(upload.filename)
    has_text = bool(pasted.strip())
    if has_file and has_text:
        raise ValidationError(_("Choose a file or paste the YAML, not both."), field="file")
    if upload is None or not has_file:
        if not has_text:
            raise ValidationError(_("Choose a file or paste the YAML."), field="file")
        return pasted
    raw: bytes = upload.read()
    try:
        # utf-8-sig: a byte-order mark from a Windows editor is not part of the YAML.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("The file is not UTF-8 text."), field="file") from None


def _page(
    *, pasted: str = "", result: ImportResult | None = None, error: ValidationError | None = None
) -> str:
    return render_template(
        "org/import.html", pasted=pasted, result=result, error=error, kinds=KINDS
    )


@bp.route("/org/import", methods=["GET", "POST"])
@login_required
def org_import() -> Any:
    _require_admin()
    if request.method == "GET":
        return _page()
    pasted = request.form.get("text", "")
    try:
        text = submitted_yaml(request.files.get("file"), pasted)
        with writing() as session:
            result = import_organisation(session, text, actor=actor(), now=now())
    except ValidationError as exc:
        return _page(pasted=pasted, error=exc), 422
    # The result is shown on this answer rather than after a redirect: sending the form
    # again (a reload) is harmless, since the same file a second time changes nothing.
    return _page(result=result)


@bp.get("/org/export.yaml")
@login_required
def org_export() -> Response:
    _require_admin()
    filename = f"organisation-{local(now(), '%Y%m%d-%H%M')}.yaml"
    return Response(
        export_org(db()),
        content_type="application/yaml; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # Every account is in the file; no cache should keep a copy.
            "Cache-Control": "no-store",
        },
    )
