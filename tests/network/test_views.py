"""The registry's pages: the city reference, the registry home, partners, relationships, agreements, timeline."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from network import demo, services
from network.models import (
    Agreement,
    CooperationArea,
    DatePrecision,
    Partner,
    Relationship,
    RelationshipStatus,
    RelationshipStatusChange,
)
from tests.conftest import csrf_token


def test_staff_search_cities_by_any_name_on_the_page(as_role):
    response = as_role("viewer").get("/network/cities", query_string={"q": "東京", "country": "jp"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tokyo" in html and "Asia/Tokyo" in html and 'data-city-autocomplete="/api/v1/cities"' in html


def test_external_accounts_may_not_open_the_city_reference(as_role):
    assert as_role("delegate").get("/network/cities?q=tok").status_code == 403


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def tokyo(db_session):
    """Tokyo's real network, as `kizuna demo` seeds it."""
    assert demo.seed_tokyo()
    db.session.commit()
    return {p.name: p for p in db.session.scalars(select(Partner))}


def post(client, path: str, data: dict, form_path: str | None = None):
    """Post `data` the way the browser posts the form at `form_path` (default: `path`), with its CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_path or path)})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def error_at(html: str, field_id: str) -> str:
    """The error text shown under the field with this id."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    assert match, f"no error shown at {field_id}"
    return match.group(1).strip()


# -- the registry home, search and timeline ---------------------------------------------------


def test_home_shows_counts_expiries_anniversaries_and_the_map_with_its_table(as_role, tokyo):
    client = as_role("viewer")
    html = client.get("/network/").get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html
    assert "<caption>Places on the map</caption>" in html
    # Moscow's exchanges are suspended: a live tie, on the map and in the table; Paris too.
    assert f'href="/network/partners/{tokyo["Moscow"].id}"' in html and "Exchanges suspended" in html
    assert ">Paris</a>" in html
    assert "Partners by kind" in html and "Relationships by status" in html


def test_home_lists_an_anniversary_with_its_years(as_role, tokyo):
    today = services.local_today()
    partner = tokyo["Paris"]
    relationship = partner.relationships[0]
    start = relationship.started_on
    relationship.started_on = start.replace(year=today.year - 30, month=(today + timedelta(days=10)).month,
                                            day=(today + timedelta(days=10)).day)
    db.session.commit()
    html = as_role("viewer").get("/network/").get_data(as_text=True)
    section = html.split('id="anniversaries-h"')[1].split("</section>")[0]
    assert ">Paris</a>" in section and '<td class="num">30</td>' in section


def test_home_lists_agreements_expiring_within_180_days(as_role, tokyo):
    today = services.local_today()
    agreement = services.create_agreement(title="Soon-ending MOU", kind="mou", party_ids=[tokyo["Seoul"].id],
                                          signed_on=today - timedelta(days=300),
                                          expires_on=today + timedelta(days=100), actor=None)
    db.session.commit()
    html = as_role("viewer").get("/network/").get_data(as_text=True)
    section = html.split('id="expiring-h"')[1].split("</section>")[0]
    assert f'/network/agreements/{agreement.id}">Soon-ending MOU</a>' in section


def ties(make_partner, n: int, *, country_code: str = "JP", first_day: date | None = None) -> list[Partner]:
    """n partners with a sister-city tie each, begun 20 years before one of the next n days from first_day."""
    first_day = first_day or services.local_today() + timedelta(days=1)
    made = []
    for i in range(n):
        partner = make_partner(name=f"Tie {country_code} {i:03d}", country_code=country_code)
        day = first_day + timedelta(days=i % 60)
        services.add_relationship(partner_id=partner.id, kind="sister_city", actor=None,
                                  started_on=day.replace(year=day.year - 20) if (day.month, day.day) != (2, 29)
                                  else date(day.year - 20, 2, 28))
        made.append(partner)
    db.session.commit()
    return made


