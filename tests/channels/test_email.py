"""The email channel against a real SMTP server on loopback (aiosmtpd).

What arrives is parsed with the ``email`` package, as a mail client would: the subject
in the recipient's language, both parts, the incident link, the receipt link of an
inform, the report's PDF. Failures map as the outbox needs: an address the server
refuses for good is permanent; the server down, slow, busy or refusing the login is
temporary.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from config.settings import ConfigError, SmtpSettings, load_settings
from escalation.channels.base import (
    Attachment,
    Channel,
    ChannelError,
    OutgoingMessage,
    make_channel,
)
from escalation.channels.email import EmailChannel
from escalation.receipt_links import PATH, read_confirm_token
from tests.channels.smtp_server import (
    PASSWORD,
    USER,
    Mailbox,
    client_context,
    free_port,
    make_certificate,
    smtp_server,
)

PUBLIC = "https://fenghuo.example.gov.cn"
SECRET = "k" * 32
PDF = b"%PDF-1.4\n% a report\n%%EOF\n"

MESSAGE = OutgoingMessage(
    notification_id=41,
    incident_id=7,
    incident_number="FH-2026-0007",
    grade="major",
    category="network_attack",
    title="勒索软件",
    recipient_person_id=3,
    recipient_login="director",
    recipient_language="zh_CN",
    destination_address="director@example.gov.cn",
    kind="step",
    text_zh="【烽火】重大事件 FH-2026-0007「勒索软件」需要您确认处置(第1级)。",
    text_en="[Fenghuo] Major incident FH-2026-0007 “勒索软件” needs your acknowledgement (step 1).",
    link_path="/incidents/7",
)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


def channel(port: int, **overrides: Any) -> EmailChannel:
    options: dict[str, Any] = dict(
        host="127.0.0.1",
        port=port,
        sender="烽火 <noreply@example.gov.cn>",
        security="none",
        timeout=5.0,
        public_url=PUBLIC,
        secret_key=SECRET,
    )
    options.update(overrides)
    return EmailChannel(**options)


@pytest.fixture
def plain(mailbox: Mailbox) -> Iterator[int]:
    with smtp_server(mailbox) as port:
        yield port


def body(mail: EmailMessage, subtype: str) -> str:
    part = mail.get_body(preferencelist=(subtype,))
    assert part is not None and part.get_content_type() == f"text/{subtype}"
    content = part.get_content()
    assert isinstance(content, str)
    return content


# --- what arrives --------------------------------------------------------------------------


def test_a_notice_arrives_with_the_subject_and_both_parts_in_the_recipients_language(
    mailbox: Mailbox, plain: int
) -> None:
    receipt = channel(plain).send(MESSAGE)

    [got] = mailbox.received
    assert got.rcpt_tos == ["director@example.gov.cn"]
    assert got.mail_from == "noreply@example.gov.cn"
    mail = got.message
    assert mail["Subject"] == MESSAGE.text_zh
    assert mail["To"] == "director@example.gov.cn"
    assert mail["From"].addresses[0].display_name == "烽火"
    assert mail.get_content_type() == "multipart/alternative"
    text, page = body(mail, "plain"), body(mail, "html")
    for part in (text, page):
        assert "FH-2026-0007" in part and f"{PUBLIC}/incidents/7" in part
    assert "打开事件" in text and f'href="{PUBLIC}/incidents/7"' in page
    assert receipt.external_id == mail["Message-ID"] == "<fenghuo.notification.41@example.gov.cn>"


def test_an_english_speaker_gets_the_english_text(mailbox: Mailbox, plain: int) -> None:
    channel(plain).send(replace(MESSAGE, recipient_language="en"))

    mail = mailbox.received[0].message
    assert mail["Subject"] == MESSAGE.text_en
    assert "Open the incident" in body(mail, "plain")


def test_the_chinese_body_is_base64_so_any_relay_passes_it(mailbox: Mailbox, plain: int) -> None:
    channel(plain).send(MESSAGE)

    raw = mailbox.received[0].raw
    assert "重大".encode() not in raw  # no 8-bit text on the wire
    assert b"Content-Transfer-Encoding: base64" in raw


def test_an_inform_carries_a_link_that_confirms_that_receipt_for_that_person(
    mailbox: Mailbox, plain: int
) -> None:
    channel(plain).send(replace(MESSAGE, kind="inform", receipt_id=12))

    text = body(mailbox.received[0].message, "plain")
    assert "签收" in text
    link = next(line for line in text.splitlines() if PATH in line).strip()
    assert link.startswith(PUBLIC + PATH)
    assert read_confirm_token(SECRET, link.rpartition("/")[2]) == (12, 3)
    assert 'href="' + link + '"' in body(mailbox.received[0].message, "html")


def test_a_page_has_no_receipt_link(mailbox: Mailbox, plain: int) -> None:
    channel(plain).send(MESSAGE)

    assert PATH not in body(mailbox.received[0].message, "plain")


def test_a_delivered_report_arrives_with_its_pdf_attached(mailbox: Mailbox, plain: int) -> None:
    asked: list[int | None] = []

    def pdfs(message: OutgoingMessage) -> list[Attachment]:
        asked.append(message.report_id)
        return [Attachment("FH-2026-0007 初次报告.pdf", "application/pdf", PDF)]

    email = channel(plain, attachments=pdfs)
    email.send(replace(MESSAGE, kind="report", receipt_id=5, report_id=9))
    email.send(MESSAGE)  # not a report: the source is not asked

    assert asked == [9]
    report, page = (r.message for r in mailbox.received)
    assert report.get_content_type() == "multipart/mixed"
    [attached] = list(report.iter_attachments())
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == "FH-2026-0007 初次报告.pdf"
    assert attached.get_content() == PDF
    assert "附件" in body(report, "plain")
    assert list(page.iter_attachments()) == []


def test_a_report_whose_pdf_cannot_be_made_is_still_delivered_saying_so(
    mailbox: Mailbox, plain: int, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(message: OutgoingMessage) -> list[Attachment]:
        raise RuntimeError("database is locked")

    channel(plain, attachments=broken).send(replace(MESSAGE, kind="report", report_id=9))

    mail = mailbox.received[0].message
    assert list(mail.iter_attachments()) == []
    assert "PDF 暂未能附上" in body(mail, "plain")
    assert "attachment could not be made" in caplog.text


# --- TLS and AUTH ------------------------------------------------------------------------


def test_starttls_with_auth_delivers(mailbox: Mailbox, cert: tuple[Path, Path]) -> None:
    with smtp_server(mailbox, mode="starttls", cert=cert) as port:
        email = channel(
            port,
            security="starttls",
            user=USER,
            password=PASSWORD,
            ssl_context=client_context(cert[0]),
        )
        email.send(MESSAGE)

    assert mailbox.logins == [USER]
    assert len(mailbox.received) == 1


def test_implicit_ssl_with_auth_delivers(mailbox: Mailbox, cert: tuple[Path, Path]) -> None:
    with smtp_server(mailbox, mode="ssl", cert=cert) as port:
        channel(
            port, security="ssl", user=USER, password=PASSWORD, ssl_context=client_context(cert[0])
        ).send(MESSAGE)

    assert mailbox.logins == [USER] and len(mailbox.received) == 1


def test_a_refused_login_is_temporary_and_names_the_settings(
    mailbox: Mailbox, cert: tuple[Path, Path]
) -> None:
    with smtp_server(mailbox, mode="starttls", cert=cert) as port:
        email = channel(
            port,
            security="starttls",
            user=USER,
            password="wrong",
            ssl_context=client_context(cert[0]),
        )
        with pytest.raises(ChannelError) as caught:
            email.send(MESSAGE)

    assert not caught.value.permanent
    assert "FENGHUO_SMTP_PASSWORD" in caught.value.reason and "535" in caught.value.reason
    assert mailbox.received == []


def test_a_certificate_the_system_does_not_trust_is_a_temporary_tls_failure(
    mailbox: Mailbox, cert: tuple[Path, Path]
) -> None:
    with smtp_server(mailbox, mode="starttls", cert=cert) as port:
        email = channel(port, security="starttls", user=USER, password=PASSWORD)
        with pytest.raises(ChannelError) as caught:
            email.send(MESSAGE)

    assert not caught.value.permanent and "TLS" in caught.value.reason
    assert mailbox.received == []


def test_a_server_requiring_starttls_refuses_a_plain_client(
    mailbox: Mailbox, cert: tuple[Path, Path]
) -> None:
    with (
        smtp_server(mailbox, mode="starttls", cert=cert) as port,
        pytest.raises(ChannelError) as caught,
    ):
        channel(port, security="none").send(MESSAGE)

    assert not caught.value.permanent and "530" in caught.value.reason
    assert mailbox.received == []


# --- failures ------------------------------------------------------------------------------


def test_an_address_the_server_refuses_for_good_is_permanent(mailbox: Mailbox, plain: int) -> None:
    mailbox.refuse["director@example.gov.cn"] = "550 5.1.1 no such user"

    with pytest.raises(ChannelError) as caught:
        channel(plain).send(MESSAGE)

    assert caught.value.permanent
    assert "550" in caught.value.reason and "director@example.gov.cn" in caught.value.reason


def test_an_address_refused_for_now_is_temporary(mailbox: Mailbox, plain: int) -> None:
    mailbox.refuse["director@example.gov.cn"] = "451 4.7.1 greylisted, try again later"

    with pytest.raises(ChannelError) as caught:
        channel(plain).send(MESSAGE)

    assert not caught.value.permanent and "451" in caught.value.reason


@pytest.mark.parametrize("address", ["", "director", "a@b", "two@x.cn, three@y.cn", "a b@x.cn"])
def test_an_empty_or_malformed_address_is_permanent_and_nothing_is_sent(
    mailbox: Mailbox, plain: int, address: str
) -> None:
    with pytest.raises(ChannelError) as caught:
        channel(plain).send(replace(MESSAGE, destination_address=address))

    assert caught.value.permanent
    assert mailbox.received == []


def test_the_server_down_is_temporary() -> None:
    with pytest.raises(ChannelError) as caught:
        channel(free_port()).send(MESSAGE)

    assert not caught.value.permanent and "refused the connection" in caught.value.reason


def test_a_server_that_never_answers_times_out_as_temporary() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        with pytest.raises(ChannelError) as caught:
            channel(silent.getsockname()[1], timeout=0.3).send(MESSAGE)

    assert not caught.value.permanent and "did not answer within 0.3 s" in caught.value.reason


# --- settings ------------------------------------------------------------------------------


def settings(tmp_path: Path, **smtp: str) -> Any:
    env = {"FENGHUO_INSTANCE_PATH": str(tmp_path), "FENGHUO_SECRET_KEY": SECRET}
    env.update({f"FENGHUO_SMTP_{k.upper()}": v for k, v in smtp.items()})
    return load_settings(env)


def test_email_is_off_without_a_host(tmp_path: Path) -> None:
    assert settings(tmp_path).smtp is None
    assert not settings(tmp_path).email_enabled


def test_the_port_follows_the_security_unless_given(tmp_path: Path) -> None:
    base = {"host": "mail.example.gov.cn", "from": "noreply@example.gov.cn"}
    assert settings(tmp_path, **base).smtp == SmtpSettings(
        host="mail.example.gov.cn", port=587, sender="noreply@example.gov.cn"
    )
    assert settings(tmp_path, **base, security="ssl").smtp.port == 465
    assert settings(tmp_path, **base, security="none").smtp.port == 25
    got = settings(tmp_path, **base, port="2525", user="u", password="pw-9f2", timeout="30").smtp
    assert (got.port, got.user, got.password, got.timeout) == (2525, "u", "pw-9f2", 30)
    assert "pw-9f2" not in repr(got)  # nor in a traceback's locals


@pytest.mark.parametrize(
    ("smtp", "variable"),
    [
        ({}, "FENGHUO_SMTP_FROM"),
        ({"from": "not an address"}, "FENGHUO_SMTP_FROM"),
        ({"from": "n@x.cn", "security": "tls"}, "FENGHUO_SMTP_SECURITY"),
        ({"from": "n@x.cn", "port": "smtp"}, "FENGHUO_SMTP_PORT"),
        ({"from": "n@x.cn", "port": "70000"}, "FENGHUO_SMTP_PORT"),
        ({"from": "n@x.cn", "timeout": "0"}, "FENGHUO_SMTP_TIMEOUT"),
        ({"from": "n@x.cn", "user": "u"}, "FENGHUO_SMTP_PASSWORD"),
        ({"from": "n@x.cn", "password": "p"}, "FENGHUO_SMTP_USER"),
        ({"from": "n@x.cn", "user": "u", "password": "p", "security": "none"},
         "FENGHUO_SMTP_SECURITY"),
    ],
)  # fmt: skip
def test_a_bad_smtp_setting_stops_start_up_naming_the_variable(
    tmp_path: Path, smtp: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, host="mail.example.gov.cn", **smtp)
    assert caught.value.variable == variable


def test_the_channel_is_built_by_kind_and_keeps_the_contract(mailbox: Mailbox, plain: int) -> None:
    email = make_channel(
        "email",
        {"host": "127.0.0.1", "port": plain, "sender": "noreply@example.gov.cn",
         "security": "none", "public_url": PUBLIC},
    )  # fmt: skip
    assert isinstance(email, Channel) and email.kind == "email"
    email.send(MESSAGE)
    assert len(mailbox.received) == 1


def test_the_channel_refuses_to_start_without_a_host_or_a_from_address() -> None:
    with pytest.raises(ValueError, match="FENGHUO_SMTP_HOST"):
        make_channel("email", {})
    with pytest.raises(ValueError, match="FENGHUO_SMTP_FROM"):
        make_channel("email", {"host": "127.0.0.1", "sender": "nobody"})
