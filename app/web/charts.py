"""Charts drawn on the server as inline SVG: no script, no library, nothing from a CDN.

Two pure functions, :func:`bar_chart` (stacked bars; one series is plain bars) and
:func:`line_chart` (lines with markers). They take the words already translated and the
numbers already chosen, and return the SVG text, built with ElementTree so that every label
is escaped and the result is well-formed XML.

Each chart is accessible on its own terms: ``role="img"`` with a ``<title>`` and a
``<desc>`` it is labelled by, text labels on the axes and the months, a legend in words,
and series told apart by pattern (bars) or by dash and marker shape (lines) as well as by
colour, so a grey print or a reader who does not see red from orange loses nothing. Every
bar and point carries its own ``<title>`` (the month, the series and the value). The
figures' tables stand beside the charts; the charts never replace them.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# The drawing's own coordinates; the SVG scales to its box (viewBox, width 100%).
WIDTH = 560
HEIGHT = 300
LEFT = 56
RIGHT = 12
TOP = 40  # the axis' unit above the top tick
FONT = 13
# Text is drawn at FONT, but laid out (label spacing, legend rows) for text up to LAYOUT
# units: on a phone the drawing shrinks to about 0.6 and the stylesheet enlarges the text
# to stay readable (trends.css), so nothing may touch even then.
LAYOUT = 20
BOTTOM = 2 * LAYOUT + 8  # two lines under the plot: the months, the years
#: More months than this and the numbers above the bars and points would touch: the
#: table and each bar's own title carry them.
LABELLED_MONTHS = 18
PATTERNS = ("solid", "diagonal", "dots", "cross", "horizontal", "vertical")
MARKERS = ("circle", "square", "triangle", "diamond")
DASHES = ("", "6 4", "2 3", "8 3 2 3")


@dataclass(frozen=True)
class Series:
    """One named row of values, one per label; ``None`` is "no value" (not zero)."""

    label: str
    values: Sequence[float | None]
    colour: str
    pattern: str = "solid"  # bars: one of PATTERNS
    marker: str = "circle"  # lines: one of MARKERS
    dash: str = ""  # lines: an SVG stroke-dasharray


def nice_scale(value: float, *, whole: bool = False) -> tuple[float, float]:
    """A round top and step for an axis reaching ``value``: the step is 1, 2 or 5 × 10^k
    and about a quarter of the top; ``whole`` (counts) keeps the step a whole number."""
    if value <= 0:
        return 1.0, 1.0 if whole else 0.25
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power + 1e-9)
    if whole:
        step = max(1.0, float(math.ceil(step)))
    return step * math.ceil(value / step - 1e-9), float(step)


def _num(value: float) -> str:
    """A coordinate without float noise."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _plain(value: float) -> str:
    return _num(value) if value != int(value) else str(int(value))


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    )
    if text is not None:
        child.text = text
    return child


def _root(chart_id: str, title: str, desc: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "chart",
            "id": chart_id,
            "font-size": str(FONT),
        },
    )
    _el(svg, "title", title, id=f"{chart_id}-title")
    _el(svg, "desc", desc, id=f"{chart_id}-desc")
    return svg


def _light(colour: str) -> bool:
    """Whether ``#rrggbb`` (or ``#rgb``) is light enough that a pattern on it needs dark ink."""
    if len(colour) == 4:
        colour = "#" + "".join(ch * 2 for ch in colour[1:])
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue > 160


