"""GET /api/v1/cities: the city search over JSON, for the autocomplete and for API clients."""

import pytest

from kizuna import services as core
from kizuna.extensions import db

TOKYO, ZURICH, SAO_PAULO = 1850147, 2657896, 3448439
CITY_KEYS = {"id", "name", "country", "country_name", "label", "timezone", "latitude", "longitude", "population",
             "admin1"}


def test_search_returns_cities_as_json(as_role):
    response = as_role("viewer").get("/api/v1/cities?q=tok")
    assert response.status_code == 200 and response.mimetype == "application/json"
    tokyo = response.json["items"][0]
    assert set(tokyo) == CITY_KEYS
    assert tokyo == {"id": TOKYO, "name": "Tokyo", "country": "JP", "country_name": "Japan", "label": "Tokyo, Japan",
                     "timezone": "Asia/Tokyo", "latitude": pytest.approx(35.6895, abs=1e-3),
                     "longitude": pytest.approx(139.6917, abs=1e-3), "population": tokyo["population"],
                     "admin1": "40"}


@pytest.mark.parametrize("q", ["zur", "ZÜR", "Zürich", "チューリッヒ"])
def test_search_ignores_case_and_accents_and_knows_other_names(as_role, q):
    response = as_role("viewer").get("/api/v1/cities", query_string={"q": q})
    assert response.json["items"][0]["id"] == ZURICH


def test_search_filters_by_country_in_any_case(as_role):
    client = as_role("viewer")
    items = client.get("/api/v1/cities", query_string={"q": "sao p", "country": "br"}).json["items"]
    assert items[0]["id"] == SAO_PAULO and {c["country"] for c in items} == {"BR"}
    items = client.get("/api/v1/cities", query_string={"q": "sao p", "country": "PT"}).json["items"]
    assert items and {c["country"] for c in items} == {"PT"}


def test_limit_is_honoured_and_capped(as_role):
    client = as_role("viewer")
    assert len(client.get("/api/v1/cities?q=s&limit=3").json["items"]) == 3
    assert len(client.get("/api/v1/cities?q=s&limit=1000").json["items"]) == 100
    assert len(client.get("/api/v1/cities?q=s&limit=many").json["items"]) == 20


def test_japanese_readers_get_japanese_country_names(as_role):
    items = as_role("viewer", language="ja").get("/api/v1/cities?q=東京").json["items"]
    assert [(c["id"], c["country_name"], c["label"]) for c in items] == [(TOKYO, "日本", "Tokyo, 日本")]


@pytest.mark.parametrize("query, field", [
    ({}, "q"), ({"q": "   "}, "q"), ({"q": "z" * 201}, "q"),
    ({"q": "tok", "country": "JPN"}, "country"), ({"q": "tok", "country": "1A"}, "country"),
    ({"q": "tok", "country": "XX"}, "country"),
])
def test_bad_parameters_get_a_422_json_error_naming_the_field(as_role, query, field):
    response = as_role("viewer").get("/api/v1/cities", query_string=query)
    assert response.status_code == 422 and response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == "invalid" and error["message"] and set(error["fields"]) == {field}


def test_a_query_of_200_characters_is_accepted(as_role):
    response = as_role("viewer").get("/api/v1/cities", query_string={"q": "z" * 200})
    assert response.status_code == 200 and response.json == {"items": []}


def test_anonymous_callers_get_a_401_json_error(client):
    response = client.get("/api/v1/cities?q=tok")
    assert response.status_code == 401 and response.mimetype == "application/json"
    assert response.json["error"]["code"] == "unauthorized"


def test_a_staff_api_token_may_search(client, make_user):
    user = make_user("viewer")
    _, secret = core.create_api_token(user=user, name="test", actor=user)
    db.session.commit()
    response = client.get("/api/v1/cities?q=tok", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and response.json["items"][0]["id"] == TOKYO


def test_the_openapi_document_describes_the_city_search(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/cities"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"q", "country", "limit"}
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"]["items"]
    assert set(item["properties"]) == CITY_KEYS
