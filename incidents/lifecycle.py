"""Allowed status transitions, as a plain table.

new → acknowledged → handling → resolved → closed; a resolved or closed incident can be
reopened (with a reason), and a reopened one goes back to handling. Starting handling
straight from ``new`` is allowed: whoever starts handling has seen it, so it counts as
acknowledged too (the use case records both).
"""

from __future__ import annotations

from incidents.errors import Conflict, ValidationError

STATUSES = ("new", "acknowledged", "handling", "resolved", "closed", "reopened")

STATUS_NAMES: dict[str, tuple[str, str]] = {
    "new": ("新建", "new"),
    "acknowledged": ("已确认", "acknowledged"),
    "handling": ("处置中", "handling"),
    "resolved": ("已处置", "resolved"),
    "closed": ("已关闭", "closed"),
    "reopened": ("已重开", "reopened"),
}

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged", "handling"}),
    "acknowledged": frozenset({"handling"}),
    "handling": frozenset({"resolved"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "reopened": frozenset({"handling"}),
}

# Transitions that need a written reason.
NEEDS_REASON = frozenset({"reopened"})

OPEN_STATUSES = ("new", "acknowledged", "handling", "reopened")


def allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check(current: str, target: str, reason: str | None = None) -> None:
    """Raise unless ``current → target`` is legal (and has its reason where needed)."""
    if target not in STATUSES:
        raise ValidationError(
            "unknown status %(target)r; one of %(choices)s",
            field="to",
            code="to.unknown_status",
            params={"target": target, "choices": ", ".join(STATUSES)},
        )
    if not allowed(current, target):
        options = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none"
        raise Conflict(
            "cannot go from %(current)s to %(target)s; allowed from %(current)s: %(options)s",
            field="to",
            code="illegal_transition",
            params={"current": current, "target": target, "options": options},
        )
    if target in NEEDS_REASON and not (reason or "").strip():
        raise ValidationError(
            "a reason is required to go to %(target)s",
            field="reason",
            code="reason.reason_required_go",
            params={"target": target},
        )
