"""Every user-facing string of the faces has its zh_CN translation (STYLE.md 12).

The messages are extracted the way ``pybabel extract -F babel.cfg`` does — Babel's own
extractors, with babel.cfg's per-section keywords, over the Python and the templates of
``app/`` and the domain errors' msgids in ``incidents/``, ``escalation/`` and
``accountability/`` — and held against the zh_CN catalogue that the running app compiles. A
message added to a view, a template or a raise site without its Chinese fails here, naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.i18n import TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent
# The zh_CN locale's catalogue lives in ``zh/``: Babel parses "zh_CN" as zh_Hans_CN, and
# gettext looks for "zh_Hans_CN" and then "zh" — never "zh_CN".
ZH = "zh"
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")

Message = str | tuple[str, ...]


def extracted() -> dict[Message, str]:
    """Every message of babel.cfg's sections with the file it first appears in."""
    found: dict[Message, str] = {}
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        methods, options = parse_mapping_cfg(fh, "babel.cfg")
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), methods, options, keywords=DEFAULT_KEYWORDS
    ):
        key: Message = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, filename)
    return found


def catalogue(lang: str) -> Catalog:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _translated(catalog: Catalog, key: Message) -> list[str] | None:
    entry = catalog.get(key if isinstance(key, str) else key[0])
    if entry is None or entry.fuzzy:
        return None
    strings = [entry.string] if isinstance(entry.string, str) else list(entry.string or ())
    return strings if strings and all(strings) else None


def test_the_app_reads_the_chinese_catalogue_for_zh_cn() -> None:
    from babel import Locale
    from babel.support import Translations

    found = Translations.load(str(TRANSLATIONS), [Locale.parse("zh_CN")])
    assert found.gettext("Log in") == "登录"


def test_the_extractor_finds_the_faces_messages() -> None:
    messages = extracted()
    assert "Log in" in messages  # a template
    assert "Only the command center logs incidents." in messages  # a view
    assert "cannot be in the future" in messages  # a domain error (incidents/)
    assert "the link code is invalid, used or expired" in messages  # escalation/
    assert "determine the case before proposing" in messages  # accountability/
    assert "there is no impact without an incident" in messages  # InvalidFacts
    assert "there is nothing to report without an incident" in messages  # N_()
    assert "an email address is required" in messages  # an address Problem
    assert "logging incidents is for the command center (3(3))" in messages  # require()


def test_every_message_has_a_chinese_translation() -> None:
    zh = catalogue(ZH)
    missing = [
        f"{where}: {key!r}" for key, where in extracted().items() if _translated(zh, key) is None
    ]
    assert not missing, "no zh_CN translation for:\n" + "\n".join(sorted(missing))


@pytest.mark.parametrize("lang", [ZH, "en"])
def test_translations_keep_every_placeholder(lang: str) -> None:
    wrong = []
    for entry in catalogue(lang):
        if not entry.id or not entry.string:
            continue
        ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string or ())
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if text and set(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)
