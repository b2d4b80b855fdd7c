"""The meetings' emails, each in its reader's language with every time in the host city's zone and in the
reader's own: invitations and their updates and cancellations (iMIP, with the calendar part), and the
notices of a registration's changes."""

from __future__ import annotations

from email.message import EmailMessage
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from kizuna.extensions import db
from kizuna.mail import build_message
from kizuna.urls import external_url

from .invitation_mail import invitation_message
from .models import Invitation, Meeting, Registration


def when(meeting: Meeting, zone: str | None) -> dict[str, str]:
    """The meeting's start and end as the host city reads them, and as a reader in `zone` does."""
    def span(tz: str) -> str:
        start, end = meeting.starts_at.astimezone(ZoneInfo(tz)), meeting.ends_at.astimezone(ZoneInfo(tz))
        locale = get_locale() or "en"
        last = "HH:mm zzzz" if start.date() == end.date() else "medium"
        return (f"{format_datetime(start, 'full', tzinfo=ZoneInfo(tz), locale=locale)} – "
                f"{format_datetime(end, last, tzinfo=ZoneInfo(tz), locale=locale)}")
    out = {"host": span(meeting.timezone)}
    if zone and zone != meeting.timezone:
        out["reader"] = span(zone)
    return out


def reader_zone(person: Invitation | Registration) -> str | None:
    """The zone a person reads times in: an invitation's own; for a registration, its invitation's, else the
    zone of its delegation's city."""
    if isinstance(person, Invitation):
        return person.timezone
    if person.invitation is not None and person.invitation.timezone:
        return person.invitation.timezone
    if person.delegation is not None:
        from network.models import Partner

        partner = db.session.get(Partner, person.delegation.partner_id)
        if partner is not None and partner.city is not None:
            return partner.city.timezone
    return None


def _is_invitee(person: Invitation | Registration) -> bool:
    """An invitation, or the registration of the invitee themself (by their invitation's address)."""
    if isinstance(person, Invitation):
        return True
    invitation = person.invitation
    return invitation is not None and invitation.removed_at is None and invitation.email == person.email


def _answer_link(person: Invitation | Registration) -> str | None:
    """The invitee's link (answer, register the delegation) for the invitee; for anyone else registered (a
    delegation's member) the link to their own registration only: the head's link is never sent to members."""
    from .services import invitation_token, registration_token

    if _is_invitee(person):
        invitation = person if isinstance(person, Invitation) else person.invitation
        if "meetings.answer" not in current_app.view_functions:
            return None
        return external_url("meetings.answer", token=invitation_token(invitation))
    if "meetings.registration_page" not in current_app.view_functions:
        return None
    return external_url("meetings.registration_page", token=registration_token(person))


def invitation(meeting: Meeting, person: Invitation | Registration, calendar: bytes, *,
               update: bool = False, reminder: bool = False, postponed: str | None = None) -> EmailMessage:
    """The REQUEST's email: a first invitation, an update after a change of time or place, a postponement
    (`postponed` is its reason), or a reminder to someone who has not answered (the same calendar entry each
    time)."""
    with force_locale(person.language):
        title = meeting.title(person.language)
        subject = (_("Postponed: %(title)s", title=title) if postponed
                   else _("Updated: %(title)s", title=title) if update
                   else _("Reminder: %(title)s", title=title) if reminder
                   else _("Invitation: %(title)s", title=title))
        context = {"meeting": meeting, "title": title, "person": person, "update": update, "reminder": reminder,
                   "postponed": postponed, "subject": subject,
                   "when": when(meeting, reader_zone(person)), "link": _answer_link(person),
                   "invitee": _is_invitee(person), "description": meeting.description(person.language)}
        return invitation_message(
            sender=current_app.config["MAIL_FROM"], to=person.email, subject=subject,
            text=render_template("email/meeting_invitation.txt", **context),
            html=render_template("email/meeting_invitation.html", **context), calendar=calendar, method="REQUEST")


def cancellation(meeting: Meeting, person: Invitation | Registration, calendar: bytes, *, reason: str,
                 uninvited: bool) -> EmailMessage:
    with force_locale(person.language):
        title = meeting.title(person.language)
        subject = (_("No longer invited: %(title)s", title=title) if uninvited
                   else _("Cancelled: %(title)s", title=title))
        context = {"meeting": meeting, "title": title, "person": person, "reason": reason, "uninvited": uninvited,
                   "subject": subject, "when": when(meeting, reader_zone(person))}
        return invitation_message(
            sender=current_app.config["MAIL_FROM"], to=person.email, subject=subject,
            text=render_template("email/meeting_cancellation.txt", **context),
            html=render_template("email/meeting_cancellation.html", **context), calendar=calendar, method="CANCEL")


def registration_notice(registration: Registration, what: str, calendar: bytes | None = None,
                        method: str | None = None, *, reason: str = "") -> EmailMessage:
    """what: registered, confirmed, offered, lapsed, cancelled, declined, meeting_cancelled (with the `reason`,
    to someone waiting or pending who holds no calendar entry). With `calendar` (a REQUEST when the
    place is confirmed, a CANCEL when it goes), the notice is an iMIP email that puts the meeting into the
    person's calendar, or takes it out."""
    from .models import RegistrationStatus

    meeting = registration.meeting
    with force_locale(registration.language):
        title = meeting.title(registration.language)
        subjects = {
            "registered": (_("Registered: %(title)s", title=title)
                           if registration.status != RegistrationStatus.WAITLISTED
                           else _("On the waiting list: %(title)s", title=title)),
            "confirmed": _("Your place is confirmed: %(title)s", title=title),
            "offered": _("A place is free for you: %(title)s", title=title),
            "lapsed": _("The place offered has lapsed: %(title)s", title=title),
            "cancelled": _("Registration cancelled: %(title)s", title=title),
            "declined": _("Registration declined: %(title)s", title=title),
            "meeting_cancelled": _("Cancelled: %(title)s", title=title),
        }
        offer_until = (format_datetime(registration.offer_expires_at, "full",
                                       tzinfo=ZoneInfo(meeting.timezone), locale=get_locale() or "en")
                       if registration.offer_expires_at else None)
        context = {"meeting": meeting, "title": title, "registration": registration, "what": what,
                   "subject": subjects[what], "when": when(meeting, reader_zone(registration)),
                   "offer_until": offer_until, "reason": reason,
                   "link": None if what == "meeting_cancelled" else _answer_link(registration),
                   "invitee": _is_invitee(registration)}
        parts = {"sender": current_app.config["MAIL_FROM"], "to": registration.email, "subject": subjects[what],
                 "text": render_template("email/meeting_registration.txt", **context),
                 "html": render_template("email/meeting_registration.html", **context)}
        if calendar is not None:
            return invitation_message(**parts, calendar=calendar, method=method)
        return build_message(**parts)

