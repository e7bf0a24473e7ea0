"""The clocks' tables: frozen policy per incident, obligations, chains, timers, the outbox.

- ``incident_clock`` — one row per incident: the grade's policy frozen at open (or at
  the last regrade), the reporter category and time zone it was read with, and the
  handling target with its outcome ("handled promptly", 5.2(c), 5.3(b), 5.4(b)).
- ``obligation`` — one row per report owed (``due_at``, ``fulfilled_at``, status
  ``pending | met | late | missed | waived``).
- ``escalation_chain`` — one row per run of a chain (opened, upgraded, downgraded,
  reopened), with its steps frozen and its own acknowledgement.
- ``timer`` — every scheduled firing: chain steps (one row per repeat), deadline
  warnings and breaches, and immediate notices. Indexed on ``due_at`` where pending, so
  a sweep costs the same among a thousand or a million waiting timers.
- ``destination`` — where a person can be reached, per channel kind (the in-app inbox
  needs no row). A row without a person reaches everyone (the console in demos).
- ``notification`` — the outbox: one row per (timer, person, channel), unique, written
  in the transaction that fires the timer. ``delivery_attempt`` records every try.
- ``inbox_item`` — what the in-app inbox channel delivered.
- ``receipt`` — one row per (inform, person): a leader told of an incident by an inform
  step, or of a filed report; when they were told, when and how they confirmed (签收),
  and whether it went one up for want of a confirmation.
- ``heartbeat`` — one row per running worker and bot, and per channel's health as the
  senders see it: what the dashboard, ``/readyz`` and ``/metrics`` read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents import reports  # noqa: F401  (the report table that obligations point at)
from incidents.db import Base, UTCDateTime
from incidents.org import Person

OBLIGATION_STATUSES = ("pending", "met", "late", "missed", "waived")
# An obligation counts as fulfilled (no more alerts, nothing owed) in these states.
FULFILLED = ("met", "late", "waived")
TIMER_KINDS = ("step", "warning", "breach", "notice", "receipt")
TIMER_STATUSES = ("pending", "fired", "cancelled")
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed")
NOTICE_KINDS = (
    "step",
    "inform",
    "report",
    "warning",
    "breach",
    "acknowledged",
    "resolved",
    "reopened",
    "case",
)
RECEIPT_SOURCES = ("step", "report", "escalated")

# The partial indexes' conditions are literals in the queries too: a bound parameter
# would keep SQLite (and PostgreSQL's generic plans) from using them.
PENDING_TIMER = "status = 'pending'"
RUNNING_CHAIN = "ended_at IS NULL"
WAITING_CHAIN = f"{RUNNING_CHAIN} AND acknowledged_at IS NULL"  # the dashboard's unacknowledged
PENDING_OBLIGATION = "status = 'pending'"
MISSED_OBLIGATION = "status = 'missed'"
QUEUED_NOTIFICATION = "status IN ('pending', 'sending')"
LEASED_NOTIFICATION = "status = 'sending'"
AWAITING_FALLBACK = "fallback_since IS NOT NULL"


class IncidentClock(Base):
    __tablename__ = "incident_clock"
    __table_args__ = (Index("ix_clock_handled_promptly", "handled_promptly"),)

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    grade: Mapped[str] = mapped_column(String(32))
    # GradePolicy.to_dict() of ``grade``, as it was when frozen; never the live policy.
    snapshot_json: Mapped[str] = mapped_column(Text)
    reporter_category: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    handling_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # None while unresolved; then whether resolution came by handling_due_at.
    handled_promptly: Mapped[bool | None] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def snapshot(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.snapshot_json)
        return loaded


class EscalationChain(Base):
    __tablename__ = "escalation_chain"
    __table_args__ = (
        UniqueConstraint("incident_id", "generation", name="uq_chain_generation"),
        Index(
            "ix_chain_running",
            "incident_id",
            "acknowledged_at",
            sqlite_where=text(RUNNING_CHAIN),
            postgresql_where=text(RUNNING_CHAIN),
        ),
        Index(
            "ix_chain_waiting",
            "incident_id",
            sqlite_where=text(WAITING_CHAIN),
            postgresql_where=text(WAITING_CHAIN),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(32))
    # ChainStep.to_dict() of every step, frozen.
    steps_json: Mapped[str] = mapped_column(Text)
    # opened | upgraded | downgraded | reopened
    reason: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str] = mapped_column(String(200), default="")

    acknowledged_by: Mapped[Person | None] = relationship()

    @property
    def steps(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.steps_json)
        return loaded


class Obligation(Base):
    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("incident_id", "name", name="uq_obligation_name"),
        Index(
            "ix_obligation_pending_due",
            "due_at",
            "incident_id",
            "id",
            sqlite_where=text(PENDING_OBLIGATION),
            postgresql_where=text(PENDING_OBLIGATION),
        ),
        Index(
            "ix_obligation_missed",
            "due_at",
            "id",
            "incident_id",
            sqlite_where=text(MISSED_OBLIGATION),
            postgresql_where=text(MISSED_OBLIGATION),
        ),
        Index("ix_obligation_breached", "breached_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    to: Mapped[str] = mapped_column(String(40))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    # detected | resolved: the event the window is counted from.
    start: Mapped[str] = mapped_column(String(16))
    # The window as an ISO 8601 duration, as the policy gave it.
    window: Mapped[str] = mapped_column(String(32))
    # The grade whose policy set the current deadline.
    grade: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    late_reason: Mapped[str] = mapped_column(Text, default="")
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waived_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Timer(Base):
    __tablename__ = "timer"
    __table_args__ = (
        Index(
            "ix_timer_due_pending",
            "due_at",
            "id",
            sqlite_where=text(PENDING_TIMER),
            postgresql_where=text(PENDING_TIMER),
        ),
        Index("ix_timer_incident", "incident_id", "kind"),
        Index("ix_timer_chain", "chain_id", "step_index"),
        Index("ix_timer_obligation", "obligation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Steps: the chain, the step's index and the repeat (0 = first page), the stop condition.
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_chain.id"))
    step_index: Mapped[int | None] = mapped_column(Integer)
    repeat_index: Mapped[int | None] = mapped_column(Integer)
    until: Mapped[str | None] = mapped_column(String(16))
    # Warnings and breaches: the obligation, and for warnings the fraction of the window.
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligation.id"))
    fraction: Mapped[float | None] = mapped_column(Float)
    # Receipt timers: the receipt whose confirmation is awaited (escalated if still none).
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))
    # Notices: what happened (acknowledged | resolved | reopened | case | fallback).
    notice: Mapped[str | None] = mapped_column(String(16))
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    # Who the targets resolved to when it fired: [{"target", "person_id", "login"}].
    recipients_json: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def recipients(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.recipients_json or "[]")
        return loaded


class Destination(Base):
    __tablename__ = "destination"
    __table_args__ = (
        UniqueConstraint("person_id", "kind", "address", name="uq_destination_address"),
        Index("ix_destination_kind", "kind", "enabled"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: every person is reached here (a broadcast destination such as the console).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200), default="")
    # A person's destinations are tried in this order, lowest first (then by id).
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Group robots: the signing secret (DingTalk, Feishu); never shown after it is set.
    secret: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # Never two notifications for one (timer, person, channel): the last line of
        # defence behind the sweep's row locks.
        UniqueConstraint("timer_id", "person_id", "channel", name="uq_notification_once"),
        Index(
            "ix_notification_queue",
            "next_attempt_at",
            "id",
            sqlite_where=text(QUEUED_NOTIFICATION),
            postgresql_where=text(QUEUED_NOTIFICATION),
        ),
        Index("ix_notification_incident", "incident_id", "id"),
        Index("ix_notification_person", "person_id", "id"),
        # A group destination (no person) gets a timer's notice once.
        Index(
            "uq_notification_group",
            "timer_id",
            "destination_id",
            unique=True,
            sqlite_where=text("person_id IS NULL"),
            postgresql_where=text("person_id IS NULL"),
        ),
        Index("ix_notification_receipt", "receipt_id"),
        # Rows in flight, so a lapsed lease is taken over before the backlog (outbox).
        Index(
            "ix_notification_leased",
            "next_attempt_at",
            "id",
            sqlite_where=text(LEASED_NOTIFICATION),
            postgresql_where=text(LEASED_NOTIFICATION),
        ),
        # Rows whose fallback clock runs (escalation.handover).
        Index(
            "ix_notification_fallback",
            "fallback_since",
            "id",
            sqlite_where=text(AWAITING_FALLBACK),
            postgresql_where=text(AWAITING_FALLBACK),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    timer_id: Mapped[int] = mapped_column(ForeignKey("timer.id", ondelete="CASCADE"))
    # None for a group destination (a robot posting into a group chat).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(32))
    destination_id: Mapped[int | None] = mapped_column(ForeignKey("destination.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Pending: when it may be tried; sending: when the lease lapses.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(40))
    leased_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str | None] = mapped_column(String(200))
    fallback_of_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    # When this person's notice started waiting here; still unsent ``fallback_after``
    # later, the next destination (or person) is given it. NULL once sent or handed on,
    # and for rows that never hand on (inbox, broadcast, group destinations).
    fallback_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An inform's notice: the receipt the recipient confirms (button, link).
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))
    # Message facts frozen at firing: number, grade, title, deadline… (JSON).
    payload_json: Mapped[str] = mapped_column(Text)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.payload_json)
        return loaded


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempt"
    __table_args__ = (Index("ix_delivery_attempt_notification", "notification_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(120))
    lease_token: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # sending (in flight) | sent | temporary | permanent | lease_expired | skipped
    outcome: Mapped[str] = mapped_column(String(16), default="sending")
    error: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(200))


class InboxItem(Base):
    __tablename__ = "inbox_item"
    __table_args__ = (Index("ix_inbox_item_person", "person_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    # One item per notification, however often delivery is retried.
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), unique=True
    )
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Receipt(Base):
    """A leader informed (an inform step, a filed report, or one up for want of a
    confirmation) and their own confirmation of receipt (签收/已阅)."""

    __tablename__ = "receipt"
    __table_args__ = (
        UniqueConstraint("key", name="uq_receipt_key"),
        Index("ix_receipt_incident", "incident_id", "id"),
        Index("ix_receipt_person_open", "person_id", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # step | report | escalated
    source: Mapped[str] = mapped_column(String(16))
    # What makes it one per person: step:<chain>:<step>:<person>, report:<report>:<person>…
    key: Mapped[str] = mapped_column(String(120))
    # The target that named them: a role, next_up or deputy (who they stand in for).
    target: Mapped[str] = mapped_column(String(64), default="")
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_chain.id"))
    step_index: Mapped[int | None] = mapped_column(Integer)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    escalated_from_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))
    confirm_within: Mapped[str] = mapped_column(String(32), default="PT15M")
    informed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # web | api | telegram | email
    confirmed_via: Mapped[str] = mapped_column(String(16), default="")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class Heartbeat(Base):
    """A process (``worker``, ``bot``) or a channel (``channel``) saying how it is.

    Processes beat every round; a channel's row says whether its last sends worked and,
    while they fail, since when — in plain words the dashboard can show (``detail``).
    """

    __tablename__ = "heartbeat"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    # worker | bot | channel
    kind: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(120), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A short reason code (unreachable, refused, flood_wait, starting…), never exception text.
    detail: Mapped[str] = mapped_column(String(200), default="")


BULLETIN_KINDS = ("account", "checkpoint", "handoff")
BULLETIN_STATUSES = ("pending", "sending", "sent", "failed")
QUEUED_BULLETIN = "status IN ('pending', 'sending')"


class Bulletin(Base):
    """A notice about no incident, to one address (escalation.bulletins).

    ``account``: the person's Telegram account changed (told on their other channels);
    ``checkpoint``: the day's audit checkpoint, to the leading group office; ``handoff``:
    a duty handoff. Channel and address are copied when written; ``key`` makes the
    notice once-only per address.
    """

    __tablename__ = "bulletin"
    __table_args__ = (
        UniqueConstraint("key", "channel", "address", name="uq_bulletin_once"),
        Index(
            "ix_bulletin_queue",
            "next_attempt_at",
            "id",
            sqlite_where=text(QUEUED_BULLETIN),
            postgresql_where=text(QUEUED_BULLETIN),
        ),
        Index("ix_bulletin_person", "person_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(120))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    destination_id: Mapped[int | None] = mapped_column(
        ForeignKey("destination.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    link_path: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Pending: when it may be tried; sending: when the claim lapses.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
