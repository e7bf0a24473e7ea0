"""Labels to system, department, grade and category through the policy's [intake] section;
an unknown value falls back and the incident's timeline says so."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy_intake import IntakePolicy
from escalation.intake import Alert, Notification, ingest
from escalation.intake_mapping import map_alert
from incidents.audit import AuditEvent
from incidents.models import Incident
from incidents.org import Department, Person, System
from tests.conftest import T0
from tests.escalation.support import DEFAULT_POLICY

INTAKE = DEFAULT_POLICY.intake


def code_of(s: Session, model: type[System] | type[Department], id_: int | None) -> str | None:
    if id_ is None:
        return None
    row = s.get(model, id_)
    assert row is not None
    return row.code


def test_critical_service_and_team_map_to_major_system_and_department(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s:
        m = map_alert(
            s,
            labels={"service": "portal", "team": "cc", "severity": "critical"},
            policy=INTAKE,
        )
        assert (m.grade, m.grade_from) == ("major", "severity=critical")
        assert (code_of(s, System, m.system_id), code_of(s, Department, m.department_id)) == (
            "portal",
            "cc",
        )
        assert m.fallbacks == () and m.notes == ()


def test_without_a_team_the_system_owner_answers_for_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s:
        m = map_alert(s, labels={"instance": "finance-system:9100"}, policy=INTAKE)
        assert m.system_code == "finance-system"  # an instance's host without its port
        assert m.department_code == "finance"  # 谁主管谁负责
        assert (m.grade, m.grade_from) == ("general", "intake.default_grade")
        assert m.fallbacks == ()


def test_unknown_values_fall_back_and_say_so(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s:
        m = map_alert(
            s,
            labels={
                "system": "mail-relay",
                "team": "noc",
                "severity": "urgent",
                "category": "gremlins",
            },
            policy=INTAKE,
        )
    assert (m.system_id, m.department_id, m.grade, m.category) == (None, None, "general", "other")
    assert m.fallbacks == ("system", "department", "grade", "category")
    assert "no system matches system=mail-relay: logged without a system" in m.notes
    assert "severity=urgent is not in intake.grades: graded general" in m.notes
    assert "no department matches team=noc: no department set" in m.notes


def test_aliases_an_explicit_grade_and_a_custom_severity_table(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    policy = IntakePolicy.from_dict(
        {
            "systems": {"nginx-portal": "portal"},
            "departments": {"netops": "cc"},
            "grades": {"p1": "especially_major"},
            "severity_labels": ["priority"],
        }
    )
    with factory() as s:
        m = map_alert(
            s, labels={"service": "nginx-portal", "team": "netops", "priority": "P1"}, policy=policy
        )
        assert (m.system_code, m.department_code, m.grade) == ("portal", "cc", "especially_major")
        # The generic webhook's own fields win over the labels.
        m = map_alert(
            s,
            labels={"priority": "P1"},
            policy=policy,
            severity="nothing-known",
            grade="relatively_major",
            category="network_attack",
        )
        assert (m.grade, m.grade_from, m.category) == (
            "relatively_major",
            "suggested by the sender",
            "network_attack",
        )


def test_ingest_opens_the_incident_as_mapped_and_records_the_fallback_on_the_timeline(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    note = Notification(
        source="alertmanager",
        key='{}:{alertname="PortalDown"}',
        title="Portal down",
        labels={"alertname": "PortalDown", "service": "portal", "severity": "catastrophic"},
        alerts=[Alert(status="firing", labels={}, annotations={}, fingerprint="a1")],
    )
    with any_factory() as s, s.begin():
        result = ingest(s, note=note, now=T0, policy=DEFAULT_POLICY)
    with any_factory() as s:
        incident = s.get(Incident, result.incident_id)
        assert incident is not None
        assert incident.grade == "general"
        assert [x.code for x in incident.systems] == ["portal"]
        assert code_of(s, Department, incident.responsible_department_id) == "office"
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.incident_id == result.incident_id))
        )
        mapped = [e for e in events if e.kind == "intake.mapped"]
        assert len(mapped) == 1
        assert mapped[0].payload["fallbacks"] == ["grade"]
        assert "severity=catastrophic is not in intake.grades" in mapped[0].payload["reason"]
        # Every intake is audited as monitoring, the incident's opening included.
        assert {e.source for e in events} == {"monitoring"}
        assert {e.actor_login for e in events} == {"monitoring:alertmanager"}
    with any_factory() as s, s.begin():  # a repeat maps nothing again
        ingest(s, note=note, now=T0, policy=DEFAULT_POLICY)
    with any_factory() as s:
        kinds = list(
            s.scalars(select(AuditEvent.kind).where(AuditEvent.incident_id == result.incident_id))
        )
        assert kinds.count("intake.mapped") == 1 and kinds.count("intake.repeated") == 1
