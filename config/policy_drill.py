"""A drill policy: the policy in force with every clock scaled down, as TOML.

A command center rehearses its chain before it needs it. ``fenghuo policy drill
--scale 60`` prints the policy with every duration divided by 60 — minutes become
seconds — so a whole major incident (informs at once, at 10 and 30 minutes; the 1 h
internal deadline) plays out in about a minute on a drill instance. Delivery tuning is
scaled too but kept workable: a lease of at least 10 s, a backoff of at least 1 s, a
fallback of at least 5 s. The result is validated like any policy file before it is
printed (:func:`drill_toml`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from config.durations import format_duration, parse_duration
from config.policy import Policy, parse_policy

# Keys whose values are durations (or per-category tables of durations).
_DURATIONS = {
    "after",
    "repeat_every",
    "confirm_within",
    "within",
    "handling_target",
    "backoff_base",
    "lease",
    "fallback_after",
}
_FLOORS = {
    "lease": timedelta(seconds=10),
    "backoff_base": timedelta(seconds=1),
    "fallback_after": timedelta(seconds=5),
}


def _scale(value: str, factor: int, key: str) -> str:
    scaled = parse_duration(value, key=key) / factor
    scaled = timedelta(seconds=round(scaled.total_seconds()))
    if key in _FLOORS:
        scaled = max(scaled, _FLOORS[key])
    elif key not in ("after",) and scaled <= timedelta(0):
        scaled = timedelta(seconds=1)
    return format_duration(scaled)


def scaled(data: Mapping[str, Any], factor: int) -> dict[str, Any]:
    """``Policy.to_dict()`` shape with every duration divided by ``factor``."""

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, Mapping):
            if key == "within":
                return {k: _scale(v, factor, key) for k, v in value.items()}
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if key in _DURATIONS and isinstance(value, str):
            return _scale(value, factor, key)
        return value

    out: dict[str, Any] = walk(dict(data), "")
    return out


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """The policy dict as a TOML file of the shape ``config/policy.toml`` has."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_value(value)}")
    for name, table in tables:
        if name == "grades":
            for grade, body in table.items():
                lines += ["", f"[grades.{grade}]"]
                for k, v in body.items():
                    if k == "obligations":
                        continue
                    if k == "chain":
                        lines.append("chain = [")
                        lines += [f"  {_value(step)}," for step in v]
                        lines.append("]")
                    else:
                        lines.append(f"{k} = {_value(v)}")
                for ob in body.get("obligations", []):
                    lines += ["", f"[[grades.{grade}.obligations]]"]
                    lines += [f"{k} = {_value(x)}" for k, x in ob.items()]
            continue
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def drill_toml(policy: Policy, factor: int) -> str:
    """The drill policy for ``policy`` at ``factor``, checked by parsing it back."""
    if factor < 1:
        raise ValueError("the scale must be a whole number of at least 1")
    text = (
        f"# Drill policy: the policy in force with every clock divided by {factor}.\n"
        "# For a drill instance only, never production.\n"
        + to_toml(scaled(policy.to_dict(), factor))
    )
    parse_policy(text, source="drill policy")
    return text
