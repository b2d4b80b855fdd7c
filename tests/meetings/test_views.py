"""The staff's meeting pages: the planning board, series, the meeting form, the meeting page with its
invitations and their delivery, and the registrations list with its exports."""

from __future__ import annotations

import csv
import email
import io
import re
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import MessageStatus, OutboundMessage
from meetings import services
from meetings.models import Invitation, Meeting, MeetingSeries, MeetingStatus, Registration, RegistrationStatus
from tests.conftest import csrf_token

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


def post(client, path: str, data: dict, form_path: str = "/account"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_path)})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def error_at(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    assert match, f"no error shown at {field_id}"
    return match.group(1).strip()


def outbox(category: str | None = None) -> list[OutboundMessage]:
    rows = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    return [r for r in rows if category is None or r.category == category]


def calendar_of(row: OutboundMessage) -> Calendar:
    message = email.message_from_bytes(row.raw, policy=policy.default)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


MEETING_FORM = {"title_en": "Working-level online meeting", "title_ja": "実務者オンライン会議",
                "tier": "working_level", "format": "online", "online_url": "https://meet.example.org/wl",
                "timezone": TOKYO, "starts_at": "2027-05-10T09:00", "ends_at": "2027-05-10T11:00",
                "default_language": "en"}


# -- who may see and change what -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_staff_read_the_board_the_series_the_meeting_and_its_registrations(as_role, role):
    meeting = plan()
    client = as_role(role)
    for path in ("/meetings/", "/meetings/series", f"/meetings/{meeting.id}",
                 f"/meetings/{meeting.id}/registrations"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Senior officials meeting" in response.get_data(as_text=True) or path == "/meetings/series"
    editing = ("/meetings/new", f"/meetings/{meeting.id}/edit", f"/meetings/{meeting.id}/cancel",
               "/meetings/series/new", f"/meetings/{meeting.id}/registrations.csv")
    for path in editing:
        assert client.get(path).status_code == (403 if role == "viewer" else 200), path


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_reach_no_staff_page(as_role, role):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="head@seoul.example", actor=None)
    db.session.commit()
    invitation = db.session.scalar(select(Invitation))
    client = as_role(role)
    for path in ("/meetings/", "/meetings/series", "/meetings/series/new", "/meetings/new",
                 f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/edit", f"/meetings/{meeting.id}/cancel",
                 f"/meetings/{meeting.id}/registrations", f"/meetings/{meeting.id}/registrations.xlsx",
                 f"/meetings/invitations/{invitation.id}/withdraw"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/meetings/{meeting.id}/cancel", {"reason": "No"}).status_code == 403
    assert db.session.get(Meeting, meeting.id).status == MeetingStatus.SCHEDULED


def test_a_viewer_who_posts_changes_nothing(as_role, make_partner):
    meeting = plan()
    draft = plan(schedule=False, titles={"en": "Draft"})
    client = as_role("viewer")
    before = len(outbox())
    assert post(client, "/meetings/new", MEETING_FORM).status_code == 403
    assert post(client, f"/meetings/{meeting.id}/edit", {**MEETING_FORM, "title_en": "Changed"}).status_code == 403
    assert post(client, f"/meetings/{draft.id}/schedule", {}).status_code == 403
    assert post(client, f"/meetings/{meeting.id}/cancel", {"reason": "Typhoon"}).status_code == 403
    assert post(client, f"/meetings/{meeting.id}/invitations",
                {"partner-partner_id": make_partner().id, "partner-name": "A", "partner-email": "a@b.example",
                 "partner-language": "en"}).status_code == 403
    assert post(client, "/meetings/series/new", {"title_en": "Series", "tier": "leaders"}).status_code == 403
    db.session.expire_all()
    assert count(Meeting) == 2 and count(MeetingSeries) == 0 and count(Invitation) == 0
    assert db.session.get(Meeting, draft.id).status == MeetingStatus.DRAFT
    assert db.session.get(Meeting, meeting.id).title("en") == "Senior officials meeting"
    assert len(outbox()) == before


# -- the meeting form ----------------------------------------------------------------------------


def test_an_editor_plans_a_meeting_in_its_own_zone(as_role):
    client = as_role("editor")
    page = client.get("/meetings/new").get_data(as_text=True)
    assert '<option selected value="Asia/Tokyo">' in page or 'value="Asia/Tokyo" selected' in page
    response = post(client, "/meetings/new", {**MEETING_FORM, "timezone": "Europe/Paris",
                                              "other_language": "fr", "other_title": "Réunion en ligne",
                                              "interpretation_languages": "en, ja, fr", "capacity": "40"})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    meeting = db.session.scalar(select(Meeting))
    assert meeting.status == MeetingStatus.DRAFT
    assert meeting.titles == {"en": "Working-level online meeting", "ja": "実務者オンライン会議",
                              "fr": "Réunion en ligne"}
    assert meeting.starts_at == datetime(2027, 5, 10, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert meeting.interpretation_languages == ["en", "fr", "ja"] and meeting.capacity == 40
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Europe/Paris" in page and "Asia/Tokyo" in page  # the meeting's zone and the reader's


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"ends_at": "2027-05-10T08:00"}, "ends_at", "must end after it starts"),
    ({"timezone": "Tokyo Standard Time"}, "timezone", "is not a time zone"),
    ({"online_url": ""}, "online_url", "needs its link"),
    ({"format": "hybrid"}, "venue", "needs its venue"),
    ({"title_en": "", "title_ja": ""}, "title_en", "at least one language"),
    ({"capacity": "0"}, "capacity", "A whole number from 1"),
    ({"capacity": "many"}, "capacity", "Not a valid integer"),
    ({"starts_at": "tomorrow"}, "starts_at", "Not a valid datetime"),
    ({"interpretation_languages": "en, Japanese!"}, "interpretation_languages", "is not a language code"),
])
def test_bad_meeting_input_is_shown_at_its_field_and_nothing_is_saved(as_role, changes, field, message):
    client = as_role("editor")
    response = post(client, "/meetings/new", {**MEETING_FORM, **changes})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in error_at(html, field)
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    assert count(Meeting) == 0


