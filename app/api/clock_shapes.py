"""The clocks' shapes as ``escalation.queries`` and ``escalation.stats`` build them: the
reports owed, the escalation state (chain, pages, delivery) and the figures, as models.

Enums come from the escalation models and the policy's constants. The models are closed,
so a field added there without being described here fails the API's tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, create_model

from app.api.contract import Id, Out, enum_of, one_of, unlisted
from app.api.shapes import Count, Grade
from config.policy import OBLIGATION_STARTS, REPORTER_CATEGORIES, UNTIL_CONDITIONS
from escalation.models import (
    NOTICE_KINDS,
    NOTIFICATION_STATUSES,
    OBLIGATION_STATUSES,
    TIMER_KINDS,
    TIMER_STATUSES,
)
from incidents.grading import GRADES

Duration = Annotated[str, Field(description="ISO 8601 duration, e.g. PT1H, P30D")]
Share = Annotated[
    float | None, Field(ge=0, le=1, description="a fraction; null when there is nothing to count")
]
Seconds = Annotated[float | None, Field(description="seconds; null with no data")]
CHAIN_REASONS = ("opened", "upgraded", "downgraded", "reopened")
_STARTS = list(OBLIGATION_STARTS)
_CATEGORIES = list(REPORTER_CATEGORIES)
_UNTIL = [*UNTIL_CONDITIONS, "confirmed"]
_TIMER_KINDS = list(dict.fromkeys([*(k for k in TIMER_KINDS if k != "notice"), *NOTICE_KINDS]))
Start = Annotated[str, one_of(_STARTS), enum_of(_STARTS, "the event the window counts from")]
ReporterCategory = Annotated[str, one_of(_CATEGORIES), enum_of(_CATEGORIES)]
DeliveryStatus = Annotated[str, one_of(NOTIFICATION_STATUSES), enum_of(NOTIFICATION_STATUSES)]


class GradeFigures(Out):
    open: Count
    unacknowledged: Count
    due_within_hour: Count = Field(description="reports due in the next hour")
    breached: Count = Field(description="reports missed and not yet filed")
    late: Count = Field(description="reports filed after their deadline")
    reports_met: Count
    reports_on_time_share: Share


# Objects keyed by the constants' values, generated so that a grade, a reporter category or
# a delivery status added there is described here; to the type checker, plain models.
if TYPE_CHECKING:

    class Windows(Out): ...

    class DeliveryCounts(Out): ...

    class GradeTable(Out): ...

else:
    Windows = create_model(
        "Windows", __base__=Out, **{c: (Duration, ...) for c in REPORTER_CATEGORIES}
    )
    DeliveryCounts = create_model(
        "DeliveryCounts", __base__=Out, **{s: (Count, ...) for s in NOTIFICATION_STATUSES}
    )
    GradeTable = create_model(
        "GradeTable", __base__=Out, **{g: (GradeFigures, ...) for g in GRADES}
    )


class Obligation(Out):
    id: Id
    name: str
    to: str = Field(description="leading_group, cac, …")
    title_zh: str
    title_en: str
    from_: Start = Field(alias="from")
    window: Duration
    grade: Grade
    due_at: datetime | None = Field(description="null until its start event")
    fulfilled_at: datetime | None
    status: Annotated[str, one_of(OBLIGATION_STATUSES), enum_of(OBLIGATION_STATUSES)]
    time_left_seconds: float | None = Field(description="while pending; negative once overdue")
    late_reason: str
    breached_at: datetime | None
    report_id: Id | None
    waived_reason: str


class ReportingOutcome(Out):
    reported_as_required: bool | None = Field(
        description="5.1(a), 5.2(a), 5.3(a): false once any report is late, missed or pending "
        "past its deadline; null while one is still due in time"
    )
    state: Annotated[
        str, one_of(("yes", "no", "not_yet_known")), enum_of(("yes", "no", "not_yet_known"))
    ]
    late_or_missed: list[str]
    still_due: list[str]


class HandlingOutcome(Out):
    handling_due_at: datetime | None
    resolved_at: datetime | None
    handled_promptly: bool | None = Field(
        description="5.2(c), 5.3(b), 5.4(b); null while undecided"
    )


class Obligations(Out):
    items: list[Obligation]
    reporting: ReportingOutcome
    handling: HandlingOutcome


class Who(Out):
    person_id: Id
    login: str
    name: str


class FrozenObligation(Out):
    name: str
    to: str
    within: Duration | Windows
    from_: Start = Field(alias="from")
    title_zh: str
    title_en: str
    inform: list[str] = Field(description="filing it informs these (each confirms)")
    confirm_within: Duration
    only_for: list[ReporterCategory] = Field(
        [], description="owed only by these reporter categories", json_schema_extra=unlisted
    )
    loose_reason: str = Field(
        "",
        description="why a deadline looser than the CAC measures is the bureau's choice",
        json_schema_extra=unlisted,
    )


class StepFields(Out):
    after: Duration
    notify: list[str] = Field(description="position roles, relative roles or person:LOGIN")
    until: Annotated[
        str,
        one_of(_UNTIL),
        enum_of(_UNTIL, "confirmed: an inform step, running until each recipient confirms receipt"),
    ]
    repeat_every: Duration = Field("", json_schema_extra=unlisted)
    repeat_max: int = Field(1, ge=1, json_schema_extra=unlisted)
    kind: Annotated[
        str,
        one_of(("page", "inform")),
        enum_of(("page", "inform"), "page seeks a responder; inform tells leaders (签收)"),
    ] = Field("page", json_schema_extra=unlisted)
    confirm_within: Duration = Field(
        "",
        description="inform: unconfirmed this long after being told, the next person up and "
        "the deputy are told",
        json_schema_extra=unlisted,
    )
    groups: list[str] = Field(
        [], description="group destinations (robots) told as well", json_schema_extra=unlisted
    )


class FrozenStep(StepFields):
    pass


class FrozenPolicy(Out):
    """The grade's policy as frozen into the incident."""

    handling_target: Duration
    breach_notify: list[str]
    warn_at: list[Annotated[float, Field(ge=0, le=1)]]
    obligations: list[FrozenObligation]
    chain: list[FrozenStep]


