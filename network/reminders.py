"""Expiry reminders for agreements: one email per editor, per lead time, per expiry date, never twice."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from kizuna import outbox
from kizuna.extensions import db
from kizuna.mail import build_message
from kizuna.models import Role, User
from kizuna.urls import external_url

from . import queries, services
from .models import Agreement, AgreementReminder

CATEGORY = "network.agreement_expiry"


def due_lead_time(expires_on: date, today: date) -> int | None:
    """The lead time (one of REMINDER_DAYS) whose window `today` falls in: the tightest one reached.

    A run missed for a few days still tells staff once, with the lead time that applies now, and an
    agreement recorded 20 days before it expires gets the 30-day reminder, not the 90-day one too.
    """
    days_left = (expires_on - today).days
    reached = [days for days in services.REMINDER_DAYS if 0 <= days_left <= days]
    return min(reached) if reached else None


def recipients() -> list[User]:
    """Who is told: the active staff accounts that may edit the registry (editors and admins)."""
    return list(db.session.scalars(select(User).where(User.role.in_((Role.ADMIN, Role.EDITOR)),
                                                      User.active.is_(True)).order_by(User.id)))


def _claim(agreement: Agreement, days_before: int) -> bool:
    """Record the reminder; False when it was recorded already (by an earlier or a concurrent run)."""
    try:
        with db.session.begin_nested():
            db.session.add(AgreementReminder(agreement_id=agreement.id, expires_on=agreement.expires_on,
                                             days_before=days_before))
    except IntegrityError:
        return False
    return True


def _link(agreement: Agreement) -> str:
    try:
        return external_url("network.agreement", agreement_id=agreement.id)
    except BuildError:  # a build without the registry's pages: the home page still leads there
        return external_url("kizuna.home")


def expiry_email(user: User, agreement: Agreement, *, today: date) -> EmailMessage:
    """The reminder for `user`, in the user's language: model in, message out."""
    with force_locale(user.language):
        language = user.language
        expires = format_date(agreement.expires_on, "long")
        subject = _("Agreement expiring on %(date)s: %(title)s", date=expires, title=agreement.title)
        context = {"user": user, "subject": subject, "agreement": agreement, "expires": expires,
                   "days": (agreement.expires_on - today).days, "link": _link(agreement),
                   "signed": format_date(agreement.signed_on, "long") if agreement.signed_on else None,
                   "parties": ", ".join(p.display_name(language) for p in agreement.parties)}
        return build_message(sender=current_app.config["MAIL_FROM"], to=user.email, subject=subject,
                             text=render_template("email/agreement_expiry.txt", **context),
                             html=render_template("email/agreement_expiry.html", **context))


def send_expiry_reminders(today: date | None = None) -> int:
    """Queue the expiry reminders due `today` (the home city's today by default) through the outbox.

    For every agreement in force (not terminated, not renewed or revised) whose expiry falls within a
    lead time of REMINDER_DAYS, each active editor and admin gets one email in their language, once per
    agreement, expiry date and lead time: an AgreementReminder row records it, so a second run sends
    nothing and a changed expiry date gets reminders of its own. Idempotent; flushes, never commits
    (the caller commits the reminders and the outbox rows together). Returns the number of emails queued.
    """
    today = today or services.local_today()
    staff = recipients()
    if not staff:
        return 0  # nobody to tell: nothing recorded, so an editor added later still hears of it
    queued = 0
    for agreement in queries.expiring(within_days=max(services.REMINDER_DAYS), today=today)[0]:
        days_before = due_lead_time(agreement.expires_on, today)
        if days_before is None or not _claim(agreement, days_before):
            continue
        for user in staff:
            outbox.queue(expiry_email(user, agreement, today=today), category=CATEGORY, ref_type="agreement",
                         ref_id=agreement.id)
            queued += 1
    return queued
