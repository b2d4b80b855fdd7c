"""Who may use each view: access declarations, session and API-token authentication."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from .extensions import db, login_manager, utcnow
from .models import ApiToken, Role, User, hash_token

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def _declare(view: Callable, access) -> Callable:
    view.kizuna_access = access
    return view


def public(view: Callable) -> Callable:
    """Anyone, signed in or not."""
    return _declare(view, PUBLIC)


def login_required(view: Callable) -> Callable:
    """Any signed-in account, staff or external."""
    return _declare(view, AUTHENTICATED)


def roles_required(*roles: Role) -> Callable[[Callable], Callable]:
    """Accounts holding one of `roles` (a higher staff role counts for a lower one)."""
    return lambda view: _declare(view, frozenset(roles))


def may_access(user, access) -> bool:
    if access == PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    return access == AUTHENTICATED or user.has_role(*access)


def enforce_access() -> None:
    """before_request: every endpoint must declare its access; undeclared ones are refused."""
    if request.endpoint is None or request.endpoint == "static":
        return
    view = current_app.view_functions[request.endpoint]
    access = getattr(view, "kizuna_access", None)
    if access is None:
        current_app.logger.error("endpoint %s declares no access rule", request.endpoint)
        abort(403)
    if may_access(current_user, access):
        # The API is exempt from CSRF tokens, so a change through it must carry an API token,
        # never ride on a browser's session cookie.
        if (is_api_request() and request.method not in ("GET", "HEAD", "OPTIONS")
                and not g.get("kizuna_token_auth")):
            abort(403, "Changes through the API need an API token (Authorization: Bearer …).")
        return
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        return current_app.login_manager.unauthorized()
    abort(403)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """`Authorization: Bearer <token>` on the JSON API; no session cookie is involved."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith("/api/"):
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(header[7:].strip()),
                               ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.is_active:
        return None
    g.kizuna_token_auth = True  # a session cookie, if any, was not what signed this request in
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        db.session.commit()
    return token.user


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    uid, _, stamp = user_id.partition(":")
    if not uid.isdigit():
        return None
    user = db.session.get(User, int(uid))
    # A password change rotates the stamp, which ends every other session of that account.
    if user is None or user.security_stamp != stamp:
        return None
    return user


def api_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status
