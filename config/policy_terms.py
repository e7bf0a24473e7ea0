"""The words a policy may use: grades, reporter categories and whom a step may page.

These are the closed vocabularies of the policy file (``docs/policy.md`` gives each its
clause); :func:`read_recipients` checks a ``notify`` or ``breach_notify`` list against
them. Obligation names and destinations are open: any identifier is allowed.
"""

from __future__ import annotations

import re
from typing import Literal

from config.policy_checks import PolicyError, describe, read_list

GRADES = ("general", "relatively_major", "major", "especially_major")
# CAC measures 2025 Art. 4: the external deadline depends on who reports, not on the grade.
REPORTER_CATEGORIES = ("cii", "central", "local")
# Positions in the organisation a step can page; clause ids in docs/policy.md.
POSITION_ROLES = (
    "director",
    "deputy_director",
    "deputy_director_netsec",
    "department_head",
    "command_center_head",
    "duty_officer",
    "office",
    "hr",
    "leading_group_member",
    "leading_group_office",
    "staff",
)
# Resolved per incident through the responsible department (3(2), 谁主管谁负责).
RELATIVE_ROLES = ("responsible_department_head", "deputy_director_in_charge")
PERSON_PREFIX = "person:"
# Whoever the duty roster (值班表) has on duty when the step fires: ``on_duty:ROLE``.
ON_DUTY_PREFIX = "on_duty:"
# The rosters a step can target: duty officer (值班员), leader on duty (带班领导),
# technical on-call.
DUTY_ROLES = ("duty_officer", "duty_leader", "technical_oncall")
UNTIL_CONDITIONS = ("acknowledged", "reported", "resolved")
# page: seek a responder (an acknowledgement stops it); inform: tell leaders, each confirms.
STEP_KINDS = ("page", "inform")
OBLIGATION_STARTS = ("detected", "resolved")
# Destinations the faces know how to name; any other identifier is allowed.
KNOWN_DESTINATIONS = ("leading_group", "cac", "superior", "police")

Start = Literal["detected", "resolved"]

_PERSON = re.compile(r"person:[A-Za-z0-9._@-]{1,64}")


def read_recipients(value: object, key: str) -> tuple[str, ...]:
    """Position roles, relative roles, ``on_duty:ROLE`` or ``person:LOGIN``, at least one,
    none twice."""
    items = read_list(value, key)
    if not items:
        raise PolicyError(key, "must name at least one recipient")
    recipients: list[str] = []
    for i, item in enumerate(items):
        known = (
            item in POSITION_ROLES
            or item in RELATIVE_ROLES
            or (
                isinstance(item, str)
                and item.removeprefix(ON_DUTY_PREFIX) in DUTY_ROLES
                and item.startswith(ON_DUTY_PREFIX)
            )
        )
        if not isinstance(item, str) or not (known or _PERSON.fullmatch(item)):
            raise PolicyError(
                f"{key}[{i}]",
                f"unknown recipient {describe(item)}; use a position "
                f"role ({', '.join(POSITION_ROLES)}), a relative role "
                f"({', '.join(RELATIVE_ROLES)}), a roster "
                f"({', '.join(ON_DUTY_PREFIX + r for r in DUTY_ROLES)}) or person:LOGIN",
            )
        if item in recipients:
            raise PolicyError(f"{key}[{i}]", f"{item!r} is listed twice")
        recipients.append(item)
    return tuple(recipients)
