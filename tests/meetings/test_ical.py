"""Calendar files for meetings, read back by three independent parsers: icalendar, vobject and Mozilla's ical.js."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from meetings.ical import (
    Attendee,
    CalendarError,
    Occurrence,
    Organizer,
    PartStat,
    Role,
    Status,
    cancel,
    make_uid,
    publish,
    request,
)

NODE_DIR = Path(__file__).resolve().parents[1] / "e2e" / "node"
TOKYO, PARIS, NEW_YORK = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
CHANGED = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ONLINE = "https://meet.example.test/j/8812345678?pwd=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8"


@pytest.fixture
def organizer() -> Organizer:
    return Organizer("東京都 政策企画局 国際交流課", "intl@metro.example.test")


@pytest.fixture
def attendee() -> Attendee:
    return Attendee("Jane Doe", "jane.doe@city-of-paris.example.test", language="en")


@pytest.fixture
def make_occurrence(organizer):
    def make(**overrides) -> Occurrence:
        start = overrides.pop("start", datetime(2027, 5, 10, 10, tzinfo=TOKYO))
        values = dict(
            uid=make_uid("meeting", "41", "kizuna.example.test"), sequence=0, title="Senior officials meeting",
            start=start, end=start + timedelta(hours=2), zone="Asia/Tokyo", organizer=organizer,
            last_modified=CHANGED, description="Agenda: the network's 2027 work plan.",
            location="Tokyo Metropolitan Government Building, Conference Room A", online_url=ONLINE,
            url="https://kizuna.example.test/meetings/41",
        )
        values.update(overrides)
        return Occurrence(**values)

    return make


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: apt-get install nodejs, then `npm ci --prefix tests/e2e/node`")
    return node


def icaljs(ics: bytes, tmp_path: Path, zone: str | None = None) -> dict:
    """What Mozilla's ical.js reads from `ics` (check-ics.mjs); fails, never skips, when it is not installed."""
    node = node_binary()
    if not (NODE_DIR / "node_modules" / "ical.js").is_dir():
        pytest.fail("ical.js is missing from tests/e2e/node/node_modules: run `npm ci --prefix tests/e2e/node`")
    path = tmp_path / f"cal-{len(list(tmp_path.glob('cal-*.ics')))}.ics"
    path.write_bytes(ics)
    args = [node, str(NODE_DIR / "check-ics.mjs"), str(path)] + (["--zone", zone] if zone else [])
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, env={**os.environ, "TZ": "UTC"})
    assert result.returncode == 0, f"ical.js refused the file: {result.stderr}\n{ics.decode()}"
    return json.loads(result.stdout)


def read_vobject(ics: bytes):
    """vobject's reading of `ics` as a fresh reader would do it.

    vobject keeps one process-wide TZID -> tzinfo table and keeps the first VTIMEZONE it meets for a
    TZID, so a later file's own definition would be ignored; forgetting the file's TZIDs first makes
    it use this file's VTIMEZONEs.
    """
    for tz in icalendar.Calendar.from_ical(ics).timezones:
        vobject.icalendar.registerTzid(tz.tz_name, None)
    return vobject.readOne(ics.decode("utf-8"))


def parsed(ics: bytes, tmp_path: Path, zone: str | None = None):
    """The file read by all three parsers: (icalendar Calendar, vobject component, ical.js JSON)."""
    return icalendar.Calendar.from_ical(ics), read_vobject(ics), icaljs(ics, tmp_path, zone)


def utc(dt) -> datetime:
    return dt.astimezone(UTC)


def iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- REQUEST -------------------------------------------------------------------------------------------