def test_editing_a_scheduled_meeting_says_how_many_are_told_and_sends_them_an_update(as_role):
    meeting = plan()
    for address in ("a@seoul.example", "b@paris.example"):
        services.invite(meeting_id=meeting.id, email=address, actor=None)
    db.session.commit()
    client = as_role("editor")
    page = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert "sends updated invitations to all 2 people invited or registered" in page
    assert 'value="2027-03-04T10:00"' in page  # the start, in the meeting's own zone
    form = {"title_en": "Senior officials meeting", "title_ja": "高級実務者会議", "tier": "senior_officials",
            "format": "hybrid", "venue": "Tokyo Metropolitan Government Building",
            "online_url": "https://meet.example.org/som", "timezone": TOKYO, "starts_at": "2027-03-05T10:00",
            "ends_at": "2027-03-05T17:00", "default_language": "en"}
    response = post(client, f"/meetings/{meeting.id}/edit", form)
    assert response.status_code == 303
    updates = outbox("meeting.invitation")[2:]
    assert sorted(r.recipient for r in updates) == ["a@seoul.example", "b@paris.example"]
    event = calendar_of(updates[0]).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and event.decoded("DTSTART") == datetime(2027, 3, 5, 1, 0, tzinfo=UTC)
    assert "on their way to 2 people" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_an_edit_refused_by_the_rules_changes_nothing(as_role):
    meeting = plan()
    client = as_role("editor")
    response = post(client, f"/meetings/{meeting.id}/edit", {**MEETING_FORM, "ends_at": "2027-05-10T08:00"})
    assert response.status_code == 422 and "must end after it starts" in error_at(response.get_data(as_text=True),
                                                                                   "ends_at")
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).title("en") == "Senior officials meeting"


