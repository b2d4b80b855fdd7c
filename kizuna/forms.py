"""Forms of the core: sign-in, links, profile, users."""

from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError
from flask import flash, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from .errors import DomainError
from .extensions import db
from .i18n import LANGUAGES, ROLE_LABELS, timezone_choices
from .mail import normalize_address
from .models import STAFF_ROLES


class EmailAddress:
    """The same syntax check the services apply (kizuna.mail.normalize_address)."""

    def __call__(self, form, field):
        try:
            normalize_address(field.data or "")
        except EmailNotValidError:
            raise ValidationError(_l("Enter a valid email address, such as name@example.org.")) from None


EMAIL = [DataRequired(), Length(max=254), EmailAddress()]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL, render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL, render_kw={"autocomplete": "username"})
    submit = SubmitField(_l("Send me a link"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=128)],
                             render_kw={"autocomplete": "new-password"},
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)],
                            render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Change password"))


def _language_choices():
    return list(LANGUAGES.items())


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)], render_kw={"autocomplete": "name"})
    language = SelectField(_l("Language"), choices=_language_choices)
    timezone = SelectField(_l("Time zone"), choices=timezone_choices)
    submit = SubmitField(_l("Save"))


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=_language_choices)
    submit = SubmitField(_l("Change language"))


def _staff_role_choices():
    return [(r.value, ROLE_LABELS[r.value]) for r in STAFF_ROLES]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL)
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=_staff_role_choices, default="viewer")
    language = SelectField(_l("Language of the invitation"), choices=_language_choices)
    submit = SubmitField(_l("Send invitation"))


class UserForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_staff_role_choices)
    active = BooleanField(_l("Active"))
    submit = SubmitField(_l("Save"))


class ApiTokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Create token"))


class ConfirmForm(FlaskForm):
    """A button that posts with a CSRF token (retry, revoke, resend)."""

    submit = SubmitField(_l("Confirm"))


def form_field(form, name: str):
    """The field of `form` called `name` (with or without the form's prefix), looked for in its rows too
    (emails-1-address), or None."""
    for field in form:
        if name in (field.name, field.short_name):
            return field
        if field.type == "FieldList":
            for row in field:
                for sub in row if hasattr(row, "__iter__") else (row,):
                    if sub.name == name:
                        return sub
    return None


def attach_error(form, exc, aliases: dict[str, str] | None = None, *, fallback: bool = True) -> str | None:
    """Put a service's refusal (an exception with a `field`) on the form field it names, so the page shows it
    there: a row's field (languages-2) falls back to its list (languages). When it names none of the form's
    fields, on the first field if `fallback`, else the message is returned for the page to show above."""
    aliases = aliases or {}
    name = aliases.get(exc.field or "", exc.field) or ""
    target = form_field(form, name) if name else None
    if target is None and name:
        base, _, index = name.rpartition("-")
        target = form_field(form, aliases.get(base, base)) if base and index.isdigit() else None
    if target is None:
        if not fallback:
            return str(exc)
        target = next(f for f in form if f.name != "csrf_token")
    if not isinstance(target.errors, list):
        target.errors = list(target.errors or [])
    target.errors.append(str(exc))
    return None


def saved(form, change: Callable[[], Any], *, done: str | Callable[[Any], str], to: str | Callable[[Any], str],
          aliases: dict[str, str] | None = None, problems: list[str] | None = None,
          attach: Callable[[Any, DomainError], str | None] | None = None):
    """The end of a validated form's POST: `change()` calls the service. When it refuses (a DomainError), nothing
    it flushed stays, its message goes on the field it names (attach_error, or `attach(form, exc)` for a form with
    rows or defaults of its own; with `problems`, a refusal naming none of the form's fields is added there, for
    the page to show above the form) and None is returned: the view shows the form again, with 422. Else the
    change is committed, `done` is flashed as a success and the 303 redirect to `to` is returned; each may be a
    function of what `change()` returned."""
    try:
        result = change()
    except DomainError as exc:
        db.session.rollback()
        problem = attach(form, exc) if attach else attach_error(form, exc, aliases, fallback=problems is None)
        if problem is not None and problems is not None:
            problems.append(problem)
        return None
    db.session.commit()
    flash(done(result) if callable(done) else done, "success")
    return redirect(to(result) if callable(to) else to, 303)


def acted(change: Callable[[], Any], *, done: str | Callable[[Any], str], category: str = "success") -> bool:
    """The end of a one-button POST (no form to show again): `change()` calls the service. When it refuses (a
    DomainError), nothing it flushed stays, its message is flashed as an error and False is returned. Else the
    change is committed, `done` (or `done(result)`, of what `change()` returned) is flashed under `category`
    ("message": Flask's default, as the public pages flash) and True is returned; the view redirects either way."""
    try:
        result = change()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    flash(done(result) if callable(done) else done, category)
    return True
