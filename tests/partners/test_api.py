"""Partners over JSON: lists with filters and pages, details, and editors' writes through the services."""

from datetime import date

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from partners import services
from partners.models import Contact, FollowUp, Interaction, Organisation

TODAY = date(2026, 11, 25)


@pytest.fixture
def book(make_organisation, make_contact, staff):
    """Paris city hall with a department, an embassy, two contacts, three interactions, two follow-ups."""
    paris = make_organisation(kind="partner_government", name="Paris City Hall", name_local="Mairie de Paris",
                              country_code="FR")
    culture = make_organisation(kind="government_department", name="Cultural Affairs", parent_id=paris.id,
                                country_code="FR")
    embassy = make_organisation(kind="embassy", name="Embassy of France", country_code="FR")
    anne = make_contact(family_name="Hidalgo", given_name="Anne", country_code="FR", languages=["fr", "en"],
                        emails=["anne@paris.example"], phones=["+33 1 42 76 40 40"], tags=["Mayor", "G20"])
    services.add_position(contact_id=anne.id, organisation_id=paris.id, title="Mayor",
                          started_on=date(2014, 4, 5), actor=staff, today=TODAY)
    taro = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田",
                        given_name_local="太郎", country_code="JP", preferred_language="ja")
    services.add_position(contact_id=taro.id, organisation_id=embassy.id, title="Attaché", actor=staff,
                          today=TODAY)
    visit = services.add_interaction(kind="visit", occurred_on=date(2026, 3, 10), subject="Mayor's visit",
                                     contact_ids=[anne.id], organisation_ids=[paris.id], staff_ids=[staff.id],
                                     actor=staff, today=TODAY)
    gift = services.add_interaction(kind="gift_given", occurred_on=date(2026, 3, 10), subject="Gift to the mayor",
                                    contact_ids=[anne.id], gift_description="Edo kiriko glass", gift_value="15000",
                                    gift_currency="JPY", actor=staff, today=TODAY)
    call = services.add_interaction(kind="call", occurred_on=date(2026, 6, 1), subject="Call with the embassy",
                                    contact_ids=[taro.id], organisation_ids=[embassy.id], actor=staff, today=TODAY)
    minutes = services.add_follow_up(interaction_id=visit.id, owner_id=staff.id, due_on=date(2026, 3, 20),
                                     text="Send the minutes", actor=staff)
    thanks = services.add_follow_up(interaction_id=call.id, owner_id=staff.id, due_on=date(2026, 6, 10),
                                    text="Thank the attaché", actor=staff)
    services.complete_follow_up(follow_up_id=thanks.id, actor=staff)
    db.session.commit()
    return {"paris": paris, "culture": culture, "embassy": embassy, "anne": anne, "taro": taro, "visit": visit,
            "gift": gift, "call": call, "minutes": minutes, "thanks": thanks}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.json
    return response.json


# -- reading ------------------------------------------------------------------------------------------


def test_organisations_filter_by_kind_country_partner_parent_and_name(as_role, book):
    client = as_role("viewer")
    names = lambda query: [o["name"] for o in _get(client, "/api/v1/organisations" + query)["items"]]  # noqa: E731
    assert names("") == ["Cultural Affairs", "Embassy of France", "Paris City Hall"]
    assert names("?kind=embassy") == ["Embassy of France"]
    assert names("?country=fr&q=mairie") == ["Paris City Hall"]
    assert names(f"?parent_id={book['paris'].id}") == ["Cultural Affairs"]
    assert names("?country=JP") == []
    first = _get(client, "/api/v1/organisations?limit=2&page=2")
    assert (first["total"], first["pages"], [o["name"] for o in first["items"]]) == (3, 2, ["Paris City Hall"])


def test_organisation_detail_has_departments_and_people(as_role, book):
    body = _get(as_role("viewer"), f"/api/v1/organisations/{book['paris'].id}")
    assert (body["kind"], body["name_local"], body["country"]) == ("partner_government", "Mairie de Paris", "FR")
    assert [d["name"] for d in body["departments"]] == ["Cultural Affairs"]
    assert [(p["contact"]["display_name"], p["title"], p["started_on"]) for p in body["people"]] == [
        ("Anne Hidalgo", "Mayor", "2014-04-05")]


