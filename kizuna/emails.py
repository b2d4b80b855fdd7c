"""Account emails, rendered in the recipient's language: model in, EmailMessage out."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from .mail import build_message
from .models import User
from .urls import external_url


def _render(template: str, user: User, subject: str, **context) -> EmailMessage:
    context.update(user=user, subject=subject)
    return build_message(
        sender=current_app.config["MAIL_FROM"],
        to=user.email,
        subject=subject,
        text=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
    )


def invitation(user: User, token: str, *, inviter: User, valid_seconds: int) -> EmailMessage:
    with force_locale(user.language):
        return _render("invitation", user, _("You are invited to Kizuna"), inviter=inviter,
                       link=external_url("kizuna.accept_invitation", token=token),
                       days=valid_seconds // 86400)


def password_reset(user: User, token: str, *, valid_seconds: int) -> EmailMessage:
    with force_locale(user.language):
        return _render("password_reset", user, _("Reset your Kizuna password"),
                       link=external_url("kizuna.reset_password", token=token), hours=valid_seconds // 3600)
