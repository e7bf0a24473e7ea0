"""Helpers for the accountability tests: incidents through the real use cases, and cases
walked step by step as the people of the demo organisation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability import cases
from accountability.facts import Entry
from accountability.models import Case
from config.policy import load_policy
from escalation import response
from escalation.models import Notification
from incidents.inputs import IncidentInput
from incidents.org import Department, Person, System
from tests.conftest import T0, actor_for

POLICY = load_policy()
HOUR = timedelta(hours=1)
T = TypeVar("T")

INITIAL_ITEMS = {"entity": "交通管理综合信息平台", "occurrence": "页面被篡改,已断网处置"}
FINAL_ITEMS = {
    "cause": "未及时修补漏洞",
    "measures": "恢复系统",
    "harm": "页面被篡改两小时",
    "accountability": "已启动责任追究",
    "rectification": "补丁与加固",
    "lessons": "落实补丁管理制度",
}


class Bureau:
    """The demo organisation acting on one database at the times the test chooses."""

    def __init__(self, factory: sessionmaker[Session], org: dict[str, Person]) -> None:
        self.factory = factory
        self.org = org

    def id_of(self, login: str) -> int:
        return self.org[login].id

    def department(self, code: str) -> int:
        with self.factory() as s:
            return s.scalars(select(Department.id).where(Department.code == code)).one()

    def run(self, login: str, at: datetime, work: Callable[..., T], **kw: Any) -> T:
        """Run ``work(session, actor=<login>, now=at, **kw)`` in one transaction."""
        with self.factory() as s, s.begin():
            result = work(s, actor=actor_for(self.org[login]), now=at, **kw)
            s.flush()
            return result

    def open_incident(
        self,
        grade: str,
        *,
        at: datetime = T0,
        department: str = "traffic",
        caused_by: str | None = "trafstaff",
        systems: tuple[str, ...] = (),
    ) -> int:
        data: dict[str, Any] = {
            "title": "交通管理平台页面被篡改",
            "category": "network_attack",
            "grade": grade,
            "detected_at": at.isoformat(),
            "responsible_department_id": self.department(department),
        }
        if systems:
            with self.factory() as s:
                data["system_ids"] = [
                    s.scalars(select(System.id).where(System.code == code)).one()
                    for code in systems
                ]
        if caused_by is not None:
            data["caused_by_id"] = self.id_of(caused_by)
        incident = self.run(
            "duty", at, response.open_incident, data=IncidentInput.parse(data), policy=POLICY
        )
        return incident.id

    def file(
        self, incident_id: int, at: datetime, obligation: str, *, late_reason: str | None = None
    ) -> None:
        kind = "final" if obligation == "final" else "initial"
        items: dict[str, object] = dict(FINAL_ITEMS if kind == "final" else INITIAL_ITEMS)
        items["obligation"] = obligation
        self.run(
            "duty",
            at,
            response.file_report,
            incident_id=incident_id,
            kind=kind,
            items=items,
            policy=POLICY,
            late_reason=late_reason,
        )

    def resolve(self, incident_id: int, at: datetime) -> None:
        self.run("cchead", at, response.start_handling, incident_id=incident_id)
        self.run("cchead", at, response.resolve, incident_id=incident_id, policy=POLICY)

    def open_case(self, incident_id: int, subject: str, at: datetime, by: str = "lgoffice") -> int:
        case = self.run(
            by, at, cases.open_case, incident_id=incident_id, person_id=self.id_of(subject)
        )
        return case.id

    def find(self, case_id: int, at: datetime, by: str = "lgoffice", **facts: object) -> None:
        """Enter findings (each with an evidence note) or, for derived facts, overrides."""
        from accountability.facts import DERIVED

        entries = [
            Entry(
                key,
                value,
                evidence="" if key in DERIVED else f"调查记录:{key}",
                reason=f"调查认定:{key}" if key in DERIVED else "",
            )
            for key, value in facts.items()
        ]
        self.run(by, at, cases.enter_findings, case_id=case_id, entries=entries)

    def case_on(self, session: Session, case_id: int) -> Case:
        found = session.get(Case, case_id)
        assert found is not None
        return found

    def case(self, case_id: int) -> Case:
        with self.factory() as s:
            found = s.get(Case, case_id)
            assert found is not None
            found.determinations  # noqa: B018 - load while the session is open
            return found

    def notified(self, case_id: int, step: str) -> set[str]:
        """Logins that got an inbox notice about ``step`` of ``case_id``."""
        with self.factory() as s:
            rows = s.execute(
                select(Notification.payload_json, Person.login)
                .join(Person, Person.id == Notification.person_id)
                .where(Notification.kind == "case", Notification.channel == "inbox")
            ).all()
        import json

        found = set()
        for payload, login in rows:
            data = json.loads(payload)
            if data.get("case_id") == case_id and data.get("case_step") == step:
                found.add(login)
        return found


def decide_milder_case(
    bureau: Bureau, incident_id: int, at: datetime, *, rules_implemented: bool
) -> int:
    """Take trafstaff's case on a general incident (detected at T0, resolved in time) to a
    6(1) decision of criticism and education; return the case id.

    With the rules not implemented it is 5.1(b); otherwise the internal report is left
    unfiled, and the missed report makes it 5.1(a).
    """
    if not rules_implemented:
        bureau.file(incident_id, T0 + HOUR, "internal")
    bureau.resolve(incident_id, T0 + 70 * HOUR)
    case = bureau.open_case(incident_id, "trafstaff", at)
    if not rules_implemented:
        bureau.find(case, at, rules_implemented=False)
    row = bureau.run("lgoffice", at, cases.determine, case_id=case)
    assert row.tier == 1, row.assessment
    bureau.run("lgoffice", at, cases.propose, case_id=case, sanction="criticism_education")
    bureau.run("lgmember", at, cases.decide, case_id=case)
    return case


DAY = T0 + 24 * HOUR


def tier3_case(bureau: Bureau, subject: str = "trafstaff") -> int:
    """A major incident handled late with some impact (5.3(b)): tier 3, determined."""
    incident = bureau.open_incident("major")
    bureau.file(incident, T0 + HOUR / 2, "internal")
    bureau.file(incident, T0 + 2 * HOUR, "external")
    bureau.resolve(incident, T0 + 14 * HOUR)
    # Every report filed: a determination waits while one is still due (issue 10, 4).
    bureau.file(incident, T0 + 20 * HOUR, "final")
    case = bureau.open_case(incident, subject, DAY)
    bureau.find(case, DAY, impact="some")
    row = bureau.run("lgoffice", DAY, cases.determine, case_id=case)
    assert row.tier == 3
    return case


def tier4_case(bureau: Bureau) -> int:
    """Evidence destroyed after the incident (5.4(c)): tier 4, determined."""
    incident = bureau.open_incident("general")
    bureau.resolve(incident, T0 + HOUR)
    case = bureau.open_case(incident, "trafstaff", DAY)
    bureau.find(case, DAY, evidence_destroyed_or_falsified=True)
    assert bureau.run("lgoffice", DAY, cases.determine, case_id=case).tier == 4
    return case
