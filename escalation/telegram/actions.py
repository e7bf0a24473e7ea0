"""What the bot does for each command and button press: checked, then the use case.

Both faces of the bot use this module: the polling process (``fenghuo bot``, through
``asyncio.to_thread``) and the webhook route in the web process. Each function takes
an :class:`Incoming` (who, where, what) and returns the :class:`Answer` list the bot
owes: Bot API calls with their parameters, which the polling bot makes at once and the
webhook route queues for the worker's sender.

Every command and press is checked before anything changes: the sender must be a
linked, active person; acting on an incident needs the right to see it and, for
``/ack`` and the button, the right to acknowledge it (``incidents.permissions``).
Anyone else gets a polite refusal and the database is left as it was. Acknowledging
calls ``escalation.response.acknowledge`` — the use case the web calls — with the actor
source ``telegram``, so the audit chain says where it came from.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from escalation.models import EscalationChain
from escalation.telegram import linking
from escalation.telegram.messages import (
    GRADE_MARKS,
    Deadline,
    deadline_line,
    grade_label,
    incident_url,
    language_of,
    local_time,
    parse_ack_callback,
    status_label,
    text,
    title_of,
)
from incidents.audit import Actor
from incidents.errors import Conflict, FenghuoError, ValidationError
from incidents.models import CATEGORIES, Incident
from incidents.org import ROLES, Department, Person
from incidents.permissions import Capabilities, can_acknowledge, can_view, capabilities
from incidents.queries import IncidentFilter, list_incidents

LIST_LIMIT = 20
_NUMBER = re.compile(r"(?:FH-?)?(?:(\d{4})-)?0*(\d{1,9})", re.IGNORECASE)


@dataclass(frozen=True)
class Incoming:
    """The parts of a Telegram update the bot acts on."""

    user_id: int
    chat_id: int
    chat_type: str
    username: str = ""
    language_code: str | None = None
    chat_title: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    callback_query_id: str | None = None
    callback_data: str | None = None
    message_thread_id: int | None = None

    @property
    def private(self) -> bool:
        return self.chat_type == "private"


@dataclass(frozen=True)
class Answer:
    """One Bot API call the bot owes: ``method`` with its JSON-able ``params``."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


