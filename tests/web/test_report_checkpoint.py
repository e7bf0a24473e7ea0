"""Every report document carries the newest signed checkpoint of the audit chain (5.4(c))."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from flask import Flask

from app.extensions import Services
from incidents.audit_checkpoints import write_checkpoint
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import need
from tests.web.conftest import Browser, open_
from tests.web.test_reports import INITIAL, _file


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text as poppler's ``pdftotext`` reads it (through the embedded font's
    ToUnicode map, as a reader's search and copy do)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        need("pdftotext", "poppler-utils is not installed (apt-get install poppler-utils)")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [str(tool), str(path), "-"], capture_output=True, text=True, check=True, timeout=30
    ).stdout


@pytest.mark.pdffonts
def test_the_report_shows_the_newest_checkpoint_in_the_pdf_and_the_docx(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser, tmp_path: Path
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
    assert f"审计链检查点：#{cp.seq} {cp.hash[:16]}" in pdf_text(pdf, tmp_path)


def test_a_report_before_any_checkpoint_says_there_is_none(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    reply = duty.get(f"/incidents/{incident}/reports/{report}.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(reply.data)).paragraphs)
    assert "审计链检查点：（尚无）" in text
