"""Meetings over JSON: series, meetings with their times in UTC and in their own zone, invitations and
registrations; staff read, editors' tokens write through the services, and every refusal names its field."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import ApiToken, OutboundMessage, Role, hash_token
from meetings import services
from meetings.models import (
    Answer,
    CalendarFeed,
    Invitation,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from tests.conftest import csrf_token, login

TOKYO = "Asia/Tokyo"


def plan(*, schedule: bool = True, **overrides) -> Meeting:
    fields = {"titles": {"en": "Senior officials meeting", "ja": "高級実務者会議"}, "tier": "senior_officials",
              "format": "hybrid", "timezone": TOKYO, "starts_at": datetime(2027, 3, 4, 10, 0),
              "ends_at": datetime(2027, 3, 4, 17, 0), "venue": "Tokyo Metropolitan Government Building",
              "online_url": "https://meet.example.org/som", **overrides}
    meeting = services.create_meeting(actor=None, **fields)
    if schedule:
        services.schedule_meeting(meeting_id=meeting.id, actor=None)
    db.session.commit()
    return meeting


@pytest.fixture
def book(db_session, make_partner):
    """A leaders' series with its meeting (scheduled, 2 places, approval), a working-level draft online, and
    Seoul's delegation of three: two pending, one waiting."""
    series = services.create_series(titles={"en": "Tokyo intercity leaders' meeting", "ja": "東京都市間首脳会議"},
                                    tier="leaders", rrule="FREQ=YEARLY;INTERVAL=2", actor=None)
    leaders = plan(titles={"en": "Leaders' meeting 2027", "ja": "首脳会議2027"}, tier="leaders",
                   series_id=series.id, capacity=2, approval_required=True,
                   starts_at=datetime(2027, 10, 20, 9, 30), ends_at=datetime(2027, 10, 20, 18, 0))
    online = plan(schedule=False, titles={"en": "Working-level online meeting"}, tier="working_level",
                  format="online", venue="", starts_at=datetime(2027, 1, 15, 8, 0),
                  ends_at=datetime(2027, 1, 15, 9, 0), timezone="Europe/Paris")
    seoul = make_partner(name="Seoul", country_code="KR")
    invitation = services.invite(meeting_id=leaders.id, email="head@seoul.example", partner_id=seoul.id,
                                 name="Kim", actor=None)
    head = services.register(invitation=invitation, name="Kim Min-jun", email="head@seoul.example", role="head")
    member = services.register(invitation=invitation, name="Lee", email="lee@seoul.example", role="member")
    waiting = services.register(invitation=invitation, name="Park", email="park@seoul.example", role="adviser")
    db.session.commit()
    return {"series": series, "leaders": leaders, "online": online, "seoul": seoul, "invitation": invitation,
            "head": head, "member": member, "waiting": waiting}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.json
    return response.json


def _fields(response) -> set[str]:
    assert response.status_code == 422, (response.status_code, response.json)
    return set(response.json["error"]["fields"])


MEETING = {"titles": {"en": "Side event: climate", "ja": "サイドイベント：気候"}, "tier": "side_event",
           "format": "in_person", "timezone": "Europe/Paris", "starts_at": "2027-06-01T09:00",
           "ends_at": "2027-06-01T12:30", "venue": "Hôtel de Ville", "capacity": 40}
# The rest of a meeting's fields, which a replacement must give (null for none).
REST = {"descriptions": None, "default_language": "en", "room": None, "address": None, "online_url": None,
        "registration_opens_at": None, "registration_closes_at": None, "delegation_limit": None,
        "interpretation_languages": None, "accreditation_required": False, "approval_required": False,
        "network_event_id": None}


# -- reading ------------------------------------------------------------------------------------------


def test_series_list_and_detail(as_role, book):
    client = as_role("viewer")
    body = _get(client, "/api/v1/meeting-series")
    assert [s["title"] for s in body["items"]] == ["Tokyo intercity leaders' meeting"]
    one = _get(client, f"/api/v1/meeting-series/{book['series'].id}")
    assert (one["tier"], one["rrule"], one["meeting_ids"]) == ("leaders", "FREQ=YEARLY;INTERVAL=2",
                                                              [book["leaders"].id])
    assert _get(client, "/api/v1/meeting-series?tier=side_event")["items"] == []


def test_meeting_detail_gives_times_in_utc_and_in_its_zone_with_counts(as_role, book):
    body = _get(as_role("viewer"), f"/api/v1/meetings/{book['leaders'].id}")
    assert body["titles"] == {"en": "Leaders' meeting 2027", "ja": "首脳会議2027"}
    assert (body["starts_at"], body["ends_at"]) == ("2027-10-20T00:30:00+00:00", "2027-10-20T09:00:00+00:00")
    assert (body["local_starts_at"], body["local_ends_at"], body["timezone"]) == (
        "2027-10-20T09:30:00+09:00", "2027-10-20T18:00:00+09:00", TOKYO)
    assert (body["status"], body["sequence"], body["uid"]) == ("scheduled", 0, book["leaders"].uid)
    assert (body["venue"], body["online_url"], body["capacity"], body["series_id"]) == (
        "Tokyo Metropolitan Government Building", "https://meet.example.org/som", 2, book["series"].id)
    assert body["counts"] == {"invited": 1, "accepted": 0, "registered": 2, "waiting": 1}


def test_japanese_readers_get_titles_in_japanese(as_role, book):
    body = _get(as_role("viewer", language="ja"), f"/api/v1/meetings/{book['leaders'].id}")
    assert body["title"] == "首脳会議2027"


