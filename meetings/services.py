"""The meetings' verbs: plan a meeting, invite people (an iTIP REQUEST through the outbox), record their
answers, register delegations within capacity and limits with a waiting list, and tell everyone concerned
of every change (updated REQUESTs with a raised SEQUENCE, CANCELs).

Every function flushes and never commits; each raises MeetingError(message, field) for bad input before
it changes anything. Registration takes a lock on the meeting's row before it reads anything it decides on
(SELECT … FOR UPDATE on PostgreSQL; on SQLite, which ignores FOR UPDATE, a write to the row that takes the
database's write lock), so concurrent registrations never exceed capacity or a delegation's limit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update

from kizuna import audit, files, outbox
from kizuna.errors import DomainError
from kizuna.extensions import db, utcnow
from kizuna.mail import normalize_address
from network import documents
from network.models import NetworkEvent, Partner
from network.services import home_city

from . import ical
from .models import (
    Answer,
    DelegateRole,
    Delegation,
    Invitation,
    Meeting,
    MeetingFormat,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    Tier,
)

OFFER_HOURS = 48  # a place offered from the waiting list is held this long
LINK_SALT = "meeting-invitation"
REGISTRATION_SALT = "meeting-registration"
HOLDS_A_PLACE = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, RegistrationStatus.OFFERED)
# A delegation's members within its limit: everyone registered but those cancelled or declined by staff.
COUNTS_AGAINST_LIMIT = (*HOLDS_A_PLACE, RegistrationStatus.WAITLISTED)
PARTSTAT = {Answer.NEEDS_ACTION: ical.PartStat.NEEDS_ACTION, Answer.ACCEPTED: ical.PartStat.ACCEPTED,
            Answer.DECLINED: ical.PartStat.DECLINED, Answer.TENTATIVE: ical.PartStat.TENTATIVE}
# What a calendar shows of a meeting: a change to any of these raises SEQUENCE and is sent to everyone.
TIME_AND_PLACE = ("starts_at", "ends_at", "timezone", "venue", "room", "address", "online_url", "format")


class MeetingError(DomainError):
    """Input a meeting service refuses; `field` names the form or API field it concerns."""


# -- checks ------------------------------------------------------------------------------------


def _choice(enum_type, value, field: str):
    try:
        return value if isinstance(value, enum_type) else enum_type(value)
    except ValueError:
        raise MeetingError(_("Choose one of the options offered."), field) from None


def _zone(name: str | None, field: str = "timezone") -> str:
    try:
        ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError):
        raise MeetingError(_("%(zone)s is not a time zone; use a name such as Asia/Tokyo.", zone=name or "—"),
                           field) from None
    return name


def to_utc(value: datetime | None, zone: str, field: str) -> datetime | None:
    """An aware datetime as UTC; a naive one read as wall-clock time in `zone`. A time that the clocks skip
    (a daylight-saving gap) is refused rather than moved."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    tz = ZoneInfo(zone)
    local = value.replace(tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != value:
        raise MeetingError(_("%(time)s does not exist in %(zone)s: the clocks skip it.",
                             time=value.strftime("%Y-%m-%d %H:%M"), zone=zone), field)
    return local.astimezone(UTC)


def _texts(values: Mapping[str, str] | None, field: str, *, required: bool, limit: int) -> dict[str, str]:
    out = {}
    for language, text in (values or {}).items():
        text = (text or "").strip()
        if len(text) > limit:
            raise MeetingError(_("At most %(n)d characters.", n=limit), f"{field}-{language}")
        if text:
            out[str(language)] = text
    if required and not out:
        raise MeetingError(_("Give the title in at least one language."), field)
    return out


def _count(value, field: str, *, minimum: int = 1) -> int | None:
    if value in (None, ""):
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise MeetingError(_("A whole number from %(n)d.", n=minimum), field)
    return value


def _address(value: str | None, field: str = "email") -> str:
    """An email address, normalised; MeetingError at `field` when it is not one."""
    try:
        return normalize_address(value or "")
    except EmailNotValidError as exc:
        raise MeetingError(_("%(address)s is not a valid email address: %(reason)s",
                             address=(value or "").strip() or "—", reason=str(exc)), field) from None


def _url(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.lower().startswith("https://") or len(value) > 1000:
        raise MeetingError(_("Give the link as a full https:// address."), field)
    return value


def _meeting_values(*, titles, tier, format, timezone, starts_at, ends_at, descriptions=None,
                    default_language="en", series_id=None, venue="", room="", address="", online_url=None,
                    city_id=None, registration_opens_at=None, registration_closes_at=None, capacity=None,
                    delegation_limit=None, interpretation_languages=(), accreditation_required=False,
                    approval_required=False, network_event_id=None, is_sample=False) -> dict:
    """Every rule of a meeting's fields, checked before anything is written; naive times are read in its zone."""
    timezone = _zone(timezone)
    meeting_format = _choice(MeetingFormat, format, "format")
    values = {
        "titles": _texts(titles, "titles", required=True, limit=300),
        "descriptions": _texts(descriptions, "descriptions", required=False, limit=20000),
        "default_language": default_language or "en", "tier": _choice(Tier, tier, "tier"),
        "format": meeting_format, "timezone": timezone,
        "venue": (venue or "").strip()[:300], "room": (room or "").strip()[:200],
        "address": (address or "").strip()[:500], "online_url": _url(online_url, "online_url"),
        "city_id": city_id, "capacity": _count(capacity, "capacity"),
        "delegation_limit": _count(delegation_limit, "delegation_limit"),
        "interpretation_languages": sorted({str(code).strip() for code in interpretation_languages if code}),
        "accreditation_required": bool(accreditation_required), "approval_required": bool(approval_required),
        "is_sample": bool(is_sample),
    }
    if starts_at is None:
        raise MeetingError(_("Give the start."), "starts_at")
    if ends_at is None:
        raise MeetingError(_("Give the end."), "ends_at")
    values["starts_at"] = to_utc(starts_at, timezone, "starts_at")
    values["ends_at"] = to_utc(ends_at, timezone, "ends_at")
    if values["ends_at"] <= values["starts_at"]:
        raise MeetingError(_("The meeting must end after it starts."), "ends_at")
    if meeting_format != MeetingFormat.IN_PERSON and not values["online_url"]:
        raise MeetingError(_("An online or hybrid meeting needs its link."), "online_url")
    if meeting_format != MeetingFormat.ONLINE and not values["venue"]:
        raise MeetingError(_("A meeting in person needs its venue."), "venue")
    opens = to_utc(registration_opens_at, timezone, "registration_opens_at")
    closes = to_utc(registration_closes_at, timezone, "registration_closes_at")
    if opens and closes and closes <= opens:
        raise MeetingError(_("Registration must close after it opens."), "registration_closes_at")
    if closes and closes > values["ends_at"]:
        raise MeetingError(_("Registration must close before the meeting ends."), "registration_closes_at")
    values["registration_opens_at"], values["registration_closes_at"] = opens, closes
    if values["capacity"] and values["delegation_limit"] and values["delegation_limit"] > values["capacity"]:
        raise MeetingError(_("A delegation cannot be larger than the meeting."), "delegation_limit")
    if series_id is not None and db.session.get(MeetingSeries, series_id) is None:
        raise MeetingError(_("That series no longer exists; reload the page."), "series_id")
    if network_event_id is not None and db.session.get(NetworkEvent, network_event_id) is None:
        raise MeetingError(_("That network event no longer exists; reload the page."), "network_event_id")
    values["series_id"], values["network_event_id"] = series_id, network_event_id
    return values


def _snapshot(meeting: Meeting) -> dict:
    out = {}
    for name in ("titles", "tier", "format", "status", "timezone", "venue", "room", "address", "online_url",
                 "capacity", "delegation_limit", "sequence", "starts_at", "ends_at"):
        value = getattr(meeting, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else getattr(value, "value", value)
    return out


def _host() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "kizuna.invalid"


# -- series and meetings ----------------------------------------------------------------------


def create_series(*, titles, tier, actor, rrule: str = "", descriptions=None, default_language="en",
                  default_format=MeetingFormat.IN_PERSON, default_delegation_limit=None, invitable_ranks=(),
                  accreditation_required=False, is_sample=False) -> MeetingSeries:
    series = MeetingSeries(
        uid=ical.make_uid("series", secrets.token_hex(8), _host()),
        titles=_texts(titles, "titles", required=True, limit=300),
        descriptions=_texts(descriptions, "descriptions", required=False, limit=20000),
        default_language=default_language, tier=_choice(Tier, tier, "tier"), rrule=_rrule(rrule),
        default_format=_choice(MeetingFormat, default_format, "default_format"),
        default_delegation_limit=_count(default_delegation_limit, "default_delegation_limit"),
        invitable_ranks=[str(r) for r in invitable_ranks], accreditation_required=bool(accreditation_required),
        is_sample=is_sample)
    db.session.add(series)
    db.session.flush()
    audit.record("meeting_series.create", actor=actor, object_type="meeting_series", object_id=series.id,
                 object_label=series.title(default_language), after={"titles": series.titles, "tier": series.tier.value,
                                                                     "rrule": series.rrule})
    return series


def _rrule(text: str) -> str:
    """An RFC 5545 RRULE such as FREQ=YEARLY;INTERVAL=2 (checked by icalendar), or ""."""
    from icalendar.prop import vRecur

    text = (text or "").strip().removeprefix("RRULE:")
    if not text:
        return ""
    try:
        rule = vRecur.from_ical(text)
    except (ValueError, TypeError):
        raise MeetingError(_("Write the recurrence as an RRULE, such as FREQ=YEARLY;INTERVAL=2."), "rrule") from None
    if "FREQ" not in rule:
        raise MeetingError(_("Write the recurrence as an RRULE, such as FREQ=YEARLY;INTERVAL=2."), "rrule")
    return vRecur(rule).to_ical().decode()


def create_meeting(*, actor, uid: str | None = None, **fields) -> Meeting:
    """Plan a meeting (a draft until scheduled); the series' defaults fill what is not given."""
    series = db.session.get(MeetingSeries, fields["series_id"]) if fields.get("series_id") else None
    if series is not None:
        fields.setdefault("tier", series.tier)
        fields.setdefault("format", series.default_format)
        fields.setdefault("delegation_limit", series.default_delegation_limit)
        fields.setdefault("accreditation_required", series.accreditation_required)
    if fields.get("city_id") is None and (home := home_city()) is not None:
        fields["city_id"] = home.id  # the host city: the home city unless another is given
    values = _meeting_values(**fields)
    if uid is not None and db.session.scalar(select(Meeting.id).where(Meeting.uid == uid)) is not None:
        raise MeetingError(_("A meeting with this UID is already recorded."), "uid")
    name, email = parseaddr(current_app.config["MAIL_FROM"])
    meeting = Meeting(**values, uid=uid or ical.make_uid("meeting", secrets.token_hex(10), _host()), sequence=0,
                      status=MeetingStatus.DRAFT, organizer_name=name, organizer_email=email,
                      created_by_id=actor.id if actor is not None else None)
    db.session.add(meeting)
    db.session.flush()
    audit.record("meeting.create", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language), after=_snapshot(meeting))
    return meeting


def _live(meeting_id: int, field: str | None = None) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingError(_("That meeting no longer exists; reload the page."), field)
    return meeting


def update_meeting(*, meeting_id: int, actor, sequence: int | None = None, **fields) -> Meeting:
    """Change a meeting. A change of time or place of a scheduled meeting raises its SEQUENCE and sends an
    updated REQUEST to everyone invited or registered, so their calendars move the entry they hold. More places
    (a higher capacity, or none) are offered to the waiting list at once."""
    meeting = _locked(meeting_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise MeetingError(_("A cancelled or past meeting cannot be changed."), "status")
    for kept in ("series_id", "city_id", "is_sample"):  # not on the edit form: kept unless given
        fields.setdefault(kept, getattr(meeting, kept))
    values = _meeting_values(**fields)
    before = _snapshot(meeting)
    moved = any(getattr(meeting, name) != values[name] for name in TIME_AND_PLACE)
    more_places = meeting.capacity is not None and (values["capacity"] is None or values["capacity"] > meeting.capacity)
    for name, value in values.items():
        setattr(meeting, name, value)
    if moved and meeting.status != MeetingStatus.DRAFT:
        meeting.sequence += 1
    if sequence is not None:  # a file received from outside: its SEQUENCE, set before anyone is told
        meeting.sequence = max(meeting.sequence, sequence)
    db.session.flush()
    audit.record("meeting.update", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language), before=before, after=_snapshot(meeting))
    if moved and meeting.status != MeetingStatus.DRAFT:
        for person in people_told(meeting):
            _send_request(meeting, person, update=True)
    if more_places:
        promote(meeting=meeting)
    return meeting


def schedule_meeting(*, meeting_id: int, actor) -> Meeting:
    """A draft becomes scheduled: from now on people can be invited and register. A postponed meeting that is
    scheduled again (at its new time, set by editing it first) is confirmed to everyone invited or registered:
    SEQUENCE raised, an updated REQUEST no longer tentative. Offers left open by the postponement get a new
    OFFER_HOURS from now, and places freed meanwhile are offered to the waiting list."""
    meeting = _locked(meeting_id)
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.POSTPONED):
        raise MeetingError(_("Only a draft or a postponed meeting can be scheduled."), "status")
    before = meeting.status.value
    meeting.status = MeetingStatus.SCHEDULED
    if before == MeetingStatus.POSTPONED:
        meeting.sequence += 1
    db.session.flush()
    audit.record("meeting.schedule", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language), before={"status": before},
                 after={"status": meeting.status.value})
    if before == MeetingStatus.POSTPONED:
        for person in people_told(meeting):
            _send_request(meeting, person, update=True)
        _restart_offers(meeting)
        promote(meeting=meeting)
    return meeting


