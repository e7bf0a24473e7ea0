"""The viewer's own page: who they are in the organisation and the language they read.

The language is kept on the person (``incidents.accounts.set_language``, audited), so it
follows them to every device; the switch in the page header posts here too. The Telegram
link code (single use, ten minutes) is shown in the profile template's ``telegram`` block.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.auth.views import same_site_path
from app.extensions import db, now, services
from app.web import bp
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, user
from escalation.telegram.linking import telegram_profile
from incidents.accounts import set_language
from incidents.errors import NotFound
from incidents.org import LANGUAGES, Person, Position


def safe_target(target: str | None) -> str:
    """A same-site path to go back to, or the profile page."""
    return same_site_path(target, url_for("web.profile"))


@bp.get("/profile")
@login_required
def profile() -> str:
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
        person=person,
        positions=positions,
        languages=LANGUAGES,
        is_current=lambda p: p.held_at(now()),
    )


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
