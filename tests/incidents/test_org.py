from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from incidents.audit import AuditEvent, system_actor
from incidents.org import Department, Person, System
from incidents.org_io import export_org, import_org
from incidents.responsibility import responsible_for
from tests.conftest import DEMO_ORG, T0


def test_importing_the_demo_org_twice_changes_nothing_the_second_time(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        before = s.scalar(select(func.count()).select_from(AuditEvent))
        result = import_org(
            s, DEMO_ORG.read_text(encoding="utf-8"), actor=system_actor("cli"), now=T0
        )
        after = s.scalar(select(func.count()).select_from(AuditEvent))
    assert not result.changed
    assert before == after


def test_export_then_import_is_a_no_op(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        text = export_org(s)
        result = import_org(s, text, actor=system_actor("cli"), now=T0)
    assert not result.changed, (result.created, result.updated)


def test_the_chain_for_a_business_department_follows_article_3(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s:
        traffic = s.scalars(select(Department).where(Department.code == "traffic")).one()
        chain = responsible_for(s, at=T0, department_id=traffic.id)
    assert [(r.login, r.clause) for r in chain] == [
        ("trafhead", "3(3)"),
        ("deputy", "3(2)"),
        ("netsec", "3(2)"),
        ("director", "3(1)"),
    ]


def test_a_system_answers_through_its_owner_department(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s:
        portal = s.scalars(select(System).where(System.code == "portal")).one()
        chain = responsible_for(s, at=T0, system_id=portal.id)
    assert [r.login for r in chain] == ["officehead", "netsec", "director"]


def test_the_chain_is_the_one_that_held_at_the_time(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    later = T0 + timedelta(days=30)
    text = DEMO_ORG.read_text(encoding="utf-8").replace(
        '{role: department_head, department: traffic, from: "2024-01-01T00:00:00+08:00", '
        "title: 交通管理处处长}",
        '{role: department_head, department: traffic, from: "2024-01-01T00:00:00+08:00", '
        f'until: "{later.isoformat()}", title: 交通管理处处长}}',
    )
    assert text != DEMO_ORG.read_text(encoding="utf-8")
    with factory() as s, s.begin():
        import_org(s, text, actor=system_actor("cli"), now=T0)
    with factory() as s:
        traffic = s.scalars(select(Department).where(Department.code == "traffic")).one()
        before = responsible_for(s, at=T0, department_id=traffic.id)
        after = responsible_for(s, at=later + timedelta(seconds=1), department_id=traffic.id)
    assert before[0].login == "trafhead"
    assert "trafhead" not in [r.login for r in after]


def test_the_deputy_in_charge_of_the_department_itself_comes_before_one_above_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    extra = """
people:
  - login: elder
    name: 老副局长
    positions:
      - {role: deputy_director, department: leadership, from: "2024-01-01T00:00:00+08:00",
         in_charge_of: [leadership]}
"""
    with factory() as s, s.begin():
        import_org(s, extra, actor=system_actor("cli"), now=T0)
    with factory() as s:
        traffic = s.scalars(select(Department).where(Department.code == "traffic")).one()
        chain = [r.login for r in responsible_for(s, at=T0, department_id=traffic.id)]
    assert chain.index("deputy") < chain.index("elder") < chain.index("netsec")
