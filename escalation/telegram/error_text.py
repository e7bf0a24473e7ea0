"""How the bot says a domain error: in the linked person's language, from the catalogue.

The catalogue is the app's (``app.i18n.error_text``); this layer cannot import it, so the
process that starts the bot passes it in (``fenghuo bot``, the webhook route). Without one
the bot says the error's English message, as the lower layers wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

from incidents.errors import FenghuoError

ErrorText = Callable[[FenghuoError, str], str]
"""``(error, language) -> message``: the error's message in ``language`` (zh_CN or en)."""


def english(exc: FenghuoError, language: str) -> str:
    return exc.message
