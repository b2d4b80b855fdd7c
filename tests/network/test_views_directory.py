"""The directory's pages: embassies and consulates with their status history, city networks with roles,
members and events."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from network import demo, services
from network.models import (
    CityNetwork,
    DatePrecision,
    Embassy,
    EmbassyStatus,
    EmbassyStatusChange,
    HomeMembership,
    NetworkEvent,
    NetworkMember,
    NetworkRole,
    Partner,
)
from tests.conftest import csrf_token
from tests.network.test_views import count, error_at, post


@pytest.fixture
def tokyo(db_session):
    """Tokyo's real network, as `kizuna demo` seeds it: seven embassies, C40 and U20."""
    assert demo.seed_tokyo()
    db.session.commit()
    return {p.name: p for p in db.session.scalars(select(Partner))}


def embassy_named(name: str) -> Embassy:
    return db.session.scalar(select(Embassy).where(Embassy.name == name))


def network_named(acronym: str) -> CityNetwork:
    return db.session.scalar(select(CityNetwork).where(CityNetwork.acronym == acronym))


# -- embassies ---------------------------------------------------------------------------------


def test_embassy_list_filters_by_country_kind_status_and_ward_and_sorts(as_role, tokyo, make_embassy):
    make_embassy(country_code="IT", mission_type="consulate", name="Consulate of Italy", ward="Shibuya",
                 status=EmbassyStatus.TEMPORARILY_CLOSED)
    db.session.commit()
    client = as_role("viewer")
    html = client.get("/network/embassies").get_data(as_text=True)
    assert "8 missions" in html and ">British Embassy Tokyo</a>" in html
    # By country name: Australia before Brazil before France
    assert html.index(">Australian Embassy<") < html.index(">Embassy of Brazil<") < html.index(">Embassy of France<")
    html = client.get("/network/embassies", query_string={"country": "fr"}).get_data(as_text=True)
    assert "1 mission" in html and ">Embassy of France</a>" in html and "Australian" not in html
    html = client.get("/network/embassies", query_string={"mission_type": "consulate"}).get_data(as_text=True)
    assert "1 mission" in html and ">Consulate of Italy</a>" in html
    html = client.get("/network/embassies", query_string={"status": "temporarily_closed"}).get_data(as_text=True)
    assert "1 mission" in html and "Temporarily closed" in html
    html = client.get("/network/embassies", query_string={"ward": "Chiyoda"}).get_data(as_text=True)
    assert "1 mission" in html and ">British Embassy Tokyo</a>" in html
    html = client.get("/network/embassies", query_string={"sort": "ward"}).get_data(as_text=True)
    table = html.split("<tbody>")[1]
    assert table.index("British Embassy") < table.index("Embassy of France") < table.index("Consulate of Italy")


def test_embassy_list_is_paginated(as_role, reference_data, make_embassy):
    for i in range(30):
        make_embassy(mission_type="honorary_consulate", name=f"Honorary Consulate {i:02d}")
    db.session.commit()
    client = as_role("viewer")
    first = client.get("/network/embassies").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/network/embassies?page=2").get_data(as_text=True)
    assert "Honorary Consulate 29" in second and "Honorary Consulate 29" not in first


def test_embassy_page_shows_every_field_with_phone_and_web_links_read_only_for_a_viewer(as_role, tokyo):
    embassy = embassy_named("Embassy of the United States of America")
    html = as_role("viewer").get(f"/network/embassies/{embassy.id}").get_data(as_text=True)
    assert "アメリカ合衆国大使館" in html and "United States" in html and "1-10-5 Akasaka" in html
    assert "Minato" in html and "107-8420" in html
    assert '<a href="tel:+81332245000">+81 3-3224-5000</a>' in html
    assert '<a href="https://jp.usembassy.gov/"' in html
    assert "Record a closure" not in html  # read-only for a viewer


def test_a_website_that_is_not_a_web_address_is_not_a_link(as_role, reference_data, make_embassy):
    embassy = make_embassy(website="javascript:alert(1)")
    db.session.commit()
    html = as_role("viewer").get(f"/network/embassies/{embassy.id}").get_data(as_text=True)
    assert "javascript:alert(1)" in html and 'href="javascript:' not in html


