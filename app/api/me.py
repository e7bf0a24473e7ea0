"""``GET /me``: who the token acts as, and what they may do right now."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import api_user, caps
from app.api.params import check_query
from app.api.serialize import position
from app.extensions import db, now
from incidents.responsibility import roles_of


@bp.get("/me")
def whoami() -> ResponseReturnValue:
    check_query(())
    user = api_user()
    held = caps()
    return jsonify(
        {
            "id": user.person_id,
            "login": user.login,
            "name": user.name,
            "language": user.language,
            "is_admin": user.is_admin,
            "positions": [position(p) for p in roles_of(db(), user.person_id, now())],
            "capabilities": {
                "sees_all": held.sees_all,
                "can_log": held.can_log,
                "can_handle": held.can_handle,
                "can_manage_org": held.can_manage_org,
            },
        }
    )
