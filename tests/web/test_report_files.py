"""A filed report's PDF and DOCX as files: the PDF embeds its Chinese font (checked with
poppler's ``pdffonts``), and both carry the filing time as their creation date."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from docx import Document
from flask import Flask

from app.reports import pdf
from app.reports.document import ReportDocument
from app.reports.fonts import CID_FALLBACK, KNOWN_FONTS, find_font
from config.settings import ConfigError, load_settings
from incidents.clock import FrozenClock
from incidents.org import Person
from tests.conftest import need
from tests.web.conftest import Browser, open_, services_of
from tests.web.test_reports import INITIAL, _file

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture
def pdffonts() -> str:
    found = shutil.which("pdffonts")
    if found is None:
        need("pdffonts", "poppler-utils is not installed (apt-get install poppler-utils)")
    assert found is not None
    return found


@pytest.fixture
def truetype_cjk() -> Path:
    for path, _index in KNOWN_FONTS:
        if path.is_file():
            return path
    need("a TrueType Chinese font", "apt-get install fonts-wqy-zenhei")
    raise AssertionError("unreachable")


def fonts_of(pdffonts: str, data: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """``pdffonts``' table as rows keyed by its column names (name, type, emb, sub…)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        [pdffonts, str(path)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    header, rule, *lines = out.splitlines()
    # The rule under the header gives each column's width: "---- ---- ---".
    spans = [m.span() for m in re.finditer(r"-+", rule)]
    names = [header[a:b].strip() for a, b in spans[:-1]] + [header[spans[-1][0] :].strip()]
    return [
        {name: line[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)}
        for line in lines
    ]


def creation_date(data: bytes) -> str:
    found = re.search(rb"/CreationDate \((D:[^)]*)\)", data)
    assert found is not None
    return found.group(1).decode()


@pytest.mark.pdffonts
def test_the_filed_reports_pdf_embeds_a_subset_of_its_chinese_font(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    pdffonts: str,
    truetype_cjk: Path,
    tmp_path: Path,
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    data = duty.get(f"/incidents/{incident}/reports/{report}.pdf").data
    fonts = fonts_of(pdffonts, data, tmp_path)
    assert fonts, "the PDF names no font"
    assert all(f["emb"] == "yes" for f in fonts), fonts
    assert all(f["sub"] == "yes" for f in fonts), fonts  # a subset, not the 17 MB font
    assert all(f["type"].endswith("TrueType") and "+" in f["name"] for f in fonts), fonts
    assert CID_FALLBACK.encode() not in data
    assert len(data) < 400_000


def test_the_pdf_and_docx_are_dated_when_the_report_was_filed(
    app: Flask, org: dict[str, Person], clock: FrozenClock, duty: Browser
) -> None:
    incident = open_(app, org, grade="major", at=clock.now())
    clock.advance(minutes=40)
    filed_at = clock.now()
    report = _file(duty, incident, INITIAL)
    clock.advance(days=3)  # downloaded days later: the files still say when it was filed
    data = duty.get(f"/incidents/{incident}/reports/{report}.pdf").data
    assert creation_date(data) == filed_at.strftime("D:%Y%m%d%H%M%S+00'00'")
    assert f"/ModDate ({creation_date(data)})".encode() in data

    word = Document(io.BytesIO(duty.get(f"/incidents/{incident}/reports/{report}.docx").data))
    props = word.core_properties
    assert props.created is not None and props.modified is not None
    assert props.created.replace(tzinfo=props.created.tzinfo or UTC) == filed_at
    assert props.modified.replace(tzinfo=props.modified.tzinfo or UTC) == filed_at


def _document(created_at: datetime) -> ReportDocument:
    return ReportDocument(
        title="网络安全事件报告",
        kind_title="（初次报告）",
        reference="FH-2026-0001-R1",
        recipients="属地网信部门",
        facts=(("事件编号", "FH-2026-0001"),),
        sections=(),
        late_note="",
        filed_by="张伟",
        department="指挥中心",
        phone="—",
        filed_at="2026年11月27日 09时40分",
        basis="依据《国家网络安全事件报告管理办法》第七条报送。",
        created_at=created_at,
    )


def test_the_same_filing_gives_the_same_bytes() -> None:
    at = datetime(2026, 11, 27, 1, 40, tzinfo=UTC)
    assert pdf.render(_document(at)) == pdf.render(_document(at))
    assert pdf.render(_document(at)) != pdf.render(_document(at + timedelta(seconds=1)))


@pytest.mark.pdffonts
def test_the_configured_font_comes_before_the_known_ones(pdffonts: str, tmp_path: Path) -> None:
    if not DEJAVU.is_file():
        need("DejaVu Sans", "apt-get install fonts-dejavu-core")
    data = pdf.render(_document(datetime(2026, 11, 27, tzinfo=UTC)), font_path=DEJAVU)
    fonts = fonts_of(pdffonts, data, tmp_path)
    assert {f["name"].split("+", 1)[1] for f in fonts} == {"DejaVuSans"}
    assert fonts[0]["emb"] == "yes"


@pytest.mark.pdffonts
def test_the_report_page_downloads_the_pdf_in_the_configured_font(
    app: Flask,
    org: dict[str, Person],
    clock: FrozenClock,
    duty: Browser,
    pdffonts: str,
    tmp_path: Path,
) -> None:
    if not DEJAVU.is_file():
        need("DejaVu Sans", "apt-get install fonts-dejavu-core")
    services = services_of(app)
    services.settings = replace(services.settings, pdf_font=DEJAVU)  # FENGHUO_PDF_FONT
    incident = open_(app, org, grade="major", at=clock.now())
    report = _file(duty, incident, INITIAL)
    data = duty.get(f"/incidents/{incident}/reports/{report}.pdf").data
    assert {f["name"].split("+", 1)[1] for f in fonts_of(pdffonts, data, tmp_path)} == {
        "DejaVuSans"
    }


def test_without_a_truetype_font_it_falls_back_to_the_cid_font_and_says_so(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.reports.fonts"):
        font = find_font(None, known=((tmp_path / "absent.ttc", 0),))
    assert font.name == CID_FALLBACK and not font.embedded
    assert "not embedded" in caplog.text and "fonts-wqy-zenhei" in caplog.text


def test_a_font_that_cannot_be_embedded_is_passed_over_with_a_warning(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"\x00" * 60)
    with caplog.at_level(logging.WARNING, logger="app.reports.fonts"):
        font = find_font(broken, known=())
    assert font.name == CID_FALLBACK
    assert "broken.ttf cannot be embedded" in caplog.text


def _settings(tmp_path: Path, font: Path) -> None:
    load_settings(
        {
            "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
            "FENGHUO_SECRET_KEY": "x" * 32,
            "FENGHUO_PDF_FONT": str(font),
        }
    )


@pytest.mark.parametrize(
    "head",
    [b"OTTO" + b"\x00" * 12, b"ttcf\x00\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10OTTO"],
    ids=["otf", "ttc-of-cff"],
)
def test_a_cff_font_setting_is_refused_at_start_up(tmp_path: Path, head: bytes) -> None:
    font = tmp_path / "NotoSansCJK-Regular.ttc"
    font.write_bytes(head + b"\x00" * 64)
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, font)
    assert refused.value.variable == "FENGHUO_PDF_FONT"
    assert "not a TrueType font" in refused.value.message


def test_a_missing_font_setting_is_refused_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, tmp_path / "absent.ttf")
    assert refused.value.variable == "FENGHUO_PDF_FONT"
