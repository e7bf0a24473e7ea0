"""What the bot does for each command and button press: checked, then the use case.

Both faces of the bot use this module: the polling process (``fenghuo bot``, through
``asyncio.to_thread``) and the webhook route in the web process. Each function takes
an :class:`Incoming` (who, where, what) and returns the :class:`Answer` list the bot
owes: Bot API calls with their parameters, which the polling bot makes at once and the
webhook route queues for the worker's sender (both types: ``escalation.telegram.incoming``).

Every command and press is checked before anything changes
(``escalation.telegram.access``): the sender must be a linked, active person; acting on
an incident needs the right to see it and, for ``/ack`` and the button, the right to
acknowledge it (``incidents.permissions``). Anyone else gets a polite refusal and the
database is left as it was. Acknowledging calls ``escalation.response.acknowledge`` —
the use case the web calls — with the actor source ``telegram``, so the audit chain
says where it came from.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import EscalationChain, Receipt
from escalation.telegram import duty_commands
from escalation.telegram.access import checked, language_for, refuse_unlinked
from escalation.telegram.error_text import ErrorText, english
from escalation.telegram.group_links import link_group
from escalation.telegram.incoming import Answer, Incoming, incoming_from, reply, toast
from escalation.telegram.keyboards import (
    incident_url,
    parse_ack_callback,
    parse_receipt_callback,
)
from escalation.telegram.labels import (
    GRADE_MARKS,
    Deadline,
    deadline_line,
    grade_label,
    local_time,
    status_label,
    title_of,
)
from escalation.telegram.link_codes import redeem
from escalation.telegram.person_links import linked_person
from escalation.telegram.texts import language_of, text
from incidents.audit import Actor
from incidents.errors import Conflict, FenghuoError, ValidationError
from incidents.models import CATEGORIES, Incident
from incidents.org import ROLES, Department
from incidents.permissions import can_acknowledge, can_view, capabilities
from incidents.queries import IncidentFilter, list_incidents

# Incoming, Answer and incoming_from lived here first; the bot and the webhook import
# them from here still.
__all__ = ["LIST_LIMIT", "Answer", "BotActions", "Incoming", "incoming_from"]

LIST_LIMIT = 20


class BotActions:
    """The bot's behaviour over the database; one instance per process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        public_url: str,
        tz: tzinfo,
        redact_titles: bool,
        bot_username: str | None = None,
        explain: ErrorText = english,
    ) -> None:
        """``explain`` says a domain error in the person's language (``app.i18n.error_text``)."""
        self.sessions = sessions
        self.explain = explain
        self.public_url = public_url
        self.tz = tz
        self.redact_titles = redact_titles
        self.bot_username = bot_username

    # --- routing (the webhook uses it; the polling bot routes with PTB handlers) -------

    def handle(self, incoming: Incoming, now: datetime) -> list[Answer]:
        if incoming.callback_query_id is not None:
            return self.button(incoming, now)
        handler = {
            "start": self.start,
            "help": self.help,
            "incidents": self.incidents,
            "ack": self.ack,
            "status": self.status,
            "linkgroup": self.link_group,
            "duty": self.duty,
            "handoff": self.handoff,
        }.get(incoming.command or "")
        if handler is not None:
            return handler(incoming, now)
        if incoming.private:
            return self.help(incoming, now)
        return []  # plain chatter in a group is none of the bot's business

    # --- helpers ------------------------------------------------------------------------

    def _title(self, incident: Incident, lang: str) -> str:
        return html.escape(title_of(incident.title, lang, redact=self.redact_titles), quote=False)

    def _line(self, incident: Incident, lang: str) -> str:
        mark = GRADE_MARKS.get(incident.grade, "⚪")
        return (
            f"{mark} <b>{html.escape(incident.number)}</b> {self._title(incident, lang)} · "
            f"{html.escape(status_label(incident.status, lang))}"
        )

    # --- commands -----------------------------------------------------------------------

    def start(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/start <code>`` links the sender; ``/start`` alone says how."""
        if not incoming.args:
            return self.help(incoming, now)
        if not incoming.private:
            return [reply(incoming, text("start.private", language_for(incoming, None)))]
        try:
            with self.sessions() as session, session.begin():
                person = redeem(
                    session,
                    code=incoming.args[0],
                    telegram_user_id=incoming.user_id,
                    chat_id=incoming.chat_id,
                    username=incoming.username,
                    now=now,
                )
                lang, name, login = language_of(person.language), person.name, person.login
        except ValidationError:
            return [reply(incoming, text("start.bad", language_for(incoming, None)))]
        return [reply(incoming, text("start.ok", lang, name=name, login=login))]

    def help(self, incoming: Incoming, now: datetime) -> list[Answer]:
        with self.sessions() as session:
            person = linked_person(session, incoming.user_id)
            lang = language_for(incoming, person)
        if not incoming.private:
            return [reply(incoming, text("help.group", lang, chat_id=incoming.chat_id))]
        return [reply(incoming, text("help" if person else "help.unlinked", lang))]

    def incidents(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/incidents``: the open incidents the person may see, newest first."""
        with self.sessions() as session:
            person = linked_person(session, incoming.user_id)
            if person is None:
                return [refuse_unlinked(incoming)]
            lang = language_for(incoming, person)
            caps = capabilities(session, person, now)
            page = list_incidents(
                session, caps, IncidentFilter(open_only=True), limit=LIST_LIMIT, with_total=True
            )
            if not page.items:
                return [reply(incoming, text("incidents.none", lang))]
            lines = [text("incidents.head", lang, count=page.total or len(page.items))]
            lines += [self._line(i, lang) for i in page.items]
            more = (page.total or 0) - len(page.items)
            if more > 0:
                lines.append(text("incidents.more", lang, count=more))
        return [reply(incoming, "\n".join(lines))]

    def status(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/status <number>``: state, acknowledgement and the nearest deadline."""
        with self.sessions() as session:
            found = checked(session, incoming, now, "/status FH-2026-0007")
            if isinstance(found, Answer):
                return [found]
            incident, person, _caps = found
            lang = language_for(incoming, person)
            lines = [self._line(incident, lang)]
            lines.append(
                f"{html.escape(grade_label(incident.grade, lang))} · "
                + html.escape(
                    CATEGORIES.get(incident.category, ("", incident.category))[
                        0 if lang == "zh_CN" else 1
                    ]
                )
            )
            chain = session.scalars(
                select(EscalationChain)
                .where(EscalationChain.incident_id == incident.id)
                .order_by(EscalationChain.generation.desc())
                .limit(1)
            ).first()
            acked_at = chain.acknowledged_at if chain is not None else incident.acknowledged_at
            acked_by = chain.acknowledged_by if chain is not None else incident.acknowledged_by
            if acked_at is not None:
                who = acked_by.name if acked_by is not None else "—"
                lines.append(text("ack.by", lang, who=who, when=local_time(acked_at, self.tz, now)))
            elif incident.is_open:
                lines.append(text("status.unacked", lang))
            deadline = _nearest_deadline(session, incident.id)
            if deadline is not None and incident.is_open:
                lines.append(deadline_line(deadline, lang, self.tz, now))
            lines.append(html.escape(incident_url(self.public_url, incident.id)))
        return [reply(incoming, "\n".join(lines))]

    def ack(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/ack <number>``: acknowledge, if the sender may."""
        with self.sessions() as session:
            found = checked(session, incoming, now, "/ack FH-2026-0007")
            if isinstance(found, Answer):
                return [found]
            incident, person, caps = found
            lang = language_for(incoming, person)
            number = incident.number
            if not can_acknowledge(session, caps, incident, now):
                return [reply(incoming, text("refuse.rights", lang, number=number))]
            incident_id, person_id, login = incident.id, person.id, person.login
        body = self._acknowledge(incident_id, person_id, login, lang, number, now)
        return [reply(incoming, body)]

    def button(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """A press of an alert's Acknowledge button (``v1:ack:<incident_id>``), or of an
        inform's Confirm receipt button (``v1:rc:<receipt_id>``)."""
        receipt_id = parse_receipt_callback(incoming.callback_data)
        if receipt_id is not None:
            return [self._confirm_receipt(incoming, receipt_id, now)]
        incident_id = parse_ack_callback(incoming.callback_data)
        with self.sessions() as session:
            person = linked_person(session, incoming.user_id)
            lang = language_for(incoming, person)
            if person is None:
                return [toast(incoming, text("refuse.unlinked", lang), alert=True)]
            incident = session.get(Incident, incident_id) if incident_id is not None else None
            if incident is None:
                return [toast(incoming, text("refuse.button", lang), alert=True)]
            caps = capabilities(session, person, now)
            number = incident.number
            if not (
                can_view(session, caps, incident) and can_acknowledge(session, caps, incident, now)
            ):
                return [toast(incoming, text("refuse.rights", lang, number=number), alert=True)]
            person_id, login = person.id, person.login
        body = self._acknowledge(incident.id, person_id, login, lang, number, now)
        return [toast(incoming, body, alert=False)]

    def duty(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/duty``: who is on duty now (escalation.telegram.duty_commands)."""
        return duty_commands.duty(self.sessions, incoming, now, tz=self.tz)

    def handoff(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/handoff``: acknowledge the sender's newest duty handoff (交接班)."""
        return duty_commands.handoff(self.sessions, incoming, now, tz=self.tz, explain=self.explain)

    def link_group(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/linkgroup role ROLE`` or ``/linkgroup department CODE``, by an administrator,
        in the group itself."""
        with self.sessions() as session, session.begin():
            person = linked_person(session, incoming.user_id)
            if person is None:
                return [refuse_unlinked(incoming)]
            lang = language_for(incoming, person)
            if not person.is_admin:
                return [reply(incoming, text("refuse.admin", lang))]
            usage = "/linkgroup role ROLE | /linkgroup department CODE"
            if incoming.private or len(incoming.args) != 2:
                return [reply(incoming, text("refuse.usage", lang, usage=usage))]
            what, value = incoming.args[0].lower(), incoming.args[1]
            role = value if what == "role" else None
            department = value if what in ("department", "dept") else None
            if role is None and department is None:
                return [reply(incoming, text("refuse.usage", lang, usage=usage))]
            actor = Actor(person.id, person.login, "telegram")
            try:
                # Validation happens before any write, so a refusal leaves nothing behind.
                group = link_group(
                    session,
                    chat_id=incoming.chat_id,
                    actor=actor,
                    now=now,
                    role=role,
                    department_code=department,
                    title=incoming.chat_title,
                    message_thread_id=incoming.message_thread_id,
                    language=lang,
                )
                target = self._group_target(session, group.role, group.department_id, lang)
            except ValidationError:
                return [reply(incoming, text("group.bad", lang, what=value))]
        return [reply(incoming, text("group.linked", lang, target=target))]

    @staticmethod
    def _group_target(
        session: Session, role: str | None, department_id: int | None, lang: str
    ) -> str:
        if role is not None:
            zh, en, _clause = ROLES[role]
            return text("group.role", lang, name=zh if lang == "zh_CN" else en)
        dept = session.get(Department, department_id)
        name = dept.label(lang) if dept is not None else str(department_id)
        return text("group.department", lang, name=name)

    # --- the use cases ------------------------------------------------------------------

    def _confirm_receipt(self, incoming: Incoming, receipt_id: int, now: datetime) -> Answer:
        """Only the receipt's own linked person confirms it (签收)."""
        from escalation.receipts import confirm

        with self.sessions() as session, session.begin():
            person = linked_person(session, incoming.user_id)
            lang = language_for(incoming, person)
            if person is None:
                return toast(incoming, text("refuse.unlinked", lang), alert=True)
            receipt = session.get(Receipt, receipt_id)
            if receipt is None:
                return toast(incoming, text("refuse.button", lang), alert=True)
            if receipt.person_id != person.id:
                return toast(incoming, text("receipt.refuse", lang), alert=True)
            actor = Actor(person.id, person.login, "telegram")
            result = confirm(session, receipt_id=receipt_id, actor=actor, via="telegram", now=now)
            if result.changed:
                return toast(incoming, text("receipt.done", lang), alert=False)
            at = result.receipt.confirmed_at
            when = local_time(at, self.tz, now) if at is not None else ""
            return toast(incoming, text("receipt.already", lang, when=when), alert=False)

    def _acknowledge(
        self, incident_id: int, person_id: int, login: str, lang: str, number: str, now: datetime
    ) -> str:
        from escalation.response import acknowledge

        actor = Actor(person_id, login, "telegram")
        try:
            with self.sessions() as session, session.begin():
                result = acknowledge(session, incident_id=incident_id, actor=actor, now=now)
                if result.changed:
                    return text("ack.done", lang, number=number)
                return self._already(session, result.incident, lang, now)
        except Conflict:
            with self.sessions() as session:
                incident = session.get(Incident, incident_id)
                assert incident is not None
                return self._already(session, incident, lang, now)
        except FenghuoError as exc:
            return html.escape(self.explain(exc, lang), quote=False)

    def _already(self, session: Session, incident: Incident, lang: str, now: datetime) -> str:
        chain = session.scalars(
            select(EscalationChain)
            .where(EscalationChain.incident_id == incident.id)
            .order_by(EscalationChain.generation.desc())
            .limit(1)
        ).first()
        at = chain.acknowledged_at if chain is not None else incident.acknowledged_at
        by = chain.acknowledged_by if chain is not None else incident.acknowledged_by
        if at is not None:
            who = by.name if by is not None else "—"
            return text(
                "ack.already",
                lang,
                number=incident.number,
                who=who,
                when=local_time(at, self.tz, now),
            )
        return text(
            "ack.closed", lang, number=incident.number, status=status_label(incident.status, lang)
        )


def _nearest_deadline(session: Session, incident_id: int) -> Deadline | None:
    from escalation import obligations

    ob = obligations.nearest_pending(session, incident_id)
    if ob is None or ob.due_at is None:
        return None
    return Deadline(ob.title_zh, ob.title_en, ob.due_at)
