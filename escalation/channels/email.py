"""The email channel: one message per notice over SMTP, with the standard library.

``smtplib`` and ``email.message.EmailMessage`` do everything needed — STARTTLS or
implicit TLS, AUTH, RFC 2047 subjects and RFC 2231 file names for Chinese text — so no
third-party mail library is used. Each notice is one multipart message:

- the subject is the first line of the notice in the recipient's language;
- a text/plain part (base64, safe through any relay) and a simple text/html part, both
  with the link to the incident and, for an inform, a link to confirm receipt (签收,
  :func:`escalation.receipt_links.confirm_url`: it opens a page with one button, so a
  mail scanner following links confirms nothing);
- for a delivered report, the files the injected :class:`AttachmentSource` makes (the
  report's PDF). If they cannot be made the message still goes, saying the report is on
  the linked page: telling the leader matters more than the file.

Connections: a small pool (:data:`POOL_SIZE`). The outbox hands the channel a batch of
that many notices at once (``send_many``), each sent on a connection of its own at the
same time, so a burst does not go one SMTP exchange after another. Email is not
idempotent: the outbox writes each batch's outcomes back before the next, so a worker
killed mid-batch repeats at most that batch.

The ``Message-ID`` is derived from the notification id, so a message sent again after a
crash (delivery is at least once) is recognisably the same message.

Failures, as the outbox needs them (see :class:`~escalation.channels.base.ChannelError`):
the address refused with a 5xx reply (550 no such user…) or not an address at all is
permanent — the destination is disabled; everything else is temporary: the server down,
refusing the connection or timing out, any 4xx reply (greylisting, mailbox busy), TLS
failing, and a refused login (the deployment's settings are wrong, not the address; the
reason says which setting to check).
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from escalation.channels.addresses import email_address_error
from escalation.channels.base import (
    Attachment,
    AttachmentSource,
    ChannelError,
    OutgoingMessage,
    Receipt,
    register,
)
from escalation.receipt_links import confirm_url

logger = logging.getLogger("fenghuo.email")

SECURITY = ("starttls", "ssl", "none")
# Connections to the SMTP server at once (send_many's batch): small, as a relay limits
# the connections one client may hold.
POOL_SIZE = 3
MAX_SUBJECT = 150

TEXTS = {
    "zh_CN": {
        "open": "打开事件",
        "confirm_intro": "请点击下面的链接确认收到（签收）：",
        "confirm": "确认收到（签收）",
        "attached": "报告全文见附件（PDF）。",
        "not_attached": "报告的 PDF 暂未能附上，请打开事件页面查看。",
        "open_app": "打开烽火",
        "footer": "此邮件由烽火（网络安全事件管理系统）自动发送，请勿直接回复。",
    },
    "en": {
        "open": "Open the incident",
        "open_app": "Open Fenghuo",
        "confirm_intro": "Please confirm receipt (签收) at this link:",
        "confirm": "Confirm receipt",
        "attached": "The report is attached (PDF).",
        "not_attached": "The report's PDF could not be attached; open the incident to read it.",
        "footer": "Sent automatically by Fenghuo (incident management); do not reply.",
    },
}


def _subject(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "烽火"
    return first if len(first) <= MAX_SUBJECT else first[: MAX_SUBJECT - 1] + "…"


@register("email")
class EmailChannel:
    """Sends notices through one SMTP server; see the module docstring for the contract."""

    kind = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: str = "starttls",
        user: str = "",
        password: str = "",
        timeout: float = 15.0,
        public_url: str = "",
        secret_key: str = "",
        attachments: AttachmentSource | None = None,
        ssl_context: ssl.SSLContext | None = None,
        pool: int = POOL_SIZE,
    ) -> None:
        if security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}, got {security!r}")
        if not host:
            raise ValueError("Email is off: FENGHUO_SMTP_HOST is not set")
        if email_address_error(parseaddr(sender)[1]) is not None:
            raise ValueError(f"not a From address: {sender!r} (FENGHUO_SMTP_FROM)")
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.user = user
        self._password = password
        self.timeout = timeout
        self.public_url = public_url.rstrip("/")
        self.secret_key = secret_key
        self.attachments = attachments
        # The system's trust store unless told otherwise (a private CA, tests).
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._domain = parseaddr(sender)[1].rpartition("@")[2]
        # The pool: connections at once, and so the messages of one send_many.
        self.batch_size = max(1, pool)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EmailChannel:
        """Settings: ``host``, ``port``, ``sender`` (the From address), ``security``,
        ``user``, ``password``, ``timeout`` (from ``FENGHUO_SMTP_*``); ``public_url``,
        ``secret_key`` (signs receipt links), ``attachments``, ``ssl_context``, ``pool``
        (connections at once, :data:`POOL_SIZE`)."""
        host = settings.get("host")
        if not host:
            raise ValueError("Email is off: FENGHUO_SMTP_HOST is not set")
        security = str(settings.get("security") or "starttls")
        return cls(
            host=str(host),
            port=int(settings.get("port") or {"ssl": 465, "none": 25}.get(security, 587)),
            sender=str(settings.get("sender") or ""),
            security=security,
            user=str(settings.get("user") or ""),
            password=str(settings.get("password") or ""),
            timeout=float(settings.get("timeout") or 15.0),
            public_url=str(settings.get("public_url") or ""),
            secret_key=str(settings.get("secret_key") or ""),
            attachments=settings.get("attachments"),
            ssl_context=settings.get("ssl_context"),
            pool=int(settings.get("pool") or POOL_SIZE),
        )

    # --- the message -----------------------------------------------------------------------

    def message_id(self, message: OutgoingMessage) -> str:
        if message.bulletin_id is not None:
            return f"<fenghuo.bulletin.{message.bulletin_id}@{self._domain}>"
        return f"<fenghuo.notification.{message.notification_id}@{self._domain}>"

    def _confirm_link(self, message: OutgoingMessage) -> str | None:
        if message.receipt_id is None or message.recipient_person_id is None:
            return None
        if not self.secret_key:
            return None
        return confirm_url(
            self.public_url, self.secret_key, message.receipt_id, message.recipient_person_id
        )

    def _files(self, message: OutgoingMessage) -> list[Attachment] | None:
        """The report's files; ``None`` when they were wanted and could not be made."""
        if message.report_id is None or self.attachments is None:
            return []
        try:
            return list(self.attachments(message))
        except Exception:
            logger.exception(
                "report %s: the attachment could not be made; sending without it",
                message.report_id,
            )
            return None

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The whole message for ``message`` (exposed for tests and previews)."""
        words = TEXTS["en" if message.recipient_language == "en" else "zh_CN"]
        link = self.public_url + message.link_path
        confirm = self._confirm_link(message)
        files = self._files(message)

        opener = words["open"] if message.bulletin_id is None else words["open_app"]
        lines = [message.text.strip(), "", f"{opener}: {link}"]
        paras = [
            "<br>".join(html.escape(line) for line in message.text.strip().splitlines()),
            f'<a href="{html.escape(link)}">{html.escape(opener)}</a>',
        ]
        if confirm is not None:
            lines += ["", words["confirm_intro"], confirm]
            paras.append(
                f"{html.escape(words['confirm_intro'])}<br>"
                f'<a href="{html.escape(confirm)}"><b>{html.escape(words["confirm"])}</b></a>'
            )
        if message.report_id is not None and self.attachments is not None:
            note = words["attached"] if files else words["not_attached"]
            lines += ["", note]
            paras.append(html.escape(note))
        lines += ["", "--", words["footer"]]
        body_html = (
            '<!DOCTYPE html><html><body style="font-family: sans-serif; line-height: 1.6">'
            + "".join(f"<p>{p}</p>" for p in paras)
            + f'<p style="color: #666; font-size: small">{html.escape(words["footer"])}</p>'
            + "</body></html>"
        )

        mail = EmailMessage()
        mail["Subject"] = _subject(message.text)
        mail["From"] = self.sender
        mail["To"] = message.destination_address
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = self.message_id(message)
        if message.incident_number:
            mail["X-Fenghuo-Incident"] = message.incident_number
        # base64: Chinese text passes any relay, 8BITMIME or not.
        mail.set_content("\n".join(lines) + "\n", cte="base64")
        mail.add_alternative(body_html, subtype="html", cte="base64")
        for file in files or []:
            maintype, _, subtype = file.content_type.partition("/")
            mail.add_attachment(
                file.data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=file.filename,
            )
        return mail

    # --- sending ---------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                client.starttls(context=self.ssl_context)
            except BaseException:
                client.close()
                raise
        return client

    def _login(self) -> smtplib.SMTP:
        client = self._connect()
        try:
            if self.user:
                client.login(self.user, self._password)
        except BaseException:
            client.close()
            raise
        return client

    def _hand_over(self, client: smtplib.SMTP, message: OutgoingMessage) -> Receipt:
        """Send one built message over an open connection (errors as smtplib raises them,
        but a refused recipient as its :class:`ChannelError`)."""
        to = message.destination_address
        refused = client.send_message(self.build(message), to_addrs=[to])
        if to in refused:
            code, reply = refused[to]
            raise _refused(to, code, reply)
        return Receipt(external_id=self.message_id(message))

    def send(self, message: OutgoingMessage) -> Receipt:
        """Hand one notice to the SMTP server; raises :class:`ChannelError` (see above)."""
        [answer] = self.send_many([message])
        if isinstance(answer, ChannelError):
            raise answer
        return answer

    def send_many(self, messages: Sequence[OutgoingMessage]) -> list[Receipt | ChannelError]:
        """Hand a batch to the server over up to :attr:`batch_size` connections at once
        (each logged in once and used for its share of the batch, in order); one answer
        per message, as :meth:`send` gives."""
        shares = [list(range(len(messages)))[i :: self.batch_size] for i in range(self.batch_size)]
        answers: list[Receipt | ChannelError | None] = [None] * len(messages)

        def run(share: list[int]) -> None:
            client: smtplib.SMTP | None = None
            try:
                for i in share:
                    message = messages[i]
                    problem = email_address_error(message.destination_address)
                    if problem is not None:
                        answers[i] = ChannelError(problem, permanent=True)
                        continue
                    try:
                        client = client or self._login()
                        answers[i] = self._hand_over(client, message)
                    except ChannelError as exc:  # a refused recipient: the connection is fine
                        answers[i] = exc
                    except Exception as exc:
                        answers[i] = self._error(exc, message.destination_address)
                        if not isinstance(exc, smtplib.SMTPRecipientsRefused):
                            _close(client)  # in an unknown state: the next gets a new one
                            client = None
            finally:
                _close(client)

        shares = [share for share in shares if share]
        if len(shares) == 1:
            run(shares[0])
        else:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="smtp") as pool:
                list(pool.map(run, shares))
        return [
            a if a is not None else ChannelError("the mail batch gave no answer") for a in answers
        ]

    def _error(self, exc: BaseException, to: str) -> ChannelError:
        """The :class:`ChannelError` for what smtplib or the network raised."""
        where = f"SMTP server {self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, reply = exc.recipients.get(to, (0, b""))
            return _refused(to, code, reply)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return ChannelError(
                f"{where} refused the login as {self.user!r} ({exc.smtp_code} "
                f"{_text(exc.smtp_error)}): check FENGHUO_SMTP_USER and FENGHUO_SMTP_PASSWORD"
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return ChannelError(
                f"{where} does not support what FENGHUO_SMTP_SECURITY={self.security} needs: {exc}"
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            # Sender refused, message refused, or a reply at the wrong time: not the
            # address's fault, so never disable the destination for it.
            return ChannelError(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}")
        if isinstance(exc, ssl.SSLError):
            return ChannelError(f"TLS with {where} failed: {exc.reason or exc}")
        if isinstance(exc, TimeoutError):
            return ChannelError(f"{where} did not answer within {self.timeout:g} s")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            # smtplib turns a read that timed out into "Connection unexpectedly closed".
            if "timed out" in str(exc):
                return ChannelError(f"{where} did not answer within {self.timeout:g} s")
            return ChannelError(f"{where} closed the connection: {exc}")
        if isinstance(exc, ConnectionRefusedError):
            return ChannelError(f"{where} refused the connection")
        return ChannelError(f"{where}: {type(exc).__name__}: {exc}")


def _close(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refused(address: str, code: int, reply: bytes | str) -> ChannelError:
    """A refused recipient: 5xx says the address will not work (permanent), 4xx is a
    passing state such as greylisting or a full mailbox (temporary)."""
    return ChannelError(
        f"the mail server refused {address}: {code} {_text(reply)}", permanent=500 <= code < 600
    )