def test_home_lists_the_first_ten_anniversaries_and_links_to_all(as_role, make_partner, db_session):
    ties(make_partner, 12)
    client = as_role("viewer")
    html = client.get("/network/").get_data(as_text=True)
    section = html.split('id="anniversaries-h"')[1].split("</section>")[0]
    assert "12 anniversaries · the first 10" in section
    assert section.count("<tr><td>") == 10 and "Tie JP 000" in section and "Tie JP 011" not in section
    assert 'href="/network/anniversaries?days=90">All 12 anniversaries</a>' in section
    assert 'href="/network/anniversaries.ics"' in section
    page = client.get("/network/anniversaries?days=90").get_data(as_text=True)
    assert "12 anniversaries in the next 90 days" in page and page.count('<td class="num">20</td>') == 12


def test_the_anniversaries_page_pages_and_chooses_its_window(as_role, make_partner, db_session):
    ties(make_partner, 40)  # one a day, from tomorrow to 40 days ahead
    client = as_role("viewer")
    first = client.get("/network/anniversaries?days=90").get_data(as_text=True)
    assert "40 anniversaries in the next 90 days" in first and "Page 1 of 2" in first
    assert first.count('<td class="num">20</td>') == 25 and 'rel="next"' in first
    second = client.get("/network/anniversaries?days=90&page=2").get_data(as_text=True)
    assert second.count('<td class="num">20</td>') == 15 and "Tie JP 039" in second
    month = client.get("/network/anniversaries?days=30").get_data(as_text=True)
    assert "30 anniversaries in the next 30 days" in month and "Tie JP 030" not in month
    # A window not offered falls back to 90 days rather than failing.
    assert "40 anniversaries in the next 90 days" in client.get("/network/anniversaries?days=7").get_data(as_text=True)
    beyond = client.get("/network/anniversaries?days=90&page=9").get_data(as_text=True)
    assert "No anniversary in that time." in beyond


def test_a_map_of_many_places_is_described_by_country(as_role, make_partner, db_session):
    ties(make_partner, 200, country_code="US")
    ties(make_partner, 101, country_code="FR")
    html = as_role("viewer").get("/network/").get_data(as_text=True)
    section = html.split('id="map-h"')[1].split("</section>")[0]
    assert "301 places on the map, by country" in section
    rows = re.findall(r'<tr><th scope="row"><a href="/network/partners\?country=(\w\w)">([^<]+)</a></th>'
                      r'<td class="num">(\d+)</td><td>([^<]+)</td></tr>', section)
    assert rows == [("US", "United States", "200", "Sister city 200"), ("FR", "France", "101", "Sister city 101")]
    assert section.count("<circle") + section.count("<path") >= 301  # every place is still drawn


def test_the_map_follows_every_change_of_the_ties(as_role, make_partner, db_session):
    [partner] = ties(make_partner, 1)
    client = as_role("viewer")
    assert ">Tie JP 000</a>" in client.get("/network/").get_data(as_text=True)
    services.update_partner(partner_id=partner.id, name="Renamed Tie", kind="city", country_code="JP", actor=None)
    db.session.commit()
    assert ">Renamed Tie</a>" in client.get("/network/").get_data(as_text=True)
    services.change_relationship_status(relationship_id=partner.relationships[0].id, status="ended",
                                        effective_on=services.local_today(), reason="Test", actor=None)
    db.session.commit()
    html = client.get("/network/").get_data(as_text=True)
    assert "Renamed Tie" not in html.split('id="map-h"')[1] and "No live relationship to show yet." in html


def test_search_finds_partners_agreements_embassies_and_networks(as_role, tokyo):
    client = as_role("viewer")
    html = client.get("/network/search", query_string={"q": "paris"}).get_data(as_text=True)
    assert f'/network/partners/{tokyo["Paris"].id}"' in html
    assert "Embassy of France" not in html
    assert "Embassy of France" in client.get("/network/search?q=France").get_data(as_text=True)
    assert "C40" in client.get("/network/search?q=c40").get_data(as_text=True)


