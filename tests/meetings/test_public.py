"""The invitee's page, reached by the signed link of the invitation email: answer, register the delegation,
cancel, accept a place offered, download the calendar file; and what a bad link gets."""

from __future__ import annotations

import email
import io
import re
from datetime import UTC, datetime, timedelta
from email import policy
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import OutboundMessage
from meetings import services
from meetings.models import Answer, Invitation, Registration, RegistrationStatus
from tests.conftest import csrf_token

TOKYO = "Asia/Tokyo"


def plan(**overrides):
    fields = {"titles": {"en": "Senior officials meeting", "ja": "高級実務者会議"}, "tier": "senior_officials",
              "format": "hybrid", "timezone": TOKYO, "starts_at": datetime(2027, 3, 4, 10, 0),
              "ends_at": datetime(2027, 3, 4, 17, 0), "venue": "Tokyo Metropolitan Government Building",
              "online_url": "https://meet.example.org/som", **overrides}
    meeting = services.create_meeting(actor=None, **fields)
    return services.schedule_meeting(meeting_id=meeting.id, actor=None)


@pytest.fixture
def meeting(db_session):
    return plan(capacity=3, delegation_limit=2, interpretation_languages=["en", "ja"])


@pytest.fixture
def head(meeting, make_partner):
    """The head of Seoul's delegation, invited in English with her own zone."""
    return services.invite(meeting_id=meeting.id, email="head@seoul.example", name="Kim Min-jun", language="en",
                           timezone="Asia/Seoul", partner_id=make_partner(name="Seoul").id, actor=None)


def link(invitation: Invitation) -> str:
    """The page's address; what the test set up is committed first, as a real invitation would be (a refused
    request rolls back to there)."""
    db.session.commit()
    return f"/meetings/answer/{services.invitation_token(invitation)}"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def registrations(meeting) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(Registration.meeting_id == meeting.id)
                                   .order_by(Registration.id)))


def member(**overrides) -> dict:
    return {"name": "Lee Ji-ho", "email": "lee@seoul.example", "role": "adviser", "title": "Director",
            "arrival_at": "2027-03-03T15:30", "departure_at": "2027-03-05T11:00", "dietary": "Vegetarian",
            "accessibility": "", "interpretation_language": "ja", **overrides}


def test_the_link_in_the_email_opens_the_page_with_both_times_place_and_answer(client, meeting, head):
    [row] = db.session.scalars(select(OutboundMessage).where(OutboundMessage.category == "meeting.invitation"))
    text = email.message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
    url = re.search(r"https?://\S+/meetings/answer/\S+", text).group(0)
    html = page(client, urlsplit(url).path)
    assert "<h1>Senior officials meeting</h1>" in html
    assert "Thursday, March 4, 2027" in html and "10:00" in html  # the host's zone
    # Seoul's zone, which keeps Tokyo's clock
    assert "Your time: Thursday, March 4, 2027" in html and "17:00" in html.split("Your time:")[1]
    assert "Tokyo Metropolitan Government Building" in html and 'href="https://meet.example.org/som"' in html
    assert 'id="current-answer">Not answered yet<' in html
    assert "Your delegation" in html and "0 of at most 2 people registered." in html


def test_the_title_and_the_page_are_in_the_invitees_language(client, meeting, make_partner):
    invitation = services.invite(meeting_id=meeting.id, email="office@osaka.example", language="ja", actor=None,
                                 partner_id=make_partner().id)
    html = page(client, link(invitation))
    assert "<h1>高級実務者会議</h1>" in html


