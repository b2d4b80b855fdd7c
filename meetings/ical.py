"""Meetings as iCalendar bytes: iTIP REQUEST and CANCEL for one attendee (RFC 5546), PUBLISH feeds."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import (
    Calendar,
    Conference,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDuration,
    vRecur,
)

from kizuna.mail import normalize_address

__all__ = ["Attendee", "CalendarError", "Occurrence", "Organizer", "PartStat", "Role", "Status", "cancel",
           "make_uid", "publish", "request"]

PRODID = "-//Kizuna//Meetings//EN"

# How often a subscribed feed asks again (REFRESH-INTERVAL, Outlook's X-PUBLISHED-TTL).
DEFAULT_REFRESH = timedelta(hours=6)


class CalendarError(ValueError):
    """The data cannot make a valid calendar; the message says which field and why."""


class Status(StrEnum):
    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


class Role(StrEnum):
    REQUIRED = "REQ-PARTICIPANT"
    OPTIONAL = "OPT-PARTICIPANT"
    CHAIR = "CHAIR"


class PartStat(StrEnum):
    NEEDS_ACTION = "NEEDS-ACTION"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    TENTATIVE = "TENTATIVE"


def make_uid(kind: str, key: str, host: str) -> str:
    """The one place Kizuna's calendar UIDs are made, as `kind`-`key`@`host` (services: "meeting" and "series"
    with a random key, "copy" for our own copy of a meeting received from outside). A UID is stable for the
    whole life of what it names, across reschedules and the cancellation, so every mail program updates the
    same entry."""
    if not kind or not kind.isalpha():
        raise CalendarError(f"a UID's kind is a word, not {kind!r}")
    if not key or any(c.isspace() or c in "@/" for c in key):
        raise CalendarError(f"a UID's key must be a bare token, not {key!r}")
    if not host or any(c.isspace() or c in "@/" for c in host):
        raise CalendarError(f"the UID's host must be a bare host name, not {host!r}")
    return f"{kind}-{key}@{host}"


def _text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CalendarError(f"{field} must not be empty")
    return value


def _one_line(value: str, field: str) -> str:
    _text(value, field)
    if any(c in value for c in "\r\n"):
        raise CalendarError(f"{field} must be a single line: {value!r}")
    return value


def _email(value: str, field: str) -> str:
    try:
        return _normalized(value)
    except ValueError as exc:
        raise CalendarError(f"{field} is not an email address ({value!r}): {exc}") from None


@lru_cache(maxsize=4096)
def _normalized(address: str) -> str:
    """normalize_address, kept: a feed of a thousand meetings names the same organizer a thousand times."""
    return normalize_address(address)


def _web_url(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise CalendarError(f"{field} must be an http(s) address, not {value!r}")
    return value


def _aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise CalendarError(f"{field} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(f"{field} must carry a time zone (an aware datetime): {value.isoformat()}")
    return value


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name != name.strip():
        raise CalendarError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone {name!r}: use an IANA name such as 'Asia/Tokyo'") from None


@dataclass(frozen=True)
class Organizer:
    """Who sends the invitations and receives the replies (the office's mailbox)."""

    name: str
    email: str

    def __post_init__(self) -> None:
        _one_line(self.name, "the organizer's name")
        object.__setattr__(self, "email", _email(self.email, "the organizer's email"))


@dataclass(frozen=True)
class Attendee:
    """One invited person: the single ATTENDEE of their own copy of the invitation."""

    name: str
    email: str
    role: Role = Role.REQUIRED
    partstat: PartStat = PartStat.NEEDS_ACTION
    rsvp: bool = True
    language: str | None = None  # BCP 47 tag of the person's language, e.g. "ja"

    def __post_init__(self) -> None:
        _one_line(self.name, "the attendee's name")
        object.__setattr__(self, "email", _email(self.email, "the attendee's email"))
        try:
            object.__setattr__(self, "role", Role(self.role))
            object.__setattr__(self, "partstat", PartStat(self.partstat))
        except ValueError as exc:
            raise CalendarError(f"attendee {self.email}: {exc}") from None
        if self.language is not None and not _is_language_tag(self.language):
            raise CalendarError(f"attendee {self.email}: {self.language!r} is not a language tag")


def _is_language_tag(tag: str) -> bool:
    parts = tag.split("-")
    return bool(tag) and all(p.isascii() and p.isalnum() and 1 <= len(p) <= 8 for p in parts)


@dataclass(frozen=True)
class Occurrence:
    """One meeting as a calendar sees it.

    `start` and `end` are aware datetimes (any offset; UTC as stored is fine); the calendar writes
    them as wall-clock times in `zone`, the meeting's IANA zone, with that zone's VTIMEZONE. An
    all-day meeting covers every local day from `start` to `end` (an `end` at midnight is exclusive).
    `sequence` is the iTIP revision, raised by the services with every change a calendar must follow: a move
    of time or place, a postponement and the new schedule after it, a cancellation, a person taken off.
    `last_modified` is when the meeting last changed; it is also the DTSTAMP unless a builder is
    given another one.
    """

    uid: str
    sequence: int
    title: str
    start: datetime
    end: datetime
    zone: str
    organizer: Organizer
    last_modified: datetime
    description: str = ""
    all_day: bool = False
    location: str | None = None
    online_url: str | None = None
    status: Status = Status.CONFIRMED
    url: str | None = None
    language: str | None = None  # BCP 47 tag of the language the title and description are written in

    def __post_init__(self) -> None:
        _one_line(self.uid, "the UID")
        if not isinstance(self.sequence, int) or isinstance(self.sequence, bool) or self.sequence < 0:
            raise CalendarError(f"SEQUENCE is a whole number from 0 up, not {self.sequence!r}")
        _text(self.title, "the title")
        _zone(self.zone)
        _aware(self.start, "the start")
        _aware(self.end, "the end")
        _aware(self.last_modified, "the last-modified time")
        if self.end <= self.start:
            raise CalendarError(f"the meeting ends ({self.end.isoformat()}) before it starts "
                                f"({self.start.isoformat()})")
        if not isinstance(self.organizer, Organizer):
            raise CalendarError("the organizer must be an Organizer")
        if self.location is not None:
            _text(self.location, "the location")
        _web_url(self.online_url, "the online link")
        _web_url(self.url, "the meeting page's address")
        try:
            object.__setattr__(self, "status", Status(self.status))
        except ValueError as exc:
            raise CalendarError(str(exc)) from None
        if self.language is not None and not _is_language_tag(self.language):
            raise CalendarError(f"{self.language!r} is not a language tag")

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.zone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.zone))


