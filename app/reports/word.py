"""The report document as DOCX, with python-docx, for offices that edit before sending.

Chinese text needs the East Asian font set on each run (``w:eastAsia``): Word otherwise
falls back to a Western font and shows boxes on some machines. 宋体 for the body and 黑体
for the title are what every Chinese Office installation has. The file's created and
modified dates are the filing time.
"""

from __future__ import annotations

from datetime import UTC
from io import BytesIO

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from app.reports.document import ReportDocument

BODY_FONT = "宋体"
TITLE_FONT = "黑体"


def _font(run: Run, name: str, size: float, *, bold: bool = False) -> Run:
    run.font.name = name
    run.font.size = Pt(size)
    run.bold = bold
    r_pr = run._element.get_or_add_rPr()
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.append(r_fonts)
    r_fonts.set(qn("w:eastAsia"), name)
    return run


def _line(
    paragraph: Paragraph, text: str, size: float = 12, *, bold: bool = False, name: str = BODY_FONT
) -> Paragraph:
    _font(paragraph.add_run(text), name, size, bold=bold)
    return paragraph


def render(doc: ReportDocument) -> bytes:
    """The document as a Word file (A4)."""
    word = Document()
    section = word.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.6)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    word.core_properties.title = f"{doc.title}{doc.kind_title} {doc.reference}"
    word.core_properties.author = doc.department
    if doc.created_at is not None:
        # The filing time, not the moment of rendering (python-docx writes the value
        # with a "Z" as given, so it must be UTC); without this the template's 2013 date.
        filed = doc.created_at.astimezone(UTC)
        word.core_properties.created = word.core_properties.modified = filed
        word.core_properties.last_modified_by = doc.filed_by
        word.core_properties.revision = 1

    title = _line(word.add_paragraph(), doc.title, 22, bold=True, name=TITLE_FONT)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    kind = _line(word.add_paragraph(), doc.kind_title, 15)
    kind.alignment = WD_ALIGN_PARAGRAPH.CENTER

    meta = word.add_table(rows=2, cols=2)
    cells = [
        (0, 0, f"报送对象：{doc.recipients}"),
        (0, 1, f"编号：{doc.reference}"),
        (1, 0, f"报送时间：{doc.filed_at}"),
        (1, 1, f"填报单位：{doc.department}"),
    ]
    for row, col, text in cells:
        _line(meta.cell(row, col).paragraphs[0], text, 10.5)

    rule = _line(word.add_paragraph(), "", 6)
    p_pr = rule._p.get_or_add_pPr()
    border = p_pr.makeelement(qn("w:pBdr"), {})
    bottom = border.makeelement(
        qn("w:bottom"),
        {qn("w:val"): "single", qn("w:sz"): "12", qn("w:space"): "1", qn("w:color"): "B3141C"},
    )
    border.append(bottom)
    p_pr.append(border)

    facts = word.add_table(rows=0, cols=2)
    facts.style = "Table Grid"
    facts.alignment = WD_TABLE_ALIGNMENT.CENTER
    for key, value in doc.facts:
        row = facts.add_row()
        row.cells[0].width, row.cells[1].width = Cm(3.8), Cm(12)
        _line(row.cells[0].paragraphs[0], key, 11, bold=True)
        _line(row.cells[1].paragraphs[0], value, 11)

    for item in doc.sections:
        heading = _line(word.add_paragraph(), f"{item.label}{item.title}", 12, bold=True)
        heading.paragraph_format.space_before = Pt(8)
        for text in item.body.splitlines() or [""]:
            para = _line(word.add_paragraph(), text, 12)
            para.paragraph_format.first_line_indent = Pt(24)
    if doc.late_note:
        note = _line(word.add_paragraph(), doc.late_note, 12)
        note.runs[0].font.color.rgb = RGBColor(0xA3, 0x16, 0x1C)
    _line(word.add_paragraph(), doc.basis, 10.5)
    _line(word.add_paragraph(), doc.audit_checkpoint, 9)
    sign = word.add_table(rows=2, cols=2)
    for row, col, text in (
        (0, 0, f"填报人：{doc.filed_by}"),
        (0, 1, f"联系电话：{doc.phone}"),
        (1, 0, "审核人：__________"),
        (1, 1, "签发人：__________"),
    ):
        _line(sign.cell(row, col).paragraphs[0], text, 12)

    out = BytesIO()
    word.save(out)
    return out.getvalue()
