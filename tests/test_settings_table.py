"""The README's settings table tells the truth: every ``FENGHUO_*`` variable the code
reads is in it, and every variable in it is one the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "app", "escalation", "incidents", "accountability")

# A variable named whole (``"FENGHUO_SMTP_HOST"``, in code, messages or docstrings), or
# built from the prefix as config.settings does (``PREFIX + "SMTP_HOST"``). A name that
# ends in ``_`` is a family (``FENGHUO_SMTP_*``), not a variable.
WHOLE = re.compile(r"\bFENGHUO_[A-Z0-9_]*[A-Z0-9]\b")
BUILT = re.compile(r'\bPREFIX \+ "([A-Z0-9_]+)"')


def read_by_the_code() -> dict[str, str]:
    """Each variable the packages name, with the first file naming it."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            names = WHOLE.findall(text) + ["FENGHUO_" + n for n in BUILT.findall(text)]
            for name in names:
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def in_the_readme() -> set[str]:
    """The variables in the first column of the README's "## Settings" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `FENGHUO_")]
    return {name for row in rows for name in WHOLE.findall(row.split(" | ", 1)[0])}


def test_the_scan_finds_variables_both_ways() -> None:
    found = read_by_the_code()
    assert found["FENGHUO_AUDIT_KEY"] == "config/audit_key.py"  # named whole
    assert found["FENGHUO_SMTP_TIMEOUT"] == "config/settings.py"  # PREFIX + "SMTP_TIMEOUT"
    assert "FENGHUO_SMTP" not in found and "FENGHUO_" not in found  # families, not names


def test_every_variable_the_code_reads_is_in_the_readme() -> None:
    documented = in_the_readme()
    missing = {name: where for name, where in read_by_the_code().items() if name not in documented}
    assert not missing, f"not in the README's settings table: {missing}"


def test_every_variable_in_the_readme_is_read_by_the_code() -> None:
    stale = in_the_readme() - set(read_by_the_code())
    assert not stale, f"in the README's settings table but read by no code: {sorted(stale)}"
