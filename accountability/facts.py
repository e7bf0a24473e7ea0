"""The facts of a case: derived from the record where the record knows, found otherwise.

Four facts come from the record (the issue's item 2):

- ``grade`` — the incident's final (current) grade;
- ``reported_as_required`` — ``escalation.reporting``'s tri-state: false once any
  reporting obligation is late, missed or pending past its deadline; not known
  (``pending``: a determination waits) while one is still due in time (CAC measures
  Art. 4, 8; DESIGN "The clocks");
- ``handled_promptly`` — the outcome of the grade's handling target; not known while the
  incident is unresolved within its target (``pending``: a determination waits for it,
  or for an override);
- ``prior_sanctions`` — the subject's earlier sanctions for not implementing the rules,
  carried out before the incident (5.2(d), repeat non-compliance).

Each may be overridden for a case, but only with a reason, and the override is audited.
The other facts are investigation findings, each entered with an evidence note. Entries
are rows that are never changed: a later entry for the same fact supersedes the earlier.
A fact with neither keeps the engine's default — and a determination is refused while
such a default decides a clause (``rules.PRESUMABLE``: 处理及时 and 影响 must be
established, not presumed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accountability import record as clocks
from accountability.models import Case, Finding
from accountability.rules import FACT_DEFAULTS, FACT_KEYS, assess
from incidents.audit import Actor, record
from incidents.errors import ValidationError
from incidents.models import Incident

#: Facts the record answers; overriding one needs a reason.
DERIVED: Final = ("grade", "reported_as_required", "handled_promptly", "prior_sanctions")
#: Facts only the investigation can establish; each needs an evidence note.
FINDINGS: Final = tuple(key for key in FACT_KEYS if key not in DERIVED)

MAX_NOTE = 4000


@dataclass(frozen=True)
class FactValue:
    """One fact of a case: its value, where it came from, and what supports it."""

    key: str
    value: object
    #: ``record`` (derived), ``override`` (derived, overridden), ``finding`` or ``default``.
    source: str
    #: What the record says, for a derived fact (also when overridden).
    derived: object = None
    #: How the record gave it, (zh, en): which obligation was late, the target…
    detail: tuple[str, str] = ("", "")
    evidence: str = ""
    reason: str = ""
    finding_id: int | None = None
    recorded_by_id: int | None = None
    recorded_at: datetime | None = None
    #: A derived fact the record cannot tell yet (the value shown is the default).
    pending: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "pending": self.pending,
            "value": self.value,
            "source": self.source,
            "derived": self.derived,
            "detail": {"zh": self.detail[0], "en": self.detail[1]} if self.detail[1] else None,
            "evidence": self.evidence,
            "reason": self.reason,
            "finding_id": self.finding_id,
            "recorded_by_id": self.recorded_by_id,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
        }


@dataclass(frozen=True)
class CaseFacts:
    """Every fact of a case, in the engine's order."""

    values: tuple[FactValue, ...]

    def facts(self) -> dict[str, object]:
        """The plain facts ``assess`` takes."""
        return {fv.key: fv.value for fv in self.values}

    def established(self) -> dict[str, object]:
        """The facts the record, an override or a finding gives; defaults left out."""
        return {fv.key: fv.value for fv in self.values if fv.source != "default"}

    def sources(self) -> dict[str, str]:
        return {fv.key: fv.source for fv in self.values}

    def pending(self) -> list[str]:
        """Derived facts the record cannot tell yet and nobody has overridden."""
        return [fv.key for fv in self.values if fv.pending]

    def get(self, key: str) -> FactValue:
        for fv in self.values:
            if fv.key == key:
                return fv
        raise KeyError(key)

    def to_dict(self) -> list[dict[str, object]]:
        return [fv.to_dict() for fv in self.values]

    def changed_since(
        self, facts: Mapping[str, object], sources: Mapping[str, object]
    ) -> list[str]:
        """The facts that moved since a determination made on ``facts`` (with its
        ``sources`` snapshot): a value, or what the record says beneath an override —
        the 30-day final report missed after the determination is such a change. The
        case is then flagged for a new determination; the old one stays."""
        changed = []
        for fv in self.values:
            before = sources.get(fv.key)
            derived_then = before.get("derived") if isinstance(before, Mapping) else None
            if facts.get(fv.key) != fv.value or (
                fv.key in DERIVED and isinstance(before, Mapping) and derived_then != fv.derived
            ):
                changed.append(fv.key)
        return changed