def test_request_carries_the_itip_fields_every_parser_reads(make_occurrence, attendee, tmp_path):
    occ = make_occurrence()
    ics = request(occ, attendee)
    cal, vcal, js = parsed(ics, tmp_path)

    assert cal["METHOD"] == "REQUEST" and vcal.method.value == "REQUEST" and js["method"] == "REQUEST"
    [event] = cal.events
    assert str(event["UID"]) == "meeting-41@kizuna.example.test"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTAMP") == CHANGED
    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert event.decoded("DTSTART") == datetime(2027, 5, 10, 10, tzinfo=TOKYO)
    assert [tz.tz_name for tz in cal.timezones] == ["Asia/Tokyo"]
    assert str(event["ORGANIZER"]) == "mailto:intl@metro.example.test"
    assert event["ORGANIZER"].params["CN"] == "東京都 政策企画局 国際交流課"
    [att] = event.attendees
    assert str(att) == "mailto:jane.doe@city-of-paris.example.test"
    assert dict(att.params) == {"CN": "Jane Doe", "CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT",
                                "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE", "LANGUAGE": "en"}
    assert str(event["LOCATION"]) == occ.location
    assert str(event["URL"]) == occ.url
    assert ONLINE in str(event["DESCRIPTION"]) and occ.description in str(event["DESCRIPTION"])
    assert [c.uri for c in event.conferences] == [ONLINE]
    assert event["STATUS"] == "CONFIRMED"

    vevent = vcal.vevent
    assert vevent.uid.value == occ.uid and int(vevent.sequence.value) == 0
    assert utc(vevent.dtstart.value) == datetime(2027, 5, 10, 1, tzinfo=UTC)
    assert vevent.attendee.params["RSVP"] == ["TRUE"] and vevent.attendee.params["CN"] == ["Jane Doe"]
    assert vevent.organizer.value == "mailto:intl@metro.example.test"

    [ev] = js["events"]
    assert (ev["uid"], ev["sequence"], ev["status"]) == (occ.uid, 0, "CONFIRMED")
    assert ev["start"] == {"utc": "2027-05-10T01:00:00.000Z", "date_only": False, "tzid": "Asia/Tokyo"}
    assert ev["end"]["utc"] == "2027-05-10T03:00:00.000Z"
    assert ev["attendees"] == [{"value": "mailto:jane.doe@city-of-paris.example.test", "cn": "Jane Doe",
                                "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE",
                                "language": "en", "cutype": "INDIVIDUAL"}]
    assert ev["organizer"]["cn"] == "東京都 政策企画局 国際交流課"
    assert ev["conference"] == [ONLINE] and ev["location"] == occ.location


def test_request_is_the_same_bytes_for_the_same_meeting(make_occurrence, attendee):
    assert request(make_occurrence(), attendee) == request(make_occurrence(), attendee)


def test_request_keeps_a_chair_and_an_answer_the_caller_gives(make_occurrence, tmp_path):
    chair = Attendee("Marie Dupont", "marie@paris.example.test", role=Role.CHAIR, partstat=PartStat.ACCEPTED,
                     rsvp=False, language="fr")
    [ev] = icaljs(request(make_occurrence(), chair), tmp_path)["events"]
    assert ev["attendees"][0] | {"value": None} == {"value": None, "cn": "Marie Dupont", "role": "CHAIR",
                                                     "partstat": "ACCEPTED", "rsvp": "FALSE", "language": "fr",
                                                     "cutype": "INDIVIDUAL"}


def test_stamp_overrides_dtstamp_but_not_last_modified(make_occurrence, attendee):
    sent = datetime(2026, 12, 1, 8, tzinfo=UTC)
    [event] = icalendar.Calendar.from_ical(request(make_occurrence(), attendee, stamp=sent)).events
    assert event.decoded("DTSTAMP") == sent
    assert event.decoded("LAST-MODIFIED") == CHANGED


def test_online_meeting_without_a_venue_shows_the_link_as_location(make_occurrence, attendee, tmp_path):
    ics = request(make_occurrence(location=None), attendee)
    cal, vcal, js = parsed(ics, tmp_path)
    assert str(cal.events[0]["LOCATION"]) == ONLINE
    assert vcal.vevent.location.value == ONLINE
    assert js["events"][0]["location"] == ONLINE and js["events"][0]["conference"] == [ONLINE]


def test_in_person_meeting_has_no_conference(make_occurrence, attendee, tmp_path):
    ics = request(make_occurrence(online_url=None), attendee)
    [ev] = icaljs(ics, tmp_path)["events"]
    assert ev["conference"] == []
    assert ONLINE not in ev["description"]