def test_timeline_by_year_newest_first_and_by_partner(as_role, tokyo):
    client = as_role("viewer")
    html = client.get("/network/timeline").get_data(as_text=True)
    years = [int(y) for y in re.findall(r'<h2 id="y-(\d{4})">', html)]
    assert years == sorted(years, reverse=True) and 1960 in years
    moscow = tokyo["Moscow"]
    html = client.get("/network/timeline", query_string={"partner": moscow.id}).get_data(as_text=True)
    assert "Exchanges suspended" in html and "Paris" not in html.split("<h1>")[1].split("</form>")[1]


# -- partners ----------------------------------------------------------------------------------


def test_partner_list_filters_sorts_and_searches_in_any_script(as_role, tokyo):
    client = as_role("viewer")
    html = client.get("/network/partners", query_string={"q": "ソウル"}).get_data(as_text=True)
    assert ">ソウル特別市<" not in html and ">Seoul</a>" in html and "1 partner" in html
    html = client.get("/network/partners", query_string={"q": "Москва"}).get_data(as_text=True)
    assert ">Moscow</a>" in html and "1 partner" in html
    html = client.get("/network/partners", query_string={"status": "exchanges_suspended"}).get_data(as_text=True)
    assert ">Moscow</a>" in html and ">Tomsk Region</a>" in html and ">Paris</a>" not in html
    html = client.get("/network/partners", query_string={"kind": "subnational"}).get_data(as_text=True)
    assert ">New South Wales</a>" in html and ">Paris</a>" not in html
    html = client.get("/network/partners", query_string={"country": "gb"}).get_data(as_text=True)
    assert ">London</a>" in html and ">Paris</a>" not in html
    html = client.get("/network/partners", query_string={"region": "EU"}).get_data(as_text=True)
    assert ">Paris</a>" in html and ">Moscow</a>" in html and ">Seoul</a>" not in html
    html = client.get("/network/partners", query_string={"sort": "since"}).get_data(as_text=True)
    assert html.index(">New York City</a>") < html.index(">Beijing</a>") < html.index(">Dubai</a>")


def test_partner_list_is_paginated(as_role, tokyo, make_partner):
    for i in range(30):
        make_partner(name=f"Zz Town {i:02d}")
    db.session.commit()
    client = as_role("viewer")
    first = client.get("/network/partners").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/network/partners?page=2").get_data(as_text=True)
    assert "Zz Town 29" in second and "Zz Town 29" not in first


def test_partner_page_shows_names_history_with_reasons_and_agreements(as_role, tokyo):
    moscow = tokyo["Moscow"]
    html = as_role("viewer").get(f"/network/partners/{moscow.id}").get_data(as_text=True)
    assert "Москва" in html and "モスクワ市" in html and "Russian Federation" in html
    assert "Exchanges suspended in solidarity with Ukraine" in html
    assert "March 11, 2022" in html
    assert "Change the status" not in html and "Edit the partner" not in html  # read-only for a viewer


def test_an_editor_sees_the_links_to_change_a_partner(as_role, tokyo):
    html = as_role("editor").get(f"/network/partners/{tokyo['Moscow'].id}").get_data(as_text=True)
    assert "Change the status of the" in html and "Edit the partner" in html and "Add a relationship" in html


def test_editor_creates_a_partner_then_edits_it(as_role, reference_data):
    client = as_role("editor")
    response = post(client, "/network/partners/new", {
        "kind": "city", "name": "Zürich", "local_name": "", "name_ja": "チューリッヒ", "country_code": "CH",
        "city": "Zürich, CH", "subdivision_code": "", "website": "", "notes": ""})
    assert response.status_code == 303
    partner = db.session.scalar(select(Partner).where(Partner.name == "Zürich"))
    assert response.location.endswith(f"/network/partners/{partner.id}")
    assert partner.city.name == "Zürich" and partner.name_ja == "チューリッヒ"
    page = client.get(response.location).get_data(as_text=True)
    assert "Zürich is in the registry." in page

    path = f"/network/partners/{partner.id}/edit"
    assert 'value="Zürich, CH"' in client.get(path).get_data(as_text=True)
    response = post(client, path, {"kind": "city", "name": "Zurich", "name_ja": "チューリッヒ", "country_code": "CH",
                                   "city": "Zürich, CH", "notes": "renamed"})
    assert response.status_code == 303
    db.session.refresh(partner)
    assert partner.name == "Zurich" and partner.notes == "renamed"


