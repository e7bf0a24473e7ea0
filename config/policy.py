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
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.durations import (
    format_duration,
    parse_duration,
    read_duration,
    read_positive_duration,
)
from config.policy_checks import (
    PolicyError,
    Table,
    describe,
    not_one_of,
    read_choice,
    read_fractions,
    read_identifier,
    read_integer,
    read_list,
    read_mapping,
    read_text,
    read_zone,
)
from config.policy_intake import IntakePolicy
from config.policy_law import applicable, check_against_law
from config.policy_terms import (
    DUTY_ROLES,
    GRADES,
    KNOWN_DESTINATIONS,
    OBLIGATION_STARTS,
    ON_DUTY_PREFIX,
    PERSON_PREFIX,
    POSITION_ROLES,
    RELATIVE_ROLES,
    REPORTER_CATEGORIES,
    STEP_KINDS,
    UNTIL_CONDITIONS,
    Start,
    read_recipients,
)

# The vocabulary, durations and PolicyError live in their own modules; callers import
# them from here, the policy's one public face.
__all__ = [
    "DEFAULT_POLICY_PATH",
    "DUTY_ROLES",
    "GRADES",
    "KNOWN_DESTINATIONS",
    "OBLIGATION_STARTS",
    "ON_DUTY_PREFIX",
    "PERSON_PREFIX",
    "POSITION_ROLES",
    "RELATIVE_ROLES",
    "REPORTER_CATEGORIES",
    "STEP_KINDS",
    "UNTIL_CONDITIONS",
    "ChainStep",
    "GradePolicy",
    "IntakePolicy",
    "ObligationSpec",
    "OutboxPolicy",
    "Policy",
    "PolicyError",
    "Start",
    "format_duration",
    "load_policy",
    "parse_duration",
    "parse_policy",
]

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.toml")

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DESTINATION = re.compile(r"[a-z_]+")
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,64}")
# An inform step's recipients confirm receipt within this, else the next person up is told.
DEFAULT_CONFIRM_WITHIN = "PT15M"
# Who a filing informs when the obligation names nobody (``inform``): a report to the
# leadership reaches the leading group's members; the leaders are told that a report to
# the CAC was filed (3(1) overall, 3(2) direct responsibility).
DEFAULT_INFORM_ON_FILING: dict[str, tuple[str, ...]] = {
    "leading_group": ("leading_group_member",),
    "cac": ("deputy_director_netsec", "director"),
}
# A notice not delivered on a person's first channel goes to the next one within this.
DEFAULT_FALLBACK_AFTER = "PT2M"


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
    # Filing it informs these (each confirms receipt, else the next person up is told):
    # the report's addressees for ``to = "leading_group"``, the leadership told that a
    # report to the CAC was filed. Default by ``to``: DEFAULT_INFORM_ON_FILING.
    inform: tuple[str, ...] = ()
    confirm_within: timedelta = timedelta(minutes=15)
    # Owed only by these reporter categories (e.g. ["cii"]: the CII report to the public
    # security organ, CAC measures Art. 4); empty: by every one.
    only_for: tuple[str, ...] = ()
    # Why a deadline looser than the CAC measures is the bureau's choice (config.policy_law).
    loose_reason: str = ""

    def window(self, reporter_category: str) -> timedelta:
        """The time allowed for this reporter category (CAC measures Art. 4 for ``cac``)."""
        if isinstance(self.within, timedelta):
            return self.within
        if reporter_category not in self.within:
            raise PolicyError("reporter_category", not_one_of(reporter_category, self.within))
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
            "inform": list(self.inform),
            "confirm_within": format_duration(self.confirm_within),
            **({"only_for": list(self.only_for)} if self.only_for else {}),
            **({"loose_reason": self.loose_reason} if self.loose_reason else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, key: str = "obligation") -> ObligationSpec:
        """Validate a dict shaped like :meth:`to_dict` (or the TOML table)."""
        t = Table(
            d,
            key,
            (
                "name",
                "to",
                "within",
                "from",
                "title_zh",
                "title_en",
                "inform",
                "confirm_within",
                "only_for",
                "loose_reason",
            ),
        )
        name = read_identifier(t.required("name"), t.path("name"), _NAME)
        to = read_identifier(t.required("to"), t.path("to"), _DESTINATION)
        raw_within = t.required("within")
        within: timedelta | dict[str, timedelta]
        if isinstance(raw_within, dict):
            w = Table(raw_within, t.path("within"), REPORTER_CATEGORIES)
            every = ", ".join(REPORTER_CATEGORIES)
            within = {
                c: read_positive_duration(
                    w.required(c, f"missing; a per-category within needs all of {every}"), w.path(c)
                )
                for c in REPORTER_CATEGORIES
            }
        else:
            within = read_positive_duration(raw_within, t.path("within"))
        start: Start = (
            "resolved"
            if read_choice(t.required("from"), t.path("from"), OBLIGATION_STARTS) == "resolved"
            else "detected"
        )
        title_zh = read_text(t.optional("title_zh", name), t.path("title_zh"))
        title_en = read_text(t.optional("title_en", name), t.path("title_en"))
        raw_inform = t.optional("inform", None)
        if raw_inform is None:
            inform = DEFAULT_INFORM_ON_FILING.get(to, ())
        elif raw_inform == []:
            inform = ()
        else:
            inform = read_recipients(raw_inform, t.path("inform"))
        confirm_within = read_positive_duration(
            t.optional("confirm_within", DEFAULT_CONFIRM_WITHIN), t.path("confirm_within")
        )
        only_for = tuple(
            read_choice(c, f"{t.path('only_for')}[{i}]", REPORTER_CATEGORIES)
            for i, c in enumerate(read_list(t.optional("only_for", []), t.path("only_for")))
        )
        raw_reason = t.optional("loose_reason", "")
        loose_reason = read_text(raw_reason, t.path("loose_reason")) if raw_reason != "" else ""
        return cls(
            name,
            to,
            within,
            start,
            title_zh,
            title_en,
            inform,
            confirm_within,
            only_for,
            loose_reason.strip(),
        )