# -- time zones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "new_york"), [
    (date(2027, 1, 15), "2027-01-14T20:00"),  # New York on EST (UTC-5)
    (date(2027, 7, 15), "2027-07-14T21:00"),  # New York on EDT (UTC-4)
])
def test_tokyo_ten_oclock_reaches_new_york_the_evening_before(make_occurrence, attendee, tmp_path, day, new_york):
    start = datetime(day.year, day.month, day.day, 10, tzinfo=TOKYO)
    cal, vcal, js = parsed(request(make_occurrence(start=start), attendee), tmp_path, zone="America/New_York")

    expected = datetime.fromisoformat(new_york).replace(tzinfo=NEW_YORK)
    assert cal.events[0].decoded("DTSTART").astimezone(NEW_YORK) == expected
    assert vcal.vevent.dtstart.value.astimezone(NEW_YORK) == expected  # vobject reads the file's VTIMEZONE
    assert js["events"][0]["start"]["local"] == new_york  # ical.js's instant, shown by Node's own zone data


@pytest.mark.parametrize(("local", "utc_start"), [
    (datetime(2027, 3, 27, 10), datetime(2027, 3, 27, 9, tzinfo=UTC)),  # Saturday: still CET, UTC+1
    (datetime(2027, 3, 28, 10), datetime(2027, 3, 28, 8, tzinfo=UTC)),  # last Sunday of March: CEST, UTC+2
    (datetime(2027, 3, 28, 3, 30), datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),  # half an hour after the switch
    (datetime(2027, 10, 30, 10), datetime(2027, 10, 30, 8, tzinfo=UTC)),  # last Saturday of October: CEST
    (datetime(2027, 10, 31, 10), datetime(2027, 10, 31, 9, tzinfo=UTC)),  # back on CET
])
def test_paris_meeting_either_side_of_a_daylight_saving_change(make_occurrence, attendee, tmp_path, local, utc_start):
    occ = make_occurrence(start=utc_start, zone="Europe/Paris")
    cal, vcal, js = parsed(request(occ, attendee), tmp_path)

    assert cal.events[0]["DTSTART"].to_ical() == local.strftime("%Y%m%dT%H%M%S").encode()
    assert cal.events[0]["DTSTART"].params["TZID"] == "Europe/Paris"
    assert utc(cal.events[0].decoded("DTSTART")) == utc_start
    assert utc(vcal.vevent.dtstart.value) == utc_start
    assert js["events"][0]["start"]["utc"] == iso_utc(utc_start)
    assert js["events"][0]["end"]["utc"] == iso_utc(utc_start + timedelta(hours=2))


def test_stored_utc_times_are_written_as_wall_clock_in_the_meeting_zone(make_occurrence, attendee):
    occ = make_occurrence(start=datetime(2027, 5, 10, 1, tzinfo=UTC), end=datetime(2027, 5, 10, 3, tzinfo=UTC))
    text = request(occ, attendee).decode()
    assert "DTSTART;TZID=Asia/Tokyo:20270510T100000\r\n" in text
    assert "DTEND;TZID=Asia/Tokyo:20270510T120000\r\n" in text


def test_vtimezone_covers_every_year_of_a_series(make_occurrence, tmp_path):
    years = range(2027, 2033)
    events = [make_occurrence(uid=f"meeting-{y}@kizuna.example.test", zone="Europe/Paris",
                              start=datetime(y, 7, 1, 10, tzinfo=PARIS)) for y in years]
    events += [make_occurrence(uid=f"meeting-w{y}@kizuna.example.test", zone="Europe/Paris",
                               start=datetime(y, 1, 15, 10, tzinfo=PARIS)) for y in years]
    cal, vcal, js = parsed(publish(events, "Working level"), tmp_path)

    [tz] = cal.timezones  # Outlook's and Google's own form: one yearly rule each way, no list of dates
    assert [(sub.name, sub["RRULE"].to_ical()) for sub in tz.subcomponents] == [
        ("DAYLIGHT", b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"), ("STANDARD", b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10")]
    assert [sub.decoded("DTSTART") for sub in tz.subcomponents] == [datetime(2026, 3, 29, 2), datetime(2026, 10, 25, 3)]
    assert "RDATE" not in tz.to_ical().decode()
    got = {ev["uid"]: ev["start"]["utc"] for ev in js["events"]}
    for y in years:
        assert got[f"meeting-{y}@kizuna.example.test"] == f"{y}-07-01T08:00:00.000Z"  # CEST
        assert got[f"meeting-w{y}@kizuna.example.test"] == f"{y}-01-15T09:00:00.000Z"  # CET
    assert sorted(utc(v.dtstart.value) for v in vcal.vevent_list)[-1] == datetime(2032, 7, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Sydney", "America/Sao_Paulo",
                                  "Asia/Jerusalem", "Africa/Casablanca", "Australia/Lord_Howe", "Europe/Dublin"])
