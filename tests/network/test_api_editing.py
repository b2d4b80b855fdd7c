"""Editing the registry over JSON: a POST to an embassy's, a network's, a member's, an event's or a
relationship's URL replaces its fields through the same services and rules as the edit pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import AuditEvent
from network import services
from network.models import CityNetwork, Embassy, NetworkEvent, NetworkMember, Relationship

PARIS, MADRID = 2988507, 3117735


@pytest.fixture
def records(db_session):
    embassy = services.create_embassy(country_code="FR", mission_type="embassy", name="Embassy of France",
                                      address="4-11-44 Minami-Azabu", ward="Minato", phones=["+81 3-5798-6000"],
                                      actor=None)
    services.create_embassy(country_code="IT", mission_type="embassy", name="Embassy of Italy", actor=None)
    c40 = services.create_network(name="C40 Cities", acronym="C40", actor=None)
    u20 = services.create_network(name="Urban 20", acronym="U20", actor=None)
    member = services.add_network_member(network_id=c40.id, city_id=PARIS, joined_on=date(2006, 1, 1), actor=None)
    event = services.add_network_event(network_id=c40.id, title="C40 World Mayors Summit",
                                       starts_on=date(2025, 10, 1), actor=None)
    partner = services.create_partner(kind="city", name="Paris", country_code="FR", city_id=PARIS, actor=None)
    sister = services.add_relationship(partner_id=partner.id, kind="sister_city", started_on=date(1982, 7, 14),
                                       actor=None)
    services.change_relationship_status(relationship_id=sister.id, status="dormant", effective_on=date(2020, 4, 1),
                                        reason="The pandemic.", actor=None)
    friend = services.add_relationship(partner_id=partner.id, kind="friendship_city", started_on=date(1990, 1, 1),
                                       actor=None)
    db.session.commit()
    return {"embassy": embassy, "c40": c40, "u20": u20, "member": member, "event": event, "sister": sister,
            "friend": friend}


def fresh(model, object_id: int):
    db.session.expire_all()
    return db.session.get(model, object_id)


def audited(action: str) -> int:
    return len(list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))))


def refused(response, field: str, text: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "invalid" and text in error["fields"][field], error


# -- embassies ---------------------------------------------------------------------------------


def test_an_editor_replaces_an_embassys_fields(client, token, records):
    embassy_id = records["embassy"].id
    response = client.post(f"/api/v1/embassies/{embassy_id}", headers=token(), json={
        "country_code": "fr", "mission_type": "embassy", "name": "Embassy of France in Japan",
        "name_ja": "駐日フランス大使館", "postal_code": "106-8514", "phones": ["+81 3-5798-6000", "+81 3-5798-6001"],
        "email": "contact@ambafrance-jp.org", "head_of_mission": "Philippe Setton", "head_title": "Ambassador"})
    assert response.status_code == 200
    body = response.json
    assert body["name"] == "Embassy of France in Japan" and body["phones"] == ["+81 3-5798-6000", "+81 3-5798-6001"]
    assert body["address"] == "" and body["ward"] == ""  # left out: cleared, as on the edit page
    assert body["status"] == "open" and body["history"] == []
    embassy = fresh(Embassy, embassy_id)
    assert (embassy.name_ja, embassy.email, embassy.head_title) == ("駐日フランス大使館", "contact@ambafrance-jp.org",
                                                                    "Ambassador")
    assert audited("embassy.update") == 1


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"country_code": "IT"}, "country_code", "IT already has an open embassy"),
    ({"email": "nobody"}, "email", "Enter a valid email address"),
    ({"name": ""}, "name", "This field is required."),
    ({"name": None}, "name", "name is required."),
    ({"phones": "+81 3"}, "phones", "must be a list of strings"),
    ({"status": "closed"}, "status", "Unknown field status"),
    ({"is_sample": True}, "is_sample", "Unknown field is_sample"),
])
def test_a_bad_embassy_replacement_is_refused_and_nothing_changes(client, token, records, body, field, text):
    embassy_id = records["embassy"].id
    response = client.post(f"/api/v1/embassies/{embassy_id}", headers=token(),
                           json={"country_code": "FR", "mission_type": "embassy", "name": "Renamed", **body})
    refused(response, field, text)
    embassy = fresh(Embassy, embassy_id)
    assert (embassy.name, embassy.country_code, embassy.address) == ("Embassy of France", "FR",
                                                                     "4-11-44 Minami-Azabu")
    assert audited("embassy.update") == 0


# -- networks, members, events -----------------------------------------------------------------


def test_an_editor_replaces_a_networks_fields(client, token, records):
    network_id = records["c40"].id
    response = client.post(f"/api/v1/networks/{network_id}", headers=token(), json={
        "name": "C40 Cities Climate Leadership Group", "website": "https://www.c40.org/"})
    assert response.status_code == 200
    assert response.json["name"] == "C40 Cities Climate Leadership Group" and response.json["acronym"] == ""
    assert response.json["members"][0]["name"] == "Paris"
    assert fresh(CityNetwork, network_id).website == "https://www.c40.org/"


def test_a_network_may_not_take_anothers_name(client, token, records):
    response = client.post(f"/api/v1/networks/{records['c40'].id}", headers=token(), json={"name": "URBAN 20"})
    refused(response, "name", "URBAN 20 is already in the registry.")
    assert fresh(CityNetwork, records["c40"].id).name == "C40 Cities"


def test_a_member_leaves_over_the_api(client, token, records):
    path = f"/api/v1/networks/{records['c40'].id}/members/{records['member'].id}"
    response = client.post(path, headers=token(), json={"joined_on": "2006-01-01", "left_on": "2024-03-31"})
    assert response.status_code == 200
    assert response.json == {**response.json, "joined_on": "2006-01-01", "left_on": "2024-03-31"}
    assert fresh(NetworkMember, records["member"].id).left_on == date(2024, 3, 31)
    assert audited("network.member_update") == 1


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"joined_on": "2006-01-01", "left_on": "2005-01-01"}, "left_on", "cannot leave before it joined"),
    ({"joined_on": "2006-01-01", "left_on": "2999-01-01"}, "left_on", "in the future"),
    ({"joined_on": "2006-01"}, "joined_on", "must be a date as YYYY-MM-DD"),
])
def test_a_bad_membership_is_refused(client, token, records, body, field, text):
    path = f"/api/v1/networks/{records['c40'].id}/members/{records['member'].id}"
    refused(client.post(path, headers=token(), json=body), field, text)
    member = fresh(NetworkMember, records["member"].id)
    assert (member.joined_on, member.left_on) == (date(2006, 1, 1), None)


def test_a_member_or_an_event_of_another_network_is_not_found(client, token, records):
    headers = token()
    u20 = records["u20"].id
    response = client.post(f"/api/v1/networks/{u20}/members/{records['member'].id}", headers=headers, json={})
    assert response.status_code == 404
    response = client.post(f"/api/v1/networks/{u20}/events/{records['event'].id}", headers=headers,
                           json={"title": "X", "starts_on": "2025-01-01"})
    assert response.status_code == 404
    assert fresh(NetworkEvent, records["event"].id).title == "C40 World Mayors Summit"


def test_an_editor_replaces_an_events_fields(client, token, records):
    path = f"/api/v1/networks/{records['c40'].id}/events/{records['event'].id}"
    response = client.post(path, headers=token(), json={
        "title": "C40 World Mayors Summit 2025", "starts_on": "2025-10-08", "ends_on": "2025-10-10",
        "city_id": MADRID, "kind": "summit"})
    assert response.status_code == 200
    assert (response.json["starts_on"], response.json["ends_on"], response.json["city_id"]) == (
        "2025-10-08", "2025-10-10", MADRID)
    assert fresh(NetworkEvent, records["event"].id).kind == "summit"


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"ends_on": "2025-09-30"}, "ends_on", "An event cannot end before it starts."),
    ({"city_id": 1}, "city_id", "No reference city has the id 1."),
    ({"starts_on": None}, "starts_on", "starts_on is required."),
])
def test_a_bad_event_is_refused(client, token, records, body, field, text):
    path = f"/api/v1/networks/{records['c40'].id}/events/{records['event'].id}"
    refused(client.post(path, headers=token(), json={"title": "Renamed", "starts_on": "2025-10-01", **body}),
            field, text)
    assert fresh(NetworkEvent, records["event"].id).title == "C40 World Mayors Summit"


# -- relationships -----------------------------------------------------------------------------


def test_an_editor_corrects_a_relationships_record(client, token, records):
    friend = records["friend"]
    response = client.post(f"/api/v1/relationships/{friend.id}", headers=token(), json={
        "kind": "cooperation", "started_on": "1989-10-01", "started_precision": "month", "source": "Report"})
    assert response.status_code == 200
    body = response.json
    assert (body["kind"], body["started_on"], body["started_precision"], body["source"]) == (
        "cooperation", "1989-10-01", "month", "Report")
    assert body["history"] == [{"status": "active", "effective_on": "1989-10-01", "reason": ""}]
    assert audited("relationship.update") == 1


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"started_on": "2020-04-02"}, "started_on", "cannot begin after its first change of status (2020-04-01)"),
    ({"started_on": "2999-01-01"}, "started_on", "in the future"),
    ({"kind": "friendship_city"}, "kind", "already has another live relationship of this kind"),
    ({"kind": "twin"}, "kind", "twin is not one of"),
    ({"started_precision": "week"}, "started_precision", "week is not one of"),
    ({"status": "ended"}, "status", "Unknown field status"),
])
def test_a_bad_correction_is_refused_and_nothing_changes(client, token, records, body, field, text):
    sister = records["sister"]
    response = client.post(f"/api/v1/relationships/{sister.id}", headers=token(),
                           json={"kind": "sister_city", "started_on": "1982-07-01", **body})
    refused(response, field, text)
    rel = fresh(Relationship, sister.id)
    assert (rel.kind.value, rel.started_on, rel.status.value) == ("sister_city", date(1982, 7, 14), "dormant")
    assert audited("relationship.update") == 0


# -- who may ----------------------------------------------------------------------------------


def _edits(r: dict) -> dict[str, dict]:
    c40 = r["c40"].id
    return {
        f"/api/v1/embassies/{r['embassy'].id}": {"country_code": "FR", "mission_type": "embassy", "name": "X"},
        f"/api/v1/networks/{c40}": {"name": "X"},
        f"/api/v1/networks/{c40}/members/{r['member'].id}": {"left_on": "2024-01-01"},
        f"/api/v1/networks/{c40}/events/{r['event'].id}": {"title": "X", "starts_on": "2025-01-01"},
        f"/api/v1/relationships/{r['sister'].id}": {"kind": "cooperation", "started_on": "1980-01-01"},
    }


def _state(r: dict) -> tuple:
    db.session.expire_all()
    rel = db.session.get(Relationship, r["sister"].id)
    return (db.session.get(Embassy, r["embassy"].id).name, db.session.get(CityNetwork, r["c40"].id).name,
            db.session.get(NetworkMember, r["member"].id).left_on, db.session.get(NetworkEvent, r["event"].id).title,
            rel.kind, rel.started_on, len(list(db.session.scalars(select(AuditEvent)))))


def test_a_viewers_token_gets_403_and_nothing_changes(client, token, records):
    headers = token("viewer")
    before = _state(records)
    for path, body in _edits(records).items():
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    assert _state(records) == before


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_get_403_and_nothing_changes(as_role, records, role):
    client = as_role(role)  # external accounts have no API tokens: signed in, they still may not
    before = _state(records)
    for path, body in _edits(records).items():
        response = client.post(path, json=body)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    assert _state(records) == before


def test_without_a_token_the_edits_answer_401(client, records):
    for path, body in _edits(records).items():
        assert client.post(path, json=body).status_code == 401, path


def test_the_openapi_document_describes_the_edits(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/embassies/{embassy_id}", "/api/v1/networks/{network_id}",
                 "/api/v1/networks/{network_id}/members/{member_id}", "/api/v1/networks/{network_id}/events/{event_id}",
                 "/api/v1/relationships/{relationship_id}"):
        operation = paths[path]["post"]
        assert "editor" in operation["description"].lower() or "Editors" in operation["summary"], path
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "object"
        assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"], path
    correction = paths["/api/v1/relationships/{relationship_id}"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]
    assert set(correction) == {"kind", "started_on", "started_precision", "source", "notes"}
