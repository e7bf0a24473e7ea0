"""A filed report reaches a leader's mailbox with its PDF: the app's attachment source
(``app.reports.attachments``) behind the email channel, received by aiosmtpd on loopback."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.reports.attachments import ReportPdfs
from app.reports.document import build
from escalation.channels.base import OutgoingMessage
from escalation.channels.email import EmailChannel
from incidents.models import Incident
from incidents.org import Person
from incidents.reports import Report
from tests.channels.smtp_server import Mailbox, smtp_server
from tests.escalation.support import file, open_

SHANGHAI = ZoneInfo("Asia/Shanghai")


def filed_report(factory: sessionmaker[Session], org: dict[str, Person]) -> tuple[int, int, str]:
    incident_id = open_(factory, org, "major")
    file(factory, org, incident_id, 5)
    with factory() as s:
        report = s.scalars(select(Report).where(Report.incident_id == incident_id)).one()
        incident = s.get(Incident, incident_id)
        assert incident is not None
        return incident_id, report.id, build(s, incident, report, SHANGHAI).filename


def message(incident_id: int, report_id: int | None, person: Person) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=900,
        incident_id=incident_id,
        incident_number="FH",
        grade="major",
        category="network_attack",
        title="门户网站被篡改",
        recipient_person_id=person.id,
        recipient_login=person.login,
        recipient_language="zh_CN",
        destination_address="director@example.gov.cn",
        kind="report",
        text_zh="【烽火】值班员于 09:05 报送《网络安全事件报告》(初次报告),请审阅并签收:",
        text_en="[Fenghuo] The duty officer filed the report; please read and confirm:",
        link_path=f"/incidents/{incident_id}",
        receipt_id=1,
        report_id=report_id,
    )


def test_the_leader_receives_the_filed_report_as_its_pdf(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id, report_id, filename = filed_report(factory, org)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        EmailChannel(
            host="127.0.0.1",
            port=port,
            sender="noreply@example.gov.cn",
            security="none",
            public_url="https://fenghuo.example.gov.cn",
            secret_key="k" * 32,
            attachments=ReportPdfs(session_factory=factory, tz=SHANGHAI),
        ).send(message(incident_id, report_id, org["director"]))

    [attached] = list(mailbox.received[0].message.iter_attachments())
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == f"{filename}.pdf" and "初次报告" in filename
    data = attached.get_content()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_the_source_opens_its_own_engine_from_a_url(
    sqlite_url: str, factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    incident_id, report_id, filename = filed_report(factory, org)
    source = ReportPdfs(database_url=sqlite_url, tz=SHANGHAI)
    try:
        [pdf] = source(message(incident_id, report_id, org["director"]))
    finally:
        source.close()
    assert (pdf.filename, pdf.content_type) == (f"{filename}.pdf", "application/pdf")
    assert pdf.data.startswith(b"%PDF-")


def test_a_notice_without_a_report_has_no_files_and_a_missing_report_says_so(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    source = ReportPdfs(session_factory=factory, tz=SHANGHAI)
    assert source(message(1, None, org["director"])) == []
    with pytest.raises(LookupError, match="no report with id 4242"):
        source(message(1, 4242, org["director"]))
