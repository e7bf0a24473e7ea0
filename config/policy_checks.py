"""How a policy is refused: :class:`PolicyError` and the readers that raise it.

Each ``read_*`` function takes a value from the parsed TOML and the dotted key it sits
at, and returns the value typed or raises :class:`PolicyError` naming that key and what
is wrong with it. :class:`Table` reads one table, refusing unknown keys. None of them
knows what a grade or a chain is; ``config.policy`` says which reader applies where.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PolicyError(ValueError):
    """A policy that cannot be used; ``key`` is the dotted path, ``message`` what is wrong."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class Table:
    """A table being read: unknown keys fail at once, each key is taken at most once."""

    def __init__(self, value: object, key: str, allowed: tuple[str, ...]) -> None:
        self._data = dict(read_mapping(value, key or "policy"))
        self._key = key
        for name in sorted(self._data):
            if name not in allowed:
                raise PolicyError(
                    self.path(name), f"unknown key; expected one of {', '.join(allowed)}"
                )

    def path(self, name: str) -> str:
        return f"{self._key}.{name}" if self._key else name

    def required(self, name: str, message: str = "is required") -> object:
        if name not in self._data:
            raise PolicyError(self.path(name), message)
        return self._data.pop(name)

    def optional(self, name: str, default: object) -> object:
        return self._data.pop(name, default)


def describe(value: object) -> str:
    """``value`` as an error message shows it: TOML words for tables, lists and booleans."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def not_one_of(value: object, choices: Mapping[str, object] | tuple[str, ...]) -> str:
    """The message for ``value`` outside ``choices`` (a mapping's keys are the choices)."""
    return f"must be one of {', '.join(choices)}, got {describe(value)}"


def read_mapping(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(key, f"must be a table, got {describe(value)}")
    return value


def read_list(value: object, key: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise PolicyError(key, f"must be a list, got {describe(value)}")
    return list(value)


def read_text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(key, f"must be non-empty text, got {describe(value)}")
    return value


def read_identifier(value: object, key: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise PolicyError(
            key, f"must be an identifier matching {pattern.pattern}, got {describe(value)}"
        )
    return value


def read_choice(value: object, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise PolicyError(key, not_one_of(value, choices))
    return value


def read_integer(value: object, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(key, f"must be an integer ≥ {minimum}, got {describe(value)}")
    return value


def read_zone(value: object, key: str) -> str:
    """An IANA time zone name that this machine's zone database knows."""
    if not isinstance(value, str):
        raise PolicyError(key, f"must be an IANA time zone name, got {describe(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PolicyError(key, f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from None
    return value


def read_fractions(value: object, key: str) -> tuple[float, ...]:
    """A strictly increasing list of fractions, each between 0 and 1 (exclusive)."""
    fractions: list[float] = []
    for i, item in enumerate(read_list(value, key)):
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 < item < 1:
            raise PolicyError(
                f"{key}[{i}]",
                f"must be a fraction between 0 and 1 (exclusive), got {describe(item)}",
            )
        if fractions and item <= fractions[-1]:
            raise PolicyError(
                f"{key}[{i}]", f"must be greater than the one before ({fractions[-1]}), got {item}"
            )
        fractions.append(float(item))
    return tuple(fractions)