def test_schedule_then_cancel_with_a_reason_after_a_confirmation(as_role):
    meeting = plan(schedule=False)
    client = as_role("editor")
    edit_page = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'name="action-csrf_token"' in edit_page and "sends updated invitations" not in edit_page  # a draft
    token = csrf_token(client, "/account")
    assert client.post(f"/meetings/{meeting.id}/schedule", data={"action-csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == MeetingStatus.SCHEDULED
    services.invite(meeting_id=meeting.id, email="a@seoul.example", actor=None)
    db.session.commit()
    page = client.get(f"/meetings/{meeting.id}/cancel").get_data(as_text=True)
    assert "The 1 person invited or registered gets a calendar cancellation" in page
    refused = post(client, f"/meetings/{meeting.id}/cancel", {"reason": "  "})
    assert refused.status_code == 422 and "Say why" in error_at(refused.get_data(as_text=True), "reason")
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == MeetingStatus.SCHEDULED
    assert post(client, f"/meetings/{meeting.id}/cancel", {"reason": "Typhoon"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == MeetingStatus.CANCELLED
    [cancel] = outbox("meeting.cancellation")
    assert str(calendar_of(cancel)["METHOD"]) == "CANCEL"


def test_postpone_asks_for_a_reason_then_marks_everyones_entry_tentative(as_role):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="a@seoul.example", actor=None)
    db.session.commit()
    client = as_role("editor")
    assert f'href="/meetings/{meeting.id}/postpone"' in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    page = client.get(f"/meetings/{meeting.id}/postpone").get_data(as_text=True)
    assert "The 1 person invited or registered gets an updated calendar entry, marked tentative" in page
    refused = post(client, f"/meetings/{meeting.id}/postpone", {"reason": ""})
    assert refused.status_code == 422 and "Say why" in error_at(refused.get_data(as_text=True), "reason")
    assert len(outbox("meeting.invitation")) == 1
    done = post(client, f"/meetings/{meeting.id}/postpone", {"reason": "Typhoon season"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == MeetingStatus.POSTPONED
    update = outbox("meeting.invitation")[-1]
    assert str(calendar_of(update).walk("VEVENT")[0]["STATUS"]) == "TENTATIVE"
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Postponed" in page and f"/meetings/{meeting.id}/postpone" not in page  # scheduling it is offered


# -- series and the board ------------------------------------------------------------------------


def test_a_series_is_added_with_its_recurrence_and_bad_rules_are_shown_at_the_field(as_role):
    client = as_role("editor")
    data = {"title_en": "Tokyo intercity leaders' meeting", "title_ja": "東京都市間首脳会議", "tier": "leaders",
            "default_format": "in_person", "default_delegation_limit": "4"}
    refused = post(client, "/meetings/series/new", {**data, "rrule": "every two years"})
    assert refused.status_code == 422 and "FREQ=YEARLY;INTERVAL=2" in error_at(refused.get_data(as_text=True),
                                                                                 "rrule")
    assert count(MeetingSeries) == 0
    assert post(client, "/meetings/series/new", {**data, "rrule": "FREQ=YEARLY;INTERVAL=2"}).status_code == 303
    series = db.session.scalar(select(MeetingSeries))
    assert series.rrule == "FREQ=YEARLY;INTERVAL=2" and series.default_delegation_limit == 4
    html = client.get("/meetings/series").get_data(as_text=True)
    assert "Tokyo intercity leaders&#39; meeting" in html and "FREQ=YEARLY;INTERVAL=2" in html


def test_the_board_groups_by_year_and_tier_counts_and_filters(as_role, make_partner):
    meeting = plan(capacity=2)
    plan(titles={"en": "Leaders 2028"}, tier="leaders", starts_at=datetime(2028, 6, 1, 10),
         ends_at=datetime(2028, 6, 1, 12))
    invitation = services.invite(meeting_id=meeting.id, email="a@seoul.example", partner_id=make_partner().id,
                                 actor=None)
    services.record_answer(invitation=invitation, answer="accepted", via="link")
    for n in range(3):
        services.register(invitation=invitation, name=f"P{n}", email=f"p{n}@seoul.example" if n else "a@seoul.example")
    db.session.commit()
    client = as_role("viewer")
    html = client.get("/meetings/?year=all").get_data(as_text=True)
    assert '<h2 id="year-2027">2027</h2>' in html and '<h2 id="year-2028">2028</h2>' in html
    assert "<caption>Senior officials · 2027</caption>" in html and "<caption>Leaders · 2028</caption>" in html
    # Unasked, the board shows the year of the next meeting, and offers the others.
    coming = client.get("/meetings/").get_data(as_text=True)
    assert '<h2 id="year-2027">2027</h2>' in coming and '<h2 id="year-2028">' not in coming
    assert '<option value="2027" selected>2027</option>' in coming and '<option value="2028">2028</option>' in coming
    row = re.search(r"Senior officials meeting</a>.*?</tr>", html, re.S).group(0)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert [c.strip() for c in cells[-4:]] == ["1", "1", "2 / 2", "1"]  # invited, accepted, places, waiting
    filtered = client.get("/meetings/", query_string={"tier": "leaders", "year": "all"}).get_data(as_text=True)
    assert "Leaders 2028" in filtered and "Senior officials meeting" not in filtered
    assert "Leaders 2028" not in client.get("/meetings/?year=2027").get_data(as_text=True)
    assert "No meeting matches" in client.get("/meetings/?status=cancelled").get_data(as_text=True)


# -- invitations ---------------------------------------------------------------------------------


def test_inviting_a_partner_delegation_from_the_page_queues_an_itip_request(as_role, make_partner):
    meeting = plan()
    seoul = make_partner(name="Seoul", country_code="KR")
    client = as_role("editor")
    response = post(client, f"/meetings/{meeting.id}/invitations",
                    {"partner-partner_id": seoul.id, "partner-name": "Kim Min-jun",
                     "partner-email": "Mayor@Seoul.example", "partner-language": "ja"})
    assert response.status_code == 303
    invitation = db.session.scalar(select(Invitation))
    assert (invitation.email, invitation.partner_id, invitation.language) == ("mayor@seoul.example", seoul.id, "ja")
    [row] = outbox("meeting.invitation")
    cal = calendar_of(row)
    assert str(cal["METHOD"]) == "REQUEST" and str(cal.walk("VEVENT")[0]["UID"]) == meeting.uid
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    table = html[html.index("<caption>Invitations"):]
    assert "Kim Min-jun" in table and "Seoul" in table and "No answer yet" in table and "Queued" in table


def test_the_invitations_table_shows_a_failed_delivery_with_the_servers_answer(as_role):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="a@seoul.example", name="Kim", actor=None)
    services.invite(meeting_id=meeting.id, email="b@paris.example", name="Anne", actor=None)
    db.session.commit()
    first, second = outbox("meeting.invitation")
    first.status, first.last_error = MessageStatus.FAILED, "550 5.1.1 <a@seoul.example>: user unknown"
    second.status = MessageStatus.SENT
    db.session.commit()
    html = as_role("viewer").get(f"/meetings/{meeting.id}").get_data(as_text=True)
    kim = re.search(r"<tr>\s*<td>Kim<br>.*?</tr>", html, re.S).group(0)
    anne = re.search(r"<tr>\s*<td>Anne<br>.*?</tr>", html, re.S).group(0)
    assert "Failed" in kim and "550 5.1.1" in kim
    assert "Sent" in anne and "550" not in anne
    assert "Withdraw the invitation" not in html  # a viewer gets no editing actions


def test_inviting_a_contact_uses_their_primary_email_and_language(as_role):
    from partners import services as partner_services

    meeting = plan()
    contact = partner_services.create_contact(
        actor=None, family_name="Dupont", given_name="Claire", country_code="FR", preferred_language="ja",
        emails=[{"address": "claire@paris.example", "primary": True}])
    db.session.commit()
    client = as_role("editor")
    unknown = post(client, f"/meetings/{meeting.id}/invitations", {"contact-contact": "nobody@nowhere.example"})
    assert unknown.status_code == 422
    assert "No contact has the address" in error_at(unknown.get_data(as_text=True), "contact-contact")
    assert post(client, f"/meetings/{meeting.id}/invitations", {"contact-contact": "Claire Dupont"}).status_code == 303
    invitation = db.session.scalar(select(Invitation))
    assert (invitation.email, invitation.contact_id, invitation.language) == ("claire@paris.example", contact.id, "ja")
    partner_services.create_contact(actor=None, family_name="Yamada", given_name="Taro", country_code="JP")
    db.session.commit()
    no_email = post(client, f"/meetings/{meeting.id}/invitations", {"contact-contact": "Taro Yamada"})
    assert no_email.status_code == 422
    assert "has no email address recorded" in error_at(no_email.get_data(as_text=True), "contact-contact")


def test_a_bad_invitation_is_shown_at_its_field_and_nothing_is_queued(as_role, make_partner):
    meeting = plan()
    partner = make_partner()
    services.invite(meeting_id=meeting.id, email="a@seoul.example", actor=None)
    db.session.commit()
    client = as_role("editor")
    data = {"partner-partner_id": partner.id, "partner-name": "Kim", "partner-language": "en"}
    twice = post(client, f"/meetings/{meeting.id}/invitations", {**data, "partner-email": "A@seoul.example"})
    assert twice.status_code == 422 and "invited already" in error_at(twice.get_data(as_text=True), "partner-email")
    bad = post(client, f"/meetings/{meeting.id}/invitations", {**data, "partner-email": "not an address"})
    assert bad.status_code == 422 and "valid email address" in error_at(bad.get_data(as_text=True), "partner-email")
    nobody = post(client, f"/meetings/{meeting.id}/invitations",
                  {**data, "partner-partner_id": "", "partner-email": "b@x.example"})
    assert nobody.status_code == 422
    assert "Choose a partner" in error_at(nobody.get_data(as_text=True), "partner-partner_id")
    assert count(Invitation) == 1 and len(outbox()) == 1


def test_withdrawing_an_invitation_asks_first_then_sends_their_copy_a_cancel(as_role):
    meeting = plan()
    invitation = services.invite(meeting_id=meeting.id, email="a@seoul.example", name="Kim", actor=None)
    db.session.commit()
    client = as_role("editor")
    page = client.get(f"/meetings/invitations/{invitation.id}/withdraw").get_data(as_text=True)
    assert "Kim (a@seoul.example) is taken off" in page
    assert post(client, f"/meetings/invitations/{invitation.id}/withdraw", {}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).removed_at is not None
    [cancel] = outbox("meeting.cancellation")
    assert cancel.recipient == "a@seoul.example" and str(calendar_of(cancel)["METHOD"]) == "CANCEL"
    assert "Nobody is invited yet" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


# -- registrations -------------------------------------------------------------------------------


@pytest.fixture
def registered(make_partner):
    """A meeting of 2 places that staff approve, with Seoul's delegation of three: two pending, one waiting."""
    meeting = plan(capacity=2, approval_required=True)
    seoul = make_partner(name="Seoul", country_code="KR")
    invitation = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=seoul.id,
                                 name="Kim", actor=None)
    services.register(invitation=invitation, name="Kim Min-jun", email="head@seoul.example", role="head",
                      dietary="Halal")
    services.register(invitation=invitation, name="=Lee", email="lee@seoul.example", role="member")
    services.register(invitation=invitation, name="Park", email="park@seoul.example", role="adviser")
    db.session.commit()
    return meeting


def test_the_registrations_list_filters_and_shows_places_and_the_waiting_list(as_role, registered):
    client = as_role("viewer")
    html = client.get(f"/meetings/{registered.id}/registrations").get_data(as_text=True)
    assert "Places taken: 2 of 2" in html and "1 on the waiting list" in html
    waiting = html[html.index('id="waiting-h"'):]
    assert "Park" in waiting and "Kim Min-jun" not in waiting
    assert "Export CSV" not in html  # viewers may not export
    heads = client.get(f"/meetings/{registered.id}/registrations", query_string={"role": "head"}).get_data(as_text=True)
    table = heads[heads.index("<caption>"):heads.index('id="waiting-h"')]
    assert "Kim Min-jun" in table and "park@seoul.example" not in table
    waiting_only = client.get(f"/meetings/{registered.id}/registrations?status=waitlisted").get_data(as_text=True)
    assert "<caption>1 registration</caption>" in waiting_only


def test_the_registrations_export_holds_every_row_and_is_for_editors(as_role, registered):
    client = as_role("editor")
    response = client.get(f"/meetings/{registered.id}/registrations.csv")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["Name"] for r in rows] == ["Kim Min-jun", "'=Lee", "Park"]  # no formula for Excel to run
    assert rows[0]["Delegation"] == "Seoul" and rows[0]["Role"] == "Head of delegation"
    assert rows[0]["Status"] == "Waiting for approval" and rows[0]["Dietary needs"] == "Halal"
    assert rows[2]["Status"] == "On the waiting list"
    filtered = client.get(f"/meetings/{registered.id}/registrations.csv?status=waitlisted")
    assert len(list(csv.DictReader(io.StringIO(filtered.data.decode("utf-8-sig"))))) == 1
    xlsx = client.get(f"/meetings/{registered.id}/registrations.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get(f"/meetings/{registered.id}/registrations.pdf").status_code == 404


def test_staff_approve_and_decline_pending_registrations(as_role, registered):
    kim, lee, park = db.session.scalars(select(Registration).order_by(Registration.id)).all()
    viewer = as_role("viewer")
    assert post(viewer, f"/meetings/registrations/{kim.id}/decide", {"approve": "1"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Registration, kim.id).status == RegistrationStatus.PENDING
    post(viewer, "/logout", {})
    client = as_role("editor")
    assert "Approve" in client.get(f"/meetings/{registered.id}/registrations").get_data(as_text=True)
    assert post(client, f"/meetings/registrations/{kim.id}/decide", {"approve": "1"}).status_code == 303
    assert post(client, f"/meetings/registrations/{lee.id}/decide", {"decline": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Registration, kim.id).status == RegistrationStatus.CONFIRMED
    assert db.session.get(Registration, lee.id).status == RegistrationStatus.DECLINED
    assert db.session.get(Registration, park.id).status == RegistrationStatus.OFFERED  # the freed place
    again = post(client, f"/meetings/registrations/{kim.id}/decide", {"decline": "1"})
    assert again.status_code == 303
    assert "Only a pending registration" in client.get(again.location).get_data(as_text=True)


def test_a_reminder_goes_once_a_day_to_those_who_have_not_answered(as_role):
    from meetings import reminders

    meeting = plan()
    answered = services.invite(meeting_id=meeting.id, email="a@seoul.example", actor=None)
    services.record_answer(invitation=answered, answer="accepted", via="link")
    services.invite(meeting_id=meeting.id, email="b@paris.example", language="ja", actor=None)
    services.invite(meeting_id=meeting.id, email="c@nyc.example", actor=None)
    db.session.commit()
    client = as_role("editor")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Send a reminder to the 2 people who have not answered" in page
    assert post(client, f"/meetings/{meeting.id}/remind", {}).status_code == 303
    sent = outbox("meeting.reminder")
    assert sorted(r.recipient for r in sent) == ["b@paris.example", "c@nyc.example"]
    paris = next(r for r in sent if r.recipient == "b@paris.example")
    assert paris.subject == "リマインダー：高級実務者会議"  # in the reader's language
    event = calendar_of(paris).walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 0  # the same entry, not a new one
    assert post(client, f"/meetings/{meeting.id}/remind", {}).status_code == 303  # pressed again: nothing more
    assert len(outbox("meeting.reminder")) == 2
    assert "Send a reminder" not in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    tomorrow = datetime.now(UTC) + reminders.INTERVAL
    assert len(reminders.remind_unanswered(meeting_id=meeting.id, actor=None, now=tomorrow)) == 2


def test_a_viewer_may_not_send_reminders(as_role):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="b@paris.example", actor=None)
    db.session.commit()
    assert post(as_role("viewer"), f"/meetings/{meeting.id}/remind", {}).status_code == 403
    assert outbox("meeting.reminder") == []
    assert db.session.scalar(select(Invitation)).reminded_at is None


def test_a_meeting_links_to_a_network_event_and_a_series_gives_its_defaults(as_role):
    from datetime import date

    from network.models import CityNetwork, NetworkEvent

    u20 = CityNetwork(name="Urban 20", acronym="U20")
    db.session.add(u20)
    db.session.flush()
    sherpa = NetworkEvent(network_id=u20.id, title="U20 Sherpa meeting", starts_on=date(2027, 5, 10))
    db.session.add(sherpa)
    series = services.create_series(titles={"en": "Working-level meetings"}, tier="working_level",
                                    default_format="online", default_delegation_limit=3, actor=None)
    db.session.commit()
    client = as_role("editor")
    page = client.get(f"/meetings/new?series={series.id}").get_data(as_text=True)
    assert "Urban 20: U20 Sherpa meeting (2027-05-10)" in page
    assert re.search(r'<input[^>]*id="delegation_limit"[^>]*value="3"', page)
    gone = post(client, "/meetings/new", {**MEETING_FORM, "network_event_id": "999999"})
    assert gone.status_code == 422
    assert "no longer exists" in error_at(gone.get_data(as_text=True), "network_event_id")
    assert count(Meeting) == 0
    created = post(client, "/meetings/new", {**MEETING_FORM, "network_event_id": sherpa.id, "series_id": series.id})
    assert created.status_code == 303
    meeting = db.session.scalar(select(Meeting))
    assert (meeting.network_event_id, meeting.series_id) == (sherpa.id, series.id)
    assert "Urban 20: U20 Sherpa meeting" in client.get(created.location).get_data(as_text=True)


def test_the_meeting_page_shows_its_agenda_in_the_meetings_zone_and_its_documents(as_role):
    from meetings.models import AgendaItem, MeetingDocument, Speaker

    meeting = plan(timezone="Europe/Paris", starts_at=datetime(2027, 7, 1, 9), ends_at=datetime(2027, 7, 1, 17))
    item = AgendaItem(meeting_id=meeting.id, position=1, titles={"en": "Opening session", "ja": "開会"},
                      starts_at=datetime(2027, 7, 1, 7, 30, tzinfo=UTC), room="Salle 1")
    item.speakers.append(Speaker(name="Anne Hidalgo", role="keynote"))
    db.session.add_all([item, MeetingDocument(meeting_id=meeting.id, kind="concept_note", language="en",
                                              filename="concept.pdf", content_type="application/pdf", size=10,
                                              sha256="0" * 64)])
    db.session.commit()
    html = as_role("viewer").get(f"/meetings/{meeting.id}").get_data(as_text=True)
    agenda = html[html.index('id="agenda-h"'):]
    assert "Opening session" in agenda and "09:30 (Europe/Paris)" in agenda and "Anne Hidalgo (keynote)" in agenda
    assert "Concept note (en): concept.pdf" in html
    assert "Your time:" in html and "Asia/Tokyo" in html  # the reader's zone beside the meeting's


def test_a_japanese_reader_in_new_york_sees_japanese_titles_and_both_times(as_role, make_partner):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="a@seoul.example", partner_id=make_partner(name="Seoul",
                                                                                          name_ja="ソウル").id,
                    actor=None)
    db.session.commit()
    client = as_role("viewer", language="ja", timezone="America/New_York")
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "<h1>高級実務者会議</h1>" in html and "ソウル" in html
    assert "(Asia/Tokyo)" in html and "(America/New_York)" in html
    assert "2027年3月3日" in html  # 10:00 in Tokyo is the evening before in New York
    for path in ("/meetings/", f"/meetings/{meeting.id}/registrations", "/meetings/series"):
        assert client.get(path).status_code == 200


def test_a_long_registrations_list_comes_in_pages(as_role, registered, monkeypatch):
    from meetings import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    client = as_role("viewer")
    first = client.get(f"/meetings/{registered.id}/registrations").get_data(as_text=True)
    assert "<caption>3 registrations</caption>" in first and "Page 1 of 2" in first
    second = client.get(f"/meetings/{registered.id}/registrations?page=2").get_data(as_text=True)
    table = second[second.index("<caption>"):second.index('id="waiting-h"')]
    assert "park@seoul.example" in table and "lee@seoul.example" not in table


def test_the_board_counts_a_new_years_meeting_in_its_own_zones_year(as_role):
    plan(titles={"en": "New Year reception"}, tier="side_event", starts_at=datetime(2028, 1, 1, 8),
         ends_at=datetime(2028, 1, 1, 10))  # 2027-12-31 23:00 in UTC
    client = as_role("viewer")
    assert "New Year reception" in client.get("/meetings/?year=2028").get_data(as_text=True)
    assert "New Year reception" not in client.get("/meetings/?year=2027").get_data(as_text=True)
    assert '<option value="2027"' not in client.get("/meetings/").get_data(as_text=True)


def test_a_refusal_that_names_no_field_of_the_form_is_shown_above_it(as_role):
    meeting = plan()
    services.cancel_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    db.session.commit()
    client = as_role("editor")
    response = post(client, f"/meetings/{meeting.id}/edit", {**MEETING_FORM, "title_en": "Changed"})
    assert response.status_code == 422
    assert re.search(r'<div class="error-summary" role="alert"[^>]*><p>A cancelled or past meeting cannot be '
                     r'changed\.</p>', response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).title("en") == "Senior officials meeting"
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Edit the meeting" not in page and "Cancel the meeting" not in page and "Invite the delegation" not in page


def test_the_meeting_page_sums_up_each_delegation_and_links_the_calendar_file(as_role, registered):
    client = as_role("viewer")
    html = client.get(f"/meetings/{registered.id}").get_data(as_text=True)
    row = re.search(r"<caption>1 delegation</caption>.*?</table>", html, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells == ["Seoul", "Kim", "No answer yet", "3 / no limit"]
    assert f'href="/meetings/{registered.id}/invite.ics"' in html
    assert client.get(f"/meetings/{registered.id}/invite.ics").status_code == 200


def test_the_meeting_page_shows_its_invitations_fifty_at_a_time(as_role):
    meeting = plan()
    for n in range(60):
        services.invite(meeting_id=meeting.id, email=f"guest{n:02d}@example.org", name=f"Guest {n:02d}", actor=None)
    db.session.commit()
    client = as_role("viewer")
    first = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "60 invited" in first and "Page 1 of 2" in first
    assert "guest49@example.org" in first and "guest50@example.org" not in first
    second = client.get(f"/meetings/{meeting.id}?page=2").get_data(as_text=True)
    assert "guest50@example.org" in second and "guest59@example.org" in second and "guest00@" not in second


def test_a_busy_year_of_the_board_comes_in_pages_of_a_hundred(as_role):
    for n in range(105):
        day = datetime(2027, 1, 4, 10) + timedelta(days=3 * n)
        plan(titles={"en": f"Meeting {n:03d}"}, starts_at=day, ends_at=day + timedelta(hours=2))
    db.session.commit()
    client = as_role("viewer")
    first = client.get("/meetings/?year=2027").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Meeting 099" in first and "Meeting 100" not in first
    assert "<title>Planning board · Kizuna</title>" in first and first.count("Page 1 of 2") == 1
    second = client.get("/meetings/?year=2027&page=2").get_data(as_text=True)
    assert "Meeting 100" in second and "Meeting 104" in second and "Meeting 000" not in second


def test_staff_record_an_answer_given_by_phone(as_role):
    meeting = plan()
    invitation = services.invite(meeting_id=meeting.id, email="head@seoul.example", name="Head", actor=None)
    db.session.commit()
    client = as_role("editor")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f'action="/meetings/invitations/{invitation.id}/answer"' in page and f'id="answer-{invitation.id}"' in page
    response = post(client, f"/meetings/invitations/{invitation.id}/answer", {"answer": "tentative"},
                    form_path=f"/meetings/{meeting.id}")
    assert response.status_code == 303
    db.session.refresh(invitation)
    assert (invitation.answer.value, invitation.answered_via) == ("tentative", "staff")
    assert "The answer of Head is recorded." in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_listed_times_say_their_zone_and_the_registration_window_is_one_sentence(as_role, registered):
    services.update_meeting(meeting_id=registered.id, actor=None, titles=registered.titles, tier="senior_officials",
                            format="hybrid", timezone=TOKYO, starts_at=datetime(2027, 3, 4, 10, 0),
                            ends_at=datetime(2027, 3, 4, 17, 0), venue=registered.venue, capacity=2,
                            online_url=registered.online_url, approval_required=True,
                            registration_opens_at=datetime(2027, 1, 5, 9, 0))
    db.session.commit()
    client = as_role("viewer", timezone="Europe/Paris")
    html = client.get(f"/meetings/{registered.id}/registrations").get_data(as_text=True)
    assert '<th scope="col">Registered (Europe/Paris)</th>' in html
    assert "Times in Europe/Paris." in html[html.index('id="waiting-h"'):]
    detail = client.get(f"/meetings/{registered.id}").get_data(as_text=True)
    assert '<th scope="col">Answer (times in Europe/Paris)</th>' in detail
    assert "<dd>Opens Jan 5, 2027, 9:00:00 AM (Asia/Tokyo) · closes when the meeting starts</dd>" in \
        detail.replace("\u202f", " ")
