"""Invitations from outside: .ics files as Outlook/Exchange, Google Calendar and Apple Calendar write them.

Each fixture under data/ follows what the program really writes (line order, folding at 75 octets, CRLF, its X-
properties). The instants we read are checked against two parsers that apply the file's own VTIMEZONE: vobject and
Mozilla's ical.js (tests/e2e/node/check-ics.mjs).
"""

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from meetings.ics_import import MAX_BYTES, Attendee, IcsError, Person, parse_invitation

DATA = Path(__file__).resolve().parent / "data"
NODE_DIR = Path(__file__).resolve().parents[1] / "e2e" / "node"
TOKYO = ZoneInfo("Asia/Tokyo")
TIMED = ["outlook_request_tokyo.ics", "outlook_cancel_eastern.ics", "outlook_custom_zone.ics",
         "exchange_series_w_europe.ics", "google_request_tokyo.ics", "apple_request_tokyo.ics", "apple_utc.ics"]


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def read(name: str, **kwargs):
    return parse_invitation(fixture(name), **kwargs)


def icaljs(path: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: apt-get install nodejs, then `npm ci --prefix tests/e2e/node`")
    if not (NODE_DIR / "node_modules" / "ical.js").is_dir():
        pytest.fail("ical.js is missing from tests/e2e/node/node_modules: run `npm ci --prefix tests/e2e/node`")
    result = subprocess.run([node, str(NODE_DIR / "check-ics.mjs"), str(path)], capture_output=True, text=True,
                            timeout=30, env={**os.environ, "TZ": "UTC"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def read_vobject(ics: bytes):
    # vobject keeps the first VTIMEZONE it meets per TZID for the whole process; forget this file's TZIDs first.
    for tz in icalendar.Calendar.from_ical(ics).timezones:
        vobject.icalendar.registerTzid(tz.tz_name, None)
    return vobject.readOne(ics.decode("utf-8"))


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize("name", TIMED)
def test_instants_agree_with_vobject_and_icaljs_reading_the_files_own_vtimezone(name):
    invitation = read(name)
    events = [invitation.event, *invitation.exceptions]
    js = {(e["uid"], e["summary"]): e for e in icaljs(DATA / name)["events"]}
    vo = {str(e.summary.value): e for e in read_vobject(fixture(name)).vevent_list}
    for event in events:
        theirs = js[(event.uid, event.summary)]
        assert utc(event.start) == theirs["start"]["utc"] and utc(event.end) == theirs["end"]["utc"]
        assert vo[event.summary].dtstart.value.astimezone(UTC) == event.start.astimezone(UTC)
        assert vo[event.summary].dtend.value.astimezone(UTC) == event.end.astimezone(UTC)


def test_outlook_request_in_tokyo_standard_time_with_teams():
    invitation = read("outlook_request_tokyo.ics")
    event = invitation.event
    assert invitation.method == "REQUEST"
    assert invitation.prodid == "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN"
    assert invitation.uid == event.uid and event.uid.startswith("040000008200E00074C5B7101A82E008")
    assert len(event.uid) == 112  # the folded UID is read whole
    assert event.sequence == 0 and event.status is None and event.rrule is None
    assert event.summary == "U20 Sherpa preparatory call"
    assert event.description.startswith("Dear colleagues,\n\nPlease join the preparatory call")
    assert "communiqué" in event.description
    # TZID="Tokyo Standard Time" (quoted) maps to Asia/Tokyo through CLDR's Windows table.
    assert event.zone == "Asia/Tokyo"
    assert event.start == datetime(2026, 12, 10, 14, tzinfo=TOKYO)
    assert event.start.tzinfo == TOKYO and event.end == datetime(2026, 12, 10, 15, tzinfo=TOKYO)
    assert not event.all_day and not event.floating
    assert event.location == "Microsoft Teams Meeting"
    assert event.online_link.startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjE2ZDk4YjAt")
    assert event.online_link.endswith("%22c5d2a3e8-1b4f-4e2a-9f0a-6d7b8c9e0f1a%22%7d")
    assert event.organizer == Person("Tanaka Yuki", "yuki.tanaka@u20secretariat.example")
    assert event.attendees == (
        Attendee("International Affairs Division", "kokusai@city.example.jp", rsvp=True),
        Attendee("Lee Ji-woo", "jiwoo.lee@seoul.example.kr", role="OPT-PARTICIPANT", rsvp=True),
        Attendee(None, "u20-sherpa-room@u20secretariat.example", role="NON-PARTICIPANT", cutype="RESOURCE",
                 rsvp=True),
    )
    assert invitation.exceptions == () and invitation.notes == ()


def test_the_teams_link_is_found_in_the_description_when_outlook_leaves_out_its_property():
    text = fixture("outlook_request_tokyo.ics").decode()
    start = text.index("X-MICROSOFT-SKYPETEAMSMEETINGURL")
    end = text.index("X-MICROSOFT-SCHEDULINGSERVICEUPDATEURL")
    event = parse_invitation(text[:start] + text[end:]).event
    # Not aka.ms/JoinTeamsMeeting nor the download page, though they are links in the same text.
    assert event.online_link.startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")


def test_outlook_cancel_in_eastern_standard_time():
    invitation = read("outlook_cancel_eastern.ics")
    event = invitation.event
    assert invitation.method == "CANCEL"
    assert event.status == "CANCELLED" and event.sequence == 1
    assert event.uid.endswith("F0E1D2C3B4A5968778695A4B3C2D1E0F")
    assert event.zone == "America/New_York"
    assert event.start.strftime("%Y-%m-%d %H:%M %z") == "2026-12-08 19:00 -0500"
    assert event.start.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") == "2026-12-09 09:00"
    assert event.organizer == Person("Rivera, Daniel", "drivera@nyc-partners.example")
    assert event.attendees[1].email == "Hanako.Sato@city.example.jp"  # as written; callers compare casefolded


def test_a_cancel_without_status_is_read_as_cancelled():
    text = fixture("outlook_cancel_eastern.ics").decode().replace("STATUS:CANCELLED\r\n", "")
    assert parse_invitation(text).event.status == "CANCELLED"


def test_exchange_series_with_an_exdate_and_a_moved_occurrence_across_a_clock_change():
    invitation = read("exchange_series_w_europe.ics")
    series, (moved,) = invitation.event, invitation.exceptions
    assert invitation.prodid == "Microsoft Exchange Server 2010"
    assert series.zone == "Europe/Berlin" and series.sequence == 2
    assert series.start.strftime("%Y-%m-%d %H:%M %z") == "2027-01-12 10:00 +0100"
    assert series.rrule == "FREQ=MONTHLY;UNTIL=20270608T080000Z;INTERVAL=1;BYDAY=2TU;WKST=MO"
    assert series.exdates == (datetime(2027, 2, 9, 10, tzinfo=ZoneInfo("Europe/Berlin")),)
    assert series.recurrence_id is None
    assert series.online_link == "https://us02web.zoom.us/j/81234567890?pwd=Q2xpbWF0ZUFkYXB0YXRpb24xMjM0NTY3ODk"
    assert moved.uid == series.uid and moved.summary == "Climate adaptation working group (moved)"
    # April is summer time in Berlin: the occurrence's id and its new start are both at +02:00.
    assert moved.recurrence_id.strftime("%Y-%m-%d %H:%M %z") == "2027-04-13 10:00 +0200"
    assert moved.start.strftime("%Y-%m-%d %H:%M %z") == "2027-04-14 14:00 +0200"
    assert utc(moved.start) == "2027-04-14T12:00:00.000Z"


def test_outlook_customized_time_zone_is_matched_to_the_iana_zone_with_the_same_rules():
    event = read("outlook_custom_zone.ics").event
    assert event.zone == "America/Los_Angeles"
    # 17 March 2027 is after the US change to summer time (14 March): -07:00.
    assert event.start.strftime("%Y-%m-%d %H:%M %z") == "2027-03-17 16:30 -0700"
    assert event.organizer == Person("Chen, Grace", "grace.chen@la-sistercities.example")
    assert event.location == "City Hall, Room 1010" and event.online_link is None


def test_an_outlook_display_name_tzid_finds_the_city_it_names():
    """Outlook on the web can write the display name as TZID; the VTIMEZONE defines it, the name picks the city."""
    text = fixture("outlook_request_tokyo.ics").decode().replace(
        "TZID:Tokyo Standard Time", 'TZID:"(UTC+09:00) Osaka, Sapporo, Tokyo"').replace(
        'TZID="Tokyo Standard Time"', 'TZID="(UTC+09:00) Osaka, Sapporo, Tokyo"')
    event = parse_invitation(text).event
    assert event.zone == "Asia/Tokyo"
    assert event.start == datetime(2026, 12, 10, 14, tzinfo=TOKYO)


def test_the_same_custom_tzid_in_two_files_follows_each_files_own_vtimezone():
    """icalendar and vobject remember a TZID's first definition process-wide; each upload must use its own."""
    pacific = read("outlook_custom_zone.ics").event
    berlin_rules = fixture("outlook_custom_zone.ics").decode().replace("-0700", "+0200").replace("-0800", "+0100")
    berlin_rules = berlin_rules.replace("BYDAY=1SU;BYMONTH=11", "BYDAY=-1SU;BYMONTH=10").replace(
        "BYDAY=2SU;BYMONTH=3", "BYDAY=-1SU;BYMONTH=3")
    europe = parse_invitation(berlin_rules).event
    assert pacific.zone == "America/Los_Angeles" and utc(pacific.start) == "2027-03-17T23:30:00.000Z"
    assert europe.start.utcoffset().total_seconds() == 3600  # 17 March is before Europe's change (28 March)
    assert utc(europe.start) == "2027-03-17T15:30:00.000Z"
    assert ZoneInfo(europe.zone).utcoffset(datetime(2027, 7, 1)).total_seconds() == 7200


def test_a_vtimezone_that_contradicts_its_windows_name_wins_and_is_noted():
    """The sender's program computed the times with the VTIMEZONE it sent, so that is what the times mean."""
    text = fixture("outlook_request_tokyo.ics").decode().replace("TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900",
                                                                 "TZOFFSETFROM:+0800\r\nTZOFFSETTO:+0800")
    invitation = parse_invitation(text)
    assert invitation.event.start.utcoffset().total_seconds() == 8 * 3600
    assert invitation.event.zone != "Asia/Tokyo"
    assert "does not follow Asia/Tokyo" in invitation.notes[0]


def test_a_vtimezone_no_iana_zone_follows_gives_utc_and_a_note():
    text = fixture("outlook_custom_zone.ics").decode().replace("TZOFFSETTO:-0800", "TZOFFSETTO:-0817").replace(
        "TZOFFSETFROM:-0800", "TZOFFSETFROM:-0817")
    invitation = parse_invitation(text)
    assert invitation.event.zone == "UTC"
    assert invitation.event.start == datetime(2027, 3, 17, 23, 30, tzinfo=UTC)
    assert "matches no IANA zone" in invitation.notes[0]


def test_google_request_with_meet_and_cutype():
    invitation = read("google_request_tokyo.ics")
    event = invitation.event
    assert invitation.method == "REQUEST" and event.uid == "3k9v2q1pj8c7m6n5b4x3z2a1s0@google.com"
    assert event.zone == "Asia/Tokyo" and event.start == datetime(2026, 12, 15, 17, tzinfo=TOKYO)
    assert event.status == "CONFIRMED" and event.location is None
    assert event.online_link == "https://meet.google.com/xqz-hmto-vwb"
    assert event.organizer == Person("Maria Keller", "maria.keller@hamburg-partners.example")
    by_email = {a.email: a for a in event.attendees}
    assert by_email["kokusai@city.example.jp"] == Attendee(None, "kokusai@city.example.jp", rsvp=True)
    assert by_email["jonas.weber@hamburg-partners.example"].partstat == "TENTATIVE"
    room = by_email["c_1889abcdef0123456789@resource.calendar.google.com"]
    assert room.cutype == "RESOURCE" and room.name == "Rathaus-3-Kaisersaal (12)" and not room.rsvp
    assert "Hamburg–Tokyo" in event.description


def test_google_all_day_event_gives_dates_and_no_zone():
    event = read("google_all_day.ics").event
    assert event.all_day and event.zone is None and not event.floating
    assert event.start == date(2027, 5, 12) and event.end == date(2027, 5, 15)  # DTEND is exclusive
    assert event.location == "Rio de Janeiro, Brazil"
    assert event.online_link is None  # the registration page in the description is not a meeting link
    assert [a.cutype for a in event.attendees] == ["INDIVIDUAL", "GROUP"]


def test_all_day_dates_agree_with_icaljs():
    js = icaljs(DATA / "google_all_day.ics")["events"][0]
    assert js["start"] == {"utc": "2027-05-12T00:00:00.000Z", "date_only": True, "tzid": None, "value": "2027-05-12"}
    assert js["end"]["value"] == "2027-05-15"


def test_outlook_appt_sequence_stands_in_for_a_missing_sequence():
    text = fixture("outlook_cancel_eastern.ics").decode().replace("SEQUENCE:1\r\nLOCATION", "LOCATION")
    assert "\r\nSEQUENCE:" not in text
    assert parse_invitation(text).event.sequence == 1  # from X-MICROSOFT-CDO-APPT-SEQUENCE:1


def test_rfc7986_conference_property_gives_the_link():
    text = fixture("google_all_day.ics").decode().replace(
        "SUMMARY:U20", "CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join:https://meet.jit.si/u20-sherpas-2027\r\n"
        "SUMMARY:U20")
    assert parse_invitation(text).event.online_link == "https://meet.jit.si/u20-sherpas-2027"


def test_an_all_day_date_without_dtend_lasts_one_day():
    text = fixture("google_all_day.ics").decode().replace("DTEND;VALUE=DATE:20270515\r\n", "")
    event = parse_invitation(text).event
    assert (event.start, event.end) == (date(2027, 5, 12), date(2027, 5, 13))


def test_exchange_all_day_written_as_midnight_to_midnight_becomes_dates():
    text = fixture("outlook_cancel_eastern.ics").decode().replace("20261208T190000", "20261208T000000").replace(
        "20261208T200000", "20261209T000000").replace("ALLDAYEVENT:FALSE", "ALLDAYEVENT:TRUE")
    event = parse_invitation(text).event
    assert event.all_day and (event.start, event.end) == (date(2026, 12, 8), date(2026, 12, 9))


def test_apple_request_with_structured_location_and_zoom_url():
    event = read("apple_request_tokyo.ics").event
    assert event.uid == "7C3B2A19-5E4D-4F6A-8B9C-0D1E2F3A4B5C"
    assert event.zone == "Asia/Tokyo" and event.start == datetime(2026, 12, 3, 15, tzinfo=TOKYO)
    assert event.end == datetime(2026, 12, 3, 16, 30, tzinfo=TOKYO)
    assert event.location == ("Tokyo Metropolitan Government Building\n2-8-1 Nishi-Shinjuku, Shinjuku City, Tokyo, "
                              "Japan")
    assert event.online_link == "https://zoom.us/j/93827465102?pwd=ZGlwbG9tYXRpY2JyaWVmaW5n"
    assert event.attendees[0] == Attendee("Kenji Mori", "kenji.mori@city.example.jp", partstat="ACCEPTED",
                                          role="CHAIR")
    # Apple may address an attendee by urn:uuid and give the address in EMAIL=.
    assert event.attendees[2] == Attendee(None, "protocol@city.example.jp", rsvp=True)


def test_apple_utc_times_stay_utc_and_webex_link_comes_from_the_description():
    event = read("apple_utc.ics").event
    assert event.zone == "UTC" and event.start == datetime(2026, 12, 8, 23, 30, tzinfo=UTC)
    assert event.start.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") == "2026-12-09 08:30"
    assert event.sequence == 3
    assert event.online_link == "https://sydneycity.webex.com/sydneycity/j.php?MTID=m3f2e1d0c9b8a79685746352413021f0e"


def test_apple_floating_times_are_read_in_the_zone_the_caller_gives():
    tokyo = read("apple_floating.ics", floating_zone="Asia/Tokyo")
    assert tokyo.method == "PUBLISH"  # no METHOD: a calendar export, not an iTIP message
    assert tokyo.event.floating and tokyo.event.zone == "Asia/Tokyo"
    assert tokyo.event.start == datetime(2026, 12, 4, 9, tzinfo=TOKYO)
    default = read("apple_floating.ics").event
    assert default.start == datetime(2026, 12, 4, 9, tzinfo=ZoneInfo("UTC")) and default.zone == "UTC"
    js = icaljs(DATA / "apple_floating.ics")["events"][0]
    assert js["start"]["tzid"] == "floating" and js["start"]["utc"] == "2026-12-04T09:00:00.000Z"  # node runs in UTC


def test_duration_instead_of_dtend_keeps_wall_time_across_a_clock_change():
    text = fixture("exchange_series_w_europe.ics").decode()
    text = text.replace("DTEND;TZID=W. Europe Standard Time:20270112T113000", "DURATION:PT1H30M", 1)
    assert parse_invitation(text).event.end.strftime("%H:%M %z") == "11:30 +0100"
    day = text.replace("DTSTART;TZID=W. Europe Standard Time:20270112T100000",
                       "DTSTART;TZID=W. Europe Standard Time:20270327T100000", 1).replace("PT1H30M", "P1D", 1)
    assert parse_invitation(day).event.end.strftime("%Y-%m-%d %H:%M %z") == "2027-03-28 10:00 +0200"


def test_str_input_and_a_byte_order_mark_are_accepted():
    assert parse_invitation(fixture("google_request_tokyo.ics").decode()).uid.endswith("@google.com")
    assert parse_invitation(b"\xef\xbb\xbf" + fixture("google_request_tokyo.ics")).uid.endswith("@google.com")


def test_an_occurrence_cancelled_alone_is_the_event():
    """Outlook cancels one meeting of a series with a VEVENT that carries only that occurrence's RECURRENCE-ID."""
    text = fixture("exchange_series_w_europe.ics").decode().replace("METHOD:REQUEST", "METHOD:CANCEL")
    first, second = text.index("BEGIN:VEVENT"), text.index("BEGIN:VEVENT", text.index("END:VEVENT"))
    invitation = parse_invitation(text[:first] + text[second:])
    assert invitation.method == "CANCEL" and invitation.exceptions == ()
    assert invitation.event.recurrence_id.strftime("%Y-%m-%d %H:%M") == "2027-04-13 10:00"
    assert invitation.event.status == "CONFIRMED"  # as written; the METHOD says it is cancelled


# --- bad input -------------------------------------------------------------------------------------------------


def replace(name: str, old: str, new: str, count: int = -1) -> str:
    text = fixture(name).decode()
    assert old in text
    return text.replace(old, new, count)


def test_not_icalendar_names_the_first_line():
    with pytest.raises(IcsError, match=r"Line 1 is 'BEGIN:VCARD', not BEGIN:VCALENDAR"):
        parse_invitation(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Kenji Mori\r\nEND:VCARD\r\n")
    with pytest.raises(IcsError, match="not BEGIN:VCALENDAR"):
        parse_invitation(b"<html><body>Invitation</body></html>")
    with pytest.raises(IcsError, match="empty"):
        parse_invitation(b"\r\n\r\n")
    with pytest.raises(IcsError, match="Line 2 is not UTF-8"):
        parse_invitation("BEGIN:VCALENDAR\r\nSUMMARY:会議\r\n".encode("shift_jis"))


def test_a_broken_content_line_is_named():
    text = replace("google_request_tokyo.ics", "TRANSP:OPAQUE\r\n", "TRANSP:OPAQUE\r\nthis line has no colon\r\n")
    number = text.split("\r\n").index("this line has no colon") + 1
    with pytest.raises(IcsError, match=rf"Line {number} cannot be read as iCalendar \('this line has no colon'\)"):
        parse_invitation(text)


def test_a_calendar_cut_short_is_refused():
    text = fixture("google_request_tokyo.ics").decode()
    for cut in (text[:text.index("END:VEVENT")], text.replace("END:VCALENDAR", "")):
        with pytest.raises(IcsError, match="END:VCALENDAR, or the END of a component inside it, is missing"):
            parse_invitation(cut)


def test_no_vevent():
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\nBEGIN:VTODO\r\nUID:t1\r\n"
            "SUMMARY:Send the note verbale\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
    with pytest.raises(IcsError, match=r"no VEVENT \(it holds VTODO\)"):
        parse_invitation(text)


def test_no_uid_names_the_vevent_line():
    with pytest.raises(IcsError, match=r"The VEVENT at line 14 has no UID"):
        parse_invitation(replace("outlook_request_tokyo.ics", "UID:0400", "X-OLD-UID:0400"))


def test_dtend_before_dtstart_names_both_lines():
    text = replace("outlook_request_tokyo.ics", "20261210T150000", "20261210T130000")
    with pytest.raises(IcsError, match=r"DTEND \(line \d+\) is before DTSTART \(line \d+\)") as caught:
        parse_invitation(text)
    lines = text.split("\r\n")
    number = int(str(caught.value).split("line ")[1].split(")")[0])
    assert lines[number - 1].startswith("DTEND;")


def test_date_and_date_time_mixed():
    text = replace("google_all_day.ics", "DTEND;VALUE=DATE:20270515", "DTEND:20270515T090000Z")
    with pytest.raises(IcsError, match="both be dates"):
        parse_invitation(text)


def test_an_unreadable_dtstart_is_named():
    with pytest.raises(IcsError, match=r"DTSTART \(line 17\) cannot be read"):
        parse_invitation(replace("google_request_tokyo.ics", "20261215T170000", "2026-12-15 17:00"))


def test_a_missing_dtstart_is_refused():
    text = replace("google_request_tokyo.ics", "DTSTART;TZID=Asia/Tokyo:20261215T170000\r\n", "")
    with pytest.raises(IcsError, match="has no DTSTART"):
        parse_invitation(text)


def test_unknown_zone_without_vtimezone_names_property_and_zone():
    text = replace("google_request_tokyo.ics", "TZID=Asia/Tokyo", "TZID=Tokyo/Shinjuku")
    with pytest.raises(IcsError, match=r"DTSTART \(line 17\) uses the time zone 'Tokyo/Shinjuku'.*no VTIMEZONE"):
        parse_invitation(text)


def test_windows_name_without_vtimezone_is_still_mapped():
    text = fixture("outlook_request_tokyo.ics").decode()
    text = text[:text.index("BEGIN:VTIMEZONE")] + text[text.index("END:VTIMEZONE\r\n") + 15:]
    assert parse_invitation(text).event.zone == "Asia/Tokyo"


def test_several_events_with_different_uids_are_refused():
    text = fixture("exchange_series_w_europe.ics").decode()
    last = text.rindex("UID:0400")
    text = text[:last] + "UID:another-meeting@citiesnetwork.example" + text[text.index("\r\n", last):]
    text = text.replace("RECURRENCE-ID;TZID=W. Europe Standard Time:20270413T100000\r\n", "")
    with pytest.raises(IcsError, match="2 different events"):
        parse_invitation(text)


def test_the_same_uid_twice_without_recurrence_id_is_refused():
    text = replace("exchange_series_w_europe.ics", "RECURRENCE-ID;TZID=W. Europe Standard Time:20270413T100000\r\n",
                   "")
    with pytest.raises(IcsError, match=r"2 VEVENTs without RECURRENCE-ID \(lines 20, 64\)"):
        parse_invitation(text)


def test_several_occurrences_without_their_series_are_refused():
    text = fixture("exchange_series_w_europe.ics").decode()
    first, second = text.index("BEGIN:VEVENT"), text.index("BEGIN:VEVENT", text.index("END:VEVENT"))
    occurrence = text[second:text.index("END:VCALENDAR")]
    other = occurrence.replace("20270413T100000", "20270511T100000")
    with pytest.raises(IcsError, match="2 occurrences of a series"):
        parse_invitation(text[:first] + occurrence + other + "END:VCALENDAR\r\n")


def test_reply_and_other_methods_are_refused():
    with pytest.raises(IcsError, match="METHOD:REPLY is an answer"):
        parse_invitation(replace("google_request_tokyo.ics", "METHOD:REQUEST", "METHOD:REPLY"))
    with pytest.raises(IcsError, match="METHOD:COUNTER is not supported"):
        parse_invitation(replace("google_request_tokyo.ics", "METHOD:REQUEST", "METHOD:COUNTER"))


def test_bad_sequence_is_named():
    with pytest.raises(IcsError, match=r"SEQUENCE \(line \d+\)"):
        parse_invitation(replace("apple_utc.ics", "SEQUENCE:3", "SEQUENCE:three"))


def test_two_calendars_in_one_file_are_refused():
    text = fixture("apple_utc.ics")
    with pytest.raises(IcsError, match="2 calendars"):
        parse_invitation(text + text)


def test_a_file_over_1_mb_is_refused_before_parsing():
    text = fixture("apple_utc.ics")
    padding = b"X-PADDING:" + b"x" * 70 + b"\r\n"
    big = text.replace(b"END:VEVENT", padding * (MAX_BYTES // len(padding) + 1) + b"END:VEVENT")
    with pytest.raises(IcsError, match="at most 1,048,576 bytes"):
        parse_invitation(big)