def test_meetings_filter_by_tier_status_series_dates_and_title(as_role, book):
    client = as_role("viewer")
    titles = lambda query: [m["titles"]["en"] for m in _get(client, "/api/v1/meetings" + query)["items"]]  # noqa: E731
    assert titles("") == ["Working-level online meeting", "Leaders' meeting 2027"]
    assert titles("?tier=leaders") == ["Leaders' meeting 2027"]
    assert titles("?status=draft") == ["Working-level online meeting"]
    assert titles(f"?series_id={book['series'].id}") == ["Leaders' meeting 2027"]
    assert titles("?from=2027-02-01") == ["Leaders' meeting 2027"]
    assert titles("?to=2027-01-15") == ["Working-level online meeting"]
    assert titles("?q=ONLINE") == ["Working-level online meeting"]
    assert titles("?q=首脳") == ["Leaders' meeting 2027"]
    page = _get(client, "/api/v1/meetings?limit=1&page=2")
    assert (page["total"], page["pages"], [m["id"] for m in page["items"]]) == (2, 2, [book["leaders"].id])
    assert page["items"][0]["counts"]["registered"] == 2


def test_invitations_and_registrations_of_a_meeting(as_role, book):
    client = as_role("viewer")
    invitations = _get(client, f"/api/v1/meetings/{book['leaders'].id}/invitations")
    [one] = invitations["items"]
    assert (one["email"], one["name"], one["language"], one["answer"], one["answered_via"]) == (
        "head@seoul.example", "Kim", "en", "needs_action", "")
    assert one["partner"]["name"] == "Seoul" and one["delivery"] is not None
    assert _get(client, f"/api/v1/invitations/{one['id']}")["email"] == "head@seoul.example"
    path = f"/api/v1/meetings/{book['leaders'].id}/registrations"
    assert [(r["name"], r["status"], r["role"]) for r in _get(client, path)["items"]] == [
        ("Kim Min-jun", "pending", "head"), ("Lee", "pending", "member"), ("Park", "waitlisted", "adviser")]
    assert [r["name"] for r in _get(client, path + "?status=waitlisted")["items"]] == ["Park"]
    assert _get(client, path + "?limit=2&page=2")["total"] == 3
    assert _get(client, path)["items"][0]["partner_id"] == book["seoul"].id


@pytest.mark.parametrize("path, field", [
    ("/api/v1/meetings?tier=mayors", "tier"), ("/api/v1/meetings?status=soon", "status"),
    ("/api/v1/meetings?series_id=one", "series_id"), ("/api/v1/meetings?from=20/10/2027", "from"),
    ("/api/v1/meetings?from=2027-03-10&to=2027-03-01", "to"), ("/api/v1/meeting-series?tier=x", "tier"),
])
def test_bad_filters_get_a_422_naming_the_parameter(as_role, db_session, path, field):
    assert _fields(as_role("viewer").get(path)) == {field}


def test_a_bad_registration_filter_is_a_422(as_role, book):
    response = as_role("viewer").get(f"/api/v1/meetings/{book['leaders'].id}/registrations?status=maybe")
    assert _fields(response) == {"status"}


@pytest.mark.parametrize("path", ["meeting-series/999999", "meetings/999999", "meetings/999999/invitations",
                                  "meetings/999999/registrations", "invitations/999999"])
def test_a_missing_object_is_a_json_404(as_role, db_session, path):
    response = as_role("viewer").get(f"/api/v1/{path}")
    assert response.status_code == 404 and response.json["error"]["code"]


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_not_read_or_write_any_of_it(as_role, book, role):
    client = as_role(role)
    meeting_id = book["leaders"].id
    for path in ("/api/v1/meeting-series", f"/api/v1/meeting-series/{book['series'].id}", "/api/v1/meetings",
                 f"/api/v1/meetings/{meeting_id}", f"/api/v1/meetings/{meeting_id}/invitations",
                 f"/api/v1/meetings/{meeting_id}/registrations", f"/api/v1/invitations/{book['invitation'].id}"):
        response = client.get(path)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    before = _count(Meeting)
    assert client.post("/api/v1/meetings", json=MEETING).status_code == 403
    assert client.post(f"/api/v1/registrations/{book['head'].id}/decide", json={"approve": True}).status_code == 403
    assert _count(Meeting) == before
    db.session.expire_all()
    assert db.session.get(Registration, book["head"].id).status == RegistrationStatus.PENDING


# -- writing ------------------------------------------------------------------------------------------


def test_editor_adds_a_series_and_plans_a_meeting_in_it(client, book, token):
    headers = token("editor")
    series = client.post("/api/v1/meeting-series", headers=headers, json={
        "titles": {"en": "Diplomatic corps briefing"}, "tier": "diplomatic_briefing", "rrule": "FREQ=YEARLY",
        "default_format": "online", "default_delegation_limit": 2})
    assert series.status_code == 201, series.json
    assert (series.json["tier"], series.json["default_format"], series.json["rrule"]) == (
        "diplomatic_briefing", "online", "FREQ=YEARLY")
    created = client.post("/api/v1/meetings", headers=headers, json={
        "series_id": series.json["id"], "titles": {"en": "Briefing 2027"}, "timezone": TOKYO,
        "starts_at": "2027-04-01T15:00", "ends_at": "2027-04-01T16:00",
        "online_url": "https://meet.example.org/briefing"})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["tier"], body["format"], body["delegation_limit"], body["status"]) == (
        "diplomatic_briefing", "online", 2, "draft")
    assert (body["starts_at"], body["local_starts_at"]) == ("2027-04-01T06:00:00+00:00", "2027-04-01T15:00:00+09:00")
    assert db.session.get(Meeting, body["id"]).series_id == series.json["id"]