def test_contacts_come_with_posts_reach_languages_and_tags(as_role, book):
    client = as_role("viewer")
    anne = _get(client, f"/api/v1/contacts/{book['anne'].id}")
    assert anne["emails"] == [{"address": "anne@paris.example", "label": "", "primary": True}]
    assert anne["phones"] == [{"number": "+33142764040", "label": "", "primary": True}]
    assert (anne["languages"], anne["tags"]) == (["en", "fr"], ["G20", "Mayor"])
    assert [(p["organisation"]["name"], p["title"], p["current"]) for p in anne["positions"]] == [
        ("Paris City Hall", "Mayor", True)]
    names = lambda query: [c["display_name"] for c in _get(client, "/api/v1/contacts" + query)["items"]]  # noqa: E731
    assert names("") == ["Anne Hidalgo", "YAMADA Taro"]
    assert names("?q=taro yam") == ["YAMADA Taro"]
    assert names("?q=山田") == ["YAMADA Taro"]
    assert names(f"?organisation_id={book['embassy'].id}") == ["YAMADA Taro"]
    assert names("?language=FR&country=fr&tag=g20") == ["Anne Hidalgo"]


def test_japanese_readers_get_names_in_japanese(as_role, book):
    body = _get(as_role("viewer", language="ja"), f"/api/v1/contacts/{book['taro'].id}")
    assert body["display_name"] == "山田 太郎"


def test_interactions_newest_first_filtered_by_kind_dates_and_participants(as_role, book, staff):
    client = as_role("viewer")
    subjects = lambda query: [i["subject"] for i in _get(client, "/api/v1/interactions" + query)["items"]]  # noqa: E731
    assert subjects("") == ["Call with the embassy", "Gift to the mayor", "Mayor's visit"]
    assert subjects("?kind=visit") == ["Mayor's visit"]
    assert subjects("?from=2026-03-10&to=2026-03-10") == ["Gift to the mayor", "Mayor's visit"]
    assert subjects(f"?contact_id={book['anne'].id}&organisation_id={book['paris'].id}") == ["Mayor's visit"]
    assert subjects(f"?staff_id={staff.id}") == ["Mayor's visit"]


def test_interaction_detail_has_participants_gift_and_follow_ups(as_role, book, staff):
    client = as_role("viewer")
    visit = _get(client, f"/api/v1/interactions/{book['visit'].id}")
    assert ([c["display_name"] for c in visit["contacts"]], [s["id"] for s in visit["staff"]],
            [o["name"] for o in visit["organisations"]], visit["gift"]) == (
        ["Anne Hidalgo"], [staff.id], ["Paris City Hall"], None)
    assert [(f["text"], f["due_on"], f["done"]) for f in visit["follow_ups"]] == [
        ("Send the minutes", "2026-03-20", False)]
    gift = _get(client, f"/api/v1/interactions/{book['gift'].id}")["gift"]
    assert gift == {"description": "Edo kiriko glass", "value": "15000.00", "currency": "JPY"}


def test_follow_ups_filter_by_owner_state_and_due_date(as_role, book, staff):
    client = as_role("viewer")
    texts = lambda query: [f["text"] for f in _get(client, "/api/v1/follow-ups" + query)["items"]]  # noqa: E731
    assert texts(f"?owner_id={staff.id}") == ["Send the minutes", "Thank the attaché"]
    assert texts("?done=false") == ["Send the minutes"]
    assert texts("?done=true&due_by=2026-12-31") == ["Thank the attaché"]
    assert texts("?due_by=2026-03-19") == []
    one = _get(client, f"/api/v1/follow-ups/{book['minutes'].id}")
    assert (one["interaction_subject"], one["owner"]["id"], one["reminded_at"]) == ("Mayor's visit", staff.id, None)


@pytest.mark.parametrize("path, field", [
    ("/api/v1/organisations?kind=club", "kind"), ("/api/v1/organisations?country=XX", "country"),
    ("/api/v1/organisations?partner_id=one", "partner_id"), ("/api/v1/contacts?language=klingon", "language"),
    ("/api/v1/contacts?organisation_id=x", "organisation_id"), ("/api/v1/interactions?kind=party", "kind"),
    ("/api/v1/interactions?from=10/03/2026", "from"), ("/api/v1/interactions?from=2026-03-10&to=2026-03-01", "to"),
    ("/api/v1/follow-ups?done=maybe", "done"), ("/api/v1/follow-ups?due_by=soon", "due_by"),
])
def test_bad_filters_get_a_422_naming_the_parameter(as_role, db_session, path, field):
    response = as_role("viewer").get(path)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}


