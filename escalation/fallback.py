"""Falling back to the next person up when a person cannot be reached.

Called by ``escalation.handover`` once a notice has no destination of its person left
to try (each failed, or none delivered within ``fallback_after``): (1) the same person's
in-app inbox — every notice reaches the inbox anyway, so this is the safety net — and
(2) the next person up the Article 3 ladder for the incident (``Resolver.next_up``),
with a notice of its own saying who could not be reached on which channels and why, so
it arrives even if the same page reached them already. A group destination's notice
(no person) falls back to no one: the step's people are paged anyway.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from escalation.enqueue import INBOX, OutboxWriter
from escalation.models import Notification, Timer
from escalation.recipients import Resolver
from incidents.audit import record, system_actor
from incidents.models import Incident
from incidents.org import Person


def fall_back(
    session: Session,
    n: Notification,
    reason: str,
    now: datetime,
    *,
    channels: Sequence[str] = (),
) -> int:
    """Reach the same person's inbox, and tell the next person up the chain (a notice of
    its own, so it reaches them even if the same page reached them already).
    ``channels`` are the person's channels that were tried (default: ``n``'s)."""
    tried = ", ".join(channels) if channels else n.channel
    incident = session.get(Incident, n.incident_id)
    if n.person_id is None:  # a group destination: the people of the step are reached anyway
        record(
            session,
            actor=system_actor("worker"),
            kind="notification.failed",
            subject_type="notification",
            subject_id=n.id,
            incident_id=n.incident_id,
            now=now,
            data={"person": None, "channel": n.channel, "reason": reason, "fallback_rows": 0},
        )
        return 0
    person = session.get(Person, n.person_id)
    assert incident is not None and person is not None
    writer = OutboxWriter(session, now)
    body = dict(n.payload)
    if n.channel != INBOX:
        writer.add(
            timer_id=n.timer_id,
            incident_id=n.incident_id,
            person_id=n.person_id,
            kind=n.kind,
            text_zh=n.text_zh,
            text_en=n.text_en,
            payload=body,
            fallback_of_id=n.id,
            only_channels=(INBOX,),
        )
    above = Resolver(session, now).next_up(incident, n.person_id)
    if above is not None:
        notice = Timer(
            incident_id=n.incident_id,
            kind="notice",
            notice="fallback",
            due_at=now,
            status="fired",
            fired_at=now,
            cancel_reason="",
            note=f"{person.login} unreachable on {tried}"[:300],
            recipients_json=json.dumps(
                [{"target": "next_up", "person_id": above.id, "login": above.login}]
            ),
            created_at=now,
        )
        session.add(notice)
        session.flush()
        writer.add(
            timer_id=notice.id,
            incident_id=n.incident_id,
            person_id=above.id,
            kind=n.kind,
            # The reason (an exception's text, often) stays in the audit, not the message.
            text_zh=f"(代{person.name}转达:其{tried}无法送达)" + n.text_zh,
            text_en=f"(On behalf of {person.name}, unreachable on {tried}) " + n.text_en,
            payload={**body, "on_behalf_of": person.login},
            fallback_of_id=n.id,
        )
    written = writer.flush()
    record(
        session,
        actor=system_actor("worker"),
        kind="notification.failed",
        subject_type="notification",
        subject_id=n.id,
        incident_id=n.incident_id,
        now=now,
        data={
            "person": person.login,
            "channel": n.channel,
            "channels": list(channels) or [n.channel],
            "reason": reason,
            "fallback_to": above.login if above is not None else None,
            "fallback_rows": written,
        },
    )
    return written
