"""The worker builds the email channel from FENGHUO_SMTP_* and the group robots always."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from config.policy import load_policy
from config.settings import load_settings
from escalation.channels.base import Attachment, OutgoingMessage
from escalation.channels.email import EmailChannel
from escalation.channels.robots import ROBOT_KINDS
from escalation.worker import channels_from_settings, close_channels
from incidents.clock import FrozenClock
from tests.conftest import T0

SECRET = "s" * 32


def pdfs(message: OutgoingMessage) -> list[Attachment]:
    return []


def test_email_joins_the_channels_when_smtp_is_set_with_the_attachment_source(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    settings = load_settings(
        {
            "FENGHUO_INSTANCE_PATH": str(tmp_path),
            "FENGHUO_SECRET_KEY": SECRET,
            "FENGHUO_PUBLIC_URL": "https://fenghuo.example.gov.cn",
            "FENGHUO_WORKER_CONSOLE": "off",
            "FENGHUO_SMTP_HOST": "mail.example.gov.cn",
            "FENGHUO_SMTP_FROM": "烽火 <noreply@example.gov.cn>",
            "FENGHUO_SMTP_SECURITY": "ssl",
            "FENGHUO_SMTP_USER": "fenghuo",
            "FENGHUO_SMTP_PASSWORD": "pw",
        }
    )
    channels = channels_from_settings(settings, load_policy(None), FrozenClock(T0), factory, pdfs)
    try:
        assert set(channels) == {"inbox", "email", *ROBOT_KINDS}
        email = channels["email"]
        assert isinstance(email, EmailChannel)
        assert (email.host, email.port, email.security, email.user) == (
            "mail.example.gov.cn",
            465,
            "ssl",
            "fenghuo",
        )
        assert email.attachments is pdfs and email.secret_key == SECRET
        assert email.public_url == "https://fenghuo.example.gov.cn"
    finally:
        close_channels(channels)


def test_without_smtp_there_is_no_email_channel_but_the_robots_are_there(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    settings = load_settings({"FENGHUO_INSTANCE_PATH": str(tmp_path), "FENGHUO_SECRET_KEY": SECRET})
    channels = channels_from_settings(settings, load_policy(None), FrozenClock(T0), factory)
    try:
        assert "email" not in channels
        assert set(ROBOT_KINDS) <= set(channels)
    finally:
        close_channels(channels)
