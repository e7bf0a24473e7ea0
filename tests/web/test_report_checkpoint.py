"""Every report document carries the newest signed checkpoint of the audit chain (5.4(c))."""

from __future__ import annotations

import base64
import io
import re
import zlib

from docx import Document
from flask import Flask

from app.extensions import Services
from incidents.audit_checkpoints import write_checkpoint
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.web.conftest import Browser, open_
from tests.web.test_reports import INITIAL, _file


def _pdf_strings(data: bytes) -> str:
    """The page streams of a reportlab PDF (ASCII85, then Flate) as text; CID text is in
    UTF-16BE there, so ASCII ``a`` reads ``\\000a``."""
    found = b""
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = match.group(1).strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw[:-2])
        try:
            found += zlib.decompress(raw)
        except zlib.error:
            found += raw
    return found.decode("latin-1")


def test_the_report_shows_the_newest_checkpoint_in_the_pdf_and_the_docx(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    services: Services = app.extensions["fenghuo"]
    path = services.settings.audit_checkpoint_path
    assert path is not None
    with services.sessions() as s, s.begin():
        cp = write_checkpoint(s, path, now=clock.now())
    reply = duty.get(f"/incidents/{incident}/reports/{report}.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(reply.data)).paragraphs)
    assert f"审计链检查点：#{cp.seq} {cp.hash[:16]}" in text
    pdf = duty.get(f"/incidents/{incident}/reports/{report}.pdf").data
    assert "".join("\\000" + c for c in cp.hash[:16]) in _pdf_strings(pdf)


def test_a_report_before_any_checkpoint_says_there_is_none(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    reply = duty.get(f"/incidents/{incident}/reports/{report}.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(reply.data)).paragraphs)
    assert "审计链检查点：（尚无）" in text