def _restart_offers(meeting: Meeting, now: datetime | None = None) -> None:
    """The offers' clock stops while a meeting is postponed; when it is scheduled again each open offer runs
    a full OFFER_HOURS from then, and its holder is told until when."""
    now = now or utcnow()
    for registration in db.session.scalars(select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.status == RegistrationStatus.OFFERED)
            .order_by(Registration.id)):
        registration.offer_expires_at = now + timedelta(hours=OFFER_HOURS)
        _notify(registration, "offered")
    db.session.flush()


def postpone_meeting(*, meeting_id: int, reason: str, actor) -> Meeting:
    """Put a scheduled meeting off until a new date is set: SEQUENCE raised and an updated REQUEST, marked
    TENTATIVE and with the reason, to everyone invited or registered, so that calendars keep the entry but
    show it in doubt. Answers and registrations stand; nobody can register meanwhile. Edit the time, then
    schedule it again to confirm it to everyone. Offers of places stay open meanwhile (they do not lapse) and
    a place freed meanwhile is offered when the meeting is scheduled again."""
    meeting = _locked(meeting_id)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise MeetingError(_("Only a scheduled meeting can be postponed."), "status")
    reason = (reason or "").strip()
    if not reason:
        raise MeetingError(_("Say why the meeting is postponed: the people invited are told."), "reason")
    meeting.status = MeetingStatus.POSTPONED
    meeting.sequence += 1
    db.session.flush()
    audit.record("meeting.postpone", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language), before={"status": "scheduled"},
                 after={"status": "postponed", "reason": reason})
    for person in people_told(meeting):
        _send_request(meeting, person, update=True, postponed=reason)
    return meeting


