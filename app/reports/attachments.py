"""A delivered report's PDF, for the channels that carry files (email).

:class:`ReportPdfs` is the :class:`~escalation.channels.base.AttachmentSource` the worker
hands to its channels: given a notice that names a report (``message.report_id``), it
loads the report and its incident and lays them out with the same ``document.build`` and
``pdf.render`` as the report page's download, so the leader's attachment and the printed
copy are the same document.

It opens its own database engine on first use (the worker's channels run outside any
request), and holds it for the life of the process.
"""

from __future__ import annotations

import threading
from datetime import tzinfo
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.reports import pdf
from app.reports.document import build
from escalation.channels.base import Attachment, OutgoingMessage
from incidents.db import make_engine, make_sessionmaker
from incidents.models import Incident
from incidents.reports import Report


class ReportPdfs:
    """Renders the PDF of the report a message delivers."""

    def __init__(
        self,
        *,
        tz: tzinfo,
        database_url: str | None = None,
        session_factory: sessionmaker[Session] | None = None,
        font_path: Path | None = None,
    ) -> None:
        if (database_url is None) == (session_factory is None):
            raise ValueError("give exactly one of database_url and session_factory")
        self.tz = tz
        self.font_path = font_path  # FENGHUO_PDF_FONT, as the report page's download
        self._url = database_url
        self._factory = session_factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def _sessions(self) -> sessionmaker[Session]:
        with self._lock:
            if self._factory is None:
                assert self._url is not None
                self._engine = make_engine(self._url, pool_size=1)
                self._factory = make_sessionmaker(self._engine)
            return self._factory

    def __call__(self, message: OutgoingMessage) -> list[Attachment]:
        if message.report_id is None:
            return []
        with self._sessions()() as session:
            report = session.get(Report, message.report_id)
            if report is None:
                raise LookupError(f"no report with id {message.report_id}")
            incident = session.get(Incident, report.incident_id)
            if incident is None:
                raise LookupError(f"no incident with id {report.incident_id}")
            document = build(session, incident, report, self.tz)
            data = pdf.render(document, font_path=self.font_path)
        return [Attachment(f"{document.filename}.pdf", "application/pdf", data)]

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
