"""Our own words for the HTTP errors, in the reader's language.

Werkzeug's descriptions ("The requested URL was not found on the server…") are English
and say more about the server than the reader needs; every error page and every JSON error
body says one of these instead (``app._register_errors``). The ``code`` of a JSON body stays
Werkzeug's name of the status (``not_found``, ``request_entity_too_large``).
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString

HEADINGS: dict[int, LazyString] = {
    400: lazy_gettext("Request refused"),
    401: lazy_gettext("Sign-in needed"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("Request refused"),
    409: lazy_gettext("Conflict"),
    413: lazy_gettext("Too large"),
    415: lazy_gettext("Request refused"),
    422: lazy_gettext("Cannot be accepted"),
    429: lazy_gettext("Too many requests"),
}

MESSAGES: dict[int | str, LazyString] = {
    400: lazy_gettext("The request could not be understood. Go back and try again."),
    401: lazy_gettext("Sign in first, then try again."),
    403: lazy_gettext("You may not open this page or do this."),
    404: lazy_gettext(
        "There is nothing at this address. The link may be wrong, or the record is one you "
        "may not see."
    ),
    405: lazy_gettext("This address does not accept that kind of request."),
    409: lazy_gettext("The record changed meanwhile; reload the page and try again."),
    413: lazy_gettext("What was sent is too large to accept."),
    415: lazy_gettext("That kind of content is not accepted here."),
    422: lazy_gettext("The request could not be accepted."),
    429: lazy_gettext("Too many requests in a short time; wait a moment and try again."),
    500: lazy_gettext(
        "Something went wrong on our side and it has been logged. Try again in a moment."
    ),
    503: lazy_gettext("The service is unavailable for a moment; try again shortly."),
    "csrf": lazy_gettext(
        "The form had expired or did not come from this site. Reload the page and send it again."
    ),
}


def heading(code: int) -> str:
    if code >= 500:
        return str(gettext("Something went wrong"))
    return str(HEADINGS.get(code, HEADINGS[400]))


def http_message(code: int | str) -> str:
    """The sentence for status ``code`` (or ``"csrf"``); a status without one of its own gets
    its class's (4xx: refused, 5xx: our fault)."""
    if code in MESSAGES:
        return str(MESSAGES[code])
    if isinstance(code, int) and code >= 500:
        return str(MESSAGES[500])
    return str(gettext("The request was refused."))