def test_a_long_series_reads_back_the_same_instants_in_every_year(make_occurrence, tmp_path, zone):
    # Sao Paulo dropped summer time in 2019, Sydney's runs over New Year, Jerusalem's follows no n-th Sunday,
    # Casablanca's stops for Ramadan, Lord Howe moves half an hour, Dublin's winter is its "negative" summer.
    tz = ZoneInfo(zone)
    events = [make_occurrence(uid=f"m-{y}-{m}@kizuna.example.test", zone=zone, start=datetime(y, m, 1, 10, tzinfo=tz))
              for y in range(2015, 2033) for m in range(1, 13)]
    ics = publish(events, "Long series")
    js, vcal = icaljs(ics, tmp_path), read_vobject(ics)
    assert [ev["start"]["utc"] for ev in js["events"]] == [iso_utc(e.start) for e in events]
    assert [utc(v.dtstart.value) for v in vcal.vevent_list] == [utc(e.start) for e in events]


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "GMT", "Zulu", "Etc/GMT+5", "Europe/London"])
def test_every_tzid_used_has_its_vtimezone_and_no_other_is_written(make_occurrence, attendee, tmp_path, zone):
    occ = make_occurrence(zone=zone, start=datetime(2027, 6, 1, 12, tzinfo=ZoneInfo(zone)))
    cal = icalendar.Calendar.from_ical(request(occ, attendee))
    assert {tz.tz_name for tz in cal.timezones} == cal.get_used_tzids()
    assert icaljs(request(occ, attendee), tmp_path)["events"][0]["start"]["utc"] == iso_utc(occ.start)


def test_a_zone_no_yearly_rule_describes_lists_each_change_on_its_own_line(make_occurrence):
    # Casablanca leaves and rejoins summer time around Ramadan: no RRULE fits, so the changes are listed.
    casablanca = ZoneInfo("Africa/Casablanca")
    occ = make_occurrence(zone="Africa/Casablanca", start=datetime(2015, 7, 1, 10, tzinfo=casablanca))
    [tz] = icalendar.Calendar.from_ical(publish([occ], "m")).timezones
    text = tz.to_ical().decode()
    assert "RRULE" not in text
    rdates = [line for line in text.split("\r\n") if line.startswith("RDATE")]
    assert "RDATE:20150614T030000" in rdates and "RDATE:20150719T020000" in rdates  # Ramadan 2015
    assert all("," not in line for line in rdates)  # one value per line: ical.js reads only the first
    for sub in tz.subcomponents:  # DTSTART's onset is listed too: ical.js skips DTSTART when there are RDATEs
        if "RDATE" in sub:
            assert f"RDATE:{sub['DTSTART'].to_ical().decode()}" in sub.to_ical().decode()


# -- changes ---------------------------------------------------------------------------------------


def test_reschedule_raises_sequence_and_keeps_the_uid(make_occurrence, attendee, tmp_path):
    first = make_occurrence()
    moved = replace(first, sequence=1, start=first.start + timedelta(days=1), end=first.end + timedelta(days=1),
                    last_modified=CHANGED + timedelta(days=3))
    before, after = icaljs(request(first, attendee), tmp_path), icaljs(request(moved, attendee), tmp_path)
    [b], [a] = before["events"], after["events"]
    assert a["uid"] == b["uid"] == first.uid
    assert (b["sequence"], a["sequence"]) == (0, 1)
    assert (b["start"]["utc"], a["start"]["utc"]) == ("2027-05-10T01:00:00.000Z", "2027-05-11T01:00:00.000Z")

    ics = request(moved, attendee)
    cal, vcal = icalendar.Calendar.from_ical(ics), read_vobject(ics)
    assert cal.events[0]["SEQUENCE"] == 1 and int(vcal.vevent.sequence.value) == 1
    assert cal.events[0].decoded("DTSTAMP") == CHANGED + timedelta(days=3)


