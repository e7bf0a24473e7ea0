"""A real SMTP server on loopback for the email tests: aiosmtpd, plain, STARTTLS or SSL.

:class:`Mailbox` is the server's handler: it keeps every accepted message (envelope and
the parsed message), refuses the recipients it is told to with the reply given, and
checks logins against one user and password. The certificate is self-signed for
``127.0.0.1`` (made with ``openssl``); clients trust it through :func:`client_context`.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "fenghuo", "s3cret-pass"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Mailbox:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = bytes(envelope.content)
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        return "250 OK: queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            if login == USER and auth_data.password.decode() == PASSWORD:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    """aiosmtpd's Controller cannot take port 0 (it probes the port to see it ready)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context(cert: Path) -> ssl.SSLContext:
    """What a deployment with a private CA would pass: trust exactly this certificate."""
    return ssl.create_default_context(cafile=str(cert))


@contextmanager
def smtp_server(
    mailbox: Mailbox, *, mode: str = "plain", cert: tuple[Path, Path] | None = None
) -> Iterator[int]:
    """Serve ``mailbox`` on 127.0.0.1; yields the port. ``mode``: ``plain`` (no TLS, no
    AUTH), ``starttls`` (STARTTLS required, then AUTH required) or ``ssl`` (implicit TLS,
    AUTH offered)."""
    port = free_port()
    kwargs: dict[str, Any] = {}
    if mode == "starttls":
        assert cert is not None
        kwargs = dict(
            tls_context=server_context(*cert),
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=mailbox.authenticate,
        )
    elif mode == "ssl":
        assert cert is not None
        kwargs = dict(
            ssl_context=server_context(*cert),
            # The whole connection is TLS, which aiosmtpd's auth_require_tls does not
            # see (it knows STARTTLS only), and it warns when AUTH is required without
            # it: AUTH is offered, and the tests check the client logged in.
            auth_require_tls=False,
            authenticator=mailbox.authenticate,
        )
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
