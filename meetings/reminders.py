"""Reminders to the people invited to a meeting who have not answered: their invitation again, at most once
a day each, through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from kizuna import audit, outbox
from kizuna.extensions import db, utcnow

from . import emails, ical
from .models import Answer, Invitation, MeetingStatus
from .services import MeetingError, _attendee, _locked, occurrence

CATEGORY = "meeting.reminder"
INTERVAL = timedelta(days=1)  # one reminder per person per day, however often staff press the button


def _unanswered(meeting_id: int, now: datetime | None):
    """The condition of live invitations with no answer yet whose last reminder (if any) is a day old or more."""
    now = now or utcnow()
    return and_(Invitation.meeting_id == meeting_id, Invitation.removed_at.is_(None),
                Invitation.answer == Answer.NEEDS_ACTION,
                or_(Invitation.reminded_at.is_(None), Invitation.reminded_at <= now - INTERVAL))


def unanswered(meeting_id: int, *, now: datetime | None = None) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(_unanswered(meeting_id, now)).order_by(Invitation.id)))


def count_unanswered(meeting_id: int, *, now: datetime | None = None) -> int:
    return db.session.scalar(select(func.count()).select_from(Invitation).where(_unanswered(meeting_id, now)))


def remind_unanswered(*, meeting_id: int, actor, now: datetime | None = None) -> list[Invitation]:
    """Queue one reminder per unanswered invitation of a scheduled meeting: the same REQUEST (same UID and
    SEQUENCE, so calendars keep one entry) under a "Reminder:" subject, in the person's language. Someone
    reminded less than a day ago is skipped, so pressing twice sends nothing more. Flushes, never commits;
    returns the invitations reminded. Raises MeetingError when the meeting is not scheduled."""
    now = now or utcnow()
    meeting = _locked(meeting_id)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise MeetingError(_("Only the people invited to a scheduled meeting can be reminded."), "status")
    reminded = unanswered(meeting.id, now=now)
    for invitation in reminded:
        calendar = ical.request(occurrence(meeting, invitation.language), _attendee(invitation), stamp=now)
        outbox.queue(emails.invitation(meeting, invitation, calendar, reminder=True), category=CATEGORY,
                     ref_type="meeting", ref_id=meeting.id)
        invitation.reminded_at = now
    db.session.flush()
    if reminded:
        audit.record("meeting.remind", actor=actor, object_type="meeting", object_id=meeting.id,
                     object_label=meeting.title(meeting.default_language),
                     after={"emails": [i.email for i in reminded]})
    return reminded
