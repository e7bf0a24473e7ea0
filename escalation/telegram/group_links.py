"""Group chats: linking one to a role or a department, and following it when it moves.

A group linked to a role receives the alerts paging that role; one linked to a
department, the alerts for incidents it is responsible for. An operator links a group
from the command line; an administrator can link it from inside it (``/linkgroup``).
When Telegram turns a group into a supergroup its chat id changes, and every stored
reference follows (:func:`move_chat`). Every link and unlink is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalation.models import Destination
from escalation.telegram.models import TelegramGroup, TelegramLink
from escalation.telegram.person_links import CHANNEL_KIND
from incidents.audit import Actor, record
from incidents.errors import ValidationError
from incidents.org import ROLES, Department


def link_group(
    session: Session,
    *,
    chat_id: int,
    actor: Actor,
    now: datetime,
    role: str | None = None,
    department_code: str | None = None,
    title: str = "",
    message_thread_id: int | None = None,
    language: str = "zh_CN",
) -> TelegramGroup:
    """Link a group chat to a role (alerts paging that role) or to a department
    (alerts for incidents it is responsible for); re-linking changes the target."""
    if (role is None) == (department_code is None):
        raise ValidationError(
            "give exactly one of a role or a department",
            field="role",
            code="role.give_exactly_role_department",
        )
    if chat_id >= 0:
        raise ValidationError(
            "group chat ids are negative (e.g. -100…)",
            field="chat_id",
            code="chat_id.group_chat_ids_negative",
        )
    department_id: int | None = None
    if role is not None and role not in ROLES:
        raise ValidationError(
            "unknown role %(role)r; one of %(choices)s",
            field="role",
            code="role.unknown_role",
            params={"role": role, "choices": ", ".join(ROLES)},
        )
    if department_code is not None:
        dept = session.scalars(select(Department).where(Department.code == department_code)).first()
        if dept is None:
            raise ValidationError(
                "no department %(department_code)r",
                field="department",
                code="department.no_department",
                params={"department_code": department_code},
            )
        department_id = dept.id
    group = session.scalars(select(TelegramGroup).where(TelegramGroup.chat_id == chat_id)).first()
    if group is None:
        group = TelegramGroup(chat_id=chat_id, linked_at=now)
        session.add(group)
    group.role, group.department_id = role, department_id
    group.title = title[:200] or group.title or ""
    group.message_thread_id = message_thread_id
    group.language = language if language in ("zh_CN", "en") else "zh_CN"
    group.enabled, group.disabled_reason = True, ""
    group.linked_at, group.linked_by_id = now, actor.person_id
    session.flush()
    record(
        session,
        actor=actor,
        kind="telegram.group_linked",
        subject_type="telegram_group",
        subject_id=group.id,
        data={"chat_id": chat_id, "role": role, "department": department_code, "title": title},
        now=now,
    )
    return group


def unlink_group(session: Session, *, chat_id: int, actor: Actor, now: datetime) -> bool:
    group = session.scalars(select(TelegramGroup).where(TelegramGroup.chat_id == chat_id)).first()
    if group is None:
        return False
    record(
        session,
        actor=actor,
        kind="telegram.group_unlinked",
        subject_type="telegram_group",
        subject_id=group.id,
        data={"chat_id": chat_id},
        now=now,
    )
    session.delete(group)
    session.flush()
    return True


def move_chat(session: Session, *, old_chat_id: int, new_chat_id: int, now: datetime) -> None:
    """A group became a supergroup (``migrate_to_chat_id``): follow it everywhere."""
    old, new = str(old_chat_id), str(new_chat_id)
    session.execute(
        update(Destination)
        .where(Destination.kind == CHANNEL_KIND, Destination.address == old)
        .values(address=new, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TelegramGroup)
        .where(TelegramGroup.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TelegramLink)
        .where(TelegramLink.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