@pytest.mark.parametrize("path", ["organisations", "contacts", "interactions", "follow-ups"])
def test_a_missing_object_is_a_json_404(as_role, db_session, path):
    response = as_role("viewer").get(f"/api/v1/{path}/999999")
    assert response.status_code == 404 and response.json["error"]["code"]


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_not_read_or_write_any_of_it(as_role, book, role):
    client = as_role(role)
    for path in ("/api/v1/organisations", f"/api/v1/organisations/{book['paris'].id}", "/api/v1/contacts",
                 f"/api/v1/contacts/{book['anne'].id}", "/api/v1/interactions",
                 f"/api/v1/interactions/{book['visit'].id}", "/api/v1/follow-ups",
                 f"/api/v1/follow-ups/{book['minutes'].id}"):
        response = client.get(path)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    assert client.post("/api/v1/contacts", json={"family_name": "Spy"}).status_code == 403
    assert db.session.scalar(select(Contact).where(Contact.family_name == "Spy")) is None


# -- writing ------------------------------------------------------------------------------------------


def test_editor_creates_and_replaces_an_organisation(client, book, token):
    headers = token("editor")
    created = client.post("/api/v1/organisations", headers=headers, json={
        "kind": "university", "name": "Sorbonne", "country_code": "fr", "website": "sorbonne.example"})
    assert created.status_code == 201, created.json
    assert (created.json["country"], created.json["website"]) == ("FR", "https://sorbonne.example")
    path = f"/api/v1/organisations/{created.json['id']}"
    replaced = client.post(path, headers=headers, json={"kind": "university", "name": "Sorbonne University"})
    assert replaced.status_code == 200, replaced.json
    sorbonne = db.session.get(Organisation, created.json["id"])
    assert (sorbonne.name, sorbonne.website, sorbonne.country_code) == ("Sorbonne University", None, None)
    refused = client.post(path, headers=headers, json={"kind": "university", "name": "Sorbonne",
                                                      "partner_id": book["paris"].partner_id or 1})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"partner_id"}
    assert client.post("/api/v1/organisations/999999", headers=headers,
                      json={"kind": "ngo", "name": "X"}).status_code == 404


def test_organisation_refusals_are_422_with_the_field_and_change_nothing(client, book, token):
    headers, before = token("editor"), _count(Organisation)
    for body, field in [({"name": "X"}, "kind"), ({"kind": "ngo"}, "name"), ({"kind": "club", "name": "X"}, "kind"),
                        ({"kind": "ngo", "name": "X", "country_code": "ZZ"}, "country_code"),
                        ({"kind": "ngo", "name": "X", "parent_id": book["embassy"].id, "ceo": "y"}, "ceo"),
                        ({"kind": "government_department", "name": "X", "parent_id": book["embassy"].id},
                         "parent_id")]:
        response = client.post("/api/v1/organisations", headers=headers, json=body)
        assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}, body
    assert _count(Organisation) == before


def test_editor_creates_and_replaces_a_contact_with_emails_and_phones(client, book, token):
    headers = token("editor")
    created = client.post("/api/v1/contacts", headers=headers, json={
        "family_name": "Kim", "given_name": "Minjun", "family_name_local": "김", "given_name_local": "민준",
        "country_code": "KR", "preferred_language": "ko",
        "emails": [{"address": "minjun@seoul.example", "label": "work"}],
        "phones": [{"number": "02-2133-0114", "label": "office"}, {"number": "+82 10-1234-5678", "primary": True}],
        "tags": ["U20"]})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["name_order"], body["languages"], body["tags"]) == ("family_first", ["ko"], ["U20"])
    assert [(p["number"], p["primary"]) for p in body["phones"]] == [("+821012345678", True), ("+82221330114", False)]
    path = f"/api/v1/contacts/{body['id']}"
    replaced = client.post(path, headers=headers, json={"family_name": "Kim", "given_name": "Minjun",
                                                       "country_code": "KR", "emails": [
                                                           {"address": "kim@seoul.example"}]})
    assert replaced.status_code == 200, replaced.json
    kim = db.session.get(Contact, body["id"])
    assert ([e.address for e in kim.emails], kim.phones, kim.family_name_local) == (["kim@seoul.example"], [], "")
    moved = client.post(f"{path}/positions", headers=headers, json={
        "organisation_id": book["culture"].id, "title": "Director", "started_on": "2025-01-01"})
    assert moved.status_code == 201, moved.json
    assert [p["organisation"]["name"] for p in moved.json["positions"]] == ["Cultural Affairs"]


