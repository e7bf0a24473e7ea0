"""From HTML form fields to the mappings the use cases parse.

Forms send strings; ``incidents.inputs.IncidentInput.parse`` wants JSON-like values. This
module does only that conversion (an empty box is "not given", a ``datetime-local`` value
is read in the policy's time zone) and leaves every rule to the record's own parser, so
the web and the API refuse the same things with the same field names.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from werkzeug.datastructures import MultiDict

from app.web.translate import _
from incidents.errors import ValidationError
from incidents.grading import IMPACT_FIELDS

Form = MultiDict[str, str]

TEXT_FIELDS = ("title", "description", "location", "grade_reason")
ID_FIELDS = ("responsible_department_id", "handling_lead_id")


def local_input(value: datetime | None, tz: tzinfo) -> str:
    """A stored (UTC) time as a ``datetime-local`` value in ``tz``."""
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def parse_local(text: str, tz: tzinfo, field: str) -> str:
    """A ``datetime-local`` value read in ``tz``, as ISO 8601 with the zone."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(_("Enter a date and time."), field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def _positive_int(text: str, field: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(_("Choose an entry from the list."), field=field) from None
    return value


def impact_mapping(form: Form) -> dict[str, Any]:
    """The impact facts typed into the form; empty boxes keep the field's default."""
    out: dict[str, Any] = {}
    for name, spec in IMPACT_FIELDS.items():
        key = f"impact.{name}"
        if spec.kind == "bool":
            out[name] = form.get(key) in ("on", "true", "1", "yes")
            continue
        raw = (form.get(key) or "").strip().replace(",", "")
        if not raw:
            continue
        if spec.kind == "enum":
            out[name] = raw
        elif spec.kind == "int":
            try:
                out[name] = int(raw)
            except ValueError:
                raise ValidationError(_("Enter a whole number."), field=key) from None
        else:
            try:
                out[name] = float(raw)
            except ValueError:
                raise ValidationError(_("Enter a number."), field=key) from None
    return out


def incident_mapping(form: Form, tz: tzinfo) -> dict[str, Any]:
    """The log form as the mapping ``IncidentInput.parse`` reads (create, not patch)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = form.get(name)
        if value is not None and (value.strip() or name == "title"):
            data[name] = value
    if form.get("category"):
        data["category"] = form["category"]
    if form.get("grade"):  # empty: take the suggestion
        data["grade"] = form["grade"]
    for name in ("detected_at", "occurred_at"):
        raw = (form.get(name) or "").strip()
        if raw:
            data[name] = parse_local(raw, tz, name)
    for name in ID_FIELDS:
        raw = (form.get(name) or "").strip()
        if raw:
            data[name] = _positive_int(raw, name)
    systems = [s for s in form.getlist("system_ids") if s.strip()]
    if systems:
        data["system_ids"] = [_positive_int(s, f"system_ids[{i}]") for i, s in enumerate(systems)]
    data["impact"] = impact_mapping(form)
    return data