@dataclass(frozen=True)
class Derived:
    """A fact as the record gives it; ``value`` None: not known yet."""

    value: object
    detail: tuple[str, str]


def derived_facts(
    session: Session,
    incident: Incident,
    subject_id: int,
    *,
    now: datetime,
    exclude_case_id: int | None = None,
) -> dict[str, Derived]:
    """The four facts the record gives for ``subject_id`` on ``incident`` at ``now``."""
    reported = clocks.reporting(session, incident, now=now)
    handled = clocks.handling(session, incident, now=now)
    count = prior_sanctions(
        session,
        subject_id,
        before=incident.occurred_at or incident.detected_at,
        exclude_case_id=exclude_case_id,
    )
    return {
        "grade": Derived(incident.grade, ("事件当前级别", "the incident's current grade")),
        "reported_as_required": Derived(reported.value, reported.detail),
        "handled_promptly": Derived(handled.value, handled.detail),
        "prior_sanctions": Derived(
            count,
            (
                "事件发生前已执行的、因未落实制度受到的处理",
                "sanctions for not implementing the rules carried out before the incident",
            ),
        ),
    }


def prior_sanctions(
    session: Session, subject_id: int, *, before: datetime, exclude_case_id: int | None = None
) -> int:
    """How many sanctions for not implementing the rules ``subject_id`` had carried out
    on or before ``before`` (5.2(d)).

    5.2(d) names criticism and education and written self-criticism; a graver sanction
    for the same non-compliance carries that warning and more, so it counts as well. A
    sanction counts only once carried out, and only if the determination behind it found
    the rules not implemented.
    """
    stmt = select(func.count(Case.id)).where(
        Case.subject_id == subject_id,
        Case.sanction.is_not(None),
        Case.for_noncompliance.is_(True),
        Case.executed_at.is_not(None),
        Case.executed_at <= before,
    )
    if exclude_case_id is not None:
        stmt = stmt.where(Case.id != exclude_case_id)
    return int(session.scalar(stmt) or 0)


def current_findings(session: Session, case_id: int) -> dict[str, Finding]:
    """The latest entry per fact of ``case_id``."""
    rows = session.scalars(
        select(Finding).where(Finding.case_id == case_id).order_by(Finding.id)
    ).all()
    latest: dict[str, Finding] = {}
    for row in rows:
        latest[row.fact] = row
    return latest


def case_facts(session: Session, case: Case, *, now: datetime) -> CaseFacts:
    """The facts of ``case`` now: derived, overridden, found, or defaults."""
    derived = derived_facts(
        session, case.incident, case.subject_id, now=now, exclude_case_id=case.id
    )
    entered = current_findings(session, case.id)
    values = []
    for key in FACT_KEYS:
        row = entered.get(key)
        base = derived.get(key)
        if row is not None:
            values.append(
                FactValue(
                    key=key,
                    value=row.value,
                    source="override" if row.is_override else "finding",
                    derived=base.value if base else None,
                    detail=base.detail if base else ("", ""),
                    evidence=row.evidence,
                    reason=row.reason,
                    finding_id=row.id,
                    recorded_by_id=row.recorded_by_id,
                    recorded_at=row.recorded_at,
                )
            )
        elif base is not None:
            known = base.value is not None
            values.append(
                FactValue(
                    key=key,
                    value=base.value if known else FACT_DEFAULTS[key],
                    source="record",
                    derived=base.value,
                    detail=base.detail,
                    pending=not known,
                )
            )
        else:
            values.append(FactValue(key=key, value=FACT_DEFAULTS[key], source="default"))
    return CaseFacts(tuple(values))


