"""Translations: zh_CN first, English too (Flask-Babel).

Message catalogues live in ``app/translations/<lang>/LC_MESSAGES/messages.po``; the
compiled ``.mo`` files are built from them when missing or older (they are not kept in
git), so a fresh clone needs no extra step.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("zh_CN", "en")
DEFAULT = "zh_CN"


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``messages.po`` whose ``.mo`` is missing or stale."""
    built = []
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog)
        built.append(mo_path)
    return built


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    if current_user and current_user.is_authenticated:
        language: str = current_user.language
        if language in LANGUAGES:
            return language
    stored = session.get("lang")
    if stored in LANGUAGES:
        return str(stored)
    return DEFAULT


def init_i18n(app: Flask) -> Babel:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    return Babel(app, locale_selector=select_locale)
