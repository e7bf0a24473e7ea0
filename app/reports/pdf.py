"""The report document as PDF, with ReportLab.

ReportLab is chosen because it is a mature, actively released pure-Python PDF library
(BSD) that needs no system libraries and no browser. The Chinese text is set in a
TrueType font the machine has, embedded as a subset (``app.reports.fonts``: Debian's
``fonts-wqy-zenhei`` unless ``FENGHUO_PDF_FONT`` names another), so the archived PDF
shows the same glyphs on every reader. Lines wrap with ``wordWrap="CJK"``, which breaks
Chinese text between characters as it should.

The PDF's creation and modification dates are the report's filing time, not the moment
it was rendered: the same filing gives the same bytes, and the date a reader's document
properties show is when the report was filed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import cm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    HRFlowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.reports.document import ReportDocument
from app.reports.fonts import pdf_font


def pdf_date(at: datetime) -> str:
    """``at`` as a PDF date string in UTC: ``D:20261127013000+00'00'``."""
    utc = at.astimezone(UTC)
    return utc.strftime("D:%Y%m%d%H%M%S+00'00'")


def _para(text: str) -> str:
    """Text as a Paragraph's markup: escaped, with its line breaks kept."""
    return "<br/>".join(escape(line) for line in text.splitlines()) or "&nbsp;"


def render(doc: ReportDocument, *, font_path: Path | None = None) -> bytes:
    """The document as a PDF (A4), ready to send or print; ``font_path`` is the
    configured Chinese font (``FENGHUO_PDF_FONT``), if any."""
    font = pdf_font(font_path).name
    base = ParagraphStyle("base", fontName=font, fontSize=11.5, leading=19, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=22, leading=30, alignment=TA_CENTER)
    kind = ParagraphStyle("kind", parent=base, fontSize=14, leading=22, alignment=TA_CENTER)
    small = ParagraphStyle("small", parent=base, fontSize=10.5, leading=16)
    heading = ParagraphStyle("heading", parent=base, fontSize=12.5, leading=20, spaceBefore=8)
    body = ParagraphStyle("body", parent=base, firstLineIndent=0, leftIndent=24, spaceAfter=4)

    story: list[object] = [
        Paragraph(_para(doc.title), title),
        Paragraph(_para(doc.kind_title), kind),
        Spacer(1, 0.3 * cm),
        Table(
            [
                [
                    Paragraph(_para(f"报送对象：{doc.recipients}"), small),
                    Paragraph(_para(f"编号：{doc.reference}"), small),
                ],
                [
                    Paragraph(_para(f"报送时间：{doc.filed_at}"), small),
                    Paragraph(_para(f"填报单位：{doc.department}"), small),
                ],
            ],
            colWidths=["64%", "36%"],
            style=TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ]
            ),
        ),
        HRFlowable(
            width="100%",
            thickness=1.6,
            color=colors.HexColor("#b3141c"),
            spaceBefore=4,
            spaceAfter=10,
        ),
    ]
    facts = Table(
        [[Paragraph(_para(k), base), Paragraph(_para(v), base)] for k, v in doc.facts],
        colWidths=[4.4 * cm, None],
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        ),
    )
    story += [facts, Spacer(1, 0.4 * cm)]
    for section in doc.sections:
        story.append(Paragraph(_para(f"{section.label}{section.title}"), heading))
        story.append(Paragraph(_para(section.body), body))
    if doc.late_note:
        story += [Spacer(1, 0.3 * cm), Paragraph(_para(doc.late_note), base)]
    story += [
        Spacer(1, 0.6 * cm),
        Paragraph(_para(doc.basis), small),
        Paragraph(_para(doc.audit_checkpoint), small),
        Spacer(1, 0.4 * cm),
        Table(
            [
                [
                    Paragraph(_para(f"填报人：{doc.filed_by}"), base),
                    Paragraph(_para(f"联系电话：{doc.phone}"), base),
                ],
                [
                    Paragraph(_para("审核人：__________"), base),
                    Paragraph(_para("签发人：__________"), base),
                ],
            ],
            colWidths=["50%", "50%"],
            style=TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                ]
            ),
        ),
    ]

    out = BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2.6 * cm,
        rightMargin=2.6 * cm,
        topMargin=2.5 * cm,
        bottomMargin=2.2 * cm,
        title=f"{doc.title}{doc.kind_title} {doc.reference}",
        author=doc.department,
        subject=doc.title,
        # Invariant mode fixes the document ID, so the same filing gives the same bytes;
        # the dates it would fix at 2000-01-01 are set to the filing time below.
        invariant=1,
        # Every page (and, by FONTNAME, every table cell) begins in this font: ReportLab's
        # default is Helvetica, which it never embeds.
        initialFontName=font,
    )
    created = pdf_date(doc.created_at) if doc.created_at is not None else None

    def _page_number(canvas: Any, document: Any) -> None:
        if created is not None:
            # ReportLab has no public setter for the date; its formatter is handed the
            # invariant timestamp and returns the string written as CreationDate/ModDate.
            canvas.setDateFormatter(lambda *_ymdhms: created)
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"— {document.page} —")
        canvas.restoreState()

    pdf.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()
