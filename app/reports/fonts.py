"""The Chinese font the report PDF is set in, embedded as a subset.

A report is archived and sent to other offices, so the PDF carries its own glyphs: a
TrueType font the machine has is registered with ReportLab, which embeds only the
characters the document uses (``/FontFile2``, a few tens of kilobytes). ReportLab reads
TrueType (``glyf``) outlines only; Noto CJK (Debian ``fonts-noto-cjk``) has CFF outlines
and cannot be embedded, which is why the search looks for the fonts below.

The search order: the font named by ``FENGHUO_PDF_FONT`` (``config.settings`` has
checked that it is a TrueType file), then the known TrueType Chinese fonts Debian
installs — ``fonts-wqy-zenhei`` first. When none is there the PDF falls back to
ReportLab's Adobe CID font ``STSong-Light``, which is *not* embedded (the reader must
supply Adobe's Chinese font pack), and says so in the log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

# TrueType-outline Chinese fonts by their Debian paths, best first. A ``.ttc`` holds
# several faces; index 0 is the regular one in each of these.
KNOWN_FONTS: tuple[tuple[Path, int], ...] = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),  # fonts-wqy-zenhei
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),  # fonts-wqy-microhei
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),  # fonts-arphic-uming
    (Path("/usr/share/fonts/truetype/arphic/ukai.ttc"), 0),  # fonts-arphic-ukai
)
CID_FALLBACK = "STSong-Light"


@dataclass(frozen=True)
class PdfFont:
    """A registered ReportLab font: its name and whether the PDF embeds it."""

    name: str
    embedded: bool
    path: Path | None = None


_lock = threading.Lock()
_chosen: dict[Path | None, PdfFont] = {}


def _register_truetype(path: Path, index: int) -> PdfFont:
    font = TTFont(f"fenghuo-{path.stem}-{index}", str(path), subfontIndex=index)
    pdfmetrics.registerFont(font)
    return PdfFont(font.fontName, embedded=True, path=path)


def find_font(
    configured: Path | None, known: tuple[tuple[Path, int], ...] = KNOWN_FONTS
) -> PdfFont:
    """Register and return the first usable font: ``configured``, then ``known``, then
    the CID fallback (with a warning in the log)."""
    candidates = [(configured, 0)] if configured is not None else []
    candidates += [(p, i) for p, i in known if p != configured]
    for path, index in candidates:
        if not path.is_file():
            continue
        try:
            found = _register_truetype(path, index)
        # A damaged file fails inside ReportLab's parser in any way (KeyError, struct.error…).
        except Exception as exc:
            log.warning("PDF font %s cannot be embedded: %s", path, exc)
            continue
        log.info("report PDFs embed a subset of %s", path)
        return found
    log.warning(
        "No TrueType Chinese font found (install fonts-wqy-zenhei or set FENGHUO_PDF_FONT): "
        "report PDFs use the %s CID font, which is not embedded and needs the reader's "
        "Chinese font pack",
        CID_FALLBACK,
    )
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return PdfFont(CID_FALLBACK, embedded=False)


def pdf_font(configured: Path | None = None) -> PdfFont:
    """The font to set reports in, found and registered once per process."""
    with _lock:
        if configured not in _chosen:
            _chosen[configured] = find_font(configured)
        return _chosen[configured]
