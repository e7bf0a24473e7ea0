"""What a page may not say: English the catalogue translates, on a Chinese page, and the
catalogue's Chinese on an English page (issue 14).

The words are read from the catalogues the app compiles, so every msgid — a template's, a
view's, a domain error's — is covered as soon as it is in the catalogue, with nothing to
list here. A page's text is what a reader sees: the text between the tags and the
``title``, ``aria-label``, ``placeholder`` and ``alt`` attributes, not scripts or styles.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

from app.i18n import TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
CJK = re.compile(r"[\u3400-\u9fff]")
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
# A fragment of an English msgid counts when it is at least this long and has at least
# two words. Shorter ones ("Open", "PDF", "Telegram", "OK", "Email") are names, codes
# or words that occur inside ids, logins, file names and the English glosses the Chinese
# catalogue keeps on purpose; matching them would flag pages that are right.
MIN_ENGLISH = 12
# A Chinese msgstr counts on an English page when it has at least this many Chinese
# characters. One- and two-character words (是, 否, 签收, 一般) are also what the data and
# the bilingual regulation glosses in English msgids (5.4 情况十分严重…) are made of.
MIN_CHINESE = 4


def _catalogue(lang: str) -> list[tuple[str, str]]:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    out = []
    for entry in catalog:
        if not entry.id or entry.fuzzy:
            continue
        ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string or ())
        for msgid, msgstr in zip(ids, strings, strict=False):
            out.append((msgid, msgstr or ""))
    return out


def _demo_data() -> str:
    """The demo organisation's own text: names the pages show as data, in either language."""
    return (ROOT / "app" / "demo" / "organisation.yaml").read_text(encoding="utf-8")


@cache
def english_words() -> frozenset[str]:
    """Fragments of English msgids that a zh_CN page must not show: each literal part
    (between placeholders) of a msgid whose Chinese differs from it."""
    pairs = _catalogue("zh")
    chinese = "\n".join(msgstr for _msgid, msgstr in pairs)
    data = _demo_data()
    words = set()
    for msgid, msgstr in pairs:
        if not msgstr or msgstr == msgid:
            continue
        for part in PLACEHOLDER.split(msgid):
            part = part.strip(" .,:;()–-\n")
            if len(part) < MIN_ENGLISH or len(re.findall(r"[A-Za-z]{2,}", part)) < 2:
                continue
            if part in chinese or part in data:
                continue  # kept in English on purpose inside a translation, or data
            words.add(part)
    return frozenset(words)


@cache
def chinese_words() -> frozenset[str]:
    """zh_CN translations that an English page must not show (a missing English entry
    falling back to Chinese, or a Chinese string where a msgid belonged)."""
    pairs = _catalogue("zh")
    english = "\n".join(msgid for msgid, _msgstr in pairs)
    data = _demo_data()
    words = set()
    for _msgid, msgstr in pairs:
        for part in PLACEHOLDER.split(msgstr):
            part = part.strip(" .,:;()–-\n。，：；（）、")
            if len(CJK.findall(part)) < MIN_CHINESE:
                continue
            if part in english or part in data:
                continue  # a regulation gloss inside an English msgid, or a name in the data
            words.add(part)
    return frozenset(words)


VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)


class _Text(HTMLParser):
    """The visible words; an element that declares another language (``lang``) than the
    page's is left out: the filed report's document is Chinese whoever reads it."""

    def __init__(self, language: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.language = language
        self._open: list[str] = []
        self._hidden_from: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            if self._hidden_from is None:
                self._attributes(attrs)
            return
        self._open.append(tag)
        declared = dict(attrs).get("lang")
        other = declared and self.language and _primary(declared) != _primary(self.language)
        if self._hidden_from is None and (tag in ("script", "style") or other):
            self._hidden_from = len(self._open)
        if self._hidden_from is None:
            self._attributes(attrs)

    def _attributes(self, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._open:
            return
        while self._open:
            closed = self._open.pop()
            if self._hidden_from is not None and len(self._open) < self._hidden_from:
                self._hidden_from = None
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._hidden_from is None:
            self.parts.append(data)


def _primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def visible_text(html: str, language: str | None = None) -> str:
    """The words of ``html`` a reader of ``language`` sees, one space between pieces."""
    parser = _Text(language)
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def leaks(text: str, language: str) -> list[str]:
    """What ``text`` says in the wrong language for ``language`` (zh_CN or en), and any
    placeholder left unfilled (a message rendered without its params)."""
    found = sorted(w for w in english_words() if w in text) if language == "zh_CN" else []
    if language == "en":
        found = sorted(w for w in chinese_words() if w in text)
    found += [f"unfilled {m}" for m in sorted(set(PLACEHOLDER.findall(text)))]
    return found
