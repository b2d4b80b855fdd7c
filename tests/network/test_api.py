"""The registry over JSON: lists with filters and pages, details, and editors' writes through the services."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from network import services
from network.models import Agreement, CityNetwork, Embassy, Partner, Relationship

TOKYO, PARIS, LONDON = 1850147, 2988507, 2643743


@pytest.fixture
def registry(db_session):
    """Paris and New South Wales with ties, agreements (one renewed), an embassy and a network."""
    paris = services.create_partner(kind="city", name="Paris", country_code="FR", name_ja="パリ市",
                                    city_id=PARIS, actor=None)
    nsw = services.create_partner(kind="subnational", name="New South Wales", country_code="AU",
                                  subdivision_code="AU-NSW", actor=None)
    sister = services.add_relationship(partner_id=paris.id, kind="sister_city", started_on=date(1982, 7, 14),
                                       actor=None)
    friend = services.add_relationship(partner_id=nsw.id, kind="friendship_state", started_on=date(1991, 5, 1),
                                       started_precision="month", actor=None)
    services.change_relationship_status(relationship_id=friend.id, status="dormant", effective_on=date(2020, 4, 1),
                                        reason="No exchanges since the pandemic.", actor=None)
    today = services.local_today()
    first = services.create_agreement(title="MOU on culture", kind="mou", party_ids=[nsw.id],
                                      signed_on=date(2015, 5, 19), term_months=60, area_codes=("culture",),
                                      actor=None)
    renewal = services.create_agreement(title="MOU on culture, renewed", kind="mou", party_ids=[nsw.id],
                                        signed_on=date(2020, 5, 19), expires_on=today + timedelta(days=20),
                                        previous_id=first.id, area_codes=("culture", "tourism"),
                                        signatories=((None, "Governor of Tokyo", "Governor"),
                                                     (nsw.id, "Premier of NSW", "Premier")), actor=None)
    digital = services.create_agreement(title="Paris–Tokyo digital MOU", kind="mou", party_ids=[paris.id],
                                        signed_on=date(2023, 3, 1), expires_on=today + timedelta(days=200),
                                        area_codes=("digital",), actor=None)
    statement = services.create_agreement(title="Joint statement", kind="joint_statement",
                                          party_ids=[paris.id, nsw.id], signed_on=date(2019, 1, 1),
                                          signed_precision="month", actor=None)
    embassy = services.create_embassy(country_code="FR", mission_type="embassy", name="Embassy of France",
                                      address="4-11-44 Minami-Azabu", ward="Minato", phones=["+81 3-5798-6000"],
                                      actor=None)
    services.create_embassy(country_code="AU", mission_type="consulate", name="Consulate of Australia",
                            actor=None)
    c40 = services.create_network(name="C40 Cities", acronym="C40", actor=None)
    services.set_home_role(network_id=c40.id, role="steering_committee", started_on=date(2006, 1, 1), actor=None)
    services.add_network_member(network_id=c40.id, city_id=PARIS, joined_on=date(2006, 1, 1), actor=None)
    services.add_network_event(network_id=c40.id, title="C40 World Mayors Summit", starts_on=date(2025, 10, 1),
                               actor=None)
    db.session.commit()
    return {"paris": paris, "nsw": nsw, "sister": sister, "friend": friend, "first": first, "renewal": renewal,
            "digital": digital, "statement": statement, "embassy": embassy, "c40": c40}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- reading ------------------------------------------------------------------------------------------


def test_partners_list_filters_by_kind_country_and_name(as_role, registry):
    client = as_role("viewer")
    body = client.get("/api/v1/partners").json
    assert [p["name"] for p in body["items"]] == ["New South Wales", "Paris"]
    assert (body["total"], body["page"], body["pages"]) == (2, 1, 1)
    assert [p["name"] for p in client.get("/api/v1/partners?kind=subnational").json["items"]] == ["New South Wales"]
    assert [p["name"] for p in client.get("/api/v1/partners?country=fr").json["items"]] == ["Paris"]
    assert [p["name"] for p in client.get("/api/v1/partners?q=SOUTH").json["items"]] == ["New South Wales"]
    assert [p["name"] for p in client.get("/api/v1/partners?q=パリ").json["items"]] == ["Paris"]  # any of its names
    paris = client.get("/api/v1/partners?q=par").json["items"][0]
    assert paris | {"id": 0} == {"id": 0, "kind": "city", "name": "Paris", "local_name": None, "name_ja": "パリ市",
                                 "display_name": "Paris", "country": "FR", "country_name": "France",
                                 "city_id": PARIS, "subdivision_code": None, "website": None, "notes": "",
                                 "is_sample": False}


def test_lists_come_in_pages(as_role, registry):
    client = as_role("viewer")
    first = client.get("/api/v1/partners?limit=1").json
    second = client.get("/api/v1/partners?limit=1&page=2").json
    assert (first["total"], first["pages"], len(first["items"])) == (2, 2, 1)
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["New South Wales", "Paris"]
    assert client.get("/api/v1/partners?limit=1&page=3").json["items"] == []


def test_japanese_readers_get_japanese_names(as_role, registry):
    paris = as_role("viewer", language="ja").get(f"/api/v1/partners/{registry['paris'].id}").json
    assert (paris["display_name"], paris["country_name"]) == ("パリ市", "フランス")


def test_partner_detail_lists_its_relationships(as_role, registry):
    body = as_role("viewer").get(f"/api/v1/partners/{registry['paris'].id}").json
    assert [(r["kind"], r["started_on"], r["status"]) for r in body["relationships"]] == [
        ("sister_city", "1982-07-14", "active")]


def test_relationships_filter_and_detail_shows_history(as_role, registry):
    client = as_role("viewer")
    assert client.get("/api/v1/relationships").json["total"] == 2
    dormant = client.get("/api/v1/relationships?status=dormant").json["items"]
    assert [(r["partner"]["name"], r["started_on"], r["started_precision"]) for r in dormant] == [
        ("New South Wales", "1991-05-01", "month")]
    assert [r["kind"] for r in client.get("/api/v1/relationships?country=FR").json["items"]] == ["sister_city"]
    assert client.get(f"/api/v1/relationships?partner_id={registry['paris'].id}&kind=friendship_state"
                      ).json["items"] == []
    detail = client.get(f"/api/v1/relationships/{registry['friend'].id}").json
    assert [(c["status"], c["effective_on"], c["reason"]) for c in detail["history"]] == [
        ("active", "1991-05-01", ""), ("dormant", "2020-04-01", "No exchanges since the pandemic.")]
    assert (detail["status"], detail["status_since"]) == ("dormant", "2020-04-01")


def _titles(client, query: str) -> list[str]:
    response = client.get("/api/v1/agreements" + query)
    assert response.status_code == 200, response.json
    return [a["title"] for a in response.json["items"]]


def test_agreements_filter_by_party_country_area_kind_and_signing_dates(as_role, registry):
    client = as_role("viewer")
    assert _titles(client, "") == ["Paris–Tokyo digital MOU", "MOU on culture, renewed", "Joint statement",
                                   "MOU on culture"]
    assert _titles(client, f"?partner_id={registry['paris'].id}") == ["Paris–Tokyo digital MOU", "Joint statement"]
    assert _titles(client, "?country=AU&kind=mou") == ["MOU on culture, renewed", "MOU on culture"]
    assert _titles(client, "?area=tourism") == ["MOU on culture, renewed"]
    assert _titles(client, "?signed_from=2019-01-01&signed_to=2020-12-31") == ["MOU on culture, renewed",
                                                                                "Joint statement"]


def test_agreements_by_state_today(as_role, registry):
    client = as_role("viewer")
    services.terminate_agreement(agreement_id=registry["digital"].id, terminated_on=date(2024, 1, 10),
                                 reason="Superseded", actor=None)
    db.session.commit()
    assert _titles(client, "?state=terminated") == ["Paris–Tokyo digital MOU"]
    assert _titles(client, "?state=superseded") == ["MOU on culture"]  # renewed in 2020
    assert _titles(client, "?state=expired") == []
    assert _titles(client, "?state=in_force") == ["MOU on culture, renewed", "Joint statement"]
    terminated = client.get(f"/api/v1/agreements/{registry['digital'].id}").json
    assert (terminated["state"], terminated["in_force"], terminated["termination_reason"]) == (
        "terminated", False, "Superseded")
    bad = client.get("/api/v1/agreements?state=alive")
    assert bad.status_code == 422 and bad.json["error"]["fields"] == {
        "state": "state must be one of: in_force, superseded, expired, terminated."}


def test_expiring_agreements_are_those_in_force_soonest_first(as_role, registry):
    client = as_role("viewer")
    assert _titles(client, "?expiring_within_days=30") == ["MOU on culture, renewed"]
    assert _titles(client, "?expiring_within_days=365") == ["MOU on culture, renewed", "Paris–Tokyo digital MOU"]
    # the first MOU expired long ago and was renewed: never listed as expiring
    assert "MOU on culture" not in _titles(client, "?expiring_within_days=100000")


def test_agreement_detail_has_parties_signatories_areas_and_succession(as_role, registry):
    client = as_role("viewer")
    renewal = client.get(f"/api/v1/agreements/{registry['renewal'].id}").json
    assert [p["name"] for p in renewal["parties"]] == ["New South Wales"]
    assert [a["code"] for a in renewal["areas"]] == ["culture", "tourism"]
    assert [(s["partner_id"], s["name"]) for s in renewal["signatories"]] == [
        (None, "Governor of Tokyo"), (registry["nsw"].id, "Premier of NSW")]
    assert (renewal["previous"]["id"], renewal["succession"], renewal["in_force"]) == (
        registry["first"].id, "renewal", True)
    first = client.get(f"/api/v1/agreements/{registry['first'].id}").json
    assert [(s["id"], s["succession"]) for s in first["successors"]] == [(registry["renewal"].id, "renewal")]
    assert (first["expires_on"], first["in_force"]) == ("2020-05-19", False)
    statement = client.get(f"/api/v1/agreements/{registry['statement'].id}").json
    assert (statement["signed_on"], statement["signed_precision"]) == ("2019-01-01", "month")


def test_embassies_filter_and_detail_shows_history(as_role, registry):
    client = as_role("viewer")
    assert [e["name"] for e in client.get("/api/v1/embassies").json["items"]] == ["Consulate of Australia",
                                                                                  "Embassy of France"]
    assert [e["name"] for e in client.get("/api/v1/embassies?mission_type=embassy&country=FR&status=open"
                                          ).json["items"]] == ["Embassy of France"]
    embassy = client.get(f"/api/v1/embassies/{registry['embassy'].id}").json
    assert (embassy["phones"], embassy["status"], embassy["history"]) == (["+81 3-5798-6000"], "open", [])


def test_networks_list_and_detail_with_members_and_events(as_role, registry):
    client = as_role("viewer")
    [c40] = client.get("/api/v1/networks").json["items"]
    assert (c40["acronym"], c40["home_role"]["role"]) == ("C40", "steering_committee")
    detail = client.get(f"/api/v1/networks/{registry['c40'].id}").json
    assert [(m["city_id"], m["name"], m["partner_id"]) for m in detail["members"]] == [
        (PARIS, "Paris", registry["paris"].id)]
    assert [(e["title"], e["starts_on"]) for e in detail["events"]] == [("C40 World Mayors Summit", "2025-10-01")]


@pytest.mark.parametrize("path, field", [
    ("/api/v1/partners?kind=town", "kind"), ("/api/v1/partners?country=XX", "country"),
    ("/api/v1/relationships?status=over", "status"), ("/api/v1/relationships?partner_id=one", "partner_id"),
    ("/api/v1/agreements?expiring_within_days=soon", "expiring_within_days"),
    ("/api/v1/agreements?expiring_within_days=-1", "expiring_within_days"),
    ("/api/v1/agreements?signed_from=2020-13-01", "signed_from"),
    ("/api/v1/embassies?mission_type=fort", "mission_type"),
])
def test_bad_filters_get_a_422_naming_the_parameter(as_role, db_session, path, field):
    response = as_role("viewer").get(path)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}


def test_a_missing_object_is_a_json_404(as_role, db_session):
    response = as_role("viewer").get("/api/v1/agreements/999999")
    assert response.status_code == 404 and response.json["error"]["code"]


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_not_read_the_registry(as_role, registry, role):
    client = as_role(role)
    for path in ("/api/v1/partners", "/api/v1/agreements", f"/api/v1/partners/{registry['paris'].id}"):
        assert client.get(path).status_code == 403


# -- writing ------------------------------------------------------------------------------------------


def test_editor_creates_a_partner_with_a_token(client, db_session, token):
    response = client.post("/api/v1/partners", headers=token("editor"), json={
        "kind": "city", "name": "Berlin", "country_code": "de", "name_ja": "ベルリン州"})
    assert response.status_code == 201, response.json
    assert (response.json["name"], response.json["country"]) == ("Berlin", "DE")
    assert db.session.get(Partner, response.json["id"]).name_ja == "ベルリン州"


def test_refusals_are_422_with_the_field_and_change_nothing(client, registry, token):
    headers = token("editor")
    before = _count(Partner)
    response = client.post("/api/v1/partners", headers=headers,
                           json={"kind": "city", "name": "Paris", "country_code": "FR"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid" and set(response.json["error"]["fields"]) == {"name"}
    for body, field in [({"name": "Lyon", "country_code": "FR"}, "kind"),
                        ({"kind": "city", "name": "Lyon", "country_code": "ZZ"}, "country_code"),
                        ({"kind": "city", "name": 7, "country_code": "FR"}, "name"),
                        ({"kind": "city", "name": "Lyon", "country_code": "FR", "mayor": "x"}, "mayor")]:
        response = client.post("/api/v1/partners", headers=headers, json=body)
        assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}, body
    assert client.post("/api/v1/partners", headers=headers, data="not json").status_code == 422
    assert _count(Partner) == before


@pytest.mark.parametrize("role", ["viewer"])
def test_viewers_may_not_write_even_with_a_token(client, registry, token, role):
    response = client.post("/api/v1/partners", headers=token(role),
                           json={"kind": "city", "name": "Lyon", "country_code": "FR"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert db.session.scalar(select(Partner).where(Partner.name == "Lyon")) is None


def test_an_editor_session_without_a_token_may_not_write(as_role, registry):
    response = as_role("editor").post("/api/v1/partners", json={"kind": "city", "name": "Lyon", "country_code": "FR"})
    assert response.status_code == 403
    assert db.session.scalar(select(Partner).where(Partner.name == "Lyon")) is None


def test_relationship_is_recorded_then_its_status_changes(client, registry, token):
    headers = token("admin")
    created = client.post("/api/v1/relationships", headers=headers, json={
        "partner_id": registry["paris"].id, "kind": "friendship_city", "started_on": "2001-06-01",
        "started_precision": "month"})
    assert created.status_code == 201, created.json
    assert [c["status"] for c in created.json["history"]] == ["active"]
    again = client.post("/api/v1/relationships", headers=headers, json={
        "partner_id": registry["paris"].id, "kind": "friendship_city", "started_on": "2002-01-01"})
    assert again.status_code == 422 and set(again.json["error"]["fields"]) == {"kind"}
    path = f"/api/v1/relationships/{created.json['id']}/status"
    refused = client.post(path, headers=headers, json={"status": "exchanges_suspended", "effective_on": "2022-03-11"})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"reason"}
    changed = client.post(path, headers=headers, json={"status": "exchanges_suspended", "effective_on": "2022-03-11",
                                                       "reason": "Suspended by the governor."})
    assert changed.status_code == 201, changed.json
    assert (changed.json["status"], changed.json["status_since"]) == ("exchanges_suspended", "2022-03-11")
    assert db.session.get(Relationship, created.json["id"]).status.value == "exchanges_suspended"
    bad_date = client.post(path, headers=headers, json={"status": "active", "effective_on": "11/03/2022"})
    assert bad_date.status_code == 422 and set(bad_date.json["error"]["fields"]) == {"effective_on"}
    assert client.post("/api/v1/relationships/999999/status", headers=headers,
                       json={"status": "active", "effective_on": "2022-03-11"}).status_code == 404


def test_agreement_is_recorded_with_signatories_and_a_renewal(client, registry, token):
    headers = token("editor")
    response = client.post("/api/v1/agreements", headers=headers, json={
        "title": "Digital MOU, renewed", "kind": "mou", "party_ids": [registry["paris"].id],
        "signed_on": "2025-03-01", "term_months": 36, "area_codes": ["digital"],
        "previous_id": registry["digital"].id,
        "signatories": [{"partner_id": None, "name": "Governor", "title": "Governor of Tokyo"},
                        {"partner_id": registry["paris"].id, "name": "Mayor", "title": "Mayor of Paris"}]})
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["expires_on"], body["succession"], body["previous"]["id"]) == (
        "2028-03-01", "renewal", registry["digital"].id)
    assert [s["name"] for s in body["signatories"]] == ["Governor", "Mayor"]
    assert db.session.get(Agreement, registry["digital"].id).successors[0].id == body["id"]
    before = _count(Agreement)
    for payload, field in [({"title": "X", "kind": "mou", "party_ids": []}, "party_ids"),
                           ({"title": "X", "kind": "mou", "party_ids": [registry["paris"].id],
                             "area_codes": ["knitting"]}, "area_codes"),
                           ({"title": "X", "kind": "mou", "party_ids": [registry["paris"].id],
                             "signatories": [{"partner_id": registry["nsw"].id, "name": "Premier"}]}, "signatories"),
                           ({"title": "X", "kind": "mou", "party_ids": [registry["paris"].id],
                             "signed_on": "2020-01-01", "expires_on": "2019-01-01"}, "expires_on")]:
        refused = client.post("/api/v1/agreements", headers=headers, json=payload)
        assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {field}, payload
    assert _count(Agreement) == before


def test_embassy_is_registered_then_moves(client, registry, token):
    headers = token("editor")
    created = client.post("/api/v1/embassies", headers=headers, json={
        "country_code": "IT", "mission_type": "embassy", "name": "Embassy of Italy", "address": "2-5-4 Mita",
        "phones": ["+81 3-3453-5291"]})
    assert created.status_code == 201, created.json
    duplicate = client.post("/api/v1/embassies", headers=headers, json={
        "country_code": "IT", "mission_type": "embassy", "name": "Another Embassy of Italy"})
    assert duplicate.status_code == 422 and set(duplicate.json["error"]["fields"]) == {"country_code"}
    path = f"/api/v1/embassies/{created.json['id']}/status"
    no_address = client.post(path, headers=headers, json={"status": "moved", "effective_on": "2024-01-01"})
    assert no_address.status_code == 422 and set(no_address.json["error"]["fields"]) == {"new_address"}
    moved = client.post(path, headers=headers, json={"status": "moved", "effective_on": "2024-01-01",
                                                     "new_address": "1-1 Kudan", "new_ward": "Chiyoda"})
    assert moved.status_code == 201, moved.json
    assert (moved.json["address"], moved.json["history"][0]["previous_address"]) == ("1-1 Kudan", "2-5-4 Mita")
    assert db.session.get(Embassy, created.json["id"]).ward == "Chiyoda"


def test_network_is_registered_with_members_and_events(client, db_session, token):
    headers = token("editor")
    created = client.post("/api/v1/networks", headers=headers, json={"name": "U20", "acronym": "U20"})
    assert created.status_code == 201, created.json
    assert client.post("/api/v1/networks", headers=headers, json={"name": "u20"}).status_code == 422
    base = f"/api/v1/networks/{created.json['id']}"
    member = client.post(f"{base}/members", headers=headers, json={"city_id": LONDON, "joined_on": "2017-12-12"})
    assert member.status_code == 201 and member.json["name"] == "London"
    twice = client.post(f"{base}/members", headers=headers, json={"city_id": LONDON})
    assert twice.status_code == 422 and set(twice.json["error"]["fields"]) == {"city_id"}
    event = client.post(f"{base}/events", headers=headers, json={"title": "U20 Mayors Summit",
                                                                 "starts_on": "2025-09-01", "ends_on": "2025-08-01"})
    assert event.status_code == 422 and set(event.json["error"]["fields"]) == {"ends_on"}
    event = client.post(f"{base}/events", headers=headers, json={"title": "U20 Mayors Summit",
                                                                 "starts_on": "2025-09-01", "city_id": TOKYO})
    assert event.status_code == 201 and event.json["city_id"] == TOKYO
    network = db.session.get(CityNetwork, created.json["id"])
    assert ([m.city_id for m in network.members], [e.title for e in network.events]) == (
        [LONDON], ["U20 Mayors Summit"])


def test_the_openapi_document_describes_every_registry_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {
        "/api/v1/partners": {"get", "post"}, "/api/v1/partners/{partner_id}": {"get"},
        "/api/v1/relationships": {"get", "post"}, "/api/v1/relationships/{relationship_id}": {"get", "post"},
        "/api/v1/relationships/{relationship_id}/status": {"post"},
        "/api/v1/agreements": {"get", "post"}, "/api/v1/agreements/{agreement_id}": {"get"},
        "/api/v1/embassies": {"get", "post"}, "/api/v1/embassies/{embassy_id}": {"get", "post"},
        "/api/v1/embassies/{embassy_id}/status": {"post"},
        "/api/v1/networks": {"get", "post"}, "/api/v1/networks/{network_id}": {"get", "post"},
        "/api/v1/networks/{network_id}/members": {"post"}, "/api/v1/networks/{network_id}/events": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method, operation in paths[path].items():
            assert operation["summary"] and operation["security"] == [{"bearer": []}]
            # A POST to a collection creates (201); to an object's own URL, it replaces its fields (200).
            status = "201" if method == "post" and not path.endswith("}") else "200"
            assert operation["responses"][status]["content"]["application/json"]["schema"]["type"] == "object"
            if method == "post":  # the JSON body, field by field
                assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    agreements = paths["/api/v1/agreements"]["get"]
    assert {p["name"] for p in agreements["parameters"]} >= {
        "kind", "partner_id", "country", "area", "expiring_within_days", "signed_from", "signed_to", "limit", "page"}
    item = agreements["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"]["items"]
    assert {"signed_on", "signed_precision", "expires_on", "parties", "areas"} <= set(item["properties"])
    assert "editor" in paths["/api/v1/agreements"]["post"]["description"]


def test_tokyos_real_network_over_the_api(as_role, db_session):
    from network.demo import seed_tokyo

    assert seed_tokyo()
    db.session.commit()
    client = as_role("viewer")
    sisters = client.get("/api/v1/relationships?kind=sister_city&limit=100").json
    assert [(r["partner"]["name"], r["started_on"]) for r in sisters["items"]][:1] == [("New York City", "1960-02-29")]
    suspended = client.get("/api/v1/relationships?status=exchanges_suspended").json["items"]
    assert {r["partner"]["name"] for r in suspended} == {"Moscow", "Tomsk Region"}
    london = client.get("/api/v1/agreements?country=GB&partner_id="
                        + str(client.get("/api/v1/partners?q=city of london").json["items"][0]["id"])).json["items"]
    revision = next(a for a in london if a["succession"] == "revision")
    assert revision["in_force"] and client.get(f"/api/v1/agreements/{revision['previous_id']}").json[
        "successors"][0]["id"] == revision["id"]
