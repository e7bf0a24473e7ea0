"""Who sees which incident: a department's own, and those on the systems it uses (使用).

The systems a viewer's departments use are read once with the capabilities; the filter
matches incidents against that list. A hand-made ``Capabilities`` without the list asks
``system_user`` itself and sees the same incidents.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.policy import load_policy
from escalation.response import open_incident
from incidents.inputs import IncidentInput
from incidents.models import Incident
from incidents.org import Department, Person, System
from incidents.permissions import can_view, capabilities
from incidents.queries import IncidentFilter, list_incidents
from tests.conftest import T0, actor_for

POLICY = load_policy()
# title: (responsible department, system or None)
INCIDENTS = {
    "交通处自己的": ("traffic", None),
    "门户网站的": ("finance", "portal"),
    "财务系统的": ("finance", "finance-system"),
    "法制处的": ("legal", None),
    "协同办公的": ("legal", "oa"),
}


def _open_all(factory: sessionmaker[Session], org: dict[str, Person]) -> None:
    for title, (department, system) in INCIDENTS.items():
        with factory() as s, s.begin():
            dept = s.scalars(select(Department.id).where(Department.code == department)).one()
            systems = list(s.scalars(select(System.id).where(System.code == system)))
            data = IncidentInput.parse(
                {
                    "title": title,
                    "category": "network_attack",
                    "grade": "general",
                    "detected_at": T0.isoformat(),
                    "responsible_department_id": dept,
                    "system_ids": systems,
                }
            )
            open_incident(s, data=data, actor=actor_for(org["duty"]), now=T0, policy=POLICY)


def test_a_department_head_sees_their_division_and_the_systems_it_uses(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    with any_factory() as s:
        caps = capabilities(s, s.get(Person, any_org["trafhead"].id), T0)  # type: ignore[arg-type]
        used = set(
            s.scalars(select(System.code).where(System.id.in_(caps.system_ids or frozenset())))
        )
        assert used == {"portal", "traffic-platform", "oa"}
        seen = [i.title for i in list_incidents(s, caps, IncidentFilter()).items]
        assert sorted(seen) == sorted(["交通处自己的", "门户网站的", "协同办公的"])
        # The same without the list read beforehand: system_user asked in the query.
        unread = replace(caps, system_ids=None)
        assert [i.title for i in list_incidents(s, unread, IncidentFilter()).items] == seen
        for incident in s.scalars(select(Incident)):
            assert can_view(s, caps, incident) == (incident.title in seen)


def test_a_division_using_no_system_sees_only_its_own(
    any_factory: sessionmaker[Session], any_org: dict[str, Person]
) -> None:
    _open_all(any_factory, any_org)
    with any_factory() as s:
        caps = capabilities(s, s.get(Person, any_org["trafhead"].id), T0)  # type: ignore[arg-type]
        alone = replace(caps, system_ids=frozenset())
        seen = [i.title for i in list_incidents(s, alone, IncidentFilter()).items]
        assert seen == ["交通处自己的"]
