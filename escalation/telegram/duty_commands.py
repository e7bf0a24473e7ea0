"""The bot's duty commands: ``/duty`` (who is on duty now) and ``/handoff`` (交接班).

``/duty`` lists each roster role — the person on duty and when their stint ends, in the
deployment's zone — or, where the roster has nobody, the holders of the role's fallback
position (``escalation.duty_now``). ``/handoff`` acknowledges the newest duty handoff
the sender gave or took (``escalation.handoffs.acknowledge_handoff``, source
``telegram``); a second acknowledgement says who acknowledged first. Both answer only
linked people, with the same refusal as every other command.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from escalation.duty_now import OnDuty, on_duty_now
from escalation.handoffs import DutyHandoff, acknowledge_handoff, latest_for
from escalation.telegram.access import language_for, refuse_unlinked
from escalation.telegram.error_text import ErrorText, english
from escalation.telegram.incoming import Answer, Incoming, reply
from escalation.telegram.labels import local_time
from escalation.telegram.person_links import linked_person
from escalation.telegram.texts import text
from incidents.audit import Actor
from incidents.errors import FenghuoError
from incidents.org import ROLES


def _position(position: str, lang: str) -> str:
    zh, en, _clause = ROLES.get(position, (position, position, ""))
    return zh if lang == "zh_CN" else en


def _line(row: OnDuty, lang: str, tz: tzinfo, now: datetime) -> str:
    role = text("role." + row.role, lang)
    if row.person is not None:
        if row.until is None:
            return text("duty.open", lang, role=role, name=row.person.name)
        return text(
            "duty.line", lang, role=role, name=row.person.name, until=local_time(row.until, tz, now)
        )
    names = "、".join(p.name for p in row.fallback) or text("duty.none", lang)
    return text(
        "duty.nobody" if row.has_roster else "duty.no_roster",
        lang,
        role=role,
        position=_position(row.fallback_position, lang),
        names=names,
    )


def duty(
    sessions: sessionmaker[Session], incoming: Incoming, now: datetime, *, tz: tzinfo
) -> list[Answer]:
    """``/duty``: who is on duty now, per role."""
    with sessions() as session:
        person = linked_person(session, incoming.user_id)
        if person is None:
            return [refuse_unlinked(incoming)]
        lang = language_for(incoming, person)
        lines = [text("duty.head", lang, now=local_time(now, tz, now))]
        lines += [_line(row, lang, tz, now) for row in on_duty_now(session, now)]
    return [reply(incoming, "\n".join(lines))]


def _pair(handoff: DutyHandoff, lang: str) -> tuple[str, str]:
    outgoing = handoff.outgoing.name if handoff.outgoing is not None else text("duty.none", lang)
    return outgoing, handoff.incoming.name


def handoff(
    sessions: sessionmaker[Session],
    incoming: Incoming,
    now: datetime,
    *,
    tz: tzinfo,
    explain: ErrorText = english,
) -> list[Answer]:
    """``/handoff``: acknowledge the newest handoff the sender gave or took; a refusal is
    said in the person's language (``explain``)."""
    with sessions() as session, session.begin():
        person = linked_person(session, incoming.user_id)
        if person is None:
            return [refuse_unlinked(incoming)]
        lang = language_for(incoming, person)
        found = latest_for(session, person.id)
        if found is None:
            return [reply(incoming, text("handoff.none", lang))]
        actor = Actor(person.id, person.login, "telegram")
        try:
            done = acknowledge_handoff(session, handoff_id=found.id, actor=actor, now=now)
        except FenghuoError as exc:
            return [reply(incoming, html.escape(explain(exc, lang), quote=False))]
        h = done.handoff
        outgoing, incoming_name = _pair(h, lang)
        at = local_time(h.shift_starts_at, tz, now)
        if done.changed:
            body = text("handoff.done", lang, outgoing=outgoing, incoming=incoming_name, at=at)
        else:
            who = h.acknowledged_by.name if h.acknowledged_by is not None else "—"
            when = local_time(h.acknowledged_at, tz, now) if h.acknowledged_at else ""
            body = text("handoff.already", lang, who=who, when=when, at=at)
    return [reply(incoming, body)]