def test_contact_refusals_name_the_field_and_save_nothing(client, book, token):
    headers, before = token("editor"), _count(Contact)
    for body, field in [({"given_name": ""}, "family_name"),
                        ({"family_name": "Doe", "emails": [{"address": "not-an-email"}]}, "emails-0-address"),
                        ({"family_name": "Doe", "phones": [{"number": "12"}]}, "phones-0-number"),
                        ({"family_name": "Doe", "emails": [{"address": 7}]}, "emails-0-address"),
                        ({"family_name": "Doe", "emails": ["a@b.example"]}, "emails"),
                        ({"family_name": "Doe", "languages": ["xx-YY"]}, "languages-0"),
                        ({"family_name": "Doe", "legal_basis": "consent"}, "consent_date"),
                        ({"family_name": "Doe", "consent_date": "2026-02-30"}, "consent_date")]:
        response = client.post("/api/v1/contacts", headers=headers, json=body)
        assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}, body
    assert _count(Contact) == before
    path = f"/api/v1/contacts/{book['anne'].id}"
    refused = client.post(path, headers=headers, json={"family_name": "Hidalgo", "phones": [{"number": "nope"}]})
    assert refused.status_code == 422
    db.session.expire_all()
    assert [p.number for p in db.session.get(Contact, book["anne"].id).phones] == ["+33142764040"]


def test_editor_logs_a_gift_then_a_follow_up_and_marks_it_done(client, book, token, staff):
    headers = token("editor")
    created = client.post("/api/v1/interactions", headers=headers, json={
        "kind": "gift_received", "occurred_on": "2026-11-20", "subject": "Gift from the embassy",
        "contact_ids": [book["taro"].id], "organisation_ids": [book["embassy"].id], "staff_ids": [staff.id],
        "gift_description": "Porcelain", "gift_value": "120.50", "gift_currency": "eur"})
    assert created.status_code == 201, created.json
    assert created.json["gift"] == {"description": "Porcelain", "value": "120.50", "currency": "EUR"}
    path = f"/api/v1/interactions/{created.json['id']}/follow-ups"
    too_early = client.post(path, headers=headers, json={"owner_id": staff.id, "due_on": "2026-11-01",
                                                         "text": "Write a thank-you letter"})
    assert too_early.status_code == 422 and set(too_early.json["error"]["fields"]) == {"due_on"}
    added = client.post(path, headers=headers, json={"owner_id": staff.id, "due_on": "2026-12-01",
                                                     "text": "Write a thank-you letter"})
    assert added.status_code == 201, added.json
    done = client.post(f"/api/v1/follow-ups/{added.json['id']}/done", headers=headers)
    assert done.status_code == 200 and done.json["done"] is True
    again = client.post(f"/api/v1/follow-ups/{added.json['id']}/done", headers=headers)
    assert again.status_code == 422 and again.json["error"]["fields"]
    assert db.session.get(FollowUp, added.json["id"]).done_at is not None


def test_editor_replaces_an_interaction_and_its_participants(client, book, token, staff):
    headers = token("editor")
    path = f"/api/v1/interactions/{book['visit'].id}"
    body = {"kind": "meeting", "occurred_on": "2026-03-11", "subject": "Mayor's visit, day two",
            "contact_ids": [book["anne"].id, book["taro"].id], "staff_ids": [], "notes": "Second day."}
    response = client.post(path, headers=headers, json=body)
    assert response.status_code == 200, response.json
    assert ([c["id"] for c in response.json["contacts"]], response.json["organisations"], response.json["staff"]) == (
        [book["anne"].id, book["taro"].id], [], [])
    assert [f["text"] for f in response.json["follow_ups"]] == ["Send the minutes"]
    visit = db.session.get(Interaction, book["visit"].id)
    assert (visit.kind.value, visit.occurred_on, visit.notes) == ("meeting", date(2026, 3, 11), "Second day.")
    # the follow-up is due on 2026-03-20: the interaction cannot move after it
    late = client.post(path, headers=headers, json={**body, "occurred_on": "2026-03-21"})
    assert late.status_code == 422 and set(late.json["error"]["fields"]) == {"occurred_on"}
    gift = client.post(path, headers=headers, json={**body, "gift_description": "Tea"})
    assert gift.status_code == 422 and set(gift.json["error"]["fields"]) == {"gift_description"}
    nobody = client.post(path, headers=headers, json={**body, "contact_ids": []})
    assert nobody.status_code == 422 and set(nobody.json["error"]["fields"]) == {"contact_ids"}
    db.session.expire_all()
    assert db.session.get(Interaction, book["visit"].id).subject == "Mayor's visit, day two"
    assert client.post("/api/v1/interactions/999999", headers=headers, json=body).status_code == 404