def _pattern(defs: ET.Element, pattern_id: str, colour: str, kind: str) -> None:
    pat = _el(
        defs,
        "pattern",
        id=pattern_id,
        width="8",
        height="8",
        patternUnits="userSpaceOnUse",
    )
    _el(pat, "rect", width="8", height="8", fill=colour)
    pen = "#1a1a1a" if _light(colour) else "#ffffff"
    ink = {"stroke": pen, "stroke_width": "1.6"}
    if kind == "diagonal":
        _el(pat, "path", d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4", **ink)
    elif kind == "dots":
        _el(pat, "circle", cx="4", cy="4", r="1.6", fill=pen)
    elif kind == "cross":
        _el(pat, "path", d="M0,0 L8,8 M8,0 L0,8", **ink)
    elif kind == "horizontal":
        _el(pat, "path", d="M0,4 H8", **ink)
    elif kind == "vertical":
        _el(pat, "path", d="M4,0 V8", **ink)


def shown_labels(count: int, plot_width: float) -> list[int]:
    """The months whose label is printed: every n-th, so that labels (two digits, about
    1.6 em each at the largest text) never touch, and always the last one."""
    if count == 0:
        return []
    step = max(1, math.ceil(count * LAYOUT * 1.6 / plot_width))
    shown = list(range(0, count, step))
    if shown[-1] != count - 1:
        if count - 1 - shown[-1] < step and len(shown) > 1:
            shown[-1] = count - 1
        else:
            shown.append(count - 1)
    return shown


def _axes(
    svg: ET.Element,
    labels: Sequence[str],
    scale: tuple[float, float],
    tick: Callable[[float], str],
    axis_label: str,
) -> tuple[float, float, float, float]:
    """Grid, y ticks and month labels; returns the plot box (x0, y0, width, height)."""
    x0, y0 = float(LEFT), float(TOP)
    width, height = float(WIDTH - LEFT - RIGHT), float(HEIGHT - TOP - BOTTOM)
    grid = _el(svg, "g", class_="grid", aria_hidden="true")
    top, step = scale
    for i in range(round(top / step) + 1):
        value = step * i
        y = y0 + height - height * value / top
        _el(
            grid,
            "line",
            x1=_num(x0),
            x2=_num(x0 + width),
            y1=_num(y),
            y2=_num(y),
            stroke="#d5d9e0" if i else "#6b7280",
            stroke_width="1",
        )
        _el(
            grid,
            "text",
            tick(value),
            x=_num(x0 - 6),
            y=_num(y + 4),
            text_anchor="end",
            fill="#374151",
        )
    if axis_label:
        _el(
            grid,
            "text",
            axis_label,
            x="4",
            y=_num(y0 - LAYOUT),
            text_anchor="start",
            fill="#374151",
            class_="unit",
        )
    months = _el(svg, "g", class_="months", aria_hidden="true")
    slot = width / max(len(labels), 1)
    shown = shown_labels(len(labels), width)
    for i in shown:
        year, _, month = labels[i].partition("-")
        _el(
            months,
            "text",
            month or year,
            x=_num(x0 + slot * (i + 0.5)),
            y=_num(y0 + height + LAYOUT),
            text_anchor="middle",
            fill="#111827",
        )
    # The year under the first month and under each January (or the first month shown
    # after it, when labels are thinned out); a first month too close to the next
    # January leaves the year to it (the period is stated above the chart).
    years: list[tuple[float, str]] = []
    for i in shown:
        year = labels[i].partition("-")[0]
        if not years or year != years[-1][1]:
            centre = x0 + slot * (i + 0.5)
            if len(years) == 1 and centre - years[0][0] < LAYOUT * 3:
                years.pop()
            years.append((centre, year))
    for centre, year in years:
        _el(
            months,
            "text",
            year,
            x=_num(centre),
            y=_num(y0 + height + 2 * LAYOUT),
            text_anchor="middle",
            fill="#4b5360",
            class_="year",
        )
    return x0, y0, width, height


Swatch = Callable[[ET.Element, float, float], None]


def _finish(svg: ET.Element, items: Sequence[tuple[str, Swatch]]) -> str:
    """Add the legend (swatches and words, in as many rows as it takes) under the month
    labels, size the drawing to hold it, and serialise."""
    bottom = float(HEIGHT)
    if items:
        legend = _el(svg, "g", class_="legend")
        x, y = 4.0, bottom + LAYOUT + 4
        for label, swatch in items:
            span = 22 + len(label) * LAYOUT * (1.0 if _wide(label) else 0.55) + 14
            if x + span > WIDTH and x > 4:
                x, y = 4.0, y + LAYOUT + 8
            swatch(legend, x, y - 11)
            _el(legend, "text", label, x=_num(x + 22), y=_num(y), fill="#111827")
            x += span
        bottom = y
    svg.set("viewBox", f"0 0 {WIDTH} {_num(bottom + 8)}")
    return ET.tostring(svg, encoding="unicode")


def _wide(text: str) -> bool:
    return any(ord(ch) > 0x2E80 for ch in text)


def _empty(svg: ET.Element, text: str) -> None:
    _el(
        svg,
        "text",
        text,
        x=_num(WIDTH / 2),
        y=_num(HEIGHT / 2 - 10),
        text_anchor="middle",
        fill="#4b5360",
        class_="chart-empty",
    )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    empty_text: str,
    tick: Callable[[float], str] = _plain,
    value_text: Callable[[float], str] = _plain,
    axis_label: str = "",
    top: float | None = None,
    whole: bool = True,
) -> str:
    """Bars per label, the series stacked bottom to top; the total printed above each bar.

    Heights are proportional to the values on a 0..``top`` scale (``top`` defaults to a
    round number at or above the tallest stack). With nothing to draw the axes stay and
    ``empty_text`` says so.
    """
    svg = _root(chart_id, title, desc)
    defs = _el(svg, "defs")
    for i, s in enumerate(series):
        _pattern(defs, f"{chart_id}-p{i}", s.colour, s.pattern)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    scale = (top, top / 4) if top else nice_scale(max(totals, default=0), whole=whole)
    scale_top = scale[0]
    x0, y0, width, height = _axes(svg, labels, scale, tick, axis_label)
    slot = width / max(len(labels), 1)
    bar = slot * 0.62
    bars = _el(svg, "g", class_="bars")
    for i, label in enumerate(labels):
        base = y0 + height
        x = x0 + slot * i + (slot - bar) / 2
        for k, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            h = height * value / scale_top
            base -= h
            rect = _el(
                bars,
                "rect",
                x=_num(x),
                y=_num(base),
                width=_num(bar),
                height=_num(h),
                fill=f"url(#{chart_id}-p{k})",
                stroke="#1f2937",
                stroke_width="0.6",
                data_value=_plain(value),
            )
            _el(rect, "title", f"{label} · {s.label}: {value_text(value)}")
        if totals[i] and len(labels) <= LABELLED_MONTHS:
            _el(
                bars,
                "text",
                value_text(totals[i]),
                x=_num(x + bar / 2),
                y=_num(base - 4),
                text_anchor="middle",
                fill="#111827",
                class_="total",
                font_size=str(FONT - 1),
            )
    if not any(totals):
        _empty(svg, empty_text)
    legend = [(s.label, _box(f"{chart_id}-p{k}")) for k, s in enumerate(series)]
    return _finish(svg, legend if len(series) > 1 else [])


