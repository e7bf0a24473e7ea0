"""Write the sample monthly duty roster (值班表) in ``docs/``, as an office keeps one.

``docs/roster-sample.xlsx`` and ``docs/roster-sample.csv`` hold the same month for the
demo organisation (``app/demo/organisation.yaml`` and its duty team,
``app/demo/duty_team.yaml``): a title row, the header, one row per day with the weekday,
the duty officer and the leader on duty by name, the technical on-call by login, and a
notes column the import ignores. ``fenghuo roster import docs/roster-sample.xlsx --month
2026-12`` loads it into a database seeded with ``fenghuo demo seed``.

    .venv/bin/python scripts/make_roster_sample.py [--month 2026-12] [--out docs]
"""

from __future__ import annotations

import argparse
import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILES = (ROOT / "app" / "demo" / "organisation.yaml", ROOT / "app" / "demo" / "duty_team.yaml")
WEEKDAYS = "一二三四五六日"
# Logins of the demo organisation; the duty officers and leaders are written by name.
OFFICERS = ("duty", "duty2", "duty3", "duty4")  # 24 hours each, in turn
LEADERS = ("cchead", "netsec", "deputy")  # a day each, in turn
TECHNICAL = ("tech1", "tech2")  # by login, a week each
NOTES = {
    date(2026, 12, 24): "平安夜，加强网站巡检",
    date(2026, 12, 31): "跨年值班，元旦前检查网络安全防护",
}
HEADER = ("日期", "星期", "值班员", "带班领导", "技术值班", "备注")


def demo_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for path in DEMO_FILES:
        org = yaml.safe_load(path.read_text(encoding="utf-8"))
        names.update({p["login"]: p["name"] for p in org["people"]})
    return names


def month_rows(first: date) -> list[tuple[date, str, str, str, str, str]]:
    names = demo_names()
    following = (first + timedelta(days=32)).replace(day=1)
    monday = first - timedelta(days=first.weekday())  # technical weeks run from Monday
    rows = []
    day = first
    while day < following:
        n = (day - first).days
        rows.append(
            (
                day,
                f"周{WEEKDAYS[day.weekday()]}",
                names[OFFICERS[n % len(OFFICERS)]],
                names[LEADERS[n % len(LEADERS)]],
                TECHNICAL[((day - monday).days // 7) % len(TECHNICAL)],
                NOTES.get(day, ""),
            )
        )
        day += timedelta(days=1)
    return rows


def write_xlsx(path: Path, first: date) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{first:%Y年%m月}值班表"
    sheet.append([f"指挥中心{first.year}年{first.month}月值班表"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(list(HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in month_rows(first):
        sheet.append(list(row))
        sheet.cell(row=sheet.max_row, column=1).number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEF", (12, 6, 10, 10, 10, 36), strict=True):
        sheet.column_dimensions[column].width = width
    fixed = datetime(first.year, first.month, 1)  # noqa: DTZ001 - a document property
    book.properties.creator = "Fenghuo"
    book.properties.created = book.properties.modified = fixed
    book.save(path)


def write_csv(path: Path, first: date) -> None:
    # UTF-8 with a BOM: what Excel expects of a CSV holding Chinese.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for day, *rest in month_rows(first):
            out.writerow([day.isoformat(), *rest])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2026-12", help="YYYY-MM")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    year, month = (int(part) for part in args.month.split("-"))
    first = date(year, month, 1)
    write_xlsx(args.out / "roster-sample.xlsx", first)
    write_csv(args.out / "roster-sample.csv", first)
    print(f"wrote {args.out / 'roster-sample.xlsx'} and {args.out / 'roster-sample.csv'}")


if __name__ == "__main__":
    main()