def test_interaction_refusals_name_the_field_and_save_nothing(client, book, token, make_user):
    headers, before = token("editor"), _count(Interaction)
    base = {"kind": "call", "occurred_on": "2026-11-01", "subject": "Call", "contact_ids": [book["anne"].id]}
    liaison = make_user("liaison")
    for changes, field in [({"kind": "party"}, "kind"), ({"subject": " "}, "subject"),
                           ({"occurred_on": "2999-01-01"}, "occurred_on"), ({"contact_ids": []}, "contact_ids"),
                           ({"contact_ids": [999999]}, "contact_ids"), ({"staff_ids": [liaison.id]}, "staff_ids"),
                           ({"gift_description": "Tea"}, "gift_description"),
                           ({"kind": "gift_given", "gift_description": "Tea", "gift_value": "lots",
                             "gift_currency": "JPY"}, "gift_value"),
                           ({"kind": "gift_given", "gift_description": "Tea", "gift_value": "10",
                             "gift_currency": "XYZ"}, "gift_currency"),
                           ({"gift_value": 10}, "gift_value")]:
        response = client.post("/api/v1/interactions", headers=headers, json={**base, **changes})
        assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}, changes
    assert _count(Interaction) == before


def test_viewers_may_not_write_even_with_a_token(client, book, token):
    headers = token("viewer")
    before = (_count(Organisation), _count(Contact), _count(Interaction))
    for path, body in [("/api/v1/organisations", {"kind": "ngo", "name": "X"}),
                       ("/api/v1/contacts", {"family_name": "X"}),
                       (f"/api/v1/contacts/{book['anne'].id}/positions", {"organisation_id": book["paris"].id}),
                       ("/api/v1/interactions", {"kind": "call", "occurred_on": "2026-11-01", "subject": "X",
                                                 "contact_ids": [book["anne"].id]}),
                       (f"/api/v1/interactions/{book['visit'].id}", {"kind": "call", "occurred_on": "2026-11-01",
                                                                     "subject": "X", "contact_ids": [book["anne"].id]}),
                       (f"/api/v1/interactions/{book['visit'].id}/follow-ups",
                        {"owner_id": 1, "due_on": "2026-12-01", "text": "X"}),
                       (f"/api/v1/follow-ups/{book['minutes'].id}/done", None)]:
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    response = client.post(f"/api/v1/contacts/{book['anne'].id}", headers=headers, json={"family_name": "X"})
    assert response.status_code == 403
    db.session.expire_all()
    assert (_count(Organisation), _count(Contact), _count(Interaction)) == before
    assert db.session.get(Contact, book["anne"].id).family_name == "Hidalgo"
    assert db.session.get(FollowUp, book["minutes"].id).done_at is None
    assert db.session.get(Interaction, book["visit"].id).subject == "Mayor's visit"


def test_an_editor_session_without_a_token_may_not_write(as_role, book):
    response = as_role("editor").post("/api/v1/organisations", json={"kind": "ngo", "name": "Session NGO"})
    assert response.status_code == 403
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Session NGO")) is None


def test_the_openapi_document_describes_every_partners_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {
        "/api/v1/organisations": {"get", "post"}, "/api/v1/organisations/{organisation_id}": {"get", "post"},
        "/api/v1/contacts": {"get", "post"}, "/api/v1/contacts/{contact_id}": {"get", "post"},
        "/api/v1/contacts/{contact_id}/positions": {"post"},
        "/api/v1/interactions": {"get", "post"}, "/api/v1/interactions/{interaction_id}": {"get", "post"},
        "/api/v1/interactions/{interaction_id}/follow-ups": {"post"},
        "/api/v1/follow-ups": {"get"}, "/api/v1/follow-ups/{follow_up_id}": {"get"},
        "/api/v1/follow-ups/{follow_up_id}/done": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method, operation in paths[path].items():
            assert operation["summary"] and operation["security"] == [{"bearer": []}]
            assert operation["tags"] == ["partners"]
            assert "viewer" in operation["description"] or "editor" in operation["description"]
            [status] = [s for s in operation["responses"] if s != "default"]
            assert operation["responses"][status]["content"]["application/json"]["schema"]["type"] == "object"
            if method == "post" and not path.endswith("/done"):
                assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    contacts = paths["/api/v1/contacts"]["get"]
    assert {p["name"] for p in contacts["parameters"]} >= {"q", "organisation_id", "language", "tag", "page"}
    item = contacts["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"]["items"]
    assert {"positions", "emails", "phones", "languages", "tags"} <= set(item["properties"])