def test_a_postponed_meetings_page_says_so_and_adds_nobody_but_keeps_the_delegations_places(client, meeting, head):
    url = link(head)
    for n in range(2):
        client.post(f"{url}/register", data={**member(name=f"Seoul {n}", email=f"s{n}@seoul.example"),
                                             "csrf_token": csrf_token(client, url)})
    services.postpone_meeting(meeting_id=meeting.id, reason="Typhoon season", actor=None)
    html = page(client, link(head))
    assert "This meeting is postponed; the new date will follow." in html
    # The delegation and its buttons stay (a place can be given up or taken meanwhile); nobody is added.
    assert "Your delegation" in html and "Seoul 0" in html and "Cancel the registration of Seoul 1" in html
    assert f"{url}/register" not in html and "Add a member of the delegation" not in html
    seoul0 = registrations(meeting)[0]
    response = client.post(f"{url}/registrations/{seoul0.id}/cancel", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 303
    db.session.refresh(seoul0)
    assert seoul0.status == RegistrationStatus.CANCELLED


def test_accepting_records_the_answer_from_the_link(client, meeting, head):
    url = link(head)
    response = client.post(url, data={"answer": "accepted", "comment": "With pleasure.",
                                      "csrf_token": csrf_token(client, url)})
    assert response.status_code == 303
    db.session.refresh(head)
    assert (head.answer, head.answered_via, head.comment) == (Answer.ACCEPTED, "link", "With pleasure.")
    html = page(client, url)
    assert "Thank you: your answer is recorded." in html and 'id="current-answer">Accepted<' in html
    client.post(url, data={"answer": "declined", "csrf_token": csrf_token(client, url)})
    db.session.refresh(head)
    assert head.answer == Answer.DECLINED


def test_a_post_without_csrf_or_with_a_made_up_answer_changes_nothing(client, meeting, head):
    url = link(head)
    assert client.post(url, data={"answer": "accepted"}).status_code == 400
    refused = client.post(url, data={"answer": "needs_action", "csrf_token": csrf_token(client, url)})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)  # the error is tied to the answer buttons for screen readers
    assert 'id="answer-error"' in html and '<fieldset aria-describedby="answer-error">' in html
    db.session.refresh(head)
    assert head.answer == Answer.NEEDS_ACTION and head.answered_at is None


def test_a_tampered_link_is_404_and_an_outdated_or_withdrawn_one_410_and_nothing_changes(client, meeting, head,
                                                                                          make_partner):
    token = services.invitation_token(head)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.get(f"/meetings/answer/{tampered}")
    assert response.status_code == 404 and "This link cannot be used" in response.get_data(as_text=True)
    form_token = csrf_token(client, link(head))
    assert client.post(f"/meetings/answer/{tampered}", data={"answer": "accepted",
                                                             "csrf_token": form_token}).status_code == 404
    assert client.post(f"/meetings/answer/{tampered}/register",
                       data={**member(), "csrf_token": form_token}).status_code == 404
    other = services.invite(meeting_id=meeting.id, email="x@lyon.example", actor=None, partner_id=make_partner().id)
    services.uninvite(invitation_id=other.id, actor=None)
    withdrawn = client.get(f"/meetings/answer/{services.invitation_token(other)}")
    assert withdrawn.status_code == 410
    assert "This link is no longer valid. Use the link in the latest email." in withdrawn.get_data(as_text=True)
    old = link(head)
    services.cancel_meeting(meeting_id=meeting.id, reason="Postponed sine die.", actor=None)
    cancelled = client.post(old, data={"answer": "accepted", "csrf_token": form_token})
    assert cancelled.status_code == 410 and "This meeting is cancelled." in cancelled.get_data(as_text=True)
    assert client.get(f"{old}/invite.ics").status_code == 410
    db.session.refresh(head)
    assert head.answer == Answer.NEEDS_ACTION
    assert registrations(meeting) == []


