"""The anniversaries feed: one yearly all-day event per live relationship, parsed back and expanded."""

from datetime import date, datetime

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlalchemy import select

from kizuna.extensions import db
from network import services

TODAY = date(2026, 11, 25)


@pytest.fixture
def ties(db_session):
    """Paris (sister city, 14 July 1982), Seoul (friendship, begun on 29 February 1988), NSW (month only),
    and an ended tie that the feed leaves out."""
    paris = services.create_partner(kind="city", name="Paris", name_ja="パリ市", country_code="FR", actor=None)
    seoul = services.create_partner(kind="city", name="Seoul", name_ja="ソウル特別市", country_code="KR", actor=None)
    nsw = services.create_partner(kind="subnational", name="New South Wales", country_code="AU", actor=None)
    rome = services.create_partner(kind="city", name="Rome", country_code="IT", actor=None)
    found = {
        "paris": services.add_relationship(partner_id=paris.id, kind="sister_city", started_on=date(1982, 7, 14),
                                           actor=None, today=TODAY),
        "seoul": services.add_relationship(partner_id=seoul.id, kind="friendship_city",
                                           started_on=date(1988, 2, 29), actor=None, today=TODAY),
        "nsw": services.add_relationship(partner_id=nsw.id, kind="friendship_state", started_on=date(1991, 5, 1),
                                         started_precision="month", status="dormant", status_since=date(2020, 4, 1),
                                         reason="No exchanges.", actor=None, today=TODAY),
        "rome": services.add_relationship(partner_id=rome.id, kind="sister_city", started_on=date(1996, 7, 1),
                                          status="ended", status_since=date(2010, 1, 1), reason="Ended.",
                                          actor=None, today=TODAY),
    }
    db.session.commit()
    return found


def fetch(client, path="/network/anniversaries.ics"):
    response = client.get(path)
    assert response.status_code == 200
    return response, Calendar.from_ical(response.data)


def events_by_uid(cal) -> dict:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_the_feed_is_a_named_calendar_download(as_role, ties):
    response, cal = fetch(as_role("viewer"))
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="anniversaries.ics"'
    assert (str(cal["VERSION"]), str(cal["X-WR-CALNAME"])) == ("2.0", "Relationship anniversaries")
    assert b"\r\n" in response.data and all(len(line) <= 75 for line in response.data.split(b"\r\n"))


def test_one_all_day_yearly_event_per_live_relationship_with_a_stable_uid(as_role, ties):
    client = as_role("viewer")
    _, cal = fetch(client)
    events = events_by_uid(cal)
    assert set(events) == {f"relationship-{ties[k].id}@kizuna.test" for k in ("paris", "seoul", "nsw")}
    paris = events[f"relationship-{ties['paris'].id}@kizuna.test"]
    assert paris.decoded("DTSTART") == date(1982, 7, 14) and not isinstance(paris.decoded("DTSTART"), datetime)
    assert paris["RRULE"].to_ical() == b"FREQ=YEARLY"
    assert str(paris["SUMMARY"]) == "Anniversary: Paris (Sister city)"
    assert "Sister city relationship with Paris (France), since July 14, 1982." in str(paris["DESCRIPTION"])
    assert str(paris["TRANSP"]) == "TRANSPARENT" and "DTSTAMP" in paris
    assert set(events_by_uid(fetch(client)[1])) == set(events)  # the same UIDs on every download


def test_month_precision_and_status_are_told_in_the_description(as_role, ties):
    _, cal = fetch(as_role("viewer"))
    nsw = str(events_by_uid(cal)[f"relationship-{ties['nsw'].id}@kizuna.test"]["DESCRIPTION"])
    assert "since May 1991." in nsw and "only the month or the year" in nsw and "Status: Dormant" in nsw


def test_a_leap_day_tie_falls_on_28_february_in_common_years(as_role, ties):
    response, cal = fetch(as_role("viewer"))
    seoul = events_by_uid(cal)[f"relationship-{ties['seoul'].id}@kizuna.test"]
    assert seoul.decoded("DTSTART") == date(1988, 2, 29)
    # read from the raw text too, not only through icalendar: the parts in any order
    rrules = [line[6:] for line in response.data.decode().split("\r\n") if line.startswith("RRULE:")]
    assert sorted(sorted(r.split(";")) for r in rrules) == [
        ["BYMONTH=2", "BYMONTHDAY=-1", "FREQ=YEARLY"], ["FREQ=YEARLY"], ["FREQ=YEARLY"]]
    rule = rrulestr(seoul["RRULE"].to_ical().decode(), dtstart=datetime(1988, 2, 29))
    days = [d.date() for d in rule.between(datetime(2027, 1, 1), datetime(2028, 12, 31), inc=True)]
    assert days == [date(2027, 2, 28), date(2028, 2, 29)]
    # the same days the registry's own reckoning gives
    assert days == [services.anniversary_of(date(1988, 2, 29), y) for y in (2027, 2028)]


def test_an_ordinary_day_repeats_on_that_day(as_role, ties):
    _, cal = fetch(as_role("viewer"))
    paris = events_by_uid(cal)[f"relationship-{ties['paris'].id}@kizuna.test"]
    rule = rrulestr(paris["RRULE"].to_ical().decode(), dtstart=datetime(1982, 7, 14))
    assert [d.date() for d in rule.between(datetime(2027, 1, 1), datetime(2028, 12, 31))] == [
        date(2027, 7, 14), date(2028, 7, 14)]


def test_japanese_readers_get_it_in_japanese(as_role, ties):
    _, cal = fetch(as_role("viewer", language="ja"))
    paris = events_by_uid(cal)[f"relationship-{ties['paris'].id}@kizuna.test"]
    assert str(paris["SUMMARY"]) == "周年記念: パリ市（姉妹都市）"
    assert str(cal["X-WR-CALNAME"]) == "交流関係の周年記念日"


def test_an_empty_registry_gives_an_empty_calendar(as_role, db_session):
    _, cal = fetch(as_role("viewer"))
    assert cal.walk("VEVENT") == []


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_only_staff_may_download_it(as_role, ties, role):
    assert as_role(role).get("/network/anniversaries.ics").status_code == 403


def test_tokyos_real_network_new_york_is_marked_on_28_february_2027(as_role, db_session):
    from network.demo import seed_tokyo
    from network.models import Relationship, RelationshipStatus

    assert seed_tokyo()
    db.session.commit()
    live = db.session.scalars(select(Relationship).where(Relationship.status != RelationshipStatus.ENDED)).all()
    _, cal = fetch(as_role("viewer"))
    events = events_by_uid(cal)
    assert len(events) == len(live) > 10
    [new_york] = [e for e in events.values() if str(e["SUMMARY"]) == "Anniversary: New York City (Sister city)"]
    assert new_york.decoded("DTSTART") == date(1960, 2, 29)
    rule = rrulestr(new_york["RRULE"].to_ical().decode(), dtstart=datetime(1960, 2, 29))
    assert [d.date() for d in rule.between(datetime(2027, 1, 1), datetime(2028, 12, 31))] == [
        date(2027, 2, 28), date(2028, 2, 29)]