def cancel_meeting(*, meeting_id: int, reason: str, actor) -> Meeting:
    """Call a meeting off: SEQUENCE raised, a CANCEL with the meeting's UID to everyone who holds a copy of it
    (people_told). Pending registrations, open offers and the waiting list end with it (no place is offered
    for a meeting that will not take place); those among them who were not invited themselves get a notice
    with the reason, without a calendar part (they hold no entry). Confirmed registrations stay as the
    record of who was coming."""
    meeting = _locked(meeting_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise MeetingError(_("This meeting is cancelled or over already."), "status")
    reason = (reason or "").strip()
    if not reason:
        raise MeetingError(_("Say why the meeting is cancelled: the people invited are told."), "reason")
    was_draft = meeting.status == MeetingStatus.DRAFT
    meeting.status = MeetingStatus.CANCELLED
    meeting.sequence += 1
    db.session.flush()
    audit.record("meeting.cancel", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language), after={"reason": reason})
    told = people_told(meeting) if not was_draft else []
    for person in told:
        _send_cancel(meeting, person, reason=reason)
    addresses = {person.email for person in told}
    for registration in db.session.scalars(select(Registration).where(
            Registration.meeting_id == meeting.id,
            Registration.status.in_((RegistrationStatus.PENDING, RegistrationStatus.OFFERED,
                                     RegistrationStatus.WAITLISTED))).order_by(Registration.id)):
        registration.status, registration.offer_expires_at = RegistrationStatus.CANCELLED, None
        if registration.email not in addresses:
            _notify(registration, "meeting_cancelled", reason=reason)
    db.session.flush()
    return meeting


