"""JSON Schemas of the clocks as ``escalation.queries`` and ``escalation.stats`` build them:
the reports owed, the escalation state (chain, pages, delivery) and the figures.

Enums come from the escalation models and the policy's constants. The objects are closed,
so a field added there without being described here fails the API's schema tests.
"""

from __future__ import annotations

from app.api.schemas import DATETIME, GRADE, ID, INT, STR, Schema, array, enum, nullable, obj, ref
from config.policy import OBLIGATION_STARTS, REPORTER_CATEGORIES, UNTIL_CONDITIONS
from escalation.models import (
    NOTICE_KINDS,
    NOTIFICATION_STATUSES,
    OBLIGATION_STATUSES,
    TIMER_KINDS,
    TIMER_STATUSES,
)
from incidents.grading import GRADES

DURATION: Schema = {"type": "string", "description": "ISO 8601 duration, e.g. PT1H, P30D"}
COUNT: Schema = {"type": "integer", "minimum": 0}
SHARE: Schema = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": 1,
    "description": "a fraction; null when there is nothing to count",
}
SECONDS: Schema = {"type": ["number", "null"], "description": "seconds; null with no data"}
NULL_DATETIME = nullable(DATETIME)
CHAIN_REASONS = ("opened", "upgraded", "downgraded", "reopened")
STEP_FIELDS: dict[str, Schema] = {
    "after": DURATION,
    "notify": {**array(STR), "description": "position roles, relative roles or person:LOGIN"},
    "until": enum(
        (*UNTIL_CONDITIONS, "confirmed"),
        "confirmed: an inform step, running until each recipient confirms receipt",
    ),
    "repeat_every": DURATION,
    "repeat_max": {"type": "integer", "minimum": 1},
    "kind": enum(("page", "inform"), "page seeks a responder; inform tells leaders (签收)"),
    "confirm_within": {
        **DURATION,
        "description": "inform: unconfirmed this long after being told, the next person "
        "up and the deputy are told",
    },
    "groups": {**array(STR), "description": "group destinations (robots) told as well"},
}


