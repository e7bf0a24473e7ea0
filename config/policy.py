"""The policy: grades, reporting deadlines and escalation chains, loaded once and validated.

The policy file (TOML, ``config/policy.toml`` by default) says, for each of the four
grades, which reports are owed by when (the obligations), how long handling may take,
who is alerted on a breach and who is paged, in what order, until someone acknowledges
(the chain). ``docs/policy.md`` is the reference for every key.

Contract: :func:`parse_policy` and :func:`load_policy` return a fully validated, frozen
:class:`Policy` or raise :class:`PolicyError` naming the dotted key at fault
(``grades.major.chain[1].after``) and what is wrong. Nothing here reads the clock, the
environment or the database.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.toml")

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
UNTIL_CONDITIONS = ("acknowledged", "reported", "resolved")
OBLIGATION_STARTS = ("detected", "resolved")
# Destinations the faces know how to name; any other identifier is allowed.
KNOWN_DESTINATIONS = ("leading_group", "cac", "superior", "police")

Start = Literal["detected", "resolved"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DESTINATION = re.compile(r"[a-z_]+")
_PERSON = re.compile(r"person:[A-Za-z0-9._@-]{1,64}")
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,6})?)S)?)?"
)
_DURATION_EXAMPLES = "PT30S, PT10M, PT1H, P1DT2H or P30D"


class PolicyError(ValueError):
    """A policy that cannot be used; ``key`` is the dotted path, ``message`` what is wrong."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


# --- durations -----------------------------------------------------------------------


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


# --- the policy objects ---------------------------------------------------------------


@dataclass(frozen=True)
class ObligationSpec:
    """A report owed to ``to`` within ``within`` of the incident's ``start`` event."""

    name: str
    to: str
    within: timedelta | dict[str, timedelta]
    start: Start
    title_zh: str
    title_en: str

    def window(self, reporter_category: str) -> timedelta:
        """The time allowed for this reporter category (CAC measures Art. 4 for ``cac``)."""
        if isinstance(self.within, timedelta):
            return self.within
        if reporter_category not in self.within:
            raise PolicyError("reporter_category", _not_one_of(reporter_category, self.within))
        return self.within[reporter_category]

    def to_dict(self) -> dict[str, Any]:
        within: str | dict[str, str] = (
            format_duration(self.within)
            if isinstance(self.within, timedelta)
            else {c: format_duration(d) for c, d in self.within.items()}
        )
        return {
            "name": self.name,
            "to": self.to,
            "within": within,
            "from": self.start,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, key: str = "obligation") -> ObligationSpec:
        """Validate a dict shaped like :meth:`to_dict` (or the TOML table)."""
        t = _Table(d, key, ("name", "to", "within", "from", "title_zh", "title_en"))
        name = _identifier(t.required("name"), t.path("name"), _NAME)
        to = _identifier(t.required("to"), t.path("to"), _DESTINATION)
        raw_within = t.required("within")
        within: timedelta | dict[str, timedelta]
        if isinstance(raw_within, dict):
            w = _Table(raw_within, t.path("within"), REPORTER_CATEGORIES)
            every = ", ".join(REPORTER_CATEGORIES)
            within = {
                c: _positive(
                    w.required(c, f"missing; a per-category within needs all of {every}"), w.path(c)
                )
                for c in REPORTER_CATEGORIES
            }
        else:
            within = _positive(raw_within, t.path("within"))
        start: Start = (
            "resolved"
            if _choice(t.required("from"), t.path("from"), OBLIGATION_STARTS) == "resolved"
            else "detected"
        )
        title_zh = _text(t.optional("title_zh", name), t.path("title_zh"))
        title_en = _text(t.optional("title_en", name), t.path("title_en"))
        return cls(name, to, within, start, title_zh, title_en)


@dataclass(frozen=True)
class ChainStep:
    """Page ``notify`` at ``after`` from the chain's start, then every ``repeat_every``
    up to ``repeat_max`` more times, until the ``until`` condition holds."""

    after: timedelta
    notify: tuple[str, ...]
    until: str
    repeat_every: timedelta | None
    repeat_max: int

    def offsets(self) -> tuple[timedelta, ...]:
        """When this step fires, from the chain's start: 1 + repeat_max offsets."""
        every = self.repeat_every or timedelta(0)
        return tuple(self.after + every * i for i in range(self.repeat_max + 1))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "after": format_duration(self.after),
            "notify": list(self.notify),
            "until": self.until,
        }
        if self.repeat_every is not None:
            d["repeat_every"] = format_duration(self.repeat_every)
            d["repeat_max"] = self.repeat_max
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, key: str = "step") -> ChainStep:
        """Validate a dict shaped like :meth:`to_dict` (or the TOML inline table)."""
        t = _Table(d, key, ("after", "notify", "until", "repeat_every", "repeat_max"))
        after = _duration(t.required("after"), t.path("after"))
        notify = _recipients(t.required("notify"), t.path("notify"))
        until = _choice(t.optional("until", "acknowledged"), t.path("until"), UNTIL_CONDITIONS)
        raw_every, raw_max = t.optional("repeat_every", None), t.optional("repeat_max", None)
        if raw_every is None and raw_max is None:
            return cls(after, notify, until, None, 0)
        if raw_max is None:
            raise PolicyError(
                t.path("repeat_max"), "is required with repeat_every (how many more times to page)"
            )
        if raw_every is None:
            raise PolicyError(
                t.path("repeat_every"), "is required with repeat_max (how long between pages)"
            )
        every = _positive(raw_every, t.path("repeat_every"))
        return cls(after, notify, until, every, _integer(raw_max, t.path("repeat_max"), 1))


