"""Translations: zh_CN first, English too (Flask-Babel).

Message catalogues live in ``app/translations/<lang>/LC_MESSAGES/messages.po``; the
compiled ``.mo`` files are built from them when missing or older (they are not kept in
git), so a fresh clone needs no extra step.

Whose language: on the web, the signed-in person's setting (``?lang=`` switches it for the
session; before sign-in the session's choice, else zh_CN); on the API, the request's
``Accept-Language`` — English unless the caller asks for Chinese, since most callers are
machines; in the bot, the linked person's setting (:func:`error_text`, no request needed).

Domain errors (``incidents.errors``) carry an English msgid and params; they are rendered
here, through the catalogue, and nowhere else: :func:`error_message` for a page or a flash,
:func:`error_body` for a JSON body (code, field and params as raised, the message
translated), :func:`error_text` for a language named outright.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel, gettext
from flask_login import current_user

from incidents.errors import FenghuoError

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("zh_CN", "en")
DEFAULT = "zh_CN"
API_DEFAULT = "en"
API_PREFIX = "/api/"


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
    if request.path.startswith(API_PREFIX):
        return api_locale()
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
    # ``{{ error|error_message }}``: a template shows a domain error in the reader's language.
    app.jinja_env.filters["error_message"] = error_message
    return Babel(app, locale_selector=select_locale)


def api_locale() -> str:
    """The API's language: what ``Accept-Language`` asks for (``zh-CN``, ``zh``, ``en-GB``…)
    among ours, English when it asks for nothing we have."""
    best = request.accept_languages.best_match(LANGUAGES, default=API_DEFAULT)
    return best or API_DEFAULT


def error_message(exc: FenghuoError) -> str:
    """``exc``'s message in the request's language."""
    return exc.render(gettext)


def error_body(exc: FenghuoError) -> dict[str, object]:
    """``exc`` as the ``error`` member of a JSON body, its message in the request's language."""
    return exc.to_dict(gettext)


@cache
def translations_for(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (one of :data:`LANGUAGES`, else the default),
    for text rendered outside a request: the bot's replies."""
    if language not in LANGUAGES:
        language = DEFAULT
    compile_catalogues()
    return Translations.load(str(TRANSLATIONS), [Locale.parse(language)])  # Null if none


def error_text(exc: FenghuoError, language: str | None) -> str:
    """``exc``'s message in ``language`` (zh_CN or en; anything else is the default)."""
    return exc.render(translations_for(language or DEFAULT).gettext)
