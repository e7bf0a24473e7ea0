"""``GET /me``: who the token acts as, and what they may do right now."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.api.auth import api_user, caps
from app.api.contract import Id, Out, endpoint
from app.api.serialize import position
from app.api.shapes import Position
from app.extensions import db, now
from incidents.responsibility import roles_of


class Capabilities(Out):
    sees_all: bool
    can_log: bool
    can_handle: bool
    can_manage_org: bool


class Me(Out):
    id: Id
    login: str
    name: str
    language: str
    is_admin: bool
    positions: list[Position]
    capabilities: Capabilities


@endpoint(
    "get",
    "/me",
    operation_id="whoami",
    summary="The person behind the token and what they may do",
    tag="account",
    response=Me,
)
def whoami() -> ResponseReturnValue:
    user = api_user()
    held = caps()
    return {
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
