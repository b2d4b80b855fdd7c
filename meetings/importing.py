"""Invitations received from outside (an .ics written by Outlook/Exchange, Google Calendar or Apple Calendar):
create the meeting they describe, keeping the sender's UID and organizer; update it when a later file carries a
newer SEQUENCE (taken as ours before our invitees are told); cancel ours when a CANCEL arrives for it (our own
invitees are then sent CANCELs).

We are not the organizer of such a meeting, so what we send our own invitees is our copy of it, under a UID of
ours with our office as ORGANIZER (services.calendar_uid): their answers come to our mailbox, and the sender's
invitation, where someone received both, stays a separate entry.

plan() reads and decides without writing; apply() does what plan() says. Only meetings created this way
(imported=True) are changed by a file: a UID of one of our own meetings is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.i18n import home_timezone
from kizuna.mail import normalize_address

from . import services
from .ics_import import IcsError, ImportedEvent, ImportedInvitation, parse_invitation
from .models import Meeting, MeetingFormat, MeetingStatus, Tier

CREATE, UPDATE, CANCEL, NOTHING = "create", "update", "cancel", "nothing"
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


class ImportRefused(Exception):
    """The file cannot be applied (a UID of our own meeting, a cancelled meeting, a field our rules refuse)."""


@dataclass
class IcsPlan:
    """What a file will do: `action` one of create, update, cancel, nothing, with the reasons in `lines`."""

    invitation: ImportedInvitation
    action: str
    meeting: Meeting | None = None
    lines: list[str] = field(default_factory=list)


def _address(value: str) -> str:
    try:
        return normalize_address(value)
    except ValueError:
        return value[:254]


def _language(text: str) -> str:
    return "ja" if _JAPANESE.search(text or "") else "en"


def _moment(value: datetime | date, zone: str, *, end: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0, 0), tzinfo=ZoneInfo(zone))  # an all-day span, end exclusive


def _fields(event: ImportedEvent, *, zone: str) -> dict:
    """What the file says of the meeting, as services.create_meeting and update_meeting take it."""
    link = event.online_link if event.online_link and event.online_link.lower().startswith("https://") else None
    location = (event.location or "").strip()
    if link and location:
        meeting_format = MeetingFormat.HYBRID
    elif link:
        meeting_format = MeetingFormat.ONLINE
    else:
        meeting_format = MeetingFormat.IN_PERSON
    description = (event.description or "").strip()
    if event.online_link and not link:
        description = f"{description}\n\n{event.online_link}".strip()
    title = (event.summary or "").strip() or _("Meeting without a title")
    language = _language(title)
    return {"titles": {language: title[:300]}, "descriptions": {language: description} if description else {},
            "default_language": language, "format": meeting_format, "timezone": zone,
            "starts_at": _moment(event.start, zone), "ends_at": _moment(event.end, zone, end=True),
            "venue": location[:300] or (_("Not given in the invitation") if meeting_format != MeetingFormat.ONLINE
                                         else ""),
            "online_url": link}


def plan(data: bytes | str) -> IcsPlan:
    """Read the file and decide what it will do; writes nothing. Raises IcsError for a file that cannot be read."""
    invitation = parse_invitation(data, floating_zone=home_timezone())
    event = invitation.event
    meeting = db.session.scalar(select(Meeting).where(Meeting.uid == invitation.uid))
    lines = [*invitation.notes]
    title = event.summary or invitation.uid
    if event.rrule or invitation.exceptions:
        lines.append(_("The file describes a recurring series: only its first occurrence is recorded."))
    if meeting is not None and not meeting.imported:
        raise IcsError(_("The UID %(uid)s is one of our own meetings: change it on its page instead.",
                         uid=invitation.uid))
    if invitation.method == "CANCEL":
        if meeting is None:
            lines.append(_("No meeting has the UID %(uid)s: there is nothing to cancel.", uid=invitation.uid))
            return IcsPlan(invitation, NOTHING, None, lines)
        if meeting.status == MeetingStatus.CANCELLED:
            lines.append(_("%(title)s is cancelled already.", title=meeting.title(meeting.default_language)))
            return IcsPlan(invitation, NOTHING, meeting, lines)
        lines.append(_("%(title)s will be cancelled; the people we invited will be sent a cancellation.",
                       title=meeting.title(meeting.default_language)))
        return IcsPlan(invitation, CANCEL, meeting, lines)
    if meeting is None:
        lines.append(_("A new meeting will be created: %(title)s.", title=title))
        return IcsPlan(invitation, CREATE, None, lines)
    if event.sequence <= meeting.sequence:
        lines.append(_("%(title)s is recorded at SEQUENCE %(ours)d; the file's SEQUENCE %(theirs)d is not newer: "
                       "nothing changes.", title=meeting.title(meeting.default_language), ours=meeting.sequence,
                       theirs=event.sequence))
        return IcsPlan(invitation, NOTHING, meeting, lines)
    if meeting.status == MeetingStatus.CANCELLED:
        lines.append(_("%(title)s is cancelled: a later invitation does not bring it back.",
                       title=meeting.title(meeting.default_language)))
        return IcsPlan(invitation, NOTHING, meeting, lines)
    lines.append(_("%(title)s will be updated to the file's SEQUENCE %(n)d.",
                   title=meeting.title(meeting.default_language), n=event.sequence))
    return IcsPlan(invitation, UPDATE, meeting, lines)


def _current(meeting: Meeting) -> dict:
    """The fields a file does not carry, kept as they are by an update."""
    return {name: getattr(meeting, name) for name in (
        "tier", "series_id", "room", "address", "city_id", "registration_opens_at", "registration_closes_at",
        "capacity", "delegation_limit", "interpretation_languages", "accreditation_required", "approval_required",
        "network_event_id", "is_sample")}


def apply(data: bytes | str, *, actor, tier: Tier | str = Tier.SIDE_EVENT) -> IcsPlan:
    """Do what plan() decides; flushes, never commits. Raises IcsError or ImportRefused and then changes nothing
    the caller commits (the caller rolls back)."""
    result = plan(data)
    invitation, event = result.invitation, result.invitation.event
    zone = event.zone or home_timezone()
    try:
        if result.action == CREATE:
            meeting = services.create_meeting(actor=actor, uid=invitation.uid, tier=tier, **_fields(event, zone=zone))
            organizer = event.organizer
            if organizer is not None and organizer.email:
                meeting.organizer_email = _address(organizer.email)
                meeting.organizer_name = (organizer.name or "")[:200]
            meeting.imported, meeting.sequence = True, event.sequence
            services.schedule_meeting(meeting_id=meeting.id, actor=actor)
            result.meeting = meeting
        elif result.action == UPDATE:
            meeting = result.meeting
            values = {**_current(meeting), **_fields(event, zone=zone)}
            language = values["default_language"]
            values["titles"] = {**meeting.titles, **values["titles"]}
            values["descriptions"] = {**meeting.descriptions, **values["descriptions"]}
            if language not in meeting.titles:
                values["default_language"] = meeting.default_language
            services.update_meeting(meeting_id=meeting.id, actor=actor, sequence=event.sequence, **values)
            if event.organizer is not None and event.organizer.email:
                meeting.organizer_email = _address(event.organizer.email)
                meeting.organizer_name = (event.organizer.name or meeting.organizer_name)[:200]
        elif result.action == CANCEL:
            organizer = event.organizer.name or event.organizer.email if event.organizer else ""
            services.cancel_meeting(meeting_id=result.meeting.id, actor=actor,
                                    reason=_("Cancelled by its organizer %(organizer)s.", organizer=organizer)
                                    if organizer else _("Cancelled by its organizer."))
    except services.MeetingError as exc:
        raise ImportRefused(str(exc)) from None
    db.session.flush()
    return result


__all__ = ["CANCEL", "CREATE", "NOTHING", "UPDATE", "IcsError", "IcsPlan", "ImportRefused", "apply", "plan"]
