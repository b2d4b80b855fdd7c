"""Calendar files and feeds: one meeting's file, a series' feed (cached per series and its latest change) and the
private per-person feed behind a revocable token (kept as its SHA-256, shown once).

Pure reads and the feed tokens' services; the routes are in views_public.py. Every file is ical.publish of
services.occurrence, so what a feed shows is what the invitations said.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from kizuna import audit
from kizuna.extensions import db, utcnow
from kizuna.mail import normalize_address

from . import ical
from .models import (
    CalendarFeed,
    Invitation,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from .services import MeetingError, occurrence

FEED_NAME_LIMIT = 200
FEEDS_PER_USER = 10
# A series feed shows what its subscribers need: planned, moved, held and called-off meetings (not drafts).
PUBLISHED = (MeetingStatus.SCHEDULED, MeetingStatus.POSTPONED, MeetingStatus.CANCELLED, MeetingStatus.HELD)


def meeting_file(meeting: Meeting, language: str) -> bytes:
    """One meeting as a calendar file (METHOD:PUBLISH), written in `language`."""
    return ical.publish([occurrence(meeting, language)], meeting.title(language))


# -- a series' feed, cached ----------------------------------------------------------------------------

_SERIES_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_SERIES_CACHE_SIZE = 32
_SERIES_LOCK = threading.Lock()


def _series_stamp(series: MeetingSeries) -> tuple:
    """What changes whenever the feed would: the series' own change, and its meetings' count and latest change."""
    count, latest = db.session.execute(
        select(func.count(Meeting.id), func.max(Meeting.updated_at))
        .where(Meeting.series_id == series.id, Meeting.status.in_(PUBLISHED))).one()
    return series.updated_at, count, latest


def series_file(series: MeetingSeries, language: str, *, source: str | None = None) -> bytes:
    """The series' meetings as one feed named after the series. Built once per series, language and latest
    change (about 0.2 s for 1,000 meetings), then served from memory until a meeting of it changes."""
    key = (series.id, language, source, *_series_stamp(series))
    with _SERIES_LOCK:
        if (cached := _SERIES_CACHE.get(key)) is not None:
            _SERIES_CACHE.move_to_end(key)
            return cached
    meetings = db.session.scalars(select(Meeting).where(Meeting.series_id == series.id,
                                                        Meeting.status.in_(PUBLISHED))
                                  .order_by(Meeting.starts_at, Meeting.id)).all()
    body = ical.publish([occurrence(m, language) for m in meetings], series.title(language) or series.uid,
                        source=source)
    with _SERIES_LOCK:
        for old in [k for k in _SERIES_CACHE if k[:3] == key[:3]]:
            del _SERIES_CACHE[old]  # an older version of the same feed
        _SERIES_CACHE[key] = body
        while len(_SERIES_CACHE) > _SERIES_CACHE_SIZE:
            _SERIES_CACHE.popitem(last=False)
    return body


# -- the private per-person feed ---------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(*, user, name: str = "") -> tuple[CalendarFeed, str]:
    """A new private feed for `user`; returns it with its token, which is never stored or shown again."""
    name = (name or "").strip()
    if len(name) > FEED_NAME_LIMIT:
        raise MeetingError(_("At most %(n)d characters.", n=FEED_NAME_LIMIT), "name")
    live = db.session.scalar(select(func.count()).select_from(CalendarFeed).where(
        CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)))
    if live >= FEEDS_PER_USER:
        raise MeetingError(_("You have %(n)d feeds already: revoke one you no longer use first.", n=live), "name")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, token_hash=hash_token(token), name=name or _("My meetings"))
    db.session.add(feed)
    db.session.flush()
    audit.record("calendar_feed.create", actor=user, object_type="calendar_feed", object_id=feed.id,
                 object_label=feed.name)
    return feed, token


def revoke_feed(*, feed_id: int, user) -> CalendarFeed:
    """End a feed: every calendar program subscribed to it gets nothing more. Only its owner may."""
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or feed.user_id != user.id or feed.revoked_at is not None:
        raise MeetingError(_("That feed no longer exists; reload the page."))
    feed.revoked_at = utcnow()
    db.session.flush()
    audit.record("calendar_feed.revoke", actor=user, object_type="calendar_feed", object_id=feed.id,
                 object_label=feed.name)
    return feed


def feeds_of(user) -> list[CalendarFeed]:
    return list(db.session.scalars(select(CalendarFeed).where(
        CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)).order_by(CalendarFeed.id)))


def feed_for(token: str) -> CalendarFeed | None:
    """The live feed a token opens (its owner's account active), or None."""
    if not token or len(token) > 200:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token),
                                                         CalendarFeed.revoked_at.is_(None)))
    if feed is None or feed.user_id is None:
        return None
    from kizuna.models import User

    user = db.session.get(User, feed.user_id)
    return feed if user is not None and user.active else None


def meetings_for_email(email: str) -> list[Meeting]:
    """The meetings an address is invited to (a live invitation) or registered for, as a feed shows them:
    scheduled, postponed (tentative), cancelled (so that subscribed calendars mark them) and held."""
    try:
        address = normalize_address(email or "")
    except ValueError:
        return []
    invited = select(Invitation.meeting_id).where(Invitation.email == address, Invitation.removed_at.is_(None))
    registered = select(Registration.meeting_id).where(
        Registration.email == address,
        Registration.status.not_in((RegistrationStatus.CANCELLED, RegistrationStatus.DECLINED)))
    return list(db.session.scalars(select(Meeting).where(
        Meeting.status.in_(PUBLISHED), or_(Meeting.id.in_(invited), Meeting.id.in_(registered)))
        .order_by(Meeting.starts_at, Meeting.id)))


def personal_file(feed: CalendarFeed, *, now: datetime | None = None, source: str | None = None) -> bytes:
    """The feed's owner's meetings, in their language; the read is noted (last_read_at) for them to see."""
    from kizuna.models import User

    user = db.session.get(User, feed.user_id)
    language = user.language or "en"
    feed.last_read_at = now or utcnow()
    meetings = meetings_for_email(user.email)
    return ical.publish([occurrence(m, language) for m in meetings], feed.name or user.email, source=source)