def test_editor_plans_schedules_moves_and_cancels_a_meeting(client, book, token):
    headers = token("editor")
    created = client.post("/api/v1/meetings", headers=headers, json=MEETING)
    assert created.status_code == 201, created.json
    assert (created.json["local_starts_at"], created.json["starts_at"]) == (
        "2027-06-01T09:00:00+02:00", "2027-06-01T07:00:00+00:00")
    path = f"/api/v1/meetings/{created.json['id']}"
    scheduled = client.post(f"{path}/schedule", headers=headers)
    assert scheduled.status_code == 200 and scheduled.json["status"] == "scheduled"
    assert _fields(client.post(f"{path}/schedule", headers=headers)) == {"status"}
    invited = client.post(f"{path}/invitations", headers=headers, json={
        "email": "Maire@Paris.example", "name": "Anne", "language": "fr", "partner_id": book["seoul"].id})
    assert invited.status_code == 201, invited.json
    assert (invited.json["email"], invited.json["language"], invited.json["answer"]) == (
        "maire@paris.example", "fr", "needs_action")
    sent = _count(OutboundMessage)
    later = {**MEETING, **REST, "starts_at": "2027-06-01T10:00", "ends_at": "2027-06-01T13:00"}
    moved = client.post(path, headers=headers, json=later)
    assert moved.status_code == 200, moved.json
    assert (moved.json["sequence"], moved.json["local_starts_at"], moved.json["capacity"]) == (
        1, "2027-06-01T10:00:00+02:00", 40)
    assert _count(OutboundMessage) == sent + 1  # the updated invitation
    cleared = client.post(path, headers=headers, json={**later, "capacity": None})
    assert (cleared.status_code, cleared.json["capacity"], cleared.json["sequence"]) == (200, None, 1)
    assert _count(OutboundMessage) == sent + 1  # no change of time or place: nobody is told
    assert _fields(client.post(f"{path}/cancel", headers=headers, json={"reason": " "})) == {"reason"}
    cancelled = client.post(f"{path}/cancel", headers=headers, json={"reason": "The venue is closed."})
    assert cancelled.status_code == 200, cancelled.json
    assert (cancelled.json["status"], cancelled.json["sequence"]) == ("cancelled", 2)
    assert _count(OutboundMessage) == sent + 2  # the cancellation
    assert _fields(client.post(path, headers=headers, json={**MEETING, **REST})) == {"status"}
    assert client.post("/api/v1/meetings/999999", headers=headers, json=MEETING).status_code == 404


def test_meeting_refusals_are_422_with_the_field_and_change_nothing(client, book, token):
    headers, before = token("editor"), _count(Meeting)
    for changes, field in [({"ends_at": "2027-06-01T08:00"}, "ends_at"),
                           ({"timezone": "Europe/Atlantis"}, "timezone"),
                           ({"starts_at": "2027-06-01"}, "starts_at"), ({"starts_at": "soon"}, "starts_at"),
                           ({"starts_at": None}, "starts_at"), ({"titles": {"en": " "}}, "titles"),
                           ({"titles": "Climate"}, "titles"), ({"tier": "mayors"}, "tier"), ({"tier": None}, "tier"),
                           ({"format": "online"}, "online_url"), ({"venue": ""}, "venue"),
                           ({"capacity": 0}, "capacity"), ({"capacity": "many"}, "capacity"),
                           ({"starts_at": "2027-03-28T02:30", "ends_at": "2027-03-28T05:00"}, "starts_at"),
                           ({"series_id": 999999}, "series_id"), ({"organiser": "me"}, "organiser")]:
        body = {k: v for k, v in {**MEETING, **changes}.items() if v is not None}
        assert _fields(client.post("/api/v1/meetings", headers=headers, json=body)) == {field}, changes
    assert _fields(client.post("/api/v1/meetings", headers=headers, data="x")) == {"body"}
    assert _count(Meeting) == before
    path = f"/api/v1/meetings/{book['leaders'].id}"
    late = client.post(path, headers=headers, json={**MEETING, **REST, "ends_at": "2027-05-01T08:00"})
    assert _fields(late) == {"ends_at"}
    db.session.expire_all()
    leaders = db.session.get(Meeting, book["leaders"].id)
    assert (leaders.venue, leaders.sequence, leaders.timezone) == ("Tokyo Metropolitan Government Building", 0, TOKYO)
    assert _fields(client.post("/api/v1/meeting-series", headers=headers,
                               json={"titles": {"en": "X"}, "tier": "leaders", "rrule": "every other year"})) \
        == {"rrule"}
    assert _count(MeetingSeries) == 1


def test_invitation_refusals_name_the_field_and_send_nothing(client, book, token):
    headers, sent, invited = token("editor"), _count(OutboundMessage), _count(Invitation)
    draft = f"/api/v1/meetings/{book['online'].id}/invitations"
    assert _fields(client.post(draft, headers=headers, json={"email": "a@b.example"})) == {"status"}
    path = f"/api/v1/meetings/{book['leaders'].id}/invitations"
    for body, field in [({"email": "not-an-email"}, "email"), ({"name": "Nobody"}, "email"),
                        ({"email": "head@seoul.example"}, "email"), ({"email": "x@y.example", "language": "?!"},
                                                                      "language"),
                        ({"email": "x@y.example", "partner_id": 999999}, "partner_id"),
                        ({"email": "x@y.example", "contact_id": 999999}, "contact_id"),
                        ({"email": "x@y.example", "timezone": "Mars/Olympus"}, "timezone")]:
        assert _fields(client.post(path, headers=headers, json=body)) == {field}, body
    assert (_count(OutboundMessage), _count(Invitation)) == (sent, invited)


def test_editor_invites_a_contact_in_their_language(client, book, token):
    from partners import services as partners

    taro = partners.create_contact(family_name="Yamada", given_name="Taro", family_name_local="山田",
                                   given_name_local="太郎", preferred_language="ja",
                                   emails=[{"address": "taro@embassy.example"}], actor=None)
    nobody = partners.create_contact(family_name="Nomail", actor=None)
    db.session.commit()
    headers, path = token("editor"), f"/api/v1/meetings/{book['leaders'].id}/invitations"
    response = client.post(path, headers=headers, json={"contact_id": taro.id})
    assert response.status_code == 201, response.json
    assert (response.json["email"], response.json["name"], response.json["language"], response.json["contact_id"]) \
        == ("taro@embassy.example", "山田 太郎", "ja", taro.id)
    assert _fields(client.post(path, headers=headers, json={"contact_id": nobody.id})) == {"email"}
    listed = client.get(path + "?limit=1&page=2", headers=headers).json
    assert (listed["total"], [i["email"] for i in listed["items"]]) == (2, ["taro@embassy.example"])