SPRINGFIELD_MA, SPRINGFIELD_MO = 4951788, 4409896  # the Missouri one is larger


def test_a_city_chosen_among_the_suggestions_stays_chosen_over_a_larger_namesake(as_role, reference_data):
    client = as_role("editor")
    fields = {"kind": "city", "name": "Springfield, Massachusetts", "country_code": "US", "city": "Springfield, US"}
    assert post(client, "/network/partners/new", {**fields, "city_id": str(SPRINGFIELD_MA)}).status_code == 303
    partner = db.session.scalar(select(Partner).where(Partner.name == "Springfield, Massachusetts"))
    assert partner.city_id == SPRINGFIELD_MA  # "Springfield, US" alone names the larger one, in Missouri
    path = f"/network/partners/{partner.id}/edit"
    form = client.get(path).get_data(as_text=True)
    assert f'id="city_id" name="city_id" type="hidden" value="{SPRINGFIELD_MA}"' in form
    assert 'role="combobox"' in form and 'data-city-id-input="city_id"' in form
    assert 'aria-controls="city-suggestions"' in form
    # Saved as it is, the Massachusetts city is kept.
    assert post(client, path, {**fields, "notes": "kept", "city_id": str(SPRINGFIELD_MA)}).status_code == 303
    db.session.refresh(partner)
    assert partner.city_id == SPRINGFIELD_MA and partner.notes == "kept"
    # Typed over without scripts (the hidden id is stale): the text decides.
    assert post(client, path, {**fields, "city": "Boston, US", "city_id": str(SPRINGFIELD_MA)}).status_code == 303
    db.session.refresh(partner)
    assert partner.city.name == "Boston"
    assert post(client, path, {**fields, "city_id": ""}).status_code == 303
    db.session.refresh(partner)
    assert partner.city_id == SPRINGFIELD_MO


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"country_code": "XX"}, "country_code", "XX is not an ISO 3166 country code."),
    ({"city": "Atlantis, CH"}, "city", "No reference city is called Atlantis, CH"),
    ({"city": "Paris, FR"}, "city", "Paris is in FR, not in CH."),
    ({"subdivision_code": "AU-NSW"}, "subdivision_code", "AU-NSW is not a subdivision of CH."),
    ({"name": ""}, "name", "This field is required."),
])
def test_bad_partner_input_is_answered_at_the_field_and_nothing_is_saved(as_role, reference_data, data, field,
                                                                          message):
    client = as_role("editor")
    before = count(Partner)
    response = post(client, "/network/partners/new", {"kind": "city", "name": "Bern", "country_code": "CH", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(Partner) == before


def test_a_duplicate_partner_is_refused_at_its_name(as_role, tokyo):
    client = as_role("editor")
    response = post(client, "/network/partners/new", {"kind": "city", "name": "paris", "country_code": "FR"})
    assert response.status_code == 422
    assert "paris (FR) is already in the registry." in error_at(response.get_data(as_text=True), "name")


def test_editor_adds_a_relationship_with_a_month_precision_start(as_role, tokyo):
    client = as_role("editor")
    partner = tokyo["Abu Dhabi"]
    path = f"/network/partners/{partner.id}/relationships/new"
    response = post(client, path, {"kind": "cooperation", "started_on": "2017-10", "status": "active"})
    assert response.status_code == 303
    relationship = db.session.scalar(select(Relationship).where(Relationship.partner_id == partner.id,
                                                                Relationship.kind == "cooperation"))
    assert relationship.started_on == date(2017, 10, 1)
    assert relationship.started_precision == DatePrecision.MONTH
    assert "since October 2017" in client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"started_on": "2999-01-01"}, "started_on", "is in the future"),
    ({"started_on": "17/10/2017"}, "started_on", "is not a date (write 2024-05-14, 2024-05 or 2024)."),
    ({"status": "dormant", "status_since": "2000-01-01"}, "status_since",
     "The status cannot change before the relationship began."),
    ({"kind": "friendship_city"}, "kind", "already has this kind of relationship"),
])
def test_bad_relationship_input_is_answered_at_the_field(as_role, tokyo, data, field, message):
    client = as_role("editor")
    partner = tokyo["Paris"]  # a friendship city since 1982
    before = count(Relationship)
    response = post(client, f"/network/partners/{partner.id}/relationships/new",
                    {"kind": "cooperation", "started_on": "2010-05-01", "status": "active", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(Relationship) == before


def test_editor_suspends_resumes_and_ends_a_relationship_and_an_ended_one_offers_no_change(as_role, tokyo):
    client = as_role("editor")
    relationship = tokyo["Rome"].relationships[0]
    path = f"/network/relationships/{relationship.id}/status"
    assert post(client, path, {"status": "exchanges_suspended", "effective_on": "2023-01-10",
                               "reason": "Budget review"}).status_code == 303
    assert post(client, path, {"status": "active", "effective_on": "2024-02-01", "reason": ""}).status_code == 303
    response = post(client, path, {"status": "ended", "effective_on": "2025-03-01", "reason": "Mutual decision"})
    assert response.status_code == 303
    db.session.refresh(relationship)
    assert relationship.status == RelationshipStatus.ENDED and relationship.ended_on == date(2025, 3, 1)
    assert [c.status for c in relationship.history][-3:] == ["exchanges_suspended", "active", "ended"]
    page = client.get(f"/network/partners/{tokyo['Rome'].id}").get_data(as_text=True)
    assert "Budget review" in page and "Mutual decision" in page and "This relationship has ended" in page
    status_page = client.get(path).get_data(as_text=True)
    assert 'name="status"' not in status_page and "This relationship has ended" in status_page
    changes = count(RelationshipStatusChange)
    token = csrf_token(client, f"/network/partners/{tokyo['Rome'].id}")
    response = client.post(path, data={"status": "active", "effective_on": "2025-04-01", "csrf_token": token})
    assert response.status_code == 422 and count(RelationshipStatusChange) == changes


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"effective_on": "2999-01-01"}, "effective_on", "is in the future"),
    ({"effective_on": "1990-01-01"}, "effective_on", "cannot precede the last recorded one"),
    ({"reason": ""}, "reason", "This field is required."),
])
def test_bad_status_change_is_answered_at_the_field(as_role, tokyo, data, field, message):
    client = as_role("editor")
    relationship = tokyo["Rome"].relationships[0]
    response = post(client, f"/network/relationships/{relationship.id}/status",
                    {"status": "dormant", "effective_on": "2024-01-01", "reason": "No exchanges", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    db.session.refresh(relationship)
    assert relationship.status == RelationshipStatus.ACTIVE


# -- agreements --------------------------------------------------------------------------------


def test_agreement_page_shows_precision_dates_and_the_chain_both_ways(as_role, tokyo):
    client = as_role("viewer")
    london = tokyo["City of London Corporation"]
    first, revision = db.session.scalars(select(Agreement).where(Agreement.parties.any(Partner.id == london.id))
                                         .order_by(Agreement.signed_on)).all()
    html = client.get(f"/network/agreements/{first.id}").get_data(as_text=True)
    assert "December 4, 2017" in html and "48 months" in html and "December 4, 2021" in html
    assert f'/network/agreements/{revision.id}"' in html and "Revision" in html
    html = client.get(f"/network/agreements/{revision.id}").get_data(as_text=True)
    assert f'/network/agreements/{first.id}"' in html


def test_month_and_unknown_dates_are_shown_as_such_in_both_languages(as_role, tokyo):
    client = as_role("viewer")
    month = services.create_agreement(title="Month MOU", kind="mou", party_ids=[tokyo["Dubai"].id],
                                      signed_on=date(2017, 10, 1), signed_precision="month", actor=None)
    unknown = services.create_agreement(title="Undated note", kind="other", party_ids=[tokyo["Dubai"].id],
                                        actor=None)
    db.session.commit()
    assert "October 2017" in client.get(f"/network/agreements/{month.id}").get_data(as_text=True)
    assert "date unknown" in client.get(f"/network/agreements/{unknown.id}").get_data(as_text=True)
    client.user.language = "ja"
    db.session.commit()
    assert "2017年10月" in client.get(f"/network/agreements/{month.id}").get_data(as_text=True)


def test_agreement_list_tells_in_force_superseded_expired_and_terminated_apart(as_role, tokyo):
    today = services.local_today()
    made = {title: services.create_agreement(title=title, kind="mou", party_ids=[tokyo["Seoul"].id],
                                             signed_on=date(2020, 5, 1), expires_on=expires, actor=None)
            for title, expires in (("Live MOU", today + timedelta(days=400)), ("Lapsed MOU", date(2023, 5, 1)),
                                   ("Ended MOU", today + timedelta(days=400)))}
    services.terminate_agreement(agreement_id=made["Ended MOU"].id, terminated_on=date(2024, 3, 1),
                                 reason="Superseded", actor=None)
    made["Renewed MOU"] = services.create_agreement(title="Renewed MOU", kind="mou", party_ids=[tokyo["Seoul"].id],
                                                    signed_on=date(2018, 5, 1), actor=None)
    services.create_agreement(title="Its renewal", kind="mou", party_ids=[tokyo["Seoul"].id],
                              signed_on=date(2021, 5, 1), previous_id=made["Renewed MOU"].id, succession="renewal",
                              actor=None)
    db.session.commit()
    client = as_role("viewer")

    def titles(state: str) -> set[str]:
        html = client.get("/network/agreements", query_string={"state": state, "q": "MOU"}).get_data(as_text=True)
        return {t for t in made if f">{t}</a>" in html}

    assert titles("in_force") == {"Live MOU"}
    assert titles("expired") == {"Lapsed MOU"}
    assert titles("terminated") == {"Ended MOU"}
    assert titles("superseded") == {"Renewed MOU"}
    everything = client.get("/network/agreements", query_string={"q": "MOU", "state": "bogus"}).get_data(as_text=True)
    assert {t for t in made if f">{t}</a>" in everything} == set(made)  # an unknown state filters nothing
    assert "terminated March 1, 2024" in everything and "May 1, 2023 (expired)" in everything
    assert "— (superseded)" in everything


def test_agreements_and_the_timeline_filter_by_a_partners_name_in_any_script(as_role, tokyo):
    client = as_role("viewer")
    listed = client.get("/network/agreements", query_string={"party": "パリ"}).get_data(as_text=True)
    table = listed.split("<caption>")[1]
    assert "Paris" in table and "Seoul" not in table and 'id="f-party" name="party" value="パリ"' in listed
    assert '<select id="f-partner"' not in listed  # no menu of every partner: a registry holds thousands
    moscow = client.get("/network/timeline", query_string={"party": "moscow"}).get_data(as_text=True)
    assert "Exchanges suspended" in moscow and "Paris" not in moscow.split("</form>")[1]
    paris = tokyo["Paris"]
    one = client.get("/network/agreements", query_string={"partner": paris.id}).get_data(as_text=True)
    assert "Agreements to which Paris is a party." in one and f'name="partner" value="{paris.id}"' in one


def test_agreement_list_filters(as_role, tokyo):
    client = as_role("viewer")
    today = services.local_today()
    soon = services.create_agreement(title="Climate MOU", kind="mou", party_ids=[tokyo["Seoul"].id],
                                     signed_on=date(2020, 5, 1), expires_on=today + timedelta(days=20),
                                     area_codes=("decarbonisation",), actor=None)
    db.session.commit()
    html = client.get("/network/agreements", query_string={"area": "decarbonisation"}).get_data(as_text=True)
    assert "Climate MOU" in html and "1 agreement" in html
    html = client.get("/network/agreements", query_string={"expiring": "30"}).get_data(as_text=True)
    assert f'/network/agreements/{soon.id}"' in html and "1 agreement" in html
    html = client.get("/network/agreements", query_string={"partner": tokyo["Seoul"].id}).get_data(as_text=True)
    assert "Climate MOU" in html and "Paris" not in html.split("<caption>")[1]
    html = client.get("/network/agreements", query_string={"country": "GB", "kind": "mou"}).get_data(as_text=True)
    assert "Climate MOU" not in html
    html = client.get("/network/agreements", query_string={"from": "2020", "to": "2020"}).get_data(as_text=True)
    assert "Climate MOU" in html
    html = client.get("/network/agreements", query_string={"region": "AS", "kind": "mou"}).get_data(as_text=True)
    assert "Climate MOU" in html
    html = client.get("/network/agreements", query_string={"region": "EU", "kind": "mou"}).get_data(as_text=True)
    assert "Climate MOU" not in html
    html = client.get("/network/agreements", query_string={"from": "2021"}).get_data(as_text=True)
    assert "Climate MOU" not in html


def test_editor_records_a_renewal_with_areas_and_signatories(as_role, tokyo):
    client = as_role("editor")
    seoul = tokyo["Seoul"]
    area = services.add_area(name_en="Urban mobility", actor=None)
    earlier = services.create_agreement(title="Seoul MOU", kind="mou", party_ids=[seoul.id],
                                        signed_on=date(2015, 1, 1), term_months=60, actor=None)
    db.session.commit()
    form = client.get(f"/network/agreements/new?partner={seoul.id}").get_data(as_text=True)
    assert "Urban mobility" in form and f'<option selected value="{seoul.id}">' in form
    response = post(client, "/network/agreements/new", {
        "title": "Seoul MOU (renewed)", "kind": "mou", "party_ids": [str(seoul.id)], "signed_on": "2020-01",
        "term_months": "60", "area_codes": ["decarbonisation", area.code], "previous_id": str(earlier.id),
        "succession": "renewal", "signatories-0-party": "", "signatories-0-name": "Yuriko Koike",
        "signatories-0-title": "Governor of Tokyo", "signatories-1-party": str(seoul.id),
        "signatories-1-name": "Oh Se-hoon", "signatories-1-title": "Mayor of Seoul"})
    assert response.status_code == 303, response.get_data(as_text=True)
    renewed = db.session.scalar(select(Agreement).where(Agreement.title == "Seoul MOU (renewed)"))
    assert renewed.previous_id == earlier.id and renewed.signed_precision == DatePrecision.MONTH
    assert renewed.expires_on == date(2025, 1, 1)
    assert {a.code for a in renewed.areas} == {"decarbonisation", area.code}
    assert [(s.partner_id, s.name) for s in renewed.signatories] == [(None, "Yuriko Koike"), (seoul.id, "Oh Se-hoon")]
    html = client.get(response.location).get_data(as_text=True)
    assert "January 2020" in html and "Yuriko Koike" in html and f'/network/agreements/{earlier.id}"' in html


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"expires_on": "2014-01-01"}, "expires_on", "An agreement cannot expire before it is signed."),
    ({"signed_on": "2999-01-01"}, "signed_on", "is in the future"),
    ({"party_ids": []}, "party_ids", "An agreement needs at least one partner."),
    ({"succession": "renewal"}, "previous_id", "Choose the agreement this one renews or revises."),
    ({"term_months": "0"}, "term_months", "Number must be between 1 and 1200."),
])
def test_bad_agreement_input_is_answered_at_the_field(as_role, tokyo, data, field, message):
    client = as_role("editor")
    before = count(Agreement)
    response = post(client, "/network/agreements/new", {
        "title": "Test MOU", "kind": "mou", "party_ids": [str(tokyo["Seoul"].id)], "signed_on": "2015-06-01",
        **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(Agreement) == before


def test_editor_adds_a_cooperation_area_and_a_duplicate_is_refused(as_role, reference_data):
    client = as_role("editor")
    response = post(client, "/network/areas/new", {"name_en": "Water management", "name_ja": "水管理"})
    assert response.status_code == 303
    assert db.session.scalar(select(CooperationArea).where(CooperationArea.code == "water_management"))
    response = post(client, "/network/areas/new", {"name_en": "Water Management"})
    assert response.status_code == 422
    assert "exists already" in error_at(response.get_data(as_text=True), "name_en")


# -- who may do what ---------------------------------------------------------------------------


def test_a_viewer_gets_403_on_every_change_and_nothing_changes(as_role, tokyo):
    client = as_role("viewer")
    token = csrf_token(client, "/account")
    seoul = tokyo["Seoul"]
    relationship = seoul.relationships[0]
    before = (count(Partner), count(Relationship), count(RelationshipStatusChange), count(Agreement),
              count(CooperationArea), seoul.name)
    posts = {
        "/network/partners/new": {"kind": "city", "name": "Bern", "country_code": "CH"},
        f"/network/partners/{seoul.id}/edit": {"kind": "city", "name": "Seoul 2", "country_code": "KR"},
        f"/network/partners/{seoul.id}/relationships/new": {"kind": "cooperation", "started_on": "2010"},
        f"/network/relationships/{relationship.id}/status": {"status": "ended", "effective_on": "2024-01-01",
                                                             "reason": "x"},
        "/network/agreements/new": {"title": "X", "kind": "mou", "party_ids": [str(seoul.id)]},
        "/network/areas/new": {"name_en": "Space"},
    }
    for path, data in posts.items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
        assert client.get(path).status_code == 403, path
    db.session.expire_all()
    assert (count(Partner), count(Relationship), count(RelationshipStatusChange), count(Agreement),
            count(CooperationArea), db.session.get(Partner, seoul.id).name) == before


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_not_open_the_registry(as_role, tokyo, role):
    client = as_role(role)
    seoul = tokyo["Seoul"]
    agreement = db.session.scalar(select(Agreement).limit(1))
    for path in ("/network/", "/network/search?q=a", "/network/partners", f"/network/partners/{seoul.id}",
                 "/network/agreements", f"/network/agreements/{agreement.id}", "/network/timeline"):
        assert client.get(path).status_code == 403, path


def test_staff_navigation_leads_to_the_registry(as_role):
    html = as_role("viewer").get("/").get_data(as_text=True)
    assert 'href="/network/"' in html


def test_a_signatory_for_someone_not_a_party_is_refused_at_the_signatories(as_role, tokyo):
    client = as_role("editor")
    before = count(Agreement)
    response = post(client, "/network/agreements/new", {
        "title": "Test MOU", "kind": "mou", "party_ids": [str(tokyo["Seoul"].id)], "signed_on": "2015",
        "signatories-0-party": str(tokyo["Paris"].id), "signatories-0-name": "Anne Hidalgo"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    fieldset = html.split('<fieldset id="signatories"')[1].split('<label for="summary"')[0]
    assert "A signatory signs for the home city or for one of the parties." in fieldset
    assert 'value="Anne Hidalgo"' in fieldset  # what was typed is kept
    assert count(Agreement) == before


# -- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "precision", "expected"), [
    ("en", "day", "October 4, 2017"), ("en", "month", "October 2017"), ("en", "year", "2017"),
    ("ja", "day", "2017年10月4日"), ("ja", "month", "2017年10月"), ("ja", "year", "2017年"),
])
def test_partial_date_shows_only_what_is_known(app, language, precision, expected):
    from flask_babel import force_locale

    from network.views import partial_date

    with app.test_request_context(), force_locale(language):
        assert partial_date(date(2017, 10, 4), precision) == expected
        assert partial_date(None) == ("date unknown" if language == "en" else "日付不明")


def test_partners_without_a_city_are_mapped_to_a_city_of_their_subdivision_or_country(tokyo):
    from network.views import map_place

    assert map_place(tokyo["Tomsk Region"]).name == "Tomsk"
    assert map_place(tokyo["São Paulo"]).name == "São Paulo"
    assert map_place(tokyo["New South Wales"]).name == "Sydney"
    assert map_place(tokyo["City of London Corporation"]).name == "London"
    assert map_place(tokyo["Paris"]).id == tokyo["Paris"].city_id
