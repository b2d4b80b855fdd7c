"""The scheduling assistant's page: staff choose partner cities and days, and read each city's local time per
proposed start, right across a clock change; bad input lands at its field."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from meetings import services
from network.models import City

WEEK = {"first_day": "2026-10-21", "last_day": "2026-10-27", "duration": "60", "hours_start": "08:00",
        "hours_end": "20:00", "host_zone": "Asia/Tokyo"}


def reference_city(name: str, country: str) -> City:
    return db.session.scalars(select(City).where(City.name == name, City.country_code == country)
                              .order_by(City.population.desc())).first()


@pytest.fixture
def paris_and_new_york(make_partner):
    paris = make_partner(name="Paris", country_code="FR", city_id=reference_city("Paris", "FR").id)
    new_york = make_partner(name="New York City", country_code="US",
                            city_id=reference_city("New York City", "US").id)
    db.session.commit()
    return paris, new_york


def page(client, **args):
    query = urlencode(args, doseq=True)
    return client.get(f"/meetings/schedule?{query}")


def row(html: str, start: str) -> str:
    match = re.search(r"<tr>\s*<th scope=\"row\">" + re.escape(start) + r".*?</tr>", html, re.S)
    assert match, f"no proposal starting {start}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))).strip()


def error_at(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    assert match, f"no error shown at {field_id}"
    return match.group(1).strip()


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_staff_see_the_form_with_the_partners_that_have_a_zone(as_role, paris_and_new_york, make_partner, role):
    make_partner(name="Nowhere Prefecture")  # no reference city: no zone to schedule with
    response = as_role(role).get("/meetings/schedule")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Paris (Europe/Paris)" in html and "New York City (America/New York)" in html
    assert "Nowhere Prefecture" not in html
    assert "Tokyo (the home city, Asia/Tokyo) is always included." in html
    assert 'value="08:00"' in html and 'value="20:00"' in html
    assert "Proposed start times" not in html  # nothing asked yet


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_delegates_and_liaisons_are_refused(as_role, role):
    assert as_role(role).get("/meetings/schedule?" + urlencode(WEEK)).status_code == 403


def test_a_week_over_the_european_clock_change_shows_each_city_its_own_time(as_role, paris_and_new_york):
    """25 October 2026 Paris leaves summer time (New York does on 1 November): 19:00 in Tokyo is 12:00 in Paris on
    Friday and 11:00 on Monday, 06:00 in New York both days."""
    paris, new_york = paris_and_new_york
    response = page(as_role("viewer"), cities=[paris.id, new_york.id], weekdays_only="y", **WEEK)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<th scope="col">Tokyo</th>\s*<th scope="col">Paris</th>\s*<th scope="col">New York City</th>',
                     html)
    assert row(html, "Fri, Oct 23, 2026 19:00") == (
        "Fri, Oct 23, 2026 19:00 (JST, UTC+09:00) 2 of 3"
        " Fri, Oct 23, 2026 19:00–20:00 (JST, UTC+09:00) inside working hours"
        " Fri, Oct 23, 2026 12:00–13:00 (CEST, UTC+02:00) inside working hours"
        " Fri, Oct 23, 2026 06:00–07:00 (EDT, UTC-04:00) outside working hours")
    monday = row(html, "Mon, Oct 26, 2026 19:00")
    assert "11:00–12:00 (CET, UTC+01:00) inside working hours" in monday
    assert "06:00–07:00 (EDT, UTC-04:00) outside working hours" in monday
    assert "Sat, Oct 24" not in html and "Sun, Oct 25" not in html  # weekdays only
    assert html.count('<th scope="row">') == 20
    assert "Clocks change during these days in: Paris (from CEST, UTC+02:00 to CET, UTC+01:00)." in html


def test_a_japanese_reader_reads_the_dates_in_japanese(as_role, paris_and_new_york):
    paris, _ = paris_and_new_york
    html = page(as_role("viewer", language="ja"), cities=[paris.id], **WEEK).get_data(as_text=True)
    assert "2026年10月21日(水) 12:00–13:00 (CEST, UTC+02:00)" in row(html, "2026年10月21日(水) 19:00")


def test_the_home_city_alone_is_enough_and_the_result_can_be_bookmarked(as_role):
    client = as_role("viewer")
    args = {**WEEK, "first_day": "2026-10-23", "last_day": "2026-10-23"}
    first = page(client, **args).get_data(as_text=True)
    again = page(client, **args).get_data(as_text=True)
    assert row(first, "Fri, Oct 23, 2026 08:00") == row(again, "Fri, Oct 23, 2026 08:00")
    assert "1 of 1" in row(first, "Fri, Oct 23, 2026 08:00")
    assert "Clocks change" not in first  # Tokyo keeps no summer time


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"first_day": "2026-10-27", "last_day": "2026-10-21"}, "last_day", "The last day comes before the first day."),
    ({"hours_start": "21:00", "hours_end": "09:00"}, "hours_end", "Working hours must start before they end"),
    ({"first_day": ""}, "first_day", "Enter the first day."),
    ({"duration": "600"}, "duration", "Not a valid choice"),
    ({"last_day": "2026-12-31"}, "last_day", "choose at most 31"),
    ({"host_zone": "Mars/Olympus_Mons"}, "host_zone", "Not a valid choice"),
])
def test_bad_input_is_answered_at_its_field(as_role, paris_and_new_york, change, field, message):
    paris, _ = paris_and_new_york
    response = page(as_role("editor"), cities=[paris.id], **{**WEEK, **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in error_at(html, field)
    assert 'class="error-summary"' in html and f'href="#{field}"' in html
    assert 'aria-invalid="true"' in html
    assert "Proposed start times" not in html


def test_no_city_at_all_is_answered_at_the_cities(app, as_role, monkeypatch):
    """Without a home city (reference data not loaded for it) and no partner ticked there is nothing to compare."""
    client = as_role("viewer")
    monkeypatch.setitem(app.config, "HOME_CITY", "999999999")
    app.extensions.pop("network.home_city_id", None)
    try:
        response = page(client, **WEEK)
    finally:
        app.extensions.pop("network.home_city_id", None)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose at least one city." in error_at(html, "cities")


def test_an_unknown_partner_is_refused_at_the_cities(as_role):
    response = page(as_role("viewer"), cities=["999999"], **WEEK)
    assert response.status_code == 422
    assert "Choose among the partner cities listed." in error_at(response.get_data(as_text=True), "cities")


def test_from_a_meeting_its_invited_cities_are_ticked_and_its_zone_is_the_host_zone(as_role, paris_and_new_york):
    paris, new_york = paris_and_new_york
    meeting = services.create_meeting(
        actor=None, titles={"en": "Working-level online meeting"}, tier="working_level", format="online",
        timezone="Europe/Paris", starts_at=datetime(2027, 5, 10, 9, 0),
        ends_at=datetime(2027, 5, 10, 10, 30), online_url="https://meet.example.org/wl")
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    services.invite(meeting_id=meeting.id, email="head@paris.example.org", partner_id=paris.id, actor=None)
    db.session.commit()
    client = as_role("viewer")
    detail = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f'href="/meetings/schedule?meeting={meeting.id}"' in detail

    html = client.get(f"/meetings/schedule?meeting={meeting.id}").get_data(as_text=True)
    assert re.search(rf'<input checked id="cities-\d+" name="cities" type="checkbox" value="{paris.id}">', html)
    assert not re.search(rf'<input checked[^>]*value="{new_york.id}"', html)
    assert '<option selected value="Europe/Paris">' in html
    assert 'value="2027-05-10"' in html and 'value="2027-05-16"' in html
    assert '<option selected value="90">' in html
    assert "Working-level online meeting" in html

    response = page(client, meeting=meeting.id, cities=[paris.id], **{**WEEK, "host_zone": ""})
    assert response.status_code == 200
    assert "Start (Europe/Paris)" in response.get_data(as_text=True)


def test_in_person_meetings_do_not_offer_the_assistant(as_role):
    meeting = services.create_meeting(
        actor=None, titles={"en": "Leaders' meeting"}, tier="leaders", format="in_person", timezone="Asia/Tokyo",
        starts_at=datetime(2027, 5, 10, 9, 0), ends_at=datetime(2027, 5, 10, 17, 0), venue="City Hall")
    db.session.commit()
    assert "/meetings/schedule" not in as_role("viewer").get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_an_unknown_meeting_is_not_found(as_role):
    assert as_role("viewer").get("/meetings/schedule?meeting=999999").status_code == 404
