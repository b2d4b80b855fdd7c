"""The iMIP email (RFC 6047) that carries a meeting's REQUEST or CANCEL so mail programs show it as an invitation."""

from __future__ import annotations

from email.message import EmailMessage

from icalendar import Calendar

from kizuna.mail import Alternative, Attachment, build_message

from .ical import CalendarError

METHODS = ("REQUEST", "CANCEL")
FILENAME = "invite.ics"


def calendar_method(calendar: bytes) -> str:
    """The METHOD of an iCalendar object; CalendarError when it is not one or has none."""
    try:
        cal = Calendar.from_ical(calendar)
    except ValueError as exc:
        raise CalendarError(f"the calendar part is not iCalendar: {exc}") from None
    method = cal.get("METHOD")
    if method is None:
        raise CalendarError("the calendar has no METHOD: an invitation needs METHOD:REQUEST or METHOD:CANCEL")
    return str(method).upper()


def invitation_message(*, sender: str, to: str, subject: str, text: str, html: str, calendar: bytes,
                       method: str, headers: dict[str, str] | None = None,
                       message_id: str | None = None) -> EmailMessage:
    """An invitation (or its cancellation) ready for `kizuna.outbox.queue`, as Gmail, Outlook and Apple Mail expect it.

    multipart/mixed
      multipart/alternative: text/plain, text/html, text/calendar; method=METHOD; charset=utf-8
      application/ics; name="invite.ics" (attachment, the same bytes)

    The inline text/calendar part is what Outlook and Gmail turn into Accept/Decline buttons; the
    attachment serves clients that only look at attachments (Apple Mail, some webmail) and lets a
    person save the file. Texts are taken already translated. Raises CalendarError when `method`
    is not REQUEST or CANCEL or differs from the calendar's own METHOD (RFC 6047 §2.4 requires them
    to match).
    """
    wanted = method.upper() if isinstance(method, str) else method
    if wanted not in METHODS:
        raise CalendarError(f"an invitation's method is REQUEST or CANCEL, not {method!r}")
    found = calendar_method(calendar)
    if found != wanted:
        raise CalendarError(f"the message says method={wanted} but the calendar says METHOD:{found}")
    try:
        ics = calendar.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CalendarError(f"the calendar is not UTF-8: {exc}") from None
    return build_message(
        sender=sender, to=to, subject=subject, text=text, html=html,
        alternatives=(Alternative(ics, "calendar", {"method": wanted}),),
        attachments=(Attachment(FILENAME, calendar, "application", "ics", {"name": FILENAME}),),
        headers=headers, message_id=message_id,
    )
