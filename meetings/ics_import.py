"""Read an invitation (.ics) written by Outlook/Exchange, Google Calendar or Apple Calendar into plain dataclasses."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from icalendar import Calendar, Component
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

MAX_BYTES = 1024 * 1024
METHODS = ("REQUEST", "CANCEL", "PUBLISH")
# Properties the import cannot do without: an unreadable one is an error, other unreadable ones are ignored the way
# mail programs ignore them.
ESSENTIAL = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "EXDATE", "SEQUENCE")
# Where each program puts the join link, best first.
LINK_PROPERTIES = ("X-GOOGLE-CONFERENCE", "X-MICROSOFT-SKYPETEAMSMEETINGURL", "X-MICROSOFT-ONLINEMEETINGURL",
                   "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK")
URL_PATTERN = re.compile(r"https?://[^\s<>\"'\\]+", re.IGNORECASE)
MEETING_HOSTS = re.compile(
    r"https?://(?:[\w-]+\.)*(?:teams\.microsoft\.com/l/meetup-join|teams\.live\.com/meet|zoom\.us/[jwm]/|"
    r"zoom\.us/my/|meet\.google\.com/|webex\.com/(?:meet|join|[\w.-]+/j\.php)|meet\.jit\.si/|whereby\.com/|"
    r"meet\.goto\.com/|gotomeeting\.com/join|chime\.aws/|bluejeans\.com/)", re.IGNORECASE)


class IcsError(ValueError):
    """An .ics file that cannot be imported; the message names the line or property at fault. Messages (and the
    notes of ImportedInvitation) are translated when made inside a request; outside one they are English."""


@dataclass(frozen=True)
class Person:
    name: str | None
    email: str | None


@dataclass(frozen=True)
class Attendee:
    name: str | None
    email: str | None
    partstat: str = "NEEDS-ACTION"
    role: str = "REQ-PARTICIPANT"
    cutype: str = "INDIVIDUAL"
    rsvp: bool = False


@dataclass(frozen=True)
class ImportedEvent:
    """One VEVENT. Timed events have aware `start`/`end` in `zone` (an IANA name); all-day events have dates
    (`end` exclusive, as in iCalendar) and `zone` None. `floating` marks times written without a zone, read in the
    caller's `floating_zone`. `recurrence_id` is set on an overridden occurrence of a series."""

    uid: str
    sequence: int
    summary: str | None
    description: str | None
    start: datetime | date
    end: datetime | date
    zone: str | None
    all_day: bool
    floating: bool
    location: str | None
    online_link: str | None
    organizer: Person | None
    attendees: tuple[Attendee, ...]
    status: str | None
    rrule: str | None
    recurrence_id: datetime | date | None = None
    exdates: tuple[datetime | date, ...] = ()


@dataclass(frozen=True)
class ImportedInvitation:
    """What the file asks for. `event` is the single event or the series master; `exceptions` are the series'
    overridden occurrences (VEVENTs with the same UID and a RECURRENCE-ID). A file holding only one occurrence
    (Outlook cancelling one meeting of a series) gives that occurrence as `event`. `notes` says what was guessed."""

    method: str
    uid: str
    prodid: str | None
    event: ImportedEvent
    exceptions: tuple[ImportedEvent, ...] = ()
    notes: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def _iana() -> frozenset[str]:
    return frozenset(available_timezones())


class _Source:
    """The file's unfolded content lines with the physical line each starts on, to name lines in errors."""

    def __init__(self, text: str) -> None:
        self.lines: list[tuple[int, str]] = []
        for number, line in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
            if line[:1] in (" ", "\t") and self.lines:
                start, content = self.lines[-1]
                self.lines[-1] = (start, content + line[1:])
            elif line.strip():
                self.lines.append((number, line))

    def event_lines(self, index: int) -> list[tuple[int, str]]:
        """The lines of the index-th top-level VEVENT (its VALARMs left out)."""
        seen, depth, inside, found = -1, 0, False, []
        for number, line in self.lines:
            upper = line.upper()
            if upper.startswith("BEGIN:"):
                depth += 1
                if upper == "BEGIN:VEVENT" and depth == 2:
                    seen += 1
                    inside = seen == index
                    if inside:
                        found.append((number, line))
                    continue
            if upper.startswith("END:"):
                if upper == "END:VEVENT" and depth == 2 and inside:
                    found.append((number, line))
                    return found
                depth -= 1
                continue
            if inside and depth == 2:
                found.append((number, line))
        return found

    def line_of(self, index: int, name: str) -> int | None:
        for number, line in self.event_lines(index):
            if re.split(r"[;:]", line, maxsplit=1)[0].upper() == name:
                return number
        return None

    def where(self, index: int, name: str) -> str:
        number = self.line_of(index, name)
        return _("%(property)s (line %(line)d)", property=name, line=number) if number else name