def test_the_head_registers_members_within_the_limit_and_sees_their_status(client, meeting, head):
    url = link(head)
    response = client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    assert response.status_code == 303
    [lee] = registrations(meeting)
    assert (lee.name, lee.email, lee.role.value, lee.title, lee.status) == (
        "Lee Ji-ho", "lee@seoul.example", "adviser", "Director", RegistrationStatus.CONFIRMED)
    assert lee.arrival_at == datetime(2027, 3, 3, 6, 30, tzinfo=UTC)  # 15:30 in Tokyo
    assert (lee.dietary, lee.interpretation_language, lee.delegation_id is not None) == ("Vegetarian", "ja", True)
    html = page(client, url)
    assert "Lee Ji-ho is registered: the place is confirmed." in html
    assert "1 of at most 2 people registered." in html and "Confirmed" in html

    client.post(f"{url}/register", data={**member(name="Park", email="park@seoul.example"),
                                         "csrf_token": csrf_token(client, url)})
    full = client.post(f"{url}/register", data={**member(name="Choi", email="choi@seoul.example"),
                                                "csrf_token": csrf_token(client, url)})
    assert full.status_code == 422
    assert "The delegation is full: at most 2 people per city." in full.get_data(as_text=True)
    assert [r.name for r in registrations(meeting)] == ["Lee Ji-ho", "Park"]