def mark_held(*, now: datetime | None = None) -> list[Meeting]:
    """Scheduled meetings whose end has passed become held (a daily beat task calls it): from then on they
    refuse changes, invitations, registrations and reminders, like a cancelled one, and their open offers
    end (nobody can take a place any more). A postponed meeting waits for its new date instead."""
    now = now or utcnow()
    held = []
    for meeting_id in db.session.scalars(select(Meeting.id).where(
            Meeting.status == MeetingStatus.SCHEDULED, Meeting.ends_at <= now).order_by(Meeting.id)).all():
        meeting = _locked(meeting_id)
        if meeting.status != MeetingStatus.SCHEDULED or meeting.ends_at > now:  # changed meanwhile
            continue
        meeting.status = MeetingStatus.HELD
        for registration in db.session.scalars(select(Registration).where(
                Registration.meeting_id == meeting.id, Registration.status == RegistrationStatus.OFFERED)):
            registration.status, registration.offer_expires_at = RegistrationStatus.CANCELLED, None
        db.session.flush()
        audit.record("meeting.held", actor=None, object_type="meeting", object_id=meeting.id,
                     object_label=meeting.title(meeting.default_language), before={"status": "scheduled"},
                     after={"status": "held"})
        held.append(meeting)
    return held


# -- who is told: invitees and registered people ------------------------------------------------


def people_told(meeting: Meeting) -> list[Invitation | Registration]:
    """Each address that holds a copy of the meeting once: the live invitations, then registered people who
    were not invited themselves (delegation members) whose place is confirmed: only they were sent the meeting
    (_notify), so only they get its updates and CANCELs."""
    invited = [i for i in meeting.invitations if i.removed_at is None]
    addresses = {i.email for i in invited}
    registered = db.session.scalars(select(Registration).where(
        Registration.meeting_id == meeting.id, Registration.status == RegistrationStatus.CONFIRMED,
        Registration.email.not_in(addresses)).order_by(Registration.id)).all()
    return [*invited, *registered]


# A postponed meeting stays in calendars, in doubt until it is scheduled again.
CALENDAR_STATUS = {MeetingStatus.CANCELLED: ical.Status.CANCELLED, MeetingStatus.POSTPONED: ical.Status.TENTATIVE}


def calendar_uid(meeting: Meeting) -> str:
    """The UID of the meeting in what we send and publish. Our own meetings: their UID. A meeting received from
    outside (imported) keeps the sender's UID to match their later files, but we are not its organizer, and
    only the organizer sends REQUESTs for a UID (RFC 5546): our invitations are our own copy of it, under a UID
    of ours (made from the meeting's id and the sender's UID) with our office as ORGANIZER, so that the answers
    come back to our mailbox and the sender's own invitation, where someone holds both, stays apart."""
    if not meeting.imported:
        return meeting.uid
    digest = hashlib.sha256(meeting.uid.encode()).hexdigest()[:12]
    return ical.make_uid("copy", f"{meeting.id}-{digest}", _host())


def meeting_of_calendar_uid(uid: str) -> Meeting | None:
    """The meeting a UID we sent names (calendar_uid), or None."""
    meeting = db.session.scalar(select(Meeting).where(Meeting.uid == uid))
    if meeting is not None and not meeting.imported:
        return meeting
    if meeting is None and uid.startswith("copy-"):
        meeting_id = uid.removeprefix("copy-").partition("-")[0]
        meeting = db.session.get(Meeting, int(meeting_id)) if meeting_id.isdigit() else None
    return meeting if meeting is not None and meeting.imported and calendar_uid(meeting) == uid else None


def occurrence(meeting: Meeting, language: str) -> ical.Occurrence:
    """The meeting as a calendar shows it, written in `language` (for a meeting received from outside, our own
    copy of it: calendar_uid)."""
    location = ", ".join(p for p in (meeting.venue, meeting.room, meeting.address) if p) or None
    if meeting.imported:
        organizer_name, organizer_email = parseaddr(current_app.config["MAIL_FROM"])
    else:
        organizer_name, organizer_email = meeting.organizer_name, meeting.organizer_email
    return ical.Occurrence(
        uid=calendar_uid(meeting), sequence=meeting.sequence, title=meeting.title(language), start=meeting.starts_at,
        end=meeting.ends_at, zone=meeting.timezone,
        organizer=ical.Organizer(organizer_name or "Kizuna", organizer_email),
        last_modified=meeting.updated_at or utcnow(), description=meeting.description(language),
        location=location, online_url=meeting.online_url,
        status=CALENDAR_STATUS.get(meeting.status, ical.Status.CONFIRMED),
        language=language)


def _attendee(person: Invitation | Registration) -> ical.Attendee:
    partstat = PARTSTAT[person.answer] if isinstance(person, Invitation) else ical.PartStat.ACCEPTED
    return ical.Attendee(name=person.name or person.email, email=person.email, partstat=partstat,
                         rsvp=isinstance(person, Invitation), language=person.language or None)


