"""The viewer's own page: who they are in the organisation and the language they read.

The language is kept on the person (``incidents.accounts.set_language``, audited), so it
follows them to every device; the switch in the page header posts here too. The Telegram
link code is added to the profile template's ``telegram`` block by the Telegram face.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.extensions import db, now
from app.web import bp
from app.web.session_scope import writing
from app.web.translate import _
from app.web.viewer import actor, user
from incidents.accounts import set_language
from incidents.errors import NotFound
from incidents.org import LANGUAGES, Person, Position


def safe_target(target: str | None) -> str:
    """A same-site path to go back to, or the profile page."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "//" not in target:
        return target
    return url_for("web.profile")


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
    return render_template(
        "profile.html",
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