def test_cancel_sends_method_cancel_with_the_same_uid(make_occurrence, attendee, tmp_path):
    occ = make_occurrence()
    called_off = replace(occ, sequence=occ.sequence + 1, status=Status.CANCELLED)
    ics = cancel(called_off, attendee)
    cal, vcal, js = parsed(ics, tmp_path)

    assert cal["METHOD"] == "CANCEL" and vcal.method.value == "CANCEL" and js["method"] == "CANCEL"
    [event] = cal.events
    assert str(event["UID"]) == occ.uid and event["SEQUENCE"] == 1
    assert event["STATUS"] == "CANCELLED" and vcal.vevent.status.value == "CANCELLED"
    assert [str(a) for a in event.attendees] == ["mailto:jane.doe@city-of-paris.example.test"]
    [ev] = js["events"]
    assert (ev["uid"], ev["sequence"], ev["status"]) == (occ.uid, 1, "CANCELLED")
    assert ev["start"]["utc"] == "2027-05-10T01:00:00.000Z"


def test_cancel_for_one_removed_person_leaves_the_meeting_status_alone(make_occurrence, attendee, tmp_path):
    occ = make_occurrence(sequence=2)
    cal, vcal, js = parsed(cancel(occ, attendee, uninvited=True), tmp_path)
    assert cal["METHOD"] == "CANCEL" and "STATUS" not in cal.events[0]
    assert not hasattr(vcal.vevent, "status")
    assert js["events"][0]["status"] is None and js["events"][0]["uid"] == occ.uid
    assert js["events"][0]["attendees"][0]["value"] == "mailto:jane.doe@city-of-paris.example.test"


def test_tentative_meeting_is_requested_as_tentative(make_occurrence, attendee, tmp_path):
    [ev] = icaljs(request(make_occurrence(status=Status.TENTATIVE), attendee), tmp_path)["events"]
    assert ev["status"] == "TENTATIVE"


# -- text ------------------------------------------------------------------------------------------


def test_japanese_title_and_long_lines_fold_on_character_boundaries(make_occurrence, attendee, tmp_path):
    title = "第12回 東京都市間ネットワーク首脳会議 — 持続可能な都市と気候変動への共同行動に関する全体会合"
    description = "議題：" + "持続可能な都市づくりと市民参加の推進について意見交換を行います。" * 4
    occ = make_occurrence(title=title, description=description, language="ja",
                          location="東京都庁第一本庁舎 7階 大会議室（新宿区西新宿二丁目8番1号）")
    ics = request(occ, Attendee("山田 花子", "hanako.yamada@example.test", language="ja"))

    assert ics.endswith(b"\r\n") and b"\n" not in ics.replace(b"\r\n", b"")
    for line in ics.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold never splits a character's bytes
    assert any(line.startswith(b" ") for line in ics.split(b"\r\n"))  # the long lines were folded

    cal, vcal, js = parsed(ics, tmp_path)
    assert str(cal.events[0]["SUMMARY"]) == title and cal.events[0]["SUMMARY"].params["LANGUAGE"] == "ja"
    assert vcal.vevent.summary.value == title and vcal.vevent.location.value == occ.location
    [ev] = js["events"]
    assert ev["summary"] == title and ev["location"] == occ.location
    assert ev["description"].startswith(description) and ev["description"].endswith(occ.url)
    assert ev["attendees"][0]["cn"] == "山田 花子"


def test_commas_semicolons_and_newlines_in_text_survive(make_occurrence, attendee, tmp_path):
    occ = make_occurrence(title="Budget; finance, and audit\\review", description="Line one\nLine two; three, four",
                          location="Room 1, Floor 2; Annex")
    cal, vcal, js = parsed(request(occ, attendee), tmp_path)
    for summary, location in ((str(cal.events[0]["SUMMARY"]), str(cal.events[0]["LOCATION"])),
                              (vcal.vevent.summary.value, vcal.vevent.location.value),
                              (js["events"][0]["summary"], js["events"][0]["location"])):
        assert (summary, location) == (occ.title, occ.location)
    assert js["events"][0]["description"].startswith("Line one\nLine two; three, four\n\n")


# -- PUBLISH feeds ---------------------------------------------------------------------------------


