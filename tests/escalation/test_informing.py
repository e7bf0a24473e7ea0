"""Leaders are told, and Fenghuo knows they were told (issue 9: page vs inform).

The default policy, major incident: the duty officer logs it and acknowledges at once.
Paging stops; informing does not — 3(2) the deputy director for network security is
informed at once, 3(1) the director within 10 minutes, 6(1) the leading group within 30
minutes, each confirms receipt (签收) themselves, and an unconfirmed inform is repeated
and goes one up (and to the leader's deputy).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from escalation import receipts
from escalation.models import Notification, Obligation, Receipt, Timer
from incidents.errors import Forbidden
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import Walk, ack, at, file, open_, people, resolve


def _receipts(factory: sessionmaker[Session], incident_id: int) -> list[Receipt]:
    with factory() as s:
        stmt = (
            select(Receipt)
            .options(joinedload(Receipt.person))
            .where(Receipt.incident_id == incident_id)
            .order_by(Receipt.id)
        )
        return list(s.scalars(stmt))


def _confirm(
    factory: sessionmaker[Session], org: dict[str, Person], receipt_id: int, who: str, minute: float
) -> bool:
    with factory() as s, s.begin():
        return receipts.confirm(
            s, receipt_id=receipt_id, actor=actor_for(org[who]), via="web", now=at(minute)
        ).changed


def _open_receipt(factory: sessionmaker[Session], incident_id: int, login: str) -> Receipt:
    return next(
        r
        for r in _receipts(factory, incident_id)
        if r.person.login == login and r.confirmed_at is None and r.source == "step"
    )


def test_the_duty_officers_acknowledgement_does_not_stop_the_leaders_being_informed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id)
    assert ack(factory, org, incident_id, 0.1, who="duty")
    walk.to(31)
    # 3(2) at once, 3(1) at 10 min, 6(1) the leading group and its office at 30 min.
    assert people("inform", "netsec") <= walk.timeline[0]
    assert people("inform", "director") <= walk.timeline[10]
    assert people("inform", "lgmember", "lgoffice") <= walk.timeline[30]
    # The pages for a responder stopped with the acknowledgement.
    assert not any(kind == "step" for m in range(1, 32) for kind, _ in walk.timeline.get(m, ()))


def test_each_leader_confirms_their_own_receipt_and_nobody_else_can(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    Walk(factory, incident_id).to(10)
    director = _open_receipt(factory, incident_id, "director")
    with pytest.raises(Forbidden):
        _confirm(factory, org, director.id, "duty", 11)
    with pytest.raises(Forbidden):
        _confirm(factory, org, director.id, "admin", 11)
    assert _confirm(factory, org, director.id, "director", 11)
    assert not _confirm(factory, org, director.id, "director", 12)  # a second press: harmless
    with factory() as s:
        confirmed = s.get(Receipt, director.id)
        assert confirmed is not None
        assert confirmed.confirmed_at == at(11)
        assert confirmed.confirmed_via == "web"
        # Its escalation timer is cancelled: nobody above is told.
        timer = s.scalars(select(Timer).where(Timer.receipt_id == director.id)).one()
        assert (timer.status, timer.cancel_reason) == ("cancelled", "confirmed")


def test_an_unconfirmed_inform_is_repeated_then_goes_one_up_and_to_the_deputy(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        s.execute(
            update(Person).where(Person.id == org["netsec"].id).values(deputy_id=org["deputy"].id)
        )
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id)
    walk.to(16)
    # Reminded at 5 and 10 minutes (repeat_every PT5M, repeat_max 2), only 3(2) herself.
    assert people("inform", "netsec") <= walk.timeline[5]
    assert people("inform", "netsec") <= walk.timeline[10]
    # Not confirmed within 15 minutes: the next person up (3(1)) and the named deputy.
    assert people("inform", "director", "deputy") <= walk.timeline[15]
    rows = _receipts(factory, incident_id)
    first = next(r for r in rows if r.person.login == "netsec" and r.source == "step")
    assert first.escalated_at == at(15)
    escalated = {r.person.login: r for r in rows if r.source == "escalated"}
    assert set(escalated) == {"director", "deputy"}
    assert {r.target for r in escalated.values()} == {"next_up", "deputy"}
    assert all(r.escalated_from_id == first.id for r in escalated.values())
    with factory() as s:
        text = s.scalars(
            select(Notification.text_zh).where(
                Notification.receipt_id == escalated["director"].id,
                Notification.channel == "inbox",
            )
        ).one()
    assert "未在15分钟内签收" in text


def test_a_leader_who_confirms_is_not_reminded(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id)
    _confirm(factory, org, _open_receipt(factory, incident_id, "netsec").id, "netsec", 2)
    walk.to(16)
    assert ("inform", "netsec") not in walk.timeline.get(5, set())
    # Nobody is told in her stead at 15 minutes (the director's own step-2 reminder is
    # about his receipt, not hers).
    assert not [r for r in _receipts(factory, incident_id) if r.source == "escalated"]


def test_resolving_ends_the_paging_but_not_the_informing(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id)
    resolve(factory, org, incident_id, 1)
    walk.to(10)
    assert people("inform", "director") <= walk.timeline[10]


def test_an_upgrade_informs_at_the_new_grade(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    from tests.escalation.support import regrade

    incident_id = open_(factory, org, "relatively_major")
    walk = Walk(factory, incident_id).to(3)
    regrade(factory, org, incident_id, 3, "especially_major")
    walk.note()
    # 特别重大: the director and 3(2) at once.
    assert people("inform", "director", "netsec") <= walk.timeline[3]


def test_filing_the_internal_report_delivers_it_to_the_leading_group(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(5)
    file(factory, org, incident_id, 5, obligation="internal")
    walk.note()
    # The leading group's members (6(1)): the director, 3(2) and the member.
    assert people("report", "netsec", "director", "lgmember") <= walk.timeline[5]
    delivered = [r for r in _receipts(factory, incident_id) if r.source == "report"]
    assert {r.person.login for r in delivered} == {"netsec", "director", "lgmember"}
    with factory() as s:
        note = s.scalars(
            select(Notification).where(
                Notification.receipt_id == delivered[0].id, Notification.channel == "inbox"
            )
        ).one()
        assert note.payload["report_id"] == delivered[0].report_id
        assert note.payload["link_path"].endswith(f"/reports/{delivered[0].report_id}")
        # The Art. 7 items as text.
        assert "涉事单位名称" in note.text_zh and "交通管理综合信息平台" in note.text_zh
    # Each confirms; an unconfirmed one goes one up after confirm_within (PT15M).
    lgmember = next(r for r in delivered if r.person.login == "lgmember")
    assert _confirm(factory, org, lgmember.id, "lgmember", 6)
    walk.to(21)
    report_rows = [r for r in _receipts(factory, incident_id) if r.report_id is not None]
    assert {r.person.login for r in report_rows if r.escalated_at is not None} == {
        "netsec",
        "director",
    }


def test_a_report_to_the_cac_tells_the_leadership_that_it_was_filed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(5)
    file(factory, org, incident_id, 5, obligation="external")
    walk.note()
    assert people("report", "netsec", "director") <= walk.timeline[5]
    with factory() as s:
        texts = s.scalars(
            select(Notification.text_zh).where(
                Notification.incident_id == incident_id,
                Notification.kind == "report",
                Notification.channel == "inbox",
            )
        ).all()
    assert texts and all("已于" in t and "报送《向网信部门初次报告》" in t for t in texts)


def test_after_an_outage_late_pages_say_so_and_past_warnings_are_not_sent(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    # The worker is down for 70 minutes: nothing is swept until then.
    walk = Walk(factory, incident_id)
    walk.minute = 69
    walk.to(70)
    with factory() as s:
        warnings = s.scalars(
            select(Timer).where(Timer.incident_id == incident_id, Timer.kind == "warning")
        ).all()
        internal = s.scalars(
            select(Obligation).where(
                Obligation.incident_id == incident_id, Obligation.name == "internal"
            )
        ).one()
        director = s.scalars(
            select(Notification.text_zh)
            .join(Receipt, Receipt.id == Notification.receipt_id)
            .join(Person, Person.id == Receipt.person_id)
            .where(Person.login == "director", Notification.channel == "inbox")
        ).first()
    # The internal report's half-way and nine-tenths warnings (30 and 54 min) are stale.
    stale = [w for w in warnings if w.obligation_id == internal.id]
    assert stale and all(w.cancel_reason == "the deadline has already passed" for w in stale)
    # The breach is dated at the deadline (60 min), not at the worker's return (70 min).
    assert internal.status == "missed"
    assert internal.breached_at == T0 + timedelta(hours=1)
    # The director's inform was due at 10 min and went out at 70: it says it is late.
    assert director is not None and "迟发60分钟" in director


def test_an_unconfirmed_line_of_escalation_climbs_and_ends(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id = open_(factory, org, "major")
    walk = Walk(factory, incident_id).to(240)
    with factory() as s:
        waiting = s.scalars(
            select(Timer).where(
                Timer.incident_id == incident_id,
                Timer.kind == "receipt",
                Timer.status == "pending",
            )
        ).all()
    assert waiting == []  # every line of escalation reached the top and stopped
    assert max(m for m, seen in walk.timeline.items() if any(k == "inform" for k, _ in seen)) < 200
    # Nobody is told twice along one line: each escalated receipt names someone new.
    rows = _receipts(factory, incident_id)
    by_id = {r.id: r for r in rows}
    for r in rows:
        line, current = [r.person_id], r
        while current.escalated_from_id is not None:
            current = by_id[current.escalated_from_id]
            line.append(current.person_id)
        assert len(line) == len(set(line))
