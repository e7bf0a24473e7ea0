"""The web face's fixtures (an app on the demo organisation, a logged-in browser) for the
paging-health pages and probes."""

from tests.web.conftest import app, browser, duty, sessions  # noqa: F401  (fixtures)