def _cancellations() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.category == "meeting.cancellation"))


def test_editor_withdraws_an_invitation(client, book, token):
    headers, sent = token("editor"), _cancellations()
    path = f"/api/v1/invitations/{book['invitation'].id}/withdraw"
    response = client.post(path, headers=headers, json={"reason": "Wrong address."})
    assert response.status_code == 200, response.json
    assert response.json["removed_at"] is not None
    assert _cancellations() == sent + 1  # the CANCEL of their copy
    assert _fields(client.post(path, headers=headers)) == {"invitation"}
    listed = client.get(f"/api/v1/meetings/{book['leaders'].id}/invitations", headers=headers).json
    assert listed["items"] == []


def test_editor_approves_and_declines_registrations(client, book, token):
    headers = token("editor")
    approved = client.post(f"/api/v1/registrations/{book['head'].id}/decide", headers=headers,
                           json={"approve": True})
    assert approved.status_code == 200 and approved.json["status"] == "confirmed"
    declined = client.post(f"/api/v1/registrations/{book['member'].id}/decide", headers=headers,
                           json={"approve": False})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    db.session.expire_all()
    assert db.session.get(Registration, book["waiting"].id).status == RegistrationStatus.OFFERED  # promoted
    again = client.post(f"/api/v1/registrations/{book['head'].id}/decide", headers=headers, json={"approve": False})
    assert _fields(again) == {"approve"}
    assert _fields(client.post(f"/api/v1/registrations/{book['waiting'].id}/decide", headers=headers,
                               json={"approve": "yes"})) == {"approve"}
    assert _fields(client.post(f"/api/v1/registrations/{book['waiting'].id}/decide", headers=headers,
                               json={})) == {"approve"}
    db.session.expire_all()
    assert db.session.get(Registration, book["head"].id).status == RegistrationStatus.CONFIRMED
    assert client.post("/api/v1/registrations/999999/decide", headers=headers,
                       json={"approve": True}).status_code == 404


def test_viewers_may_not_write_even_with_a_token(client, book, token):
    headers = token("viewer")
    meeting_id = book["leaders"].id
    before = (_count(Meeting), _count(MeetingSeries), _count(Invitation), _count(OutboundMessage))
    for path, body in [("/api/v1/meeting-series", {"titles": {"en": "X"}, "tier": "leaders"}),
                       ("/api/v1/meetings", MEETING), (f"/api/v1/meetings/{meeting_id}", MEETING),
                       (f"/api/v1/meetings/{book['online'].id}/schedule", None),
                       (f"/api/v1/meetings/{meeting_id}/cancel", {"reason": "No."}),
                       (f"/api/v1/meetings/{meeting_id}/invitations", {"email": "x@y.example"}),
                       (f"/api/v1/invitations/{book['invitation'].id}/withdraw", None),
                       (f"/api/v1/registrations/{book['head'].id}/decide", {"approve": True})]:
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    db.session.expire_all()
    assert (_count(Meeting), _count(MeetingSeries), _count(Invitation), _count(OutboundMessage)) == before
    assert db.session.get(Meeting, meeting_id).status == MeetingStatus.SCHEDULED
    assert db.session.get(Meeting, book["online"].id).status == MeetingStatus.DRAFT
    assert db.session.get(Invitation, book["invitation"].id).removed_at is None
    assert db.session.get(Registration, book["head"].id).status == RegistrationStatus.PENDING


def test_an_editor_session_without_a_token_may_not_write(as_role, book):
    response = as_role("editor").post("/api/v1/meetings", json=MEETING)
    assert response.status_code == 403
    assert _count(Meeting) == 2


