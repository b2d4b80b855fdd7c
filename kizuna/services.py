"""Account services: create and invite users, set and reset passwords, sign in, API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, emails, outbox
from .errors import DomainError
from .extensions import db, utcnow
from .i18n import LANGUAGES, home_timezone, valid_timezone
from .mail import normalize_address
from .models import EXTERNAL_ROLES, ApiToken, Role, User, hash_token
from .throttle import LoginThrottle

PASSWORD_MIN = 10
PASSWORD_MAX = 128
# How long each kind of emailed link stays valid, in seconds.
LINK_MAX_AGE = {"invitation": 7 * 24 * 3600, "reset": 2 * 3600}
# Verifies something on every failed sign-in for an unknown address, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not a real password")


class AccountError(DomainError):
    """An account operation was refused; the message is for the user."""


@dataclass(frozen=True)
class LoginRefused(Exception):
    message: str
    retry_after: int = 0

    def __str__(self) -> str:
        return self.message


def normalize_email(email: str) -> str:
    """Validate an address and return its canonical, lower-cased form; raise AccountError."""
    try:
        return normalize_address(email)
    except EmailNotValidError as exc:
        raise AccountError(_("%(email)s is not a valid email address: %(reason)s",
                             email=email, reason=str(exc))) from None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _snapshot(user: User) -> dict:
    return {"email": user.email, "name": user.name, "role": user.role.value, "active": user.active,
            "language": user.language, "timezone": user.timezone}


def _check_password(password: str, user: User | None = None) -> None:
    if len(password) < PASSWORD_MIN:
        raise AccountError(_("The password must have at least %(n)d characters.", n=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        raise AccountError(_("The password must have at most %(n)d characters.", n=PASSWORD_MAX))
    if user is not None and password.strip().lower() == user.email.lower():
        raise AccountError(_("The password must not be your email address."))


def _set_password(user: User, password: str) -> None:
    _check_password(password, user)
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.security_stamp = secrets.token_hex(16)


def create_user(*, email: str, role: Role | str, actor: User | None, name: str = "",
                password: str | None = None, language: str = "en", timezone: str | None = None,
                partner_id: int | None = None, embassy_id: int | None = None,
                invited_by: User | None = None) -> User:
    """Create an account (flushed, not committed); raise AccountError on bad or duplicate input."""
    email = normalize_email(email)
    name = (name or "").strip()
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(_("Unknown role %(role)s.", role=role)) from None
    if role == Role.DELEGATE and partner_id is None:
        raise AccountError(_("A delegate account must be bound to a partner city."))
    if role == Role.LIAISON and embassy_id is None:
        raise AccountError(_("A liaison account must be bound to an embassy."))
    if role not in EXTERNAL_ROLES and (partner_id or embassy_id):
        raise AccountError(_("Only delegate and liaison accounts are bound to a partner city or an embassy."))
    if language not in LANGUAGES:
        raise AccountError(_("Unknown language %(lang)s.", lang=language))
    timezone = timezone or home_timezone()
    if not valid_timezone(timezone):
        raise AccountError(_("Unknown time zone %(tz)s.", tz=timezone))
    if len(name) > 200:
        raise AccountError(_("The name must have at most 200 characters."))
    if find_user(email) is not None:
        raise AccountError(_("An account for %(email)s already exists.", email=email))
    user = User(email=email, name=name, role=role, language=language, timezone=timezone,
                partner_id=partner_id, embassy_id=embassy_id, security_stamp=secrets.token_hex(16),
                invited_by=invited_by)
    if password is not None:
        _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", actor=actor, object_type="user", object_id=user.id, object_label=email,
                 after=_snapshot(user))
    return user


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"kizuna.account.{purpose}")


def make_link_token(user: User, purpose: str) -> str:
    # The stamp changes when the password is set, so a link works once.
    return _serializer(purpose).dumps({"u": user.id, "s": user.security_stamp})


def user_for_link(token: str, purpose: str) -> User:
    """The user a set-password link is for; raise AccountError if it is invalid, expired or used."""
    try:
        data = _serializer(purpose).loads(token, max_age=LINK_MAX_AGE[purpose])
    except SignatureExpired:
        raise AccountError(_("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise AccountError(_("This link is not valid. Check that you copied all of it.")) from None
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        raise AccountError(_("This account no longer exists or has been deactivated."))
    if user.security_stamp != data["s"]:
        raise AccountError(_("This link has already been used. Sign in, or ask for a new link."))
    return user


def _invitation_email(user: User, inviter: User):
    return emails.invitation(user, make_link_token(user, "invitation"), inviter=inviter,
                             valid_seconds=LINK_MAX_AGE["invitation"])


def invite_user(*, email: str, role: Role | str, actor: User, name: str = "", language: str = "en",
                timezone: str | None = None, partner_id: int | None = None,
                embassy_id: int | None = None) -> User:
    """Create an account without a password and queue an invitation with a set-password link."""
    user = create_user(email=email, role=role, actor=actor, name=name, language=language, timezone=timezone,
                       partner_id=partner_id, embassy_id=embassy_id, invited_by=actor)
    outbox.queue(_invitation_email(user, actor),
                 category="account.invitation", ref_type="user", ref_id=user.id)
    audit.record("user.invite", actor=actor, object_type="user", object_id=user.id, object_label=user.email,
                 after={"role": user.role.value, "language": user.language})
    return user


def resend_invitation(*, user_id: int, actor: User) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.has_password:
        raise AccountError(_("Only an account that has not set its password can be invited again."))
    if not user.active:
        raise AccountError(_("This account has been deactivated."))
    user.security_stamp = secrets.token_hex(16)  # the earlier link stops working
    outbox.queue(_invitation_email(user, actor),
                 category="account.invitation", ref_type="user", ref_id=user.id)
    audit.record("user.reinvite", actor=actor, object_type="user", object_id=user.id, object_label=user.email)
    return user


def set_password_from_link(*, token: str, purpose: str, password: str) -> User:
    """Accept an invitation or a reset: set the password, void the link and clear any lock."""
    user = user_for_link(token, purpose)
    _set_password(user, password)
    login_throttle().succeeded(user.email)
    audit.record(f"user.password_{'set' if purpose == 'invitation' else 'reset'}", actor=user,
                 object_type="user", object_id=user.id, object_label=user.email)
    return user


def reset_password(*, user: User, password: str, actor: User | None) -> User:
    """Set a password directly (an administrator's or the CLI's action)."""
    _set_password(user, password)
    audit.record("user.password_reset", actor=actor, object_type="user", object_id=user.id,
                 object_label=user.email)
    return user


def request_password_reset(*, email: str) -> None:
    """Queue a reset link if an active account has this address; silent otherwise (no account probing)."""
    user = find_user(email)
    if user is None or not user.active:
        return
    outbox.queue(emails.password_reset(user, make_link_token(user, "reset"),
                                       valid_seconds=LINK_MAX_AGE["reset"]),
                 category="account.reset", ref_type="user", ref_id=user.id)
    audit.record("user.reset_requested", actor=None, object_type="user", object_id=user.id,
                 object_label=user.email)


def login_throttle() -> LoginThrottle:
    return current_app.extensions["kizuna.login_throttle"]


def authenticate(*, email: str, password: str, ip: str | None) -> User:
    """Check a sign-in; raise LoginRefused with a message (and a wait) on failure or while throttled."""
    throttle = login_throttle()
    verdict = throttle.check(email, ip)
    if not verdict.allowed:
        if verdict.locked:
            minutes = max(1, -(-verdict.retry_after // 60))
            raise LoginRefused(ngettext("Too many failed sign-ins: this account is locked for %(num)d minute. "
                                        "You can reset your password to unlock it now.",
                                        "Too many failed sign-ins: this account is locked for %(num)d minutes. "
                                        "You can reset your password to unlock it now.", minutes),
                               verdict.retry_after)
        raise LoginRefused(ngettext("Too many failed sign-ins. Wait %(num)d second and try again.",
                                    "Too many failed sign-ins. Wait %(num)d seconds and try again.",
                                    verdict.retry_after), verdict.retry_after)
    user = find_user(email)
    ok = check_password_hash(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    if not (user and user.password_hash and ok and user.active):
        failures = throttle.failed(email, ip)
        if user is not None:
            audit.record("user.login_failed", actor=None, object_type="user", object_id=user.id,
                         object_label=user.email, after={"failures": failures})
            if failures == throttle.lock_after:
                audit.record("user.locked", actor=None, object_type="user", object_id=user.id,
                             object_label=user.email)
        if user is not None and ok and not user.active:
            raise LoginRefused(_("This account has been deactivated. Ask an administrator."))
        raise LoginRefused(_("The email address or the password is not right."))
    throttle.succeeded(email)
    user.last_login_at = utcnow()
    audit.record("user.login", actor=user, object_type="user", object_id=user.id, object_label=user.email)
    return user


def update_profile(*, user: User, name: str, language: str, timezone: str) -> User:
    if language not in LANGUAGES:
        raise AccountError(_("Unknown language %(lang)s.", lang=language))
    if not valid_timezone(timezone):
        raise AccountError(_("Unknown time zone %(tz)s.", tz=timezone))
    before = _snapshot(user)
    user.name, user.language, user.timezone = (name or "").strip(), language, timezone
    old, new = audit.changes(before, _snapshot(user))
    if new:
        audit.record("user.update_profile", actor=user, object_type="user", object_id=user.id,
                     object_label=user.email, before=old, after=new)
    return user


def set_language(*, user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise AccountError(_("Unknown language %(lang)s.", lang=language))
    if user.language != language:
        audit.record("user.update_profile", actor=user, object_type="user", object_id=user.id,
                     object_label=user.email, before={"language": user.language}, after={"language": language})
        user.language = language


def change_password(*, user: User, current: str, new: str) -> User:
    if not user.password_hash or not check_password_hash(user.password_hash, current):
        raise AccountError(_("The current password is not right."))
    _set_password(user, new)
    audit.record("user.password_change", actor=user, object_type="user", object_id=user.id,
                 object_label=user.email)
    return user


def update_user(*, user_id: int, role: Role | str, active: bool, actor: User) -> User:
    """An administrator changes a staff account's role or deactivates it (never their own)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError(_("No such account."))
    role = Role(role)
    if user.id == actor.id and (role != user.role or not active):
        raise AccountError(_("You cannot change your own role or deactivate yourself."))
    if role in EXTERNAL_ROLES and user.role != role:
        raise AccountError(_("Delegate and liaison accounts are created from a contact, not by a role change."))
    before = _snapshot(user)
    user.role, user.active = role, active
    if not active:
        user.security_stamp = secrets.token_hex(16)  # ends the account's sessions
    old, new = audit.changes(before, _snapshot(user))
    if new:
        audit.record("user.update", actor=actor, object_type="user", object_id=user.id, object_label=user.email,
                     before=old, after=new)
    return user


def create_api_token(*, user: User, name: str, actor: User | None) -> tuple[ApiToken, str]:
    """Return the token row and its secret, which is shown once and kept only as a hash. Any active account may
    have tokens: a delegate's or a liaison's reaches only what their account reaches (their own meetings)."""
    if not user.active:
        raise AccountError(_("This account is disabled."))
    secret = "kz_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:100], token_hash=hash_token(secret), prefix=secret[:8])
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.create", actor=actor, object_type="api_token", object_id=token.id,
                 object_label=f"{user.email} {token.prefix}…", after={"name": token.name})
    return token, secret


def revoke_api_token(*, token_id: int, actor: User) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and not actor.has_role(Role.ADMIN)):
        raise AccountError(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token.revoke", actor=actor, object_type="api_token", object_id=token.id,
                     object_label=f"{token.user.email} {token.prefix}…")
    return token


def list_api_tokens(*, user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc())))