def test_feed_holds_events_in_several_zones_with_one_vtimezone_each(make_occurrence, tmp_path):
    events = [
        make_occurrence(uid="meeting-1@kizuna.example.test", title="Leaders' meeting",
                        start=datetime(2027, 11, 4, 10, tzinfo=TOKYO)),
        make_occurrence(uid="meeting-2@kizuna.example.test", title="Working level (Paris)", zone="Europe/Paris",
                        start=datetime(2027, 3, 28, 10, tzinfo=PARIS)),
        make_occurrence(uid="meeting-3@kizuna.example.test", title="Diplomatic corps briefing",
                        zone="America/New_York", start=datetime(2027, 3, 14, 9, tzinfo=NEW_YORK)),
        make_occurrence(uid="meeting-4@kizuna.example.test", title="Online check-in", zone="UTC",
                        start=datetime(2027, 6, 1, 12, tzinfo=UTC), location=None),
        make_occurrence(uid="meeting-5@kizuna.example.test", title="Side event", status=Status.CANCELLED,
                        start=datetime(2028, 2, 2, 15, tzinfo=TOKYO)),
    ]
    ics = publish(events, "東京都市間首脳会議", "Tokyo's intercity leaders' meeting series",
                  refresh=timedelta(hours=12), source="https://kizuna.example.test/meetings/series/3.ics")
    cal, vcal, js = parsed(ics, tmp_path, zone="Asia/Tokyo")

    assert cal["METHOD"] == "PUBLISH" and str(cal["X-WR-CALNAME"]) == str(cal["NAME"]) == "東京都市間首脳会議"
    assert cal.calendar_name == "東京都市間首脳会議" and cal.refresh_interval == timedelta(hours=12)
    assert str(cal["X-WR-CALDESC"]) == "Tokyo's intercity leaders' meeting series"
    assert sorted(tz.tz_name for tz in cal.timezones) == ["America/New_York", "Asia/Tokyo", "Europe/Paris"]
    assert all("ATTENDEE" not in e for e in cal.events)
    assert vcal.method.value == "PUBLISH" and len(vcal.vevent_list) == 5
    assert js["name"] == js["x_wr_calname"] == "東京都市間首脳会議" and js["refresh_seconds"] == 12 * 3600

    got = {ev["uid"]: ev for ev in js["events"]}
    assert got["meeting-1@kizuna.example.test"]["start"]["local"] == "2027-11-04T10:00"
    assert got["meeting-2@kizuna.example.test"]["start"]["utc"] == "2027-03-28T08:00:00.000Z"
    assert got["meeting-3@kizuna.example.test"]["start"] == {  # New York's first day of EDT
        "utc": "2027-03-14T13:00:00.000Z", "date_only": False, "tzid": "America/New_York",
        "local": "2027-03-14T22:00"}
    assert got["meeting-4@kizuna.example.test"]["start"]["utc"] == "2027-06-01T12:00:00.000Z"
    assert got["meeting-5@kizuna.example.test"]["status"] == "CANCELLED"
    for v in vcal.vevent_list:
        assert utc(v.dtstart.value) == utc(next(e.start for e in events if e.uid == v.uid.value))


def test_all_day_meeting_is_written_as_dates_with_an_exclusive_end(make_occurrence, tmp_path):
    two_days = make_occurrence(all_day=True, start=datetime(2027, 11, 4, 9, tzinfo=TOKYO),
                               end=datetime(2027, 11, 5, 17, tzinfo=TOKYO))
    to_midnight = make_occurrence(uid="meeting-2@kizuna.example.test", all_day=True,
                                  start=datetime(2027, 11, 4, tzinfo=TOKYO), end=datetime(2027, 11, 5, tzinfo=TOKYO))
    cal, vcal, js = parsed(publish([two_days, to_midnight], "Leaders"), tmp_path)

    assert cal.timezones == []  # dates need no zone
    first, second = cal.events
    assert (first.decoded("DTSTART"), first.decoded("DTEND")) == (date(2027, 11, 4), date(2027, 11, 6))
    assert (second.decoded("DTSTART"), second.decoded("DTEND")) == (date(2027, 11, 4), date(2027, 11, 5))
    assert first["TRANSP"] == "TRANSPARENT"
    assert vcal.vevent_list[0].dtstart.value == date(2027, 11, 4)
    a, b = js["events"]
    assert (a["start"]["date_only"], a["start"]["value"], a["end"]["value"]) == (True, "2027-11-04", "2027-11-06")
    assert b["end"]["value"] == "2027-11-05"


