"""Filing a report from the web and the report as a document (page, PDF, DOCX)."""

from __future__ import annotations

import io
import re

from docx import Document
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import Obligation
from incidents.clock import FrozenClock
from incidents.org import Person
from incidents.reports import Report
from tests.web.conftest import Browser, open_

INITIAL = {
    "kind": "initial",
    "items.entity": "某市局交通管理处；交通管理综合信息平台（关键信息基础设施）",
    "items.occurrence": "2026年11月27日09时发现平台主要功能中断，已切换备用链路。",
}


def _file(duty: Browser, incident: int, form: dict[str, str]) -> int:
    reply = duty.post(f"/incidents/{incident}/reports/new", form)
    assert reply.status_code == 302, reply.get_data(as_text=True)[-2000:]
    found = re.search(r"/reports/(\d+)$", reply.headers["Location"])
    assert found is not None
    return int(found.group(1))


def test_an_initial_report_fulfils_the_obligations_in_time(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    sessions: sessionmaker[Session],
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    clock.advance(minutes=40)
    _file(duty, incident, INITIAL)
    with sessions() as s:
        statuses = dict(
            s.execute(
                select(Obligation.name, Obligation.status).where(Obligation.incident_id == incident)
            ).all()
        )
    assert statuses["internal"] == "met"
    assert statuses["external"] == "met"


def test_the_form_drafts_items_one_and_two_from_the_record(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now(), system="traffic-platform")
    page = duty.text(f"/incidents/{incident}/reports/new")
    assert "交通管理综合信息平台（关键信息基础设施" in page
    assert "发现（获知）时间：2026年11月27日 09时00分" in page


def test_an_initial_report_without_item_two_is_refused_naming_it(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    sessions: sessionmaker[Session],
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    reply = duty.post(f"/incidents/{incident}/reports/new", {**INITIAL, "items.occurrence": ""})
    assert reply.status_code == 422
    assert 'id="item-occurrence" name="items.occurrence" rows="5" aria-invalid="true"' in (
        reply.get_data(as_text=True)
    )
    with sessions() as s:
        assert s.scalars(select(Report)).first() is None


def test_a_late_report_needs_its_reason(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    clock.advance(hours=2)
    refused = duty.post(f"/incidents/{incident}/reports/new", INITIAL)
    assert refused.status_code == 422
    assert 'id="late_reason-error"' in refused.get_data(as_text=True)
    _file(duty, incident, {**INITIAL, "late_reason": "值班电话故障，未能及时联系领导"})


def test_the_document_lays_out_the_art7_items_in_order(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    page = duty.text(f"/incidents/{incident}/reports/{report}")
    labels = [f"（{n}）" for n in "一二三四五六七八"]
    positions = [page.index(label) for label in labels]
    assert positions == sorted(positions)
    assert "网络安全事件报告" in page and "（初次报告）" in page
    assert "重大网络安全事件（Ⅱ级）" in page
    assert "（本次未报，将及时补报）" in page  # item 3 onwards follow as a supplement
    assert "局网络安全工作领导小组、属地网信部门" in page


def test_the_pdf_is_a_pdf(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    reply = duty.get(f"/incidents/{incident}/reports/{report}.pdf")
    assert reply.status_code == 200
    assert reply.mimetype == "application/pdf"
    assert reply.data.startswith(b"%PDF-")
    assert "attachment" in reply.headers["Content-Disposition"]


def test_the_docx_holds_the_same_items(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    reply = duty.get(f"/incidents/{incident}/reports/{report}.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(reply.data)).paragraphs)
    assert "（一）涉事单位名称及涉事系统或设施基本情况" in text
    assert INITIAL["items.occurrence"] in text


def test_a_report_of_another_incident_is_not_found(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    first = open_(app, org, grade="major", at=clock.now())
    second = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, first, INITIAL)
    assert duty.get(f"/incidents/{second}/reports/{report}").status_code == 404


FINAL = {
    "kind": "final",
    "items.cause": "防火墙策略配置错误。",
    "items.measures": "切换备用链路，修正策略。",
    "items.harm": "平台主要功能中断45分钟。",
    "items.accountability": "对运维人员批评教育。",
    "items.rectification": "建立变更双人复核制度。",
    "items.lessons": "变更前须演练回退。",
}


def test_the_final_report_follows_art8_after_handling_ends(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    sessions: sessionmaker[Session],
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    _file(duty, incident, INITIAL)
    duty.post(f"/incidents/{incident}/start")
    duty.post(f"/incidents/{incident}/resolve", {"reason": "已恢复"})
    report = _file(duty, incident, FINAL)
    with sessions() as s:
        final = s.scalars(
            select(Obligation.status).where(
                Obligation.incident_id == incident, Obligation.name == "final"
            )
        ).one()
    assert final == "met"
    page = duty.text(f"/incidents/{incident}/reports/{report}")
    assert "（处置总结报告）" in page
    assert "（六）教训" in page
    assert "变更前须演练回退。" in page


def test_a_supplement_before_the_initial_report_comes_back_on_the_form(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    reply = duty.post(
        f"/incidents/{incident}/reports/new", {"kind": "supplement", "items.trend": "趋于平稳"}
    )
    assert reply.status_code == 409
    assert "请先提交初次报告" in reply.get_data(as_text=True)  # the domain error, in zh_CN