def parse_invitation(data: bytes | str, *, floating_zone: str = "UTC") -> ImportedInvitation:
    """Read one invitation: one event, or one series with its overridden occurrences, all under one UID.

    Windows zone names are mapped with icalendar's CLDR table; other names through the file's VTIMEZONE, matched to
    the IANA zone with the same offsets through the event's year. Pure; raises IcsError on anything it cannot read
    safely (not iCalendar, over 1 MB, no VEVENT, no UID, several UIDs, DTEND before DTSTART, an unknown zone with no
    VTIMEZONE, a METHOD other than REQUEST, CANCEL or PUBLISH).
    """
    if floating_zone not in _iana():
        raise ValueError(f"floating_zone must be an IANA zone, not {floating_zone!r}")
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise IcsError(_("The file is %(size)s bytes; an invitation may be at most %(most)s bytes (1 MB).",
                         size=f"{len(raw):,}", most=f"{MAX_BYTES:,}"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise IcsError(_("Line %(line)d is not UTF-8 text, as iCalendar requires (RFC 5545 3.1.4).",
                         line=line)) from None
    source = _Source(text)
    if not source.lines:
        raise IcsError(_("The file is empty."))
    number, first = source.lines[0]
    if first.strip().upper() != "BEGIN:VCALENDAR":
        raise IcsError(_("Line %(line)d is '%(text)s', not BEGIN:VCALENDAR: this is not an iCalendar file.",
                         line=number, text=first[:40]))
    try:
        with warnings.catch_warnings():
            # icalendar warns about guessed zone ids; every guess this module accepts is checked below instead.
            warnings.simplefilter("ignore")
            calendars = Calendar.from_ical(text, multiple=True)
    except ValueError as exc:
        raise IcsError(_parse_error(str(exc), source)) from None
    if not calendars:
        raise IcsError(_("The calendar is not complete: END:VCALENDAR, or the END of a component inside it, is "
                         "missing."))
    if len(calendars) != 1:
        raise IcsError(_("The file holds %(n)d calendars; an invitation holds one VCALENDAR.", n=len(calendars)))
    return _Reader(calendars[0], source, floating_zone).read()


def _parse_error(message: str, source: _Source) -> str:
    match = re.search(r"'(.*?)'", message)
    if match:
        for number, line in source.lines:
            if match.group(1) and match.group(1) in line:
                return _("Line %(line)d cannot be read as iCalendar ('%(text)s').", line=number, text=line[:60])
    if "END:" in message or "no components" in message.lower():
        return _("The calendar is not complete: END:VCALENDAR, or the END of a component inside it, is missing.")
    return _("The file cannot be read as iCalendar: %(reason)s", reason=message[:200])


class _Reader:
    def __init__(self, calendar: Calendar, source: _Source, floating_zone: str) -> None:
        self.calendar, self.source, self.floating_zone = calendar, source, floating_zone
        self.timezones = {clean_tzid(str(c["TZID"])): c for c in calendar.subcomponents
                          if c.name == "VTIMEZONE" and "TZID" in c}
        self.zones: dict[str, tuple[tzinfo, str | None]] = {}
        self.notes: list[str] = []

    def read(self) -> ImportedInvitation:
        calendar = self.calendar
        for component in calendar.walk():
            for name, message in component.errors:
                if name is None:
                    raise IcsError(_parse_error(str(message), self.source))
        method = str(calendar.get("METHOD", "PUBLISH")).strip().upper()
        if method == "REPLY":
            raise IcsError(_("METHOD:REPLY is an answer to an invitation, not an invitation; it cannot be imported."))
        if method not in METHODS:
            raise IcsError(_("METHOD:%(method)s is not supported: an invitation is METHOD:REQUEST, CANCEL or PUBLISH.",
                             method=method))
        events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
        if not events:
            found = sorted({c.name for c in calendar.subcomponents if c.name != "VTIMEZONE"})
            if found:
                raise IcsError(_("The file holds no VEVENT (it holds %(found)s): there is no event to import.",
                                 found=", ".join(found)))
            raise IcsError(_("The file holds no VEVENT: there is no event to import."))
        for index, event in enumerate(events):
            if not str(event.get("UID", "")).strip():
                raise IcsError(_("The VEVENT at line %(line)s has no UID; an invitation needs one to be updated or "
                                 "cancelled later.", line=self._event_line(index)))
        uids = list(dict.fromkeys(str(e["UID"]).strip() for e in events))
        if len(uids) > 1:
            raise IcsError(_("The file holds %(n)d different events (UIDs %(uids)s); import one invitation at a "
                             "time.", n=len(uids), uids=", ".join(uids[:5])))
        read = [self._event(event, index, method) for index, event in enumerate(events)]
        masters = [e for e in read if e.recurrence_id is None]
        occurrences = tuple(sorted((e for e in read if e.recurrence_id is not None), key=_sort_key))
        if len(masters) > 1:
            lines = ", ".join(str(self._event_line(i)) for i, e in enumerate(read) if e.recurrence_id is None)
            raise IcsError(_("UID %(uid)s appears in %(n)d VEVENTs without RECURRENCE-ID (lines %(lines)s); only "
                             "one can be the event.", uid=uids[0], n=len(masters), lines=lines))
        if masters:
            event, exceptions = masters[0], occurrences
        elif len(occurrences) == 1:
            event, exceptions = occurrences[0], ()
        else:
            raise IcsError(_("The file holds %(n)d occurrences of a series (RECURRENCE-ID) without the series "
                             "itself; import the whole series instead.", n=len(occurrences)))
        prodid = str(calendar["PRODID"]).strip() if "PRODID" in calendar else None
        return ImportedInvitation(method=method, uid=uids[0], prodid=prodid, event=event, exceptions=exceptions,
                                  notes=tuple(dict.fromkeys(self.notes)))

    def _event_line(self, index: int) -> int | str:
        lines = self.source.event_lines(index)
        return lines[0][0] if lines else "?"

    def _event(self, event: Component, index: int, method: str) -> ImportedEvent:
        for name, message in event.errors:
            if name is None:  # a content line icalendar could not split into name, parameters and value
                raise IcsError(_parse_error(str(message), self.source))
            if name.upper() in ESSENTIAL:
                raise IcsError(_("%(property)s cannot be read: %(reason)s",
                                 property=self.source.where(index, name.upper()), reason=message))
        if "DTSTART" not in event:
            raise IcsError(_("The VEVENT at line %(line)s has no DTSTART.", line=self._event_line(index)))
        start = self._moment(event["DTSTART"], index, "DTSTART")
        if "DTEND" in event:
            end = self._moment(event["DTEND"], index, "DTEND")
        elif "DURATION" in event:
            duration = event["DURATION"].dt
            if not isinstance(duration, timedelta) or duration < timedelta(0):
                raise IcsError(_("%(property)s must be a positive duration.",
                                 property=self.source.where(index, "DURATION")))
            end = _add(start, duration)
        else:
            # RFC 5545 3.6.1: a date lasts one day, a date-time is an instant.
            end = start + timedelta(days=1) if not isinstance(start, datetime) else start
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise IcsError(_("%(start)s and %(end)s must both be dates (all day) or both date-times.",
                             start=self.source.where(index, "DTSTART"), end=self.source.where(index, "DTEND")))
        if _all_day_by_flag(event, start, end):
            start, end = start.date(), end.date()  # Exchange may write all-day events as midnight to midnight
        if end < start:
            raise IcsError(_("%(end)s is before %(start)s (%(end_value)s < %(start_value)s).",
                             end=self.source.where(index, "DTEND"), start=self.source.where(index, "DTSTART"),
                             end_value=_show(end), start_value=_show(start)))
        all_day = not isinstance(start, datetime)
        floating = isinstance(start, datetime) and "TZID" not in event["DTSTART"].params \
            and event["DTSTART"].dt.tzinfo is None
        recurrence_id = self._moment(event["RECURRENCE-ID"], index, "RECURRENCE-ID") \
            if "RECURRENCE-ID" in event else None
        exdates: list[datetime | date] = []
        for prop in _as_list(event.get("EXDATE")):
            for value in prop.dts:
                exdates.append(self._moment(value, index, "EXDATE", tzid=prop.params.get("TZID")))
        rrules = _as_list(event.get("RRULE"))
        status = str(event.get("STATUS", "")).strip().upper() or ("CANCELLED" if method == "CANCEL" else None)
        return ImportedEvent(
            uid=str(event["UID"]).strip(),
            sequence=self._sequence(event, index),
            summary=_text(event.get("SUMMARY")),
            description=_text(event.get("DESCRIPTION")),
            start=start, end=end,
            zone=None if all_day else _zone_name(start),
            all_day=all_day, floating=floating,
            location=_text(event.get("LOCATION")),
            online_link=_online_link(event),
            organizer=_person(event.get("ORGANIZER")),
            attendees=tuple(_attendee(a) for a in _as_list(event.get("ATTENDEE"))),
            status=status,
            rrule=rrules[0].to_ical().decode() if rrules else None,
            recurrence_id=recurrence_id,
            exdates=tuple(exdates),
        )

    def _sequence(self, event: Component, index: int) -> int:
        for name in ("SEQUENCE", "X-MICROSOFT-CDO-APPT-SEQUENCE"):
            if name in event:
                try:
                    value = int(str(event[name]).strip())
                except ValueError:
                    raise IcsError(_("%(property)s must be a whole number.",
                                     property=self.source.where(index, name))) from None
                if value < 0:
                    raise IcsError(_("%(property)s must not be negative.", property=self.source.where(index, name)))
                return value
        return 0

    def _moment(self, prop, index: int, name: str, tzid: str | None = None) -> datetime | date:
        value = prop.dt
        if not isinstance(value, date):
            raise IcsError(_("%(property)s must be a date or a date-time.", property=self.source.where(index, name)))
        if not isinstance(value, datetime):
            return value
        tzid = tzid or prop.params.get("TZID")
        wall = value.replace(tzinfo=None)
        if tzid:
            zone, key = self._zone(str(tzid), index, name, wall)
            moment = wall.replace(tzinfo=zone)
            return moment if key else moment.astimezone(UTC)
        if value.tzinfo is not None:  # written in UTC (…Z)
            return value.astimezone(UTC)
        return wall.replace(tzinfo=ZoneInfo(self.floating_zone))

    def _zone(self, tzid: str, index: int, name: str, near: datetime) -> tuple[tzinfo, str | None]:
        clean = clean_tzid(tzid)
        if clean in self.zones:
            return self.zones[clean]
        by_name = iana_by_name(clean)
        component = self.timezones.get(clean)
        defined = _vtimezone_tz(component) if component is not None else None
        if by_name and (defined is None or _same_offsets(ZoneInfo(by_name), defined, near.year)):
            found: tuple[tzinfo, str | None] = (ZoneInfo(by_name), by_name)
        elif defined is not None:
            match = _iana_matching(defined, component, clean, near.year)
            if match:
                found = (ZoneInfo(match), match)
                if by_name:
                    self.notes.append(_("The VTIMEZONE '%(tzid)s' does not follow %(named)s; its own rules were used "
                                        "and match %(zone)s.", tzid=clean, named=by_name, zone=match))
            else:
                found = (defined, None)
                self.notes.append(_("The time zone '%(tzid)s' matches no IANA zone; its times are given in UTC.",
                                    tzid=clean))
        else:
            raise IcsError(_("%(property)s uses the time zone '%(tzid)s', which is neither an IANA nor a Windows "
                             "zone name, and the file holds no VTIMEZONE that defines it.",
                             property=self.source.where(index, name), tzid=clean))
        self.zones[clean] = found
        return found


def clean_tzid(tzid: str) -> str:
    return tzid.strip().strip('"').strip()


def iana_by_name(tzid: str) -> str | None:
    """The IANA zone a TZID names: itself, a Windows name through CLDR's table, or a globally unique
    '/vendor/…/Area/City' id (RFC 5545 3.2.19) through its longest IANA suffix."""
    if tzid in _iana():
        return tzid
    if tzid in WINDOWS_TO_OLSON and WINDOWS_TO_OLSON[tzid] in _iana():
        return WINDOWS_TO_OLSON[tzid]
    parts = tzid.strip("/").split("/")
    for first in range(1, len(parts)):
        candidate = "/".join(parts[first:])
        if "/" in candidate and candidate in _iana():
            return candidate
    return None


def _vtimezone_tz(component: Component) -> tzinfo | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return component.to_tz(tzp, lookup_tzid=False)
    except Exception:  # a VTIMEZONE too broken to build counts as absent  # noqa: BLE001
        return None


def _samples(year: int) -> list[datetime]:
    # Noon UTC on every day of the year before, of and after the event: clock changes differ between zones by
    # days or weeks, never by hours only on the same day.
    first = datetime(year - 1, 1, 1, 12, tzinfo=UTC)
    return [first + timedelta(days=n) for n in range(0, 3 * 366, 1)]


def _offsets(zone: tzinfo, moments: Iterable[datetime]) -> tuple[timedelta | None, ...]:
    return tuple(moment.astimezone(zone).utcoffset() for moment in moments)


def _same_offsets(zone: tzinfo, other: tzinfo, year: int) -> bool:
    moments = _samples(year)[366:732]
    return _offsets(zone, moments) == _offsets(other, moments)


def _iana_matching(defined: tzinfo, component: Component, tzid: str, year: int) -> str | None:
    """The IANA zone whose offsets equal the VTIMEZONE's through the event's year: the one named in X-LIC-LOCATION,
    else one whose city appears in the TZID (Outlook's '(UTC+09:00) Osaka, Sapporo, Tokyo'), else one of CLDR's
    Windows zones, else the first by name."""
    moments = _samples(year)[366:732]
    wanted = _offsets(defined, moments)
    location = str(component.get("X-LIC-LOCATION", "")).strip()
    if location in _iana() and _offsets(ZoneInfo(location), moments) == wanted:
        return location
    middle = len(moments) // 2
    # Two probes (winter and summer) leave a handful of candidates before the day-by-day comparison.
    probe, expected = (moments[0], moments[middle]), (wanted[0], wanted[middle])
    first = [name for name in sorted(_iana()) if _offsets(ZoneInfo(name), probe) == expected]
    matches = [name for name in first if _offsets(ZoneInfo(name), moments) == wanted]
    if not matches:
        return None
    text = tzid.lower()

    def mentioned(name: str) -> int:
        city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
        position = text.find(city)
        return position if position >= 0 and "/" in name else len(text) + 1

    canonical = set(WINDOWS_TO_OLSON.values())
    return min(matches, key=lambda name: (mentioned(name), name not in canonical, name))


def _all_day_by_flag(event: Component, start, end) -> bool:
    return (isinstance(start, datetime) and str(event.get("X-MICROSOFT-CDO-ALLDAYEVENT", "")).upper() == "TRUE"
            and start.time() == time(0) and end.time() == time(0) and end > start)


def _add(start: datetime | date, duration: timedelta) -> datetime | date:
    if isinstance(start, datetime) and isinstance(start.tzinfo, ZoneInfo):
        # A nominal duration (days) keeps the wall time across a clock change; the exact part is added in UTC.
        days = timedelta(days=duration.days)
        return (start + days).astimezone(UTC).__add__(duration - days).astimezone(start.tzinfo)
    return start + duration


def _zone_name(moment: datetime) -> str | None:
    key = getattr(moment.tzinfo, "key", None)
    return key if key else "UTC" if moment.utcoffset() == timedelta(0) else None


def _show(moment: datetime | date) -> str:
    return moment.isoformat()


def _sort_key(event: ImportedEvent):
    moment = event.recurrence_id
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).replace(tzinfo=None)
    return datetime.combine(moment, time(0))


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _email(address) -> str | None:
    value = str(address).strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:"):]
    if "@" in value and " " not in value:
        return value
    other = address.params.get("EMAIL") if hasattr(address, "params") else None
    return str(other).strip() if other else None


def _person(address) -> Person | None:
    if address is None:
        return None
    if isinstance(address, list):
        address = address[0]
    name = _text(address.params.get("CN")) if hasattr(address, "params") else None
    return Person(name=name.strip('"') if name else None, email=_email(address))


def _attendee(address) -> Attendee:
    params = getattr(address, "params", {})
    name = _text(params.get("CN"))
    email = _email(address)
    if name and email and name.strip('"').lower() == email.lower():
        name = None  # Google writes the address as the name when it knows no name
    return Attendee(name=name.strip('"') if name else None, email=email,
                    partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                    role=str(params.get("ROLE", "REQ-PARTICIPANT")).upper(),
                    cutype=str(params.get("CUTYPE", "INDIVIDUAL")).upper(),
                    rsvp=str(params.get("RSVP", "FALSE")).upper() == "TRUE")


def _links(text: str | None) -> list[str]:
    return [match.rstrip(".,;:)]>") for match in URL_PATTERN.findall(text or "")]


def _online_link(event: Component) -> str | None:
    """The join link: a program's own property, then RFC 7986 CONFERENCE, then a known meeting service's link in
    LOCATION, URL or DESCRIPTION, then URL, then a LOCATION that is only a link. Other links in the description
    (registration pages, help pages) are not taken for the meeting's."""
    for name in (*LINK_PROPERTIES, "CONFERENCE"):
        for value in _as_list(event.get(name)):
            links = _links(str(value))
            if links:
                return links[0]
    location, url, description = (str(event.get(name, "")).strip() for name in ("LOCATION", "URL", "DESCRIPTION"))
    for text in (location, url, description):
        for link in _links(text):
            if MEETING_HOSTS.match(link):
                return link
    if _links(url):
        return _links(url)[0]
    return location if _links(location) == [location] else None