def test_the_openapi_document_describes_every_meetings_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {
        "/api/v1/meeting-series": {"get", "post"}, "/api/v1/meeting-series/{series_id}": {"get"},
        "/api/v1/meetings": {"get", "post"}, "/api/v1/meetings/{meeting_id}": {"get", "post"},
        "/api/v1/meetings/{meeting_id}/schedule": {"post"}, "/api/v1/meetings/{meeting_id}/cancel": {"post"},
        "/api/v1/meetings/{meeting_id}/invitations": {"get", "post"},
        "/api/v1/invitations/{invitation_id}": {"get"}, "/api/v1/invitations/{invitation_id}/withdraw": {"post"},
        "/api/v1/meetings/{meeting_id}/registrations": {"get"},
        "/api/v1/registrations/{registration_id}/decide": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method, operation in paths[path].items():
            assert operation["summary"] and operation["security"] == [{"bearer": []}]
            assert operation["tags"] == ["meetings"]
            assert "viewer" in operation["description"] or "editor" in operation["description"]
            [status] = [s for s in operation["responses"] if s != "default"]
            assert operation["responses"][status]["content"]["application/json"]["schema"]["type"] == "object"
            if method == "post" and not path.endswith("/schedule"):
                assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "201" in paths["/api/v1/meetings"]["post"]["responses"]
    assert "200" in paths["/api/v1/meetings/{meeting_id}/cancel"]["post"]["responses"]
    create = paths["/api/v1/meetings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["properties"]["titles"]["type"] == "object"
    assert create["properties"]["starts_at"]["format"] == "date-time"
    listing = paths["/api/v1/meetings"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"tier", "status", "series_id", "from", "to", "q", "page"}


def test_a_replacement_must_give_every_field_and_changes_nothing_when_one_is_left_out(client, book, token):
    """Leaving capacity, descriptions or registration dates out of a replacement is a 422 naming the field, never a
    silent change to no limit; null clears a field, and the series, left out, stays."""
    headers, leaders = token("editor"), book["leaders"]
    path = f"/api/v1/meetings/{leaders.id}"
    full = {**MEETING, **REST, "titles": leaders.titles, "tier": "leaders", "format": "hybrid", "timezone": TOKYO,
            "starts_at": "2027-10-20T09:30", "ends_at": "2027-10-20T18:00",
            "venue": "Tokyo Metropolitan Government Building", "online_url": "https://meet.example.org/som",
            "capacity": 2, "approval_required": True, "descriptions": {"en": "Every two years."},
            "registration_closes_at": "2027-10-01T17:00"}
    sent = _count(OutboundMessage)
    for left_out in ("capacity", "descriptions", "registration_opens_at", "registration_closes_at",
                     "delegation_limit", "approval_required", "titles"):
        body = {k: v for k, v in full.items() if k != left_out}
        response = client.post(path, headers=headers, json=body)
        assert _fields(response) == {left_out}
        assert "null" in response.json["error"]["message"]
    db.session.expire_all()
    assert (leaders.capacity, leaders.approval_required, leaders.sequence) == (2, True, 0)
    saved = client.post(path, headers=headers, json=full)
    assert saved.status_code == 200, saved.json
    assert (saved.json["capacity"], saved.json["descriptions"], saved.json["series_id"]) == (
        2, {"en": "Every two years."}, book["series"].id)
    assert saved.json["registration_closes_at"] == "2027-10-01T08:00:00+00:00"
    cleared = client.post(path, headers=headers, json={**full, "registration_closes_at": None, "descriptions": None,
                                                       "capacity": None})
    assert (cleared.json["capacity"], cleared.json["descriptions"], cleared.json["registration_closes_at"]) == (
        None, {}, None)
    assert _fields(client.post(path, headers=headers, json={**full, "titles": None})) == {"titles"}
    assert _fields(client.post(path, headers=headers, json={**full, "starts_at": None})) == {"starts_at"}
    # Neither time nor place moved: no calendar is updated; the place freed by lifting the capacity is offered
    # to the one waiting (Park), and that is the only message.
    assert _count(OutboundMessage) == sent + 1
    spec = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/meetings/{meeting_id}"]["post"]
    body = spec["requestBody"]["content"]["application/json"]["schema"]
    assert "capacity" in body["required"] and "series_id" not in body["required"]
    assert "null to clear" in spec["summary"]


def test_editor_postpones_a_meeting_and_schedules_it_again(client, book, token):
    headers, path = token("editor"), f"/api/v1/meetings/{book['leaders'].id}"
    sent = _count(OutboundMessage)
    assert _fields(client.post(f"{path}/postpone", headers=headers, json={})) == {"reason"}
    assert _fields(client.post(f"/api/v1/meetings/{book['online'].id}/postpone", headers=headers,
                               json={"reason": "Later."})) == {"status"}
    assert _count(OutboundMessage) == sent
    postponed = client.post(f"{path}/postpone", headers=headers, json={"reason": "The venue is being repaired."})
    assert postponed.status_code == 200, postponed.json
    assert (postponed.json["status"], postponed.json["sequence"]) == ("postponed", 1)
    # The head, invited and registered, holds the entry; the members not yet confirmed (pending approval, waiting)
    # hold none, so nothing is sent to them.
    assert _count(OutboundMessage) == sent + 1
    again = client.post(f"{path}/schedule", headers=headers)
    assert (again.status_code, again.json["status"], again.json["sequence"]) == (200, "scheduled", 2)


def test_editor_reminds_those_who_have_not_answered_once_a_day(client, book, token, make_partner):
    headers, path = token("editor"), f"/api/v1/meetings/{book['leaders'].id}/remind"
    answered = services.invite(meeting_id=book["leaders"].id, email="mayor@paris.example", actor=None)
    services.record_answer(invitation=answered, answer="accepted", via="link")
    db.session.commit()
    sent = _count(OutboundMessage)
    reminded = client.post(path, headers=headers)
    assert reminded.status_code == 200, reminded.json
    assert (reminded.json["reminded"], [i["email"] for i in reminded.json["invitations"]]) == (
        1, ["head@seoul.example"])
    assert reminded.json["invitations"][0]["reminded_at"] is not None
    assert _count(OutboundMessage) == sent + 1
    assert client.post(path, headers=headers).json["reminded"] == 0  # less than a day ago
    assert _count(OutboundMessage) == sent + 1
    assert _fields(client.post(f"/api/v1/meetings/{book['online'].id}/remind", headers=headers)) == {"status"}
    assert client.post("/api/v1/meetings/999999/remind", headers=headers).status_code == 404
    assert client.post(path, headers=token("viewer")).status_code == 403


def test_editor_records_an_answer_given_to_the_office(client, book, token):
    headers, path = token("editor"), f"/api/v1/invitations/{book['invitation'].id}/answer"
    for body, field in [({"answer": "maybe"}, "answer"), ({"answer": "needs_action"}, "answer"), ({}, "answer"),
                        ({"answer": "accepted", "via": "phone"}, "via")]:
        assert _fields(client.post(path, headers=headers, json=body)) == {field}, body
    db.session.expire_all()
    assert db.session.get(Invitation, book["invitation"].id).answer == Answer.NEEDS_ACTION
    recorded = client.post(path, headers=headers, json={"answer": "declined", "comment": "By phone: no travel."})
    assert recorded.status_code == 200, recorded.json
    assert (recorded.json["answer"], recorded.json["answered_via"], recorded.json["comment"]) == (
        "declined", "staff", "By phone: no travel.")
    assert client.post("/api/v1/invitations/999999/answer", headers=headers,
                       json={"answer": "accepted"}).status_code == 404
    assert client.post(path, headers=token("viewer"), json={"answer": "accepted"}).status_code == 403


# -- delegates and liaisons ---------------------------------------------------------------------------


def external_token(user) -> dict:
    """An API token of a delegate's or liaison's account. The account pages give tokens to staff only
    (kizuna.services.create_api_token), so the row is made here as that service would make it."""
    secret = "kz_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name="test", token_hash=hash_token(secret), prefix=secret[:8]))
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def cities(db_session, make_partner, make_user):
    """A scheduled meeting of 3 places, 3 per delegation and interpretation into ja and ko: Seoul and Paris invited,
    Paris's Jean and Anne registered (two places taken); Paris alone invited to bilateral talks; Seoul's
    delegate."""
    seoul, paris = make_partner(name="Seoul", country_code="KR"), make_partner(name="Paris", country_code="FR")
    meeting = plan(titles={"en": "Senior officials meeting 2030"}, capacity=3, delegation_limit=3,
                   interpretation_languages=["ja", "ko"], starts_at=datetime(2030, 3, 4, 10, 0),
                   ends_at=datetime(2030, 3, 4, 17, 0))
    talks = plan(titles={"en": "Paris bilateral talks"}, starts_at=datetime(2030, 6, 1, 10, 0),
                 ends_at=datetime(2030, 6, 1, 12, 0))
    seoul_invitation = services.invite(meeting_id=meeting.id, email="head@seoul.example", name="Kim Min-jun",
                                       partner_id=seoul.id, actor=None)
    paris_invitation = services.invite(meeting_id=meeting.id, email="head@paris.example", name="Claire Martin",
                                       partner_id=paris.id, actor=None)
    jean = services.register(invitation=paris_invitation, name="Jean Dupont", email="jean@paris.example")
    services.register(invitation=paris_invitation, name="Anne Leroy", email="anne@paris.example")
    talks_invitation = services.invite(meeting_id=talks.id, email="head@paris.example", partner_id=paris.id,
                                       actor=None)
    db.session.commit()
    delegate = make_user(Role.DELEGATE, email="delegate@seoul.example", partner_id=seoul.id, timezone="Asia/Seoul")
    return {"seoul": seoul, "paris": paris, "meeting": meeting, "talks": talks, "seoul_invitation": seoul_invitation,
            "paris_invitation": paris_invitation, "jean": jean, "talks_invitation": talks_invitation,
            "delegate": delegate, "headers": external_token(delegate)}


def _registrations(meeting) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(Registration.meeting_id == meeting.id)
                                   .order_by(Registration.id)))


