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

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel, get_locale, gettext
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


@cache
def vocabulary() -> dict[str, tuple[str, ...]]:
    """The codes a domain error may pass as a param — statuses, grades, positions, report
    kinds, case statuses, rosters — with their (zh, en) names, so that "the incident is
    %(status)s" reads 已结案 in Chinese, not ``closed``. The first table naming a code wins."""
    from accountability.workflow import STATUS_NAMES as CASE_STATUS_NAMES
    from incidents.grading import GRADE_NAMES
    from incidents.lifecycle import STATUS_NAMES
    from incidents.org import ROLES
    from incidents.reports import KIND_NAMES
    from incidents.rosters import ROLE_NAMES

    words: dict[str, tuple[str, ...]] = {}
    tables = (STATUS_NAMES, GRADE_NAMES, ROLES, KIND_NAMES, CASE_STATUS_NAMES, ROLE_NAMES)
    for table in tables:
        for code, names in table.items():
            words.setdefault(code, names)
    return words


def words_in(language: str, translate: Callable[[str], str]) -> Callable[[str], str]:
    """``translate``, and for a code (or a comma-separated list of codes) the catalogue
    does not know, its name from :func:`vocabulary` in ``language``."""
    english = language.startswith("en")
    table = vocabulary()

    def name(code: str) -> str | None:
        names = table.get(code)
        if names is None:
            return None
        return names[1] if english else names[0]

    def word(value: str) -> str:
        found = translate(value)
        if found != value:
            return found
        single = name(value)
        if single is not None:
            return single
        parts = value.split(", ")
        if len(parts) > 1:
            named = [name(part) for part in parts]
            if all(n is not None for n in named):
                return (", " if english else "、").join(n for n in named if n is not None)
        return value

    return word


def _request_words() -> Callable[[str], str]:
    return words_in(str(get_locale() or DEFAULT), gettext)


def error_message(exc: FenghuoError) -> str:
    """``exc``'s message in the request's language."""
    return exc.render(_request_words())


def error_body(exc: FenghuoError) -> dict[str, object]:
    """``exc`` as the ``error`` member of a JSON body, its message in the request's language."""
    return exc.to_dict(_request_words())


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
    chosen = language if language in LANGUAGES else DEFAULT
    return exc.render(words_in(chosen, translations_for(chosen).gettext))
