"""Login, logout and signing out everywhere.

Every failed login answers the same way and takes the same time, known login or not
(``incidents.accounts.attempt_login``); a client address with too many failures in the
window is refused for a while (counted in the database, so across every web worker,
and behind ``FENGHUO_TRUSTED_PROXIES`` proxies the address is the client's, not the
proxy's). A login starts a server-side session; logout ends it, so a copied cookie stops
working. Failed logins and logouts are in the audit chain.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.auth import SESSION_TOKEN, AppUser
from app.extensions import db, now, services
from incidents.accounts import attempt_login, sign_out_everywhere
from incidents.audit import Actor, record
from incidents.org import Person
from incidents.sessions import (
    address_failures,
    count_address_failure,
    end_session,
    start_session,
)

bp = Blueprint("auth", __name__)


def same_site_path(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site (no scheme, host or ``//``), else
    ``fallback``: a ``next`` taken from a request must not send anyone elsewhere."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "//" not in target:
        return target
    return fallback


def _safe_next(target: str | None) -> str:
    return same_site_path(target, url_for("web.dashboard"))


def _fresh_transaction() -> Session:
    """The request's session with no transaction open (loading the logged-in person may
    have begun one: a login form posted while logged in)."""
    session = db()
    if session.in_transaction():
        session.commit()
    return session


def client_address() -> str:
    return (request.remote_addr or "?")[:64]


def _form(status: int) -> tuple[str, int]:
    return render_template("auth/login.html", next=request.form.get("next", "")), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("auth/login.html", next=request.args.get("next", ""))
    settings = services().settings
    address = client_address()
    window = timedelta(seconds=settings.login_address_window_seconds)
    session = _fresh_transaction()
    token = ""
    with session.begin():
        at = now()
        if address_failures(session, address, now=at, window=window) >= (
            settings.login_address_limit
        ):
            outcome = None
        else:
            outcome = attempt_login(
                session,
                login=request.form.get("login", ""),
                password=request.form.get("password", ""),
                now=at,
                source="web",
                max_failures=settings.login_max_failures,
                lockout=timedelta(seconds=settings.login_lockout_seconds),
                address=address,
            )
            if outcome.person is None:
                count_address_failure(session, address, now=at, window=window)
            else:
                previous = cookie.get(SESSION_TOKEN)
                if previous:  # a login while logged in replaces that session
                    end_session(session, str(previous), now=at)
                token = start_session(session, person_id=outcome.person.id, now=at, address=address)
                user = AppUser.of(outcome.person)
    if outcome is None:
        flash(_("Too many failed logins from your address. Wait a while and try again."), "error")
        return _form(429)
    if not outcome.ok:
        flash(
            _("Wrong login or password, or too many failures: wait a moment and try again."),
            "error",
        )
        return _form(401)
    # Nothing from before the login is kept (session fixation) but the chosen language
    # and the form token the open page already holds.
    kept = {k: cookie[k] for k in ("lang", "csrf_token") if k in cookie}
    cookie.clear()
    cookie.update(kept)
    cookie[SESSION_TOKEN] = token
    login_user(user)
    current_app.logger.info("login %s", user.login)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    me: AppUser = current_user._get_current_object()
    session = _fresh_transaction()
    with session.begin():
        end_session(session, str(cookie.get(SESSION_TOKEN, "")), now=now())
        record(
            session,
            actor=Actor(me.person_id, me.login, "web"),
            kind="account.logout",
            subject_type="person",
            subject_id=me.person_id,
            data={"address": client_address()},
            now=now(),
        )
    logout_user()
    cookie.clear()
    return redirect(url_for("auth.login"))


@bp.post("/sessions/sign-out-others")
@login_required
def sign_out_others() -> Response:
    """The person ends every other session of theirs (a lost phone, a shared computer)."""
    me: AppUser = current_user._get_current_object()
    session = _fresh_transaction()
    with session.begin():
        person = session.get(Person, me.person_id)
        assert person is not None
        ended = sign_out_everywhere(
            session,
            person=person,
            actor=Actor(me.person_id, me.login, "web"),
            now=now(),
            keep_token=str(cookie.get(SESSION_TOKEN, "")),
        )
    flash(_("Signed out of %(count)d other sessions.", count=ended), "ok")
    return redirect(url_for("web.profile"))


@bp.post("/people/<int:person_id>/sign-out")
@login_required
def sign_out_person(person_id: int) -> Response:
    """An admin ends every session of a person (a stolen laptop, a departure)."""
    me: AppUser = current_user._get_current_object()
    if not me.is_admin:
        abort(403)
    session = _fresh_transaction()
    with session.begin():
        person = session.get(Person, person_id)
        if person is None:
            abort(404)
        ended = sign_out_everywhere(
            session, person=person, actor=Actor(me.person_id, me.login, "web"), now=now()
        )
    flash(_("Signed %(name)s out of %(count)d sessions.", name=person.name, count=ended), "ok")
    return redirect(same_site_path(request.form.get("next"), url_for("web.profile")))