def test_empty_personal_feed_is_still_a_named_calendar(tmp_path):
    cal, vcal, js = parsed(publish([], "My meetings"), tmp_path)
    assert cal.events == [] and js["events"] == [] and js["name"] == "My meetings"
    assert vcal.x_wr_calname.value == "My meetings"


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "message"), [
    ({"end": datetime(2027, 5, 10, 9, tzinfo=TOKYO)}, "ends .* before it starts"),
    ({"end": datetime(2027, 5, 10, 10, tzinfo=TOKYO)}, "ends .* before it starts"),
    ({"zone": "Asia/Edo"}, "unknown time zone 'Asia/Edo'"),
    ({"zone": "../etc/passwd"}, "unknown time zone"),
    ({"zone": "Tokyo Standard Time"}, "unknown time zone"),
    ({"start": datetime(2027, 5, 10, 10)}, "must carry a time zone"),
    ({"last_modified": datetime(2026, 1, 1)}, "must carry a time zone"),
    ({"start": date(2027, 5, 10)}, "must be a datetime"),
    ({"sequence": -1}, "SEQUENCE"),
    ({"sequence": True}, "SEQUENCE"),
    ({"uid": ""}, "UID must not be empty"),
    ({"uid": "a\r\nATTENDEE:mailto:x@example.test"}, "single line"),
    ({"title": "  "}, "title must not be empty"),
    ({"online_url": "javascript:alert(1)"}, "online link must be an http"),
    ({"url": "kizuna.example.test/meetings/1"}, "page's address must be an http"),
    ({"status": "POSTPONED"}, "POSTPONED"),
    ({"language": "ja jp"}, "not a language tag"),
])
def test_occurrence_refuses_bad_input_clearly(make_occurrence, overrides, message):
    with pytest.raises(CalendarError, match=message):
        make_occurrence(**overrides)


def test_calendar_error_is_a_value_error():
    assert issubclass(CalendarError, ValueError)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "Jane", "email": "not-an-address"}, "attendee's email is not an email address"),
    ({"name": "", "email": "jane@example.test"}, "attendee's name must not be empty"),
    ({"name": "Jane\nDoe", "email": "jane@example.test"}, "single line"),
    ({"name": "Jane", "email": "jane@example.test", "role": "BOSS"}, "BOSS"),
    ({"name": "Jane", "email": "jane@example.test", "partstat": "MAYBE"}, "MAYBE"),
    ({"name": "Jane", "email": "jane@example.test", "language": "日本語"}, "not a language tag"),
])
def test_attendee_refuses_bad_input_clearly(kwargs, message):
    with pytest.raises(CalendarError, match=message):
        Attendee(**kwargs)


def test_organizer_refuses_a_bad_address():
    with pytest.raises(CalendarError, match="organizer's email is not an email address"):
        Organizer("Office", "office at example.test")


def test_addresses_are_normalised_to_lower_case():
    assert Attendee("Jane", "Jane.Doe@Example.TEST").email == "jane.doe@example.test"


def test_a_cancelled_meeting_is_not_sent_as_a_request(make_occurrence, attendee):
    with pytest.raises(CalendarError, match="is cancelled: send cancel"):
        request(make_occurrence(status=Status.CANCELLED), attendee)


def test_the_organizer_is_not_invited_to_their_own_meeting(make_occurrence, organizer):
    with pytest.raises(CalendarError, match="organizes"):
        request(make_occurrence(), Attendee("Office", organizer.email))


def test_naive_dtstamp_is_refused(make_occurrence, attendee):
    with pytest.raises(CalendarError, match="DTSTAMP must carry a time zone"):
        request(make_occurrence(), attendee, stamp=datetime(2026, 1, 1))


def test_feed_refuses_two_events_with_one_uid(make_occurrence):
    with pytest.raises(CalendarError, match="two events share the UID meeting-41@kizuna.example.test"):
        publish([make_occurrence(), make_occurrence(sequence=1)], "Series")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": ""}, "calendar name must not be empty"),
    ({"name": "A\nB"}, "single line"),
    ({"name": "Feed", "refresh": timedelta(0)}, "refresh interval must be a positive"),
    ({"name": "Feed", "source": "webcal:/x"}, "feed's address must be an http"),
])
def test_feed_refuses_bad_settings(kwargs, message):
    with pytest.raises(CalendarError, match=message):
        publish([], **kwargs)