def test_a_delegate_reads_their_citys_meetings_and_delegation_only(client, cities):
    headers, meeting = cities["headers"], cities["meeting"]
    listing = _get_with(client, "/api/v1/my/meetings", headers)
    assert (listing["total"], [m["title"] for m in listing["items"]]) == (1, ["Senior officials meeting 2030"])
    one = _get_with(client, f"/api/v1/my/meetings/{meeting.id}", headers)
    assert (one["local_starts_at"], one["reader_starts_at"], one["reader_timezone"]) == (
        "2030-03-04T10:00:00+09:00", "2030-03-04T10:00:00+09:00", "Asia/Seoul")
    assert "counts" not in one and "capacity" not in one
    [invitation] = one["invitations"]
    assert (invitation["email"], invitation["answer"], invitation["delegation"]["limit"],
            invitation["delegation"]["members"]) == ("head@seoul.example", "needs_action", 3, 0)
    assert invitation["page_url"].startswith("http://kizuna.test/meetings/answer/")
    assert invitation["calendar_url"].endswith("/invite.ics")
    assert one["registrations"] == [] and one["agenda"] == [] and one["documents"] == []
    for path in (f"/api/v1/my/meetings/{cities['talks'].id}", "/api/v1/my/meetings/999999"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.json["error"]["code"], path


def _get_with(client, path: str, headers: dict) -> dict:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_registration_over_the_api_is_the_same_as_one_on_the_page(client, cities):
    """Capacity, waiting list, delegation limit and promotion: the API and the invitation's page share them."""
    headers, meeting, invitation = cities["headers"], cities["meeting"], cities["seoul_invitation"]
    base = f"/api/v1/my/invitations/{invitation.id}"
    answered = client.post(f"{base}/answer", headers=headers, json={"answer": "accepted", "comment": "Three of us."})
    assert answered.status_code == 200, answered.json
    assert (answered.json["answer"], answered.json["answered_via"], answered.json["comment"]) == (
        "accepted", "api", "Three of us.")
    sent = _count(OutboundMessage)
    kim = client.post(f"{base}/registrations", headers=headers, json={
        "name": "Kim Min-jun", "email": "head@seoul.example", "role": "head", "arrival_at": "2030-03-03T15:30",
        "interpretation_language": "ko"})
    assert kim.status_code == 201, kim.json
    assert (kim.json["status"], kim.json["role"], kim.json["arrival_at"], kim.json["interpretation_language"]) == (
        "confirmed", "head", "2030-03-03T06:30:00+00:00", "ko")  # 15:30 in Tokyo; the last place
    url = f"/meetings/answer/{services.invitation_token(invitation)}"
    page = client.post(f"{url}/register", data={
        "name": "Lee Ji-ho", "email": "lee@seoul.example", "role": "adviser", "title": "Director",
        "arrival_at": "2030-03-03T15:30", "departure_at": "", "dietary": "Vegetarian", "accessibility": "",
        "interpretation_language": "ja", "csrf_token": csrf_token(client, url)})
    assert page.status_code == 303
    api = client.post(f"{base}/registrations", headers=headers, json={
        "name": "Park", "email": "park@seoul.example", "role": "adviser", "title": "Director",
        "arrival_at": "2030-03-03T15:30", "dietary": "Vegetarian", "interpretation_language": "ja"})
    assert api.status_code == 201, api.json
    db.session.expire_all()
    _, _, kim_row, lee, park = _registrations(meeting)
    same = ("status", "delegation_id", "invitation_id", "language", "role", "title", "arrival_at", "departure_at",
            "dietary", "accessibility", "interpretation_language", "offer_expires_at")
    assert [getattr(lee, f) for f in same] == [getattr(park, f) for f in same]
    assert park.status == RegistrationStatus.WAITLISTED
    assert _count(OutboundMessage) == sent + 3  # each told of their registration
    full = client.post(f"{base}/registrations", headers=headers, json={"name": "Choi", "email": "choi@seoul.example"})
    assert _fields(full) == {"invitation"}
    assert "at most 3 people" in full.json["error"]["message"]
    assert _fields(client.post(f"{base}/registrations", headers=headers,
                               json={"name": "Lee", "email": "LEE@seoul.example"})) == {"email"}

    cancelled = client.post(f"/api/v1/my/registrations/{kim_row.id}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    db.session.expire_all()
    assert (lee.status, park.status) == (RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)  # first come
    assert _fields(client.post(f"/api/v1/my/registrations/{park.id}/accept", headers=headers)) == {"registration"}
    accepted = client.post(f"/api/v1/my/registrations/{lee.id}/accept", headers=headers)
    assert accepted.status_code == 200 and accepted.json["status"] == "confirmed"
    assert _fields(client.post(f"/api/v1/my/registrations/{kim_row.id}/cancel", headers=headers)) == {"registration"}
    mine = _get_with(client, f"/api/v1/my/meetings/{meeting.id}", headers)
    assert [(r["name"], r["status"]) for r in mine["registrations"]] == [
        ("Kim Min-jun", "cancelled"), ("Lee Ji-ho", "confirmed"), ("Park", "waitlisted")]
    assert mine["invitations"][0]["delegation"]["members"] == 2


def test_a_delegate_may_not_touch_another_citys_invitations_or_registrations(client, cities):
    headers, jean = cities["headers"], cities["jean"]
    sent, registered = _count(OutboundMessage), _count(Registration)
    for path, body in [(f"/api/v1/my/invitations/{cities['paris_invitation'].id}/answer", {"answer": "declined"}),
                       (f"/api/v1/my/invitations/{cities['talks_invitation'].id}/answer", {"answer": "declined"}),
                       (f"/api/v1/my/invitations/{cities['paris_invitation'].id}/registrations",
                        {"name": "Spy", "email": "spy@seoul.example"}),
                       (f"/api/v1/my/registrations/{jean.id}/cancel", None),
                       (f"/api/v1/my/registrations/{jean.id}/accept", None),
                       ("/api/v1/my/invitations/999999/answer", {"answer": "declined"}),
                       ("/api/v1/my/registrations/999999/cancel", None)]:
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 404 and response.json["error"]["code"], path
    db.session.expire_all()
    assert (_count(OutboundMessage), _count(Registration)) == (sent, registered)
    assert db.session.get(Registration, jean.id).status == RegistrationStatus.CONFIRMED
    assert db.session.get(Invitation, cities["paris_invitation"].id).answer == Answer.NEEDS_ACTION


def test_delegates_writes_need_their_own_token(client, cities, token):
    path = f"/api/v1/my/invitations/{cities['seoul_invitation'].id}/answer"
    assert client.post(path, json={"answer": "accepted"}).status_code == 401  # nobody signed in
    staff = client.post(path, headers=token("editor"), json={"answer": "accepted"})
    assert staff.status_code == 403 and staff.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/my/meetings", headers=token("admin")).status_code == 403
    login(client, cities["delegate"])
    assert client.get("/api/v1/my/meetings").status_code == 200  # a session reads
    assert client.post(path, json={"answer": "accepted"}).status_code == 403  # but does not write
    db.session.expire_all()
    assert db.session.get(Invitation, cities["seoul_invitation"].id).answer == Answer.NEEDS_ACTION


def test_a_delegates_bad_input_is_a_422_at_its_field_and_changes_nothing(client, cities):
    headers, invitation = cities["headers"], cities["seoul_invitation"]
    answer, register = (f"/api/v1/my/invitations/{invitation.id}/answer",
                        f"/api/v1/my/invitations/{invitation.id}/registrations")
    for body, field in [({"answer": "maybe"}, "answer"), ({"answer": "needs_action"}, "answer"), ({}, "answer"),
                        ({"answer": "accepted", "comment": 3}, "comment")]:
        assert _fields(client.post(answer, headers=headers, json=body)) == {field}, body
    person = {"name": "Lee", "email": "lee@seoul.example"}
    for body, field in [({"email": "lee@seoul.example"}, "name"), ({"name": "Lee"}, "email"),
                        ({**person, "email": "not-an-address"}, "email"), ({**person, "name": " "}, "name"),
                        ({**person, "role": "boss"}, "role"), ({**person, "phone": "+82"}, "phone"),
                        ({**person, "interpretation_language": "fr"}, "interpretation_language"),
                        ({**person, "language": "?!"}, "language"),
                        ({**person, "arrival_at": "tomorrow"}, "arrival_at"),
                        ({**person, "arrival_at": "2030-03-03T15:00", "departure_at": "2030-03-02T10:00"},
                         "departure_at"),
                        ({**person, "accreditation": "not base64!"}, "accreditation")]:
        assert _fields(client.post(register, headers=headers, json=body)) == {field}, body
    assert _fields(client.post(register, headers=headers, data="x")) == {"body"}
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answer == Answer.NEEDS_ACTION
    assert [r.name for r in _registrations(cities["meeting"])] == ["Jean Dupont", "Anne Leroy"]


def test_an_accreditation_goes_over_the_api_in_base64(client, cities, app):
    meeting = cities["meeting"]
    meeting.accreditation_required = True
    db.session.commit()
    headers, path = cities["headers"], f"/api/v1/my/invitations/{cities['seoul_invitation'].id}/registrations"
    person = {"name": "Lee", "email": "lee@seoul.example"}
    assert _fields(client.post(path, headers=headers, json=person)) == {"accreditation"}
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    made = client.post(path, headers=headers, json={**person, "accreditation": base64.b64encode(pdf).decode(),
                                                    "accreditation_filename": "note-verbale.pdf"})
    assert made.status_code == 201, made.json
    assert made.json["accreditation"] is True
    assert db.session.get(Registration, made.json["id"]).accreditation_filename == "note-verbale.pdf"


def test_a_cancelled_meeting_takes_no_more_answers_or_registrations(client, cities):
    headers, invitation = cities["headers"], cities["seoul_invitation"]
    services.cancel_meeting(meeting_id=cities["meeting"].id, reason="Called off.", actor=None)
    db.session.commit()
    sent = _count(OutboundMessage)
    assert _fields(client.post(f"/api/v1/my/invitations/{invitation.id}/answer", headers=headers,
                               json={"answer": "accepted"})) == {"meeting"}
    assert _fields(client.post(f"/api/v1/my/invitations/{invitation.id}/registrations", headers=headers,
                               json={"name": "Lee", "email": "lee@seoul.example"})) == {"meeting"}
    one = _get_with(client, f"/api/v1/my/meetings/{cities['meeting'].id}", headers)
    assert one["status"] == "cancelled" and one["invitations"][0]["page_url"] is None
    assert _count(OutboundMessage) == sent


def test_a_liaison_registers_only_themselves_for_a_briefing_addressed_to_them(client, db_session, make_user, cities):
    briefing = plan(titles={"en": "Diplomatic corps briefing"}, tier="diplomatic_briefing",
                    starts_at=datetime(2030, 2, 1, 15, 0), ends_at=datetime(2030, 2, 1, 16, 0))
    liaison = make_user(Role.LIAISON, email="attache@embassy.example")
    invitation = services.invite(meeting_id=briefing.id, email="attache@embassy.example", name="Attaché",
                                 actor=None)
    db.session.commit()
    headers = external_token(liaison)
    listing = _get_with(client, "/api/v1/my/meetings", headers)
    assert [m["title"] for m in listing["items"]] == ["Diplomatic corps briefing"]
    assert listing["items"][0]["invitations"][0]["delegation"] is None
    assert client.get(f"/api/v1/my/meetings/{cities['meeting'].id}", headers=headers).status_code == 404
    path = f"/api/v1/my/invitations/{invitation.id}/registrations"
    assert _fields(client.post(path, headers=headers, json={"name": "Colleague", "email": "other@embassy.example"})) \
        == {"email"}
    mine = client.post(path, headers=headers, json={"name": "Attaché", "email": "attache@embassy.example"})
    assert mine.status_code == 201 and mine.json["status"] == "confirmed"
    other = client.post(f"/api/v1/my/invitations/{cities['seoul_invitation'].id}/answer", headers=headers,
                        json={"answer": "accepted"})
    assert other.status_code == 404


# -- calendar feeds ------------------------------------------------------------------------------------


def test_a_private_feed_is_made_listed_read_and_revoked_over_the_api(client, cities, token):
    headers = cities["headers"]
    made = client.post("/api/v1/calendar/feeds", headers=headers, json={"name": "Outlook"})
    assert made.status_code == 201, made.json
    assert made.headers["Cache-Control"] == "no-store"
    assert made.json["name"] == "Outlook" and made.json["webcal_url"].startswith("webcal://")
    path = made.json["url"].removeprefix("http://kizuna.test")
    assert client.get(path).status_code == 200
    feeds = _get_with(client, "/api/v1/calendar/feeds", headers)
    assert [(f["id"], f["name"]) for f in feeds["items"]] == [(made.json["id"], "Outlook")]
    assert "url" not in feeds["items"][0]  # the token is shown once
    assert _fields(client.post("/api/v1/calendar/feeds", headers=headers, json={"name": "x" * 201})) == {"name"}
    assert _fields(client.post("/api/v1/calendar/feeds", headers=headers, json={"name": 7})) == {"name"}
    other = token("editor")
    assert client.post(f"/api/v1/calendar/feeds/{made.json['id']}/revoke", headers=other).status_code == 404
    assert _get_with(client, "/api/v1/calendar/feeds", other)["items"] == []
    revoked = client.post(f"/api/v1/calendar/feeds/{made.json['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json["id"] == made.json["id"]
    assert client.get(path).status_code == 404
    assert client.post(f"/api/v1/calendar/feeds/{made.json['id']}/revoke", headers=headers).status_code == 404
    assert _count(CalendarFeed) == 1


def test_the_openapi_document_describes_the_delegates_staff_and_feed_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {
        "/api/v1/meetings/{meeting_id}/postpone": ("post", "200", "editor", True),
        "/api/v1/meetings/{meeting_id}/remind": ("post", "200", "editor", False),
        "/api/v1/invitations/{invitation_id}/answer": ("post", "200", "editor", True),
        "/api/v1/my/meetings": ("get", "200", "delegate, liaison", False),
        "/api/v1/my/meetings/{meeting_id}": ("get", "200", "delegate, liaison", False),
        "/api/v1/my/invitations/{invitation_id}/answer": ("post", "200", "delegate, liaison", True),
        "/api/v1/my/invitations/{invitation_id}/registrations": ("post", "201", "delegate, liaison", True),
        "/api/v1/my/registrations/{registration_id}/cancel": ("post", "200", "delegate, liaison", False),
        "/api/v1/my/registrations/{registration_id}/accept": ("post", "200", "delegate, liaison", False),
        "/api/v1/calendar/feeds": ("post", "201", "any signed-in account", True),
        "/api/v1/calendar/feeds/{feed_id}/revoke": ("post", "200", "any signed-in account", False),
    }
    for path, (method, status, who, has_body) in expected.items():
        operation = paths[path][method]
        assert operation["summary"] and operation["tags"] == ["meetings"], path
        assert who in operation["description"] and operation["security"] == [{"bearer": []}], path
        assert operation["responses"][status]["content"]["application/json"]["schema"]["type"] == "object", path
        assert ("requestBody" in operation) == has_body, path
        if method == "post":
            assert "API token" in operation["summary"], path
    register = paths["/api/v1/my/invitations/{invitation_id}/registrations"]["post"]
    body = register["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"name", "email", "role", "arrival_at", "interpretation_language", "accreditation"} <= set(body)
    assert body["arrival_at"]["format"] == "date-time"
    assert "get" in paths["/api/v1/calendar/feeds"]