def _all_day_span(occ: Occurrence) -> tuple[date, date]:
    first = occ.local_start.date()
    end = occ.local_end
    after_last = end.date() if end.time() == time(0) else end.date() + timedelta(days=1)
    return first, max(after_last, first + timedelta(days=1))


def _description(occ: Occurrence) -> str:
    # Mail programs that ignore CONFERENCE (Outlook, Apple Calendar) still show the link here.
    parts = [occ.description.strip()] if occ.description.strip() else []
    for link in (occ.online_url, occ.url):
        if link and link not in occ.description:
            parts.append(link)
    return "\n\n".join(parts)


class _Event(Event):
    """A VEVENT written as icalendar writes it, faster: icalendar folds every content line character by
    character, and most of an event's lines are short ASCII that folding leaves as they are (a feed of a
    thousand meetings spent a third of its time there)."""

    name = "VEVENT"

    def to_ical(self, sorted: bool = True) -> bytes:
        return b"".join(_folded(line) + b"\r\n" for line in self.content_lines(sorted=sorted) if line)


def _folded(line) -> bytes:
    """icalendar's folding (RFC 5545 §3.1) of a content line, skipped where it would change nothing."""
    return line.encode() if len(line) < 75 and line.isascii() else line.to_ical()


def _event(occ: Occurrence, *, stamp: datetime, attendee: Attendee | None = None,
           status: Status | None = None) -> Event:
    event = _Event()
    event.add("uid", occ.uid)
    event.add("sequence", occ.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("last-modified", occ.last_modified.astimezone(UTC))
    if occ.all_day:
        first, after_last = _all_day_span(occ)
        event.add("dtstart", first)
        event.add("dtend", after_last)
    else:
        event.add("dtstart", occ.local_start)
        event.add("dtend", occ.local_end)
    lang = {"language": occ.language} if occ.language else {}
    event.add("summary", occ.title, parameters=lang)
    if description := _description(occ):
        event.add("description", description, parameters=lang)
    # LOCATION falls back to the link: it is the one field every calendar shows in its list view.
    if occ.location or occ.online_url:
        event.add("location", occ.location or occ.online_url)
    if occ.online_url:
        event.conferences = [Conference(occ.online_url, feature="VIDEO")]  # RFC 7986
    if occ.url:
        event.add("url", occ.url)
    event.add("organizer", vCalAddress.new(occ.organizer.email, cn=occ.organizer.name))
    if attendee is not None:
        event.add("attendee", vCalAddress.new(
            attendee.email, cn=attendee.name, cutype="INDIVIDUAL", role=str(attendee.role),
            partstat=str(attendee.partstat), rsvp=attendee.rsvp, language=attendee.language))
    if status is not None:
        event.add("status", str(status))
    event.add("transp", "TRANSPARENT" if occ.all_day else "OPAQUE")
    return event


@dataclass(frozen=True)
class _Transition:
    at: datetime  # the UTC instant the offset changes
    before: timedelta
    after: timedelta
    name: str  # the abbreviation in force after it (CEST)

    @property
    def onset(self) -> datetime:
        """The wall-clock time just before the change, as RFC 5545 wants an observance's DTSTART."""
        return (self.at + self.before).replace(tzinfo=None)

    @property
    def rule(self) -> tuple:
        """(month, n-th weekday of the month or -1 for the last, weekday, time, offsets): what repeats yearly."""
        onset = self.onset
        days_in_month = calendar.monthrange(onset.year, onset.month)[1]
        nth = -1 if onset.day + 7 > days_in_month else (onset.day - 1) // 7 + 1
        return onset.month, nth, onset.weekday(), onset.time(), self.before, self.after


def _transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[_Transition]:
    found = []
    t, end = datetime(first_year, 1, 1, tzinfo=UTC), datetime(last_year + 1, 1, 1, tzinfo=UTC)
    offset = t.astimezone(zone).utcoffset()
    while t < end:
        nxt = t + timedelta(days=1)
        if (new := nxt.astimezone(zone).utcoffset()) != offset:
            lo, hi = int(t.timestamp()), int(nxt.timestamp())  # it changes in (lo, hi]: halve to the second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if datetime.fromtimestamp(mid, zone).utcoffset() == offset else (lo, mid)
            at = datetime.fromtimestamp(hi, UTC)
            found.append(_Transition(at, offset, new, at.astimezone(zone).tzname() or zone.key))
            offset = new
        t = nxt
    return found


def _observance(kind: type, onset: datetime, before: timedelta, after: timedelta, name: str,
                rule: tuple | None = None) -> TimezoneStandard | TimezoneDaylight:
    observance = kind()
    observance.add("dtstart", onset)
    if rule is not None:
        month, nth, weekday, *_ = rule
        observance.add("rrule", vRecur(freq="YEARLY", bymonth=month, byday=f"{nth}{_WEEKDAYS[weekday]}"))
    observance.add("tzname", name)
    observance.add("tzoffsetfrom", before)
    observance.add("tzoffsetto", after)
    return observance


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _yearly_vtimezone(name: str, first_year: int, last_year: int) -> Timezone | None:
    """The zone as Outlook and Google write it: one STANDARD and one DAYLIGHT with yearly RRULEs.

    None when the zone's rule changes within those years (or it has more than two changes a year):
    a yearly rule cannot describe it.
    """
    zone = ZoneInfo(name)
    # From the year before, so the first event's year is fully covered by the rule's onsets.
    changes = _transitions(zone, first_year - 1, last_year)
    tz = Timezone()
    tz.add("tzid", name)
    if not changes:
        jan = datetime(first_year - 1, 1, 1, tzinfo=UTC).astimezone(zone)
        tz.add_component(_observance(TimezoneStandard, datetime(first_year - 1, 1, 1), jan.utcoffset(),
                                     jan.utcoffset(), jan.tzname() or name))
        return tz
    years = range(first_year - 1, last_year + 1)
    forward = [c for c in changes if c.after > c.before]
    back = [c for c in changes if c.after < c.before]
    for kind, group in ((TimezoneDaylight, forward), (TimezoneStandard, back)):
        if [c.at.year for c in group] != list(years) or len({c.rule for c in group}) != 1:
            return None
        tz.add_component(_observance(kind, group[0].onset, group[0].before, group[0].after, group[0].name,
                                     group[0].rule))
    return tz


def _listed_vtimezone(name: str, first_year: int, last_year: int) -> Timezone:
    """The zone with every change of those years listed, for zones no yearly rule describes.

    Built from the same transitions as the yearly form rather than icalendar's Timezone.from_tzid,
    which dropped Casablanca's Ramadan changes and writes each observance's onsets as one
    multi-valued RDATE after its DTSTART: ical.js 2 (Thunderbird) reads only the first value of such
    a line and, like older libical, ignores DTSTART once there is an RDATE. So every onset, DTSTART's
    included, goes on its own RDATE line, as tzurl.org's zones do.
    """
    zone = ZoneInfo(name)
    tz = Timezone()
    tz.add("tzid", name)
    first = datetime(first_year - 1, 1, 1, tzinfo=UTC).astimezone(zone)
    tz.add_component(_observance(TimezoneStandard, first.replace(tzinfo=None), first.utcoffset(),
                                 first.utcoffset(), first.tzname() or name))
    groups: dict[tuple[timedelta, timedelta, str], list[datetime]] = {}
    for change in _transitions(zone, first_year - 1, last_year):
        groups.setdefault((change.before, change.after, change.name), []).append(change.onset)
    for (before, after, abbreviation), onsets in groups.items():
        observance = _observance(TimezoneDaylight if after > before else TimezoneStandard, onsets[0], before,
                                 after, abbreviation)
        for onset in onsets:
            observance.add("rdate", onset)
        tz.add_component(observance)
    return tz


@lru_cache(maxsize=256)
def _vtimezone(name: str, first_year: int, last_year: int) -> Timezone:
    """The zone's VTIMEZONE from the system's tz database, right for every event in those years.

    Outlook reads a VTIMEZONE's first STANDARD and DAYLIGHT and their RRULEs, and puts events an hour
    off when the changes are listed as RDATEs; so zones whose rule held steady over those years get
    the RRULE form Outlook and Google write themselves. Cached: a series feed repeats its zones.
    """
    return _yearly_vtimezone(name, first_year, last_year) or _listed_vtimezone(name, first_year, last_year)


def _calendar(method: str, events: Sequence[tuple[Occurrence, Event]]) -> Calendar:
    cal = _head(method)
    for _occ, event in events:
        cal.add_component(event)
    # Only the TZIDs icalendar wrote (UTC-like zones come out as "Z"), and VTIMEZONEs first: RFC 5545
    # lets them come anywhere, but some readers resolve TZIDs in one pass.
    cal.subcomponents[:0] = _zones([occ for occ, _event in events], cal.get_used_tzids())
    return cal


def _head(method: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    return cal


def _zones(occurrences: Iterable[Occurrence], used: set[str]) -> list[Timezone]:
    """A VTIMEZONE per zone of `occurrences` that the events' TZIDs name, covering the years of its events."""
    years: dict[str, list[int]] = {}
    for occ in occurrences:
        if not occ.all_day:
            years.setdefault(occ.zone, []).extend((occ.local_start.year, occ.local_end.year))
    return [_vtimezone(zone, min(years[zone]), max(years[zone])) for zone in sorted(years) if zone in used]


def request(meeting: Occurrence, attendee: Attendee, *, stamp: datetime | None = None) -> bytes:
    """An iTIP REQUEST inviting `attendee` to `meeting` (a first invitation or an update).

    The UID and SEQUENCE are the meeting's: send a higher SEQUENCE after a change of time or place
    and mail programs replace the entry they hold. DTSTAMP is `stamp` (when this message is
    created), defaulting to the meeting's last change. Raises CalendarError for a cancelled meeting:
    that is `cancel`'s job.
    """
    if meeting.status == Status.CANCELLED:
        raise CalendarError(f"meeting {meeting.uid} is cancelled: send cancel(), not a REQUEST")
    _check_attendee(attendee, meeting)
    event = _event(meeting, stamp=_aware(stamp or meeting.last_modified, "DTSTAMP"), attendee=attendee,
                   status=meeting.status)
    return _calendar("REQUEST", [(meeting, event)]).to_ical()


def cancel(meeting: Occurrence, attendee: Attendee, *, uninvited: bool = False,
           stamp: datetime | None = None) -> bytes:
    """An iTIP CANCEL of `meeting` for `attendee`, with the meeting's UID.

    The caller raises the meeting's SEQUENCE before cancelling (a CANCEL with the SEQUENCE of the
    last REQUEST is ignored by some clients). With `uninvited`, only this person is taken off a
    meeting that still takes place: per RFC 5546 §3.2.5 the event then carries no STATUS; otherwise
    STATUS:CANCELLED tells every client the whole meeting is off.
    """
    _check_attendee(attendee, meeting)
    status = None if uninvited else Status.CANCELLED
    event = _event(meeting, stamp=_aware(stamp or meeting.last_modified, "DTSTAMP"), attendee=attendee,
                   status=status)
    return _calendar("CANCEL", [(meeting, event)]).to_ical()


def _check_attendee(attendee: Attendee, meeting: Occurrence) -> None:
    if not isinstance(attendee, Attendee):
        raise CalendarError("the attendee must be an Attendee")
    if attendee.email == meeting.organizer.email:
        raise CalendarError(f"{attendee.email} organizes {meeting.uid}: the organizer is not sent an invitation")


def publish(events: Iterable[Occurrence], name: str, description: str | None = None, *,
            refresh: timedelta = DEFAULT_REFRESH, source: str | None = None) -> bytes:
    """A METHOD:PUBLISH calendar of `events` named `name`: a meeting's file, a series feed, a person's feed.

    Each event keeps its own zone (one VTIMEZONE per zone used, covering the years of its events).
    No ATTENDEE is written (RFC 5546 §3.2.1): a feed tells where and when, not who.
    `refresh` is how often subscribers should fetch it again; `source` is the feed's own address.
    Raises CalendarError when two events share a UID.
    """
    _one_line(name, "the calendar name")
    if not isinstance(refresh, timedelta) or refresh <= timedelta(0):
        raise CalendarError(f"the refresh interval must be a positive timedelta, not {refresh!r}")
    items = list(events)
    seen: set[str] = set()
    for occ in items:
        if not isinstance(occ, Occurrence):
            raise CalendarError(f"a feed holds Occurrences, not {type(occ).__name__}")
        if occ.uid in seen:
            raise CalendarError(f"two events share the UID {occ.uid}")
        seen.add(occ.uid)
    # Each event's DTSTAMP is its last change, so an unchanged feed is byte-for-byte the same — and each
    # event's text can be kept: a feed of a thousand meetings re-serialises only those that changed.
    texts = [_published_event(occ) for occ in items]
    cal = _head("PUBLISH")
    zones = {occ.zone for occ in items if not occ.all_day}
    used = {zone for zone in zones if any(f";TZID={zone}:".encode() in text for text in texts)}
    cal.subcomponents = _zones(items, used)
    cal.add("name", name)  # RFC 7986
    cal.add("x-wr-calname", name)  # Outlook, Apple Calendar, Google
    if description:
        cal.add("description", description)
        cal.add("x-wr-caldesc", description)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    if _web_url(source, "the feed's address"):
        cal.add("source", source, parameters={"VALUE": "URI"})
    head, end = cal.to_ical().rsplit(b"END:VCALENDAR", 1)
    return head + b"".join(texts) + b"END:VCALENDAR" + end


@lru_cache(maxsize=20_000)
def _published_event(occ: Occurrence) -> bytes:
    """One VEVENT of a PUBLISH calendar as icalendar writes it, kept per (immutable) occurrence."""
    return _event(occ, stamp=occ.last_modified, status=occ.status).to_ical()