@dataclass(frozen=True)
class GradePolicy:
    """What one grade demands: targets, reports owed, who is alerted and paged."""

    handling_target: timedelta
    breach_notify: tuple[str, ...]
    warn_at: tuple[float, ...]
    obligations: tuple[ObligationSpec, ...]
    chain: tuple[ChainStep, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot; :meth:`from_dict` reads it back unchanged."""
        return {
            "handling_target": format_duration(self.handling_target),
            "breach_notify": list(self.breach_notify),
            "warn_at": list(self.warn_at),
            "obligations": [o.to_dict() for o in self.obligations],
            "chain": [s.to_dict() for s in self.chain],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, key: str = "grade") -> GradePolicy:
        """Validate a dict shaped like :meth:`to_dict` (or a ``[grades.X]`` table)."""
        t = _Table(d, key, ("handling_target", "breach_notify", "warn_at", "obligations", "chain"))
        handling_target = _positive(t.required("handling_target"), t.path("handling_target"))
        breach_notify = _recipients(t.required("breach_notify"), t.path("breach_notify"))
        warn_at = _fractions(t.required("warn_at"), t.path("warn_at"))
        obligations: list[ObligationSpec] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(_list(t.required("obligations"), t.path("obligations"))):
            item_key = f"{t.path('obligations')}[{i}]"
            obligation = ObligationSpec.from_dict(_mapping(raw, item_key), key=item_key)
            if obligation.name in seen:
                raise PolicyError(
                    f"{item_key}.name",
                    f"duplicate obligation name {obligation.name!r} "
                    f"(also obligations[{seen[obligation.name]}])",
                )
            seen[obligation.name] = i
            obligations.append(obligation)
        chain: list[ChainStep] = []
        raw_chain = _list(t.required("chain"), t.path("chain"))
        if not raw_chain:
            raise PolicyError(t.path("chain"), "must have at least one step: someone must be paged")
        for i, raw in enumerate(raw_chain):
            item_key = f"{t.path('chain')}[{i}]"
            step = ChainStep.from_dict(_mapping(raw, item_key), key=item_key)
            if chain and step.after < chain[-1].after:
                raise PolicyError(
                    f"{item_key}.after",
                    f"must not be earlier than the step before "
                    f"({format_duration(chain[-1].after)}), got {format_duration(step.after)}",
                )
            chain.append(step)
        return cls(handling_target, breach_notify, warn_at, tuple(obligations), tuple(chain))


@dataclass(frozen=True)
class OutboxPolicy:
    """Delivery tuning: attempts before giving up, the retry backoff's base, the claim lease."""

    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class Policy:
    """The whole policy: who reports (Art. 4 category), the display time zone, and per grade
    what is owed and who is paged."""

    reporter_category: str
    timezone: str
    grades: dict[str, GradePolicy]
    redact_titles: bool
    outbox: OutboxPolicy

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def grade(self, name: str) -> GradePolicy:
        if name not in self.grades:
            raise PolicyError(f"grades.{name}", _not_one_of(name, GRADES))
        return self.grades[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, durations as ISO strings, in the shape of the TOML file."""
        return {
            "reporter_category": self.reporter_category,
            "timezone": self.timezone,
            "telegram": {"redact_titles": self.redact_titles},
            "outbox": {
                "max_attempts": self.outbox.max_attempts,
                "backoff_base": format_duration(self.outbox.backoff_base),
                "lease": format_duration(self.outbox.lease),
            },
            "grades": {name: g.to_dict() for name, g in self.grades.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Policy:
        """Validate a dict shaped like :meth:`to_dict` (or the parsed TOML file)."""
        t = _Table(d, "", ("reporter_category", "timezone", "telegram", "outbox", "grades"))
        category = _choice(
            t.required("reporter_category"), "reporter_category", REPORTER_CATEGORIES
        )
        timezone = _zone(t.required("timezone"), "timezone")
        telegram = _Table(t.optional("telegram", {}), "telegram", ("redact_titles",))
        redact = telegram.optional("redact_titles", False)
        if not isinstance(redact, bool):
            raise PolicyError(
                "telegram.redact_titles", f"must be true or false, got {_describe(redact)}"
            )
        o = _Table(t.optional("outbox", {}), "outbox", ("max_attempts", "backoff_base", "lease"))
        outbox = OutboxPolicy(
            max_attempts=_integer(o.optional("max_attempts", 8), "outbox.max_attempts", 1),
            backoff_base=_positive(o.optional("backoff_base", "PT30S"), "outbox.backoff_base"),
            lease=_positive(o.optional("lease", "PT2M"), "outbox.lease"),
        )
        g = _Table(t.required("grades"), "grades", GRADES)
        missing = f"missing; all four grades are required ({', '.join(GRADES)})"
        grades = {
            n: GradePolicy.from_dict(_mapping(g.required(n, missing), g.path(n)), key=g.path(n))
            for n in GRADES
        }
        return cls(category, timezone, grades, redact, outbox)


# --- loading -----------------------------------------------------------------------


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse and validate policy TOML; a syntax error is a PolicyError keyed by ``source``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"not valid TOML: {exc}") from exc
    return Policy.from_dict(data)


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load and validate the policy file; ``None`` means the packaged default."""
    file = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(file), f"cannot read the policy file: {exc}") from exc
    return parse_policy(text, source=str(file))


# --- validation helpers --------------------------------------------------------------


class _Table:
    """A table being read: unknown keys fail at once, each key is taken at most once."""

    def __init__(self, value: object, key: str, allowed: tuple[str, ...]) -> None:
        self._data = dict(_mapping(value, key or "policy"))
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


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _not_one_of(value: object, choices: Mapping[str, object] | tuple[str, ...]) -> str:
    return f"must be one of {', '.join(choices)}, got {_describe(value)}"


def _mapping(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(key, f"must be a table, got {_describe(value)}")
    return value


def _list(value: object, key: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise PolicyError(key, f"must be a list, got {_describe(value)}")
    return list(value)


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(key, f"must be non-empty text, got {_describe(value)}")
    return value


def _identifier(value: object, key: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise PolicyError(
            key, f"must be an identifier matching {pattern.pattern}, got {_describe(value)}"
        )
    return value


def _choice(value: object, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise PolicyError(key, _not_one_of(value, choices))
    return value


def _integer(value: object, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(key, f"must be an integer ≥ {minimum}, got {_describe(value)}")
    return value


def _bad_duration(value: object) -> str:
    return f"must be an ISO 8601 duration such as {_DURATION_EXAMPLES}, got {_describe(value)}"


def _duration(value: object, key: str) -> timedelta:
    if not isinstance(value, str):
        raise PolicyError(key, _bad_duration(value))
    return parse_duration(value, key=key)


def _positive(value: object, key: str) -> timedelta:
    td = _duration(value, key)
    if td <= timedelta(0):
        raise PolicyError(key, f"must be longer than zero, got {value!r}")
    return td


def _zone(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise PolicyError(key, f"must be an IANA time zone name, got {_describe(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PolicyError(key, f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from None
    return value


def _fractions(value: object, key: str) -> tuple[float, ...]:
    fractions: list[float] = []
    for i, item in enumerate(_list(value, key)):
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 < item < 1:
            raise PolicyError(
                f"{key}[{i}]",
                f"must be a fraction between 0 and 1 (exclusive), got {_describe(item)}",
            )
        if fractions and item <= fractions[-1]:
            raise PolicyError(
                f"{key}[{i}]", f"must be greater than the one before ({fractions[-1]}), got {item}"
            )
        fractions.append(float(item))
    return tuple(fractions)


def _recipients(value: object, key: str) -> tuple[str, ...]:
    """Position roles, relative roles or ``person:LOGIN``, at least one, none twice."""
    items = _list(value, key)
    if not items:
        raise PolicyError(key, "must name at least one recipient")
    recipients: list[str] = []
    for i, item in enumerate(items):
        known = item in POSITION_ROLES or item in RELATIVE_ROLES
        if not isinstance(item, str) or not (known or _PERSON.fullmatch(item)):
            raise PolicyError(
                f"{key}[{i}]",
                f"unknown recipient {_describe(item)}; use a position "
                f"role ({', '.join(POSITION_ROLES)}), a relative role "
                f"({', '.join(RELATIVE_ROLES)}) or person:LOGIN",
            )
        if item in recipients:
            raise PolicyError(f"{key}[{i}]", f"{item!r} is listed twice")
        recipients.append(item)
    return tuple(recipients)
