"""Writing organisation rows with their audit trail, for the organisation import.

:class:`OrgWriter` adds or changes one department, person, position or system at a time
and records exactly one audit event (``org.<subject>.created`` or ``.updated``) for each
real change, so that re-importing an unchanged file writes nothing. :class:`ImportResult`
counts what was created and updated, per kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit import Actor, record


@dataclass
class ImportResult:
    """What an import changed: how many rows of each kind (``people``, …) were created or
    updated."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def bump(self, what: str, kind: str) -> None:
        target = self.created if what == "created" else self.updated
        target[kind] = target.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


@dataclass
class OrgWriter:
    """Creates and updates organisation rows, auditing each real change once."""

    session: Session
    actor: Actor
    now: datetime
    result: ImportResult

    def created(self, row: Any, *, subject: str, plural: str, data: Mapping[str, Any]) -> None:
        self.session.add(row)
        self.session.flush()
        self.result.bump("created", plural)
        record(
            self.session,
            actor=self.actor,
            kind=f"org.{subject}.created",
            subject_type=subject,
            subject_id=row.id,
            data=dict(data),
            now=self.now,
        )

    def changed(self, row: Any, *, subject: str, plural: str, data: Mapping[str, Any]) -> None:
        self.result.bump("updated", plural)
        record(
            self.session,
            actor=self.actor,
            kind=f"org.{subject}.updated",
            subject_type=subject,
            subject_id=row.id,
            data=dict(data),
            now=self.now,
        )

    def update(self, row: Any, values: Mapping[str, Any], *, subject: str, plural: str) -> None:
        """Set the values that differ; audit them together."""
        changes = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            self.changed(row, subject=subject, plural=plural, data=changes)
