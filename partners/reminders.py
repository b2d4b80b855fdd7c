"""Follow-up reminders: one email to the owner of each follow-up when it falls due, never twice."""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import update
from werkzeug.routing import BuildError

from kizuna import outbox
from kizuna.extensions import db, utcnow
from kizuna.mail import build_message
from kizuna.urls import external_url
from network.services import local_today

from .models import FollowUp
from .services import due_follow_ups

CATEGORY = "partners.follow_up_reminder"
REMINDER_TASK = "partners.send_follow_up_reminders"


def _claim(follow_up: FollowUp, now: datetime) -> bool:
    """Set reminded_at unless it is set already; False when an earlier or a concurrent run did.

    One conditional UPDATE: on PostgreSQL a second run waits for the first one's row lock, then finds
    reminded_at set and updates nothing, so two runs at once still send one reminder.
    """
    result = db.session.execute(
        update(FollowUp).where(FollowUp.id == follow_up.id, FollowUp.reminded_at.is_(None))
        .values(reminded_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(follow_up, ["reminded_at"])
    return True


def _link(endpoint: str, **values) -> str:
    try:
        return external_url(endpoint, **values)
    except BuildError:  # a build without the log's pages: the home page still leads there
        return external_url("kizuna.home")


def reminder_email(follow_up: FollowUp, *, today: date) -> EmailMessage:
    """The reminder for the follow-up's owner, in the owner's language: model in, message out."""
    owner, interaction = follow_up.owner, follow_up.interaction
    with force_locale(owner.language):
        language = owner.language
        due = format_date(follow_up.due_on, "long")
        overdue = (today - follow_up.due_on).days
        if overdue > 0:
            subject = _("Follow-up overdue since %(date)s: %(subject)s", date=due, subject=interaction.subject)
        else:
            subject = _("Follow-up due on %(date)s: %(subject)s", date=due, subject=interaction.subject)
        who = [c.display_name(language) for c in interaction.contacts]
        who += [o.display_name(language) for o in interaction.organisations]
        context = {"user": owner, "subject": subject, "follow_up": follow_up, "interaction": interaction,
                   "due": due, "overdue": overdue, "occurred": format_date(interaction.occurred_on, "long"),
                   "participants": ", ".join(who),
                   "link": _link("partners.interaction", interaction_id=interaction.id),
                   "mine": _link("partners.my_follow_ups")}
        return build_message(sender=current_app.config["MAIL_FROM"], to=owner.email, subject=subject,
                             text=render_template("email/follow_up_reminder.txt", **context),
                             html=render_template("email/follow_up_reminder.html", **context))


def send_follow_up_reminders(today: date | None = None, now: datetime | None = None) -> int:
    """Queue one reminder through the outbox for each open follow-up due by `today` (the home city's today
    by default) that has had none, to its owner, in the owner's language.

    reminded_at is set in the same transaction as the outbox row, so a second run, or one at the same time,
    sends nothing already sent; a follow-up done before it falls due gets none. Owners whose account is
    closed get nothing, and their follow-ups stay unreminded. Idempotent; flushes, never commits (the caller
    commits the marks and the outbox rows together). Returns the number of emails queued.
    """
    today, now = today or local_today(), now or utcnow()
    queued = 0
    for follow_up in due_follow_ups(today, unreminded_only=True):
        if not follow_up.owner.active or not _claim(follow_up, now):
            continue
        outbox.queue(reminder_email(follow_up, today=today), category=CATEGORY, ref_type="interaction",
                     ref_id=follow_up.interaction_id)
        queued += 1
    return queued