def clock_schemas() -> dict[str, Schema]:
    """Obligations, the escalation state and the figures, as ``escalation.queries`` and
    ``escalation.stats`` build them."""
    who = nullable(ref("Who"))
    grade_figures = obj(
        {
            "open": COUNT,
            "unacknowledged": COUNT,
            "due_within_hour": {**COUNT, "description": "reports due in the next hour"},
            "breached": {**COUNT, "description": "reports missed and not yet filed"},
            "late": {**COUNT, "description": "reports filed after their deadline"},
            "reports_met": COUNT,
            "reports_on_time_share": SHARE,
        }
    )
    return {
        "Obligation": obj(
            {
                "id": ID,
                "name": STR,
                "to": {**STR, "description": "leading_group, cac, …"},
                "title_zh": STR,
                "title_en": STR,
                "from": enum(OBLIGATION_STARTS, "the event the window counts from"),
                "window": DURATION,
                "grade": GRADE,
                "due_at": {**NULL_DATETIME, "description": "null until its start event"},
                "fulfilled_at": NULL_DATETIME,
                "status": enum(OBLIGATION_STATUSES),
                "time_left_seconds": {
                    "type": ["number", "null"],
                    "description": "while pending; negative once overdue",
                },
                "late_reason": STR,
                "breached_at": NULL_DATETIME,
                "report_id": nullable(ID),
                "waived_reason": STR,
            }
        ),
        "Obligations": obj(
            {
                "items": array(ref("Obligation")),
                "reporting": obj(
                    {
                        "reported_as_required": {
                            "type": ["boolean", "null"],
                            "description": "5.1(a), 5.2(a), 5.3(a): false once any report "
                            "is late, missed or pending past its deadline; null while one is "
                            "still due in time",
                        },
                        "state": enum(("yes", "no", "not_yet_known")),
                        "late_or_missed": array(STR),
                        "still_due": array(STR),
                    }
                ),
                "handling": obj(
                    {
                        "handling_due_at": NULL_DATETIME,
                        "resolved_at": NULL_DATETIME,
                        "handled_promptly": {
                            "type": ["boolean", "null"],
                            "description": "5.2(c), 5.3(b), 5.4(b); null while undecided",
                        },
                    }
                ),
            }
        ),
        "Who": obj({"person_id": ID, "login": STR, "name": STR}),
        "FrozenPolicy": obj(
            {
                "handling_target": DURATION,
                "breach_notify": array(STR),
                "warn_at": array({"type": "number", "minimum": 0, "maximum": 1}),
                "obligations": array(
                    obj(
                        {
                            "name": STR,
                            "to": STR,
                            "within": {
                                "anyOf": [
                                    DURATION,
                                    obj({c: DURATION for c in REPORTER_CATEGORIES}),
                                ]
                            },
                            "from": enum(OBLIGATION_STARTS),
                            "title_zh": STR,
                            "title_en": STR,
                            "inform": {
                                **array(STR),
                                "description": "filing it informs these (each confirms)",
                            },
                            "confirm_within": DURATION,
                            "only_for": {
                                **array(enum(REPORTER_CATEGORIES)),
                                "description": "owed only by these reporter categories",
                            },
                            "loose_reason": {
                                **STR,
                                "description": "why a deadline looser than the CAC "
                                "measures is the bureau's choice",
                            },
                        },
                        required=(
                            "name",
                            "to",
                            "within",
                            "from",
                            "title_zh",
                            "title_en",
                            "inform",
                            "confirm_within",
                        ),
                    )
                ),
                "chain": array(obj(STEP_FIELDS, required=("after", "notify", "until"))),
            },
            description="the grade's policy as frozen into the incident",
        ),
        "DeliveryAttempt": obj(
            {
                "number": INT,
                "worker": STR,
                "started_at": DATETIME,
                "finished_at": NULL_DATETIME,
                "outcome": STR,
                "error": STR,
            }
        ),
        "NotificationState": obj(
            {
                "id": ID,
                "person_id": {**nullable(ID), "description": "null for a group destination"},
                "login": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                "channel": {**STR, "description": "inbox, console, telegram, email, …"},
                "kind": enum(NOTICE_KINDS),
                "status": enum(NOTIFICATION_STATUSES),
                "attempts": COUNT,
                "last_error": STR,
                "sent_at": NULL_DATETIME,
                "fallback_of_id": {**nullable(ID), "description": "sent instead of that one"},
                "fallbacks": {**array(ID), "description": "notifications sent instead of this"},
                "history": array(ref("DeliveryAttempt")),
                "reason": {
                    **STR,
                    "description": "why it is not delivered, as a code (unreachable, "
                    "refused, flood_wait, …); empty once sent",
                },
                "failing_since": {
                    **NULL_DATETIME,
                    "description": "the first failed attempt, while undelivered",
                },
                "delivered_instead": {
                    "type": ["string", "null"],
                    "description": "the channel that delivered the same notice instead",
                },
            }
        ),
        "TimerState": obj(
            {
                "id": ID,
                "kind": enum(
                    dict.fromkeys([*(k for k in TIMER_KINDS if k != "notice"), *NOTICE_KINDS])
                ),
                "due_at": DATETIME,
                "status": enum(TIMER_STATUSES),
                "fired_at": NULL_DATETIME,
                "cancelled_at": NULL_DATETIME,
                "cancel_reason": STR,
                "step": {"type": ["integer", "null"]},
                "repeat": {"type": ["integer", "null"]},
                "until": {"type": ["string", "null"]},
                "obligation_id": nullable(ID),
                "fraction": {"type": ["number", "null"]},
                "note": STR,
                "recipients": array(ref("Recipient")),
                "notifications": array(ref("NotificationState")),
            }
        ),
        "ChainState": obj(
            {
                "id": ID,
                "generation": INT,
                "grade": GRADE,
                "reason": enum(CHAIN_REASONS),
                "started_at": DATETIME,
                "acknowledged_at": NULL_DATETIME,
                "acknowledged_by": who,
                "ended_at": NULL_DATETIME,
                "end_reason": STR,
                "steps": array(
                    obj(
                        {**STEP_FIELDS, "index": INT, "timers": array(ref("TimerState"))},
                        required=("after", "notify", "until", "index", "timers"),
                    )
                ),
            }
        ),
        "EscalationState": obj(
            {
                "incident_id": ID,
                "grade": GRADE,
                "frozen": nullable(ref("FrozenPolicy")),
                "reporter_category": nullable(enum(REPORTER_CATEGORIES)),
                "acknowledged_at": NULL_DATETIME,
                "acknowledged_by": who,
                "current_chain_id": nullable(ID),
                "chains": array(ref("ChainState")),
                "alerts": {
                    **array(ref("TimerState")),
                    "description": "deadline warnings and breaches",
                },
                "notices": {
                    **array(ref("TimerState")),
                    "description": "acknowledged, resolved, reopened notices",
                },
                "delivery": obj({status: COUNT for status in NOTIFICATION_STATUSES}),
            }
        ),
        "Stats": obj(
            {
                "at": DATETIME,
                "timezone": STR,
                "grades": obj({grade: grade_figures for grade in GRADES}),
                "reports": obj(
                    {"met": COUNT, "late": COUNT, "missed": COUNT, "on_time_share": SHARE}
                ),
                "mean_time_to_acknowledge_seconds": {
                    **SECONDS,
                    "description": "from logging to acknowledgement",
                },
                "mean_time_to_resolve_seconds": {
                    **SECONDS,
                    "description": "from detection to resolution",
                },
                "handled_promptly": obj({"yes": COUNT, "no": COUNT, "share": SHARE}),
                "reported_as_required": obj(
                    {"yes": COUNT, "no": COUNT, "not_yet_known": COUNT},
                    description="incidents by 5.1(a)–5.3(a)'s fact, the rule of the "
                    "obligations endpoint",
                ),
                "today": obj(
                    {
                        "since": {**DATETIME, "description": "local midnight"},
                        "opened": COUNT,
                        "acknowledged": COUNT,
                        "resolved": COUNT,
                        "reports_filed": COUNT,
                        "breaches": COUNT,
                    }
                ),
            }
        ),
    }