class DeliveryAttempt(Out):
    number: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    error: str


class NotificationState(Out):
    id: Id
    person_id: Id | None = Field(description="null for a group destination")
    login: str | None
    name: str | None
    channel: str = Field(description="inbox, console, telegram, email, …")
    kind: Annotated[str, one_of(NOTICE_KINDS), enum_of(NOTICE_KINDS)]
    status: DeliveryStatus
    attempts: Count
    last_error: str
    sent_at: datetime | None
    fallback_of_id: Id | None = Field(description="sent instead of that one")
    fallbacks: list[Id] = Field(description="notifications sent instead of this")
    history: list[DeliveryAttempt]
    reason: str = Field(
        description="why it is not delivered, as a code (unreachable, refused, flood_wait, …); "
        "empty once sent"
    )
    failing_since: datetime | None = Field(
        description="the first failed attempt, while undelivered"
    )
    delivered_instead: str | None = Field(
        description="the channel that delivered the same notice instead"
    )


class TimerRecipient(Out):
    """``person_id`` null: the target resolved to nobody when it fired."""

    target: str = Field(description="the role or person:LOGIN of the step")
    person_id: Id | None
    login: str | None
    fallback: str | None = Field(
        None,
        description="the position paged instead, when the target was a roster with nobody on duty",
        json_schema_extra=unlisted,
    )


class TimerState(Out):
    id: Id
    kind: Annotated[str, one_of(_TIMER_KINDS), enum_of(_TIMER_KINDS)]
    due_at: datetime
    status: Annotated[str, one_of(TIMER_STATUSES), enum_of(TIMER_STATUSES)]
    fired_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    step: int | None
    repeat: int | None
    until: str | None
    obligation_id: Id | None
    fraction: float | None
    note: str
    recipients: list[TimerRecipient]
    notifications: list[NotificationState]


class ChainStep(StepFields):
    index: int
    timers: list[TimerState]


class ChainState(Out):
    id: Id
    generation: int
    grade: Grade
    reason: Annotated[str, one_of(CHAIN_REASONS), enum_of(CHAIN_REASONS)]
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: Who | None
    ended_at: datetime | None
    end_reason: str
    steps: list[ChainStep]


class EscalationState(Out):
    incident_id: Id
    grade: Grade
    frozen: FrozenPolicy | None
    reporter_category: ReporterCategory | None
    acknowledged_at: datetime | None
    acknowledged_by: Who | None
    current_chain_id: Id | None
    chains: list[ChainState]
    alerts: list[TimerState] = Field(description="deadline warnings and breaches")
    notices: list[TimerState] = Field(description="acknowledged, resolved, reopened notices")
    delivery: DeliveryCounts


class ReportFigures(Out):
    met: Count
    late: Count
    missed: Count
    on_time_share: Share


class PromptFigures(Out):
    yes: Count
    no: Count
    share: Share


class RequiredFigures(Out):
    """Incidents by 5.1(a)–5.3(a)'s fact, the rule of the obligations endpoint."""

    yes: Count
    no: Count
    not_yet_known: Count


class Today(Out):
    since: datetime = Field(description="local midnight")
    opened: Count
    acknowledged: Count
    resolved: Count
    reports_filed: Count
    breaches: Count


class Stats(Out):
    at: datetime
    timezone: str
    grades: GradeTable
    reports: ReportFigures
    mean_time_to_acknowledge_seconds: Seconds = Field(description="from logging to acknowledgement")
    mean_time_to_resolve_seconds: Seconds = Field(description="from detection to resolution")
    handled_promptly: PromptFigures
    reported_as_required: RequiredFigures
    today: Today
