"""ISO 8601 durations, the way the policy writes every deadline and interval.

:func:`parse_duration` and :func:`format_duration` convert between the text
(``PT30S``, ``PT10M``, ``P1DT2H``, ``P2W``) and :class:`~datetime.timedelta`;
:func:`read_duration` and :func:`read_positive_duration` are the policy readers built on
them. A bad duration raises :class:`~config.policy_checks.PolicyError` naming its key.
"""

from __future__ import annotations

import re
from datetime import timedelta

from config.policy_checks import PolicyError, describe

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,6})?)S)?)?"
)
_DURATION_EXAMPLES = "PT30S, PT10M, PT1H, P1DT2H or P30D"


def parse_duration(s: str, *, key: str) -> timedelta:
    """Parse an ISO 8601 duration (``PT30S``, ``PT10M``, ``P1DT2H``, ``P2W``) into a timedelta.

    Years and months are refused: their length varies, and a deadline must not. Only
    seconds may carry a fraction (up to microseconds). Negative durations are refused.
    """
    if not isinstance(s, str):
        raise PolicyError(key, _bad_duration(s))
    date_part = s[1:].split("T", 1)[0] if s.startswith("P") else ""
    if "Y" in date_part or "M" in date_part:
        raise PolicyError(
            key, f"years and months have no fixed length; write days instead (e.g. P30D), got {s!r}"
        )
    match = _DURATION.fullmatch(s)
    if match is None or s in ("P", "PT"):
        fraction = re.search(r"[.,]\d+[WDHM]", s)
        hint = "; only seconds may have a fraction (write PT90M, not PT1.5H)" if fraction else ""
        raise PolicyError(key, _bad_duration(s) + hint)
    whole, _, fraction_digits = (match["seconds"] or "0").partition(".")
    try:
        return timedelta(
            weeks=int(match["weeks"] or 0),
            days=int(match["days"] or 0),
            hours=int(match["hours"] or 0),
            minutes=int(match["minutes"] or 0),
            seconds=int(whole),
            microseconds=int(fraction_digits.ljust(6, "0")) if fraction_digits else 0,
        )
    except OverflowError:
        raise PolicyError(key, f"is too long to be a deadline, got {s!r}") from None


def format_duration(td: timedelta) -> str:
    """Format a timedelta as ISO 8601 (``P1DT2H``, ``PT30S``, ``PT0S``; ``-PT5M`` if negative).

    For any non-negative timedelta, ``parse_duration(format_duration(td)) == td``.
    """
    sign = "-" if td < timedelta(0) else ""
    td = abs(td)
    hours, rest = divmod(td.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = f"{hours}H" if hours else ""
    time += f"{minutes}M" if minutes else ""
    if td.microseconds:
        time += f"{seconds}.{td.microseconds:06d}".rstrip("0") + "S"
    elif seconds:
        time += f"{seconds}S"
    text = "P" + (f"{td.days}D" if td.days else "") + (f"T{time}" if time else "")
    return sign + (text if text != "P" else "PT0S")


def read_duration(value: object, key: str) -> timedelta:
    """A duration from the policy at ``key``; zero is allowed."""
    if not isinstance(value, str):
        raise PolicyError(key, _bad_duration(value))
    return parse_duration(value, key=key)


def read_positive_duration(value: object, key: str) -> timedelta:
    """A duration from the policy at ``key`` that must be longer than zero."""
    td = read_duration(value, key)
    if td <= timedelta(0):
        raise PolicyError(key, f"must be longer than zero, got {value!r}")
    return td


def _bad_duration(value: object) -> str:
    return f"must be an ISO 8601 duration such as {_DURATION_EXAMPLES}, got {describe(value)}"
