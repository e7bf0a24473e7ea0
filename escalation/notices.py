"""Telling people about something that is not a step, a warning or a breach.

Higher layers (accountability: a case opened, a decision to approve) write their notices
through :func:`notify_people`: the same outbox, the same channels and fallbacks, the
same record on the incident's escalation state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from escalation.firing import Firing
from escalation.frozen import get_clock, zone
from escalation.messages import Notice
from incidents.audit import Actor
from incidents.errors import ValidationError
from incidents.service import get_incident

KINDS = ("case",)


def notify_people(
    session: Session,
    *,
    incident_id: int,
    person_ids: Sequence[int],
    text_zh: str,
    text_en: str,
    actor: Actor,
    now: datetime,
    kind: str = "case",
) -> int:
    """Queue a notice about ``incident_id`` to ``person_ids`` in the caller's transaction;
    return how many notification rows were written (one per person and channel)."""
    if kind not in KINDS:
        raise ValidationError(
            "must be one of %(choices)s",
            field="kind",
            code="kind.choice",
            params={"choices": ", ".join(KINDS)},
        )
    if not text_zh.strip() or not text_en.strip():
        raise ValidationError(
            "both texts are required", field="text", code="text.both_texts_required"
        )
    incident = get_incident(session, incident_id)
    clock = get_clock(session, incident_id)
    firing = Firing(session, now=now, default_tz=zone(clock) if clock is not None else UTC)
    firing.notice(
        incident,
        Notice(kind, extra={"text_zh": text_zh, "text_en": text_en}),
        person_ids=list(person_ids),
    )
    return firing.finish(actor).notifications