def test_editor_registers_a_mission_and_sees_it(as_role, reference_data):
    client = as_role("editor")
    response = post(client, "/network/embassies/new", {
        "country_code": "CH", "mission_type": "embassy", "name": "Embassy of Switzerland", "name_ja": "スイス大使館",
        "address": "5-9-12 Minami-Azabu", "ward": "Minato", "postal_code": "106-8589",
        "phones": "+81 3-5449-8400\n\n+81 3-5449-8401 ", "email": "tokyo@eda.admin.ch",
        "website": "https://www.eda.admin.ch/tokyo", "head_of_mission": "Jane Doe", "head_title": "Ambassador",
        "notes": ""})
    assert response.status_code == 303, response.get_data(as_text=True)
    embassy = embassy_named("Embassy of Switzerland")
    assert response.location.endswith(f"/network/embassies/{embassy.id}")
    assert embassy.phones == ["+81 3-5449-8400", "+81 3-5449-8401"] and embassy.status == EmbassyStatus.OPEN
    html = client.get(response.location).get_data(as_text=True)
    assert "Embassy of Switzerland is in the registry." in html and 'href="tel:+81354498401"' in html
    assert "Jane Doe, Ambassador" in html and 'href="mailto:tokyo@eda.admin.ch"' in html


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"country_code": "XX"}, "country_code", "XX is not an ISO 3166 country code."),
    ({"country_code": "FR"}, "country_code", "FR already has an open embassy in the registry."),
    ({"name": ""}, "name", "This field is required."),
    ({"email": "not an address"}, "email", "Enter a valid email address"),
    ({"mission_type": "palace"}, "mission_type", "Not a valid choice."),
])
def test_bad_embassy_input_is_answered_at_the_field_and_nothing_is_saved(as_role, tokyo, data, field, message):
    client = as_role("editor")
    before = count(Embassy)
    response = post(client, "/network/embassies/new",
                    {"country_code": "CH", "mission_type": "embassy", "name": "Embassy of Switzerland", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(Embassy) == before


def test_editor_closes_temporarily_moves_reopens_and_closes_a_mission_with_its_history(as_role, tokyo):
    client = as_role("editor")
    embassy = embassy_named("Embassy of Brazil")
    path = f"/network/embassies/{embassy.id}/status"
    assert post(client, path, {"status": "temporarily_closed", "effective_on": "2023-01-10",
                               "reason": "Renovation"}).status_code == 303
    response = post(client, path, {"status": "moved", "effective_on": "2023-06-01", "reason": "New building",
                                   "new_address": "1-1-1 Marunouchi", "new_ward": "Chiyoda"})
    assert response.status_code == 303
    db.session.refresh(embassy)
    assert embassy.status == EmbassyStatus.TEMPORARILY_CLOSED  # a move keeps the mission closed
    assert embassy.address == "1-1-1 Marunouchi" and embassy.ward == "Chiyoda"
    assert post(client, path, {"status": "open", "effective_on": "2023-07-01"}).status_code == 303
    assert post(client, path, {"status": "closed", "effective_on": "2024-03-31",
                               "reason": "Mission merged"}).status_code == 303
    db.session.refresh(embassy)
    assert embassy.status == EmbassyStatus.CLOSED and embassy.status_since == date(2024, 3, 31)
    assert [c.status for c in embassy.history] == ["temporarily_closed", "moved", "open", "closed"]
    html = client.get(f"/network/embassies/{embassy.id}").get_data(as_text=True)
    history = html.split('id="history-h"')[1]
    assert "Renovation" in history and "New building" in history and "Mission merged" in history
    assert "2-11-12 Kita-Aoyama" in history  # the previous address of the move
    assert history.index("March 31, 2024") < history.index("January 10, 2023")  # newest first
    # A closed mission is offered only a reopening.
    form = client.get(path).get_data(as_text=True)
    assert 'value="open"' in form and 'value="temporarily_closed"' not in form and 'value="moved"' not in form
    assert 'name="new_address"' not in form


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"effective_on": "2999-01-01"}, "effective_on", "is in the future"),
    ({"effective_on": ""}, "effective_on", "This field is required."),
    ({"status": "moved", "new_address": ""}, "new_address", "This field is required."),
    ({"status": "open"}, "status", "Not a valid choice."),
])
def test_bad_status_change_is_answered_at_the_field_and_nothing_changes(as_role, tokyo, data, field, message):
    client = as_role("editor")
    embassy = embassy_named("Embassy of Brazil")
    changes = count(EmbassyStatusChange)
    response = post(client, f"/network/embassies/{embassy.id}/status",
                    {"status": "temporarily_closed", "effective_on": "2024-01-01", "reason": "", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    db.session.refresh(embassy)
    assert embassy.status == EmbassyStatus.OPEN and embassy.address == "2-11-12 Kita-Aoyama"
    assert count(EmbassyStatusChange) == changes


def test_a_change_before_the_last_recorded_one_is_refused_at_its_date(as_role, tokyo):
    client = as_role("editor")
    embassy = embassy_named("Embassy of Brazil")
    path = f"/network/embassies/{embassy.id}/status"
    assert post(client, path, {"status": "temporarily_closed", "effective_on": "2024-01-01"}).status_code == 303
    response = post(client, path, {"status": "open", "effective_on": "2023-01-01"})
    assert response.status_code == 422
    assert "cannot precede the last recorded one" in error_at(response.get_data(as_text=True), "effective_on")


# -- city networks -----------------------------------------------------------------------------


def test_network_list_shows_acronym_home_role_and_member_count(as_role, tokyo):
    html = as_role("viewer").get("/network/networks").get_data(as_text=True)
    c40 = network_named("C40")
    row = html.split(f'/network/networks/{c40.id}"')[1].split("</tr>")[0]
    assert "C40 Cities Climate Leadership Group" in row and "Member · since 2006" in row
    assert '<td class="num">5</td>' in row
    assert "2 city networks" in html and "Add a network" not in html


def test_network_page_shows_roles_over_time_members_and_events(as_role, tokyo):
    client = as_role("viewer")
    u20 = network_named("U20")
    services.set_home_role(network_id=u20.id, role="co_chair", started_on=date(2023, 5, 1), started_precision="month",
                           actor=None)
    db.session.commit()
    html = client.get(f"/network/networks/{u20.id}").get_data(as_text=True)
    roles = html.split('id="roles-h"')[1].split("</section>")[0]
    # Member from 2018 until May 2023 (the precision the next role began with), then co-chair to date.
    assert "<td>Member</td><td>2018</td><td>May 2023</td>" in roles
    assert "<td>Co-chair</td><td>May 2023</td><td>to date</td>" in roles
    members = html.split('id="members-h"')[1].split("</section>")[0]
    assert "Buenos Aires" in members and "Argentina" in members
    assert f'/network/partners/{tokyo["Paris"].id}">Paris</a>' in members  # a partner links to its page
    events = html.split('id="events-h"')[1].split("</section>")[0]
    assert "U20 Tokyo Mayors Summit" in events and "May 21, 2019 – May 22, 2019" in events and "Tokyo" in events
    assert "Set the home city" not in html


def test_editor_creates_a_network_sets_roles_adds_a_member_and_an_event(as_role, reference_data):
    client = as_role("editor")
    response = post(client, "/network/networks/new", {
        "name": "Metropolis", "acronym": "", "name_ja": "メトロポリス", "website": "https://www.metropolis.org/",
        "description": "World association of major metropolises"})
    assert response.status_code == 303
    network = db.session.scalar(select(CityNetwork).where(CityNetwork.name == "Metropolis"))
    assert response.location.endswith(f"/network/networks/{network.id}")
    assert "Metropolis is in the registry." in client.get(response.location).get_data(as_text=True)

    path = f"/network/networks/{network.id}"
    assert post(client, f"{path}/role", {"role": "member", "started_on": "1985"}).status_code == 303
    assert post(client, f"{path}/role", {"role": "chair", "started_on": "2021-10",
                                          "notes": "Elected in Guangzhou"}).status_code == 303
    roles = db.session.scalars(select(HomeMembership).where(HomeMembership.network_id == network.id)
                               .order_by(HomeMembership.started_on)).all()
    assert [(m.role, m.started_on, m.started_precision, m.ended_on) for m in roles] == [
        (NetworkRole.MEMBER, date(1985, 1, 1), DatePrecision.YEAR, date(2021, 10, 1)),
        (NetworkRole.CHAIR, date(2021, 10, 1), DatePrecision.MONTH, None)]

    response = post(client, f"{path}/members/new", {"city": "Barcelona, ES", "joined_on": "1985-04-01"})
    assert response.status_code == 303
    member = db.session.scalar(select(NetworkMember).where(NetworkMember.network_id == network.id))
    assert member.city.name == "Barcelona" and member.joined_on == date(1985, 4, 1)
    tokyo_id = services.resolve_city("Tokyo, JP").id
    assert post(client, f"{path}/members/new", {"city": str(tokyo_id)}).status_code == 303

    response = post(client, f"{path}/events/new", {
        "title": "Metropolis World Congress", "kind": "congress", "starts_on": "2023-10-09",
        "ends_on": "2023-10-12", "city": "Seoul, KR", "venue": "COEX", "url": "https://example.org/congress"})
    assert response.status_code == 303
    event = db.session.scalar(select(NetworkEvent).where(NetworkEvent.network_id == network.id))
    assert event.city.name == "Seoul" and event.ends_on == date(2023, 10, 12)

    html = client.get(path).get_data(as_text=True)
    assert "Chair · since October 2021" in html and "Elected in Guangzhou" in html
    assert "Barcelona" in html and "April 1, 1985" in html and "Spain" in html and "Tokyo" in html
    assert '<a href="https://example.org/congress" rel="noopener noreferrer">Metropolis World Congress</a>' in html
    assert "Metropolis" in client.get("/network/networks").get_data(as_text=True)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "c40 cities climate leadership group"}, "name", "is already in the registry."),
    ({"name": ""}, "name", "This field is required."),
    ({"acronym": "X" * 41}, "acronym", "Field cannot be longer than 40 characters."),
])
def test_bad_network_input_is_answered_at_the_field_and_nothing_is_saved(as_role, tokyo, data, field, message):
    client = as_role("editor")
    before = count(CityNetwork)
    response = post(client, "/network/networks/new", {"name": "ICLEI", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(CityNetwork) == before


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"started_on": "2999"}, "started_on", "is in the future"),
    ({"started_on": "10/2021"}, "started_on", "is not a date (write 2024-05-14, 2024-05 or 2024)."),
    ({"role": "member"}, "role", "The home city already has this role."),
    ({"started_on": "2000"}, "started_on", "The new role cannot begin before the current one."),
    ({"role": "emperor"}, "role", "Not a valid choice."),
])
def test_bad_role_input_is_answered_at_the_field_and_nothing_changes(as_role, tokyo, data, field, message):
    client = as_role("editor")
    c40 = network_named("C40")  # member since 2006
    before = count(HomeMembership)
    response = post(client, f"/network/networks/{c40.id}/role", {"role": "chair", "started_on": "2021", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(HomeMembership) == before
    db.session.expire_all()
    assert [m.ended_on for m in network_named("C40").home_roles] == [None]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"city": "Atlantis, FR"}, "city", "No reference city is called Atlantis, FR"),
    ({"city": "Paris"}, "city", "No reference city is called Paris; write it as “Paris, FR”"),
    ({"city": "999999999"}, "city", "No reference city is called 999999999"),
    ({"city": "Paris, FR"}, "city", "Paris is already a member of C40 Cities Climate Leadership Group."),
    ({"city": ""}, "city", "This field is required."),
    ({"joined_on": "2999-01-01"}, "joined_on", "is in the future"),
])
def test_bad_member_input_is_answered_at_the_field_and_nothing_is_saved(as_role, tokyo, data, field, message):
    client = as_role("editor")
    c40 = network_named("C40")
    before = count(NetworkMember)
    response = post(client, f"/network/networks/{c40.id}/members/new", {"city": "Madrid, ES", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(NetworkMember) == before


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"title": ""}, "title", "This field is required."),
    ({"starts_on": ""}, "starts_on", "This field is required."),
    ({"ends_on": "2019-05-20"}, "ends_on", "An event cannot end before it starts."),
    ({"city": "Nowhere, JP"}, "city", "No reference city is called Nowhere, JP"),
])
def test_bad_event_input_is_answered_at_the_field_and_nothing_is_saved(as_role, tokyo, data, field, message):
    client = as_role("editor")
    u20 = network_named("U20")
    before = count(NetworkEvent)
    response = post(client, f"/network/networks/{u20.id}/events/new",
                    {"title": "Sherpa meeting", "kind": "sherpa", "starts_on": "2019-05-21", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    assert count(NetworkEvent) == before


# -- links and who may do what -----------------------------------------------------------------


def test_search_and_home_link_to_the_directory(as_role, tokyo):
    client = as_role("viewer")
    france = embassy_named("Embassy of France")
    c40 = network_named("C40")
    assert f'href="/network/embassies/{france.id}"' in client.get("/network/search?q=France").get_data(as_text=True)
    assert f'href="/network/networks/{c40.id}"' in client.get("/network/search?q=c40").get_data(as_text=True)
    home = client.get("/network/").get_data(as_text=True)
    assert 'href="/network/embassies"' in home and 'href="/network/networks"' in home


def test_an_editor_sees_the_links_to_the_forms(as_role, tokyo):
    client = as_role("editor")
    html = client.get(f"/network/embassies/{embassy_named('Embassy of France').id}").get_data(as_text=True)
    assert "Record a closure, reopening or move" in html
    html = client.get(f"/network/networks/{network_named('U20').id}").get_data(as_text=True)
    assert "Set the home city" in html and "Add a member city" in html and "Add an event" in html
    assert "Add a mission" in client.get("/network/embassies").get_data(as_text=True)


def _state(embassy_id: int, network_id: int) -> tuple:
    db.session.expire_all()
    embassy = db.session.get(Embassy, embassy_id)
    return (count(Embassy), count(EmbassyStatusChange), embassy.status, embassy.address, count(CityNetwork),
            count(HomeMembership), count(NetworkMember), count(NetworkEvent))


def _changes(embassy_id: int, network_id: int) -> dict[str, dict]:
    return {
        "/network/embassies/new": {"country_code": "CH", "mission_type": "embassy", "name": "Embassy of Switzerland"},
        f"/network/embassies/{embassy_id}/status": {"status": "moved", "effective_on": "2024-01-01",
                                                    "new_address": "Elsewhere"},
        "/network/networks/new": {"name": "ICLEI"},
        f"/network/networks/{network_id}/role": {"role": "chair", "started_on": "2024"},
        f"/network/networks/{network_id}/members/new": {"city": "Madrid, ES"},
        f"/network/networks/{network_id}/events/new": {"title": "Summit", "starts_on": "2024-01-01"},
    }


def test_a_viewer_gets_403_on_every_change_and_nothing_changes(as_role, tokyo):
    client = as_role("viewer")
    token = csrf_token(client, "/account")
    embassy, network = embassy_named("Embassy of France"), network_named("C40")
    before = _state(embassy.id, network.id)
    for path, data in _changes(embassy.id, network.id).items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
        assert client.get(path).status_code == 403, path
    assert _state(embassy.id, network.id) == before


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_neither_read_nor_change_the_directory(as_role, tokyo, role):
    client = as_role(role)
    token = csrf_token(client, "/account")
    embassy, network = embassy_named("Embassy of France"), network_named("C40")
    before = _state(embassy.id, network.id)
    for path in ("/network/embassies", f"/network/embassies/{embassy.id}", "/network/networks",
                 f"/network/networks/{network.id}"):
        assert client.get(path).status_code == 403, path
    for path, data in _changes(embassy.id, network.id).items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
        assert client.get(path).status_code == 403, path
    assert _state(embassy.id, network.id) == before


def test_the_directory_reads_in_japanese(as_role, tokyo):
    client = as_role("viewer")
    client.user.language = "ja"
    db.session.commit()
    html = client.get("/network/embassies").get_data(as_text=True)
    assert ">フランス大使館</a>" in html
    html = client.get(f"/network/networks/{network_named('C40').id}").get_data(as_text=True)
    assert "C40世界大都市気候先導グループ" in html and "2006年" in html
