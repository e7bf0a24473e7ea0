"""The viewer's own page: who they are in the organisation and the language they read.

The language is kept on the person (``incidents.accounts.set_language``, audited), so it
follows them to every device; the switch in the page header posts here too. The Telegram
link code (single use, ten minutes) is shown in the profile template's ``telegram`` block,
and only to the person's own session with their password typed in the last ten minutes:
whoever holds the code can link their own Telegram account and receive the person's
alerts, so a borrowed or stolen session must not be enough.

The duty calendar address (``app.web.calendar_feed``) is shown once, in the answer to
the form that makes it: only its digest is stored, so afterwards the page can say when
it was made and offer a new one, which stops the old address at once.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.auth import SESSION_TOKEN, current_web_session
from app.auth.views import client_address, same_site_path
from app.extensions import db, now, services
from app.web import bp
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, user
from escalation.telegram.linking import telegram_profile
from incidents.accounts import attempt_login, set_language
from incidents.calendar_feeds import current_feed, rotate_feed
from incidents.errors import NotFound
from incidents.org import LANGUAGES, Person, Position
from incidents.sessions import confirm_password


def safe_target(target: str | None) -> str:
    """A same-site path to go back to, or the profile page."""
    return same_site_path(target, url_for("web.profile"))


@bp.get("/profile")
@login_required
def profile() -> str:
    return _profile_page()


def _profile_page(calendar_feed_url: str | None = None) -> str:
    person = db().get(Person, user().person_id)
    if person is None:
        raise NotFound("no such person", field="id")
    positions = list(
        db().scalars(
            select(Position)
            .where(Position.person_id == person.id)
            .options(selectinload(Position.department), selectinload(Position.in_charge_of))
            .order_by(Position.valid_from.desc())
        )
    )
    settings = services().settings
    web_session = current_web_session()
    recent = web_session is not None and web_session.password_is_recent(now())
    telegram = None
    if recent or not settings.telegram_enabled:
        with writing() as s:
            # Issuing a link code writes a row; the same code is shown until it expires.
            telegram = telegram_profile(
                s,
                person_id=person.id,
                now=now(),
                secret_key=settings.secret_key,
                enabled=settings.telegram_enabled,
            )
    return render_template(
        "profile.html",
        telegram=telegram,
        needs_password=not recent and settings.telegram_enabled,
        person=person,
        positions=positions,
        languages=LANGUAGES,
        is_current=lambda p: p.held_at(now()),
        calendar_feed=current_feed(db(), person.id),
        calendar_feed_url=calendar_feed_url,
    )


def feed_address(secret: str) -> str:
    """The full address a phone calendar subscribes to."""
    path = url_for("web.calendar_feed", secret=secret)
    base = services().settings.public_url.rstrip("/")
    return base + path if base else url_for("web.calendar_feed", secret=secret, _external=True)


@bp.post("/profile/calendar-feed")
@login_required
def rotate_calendar_feed() -> str:
    """Make a new duty calendar address (the old one answers 404 from now on) and show it,
    this once, in the page this answers with."""
    with writing() as s:
        secret, _row = rotate_feed(s, person_id=user().person_id, actor=actor(), now=now())
    flash(_("A new calendar address was made; the old one no longer works."), "ok")
    return _profile_page(calendar_feed_url=feed_address(secret))


@bp.post("/profile/language")
@login_required
def language() -> Response:
    chosen = request.form.get("language", "")
    with writing() as s:
        person = s.get(Person, user().person_id)
        if person is None:
            raise NotFound("no such person", field="id")
        set_language(s, person=person, language=chosen, actor=actor(), now=now())
    session["lang"] = chosen
    with force_locale(chosen):
        flash(_("Language saved."), "ok")
    # Strip a ?lang= from the page we go back to: the stored choice now decides.
    target = safe_target(request.form.get("next"))
    parts = urlsplit(target)
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("lang="))
    return redirect(parts.path + (f"?{query}" if query else ""))


@bp.post("/profile/confirm-password")
@login_required
def confirm_password_for_link() -> Response:
    """Type the password again to see the Telegram link code (counted like a login)."""
    settings = services().settings
    with writing() as s:
        outcome = attempt_login(
            s,
            login=user().login,
            password=request.form.get("password", ""),
            now=now(),
            source="web",
            max_failures=settings.login_max_failures,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
            address=client_address(),
        )
        if outcome.ok:
            confirm_password(s, str(session.get(SESSION_TOKEN, "")), now=now())
    if not outcome.ok:
        flash(_("Wrong password, or too many failures: wait a moment and try again."), "error")
    return redirect(url_for("web.profile") + "#telegram")