def incoming_from(update: Update, bot_username: str | None = None) -> Incoming | None:
    """Read an update; None when it is nothing the bot answers (no user, no command)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    common: dict[str, Any] = {
        "user_id": user.id,
        "chat_id": chat.id,
        "chat_type": chat.type,
        "username": user.username or "",
        "language_code": user.language_code,
        "chat_title": chat.title or "",
    }
    query = update.callback_query
    if query is not None:
        return Incoming(**common, callback_query_id=query.id, callback_data=query.data)
    message = update.effective_message
    if message is None or not message.text:
        return None
    common["message_thread_id"] = message.message_thread_id if message.is_topic_message else None
    words = message.text.split()
    if not words or not words[0].startswith("/"):
        return Incoming(**common)
    command, _, target = words[0][1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None  # a command for another bot in the same group
    return Incoming(**common, command=command.lower(), args=tuple(words[1:]))


def _reply(incoming: Incoming, body: str) -> Answer:
    params: dict[str, Any] = {
        "chat_id": incoming.chat_id,
        "text": body,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if incoming.message_thread_id is not None:
        params["message_thread_id"] = incoming.message_thread_id
    return Answer("sendMessage", params)


def _toast(incoming: Incoming, body: str, *, alert: bool) -> Answer:
    # Button answers are plain text (no HTML) of at most 200 characters.
    plain = html.unescape(re.sub(r"<[^>]+>", "", body))[:200]
    return Answer(
        "answerCallbackQuery",
        {"callback_query_id": incoming.callback_query_id, "text": plain, "show_alert": alert},
    )


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
    ) -> None:
        self.sessions = sessions
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
        }.get(incoming.command or "")
        if handler is not None:
            return handler(incoming, now)
        if incoming.private:
            return self.help(incoming, now)
        return []  # plain chatter in a group is none of the bot's business

    # --- helpers ------------------------------------------------------------------------

    def _language(self, incoming: Incoming, person: Person | None) -> str:
        if person is not None:
            return language_of(person.language)
        code = (incoming.language_code or "").lower()
        return "en" if code.startswith("en") else "zh_CN"

    def _find(self, session: Session, ref: str, now: datetime) -> Incident | None:
        match = _NUMBER.fullmatch(ref.strip())
        if match is None:
            return None
        year, seq = match.group(1), int(match.group(2))
        stmt = select(Incident).where(Incident.seq == seq)
        if year is not None:
            stmt = stmt.where(Incident.year == int(year))
        return session.scalars(stmt.order_by(Incident.year.desc()).limit(1)).first()

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
            return [_reply(incoming, text("start.private", self._language(incoming, None)))]
        try:
            with self.sessions() as session, session.begin():
                person = linking.redeem(
                    session,
                    code=incoming.args[0],
                    telegram_user_id=incoming.user_id,
                    chat_id=incoming.chat_id,
                    username=incoming.username,
                    now=now,
                )
                lang, name, login = language_of(person.language), person.name, person.login
        except ValidationError:
            return [_reply(incoming, text("start.bad", self._language(incoming, None)))]
        return [_reply(incoming, text("start.ok", lang, name=name, login=login))]

    def help(self, incoming: Incoming, now: datetime) -> list[Answer]:
        with self.sessions() as session:
            person = linking.linked_person(session, incoming.user_id)
            lang = self._language(incoming, person)
        if not incoming.private:
            return [_reply(incoming, text("help.group", lang, chat_id=incoming.chat_id))]
        return [_reply(incoming, text("help" if person else "help.unlinked", lang))]

    def incidents(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/incidents``: the open incidents the person may see, newest first."""
        with self.sessions() as session:
            person = linking.linked_person(session, incoming.user_id)
            if person is None:
                return [self._refuse_unlinked(incoming)]
            lang = self._language(incoming, person)
            caps = capabilities(session, person, now)
            page = list_incidents(
                session, caps, IncidentFilter(open_only=True), limit=LIST_LIMIT, with_total=True
            )
            if not page.items:
                return [_reply(incoming, text("incidents.none", lang))]
            lines = [text("incidents.head", lang, count=page.total or len(page.items))]
            lines += [self._line(i, lang) for i in page.items]
            more = (page.total or 0) - len(page.items)
            if more > 0:
                lines.append(text("incidents.more", lang, count=more))
        return [_reply(incoming, "\n".join(lines))]

    def status(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/status <number>``: state, acknowledgement and the nearest deadline."""
        with self.sessions() as session:
            found = self._checked(session, incoming, now, "/status FH-2026-0007")
            if isinstance(found, Answer):
                return [found]
            incident, person, _caps = found
            lang = self._language(incoming, person)
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
        return [_reply(incoming, "\n".join(lines))]

    def ack(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/ack <number>``: acknowledge, if the sender may."""
        with self.sessions() as session:
            found = self._checked(session, incoming, now, "/ack FH-2026-0007")
            if isinstance(found, Answer):
                return [found]
            incident, person, caps = found
            lang = self._language(incoming, person)
            number = incident.number
            if not can_acknowledge(session, caps, incident, now):
                return [_reply(incoming, text("refuse.rights", lang, number=number))]
            incident_id, person_id, login = incident.id, person.id, person.login
        body = self._acknowledge(incident_id, person_id, login, lang, number, now)
        return [_reply(incoming, body)]

    def button(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """A press of an alert's Acknowledge button (``v1:ack:<incident_id>``)."""
        incident_id = parse_ack_callback(incoming.callback_data)
        with self.sessions() as session:
            person = linking.linked_person(session, incoming.user_id)
            lang = self._language(incoming, person)
            if person is None:
                return [_toast(incoming, text("refuse.unlinked", lang), alert=True)]
            incident = session.get(Incident, incident_id) if incident_id is not None else None
            if incident is None:
                return [_toast(incoming, text("refuse.button", lang), alert=True)]
            caps = capabilities(session, person, now)
            number = incident.number
            if not (
                can_view(session, caps, incident) and can_acknowledge(session, caps, incident, now)
            ):
                return [_toast(incoming, text("refuse.rights", lang, number=number), alert=True)]
            person_id, login = person.id, person.login
        body = self._acknowledge(incident.id, person_id, login, lang, number, now)
        return [_toast(incoming, body, alert=False)]

    def link_group(self, incoming: Incoming, now: datetime) -> list[Answer]:
        """``/linkgroup role ROLE`` or ``/linkgroup department CODE``, by an administrator,
        in the group itself."""
        with self.sessions() as session, session.begin():
            person = linking.linked_person(session, incoming.user_id)
            if person is None:
                return [self._refuse_unlinked(incoming)]
            lang = self._language(incoming, person)
            if not person.is_admin:
                return [_reply(incoming, text("refuse.admin", lang))]
            usage = "/linkgroup role ROLE | /linkgroup department CODE"
            if incoming.private or len(incoming.args) != 2:
                return [_reply(incoming, text("refuse.usage", lang, usage=usage))]
            what, value = incoming.args[0].lower(), incoming.args[1]
            role = value if what == "role" else None
            department = value if what in ("department", "dept") else None
            if role is None and department is None:
                return [_reply(incoming, text("refuse.usage", lang, usage=usage))]
            actor = Actor(person.id, person.login, "telegram")
            try:
                # Validation happens before any write, so a refusal leaves nothing behind.
                group = linking.link_group(
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
                return [_reply(incoming, text("group.bad", lang, what=value))]
        return [_reply(incoming, text("group.linked", lang, target=target))]

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

    # --- shared checks and the use case ------------------------------------------------

    def _refuse_unlinked(self, incoming: Incoming) -> Answer:
        return _reply(incoming, text("refuse.unlinked", self._language(incoming, None)))

    def _checked(
        self, session: Session, incoming: Incoming, now: datetime, usage: str
    ) -> tuple[Incident, Person, Capabilities] | Answer:
        """The incident named in the command, if the linked sender may see it."""
        person = linking.linked_person(session, incoming.user_id)
        if person is None:
            return self._refuse_unlinked(incoming)
        lang = self._language(incoming, person)
        if len(incoming.args) != 1:
            return _reply(incoming, text("refuse.usage", lang, usage=usage))
        incident = self._find(session, incoming.args[0], now)
        caps = capabilities(session, person, now)
        if incident is None or not can_view(session, caps, incident):
            # The same answer whether it does not exist or may not be seen: no leak.
            return _reply(incoming, text("refuse.unknown", lang, number=incoming.args[0]))
        return incident, person, caps

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
            return html.escape(exc.message)

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
