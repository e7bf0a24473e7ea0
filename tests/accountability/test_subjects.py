"""Article 3: who answers for an incident, as the positions stood when it was detected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accountability.subjects import subjects_of
from incidents.errors import Conflict, Forbidden, ValidationError
from incidents.models import Incident
from incidents.org import Person, Position
from tests.accountability.support import HOUR, Bureau
from tests.conftest import T0


def _subjects(bureau: Bureau, incident_id: int) -> list[tuple[str, str, str]]:
    with bureau.factory() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        return [(x.login, x.role, x.clause) for x in subjects_of(s, incident)]


def test_it_names_everyone_article_3_holds_to_account_in_order(bureau: Bureau) -> None:
    incident = bureau.open_incident("major", caused_by="trafstaff")

    assert _subjects(bureau, incident) == [
        ("trafstaff", "staff", "3(4)"),
        ("trafhead", "department_head", "3(3)"),
        ("deputy", "deputy_director", "3(2)"),
        ("netsec", "deputy_director_netsec", "3(2)"),
        ("director", "director", "3(1)"),
        ("cchead", "command_center_head", "3(3)"),
    ]


def test_it_leaves_out_the_staff_member_until_one_is_identified(bureau: Bureau) -> None:
    incident = bureau.open_incident("general", caused_by=None)

    assert "trafstaff" not in [login for login, _, _ in _subjects(bureau, incident)]


def test_it_names_a_person_once_with_every_reason(bureau: Bureau) -> None:
    # netsec is in charge of the command center (分管) and of network security.
    incident = bureau.open_incident("general", department="cc", caused_by=None)
    with bureau.factory() as s:
        found = s.get(Incident, incident)
        assert found is not None
        netsec = [x for x in subjects_of(s, found) if x.login == "netsec"]

    assert len(netsec) == 1
    assert {b.role for b in netsec[0].also} == {"deputy_director_netsec"}


def test_it_answers_with_the_head_at_detection_not_today(bureau: Bureau) -> None:
    incident = bureau.open_incident("general", caused_by=None)
    with bureau.factory() as s, s.begin():
        # trafhead hands over to finhead two hours after the incident was detected.
        old = s.scalars(
            select(Position).where(Position.person_id == bureau.id_of("trafhead"))
        ).one()
        old.valid_until = T0 + 2 * HOUR
        s.add(
            Position(
                person_id=bureau.id_of("finhead"),
                role="department_head",
                department_id=old.department_id,
                valid_from=T0 + 2 * HOUR,
            )
        )

    logins = [login for login, _, _ in _subjects(bureau, incident)]
    assert "trafhead" in logins
    assert "finhead" not in logins


def test_it_opens_one_case_per_subject(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    bureau.open_case(incident, "trafhead", T0)

    with pytest.raises(Conflict):
        bureau.open_case(incident, "trafhead", T0 + timedelta(minutes=1))


def test_it_refuses_a_case_on_someone_article_3_does_not_name(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")

    with pytest.raises(ValidationError) as raised:
        bureau.open_case(incident, "finhead", T0)
    assert raised.value.field == "person_id"


def test_it_lets_only_the_investigators_open_a_case(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")

    with pytest.raises(Forbidden):
        bureau.open_case(incident, "trafstaff", T0, by="duty")


def test_it_opens_no_case_on_the_investigator_themselves(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")

    with pytest.raises(Conflict):
        bureau.open_case(incident, "netsec", T0, by="netsec")


def test_it_records_why_the_subject_answers(bureau: Bureau) -> None:
    incident = bureau.open_incident("general")
    case = bureau.case(bureau.open_case(incident, "deputy", T0))

    assert (case.subject_role, case.subject_clause) == ("deputy_director", "3(2)")
    with bureau.factory() as s:
        person = s.get(Person, case.subject_id)
        assert person is not None and person.login == "deputy"


def test_it_gives_a_reason_once_even_when_two_chains_name_it(bureau: Bureau) -> None:
    incident = bureau.open_incident("general", caused_by=None)
    with bureau.factory() as s:
        found = s.get(Incident, incident)
        assert found is not None
        director = [x for x in subjects_of(s, found) if x.login == "director"]

    assert director[0].also == ()


def _bases(bureau: Bureau, incident_id: int) -> dict[str, list[tuple[str, str]]]:
    """login -> [(basis kind, basis English text)] for every reason they answer."""
    with bureau.factory() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        return {
            x.login: [(b.kind, b.text[1]) for b in (x.basis, *x.also)]
            for x in subjects_of(s, incident)
        }


def test_every_affected_system_s_owner_operator_and_users_answer(bureau: Bureau) -> None:
    """谁主管谁负责,谁运维谁负责,谁使用谁负责 — for each system, not only the first."""
    incident = bureau.open_incident("major", caused_by=None, systems=("traffic-platform", "portal"))
    bases = _bases(bureau, incident)

    # Both owners: traffic owns the traffic platform, the office owns the portal.
    assert (
        "system_owner",
        "head of an affected system's owner department (whoever is in "
        "charge is responsible): 交通管理综合信息平台",
    ) in bases["trafhead"]
    assert (
        "system_owner",
        "head of an affected system's owner department (whoever is in "
        "charge is responsible): 局门户网站",
    ) in bases["officehead"]
    # The command center operates both, and cchead is the portal's named operator.
    kinds = {kind for kind, _ in bases["cchead"]}
    assert {"system_operator", "system_operator_person"} <= kinds
    # Finance uses the portal: its head answers as a user (谁使用谁负责).
    assert [kind for kind, _ in bases["finhead"]] == ["system_user"]


def test_a_system_party_can_be_made_the_subject_of_a_case(bureau: Bureau) -> None:
    incident = bureau.open_incident("general", caused_by=None, systems=("portal",))
    case = bureau.open_case(incident, "finhead", T0 + HOUR)

    found = bureau.case(case)
    assert (found.subject_basis, found.subject_clause) == ("system_user", "谁使用谁负责")


def test_3_4_a_staff_breach_is_the_staff_member_s_alone() -> None:
    """3(4): 因不遵守相关工作规定,造成网络安全事故的,由其本人负全部责任."""
    from accountability.subjects import STAFF_BREACH_TEXT

    assert STAFF_BREACH_TEXT[0].endswith("由其本人负全部责任")


def test_3_4_each_leader_says_why_they_answer_beside_a_staff_breach(bureau: Bureau) -> None:
    incident = bureau.open_incident("major", caused_by="trafstaff")
    with bureau.factory() as s:
        found = s.get(Incident, incident)
        assert found is not None
        standing = {x.login: x.standing for x in subjects_of(s, found)}

    assert "full personal responsibility (3(4))" in standing["trafstaff"][1]
    assert "由其本人负全部责任" in standing["director"][0]
    assert "overall leadership of network security" in standing["director"][1]
    assert "the department's own rules and staff" in standing["trafhead"][1]


def test_without_a_staff_breach_nobody_carries_a_3_4_standing(bureau: Bureau) -> None:
    incident = bureau.open_incident("major", caused_by=None)
    with bureau.factory() as s:
        found = s.get(Incident, incident)
        assert found is not None
        assert {x.standing for x in subjects_of(s, found)} == {("", "")}
