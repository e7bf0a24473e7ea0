"""The email channel's batch: a few connections at once, one answer per message.

The outbox hands the channel ``batch_size`` notices at a time (its small pool of SMTP
connections); each arrives at the real SMTP server on loopback (aiosmtpd), and an
address refused in the batch fails alone, as it would sent by itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from escalation.channels.base import ChannelError, Receipt, batch_size
from escalation.channels.email import POOL_SIZE
from tests.channels.smtp_server import (
    PASSWORD,
    USER,
    Mailbox,
    client_context,
    make_certificate,
    smtp_server,
)
from tests.channels.test_email import MESSAGE, channel


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def test_a_batch_goes_over_the_pool_each_message_answered_in_order(
    cert: tuple[Path, Path],
) -> None:
    mailbox = Mailbox()
    messages = [
        replace(MESSAGE, notification_id=100 + n, destination_address=f"leader{n}@example.gov.cn")
        for n in range(7)
    ]
    mailbox.refuse["leader4@example.gov.cn"] = "550 5.1.1 no such user"
    with smtp_server(mailbox, mode="ssl", cert=cert) as port:
        email = channel(
            port, security="ssl", user=USER, password=PASSWORD, ssl_context=client_context(cert[0])
        )
        assert batch_size(email) == POOL_SIZE
        answers = email.send_many(messages)

    assert len(answers) == 7
    refused = answers[4]
    assert isinstance(refused, ChannelError) and refused.permanent and "550" in refused.reason
    sent = [a for n, a in enumerate(answers) if n != 4]
    assert all(isinstance(a, Receipt) for a in sent)
    assert [a.external_id for a in sent if isinstance(a, Receipt)] == [
        email.message_id(m) for n, m in enumerate(messages) if n != 4
    ]
    arrived = sorted(r.rcpt_tos[0] for r in mailbox.received)
    assert arrived == sorted(m.destination_address for n, m in enumerate(messages) if n != 4)
    # One login per connection of the pool, not one per message.
    assert len(mailbox.logins) == POOL_SIZE


def test_the_server_down_fails_every_message_of_the_batch_as_temporary() -> None:
    with smtp_server(Mailbox()) as port:
        pass  # the port is free again: nothing listens
    answers = channel(port).send_many([MESSAGE, replace(MESSAGE, notification_id=42)])
    assert all(isinstance(a, ChannelError) and not a.permanent for a in answers)