@dataclass(frozen=True)
class ChainStep:
    """One step of a chain, of one of two kinds (``kind``):

    - ``page`` (the default, and every step written before kinds existed): seek a
      responder. Page ``notify`` at ``after`` from the chain's start, then every
      ``repeat_every`` up to ``repeat_max`` more times, until the ``until`` condition
      holds — an acknowledgement by anyone entitled stops it.
    - ``inform``: tell named leaders that something happened. Nobody else's
      acknowledgement cancels it, nor does resolution; each recipient confirms receipt
      (签收) themselves. ``repeat_every``/``repeat_max`` remind only those who have not
      confirmed; whoever has not confirmed within ``confirm_within`` of being informed
      is escalated: the next person up and their named deputy are informed in turn.

    ``groups`` names group destinations (robots) that also get every notice of the step.
    """

    after: timedelta
    notify: tuple[str, ...]
    until: str
    repeat_every: timedelta | None
    repeat_max: int
    kind: str = "page"
    confirm_within: timedelta | None = None
    groups: tuple[str, ...] = ()

    @property
    def informs(self) -> bool:
        return self.kind == "inform"

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
        if self.kind != "page":
            d["kind"] = self.kind
        if self.confirm_within is not None:
            d["confirm_within"] = format_duration(self.confirm_within)
        if self.repeat_every is not None:
            d["repeat_every"] = format_duration(self.repeat_every)
            d["repeat_max"] = self.repeat_max
        if self.groups:
            d["groups"] = list(self.groups)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, key: str = "step") -> ChainStep:
        """Validate a dict shaped like :meth:`to_dict` (or the TOML inline table)."""
        t = Table(
            d,
            key,
            (
                "after",
                "notify",
                "until",
                "repeat_every",
                "repeat_max",
                "kind",
                "confirm_within",
                "groups",
            ),
        )
        after = read_duration(t.required("after"), t.path("after"))
        notify = read_recipients(t.required("notify"), t.path("notify"))
        kind = read_choice(t.optional("kind", "page"), t.path("kind"), STEP_KINDS)
        raw_until = t.optional("until", None)
        raw_confirm = t.optional("confirm_within", None)
        groups = _read_groups(t.optional("groups", []), t.path("groups"))
        if kind == "inform":
            if raw_until is not None and raw_until != "confirmed":
                raise PolicyError(
                    t.path("until"),
                    "an inform step runs until each recipient confirms receipt; leave until "
                    'out (or write "confirmed"): nobody else\'s acknowledgement may cancel it',
                )
            until = "confirmed"
            confirm_within: timedelta | None = read_positive_duration(
                raw_confirm if raw_confirm is not None else DEFAULT_CONFIRM_WITHIN,
                t.path("confirm_within"),
            )
        else:
            if raw_confirm is not None:
                raise PolicyError(
                    t.path("confirm_within"),
                    'only an inform step (kind = "inform") waits for each recipient\'s receipt',
                )
            until = read_choice(
                raw_until if raw_until is not None else "acknowledged",
                t.path("until"),
                UNTIL_CONDITIONS,
            )
            confirm_within = None
        raw_every, raw_max = t.optional("repeat_every", None), t.optional("repeat_max", None)
        if raw_every is None and raw_max is None:
            return cls(after, notify, until, None, 0, kind, confirm_within, groups)
        if raw_max is None:
            raise PolicyError(
                t.path("repeat_max"), "is required with repeat_every (how many more times to page)"
            )
        if raw_every is None:
            raise PolicyError(
                t.path("repeat_every"), "is required with repeat_max (how long between pages)"
            )
        every = read_positive_duration(raw_every, t.path("repeat_every"))
        repeat_max = read_integer(raw_max, t.path("repeat_max"), 1)
        return cls(after, notify, until, every, repeat_max, kind, confirm_within, groups)


