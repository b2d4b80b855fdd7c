"""A real CalDAV server (Radicale on loopback) stores the meeting files we write and gives back the same event."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest
import requests

from meetings.ical import Occurrence, Organizer, Status, publish
from tests.worker_sink import wait_for_port

USER = ("alice", "x")  # Radicale runs with --auth-type none: any password, the user names the collection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    """Radicale on a free loopback port with a storage folder of its own; yields its base URL."""
    port, store = free_port(), tmp_path_factory.mktemp("radicale")
    log = (store / "radicale.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(store / "collections"), "--auth-type", "none",
         "--logging-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(proc, port, "radicale", log=lambda: (store / "radicale.log").read_text())
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    log.close()


def collection(base: str, name: str) -> str:
    url = f"{base}/{USER[0]}/{name}/"
    answer = requests.request("MKCALENDAR", url, auth=USER, timeout=10)
    assert answer.status_code == 201, answer.text
    return url


def occurrence(**overrides) -> Occurrence:
    start = overrides.pop("start", datetime(2027, 11, 4, 10, tzinfo=ZoneInfo("Asia/Tokyo")))
    values = dict(uid="meeting-9@kizuna.example.test", sequence=2, title="東京都市間首脳会議 2027", start=start,
                  end=start + timedelta(hours=3), zone="Asia/Tokyo",
                  organizer=Organizer("東京都 国際交流課", "intl@metro.example.test"),
                  last_modified=datetime(2026, 11, 25, 9, tzinfo=UTC), location="東京都庁第一本庁舎",
                  online_url="https://meet.example.test/j/9", url="https://kizuna.example.test/meetings/9")
    values.update(overrides)
    return Occurrence(**values)


def test_radicale_stores_the_per_meeting_file_with_its_uid_and_start(radicale):
    occ = occurrence()
    url = collection(radicale, "meetings") + "meeting-9.ics"
    put = requests.put(url, data=publish([occ], occ.title), auth=USER, timeout=10,
                       headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert put.status_code == 201, put.text

    got = requests.get(url, auth=USER, timeout=10)
    assert got.status_code == 200
    [event] = icalendar.Calendar.from_ical(got.content).events
    assert str(event["UID"]) == occ.uid and event["SEQUENCE"] == 2
    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert event.decoded("DTSTART") == occ.start and event.decoded("DTEND") == occ.end
    assert str(event["SUMMARY"]) == occ.title


def test_radicale_takes_an_update_under_the_same_uid(radicale):
    url = collection(radicale, "updates") + "meeting-9.ics"
    first = occurrence()
    paris = datetime(2027, 3, 28, 10, tzinfo=ZoneInfo("Europe/Paris"))
    moved = occurrence(sequence=3, start=paris, zone="Europe/Paris")
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    assert requests.put(url, data=publish([first], "m"), auth=USER, headers=headers, timeout=10).status_code == 201
    again = requests.put(url, data=publish([moved], "m"), auth=USER, headers=headers, timeout=10)
    assert again.status_code == 204, again.text
    [event] = icalendar.Calendar.from_ical(requests.get(url, auth=USER, timeout=10).content).events
    assert str(event["UID"]) == first.uid and event["SEQUENCE"] == 3
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 28, 8, tzinfo=UTC)


def test_caldav_client_saves_and_lists_the_meeting(radicale):
    client = caldav.DAVClient(url=radicale + "/", username="bob", password="x")
    calendar = client.principal().make_calendar(name="Kizuna", cal_id="kizuna")
    occ = occurrence(uid="meeting-10@kizuna.example.test", status=Status.TENTATIVE,
                     start=datetime(2027, 7, 1, 9, tzinfo=ZoneInfo("America/New_York")), zone="America/New_York")
    calendar.save_event(publish([occ], occ.title).decode("utf-8"))

    [found] = calendar.events()
    event = found.icalendar_component
    assert str(event["UID"]) == occ.uid and event["STATUS"] == "TENTATIVE"
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2027, 7, 1, 13, tzinfo=UTC)
    [by_uid] = [calendar.event_by_uid(occ.uid)]
    assert by_uid.icalendar_component["DTSTART"].params["TZID"] == "America/New_York"


def test_radicale_refuses_a_file_without_uid(radicale):
    # The harness's own check: the server really validates what it is given, so the passes above mean something.
    url = collection(radicale, "refusals") + "broken.ics"
    broken = publish([occurrence()], "m").replace(b"UID:meeting-9@kizuna.example.test\r\n", b"")
    answer = requests.put(url, data=broken, auth=USER, timeout=10,
                          headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert answer.status_code == 400
