"""The report document as PDF, with ReportLab.

ReportLab is chosen because it is a mature, actively released pure-Python PDF library
(BSD) that needs no system libraries and no browser, and because its built-in Adobe CID
font ``STSong-Light`` (华文宋体 metrics) sets Chinese text without shipping or embedding a
font file: every PDF reader carries the matching Adobe-GB1 font. Lines wrap with
``wordWrap="CJK"``, which breaks Chinese text between characters as it should.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import cm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    HRFlowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.reports.document import ReportDocument

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _para(text: str) -> str:
    """Text as a Paragraph's markup: escaped, with its line breaks kept."""
    return "<br/>".join(escape(line) for line in text.splitlines()) or "&nbsp;"


def render(doc: ReportDocument) -> bytes:
    """The document as a PDF (A4), ready to send or print."""
    font = _font()
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
                [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]
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
                [("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 6)]
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
        # A fixed creation date keeps the bytes reproducible for the same filing.
        invariant=1,
    )

    def _page_number(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"— {document.page} —")
        canvas.restoreState()

    pdf.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()