def _box(pattern_id: str) -> Swatch:
    def draw(parent: ET.Element, x: float, y: float) -> None:
        _el(
            parent,
            "rect",
            x=_num(x),
            y=_num(y),
            width="14",
            height="12",
            fill=f"url(#{pattern_id})",
            stroke="#1f2937",
            stroke_width="0.6",
        )

    return draw


def _points(*xy: tuple[float, float]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in xy)


def _marker(parent: ET.Element, kind: str, x: float, y: float, colour: str) -> ET.Element:
    r = 4.0
    if kind == "square":
        return _el(
            parent,
            "rect",
            x=_num(x - r),
            y=_num(y - r),
            width=_num(2 * r),
            height=_num(2 * r),
            fill=colour,
        )
    if kind == "triangle":
        points = _points((x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r))
        return _el(parent, "polygon", points=points, fill=colour)
    if kind == "diamond":
        points = _points((x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y))
        return _el(parent, "polygon", points=points, fill=colour)
    return _el(
        parent,
        "circle",
        cx=_num(x),
        cy=_num(y),
        r=_num(r),
        fill="#ffffff",
        stroke=colour,
        stroke_width="2",
    )


def _line_swatch(s: Series) -> Swatch:
    def draw(parent: ET.Element, x: float, y: float) -> None:
        _el(
            parent,
            "line",
            x1=_num(x),
            x2=_num(x + 16),
            y1=_num(y + 6),
            y2=_num(y + 6),
            stroke=s.colour,
            stroke_width="2.5",
            stroke_dasharray=s.dash or "none",
        )
        _marker(parent, s.marker, x + 8, y + 6, s.colour)

    return draw


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    empty_text: str,
    tick: Callable[[float], str] = _plain,
    value_text: Callable[[float], str] = _plain,
    axis_label: str = "",
    top: float | None = None,
    whole: bool = False,
    point_labels: bool = False,
) -> str:
    """One line per series through the month centres; a ``None`` breaks the line.

    Each point is a marker (its shape names the series) with its own ``<title>``; with
    ``point_labels`` (one series only is sensible) the value is printed above it.
    """
    svg = _root(chart_id, title, desc)
    present = [v for s in series for v in s.values if v is not None]
    scale = (top, top / 4) if top else nice_scale(max(present, default=0), whole=whole)
    scale_top = scale[0]
    x0, y0, width, height = _axes(svg, labels, scale, tick, axis_label)
    slot = width / max(len(labels), 1)
    lines = _el(svg, "g", class_="lines")
    for s in series:
        group = _el(lines, "g", class_="series")
        points = [
            None if v is None else (x0 + slot * (i + 0.5), y0 + height - height * v / scale_top)
            for i, v in enumerate(s.values)
        ]
        run: list[tuple[float, float]] = []
        for point in [*points, None]:
            if point is not None:
                run.append(point)
                continue
            if len(run) > 1:
                d = "M" + " L".join(f"{_num(px)},{_num(py)}" for px, py in run)
                _el(
                    group,
                    "path",
                    d=d,
                    fill="none",
                    stroke=s.colour,
                    stroke_width="2.5",
                    stroke_dasharray=s.dash or "none",
                )
            run = []
        for i, point in enumerate(points):
            value = s.values[i]
            if point is None or value is None:
                continue
            mark = _marker(group, s.marker, point[0], point[1], s.colour)
            mark.set("data-value", _plain(value))
            _el(mark, "title", f"{labels[i]} · {s.label}: {value_text(value)}")
            if point_labels and len(labels) <= LABELLED_MONTHS:
                _el(
                    group,
                    "text",
                    value_text(value),
                    x=_num(point[0]),
                    y=_num(point[1] - 8),
                    text_anchor="middle",
                    fill="#111827",
                    class_="point-label",
                    font_size=str(FONT - 1),
                )
    if not present:
        _empty(svg, empty_text)
    return _finish(svg, [(s.label, _line_swatch(s)) for s in series])