def _send_request(meeting: Meeting, person: Invitation | Registration, *, update: bool = False,
                  postponed: str | None = None) -> None:
    """postponed: the reason, for the REQUEST that tells of a postponement."""
    from . import emails

    calendar = ical.request(occurrence(meeting, person.language), _attendee(person), stamp=utcnow())
    outbox.queue(emails.invitation(meeting, person, calendar, update=update, postponed=postponed),
                 category="meeting.invitation", ref_type="meeting", ref_id=meeting.id)
    if isinstance(person, Invitation):
        person.sequence_sent = meeting.sequence


def _send_cancel(meeting: Meeting, person: Invitation | Registration, *, reason: str,
                 uninvited: bool = False) -> None:
    from . import emails

    calendar = ical.cancel(occurrence(meeting, person.language), _attendee(person), uninvited=uninvited,
                           stamp=utcnow())
    outbox.queue(emails.cancellation(meeting, person, calendar, reason=reason, uninvited=uninvited),
                 category="meeting.cancellation", ref_type="meeting", ref_id=meeting.id)


# -- invitations --------------------------------------------------------------------------------


def invite(*, meeting_id: int, email: str, actor, name: str = "", language: str = "en",
           partner_id: int | None = None, contact_id: int | None = None, timezone: str | None = None) -> Invitation:
    """Invite a person (the head of a partner city's delegation when partner_id is given): their REQUEST goes
    through the outbox in their language, with signed links to answer and to register."""
    meeting = _live(meeting_id)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise MeetingError(_("Schedule the meeting before inviting anyone."), "status")
    address = _address(email)
    office = parseaddr(current_app.config["MAIL_FROM"])[1].lower()
    if address == office or (not meeting.imported and address == meeting.organizer_email.lower()):
        raise MeetingError(_("This is the office's own address: it organizes the meeting."), "email")
    if partner_id is not None and db.session.get(Partner, partner_id) is None:
        raise MeetingError(_("That partner no longer exists; reload the page."), "partner_id")
    existing = db.session.scalar(select(Invitation).where(Invitation.meeting_id == meeting.id,
                                                          Invitation.email == address))
    if existing is not None and existing.removed_at is None:
        raise MeetingError(_("%(email)s is invited already.", email=address), "email")
    if timezone:
        _zone(timezone, "timezone")
    invitation = existing or Invitation(meeting=meeting, email=address)
    invitation.name, invitation.language, invitation.timezone = (name or "").strip()[:300], language or "en", timezone
    invitation.partner_id, invitation.contact_id = partner_id, contact_id
    invitation.answer, invitation.answered_at, invitation.removed_at = Answer.NEEDS_ACTION, None, None
    invitation.link_stamp = secrets.token_hex(16)
    invitation.invited_by_id = actor.id if actor is not None else None
    db.session.add(invitation)
    db.session.flush()
    if partner_id is not None:
        delegation = db.session.scalar(select(Delegation).where(Delegation.meeting_id == meeting.id,
                                                                Delegation.partner_id == partner_id))
        if delegation is None:
            db.session.add(Delegation(meeting_id=meeting.id, partner_id=partner_id, invitation_id=invitation.id))
        else:
            delegation.invitation_id = invitation.id
    _send_request(meeting, invitation)
    audit.record("meeting.invite", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language),
                 after={"email": address, "partner_id": partner_id, "language": invitation.language})
    return invitation


def invite_contacts(*, meeting_id: int, contact_ids, actor) -> tuple[list[Invitation], dict[str, int]]:
    """Invite the chosen contacts in their own name, each in their preferred language and zone: the invitations
    sent, and how many were skipped for each reason (no email address, invited already)."""
    from partners.models import Contact

    invited, skipped = [], {"no_email": 0, "already": 0}
    live = set(db.session.scalars(select(Invitation.email).where(Invitation.meeting_id == meeting_id,
                                                                 Invitation.removed_at.is_(None))))
    for contact_id in dict.fromkeys(contact_ids):
        contact = db.session.get(Contact, contact_id)
        address = contact.primary_email if contact is not None and contact.erased_at is None else None
        if not address:
            skipped["no_email"] += 1
        elif address.lower() in live:
            skipped["already"] += 1
        else:
            language = contact.preferred_language or "en"
            invited.append(invite(meeting_id=meeting_id, email=address, name=contact.display_name(language),
                                  language=language, timezone=contact.timezone, contact_id=contact.id, actor=actor))
            live.add(invited[-1].email)
    return invited, skipped


def uninvite(*, invitation_id: int, actor, reason: str = "") -> Invitation:
    """Take a person off a meeting: their copy gets a CANCEL (the meeting goes on for the others) and their
    links stop working. Their registration goes with them, and so does their delegation's when they head it
    (each member's copy gets a CANCEL); the places freed are offered to the waiting list."""
    meeting_id = db.session.scalar(select(Invitation.meeting_id).where(Invitation.id == invitation_id))
    if meeting_id is None:
        raise MeetingError(_("That invitation no longer exists; reload the page."))
    meeting = _locked(meeting_id)
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id)
                                   .execution_options(populate_existing=True))
    if invitation.removed_at is not None:
        raise MeetingError(_("That invitation no longer exists; reload the page."))
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise MeetingError(_("This meeting is cancelled or over already."), "status")
    invitation.removed_at = utcnow()
    invitation.link_stamp = secrets.token_hex(16)
    meeting.sequence += 1
    db.session.flush()
    if meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.POSTPONED):  # their calendar holds the entry
        _send_cancel(meeting, invitation, reason=reason, uninvited=True)
    headed = select(Delegation.id).where(Delegation.invitation_id == invitation.id)
    registrations = db.session.scalars(select(Registration).where(
        Registration.meeting_id == meeting.id,
        Registration.status.not_in((RegistrationStatus.CANCELLED, RegistrationStatus.DECLINED)),
        or_(Registration.email == invitation.email, Registration.delegation_id.in_(headed),
            (Registration.invitation_id == invitation.id) & Registration.delegation_id.is_(None)))
        .order_by(Registration.id).execution_options(populate_existing=True)).all()
    freed = False
    for registration in registrations:
        freed = freed or registration.status in HOLDS_A_PLACE
        registration.status, registration.offer_expires_at = RegistrationStatus.CANCELLED, None
        if registration.email != invitation.email:  # the invitee was told above
            _notify(registration, "cancelled")
    db.session.flush()
    audit.record("meeting.uninvite", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language),
                 after={"email": invitation.email, "registrations_cancelled": [r.email for r in registrations]})
    if freed:
        promote(meeting=meeting)
    return invitation