@dataclass(frozen=True)
class Entry:
    """A fact to enter: a finding with its evidence, or an override with its reason."""

    fact: str
    value: object
    evidence: str = ""
    reason: str = ""


def parse_entries(data: object) -> list[Entry]:
    """Read ``[{"fact", "value", "evidence" | "reason"}, …]``; 422 naming the field at fault."""
    if not isinstance(data, list) or not data:
        raise ValidationError(
            "give a non-empty list of findings",
            field="findings",
            code="findings.give_non_empty_list",
        )
    entries: list[Entry] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        where = f"findings[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(
                "each finding is an object", field=where, code="each_finding_object"
            )
        unknown = sorted(str(k) for k in item if k not in ("fact", "value", "evidence", "reason"))
        if unknown:
            raise ValidationError(
                "unknown field; allowed: evidence, fact, reason, value",
                field=f"{where}.{unknown[0]}",
                code="unknown_field_allowed_evidence",
            )
        fact = item.get("fact")
        if not isinstance(fact, str) or fact not in FACT_KEYS:
            raise ValidationError(
                "fact must be one of %(choices)s",
                field=f"{where}.fact",
                code="fact",
                params={"choices": ", ".join(FACT_KEYS)},
            )
        if fact in seen:
            raise ValidationError(
                "%(fact)s is given twice",
                field=f"{where}.fact",
                code="given_twice",
                params={"fact": fact},
            )
        seen.add(fact)
        if "value" not in item:
            raise ValidationError("is required", field=f"{where}.value", code="required")
        texts = {}
        for name in ("evidence", "reason"):
            text = item.get(name, "")
            if not isinstance(text, str):
                raise ValidationError("must be a string", field=f"{where}.{name}", code="string")
            if len(text) > MAX_NOTE:
                raise ValidationError(
                    "must be at most %(max)s characters",
                    field=f"{where}.{name}",
                    code="too_long",
                    params={"max": MAX_NOTE},
                )
            texts[name] = text.strip()
        entries.append(Entry(fact, item["value"], texts["evidence"], texts["reason"]))
    return entries


def record_findings(
    session: Session, *, case: Case, entries: Iterable[Entry], actor: Actor, now: datetime
) -> list[Finding]:
    """Enter ``entries`` for ``case``: all or none, validated together against Article 5.

    A derived fact needs a ``reason`` (it overrides the record; audited as
    ``accountability.fact.overridden``); any other fact needs ``evidence`` (audited as
    ``accountability.finding.recorded``). The facts that result must be assessable:
    ``InvalidFacts`` names the fact at fault, and nothing is stored.
    """
    entries = list(entries)
    current = case_facts(session, case, now=now).facts()
    for entry in entries:
        if entry.fact in DERIVED and not entry.reason:
            raise ValidationError(
                "%(fact)s comes from the record; overriding it needs a reason",
                field="reason",
                code="reason.comes_from_record_overriding",
                params={"fact": entry.fact},
            )
        if entry.fact not in DERIVED and not entry.evidence:
            raise ValidationError(
                "a finding on %(fact)s needs an evidence note",
                field="evidence",
                code="evidence.finding_needs_evidence_note",
                params={"fact": entry.fact},
            )
        current[entry.fact] = entry.value
    assess(current)  # raises InvalidFacts naming the field; nothing is written then
    rows = []
    for entry in entries:
        override = entry.fact in DERIVED
        row = Finding(
            case_id=case.id,
            fact=entry.fact,
            value_json=json.dumps(entry.value),
            is_override=override,
            evidence=entry.evidence,
            reason=entry.reason if override else "",
            recorded_by_id=actor.person_id,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        rows.append(row)
        record(
            session,
            actor=actor,
            kind="accountability.fact.overridden"
            if override
            else "accountability.finding.recorded",
            subject_type="accountability_case",
            subject_id=case.id,
            incident_id=case.incident_id,
            now=now,
            data={
                "finding_id": row.id,
                "fact": entry.fact,
                "value": entry.value,
                "evidence": entry.evidence,
                "reason": row.reason,
            },
        )
    return rows
