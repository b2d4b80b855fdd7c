"""Answers to our invitations sent back by mail programs (iTIP METHOD:REPLY over iMIP), read from IMAP."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import Message
from email.utils import getaddresses
from enum import StrEnum
from zoneinfo import ZoneInfo

from icalendar import Calendar

from kizuna import imap

from .ics_import import clean_tzid, iana_by_name

log = logging.getLogger(__name__)

#: Where fetch_replies files the replies it has handled, as path segments: the server's own
#: hierarchy separator joins them ("Kizuna/Processed" on most servers, "Kizuna.Processed" on others).
PROCESSED_MAILBOX = ("Kizuna", "Processed")


class ReplyError(imap.Rejected):
    """A calendar reply that cannot be read or taken; the message says what is wrong, for staff."""


class PartStat(StrEnum):
    """The answers an attendee can give in a REPLY (RFC 5545 3.2.12, RFC 5546 3.2.3)."""

    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    TENTATIVE = "TENTATIVE"
    DELEGATED = "DELEGATED"


@dataclass(frozen=True)
class Reply:
    """One attendee's answer to one event (or one occurrence of a series), as a mail program sent it.

    ``attendee_email`` is the address without ``mailto:``, case-folded, as our invitation's ATTENDEE
    will be compared with it; ``sender`` is the From address of the email (case-folded), which may
    differ (a secretary answering for a mayor). Times are aware datetimes in UTC; ``recurrence_id`` is
    a date for an all-day occurrence and None for an answer to the whole event.
    """

    uid: str
    sequence: int
    recurrence_id: datetime | date | None
    attendee_email: str
    attendee_name: str | None
    partstat: PartStat
    comment: str | None
    dtstamp: datetime
    delegated_to: str | None = None
    sender: str | None = None


_CALENDAR_TYPES = {"text/calendar", "application/ics", "text/x-vcalendar", "application/x-ics"}
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)


def parse_replies(message: Message) -> tuple[Reply, ...]:
    """Every answer carried by a message's iTIP REPLY: one per VEVENT (Apple Calendar answers several
    occurrences of a series in one message). An empty tuple for mail that is not a reply: a newsletter,
    an out-of-office notice, a forwarded invitation, a REQUEST or a CANCEL.

    The calendar part may be inline (multipart/alternative, as Outlook and Gmail send it) or an
    attachment (``invite.ics``, ``reply.ics``, Apple's ``iCal-….ics``), in any charset and transfer
    encoding. Gmail sends the same calendar twice (inline and as invite.ics): the first readable REPLY
    wins. Parts inside an attached message (message/rfc822) are never read: they are someone else's.

    Raises ReplyError when no readable REPLY is found but a calendar part that says it is one (by its
    method=REPLY parameter or its METHOD:REPLY line) is broken: not iCalendar, not in its charset, no
    UID, no DTSTAMP, no attendee, or an answer that is not one of ACCEPTED, DECLINED, TENTATIVE,
    DELEGATED.
    """
    first_error: ReplyError | None = None
    for part in _calendar_parts(message):
        try:
            calendar = _read_calendar(part)
        except ReplyError as exc:
            # A broken part is an error only where it says it is a reply: a newsletter's broken
            # event attachment is still just a newsletter.
            if _claims_reply(part):
                first_error = first_error or exc
            continue
        if _method(calendar, part) != "REPLY":
            continue
        try:
            return _replies(calendar, sender=_sender(message))
        except ReplyError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return ()


def parse_reply(message: Message) -> Reply | None:
    """The one answer carried by a message's iTIP REPLY, or None for mail that is not a reply.

    Raises ReplyError for a broken calendar part (see parse_replies), and for a reply that answers
    several occurrences at once: read that with parse_replies.
    """
    replies = parse_replies(message)
    if len(replies) > 1:
        raise ReplyError(f"The reply answers {len(replies)} occurrences of {replies[0].uid}; "
                         "read it with parse_replies.")
    return replies[0] if replies else None


def _calendar_parts(part: Message) -> Iterator[Message]:
    """Calendar parts in order, inline ones first as they come, without descending into attached messages."""
    if part.get_content_maintype() == "message":
        return
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _calendar_parts(sub)
        return
    filename = (part.get_filename() or "").lower()
    if part.get_content_type() in _CALENDAR_TYPES or filename.endswith((".ics", ".ical", ".ifb")):
        yield part


def _read_calendar(part: Message) -> Calendar:
    raw = part.get_payload(decode=True)
    if not raw or not raw.strip():
        raise ReplyError("The calendar part is empty.")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = raw.decode(charset)
    except LookupError:
        raise ReplyError(f"The calendar part names an unknown charset {charset!r}.") from None
    except UnicodeDecodeError as exc:
        raise ReplyError(f"The calendar part is not valid {charset}: {exc.reason} at byte {exc.start}.") from None
    text = text.lstrip("\ufeff")
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as exc:
        # icalendar quotes the whole input after the first line; the first line says what is wrong.
        first_line = (str(exc).splitlines() or [""])[0][:200]
        raise ReplyError(f"The calendar part is not iCalendar: {first_line}") from None
    if calendar.name != "VCALENDAR":
        raise ReplyError(f"The calendar part holds a {calendar.name}, not a VCALENDAR.")
    return calendar


def _claims_reply(part: Message) -> bool:
    method = part.get_param("method")
    if method:
        return str(method).strip().upper() == "REPLY"
    raw = part.get_payload(decode=True) or b""
    return re.search(rb"^METHOD:REPLY\s*$", raw, re.IGNORECASE | re.MULTILINE) is not None


def _method(calendar: Calendar, part: Message) -> str:
    # RFC 6047 wants the MIME parameter and METHOD to agree; the property is the authority, the
    # parameter only fills in for the rare sender that leaves METHOD out.
    method = calendar.get("METHOD") or part.get_param("method") or ""
    return str(method).strip().upper()


def _replies(calendar: Calendar, *, sender: str | None) -> tuple[Reply, ...]:
    errors = [f"{name or 'a line'}: {error}" for component in [calendar, *calendar.walk("VEVENT")]
              for name, error in component.errors]
    if errors:
        raise ReplyError("The calendar reply is malformed: " + "; ".join(errors))
    events = calendar.walk("VEVENT")
    if not events:
        raise ReplyError("The calendar reply holds no event (VEVENT).")
    return tuple(_reply(event, sender=sender) for event in events)


def _reply(event, *, sender: str | None) -> Reply:
    uid = _single(event, "UID")
    if uid is None or not str(uid).strip():
        raise ReplyError("The calendar reply has no UID: it cannot be matched to an invitation.")
    uid = str(uid).strip()
    stamp = _single(event, "DTSTAMP", uid=uid)
    if stamp is None:
        raise ReplyError(f"The calendar reply for {uid} has no DTSTAMP: it cannot be ordered.")
    attendee = _attendee(event, uid=uid, sender=sender)
    address = _address(attendee, uid=uid)
    partstat = attendee.params.get("PARTSTAT", "").upper()
    try:
        answer = PartStat(partstat)
    except ValueError:
        raise ReplyError(f"The calendar reply for {uid} answers {partstat or 'nothing'!r}, "
                         f"not one of {', '.join(PartStat)}.") from None
    sequence = _single(event, "SEQUENCE", uid=uid)
    recurrence = _single(event, "RECURRENCE-ID", uid=uid)
    comments = event.get("COMMENT", [])
    comments = [str(c).strip() for c in (comments if isinstance(comments, list) else [comments])]
    name = attendee.params.get("CN", "").strip()
    delegated_to = attendee.params.get("DELEGATED-TO")
    return Reply(
        uid=uid,
        sequence=int(sequence) if sequence is not None else 0,
        recurrence_id=_utc(_named_zone(recurrence)) if recurrence is not None else None,
        attendee_email=address,
        attendee_name=name or None,
        partstat=answer,
        comment="\n".join(c for c in comments if c) or None,
        dtstamp=_utc(stamp.dt),
        delegated_to=_strip_mailto(str(delegated_to)) if delegated_to else None,
        sender=sender,
    )


def _single(event, name: str, *, uid: str | None = None):
    value = event.get(name)
    if isinstance(value, list):
        about = f" for {uid}" if uid else ""
        raise ReplyError(f"The calendar reply{about} has {len(value)} {name} properties where one is allowed.")
    return value


def _attendee(event, *, uid: str, sender: str | None):
    found = event.get("ATTENDEE", [])
    attendees = found if isinstance(found, list) else [found]
    if not attendees:
        raise ReplyError(f"The calendar reply for {uid} names no attendee: nobody answered.")
    if len(attendees) == 1:
        return attendees[0]
    # A delegation (RFC 5546 4.2.5) names the delegate too; the answer is the attendee who
    # was not delegated to, or failing that the one who sent the email.
    answering = [a for a in attendees if "DELEGATED-FROM" not in a.params]
    if len(answering) == 1:
        return answering[0]
    by_sender = [a for a in attendees if sender and _address(a, uid=uid) == sender]
    if len(by_sender) == 1:
        return by_sender[0]
    raise ReplyError(f"The calendar reply for {uid} names {len(attendees)} attendees and none of them "
                     "is clearly the one answering.")


def _address(attendee, *, uid: str) -> str:
    value = str(attendee).strip()
    if _MAILTO.match(value):
        address = _strip_mailto(value)
    else:
        # Apple Calendar may send a urn:uuid: with the address in the EMAIL parameter (RFC 7986).
        address = str(attendee.params.get("EMAIL", "")).strip().casefold()
    if "@" not in address:
        raise ReplyError(f"The calendar reply for {uid} names an attendee without an email address: {value!r}.")
    return address


def _strip_mailto(value: str) -> str:
    return _MAILTO.sub("", value.strip()).strip().casefold()


def _named_zone(prop) -> datetime | date:
    """A date-time property read in the IANA zone its TZID names (itself, or a Windows name such as "Tokyo
    Standard Time"), not in whatever definition of that TZID icalendar met first in this process: it keeps
    the first VTIMEZONE of each name it parses, and an earlier file may have defined the name otherwise."""
    value = prop.dt
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    if not isinstance(value, datetime) or not tzid:
        return value
    zone = iana_by_name(clean_tzid(str(tzid)))
    return value.replace(tzinfo=ZoneInfo(zone)) if zone else value


def _utc(value: datetime | date) -> datetime | date:
    if not isinstance(value, datetime):
        return value
    # DTSTAMP must be UTC (RFC 5545 3.8.7.2); a floating one is read as UTC rather than refused.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sender(message: Message) -> str | None:
    try:
        addresses = getaddresses([str(v) for v in message.get_all("From", [])])
    except (TypeError, ValueError):
        return None
    address = next((a for _, a in addresses if "@" in a), None)
    return address.strip().casefold() if address else None


# --- IMAP -------------------------------------------------------------------------------------------

# The reader itself is kizuna.imap's, shared with partners.bounces; these names stay importable from here.
Security = imap.Security
Failure = imap.Failure
FetchResult = imap.FetchResult


class ReplyRejected(ReplyError):
    """Raised by a ``handle`` callback for a reply it will never accept (an address that was not invited,
    an unknown UID): the message is flagged and left in place like a broken one, and the run goes on."""


def fetch_replies(host: str, port: int, user: str, password: str, *,
                  handle: Callable[[Reply, str | None], object],
                  move_to: tuple[str, ...] | None = PROCESSED_MAILBOX, **options) -> FetchResult:
    """Read the office mailbox over IMAP and hand every calendar reply newer than the watermark to ``handle``.

    kizuna.imap.read_new does the reading (``options`` are its own: mailbox, security, ssl_context,
    since_uid, uidvalidity, limit, timeout; see there for the watermark, UIDVALIDITY and crashes). Mail that
    is not a reply (newsletters, out-of-office notices) stays unread and in place for people to read.

    For each reply, ``handle(reply, message_id)`` is called once per answer in it; then the message is
    marked \\Seen and moved to ``move_to`` (created if missing; None leaves it in place, seen). A
    message whose calendar part is broken (ReplyError), or that ``handle`` refuses with ReplyError, is
    logged, flagged \\Flagged, left where it is and listed in ``failures``; the others go on. Any other
    exception from ``handle`` (the database is away) stops the run and propagates: that message and
    the following ones stay in the mailbox and the next run, from the old watermark, tries them again.
    Delivery to ``handle`` is therefore at least once; ``handle`` must be idempotent (an answer keyed
    by UID, attendee and DTSTAMP is). Handled replies leave the mailbox, so reading it again after a
    UIDVALIDITY change finds only what was never handled.

    Raises imaplib.IMAP4.error on a refused login or a mailbox that does not exist, and OSError
    when the server cannot be reached.
    """
    def take(message: Message, message_id: str | None) -> bool:
        replies = _parse_fetched(message)
        for reply in replies:
            handle(reply, message_id)
        return bool(replies)

    return imap.read_new(host, port, user, password, handle=take, move_to=move_to, **options)


def _parse_fetched(message: Message) -> tuple[Reply, ...]:
    try:
        return parse_replies(message)
    except ReplyError:
        raise
    except Exception as exc:  # one unreadable message must not stop the others
        raise ReplyError(f"The message cannot be read: {exc!r}") from exc