def _serializer(salt: str = LINK_SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def check_token(token: str, salt: str = LINK_SALT) -> bool:
    """Whether a link's token was signed by us (whatever its age or what it stands for now): a page answers a
    made-up or tampered link (404) otherwise than an outdated one (410)."""
    try:
        _serializer(salt).loads(token)
    except BadSignature:
        return False
    return True


def invitation_token(invitation: Invitation) -> str:
    """The signed part of an invitation's links (answer, register): voided by a new link_stamp."""
    return _serializer().dumps([invitation.id, invitation.link_stamp])


def invitation_for(token: str) -> Invitation:
    """The invitation a link stands for; MeetingError when the link is tampered, outdated or replaced."""
    try:
        invitation_id, stamp = _serializer().loads(token, max_age=400 * 86400)
    except SignatureExpired:
        raise MeetingError(_("This link has expired.")) from None
    except (BadSignature, ValueError, TypeError):
        raise MeetingError(_("This link is not valid. Use the link in the latest email.")) from None
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.link_stamp != stamp or invitation.removed_at is not None:
        raise MeetingError(_("This link is no longer valid. Use the link in the latest email."))
    if invitation.meeting.status == MeetingStatus.CANCELLED:
        raise MeetingError(_("This meeting is cancelled."))
    return invitation


def _registration_stamp(registration: Registration) -> str:
    """Part of a registration's signed link: it changes when the row is registered anew after a cancel, which
    voids the links sent for the earlier registration."""
    when = registration.registered_at.astimezone(UTC).isoformat()
    return hashlib.sha256(f"{registration.id}|{registration.email}|{when}".encode()).hexdigest()[:32]


def registration_token(registration: Registration) -> str:
    """The signed part of a registered person's own link (a delegation member's): it opens their registration
    only, to see it, take a place offered or cancel it; never the invitation's powers."""
    return _serializer(REGISTRATION_SALT).dumps([registration.id, _registration_stamp(registration)])


def registration_for(token: str) -> Registration:
    """The registration a person's own link stands for; MeetingError when the link is tampered or outdated
    (the person was registered anew since) or the meeting is cancelled."""
    try:
        registration_id, stamp = _serializer(REGISTRATION_SALT).loads(token, max_age=400 * 86400)
    except SignatureExpired:
        raise MeetingError(_("This link has expired.")) from None
    except (BadSignature, ValueError, TypeError):
        raise MeetingError(_("This link is not valid. Use the link in the latest email.")) from None
    registration = db.session.get(Registration, registration_id) if isinstance(registration_id, int) else None
    if registration is None or _registration_stamp(registration) != stamp:
        raise MeetingError(_("This link is no longer valid. Use the link in the latest email."))
    if registration.meeting.status == MeetingStatus.CANCELLED:
        raise MeetingError(_("This meeting is cancelled."))
    return registration


def record_answer(*, invitation: Invitation, answer, via: str, comment: str = "", actor=None) -> Invitation:
    """Accepted, declined or tentative: from the link, from the person's mail program (an iTIP REPLY) or
    entered by staff."""
    answer = _choice(Answer, answer, "answer")
    if answer == Answer.NEEDS_ACTION:
        raise MeetingError(_("Choose to accept, decline or say maybe."), "answer")
    if invitation.removed_at is not None:
        raise MeetingError(_("This invitation was withdrawn."))
    before = invitation.answer.value
    invitation.answer, invitation.answered_at, invitation.answered_via = answer, utcnow(), via
    invitation.comment = (comment or "").strip()[:2000]
    db.session.flush()
    audit.record("meeting.answer", actor=actor, object_type="meeting", object_id=invitation.meeting_id,
                 object_label=invitation.email, before={"answer": before},
                 after={"answer": answer.value, "via": via})
    return invitation


# -- registration -------------------------------------------------------------------------------


def _locked(meeting_id: int, field: str | None = None) -> Meeting:
    """The meeting's row, locked until commit: registrations for one meeting are decided one at a time.
    SQLite ignores FOR UPDATE, so there a write that changes nothing takes the database's write lock first
    (a second writer waits for the first to commit); what is read after it is what the last writer left."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Meeting).where(Meeting.id == meeting_id)
                           .values(sequence=Meeting.sequence, updated_at=Meeting.updated_at)
                           .execution_options(synchronize_session=False))
    meeting = db.session.scalar(select(Meeting).where(Meeting.id == meeting_id)
                                .with_for_update().execution_options(populate_existing=True))
    if meeting is None:
        raise MeetingError(_("That meeting no longer exists; reload the page."), field)
    return meeting


def _registration_locked(registration_id: int) -> tuple[Registration, Meeting]:
    """A registration and its meeting, the meeting locked first and the registration read after the lock: what
    another request changed while this one waited for the lock (a cancel, an approval) is what is decided on."""
    meeting_id = db.session.scalar(select(Registration.meeting_id).where(Registration.id == registration_id))
    if meeting_id is None:
        raise MeetingError(_("That registration no longer exists; reload the page."))
    meeting = _locked(meeting_id)
    registration = db.session.scalar(select(Registration).where(Registration.id == registration_id)
                                     .execution_options(populate_existing=True))
    if registration is None:
        raise MeetingError(_("That registration no longer exists; reload the page."))
    return registration, meeting


def places_taken(meeting_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.meeting_id == meeting_id, Registration.status.in_(HOLDS_A_PLACE)))


def register(*, invitation: Invitation, name: str, email: str, role=DelegateRole.MEMBER, title: str = "",
             language: str | None = None, arrival_at: datetime | None = None,
             departure_at: datetime | None = None, dietary: str = "", accessibility: str = "",
             interpretation_language: str = "", protocol_rank: int | None = None, contact_id: int | None = None,
             accreditation: tuple[str, bytes] | None = None, actor=None,
             now: datetime | None = None) -> Registration:
    """Register one person on an invitation (the invitee or a member of their city's delegation): a place
    when there is one (pending when staff approve registrations), else the waiting list. Refused after the
    window, beyond the delegation's limit, twice for one address, or — where the meeting asks for it —
    without an accreditation, the note verbale as (file name, bytes): a PDF or Office file."""
    now = now or utcnow()
    meeting = _locked(invitation.meeting_id)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise MeetingError(_("Registration is closed: the meeting is not scheduled."))
    if meeting.registration_opens_at and now < meeting.registration_opens_at:
        raise MeetingError(_("Registration has not opened yet."))
    if now > (meeting.registration_closes_at or meeting.starts_at):
        raise MeetingError(_("Registration has closed."))
    address = _address(email)
    name = (name or "").strip()
    if not name:
        raise MeetingError(_("Give the person's name."), "name")
    if arrival_at and departure_at and departure_at < arrival_at:
        raise MeetingError(_("Departure cannot come before arrival."), "departure_at")
    earlier = db.session.scalar(select(Registration).where(Registration.meeting_id == meeting.id,
                                                          Registration.email == address)
                                .execution_options(populate_existing=True))  # as it is now, under the lock
    if earlier is not None and earlier.status != RegistrationStatus.CANCELLED:
        raise MeetingError(_("%(email)s is registered already.", email=address), "email")
    delegation = db.session.scalar(select(Delegation).where(Delegation.invitation_id == invitation.id))
    if delegation is not None:
        limit = delegation.size_limit or meeting.delegation_limit
        members = db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.delegation_id == delegation.id, Registration.status.in_(COUNTS_AGAINST_LIMIT)))
        if limit is not None and members >= limit:
            raise MeetingError(_("The delegation is full: at most %(n)d people per city.", n=limit))
    elif address != invitation.email:
        raise MeetingError(_("An invitation in your own name registers only you."), "email")
    note = _accreditation(accreditation) if accreditation and accreditation[1] else None
    if meeting.accreditation_required and note is None:
        raise MeetingError(_("This meeting asks for an accreditation: attach the note verbale (a PDF)."),
                           "accreditation")
    if meeting.capacity is not None and places_taken(meeting.id) >= meeting.capacity:
        status = RegistrationStatus.WAITLISTED
    else:
        status = RegistrationStatus.PENDING if meeting.approval_required else RegistrationStatus.CONFIRMED
    fields = dict(
        meeting_id=meeting.id, delegation_id=delegation.id if delegation else None, invitation_id=invitation.id,
        contact_id=contact_id, name=name[:300], email=address, language=language or invitation.language,
        role=_choice(DelegateRole, role, "role"), title=(title or "").strip()[:300], protocol_rank=protocol_rank,
        arrival_at=arrival_at, departure_at=departure_at, dietary=(dietary or "").strip()[:500],
        accessibility=(accessibility or "").strip()[:500], interpretation_language=interpretation_language or "",
        accreditation_filename=note[0] if note else None, accreditation_sha256=note[1] if note else None,
        status=status, registered_at=now, offer_expires_at=None, decided_by_id=None, decided_at=None)
    if earlier is not None:  # registered again after a cancel: the same row (one per address), anew
        registration = earlier
        for key, value in fields.items():
            setattr(registration, key, value)
    else:
        registration = Registration(**fields)
    db.session.add(registration)
    db.session.flush()
    audit.record("meeting.register", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=address, after={"status": status.value, "delegation_id": registration.delegation_id})
    _notify(registration, "registered")
    return registration


ACCREDITATIONS = files.Store("accreditations", Registration.accreditation_sha256)


def accreditation_path(sha256: str) -> Path:
    return ACCREDITATIONS.path(sha256)


def _accreditation(upload: tuple[str, bytes]) -> tuple[str, str]:
    """Keep a note verbale (a PDF or Office file, judged by its bytes, within the documents' size limit) in the
    instance folder under its SHA-256; (file name, digest). Written before its row: a refused registration
    leaves at most a file no row names, never a row without its file."""
    filename, data = upload
    if len(data) > documents.max_bytes():
        raise MeetingError(_("The file is larger than %(mb)d MB.", mb=documents.max_bytes() // (1024 * 1024)),
                           "accreditation")
    if files.sniff(data) is None:
        raise MeetingError(_("Only PDF and Office documents (Word, Excel, PowerPoint) can be attached; this file "
                             "is neither, whatever its name says."), "accreditation")
    return files.kept_name(filename, "", "note-verbale"), ACCREDITATIONS.keep(data)


def cancel_registration(*, registration_id: int, actor=None, now: datetime | None = None) -> Registration:
    """The person will not come: their place goes to the first on the waiting list, as an offer."""
    registration, meeting = _registration_locked(registration_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise MeetingError(_("This meeting is cancelled or over already."))
    if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.DECLINED):
        raise MeetingError(_("This registration is cancelled already."))
    held = registration.status in HOLDS_A_PLACE
    registration.status = RegistrationStatus.CANCELLED
    db.session.flush()
    audit.record("meeting.registration_cancel", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=registration.email, after={"status": "cancelled"})
    _notify(registration, "cancelled")
    if held:
        promote(meeting=meeting, now=now)
    return registration


def promote(*, meeting: Meeting, now: datetime | None = None) -> list[Registration]:
    """Offer the free places to the waiting list, first come first served; an offer holds the place for
    OFFER_HOURS. The caller holds the meeting's lock (_locked). Only a scheduled meeting offers places: a
    postponed one offers them when it is scheduled again, a cancelled or past one never."""
    now = now or utcnow()
    if meeting.status != MeetingStatus.SCHEDULED:
        return []
    if meeting.capacity is None:
        free = None
    else:
        free = meeting.capacity - places_taken(meeting.id)
        if free <= 0:
            return []
    waiting = db.session.scalars(select(Registration).where(
        Registration.meeting_id == meeting.id, Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.registered_at, Registration.id).limit(free)).all()
    for registration in waiting:
        registration.status = RegistrationStatus.OFFERED
        registration.offer_expires_at = now + timedelta(hours=OFFER_HOURS)
        _notify(registration, "offered")
    db.session.flush()
    return list(waiting)


def accept_offer(*, registration_id: int, now: datetime | None = None) -> Registration:
    """Take the place offered: within OFFER_HOURS, or at any time while the meeting is postponed."""
    now = now or utcnow()
    registration, meeting = _registration_locked(registration_id)
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.POSTPONED):
        raise MeetingError(_("This meeting is cancelled or over: no place can be taken."))
    if registration.status != RegistrationStatus.OFFERED:
        raise MeetingError(_("There is no place offered to you for this meeting."))
    # While the meeting is postponed the offer's clock stands still (it restarts when it is scheduled again).
    lapsed = registration.offer_expires_at is not None and now > registration.offer_expires_at
    if meeting.status == MeetingStatus.SCHEDULED and lapsed:
        raise MeetingError(_("The offer has lapsed."))
    registration.status = RegistrationStatus.CONFIRMED
    registration.offer_expires_at = None
    db.session.flush()
    _notify(registration, "confirmed")
    return registration


def expire_offers(*, now: datetime | None = None) -> int:
    """Lapse offers past their time and offer those places on (a beat task calls it). Only for scheduled
    meetings: a postponed meeting's offers wait for its new date, a cancelled or past one offers nothing."""
    now = now or utcnow()
    meeting_ids = db.session.scalars(select(Registration.meeting_id).distinct().join(Meeting).where(
        Meeting.status == MeetingStatus.SCHEDULED, Registration.status == RegistrationStatus.OFFERED,
        Registration.offer_expires_at < now)).all()
    count = 0
    for meeting_id in sorted(meeting_ids):
        meeting = _locked(meeting_id)
        if meeting.status != MeetingStatus.SCHEDULED:  # postponed or cancelled meanwhile
            continue
        lapsed = db.session.scalars(select(Registration).where(  # read again under the lock
            Registration.meeting_id == meeting_id, Registration.status == RegistrationStatus.OFFERED,
            Registration.offer_expires_at < now).execution_options(populate_existing=True)).all()
        for registration in lapsed:
            registration.status = RegistrationStatus.CANCELLED
            _notify(registration, "lapsed")
        db.session.flush()
        promote(meeting=meeting, now=now)
        count += len(lapsed)
    return count


def decide(*, registration_id: int, approve: bool, actor) -> Registration:
    """Staff approve or decline a pending registration; a declined one frees its place."""
    registration, meeting = _registration_locked(registration_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise MeetingError(_("This meeting is cancelled or over: no place can be taken."))
    if registration.status != RegistrationStatus.PENDING:
        raise MeetingError(_("Only a pending registration can be approved or declined."))
    registration.status = RegistrationStatus.CONFIRMED if approve else RegistrationStatus.DECLINED
    registration.decided_by_id, registration.decided_at = actor.id if actor else None, utcnow()
    db.session.flush()
    audit.record("meeting.registration_decide", actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=registration.email, after={"status": registration.status.value})
    _notify(registration, "confirmed" if approve else "declined")
    if not approve:
        promote(meeting=meeting)
    return registration


def _notify(registration: Registration, what: str, *, reason: str = "") -> None:
    """Tell a registered person of their registration's change. Someone registered by a delegation's head (not
    invited by their own address) gets the meeting into their calendar when their place is confirmed, and a
    CANCEL for their copy when it goes; an invitee's calendar already follows the invitation."""
    from . import emails

    meeting = registration.meeting
    invited = registration.invitation is not None and registration.invitation.email == registration.email
    calendar = method = None
    if not invited and meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.POSTPONED):
        attendee, event = _attendee(registration), occurrence(meeting, registration.language)
        if what in ("registered", "confirmed") and registration.status == RegistrationStatus.CONFIRMED:
            calendar, method = ical.request(event, attendee, stamp=utcnow()), "REQUEST"
        elif what in ("cancelled", "lapsed", "declined"):
            calendar, method = ical.cancel(event, attendee, uninvited=True, stamp=utcnow()), "CANCEL"
    outbox.queue(emails.registration_notice(registration, what, calendar, method, reason=reason),
                 category="meeting.registration", ref_type="meeting", ref_id=registration.meeting_id)