def _read_groups(value: object, key: str) -> tuple[str, ...]:
    """Names of group destinations (``fenghuo destination add-group``), none twice."""
    items = read_list(value, key)
    names: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not _GROUP.fullmatch(item):
            raise PolicyError(
                f"{key}[{i}]",
                f"must be a group destination name (letters, digits, . _ -), got {describe(item)}",
            )
        if item in names:
            raise PolicyError(f"{key}[{i}]", f"{item!r} is listed twice")
        names.append(item)
    return tuple(names)


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
        t = Table(d, key, ("handling_target", "breach_notify", "warn_at", "obligations", "chain"))
        handling_target = read_positive_duration(
            t.required("handling_target"), t.path("handling_target")
        )
        breach_notify = read_recipients(t.required("breach_notify"), t.path("breach_notify"))
        warn_at = read_fractions(t.required("warn_at"), t.path("warn_at"))
        obligations: list[ObligationSpec] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(read_list(t.required("obligations"), t.path("obligations"))):
            item_key = f"{t.path('obligations')}[{i}]"
            obligation = ObligationSpec.from_dict(read_mapping(raw, item_key), key=item_key)
            if obligation.name in seen:
                raise PolicyError(
                    f"{item_key}.name",
                    f"duplicate obligation name {obligation.name!r} "
                    f"(also obligations[{seen[obligation.name]}])",
                )
            seen[obligation.name] = i
            obligations.append(obligation)
        chain: list[ChainStep] = []
        raw_chain = read_list(t.required("chain"), t.path("chain"))
        if not raw_chain:
            raise PolicyError(t.path("chain"), "must have at least one step: someone must be paged")
        for i, raw in enumerate(raw_chain):
            item_key = f"{t.path('chain')}[{i}]"
            step = ChainStep.from_dict(read_mapping(raw, item_key), key=item_key)
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
    lease: timedelta = timedelta(seconds=30)
    # Not delivered on a person's channel within this: their next channel is tried.
    fallback_after: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class Policy:
    """The whole policy: who reports (Art. 4 category), the display time zone, and per grade
    what is owed and who is paged."""

    reporter_category: str
    timezone: str
    grades: dict[str, GradePolicy]
    redact_titles: bool
    outbox: OutboxPolicy
    # How monitoring alerts' labels map to system, department and grade ([intake]).
    intake: IntakePolicy = field(default_factory=IntakePolicy)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def grade(self, name: str) -> GradePolicy:
        if name not in self.grades:
            raise PolicyError(f"grades.{name}", not_one_of(name, GRADES))
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
                "fallback_after": format_duration(self.outbox.fallback_after),
            },
            "grades": {name: g.to_dict() for name, g in self.grades.items()},
            "intake": self.intake.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Policy:
        """Validate a dict shaped like :meth:`to_dict` (or the parsed TOML file)."""
        t = Table(
            d, "", ("reporter_category", "timezone", "telegram", "outbox", "grades", "intake")
        )
        category = read_choice(
            t.required("reporter_category"), "reporter_category", REPORTER_CATEGORIES
        )
        timezone = read_zone(t.required("timezone"), "timezone")
        telegram = Table(t.optional("telegram", {}), "telegram", ("redact_titles",))
        redact = telegram.optional("redact_titles", False)
        if not isinstance(redact, bool):
            raise PolicyError(
                "telegram.redact_titles", f"must be true or false, got {describe(redact)}"
            )
        o = Table(
            t.optional("outbox", {}),
            "outbox",
            ("max_attempts", "backoff_base", "lease", "fallback_after"),
        )
        outbox = OutboxPolicy(
            max_attempts=read_integer(o.optional("max_attempts", 8), "outbox.max_attempts", 1),
            backoff_base=read_positive_duration(
                o.optional("backoff_base", "PT30S"), "outbox.backoff_base"
            ),
            lease=read_positive_duration(o.optional("lease", "PT30S"), "outbox.lease"),
            fallback_after=read_positive_duration(
                o.optional("fallback_after", DEFAULT_FALLBACK_AFTER), "outbox.fallback_after"
            ),
        )
        g = Table(t.required("grades"), "grades", GRADES)
        missing = f"missing; all four grades are required ({', '.join(GRADES)})"
        grades = {
            n: GradePolicy.from_dict(read_mapping(g.required(n, missing), g.path(n)), key=g.path(n))
            for n in GRADES
        }
        # No looser than the CAC measures (config.policy_law), keyed as in the file; then
        # the obligations this reporter category does not owe (only_for) are dropped.
        check_against_law(category, grades)
        grades = {n: applicable(g, category) for n, g in grades.items()}
        intake = IntakePolicy.from_dict(t.optional("intake", {}), key="intake")
        return cls(category, timezone, grades, redact, outbox, intake)


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
