"""Who may ask the bot what: the checks a command passes before anything changes.

The sender must be a linked, active person; a command naming an incident needs the right
to see it (``incidents.permissions``), and the same answer comes back whether the
incident does not exist or may not be seen, so the bot leaks nothing. A refusal is an
:class:`~escalation.telegram.incoming.Answer`; the database is left as it was. The
right to acknowledge is checked by the handlers that acknowledge.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.telegram.incoming import Answer, Incoming, reply
from escalation.telegram.person_links import linked_person
from escalation.telegram.texts import language_of, text
from incidents.models import Incident
from incidents.org import Person
from incidents.permissions import Capabilities, can_view, capabilities

_NUMBER = re.compile(r"(?:FH-?)?(?:(\d{4})-)?0*(\d{1,9})", re.IGNORECASE)


def language_for(incoming: Incoming, person: Person | None) -> str:
    """The linked person's language; for a stranger, English if Telegram says so."""
    if person is not None:
        return language_of(person.language)
    code = (incoming.language_code or "").lower()
    return "en" if code.startswith("en") else "zh_CN"


def find_incident(session: Session, ref: str) -> Incident | None:
    """The incident a person wrote: ``FH-2026-0007``, ``2026-7`` or just ``7`` (the
    newest year with that sequence number)."""
    match = _NUMBER.fullmatch(ref.strip())
    if match is None:
        return None
    year, seq = match.group(1), int(match.group(2))
    stmt = select(Incident).where(Incident.seq == seq)
    if year is not None:
        stmt = stmt.where(Incident.year == int(year))
    return session.scalars(stmt.order_by(Incident.year.desc()).limit(1)).first()


def refuse_unlinked(incoming: Incoming) -> Answer:
    return reply(incoming, text("refuse.unlinked", language_for(incoming, None)))


def checked(
    session: Session, incoming: Incoming, now: datetime, usage: str
) -> tuple[Incident, Person, Capabilities] | Answer:
    """The incident named in the command, if the linked sender may see it."""
    person = linked_person(session, incoming.user_id)
    if person is None:
        return refuse_unlinked(incoming)
    lang = language_for(incoming, person)
    if len(incoming.args) != 1:
        return reply(incoming, text("refuse.usage", lang, usage=usage))
    incident = find_incident(session, incoming.args[0])
    caps = capabilities(session, person, now)
    if incident is None or not can_view(session, caps, incident):
        # The same answer whether it does not exist or may not be seen: no leak.
        return reply(incoming, text("refuse.unknown", lang, number=incoming.args[0]))
    return incident, person, caps