def test_bad_fields_are_answered_at_the_field_and_nothing_is_saved(client, meeting, head):
    url = link(head)
    response = client.post(f"{url}/register", data={**member(name="", departure_at="2027-03-01T10:00"),
                                                    "csrf_token": csrf_token(client, url)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="name"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="name"', html)
    assert "Give the person&#39;s name." in html or "Give the person's name." in html
    response = client.post(f"{url}/register", data={**member(departure_at="2027-03-01T10:00"),
                                                    "csrf_token": csrf_token(client, url)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="departure_at-error"' in html
    assert "Departure cannot come before arrival." in html
    assert registrations(meeting) == []


def test_registration_after_the_window_shows_the_services_message(client, head, meeting):
    meeting.registration_closes_at = datetime(2026, 1, 1, tzinfo=UTC)  # long past
    db.session.flush()
    url = link(head)
    response = client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422 and "Registration has closed." in response.get_data(as_text=True)
    assert registrations(meeting) == []


def test_cancel_frees_a_place_that_is_offered_and_accepted_on_the_page(client, meeting, head, make_partner):
    url = link(head)
    for n in range(2):
        client.post(f"{url}/register", data={**member(name=f"Seoul {n}", email=f"s{n}@seoul.example"),
                                             "csrf_token": csrf_token(client, url)})
    paris = services.invite(meeting_id=meeting.id, email="head@paris.example", partner_id=make_partner().id,
                            actor=None)
    paris_url = link(paris)
    for n in range(2):  # one place left of 3: the second goes on the waiting list
        client.post(f"{paris_url}/register", data={**member(name=f"Paris {n}", email=f"p{n}@paris.example"),
                                                   "csrf_token": csrf_token(client, paris_url)})
    seoul0, _, _, waiting = registrations(meeting)
    assert waiting.status == RegistrationStatus.WAITLISTED
    assert "On the waiting list" in page(client, paris_url)

    # Paris cannot cancel Seoul's member.
    assert client.post(f"{paris_url}/registrations/{seoul0.id}/cancel",
                       data={"csrf_token": csrf_token(client, paris_url)}).status_code == 404
    response = client.post(f"{url}/registrations/{seoul0.id}/cancel", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 303
    db.session.refresh(seoul0)
    db.session.refresh(waiting)
    assert (seoul0.status, waiting.status) == (RegistrationStatus.CANCELLED, RegistrationStatus.OFFERED)
    html = page(client, paris_url)
    assert "A place is offered" in html and "Accept by" in html and "Accept the place" in html
    response = client.post(f"{paris_url}/registrations/{waiting.id}/accept",
                           data={"csrf_token": csrf_token(client, paris_url)})
    assert response.status_code == 303
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.CONFIRMED and waiting.offer_expires_at is None
    assert "The place of Paris 1 is confirmed." in page(client, paris_url)


def test_an_invitee_in_their_own_name_registers_only_themselves(client, meeting):
    invitation = services.invite(meeting_id=meeting.id, email="ambassador@embassy.example", name="H.E. Ambassador",
                                 actor=None)
    url = link(invitation)
    html = page(client, url)
    assert "Register yourself" in html and 'value="ambassador@embassy.example"' in html
    response = client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422 and "An invitation in your own name registers only you." in \
        response.get_data(as_text=True)
    client.post(f"{url}/register", data={**member(name="H.E. Ambassador", email="ambassador@embassy.example"),
                                         "csrf_token": csrf_token(client, url)})
    assert [r.email for r in registrations(meeting)] == ["ambassador@embassy.example"]


def test_the_invitee_downloads_the_meetings_calendar_file(client, meeting, head):
    response = client.get(f"{link(head)}/invite.ics")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and str(event["SUMMARY"]) == "Senior officials meeting"
    assert event.decoded("DTSTART") == datetime(2027, 3, 4, 1, 0, tzinfo=UTC)
    assert f'href="{link(head)}/invite.ics"' in page(client, link(head))


def test_nothing_is_registered_twice_for_one_address(client, meeting, head):
    url = link(head)
    client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    again = client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    assert again.status_code == 422 and "lee@seoul.example is registered already." in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


def test_the_hourly_task_lapses_offers_past_their_time_and_offers_the_place_on(client, meeting, head, make_partner):
    from worker.tasks import expire_offers

    paris = services.invite(meeting_id=meeting.id, email="head@paris.example", partner_id=make_partner().id,
                            actor=None)
    now = datetime.now(UTC)
    a = services.register(invitation=head, name="A", email="a@seoul.example")
    services.register(invitation=head, name="B", email="b@seoul.example")
    c = services.register(invitation=paris, name="C", email="c@paris.example")
    d = services.register(invitation=paris, name="D", email="d@paris.example")
    lyon = services.invite(meeting_id=meeting.id, email="head@lyon.example", partner_id=make_partner().id,
                           actor=None)
    e = services.register(invitation=lyon, name="E", email="e@lyon.example")
    assert (d.status, e.status) == (RegistrationStatus.WAITLISTED, RegistrationStatus.WAITLISTED)
    services.cancel_registration(registration_id=a.id, now=now - timedelta(hours=72))  # offered three days ago
    assert d.status == RegistrationStatus.OFFERED
    db.session.commit()
    assert expire_offers() == 1
    db.session.refresh(d)
    db.session.refresh(e)
    assert (c.status, d.status, e.status) == (RegistrationStatus.CONFIRMED, RegistrationStatus.CANCELLED,
                                              RegistrationStatus.OFFERED)
    assert expire_offers() == 0  # nothing lapses twice


def test_a_reader_in_another_zone_sees_the_time_in_their_own_as_well(client, meeting):
    invitation = services.invite(meeting_id=meeting.id, email="protocol@nyc.example", language="en",
                                 timezone="America/New_York", actor=None)
    html = page(client, link(invitation))
    host, reader = html.replace("\u202f", " ").split("Your time:", 1)  # CLDR puts a narrow space before AM
    assert "Thursday, March 4, 2027, 10:00:00 AM Japan Standard Time" in host
    assert reader.lstrip().startswith("Wednesday, March 3, 2027, 8:00:00 PM Eastern Standard Time")


def test_a_meeting_asking_for_accreditation_takes_the_note_verbale_and_staff_read_it(app, as_role):
    from meetings import services as meeting_services
    from tests.meetings.test_services import plan

    meeting = plan(accreditation_required=True)
    invitation = meeting_services.invite(meeting_id=meeting.id, email="head@seoul.example", name="Head", actor=None)
    db.session.commit()
    token = meeting_services.invitation_token(invitation)
    path = f"/meetings/answer/{token}"
    client = app.test_client()  # the invitee's browser, signed in to nothing
    page = client.get(path).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "Accreditation (note verbale)" in page

    def send(**files):
        return client.post(f"{path}/register", data={"csrf_token": csrf_token(client, path), "name": "Head",
                                                     "email": "head@seoul.example", "role": "head",
                                                     "interpretation_language": "", **files},
                           content_type="multipart/form-data")

    refused = send()
    assert refused.status_code == 422 and "attach the note verbale" in refused.get_data(as_text=True)
    png = send(accreditation=(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 32), "note.pdf"))
    assert png.status_code == 422 and "whatever its name says" in png.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert send(accreditation=(io.BytesIO(pdf), "note-verbale-seoul.pdf")).status_code == 303
    registration = db.session.scalar(select(Registration))
    assert registration.accreditation_filename == "note-verbale-seoul.pdf"
    staff = as_role("viewer")
    listing = staff.get(f"/meetings/{meeting.id}/registrations").get_data(as_text=True)
    assert f"/meetings/registrations/{registration.id}/accreditation" in listing
    note = staff.get(f"/meetings/registrations/{registration.id}/accreditation")
    assert note.status_code == 200 and note.data == pdf and note.headers["Content-Type"] == "application/pdf"
    assert app.test_client().get(f"/meetings/registrations/{registration.id}/accreditation").status_code == 302


def test_a_member_cancelled_can_be_registered_again_and_joins_the_end_of_the_line(client, meeting, head):
    url = link(head)
    client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    [lee] = registrations(meeting)
    client.post(f"{url}/registrations/{lee.id}/cancel", data={"csrf_token": csrf_token(client, url)})
    again = client.post(f"{url}/register", data={**member(title="Deputy Director", dietary=""),
                                                 "csrf_token": csrf_token(client, url)})
    assert again.status_code == 303, again.get_data(as_text=True)[:500]
    [lee] = registrations(meeting)  # the cancelled row, registered anew
    db.session.refresh(lee)
    assert (lee.status, lee.title, lee.dietary) == (RegistrationStatus.CONFIRMED, "Deputy Director", "")
    assert "Lee Ji-ho is registered: the place is confirmed." in page(client, url)


# -- a delegation member's own link: their registration only ------------------------------------------------


def mail_to(address: str, category: str = "meeting.registration"):
    rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == address,
                                                            OutboundMessage.category == category)
                              .order_by(OutboundMessage.id)).all()
    return [email.message_from_bytes(r.raw, policy=policy.default) for r in rows]


def link_in(message) -> str:
    return urlsplit(re.search(r"https?://\S+/meetings/\S+", message.get_body(("plain",)).get_content()).group(0)).path


def test_a_member_gets_a_link_to_their_own_registration_not_the_heads_powers(client, meeting, head):
    url = link(head)
    client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    client.post(f"{url}/register", data={**member(name="Park", email="park@seoul.example"),
                                         "csrf_token": csrf_token(client, url)})
    lee, park = registrations(meeting)
    page(client, url)  # the head reads the flash messages of those registrations
    [notice] = mail_to("lee@seoul.example")
    own = link_in(notice)
    assert own.startswith("/meetings/registration/") and services.invitation_token(head) not in notice.as_string()
    html = page(client, own)
    assert "Lee Ji-ho" in html and "Confirmed" in html and "Park" not in html
    assert f"{url}/register" not in html and "Will you attend?" not in html  # neither answer nor register
    # What the head's link does is not reachable with the member's token.
    token = own.rsplit("/", 1)[1]
    assert client.post(f"/meetings/answer/{token}/register",
                       data={**member(name="Choi", email="choi@seoul.example"),
                             "csrf_token": csrf_token(client, own)}).status_code == 404
    assert client.post(f"/meetings/answer/{token}/registrations/{park.id}/cancel",
                       data={"csrf_token": csrf_token(client, own)}).status_code == 404
    # The member cancels their own registration, and nobody else's.
    assert client.post(f"{own}/cancel", data={"csrf_token": csrf_token(client, own)}).status_code == 303
    db.session.refresh(lee)
    db.session.refresh(park)
    assert (lee.status, park.status) == (RegistrationStatus.CANCELLED, RegistrationStatus.CONFIRMED)
    assert "The registration of Lee Ji-ho is cancelled." in page(client, own)
    # Registered again by the head: the old link is outdated (410), the new email carries a new one.
    client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    assert client.get(own).status_code == 410
    assert page(client, link_in(mail_to("lee@seoul.example")[-1]))


def test_a_member_accepts_a_place_offered_on_their_own_page(client, meeting, head, make_partner):
    url = link(head)
    for n in range(2):
        client.post(f"{url}/register", data={**member(name=f"Seoul {n}", email=f"s{n}@seoul.example"),
                                             "csrf_token": csrf_token(client, url)})
    paris = services.invite(meeting_id=meeting.id, email="head@paris.example", partner_id=make_partner().id,
                            actor=None)
    paris_url = link(paris)
    for n in range(2):
        client.post(f"{paris_url}/register", data={**member(name=f"Paris {n}", email=f"p{n}@paris.example"),
                                                   "csrf_token": csrf_token(client, paris_url)})
    seoul0, _, _, waiting = registrations(meeting)
    services.cancel_registration(registration_id=seoul0.id)
    db.session.commit()
    own = link_in(mail_to("p1@paris.example")[-1])  # "A place is free for you"
    html = page(client, own)
    assert "A place is offered" in html and "Accept the place" in html
    assert client.post(f"{own}/accept", data={"csrf_token": csrf_token(client, own)}).status_code == 303
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.CONFIRMED
    assert client.post(f"{own}/accept").status_code == 400  # no CSRF token: nothing happens


def test_a_members_update_links_to_their_registration_and_a_tampered_one_is_404(client, meeting, head):
    url = link(head)
    client.post(f"{url}/register", data={**member(), "csrf_token": csrf_token(client, url)})
    services.update_meeting(meeting_id=meeting.id, actor=None, titles=meeting.titles, tier="senior_officials",
                            format="hybrid", timezone=TOKYO, starts_at=datetime(2027, 3, 5, 10, 0),
                            ends_at=datetime(2027, 3, 5, 17, 0), venue=meeting.venue, online_url=meeting.online_url,
                            capacity=meeting.capacity, delegation_limit=meeting.delegation_limit)
    db.session.commit()
    [update] = mail_to("lee@seoul.example", "meeting.invitation")
    text = update.get_body(("plain",)).get_content()
    assert "register your delegation" not in text and link_in(update).startswith("/meetings/registration/")
    own = link_in(update)
    tampered = own[:-3] + ("AAA" if not own.endswith("AAA") else "BBB")
    response = client.get(tampered)
    assert response.status_code == 404 and "This link cannot be used" in response.get_data(as_text=True)
    assert client.post(f"{tampered}/cancel", data={"csrf_token": csrf_token(client, own)}).status_code == 404
    assert [r.status for r in registrations(meeting)] == [RegistrationStatus.CONFIRMED]


def test_registration_notices_show_the_readers_time_from_the_invitation_or_the_delegations_city(
        client, meeting, make_partner):
    from network.models import City

    new_york = db.session.scalar(select(City).where(City.timezone == "America/New_York")
                                 .order_by(City.population.desc()).limit(1))
    own = services.invite(meeting_id=meeting.id, email="protocol@nyc.example", timezone="America/New_York",
                          actor=None)
    services.register(invitation=own, name="Protocol", email="protocol@nyc.example")
    head = services.invite(meeting_id=meeting.id, email="head@nyc.example", actor=None,
                           partner_id=make_partner(name="New York", country_code="US", city_id=new_york.id).id)
    services.register(invitation=head, name="Member", email="member@nyc.example")
    for address in ("protocol@nyc.example", "member@nyc.example"):
        text = mail_to(address)[-1].get_body(("plain",)).get_content()
        assert "Your time: Wednesday, March 3, 2027" in text and "Eastern Standard Time" in text, address
