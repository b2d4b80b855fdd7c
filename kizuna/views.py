"""Core pages: home, sign-in and links, the account page, language, health."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select, text

from . import auth, services
from .extensions import db
from .forms import (
    ApiTokenForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    ProfileForm,
    SetPasswordForm,
    acted,
)
from .i18n import LANGUAGES
from .models import MessageStatus, OutboundMessage, Role

bp = Blueprint("kizuna", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link borrow our login page.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("kizuna.home")


@bp.get("/")
@auth.login_required
def home():
    return render_template("kizuna/home.html")


@bp.route("/login", methods=["GET", "POST"])
@auth.public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(email=form.email.data, password=form.password.data,
                                         ip=request.remote_addr)
        except services.LoginRefused as exc:
            db.session.commit()  # keeps the audit trail of the failure
            form.password.errors.append(str(exc))
            status = 429 if exc.retry_after else 422
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            session["language"] = user.language
            return redirect(_safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 422
    return render_template("kizuna/login.html", form=form), status


@bp.post("/logout")
@auth.login_required
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("kizuna.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@auth.public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(email=form.email.data)
        db.session.commit()
        hours = services.LINK_MAX_AGE["reset"] // 3600
        flash(ngettext("If an account uses %(email)s, a link to set a new password is on its way. It works for "
                       "%(num)d hour.", "If an account uses %(email)s, a link to set a new password is on its way. "
                       "It works for %(num)d hours.", hours, email=form.email.data), "info")
        return redirect(url_for("kizuna.login"))
    return render_template("kizuna/forgot_password.html", form=form), 422 if form.is_submitted() else 200


def _set_password_page(token: str, purpose: str):
    try:
        user = services.user_for_link(token, purpose)
    except services.AccountError as exc:
        return render_template("kizuna/link_invalid.html", message=str(exc), purpose=purpose), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password_from_link(token=token, purpose=purpose, password=form.password.data)
        except services.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(user)
            flash(_("Your password is set. Welcome to Kizuna."), "success")
            return redirect(url_for("kizuna.home"))
    return (render_template("kizuna/set_password.html", form=form, user=user, purpose=purpose),
            422 if form.is_submitted() else 200)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@auth.public
def accept_invitation(token: str):
    return _set_password_page(token, "invitation")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@auth.public
def reset_password(token: str):
    return _set_password_page(token, "reset")


@bp.route("/account", methods=["GET", "POST"])
@auth.login_required
def account():
    profile = ProfileForm(obj=current_user, prefix="profile")
    password = ChangePasswordForm(prefix="password")
    status = 200
    if profile.submit.data and profile.validate_on_submit():
        try:
            services.update_profile(user=current_user, name=profile.name.data, language=profile.language.data,
                                    timezone=profile.timezone.data)
        except services.AccountError as exc:
            profile.timezone.errors.append(str(exc))
            status = 422
        else:
            db.session.commit()
            session["language"] = current_user.language
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("kizuna.account"))
    elif password.submit.data and password.validate_on_submit():
        try:
            services.change_password(user=current_user, current=password.current.data, new=password.password.data)
        except services.AccountError as exc:
            password.current.errors.append(str(exc))
            status = 422
        else:
            db.session.commit()
            # the stamp changed: sign this session in again (the others end)
            login_user(current_user._get_current_object())
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return redirect(url_for("kizuna.account"))
    elif request.method == "POST":
        status = 422
    tokens = services.list_api_tokens(user=current_user)
    return render_template("kizuna/account.html", profile=profile, password=password, tokens=tokens,
                           token_form=ApiTokenForm(), new_token=session.pop("kizuna.new_token", None)), status


@bp.post("/language")
@auth.public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit() and form.language.data in LANGUAGES:
        session["language"] = form.language.data
        if current_user.is_authenticated:
            services.set_language(user=current_user, language=form.language.data)
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.get("/healthz")
@auth.public
def healthz():
    """Database, broker and outbox backlog, as JSON; 503 when a dependency is down."""
    report, ok = {}, True
    try:
        db.session.execute(text("SELECT 1"))
        counts = dict(db.session.execute(
            select(OutboundMessage.status, func.count()).where(OutboundMessage.status != MessageStatus.SENT)
            .group_by(OutboundMessage.status)).all())
        report["database"] = {"ok": True}
        report["outbox"] = {s.value: counts.get(s, 0) for s in MessageStatus if s != MessageStatus.SENT}
    except Exception as exc:  # the point of this page is to report any failure, not to raise it
        ok = False
        report["database"] = {"ok": False, "error": type(exc).__name__}
        db.session.rollback()
    celery_app = current_app.extensions["celery"]
    if celery_app.conf.task_always_eager:
        report["broker"] = {"ok": True, "mode": "in-process"}
    else:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            report["broker"] = {"ok": True, "mode": "redis"}
        except Exception as exc:  # same: report, do not raise
            ok = False
            report["broker"] = {"ok": False, "error": type(exc).__name__}
    report["ok"] = ok
    return jsonify(report), 200 if ok else 503


@bp.post("/account/tokens")
@auth.roles_required(Role.VIEWER, Role.DELEGATE, Role.LIAISON)
def create_api_token():
    form = ApiTokenForm()
    if not form.validate_on_submit():
        flash(_("Give the token a name of at most 100 characters."), "error")
        return redirect(url_for("kizuna.account")), 303
    token, secret = services.create_api_token(user=current_user, name=form.name.data, actor=current_user)
    db.session.commit()
    # Shown exactly once, on the very next page; only its hash is stored.
    session["kizuna.new_token"] = secret
    return redirect(url_for("kizuna.account", _anchor="tokens"), 303)


@bp.post("/account/tokens/<int:token_id>/revoke")
@auth.roles_required(Role.VIEWER, Role.DELEGATE, Role.LIAISON)
def revoke_api_token(token_id: int):
    acted(lambda: services.revoke_api_token(token_id=token_id, actor=current_user), done=_("The token is revoked."))
    return redirect(url_for("kizuna.account", _anchor="tokens"), 303)