@pytest.mark.parametrize(("kind", "key", "host"), [("", "7", "kizuna.test"), ("meeting", "", "kizuna.test"),
                                                   ("meeting", "7", ""), ("meeting", "7", "a b"),
                                                   ("meeting", "x@y", "kizuna.test"), ("meet-ing", "7", "kizuna.test")])
def test_make_uid_refuses_what_would_not_be_stable(kind, key, host):
    with pytest.raises(CalendarError):
        make_uid(kind, key, host)


def test_make_uid_is_stable():
    assert make_uid("meeting", "7", "kizuna.example.test") == make_uid("meeting", "7", "kizuna.example.test") == \
        "meeting-7@kizuna.example.test"


# -- the ical.js harness itself ----------------------------------------------------------------------


def test_check_ics_refuses_a_tzid_without_its_vtimezone(make_occurrence, attendee, tmp_path):
    ics = request(make_occurrence(), attendee)
    start, end = ics.index(b"BEGIN:VTIMEZONE"), ics.index(b"END:VTIMEZONE\r\n") + len(b"END:VTIMEZONE\r\n")
    path = tmp_path / "no-vtimezone.ics"
    path.write_bytes(ics[:start] + ics[end:])
    result = subprocess.run([node_binary(), str(NODE_DIR / "check-ics.mjs"), str(path)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert "uses TZID Asia/Tokyo without a VTIMEZONE" in result.stderr


def test_check_ics_says_how_to_install_ical_js_when_it_is_missing(tmp_path):
    lonely = tmp_path / "check-ics.mjs"  # a copy with no node_modules beside it
    shutil.copy(NODE_DIR / "check-ics.mjs", lonely)
    (tmp_path / "x.ics").write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    result = subprocess.run([node_binary(), str(lonely), str(tmp_path / "x.ics")], capture_output=True,
                            text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 2
    assert "npm ci --prefix tests/e2e/node" in result.stderr


def test_a_feed_rebuilt_after_one_change_shows_the_change_and_keeps_the_rest(make_occurrence):
    """Events' text is kept between feeds (ical._published_event): a changed meeting must never read as before."""
    first = make_occurrence(uid="a@kizuna.example.test")
    second = make_occurrence(uid="b@kizuna.example.test", start=datetime(2027, 6, 1, 9, tzinfo=TOKYO))
    before = publish([first, second], "Series")
    assert publish([first, second], "Series") == before
    moved = make_occurrence(uid="b@kizuna.example.test", sequence=1, title="Moved meeting",
                            start=datetime(2027, 6, 2, 9, tzinfo=TOKYO), last_modified=CHANGED + timedelta(days=1))
    after = icalendar.Calendar.from_ical(publish([first, moved], "Series"))
    events = {str(e["UID"]): e for e in after.walk("VEVENT")}
    assert str(events["b@kizuna.example.test"]["SUMMARY"]) == "Moved meeting"
    assert int(events["b@kizuna.example.test"]["SEQUENCE"]) == 1
    assert events["b@kizuna.example.test"].decoded("DTSTART") == datetime(2027, 6, 2, 9, tzinfo=TOKYO)
    assert str(events["a@kizuna.example.test"]["SUMMARY"]) == "Senior officials meeting"
    assert [str(z["TZID"]) for z in after.walk("VTIMEZONE")] == ["Asia/Tokyo"]


def test_events_are_written_byte_for_byte_as_icalendar_writes_them(make_occurrence):
    """ical._Event skips icalendar's folding of lines it would leave alone: long, Japanese and exactly
    75-octet lines must come out as icalendar folds them."""
    from icalendar import Event

    from meetings import ical

    # "SUMMARY;LANGUAGE=en:" is 20 octets: 54 and 55 more make a line of 74 and 75, either side of folding.
    for title in ("Senior officials meeting", "東京都市間連携首脳会議" * 6, "x" * 54, "x" * 55, "y" * 200, "é" * 30):
        occurrence = make_occurrence(title=title, description="概要: " + "長い説明 " * 40)
        event = ical._event(occurrence, stamp=occurrence.last_modified, status=occurrence.status)
        assert event.to_ical() == Event.to_ical(event)
