"""Planning a meeting, inviting people and registering delegations, as the outbox and the calendars see it."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import OutboundMessage
from meetings import services
from meetings.models import Meeting, MeetingStatus, Registration, RegistrationStatus
from meetings.services import MeetingError

TOKYO = "Asia/Tokyo"


def plan(**overrides) -> Meeting:
    fields = {"titles": {"en": "Senior officials meeting", "ja": "高級実務者会議"}, "tier": "senior_officials",
              "format": "hybrid", "timezone": TOKYO, "starts_at": datetime(2027, 3, 4, 10, 0),
              "ends_at": datetime(2027, 3, 4, 17, 0), "venue": "Tokyo Metropolitan Government Building",
              "online_url": "https://meet.example.org/som", **overrides}
    meeting = services.create_meeting(actor=None, **fields)
    return services.schedule_meeting(meeting_id=meeting.id, actor=None)


def sent(category: str | None = None) -> list[email.message.EmailMessage]:
    rows = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    return [email.message_from_bytes(r.raw, policy=policy.default) for r in rows
            if category is None or r.category == category]


def calendar_of(message) -> Calendar:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def event_of(message):
    return calendar_of(message).walk("VEVENT")[0]


@pytest.fixture
def now():
    return datetime(2027, 1, 10, 3, 0, tzinfo=UTC)


# -- planning -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"ends_at": datetime(2027, 3, 4, 9, 0)}, "ends_at", "must end after it starts"),
    ({"timezone": "Tokyo Standard Time"}, "timezone", "is not a time zone"),
    ({"timezone": "Europe/Paris", "starts_at": datetime(2027, 3, 28, 2, 30), "ends_at": datetime(2027, 3, 28, 5)},
     "starts_at", "2027-03-28 02:30 does not exist in Europe/Paris"),
    ({"online_url": ""}, "online_url", "needs its link"),
    ({"online_url": "javascript:alert(1)"}, "online_url", "full https:// address"),
    ({"venue": ""}, "venue", "needs its venue"),
    ({"titles": {"en": " "}}, "titles", "at least one language"),
    ({"registration_closes_at": datetime(2027, 3, 5, 9, 0)}, "registration_closes_at", "before the meeting ends"),
    ({"capacity": 0}, "capacity", "A whole number from 1"),
    ({"capacity": 5, "delegation_limit": 6}, "delegation_limit", "cannot be larger than the meeting"),
    ({"format": "teleport"}, "format", "Choose one of the options"),
])
def test_bad_plans_are_refused_at_their_field_and_nothing_is_saved(db_session, changes, field, message):
    with pytest.raises(MeetingError) as refused:
        plan(**changes)
    assert refused.value.field == field and message in str(refused.value)
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_wall_clock_times_are_stored_in_utc_with_the_zone(db_session):
    meeting = plan(timezone="Europe/Paris", starts_at=datetime(2027, 7, 1, 9, 0), ends_at=datetime(2027, 7, 1, 12))
    assert meeting.starts_at == datetime(2027, 7, 1, 7, 0, tzinfo=UTC)  # CEST is UTC+2
    assert (meeting.status, meeting.sequence, meeting.timezone) == (MeetingStatus.SCHEDULED, 0, "Europe/Paris")


# -- invitations ----------------------------------------------------------------------------------


def test_an_invitation_is_an_imip_request_in_the_readers_language_with_both_times(db_session):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="Mayor.Office@Seoul.example", name="Kim Min-jun",
                    language="ja", timezone="Asia/Seoul", actor=None)
    services.invite(meeting_id=meeting.id, email="protocol@nyc.example", name="Jane Doe", language="en",
                    timezone="America/New_York", actor=None)
    seoul, nyc = sent("meeting.invitation")
    assert seoul["To"] == "mayor.office@seoul.example" and seoul["Subject"] == "招待：高級実務者会議"
    assert seoul.get_content_type() == "multipart/mixed"
    [alternative] = [p for p in seoul.iter_parts() if p.get_content_type() == "multipart/alternative"]
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    assert [p.get_filename() for p in seoul.iter_attachments()] == ["invite.ics"]
    cal = calendar_of(seoul)
    event = event_of(seoul)
    assert str(cal["METHOD"]) == "REQUEST" and str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == datetime(2027, 3, 4, 1, 0, tzinfo=UTC)
    assert str(event["DTSTART"].params["TZID"]) == TOKYO
    assert str(event["ATTENDEE"]) == "mailto:mayor.office@seoul.example"
    assert event["ATTENDEE"].params["RSVP"] == "TRUE" and event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
    text = nyc.get_body(("plain",)).get_content()
    assert "When (Asia/Tokyo): Thursday, March 4, 2027" in text and "10:00" in text
    assert "Your time: Wednesday, March 3, 2027" in text and "8:00" in text  # 20:00 EST the evening before
    assert "https://meet.example.org/som" in text


def test_inviting_twice_or_to_a_draft_is_refused(db_session):
    meeting = plan()
    services.invite(meeting_id=meeting.id, email="a@example.org", actor=None)
    with pytest.raises(MeetingError, match="invited already"):
        services.invite(meeting_id=meeting.id, email="A@EXAMPLE.ORG", actor=None)
    draft = services.create_meeting(actor=None, titles={"en": "Draft"}, tier="working_level", format="online",
                                    timezone=TOKYO, starts_at=datetime(2027, 5, 1, 9), ends_at=datetime(2027, 5, 1, 10),
                                    online_url="https://meet.example.org/x")
    with pytest.raises(MeetingError, match="Schedule the meeting"):
        services.invite(meeting_id=draft.id, email="b@example.org", actor=None)


def test_a_move_raises_the_sequence_and_updates_everyone_and_a_cancel_keeps_the_uid(db_session, now):
    meeting = plan()
    invitation = services.invite(meeting_id=meeting.id, email="head@paris.example", name="Head", actor=None,
                                 partner_id=None)
    services.register(invitation=invitation, name="Head", email="head@paris.example", now=now)
    services.update_meeting(meeting_id=meeting.id, actor=None, titles=meeting.titles, tier="senior_officials",
                            format="hybrid", timezone=TOKYO, starts_at=datetime(2027, 3, 5, 10, 0),
                            ends_at=datetime(2027, 3, 5, 17, 0), venue=meeting.venue, online_url=meeting.online_url)
    assert meeting.sequence == 1
    [first, update] = sent("meeting.invitation")
    assert update["Subject"] == "Updated: Senior officials meeting"
    assert int(event_of(update)["SEQUENCE"]) == 1 and str(event_of(update)["UID"]) == meeting.uid
    assert event_of(update).decoded("DTSTART") == datetime(2027, 3, 5, 1, 0, tzinfo=UTC)
    # A change of wording only: calendars keep their entry, nobody is written to.
    services.update_meeting(meeting_id=meeting.id, actor=None, titles={"en": "SOM 2027"}, tier="senior_officials",
                            format="hybrid", timezone=TOKYO, starts_at=datetime(2027, 3, 5, 10, 0),
                            ends_at=datetime(2027, 3, 5, 17, 0), venue=meeting.venue, online_url=meeting.online_url)
    assert meeting.sequence == 1 and len(sent("meeting.invitation")) == 2
    services.cancel_meeting(meeting_id=meeting.id, reason="The summit moved to Paris.", actor=None)
    [cancel] = sent("meeting.cancellation")
    event = event_of(cancel)
    assert str(calendar_of(cancel)["METHOD"]) == "CANCEL" and str(event["UID"]) == meeting.uid
    assert int(event["SEQUENCE"]) == 2 and str(event["STATUS"]) == "CANCELLED"
    assert "The summit moved to Paris." in cancel.get_body(("plain",)).get_content()
    with pytest.raises(MeetingError, match="cancelled"):
        services.invitation_for(services.invitation_token(invitation))


def test_a_postponed_meeting_stays_in_calendars_as_tentative_until_it_is_scheduled_again(db_session, now):
    meeting = plan()
    invitation = services.invite(meeting_id=meeting.id, email="head@paris.example", name="Head", actor=None,
                                 language="fr")
    with pytest.raises(MeetingError, match="Say why") as refused:
        services.postpone_meeting(meeting_id=meeting.id, reason="  ", actor=None)
    assert refused.value.field == "reason" and meeting.status == MeetingStatus.SCHEDULED and meeting.sequence == 0

    services.postpone_meeting(meeting_id=meeting.id, reason="The venue is closed for repairs.", actor=None)
    assert meeting.status == MeetingStatus.POSTPONED
    [_first, postponed] = sent("meeting.invitation")
    event = event_of(postponed)
    assert str(calendar_of(postponed)["METHOD"]) == "REQUEST" and str(event["UID"]) == meeting.uid
    assert int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "TENTATIVE"
    assert postponed["Subject"] == "Postponed: Senior officials meeting"
    assert "The venue is closed for repairs." in postponed.get_body(("plain",)).get_content()
    # Answers stand, nobody registers meanwhile, and it cannot be postponed twice.
    with pytest.raises(MeetingError):
        services.register(invitation=invitation, name="Head", email="head@paris.example", now=now)
    with pytest.raises(MeetingError, match="Only a scheduled meeting"):
        services.postpone_meeting(meeting_id=meeting.id, reason="Again", actor=None)

    # The new date is set, still in doubt; scheduling it again confirms it to everyone.
    services.update_meeting(meeting_id=meeting.id, actor=None, titles=meeting.titles, tier="senior_officials",
                            format="hybrid", timezone=TOKYO, starts_at=datetime(2027, 5, 6, 10, 0),
                            ends_at=datetime(2027, 5, 6, 17, 0), venue=meeting.venue, online_url=meeting.online_url)
    assert str(event_of(sent("meeting.invitation")[-1])["STATUS"]) == "TENTATIVE"
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    confirmed = sent("meeting.invitation")[-1]
    event = event_of(confirmed)
    assert int(event["SEQUENCE"]) == meeting.sequence == 3 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime(2027, 5, 6, 1, 0, tzinfo=UTC)
    assert services.register(invitation=invitation, name="Head", email="head@paris.example",
                             now=now).status == RegistrationStatus.CONFIRMED


def test_a_person_taken_off_gets_a_cancel_for_their_copy_and_their_link_stops_working(db_session):
    meeting = plan()
    invitation = services.invite(meeting_id=meeting.id, email="x@example.org", actor=None)
    token = services.invitation_token(invitation)
    assert services.invitation_for(token) is invitation
    services.uninvite(invitation_id=invitation.id, actor=None)
    [cancel] = sent("meeting.cancellation")
    assert cancel["Subject"] == "No longer invited: Senior officials meeting"
    assert "STATUS" not in event_of(cancel) and str(event_of(cancel)["UID"]) == meeting.uid
    with pytest.raises(MeetingError, match="no longer valid"):
        services.invitation_for(token)
    with pytest.raises(MeetingError, match="not valid"):
        services.invitation_for(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_answers_are_recorded_from_the_link_or_the_mail_program(db_session):
    meeting = plan()
    invitation = services.invite(meeting_id=meeting.id, email="x@example.org", actor=None)
    services.record_answer(invitation=invitation, answer="accepted", via="mail")
    assert (invitation.answer.value, invitation.answered_via) == ("accepted", "mail")
    with pytest.raises(MeetingError):
        services.record_answer(invitation=invitation, answer="needs_action", via="link")


# -- registration ---------------------------------------------------------------------------------


def test_capacity_fills_then_the_waiting_list_then_offers_in_order(db_session, now, make_partner):
    meeting = plan(capacity=2, delegation_limit=2)
    seoul = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=make_partner().id,
                            actor=None)
    paris = services.invite(meeting_id=meeting.id, email="head@paris.example", partner_id=make_partner().id,
                            actor=None)
    a = services.register(invitation=seoul, name="A", email="a@seoul.example", now=now)
    b = services.register(invitation=seoul, name="B", email="b@seoul.example", now=now)
    with pytest.raises(MeetingError, match="at most 2 people per city"):
        services.register(invitation=seoul, name="C", email="c@seoul.example", now=now)
    c = services.register(invitation=paris, name="C", email="c@paris.example", now=now)
    d = services.register(invitation=paris, name="D", email="d@paris.example", now=now + timedelta(minutes=1))
    assert [r.status for r in (a, b, c, d)] == [RegistrationStatus.CONFIRMED] * 2 + [RegistrationStatus.WAITLISTED] * 2
    subjects = [m["Subject"] for m in sent("meeting.registration")]
    assert subjects.count("On the waiting list: Senior officials meeting") == 2

    services.cancel_registration(registration_id=a.id, now=now + timedelta(hours=1))
    assert (c.status, d.status) == (RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)
    assert c.offer_expires_at == now + timedelta(hours=49)
    assert sent("meeting.registration")[-1]["Subject"] == "A place is free for you: Senior officials meeting"
    # Nobody confirms in time: the offer lapses and passes to the next in line.
    assert services.expire_offers(now=now + timedelta(hours=50)) == 1
    assert (c.status, d.status) == (RegistrationStatus.CANCELLED, RegistrationStatus.OFFERED)
    services.accept_offer(registration_id=d.id, now=now + timedelta(hours=51))
    assert d.status == RegistrationStatus.CONFIRMED and services.places_taken(meeting.id) == 2


def test_registration_outside_its_window_or_twice_is_refused(db_session, now):
    meeting = plan(registration_opens_at=datetime(2027, 2, 1, 9, 0), registration_closes_at=datetime(2027, 3, 1, 9))
    invitation = services.invite(meeting_id=meeting.id, email="x@example.org", actor=None)
    with pytest.raises(MeetingError, match="not opened yet"):
        services.register(invitation=invitation, name="X", email="x@example.org", now=now)
    with pytest.raises(MeetingError, match="has closed"):
        services.register(invitation=invitation, name="X", email="x@example.org",
                          now=datetime(2027, 3, 2, tzinfo=UTC))
    services.register(invitation=invitation, name="X", email="x@example.org", now=datetime(2027, 2, 2, tzinfo=UTC))
    with pytest.raises(MeetingError, match="registered already"):
        services.register(invitation=invitation, name="X", email="x@example.org", now=datetime(2027, 2, 3, tzinfo=UTC))
    with pytest.raises(MeetingError, match="registers only you"):
        services.register(invitation=invitation, name="Y", email="y@example.org", now=datetime(2027, 2, 3, tzinfo=UTC))


def test_staff_approval_holds_the_place_until_decided(db_session, now, make_user):
    meeting = plan(capacity=1, approval_required=True)
    staff = make_user("editor")
    first = services.invite(meeting_id=meeting.id, email="one@example.org", actor=None)
    second = services.invite(meeting_id=meeting.id, email="two@example.org", actor=None)
    one = services.register(invitation=first, name="One", email="one@example.org", now=now)
    two = services.register(invitation=second, name="Two", email="two@example.org", now=now)
    assert (one.status, two.status) == (RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED)
    services.decide(registration_id=one.id, approve=False, actor=staff)
    assert (one.status, two.status) == (RegistrationStatus.DECLINED, RegistrationStatus.OFFERED)


def register_at_once(app, invitation_ids: list[int], now) -> list[str]:
    """Each invitation registers one person at the same instant, each in a thread, a connection and a
    transaction of its own; returns the errors, each with its thread's number."""
    errors, start = [], threading.Barrier(len(invitation_ids), timeout=60)

    def register(invitation_id: int, n: int) -> None:
        with app.app_context():
            try:
                start.wait()
                invitation = db.session.get(services.Invitation, invitation_id)
                services.register(invitation=invitation, name=f"P{n}", email=f"p{n}@example.org", now=now)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the caller, with its thread
                errors.append(f"{n}: {exc!r}")
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(invitation_id, n))
               for n, invitation_id in enumerate(invitation_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_registrations_never_overbook(app, committed, now):
    """Twelve people register at once for four places, each in its own connection and transaction (fewer
    than the connection pool holds, so that all of them really are at the meeting's lock together)."""
    meeting = plan(capacity=4)
    invitations = [services.invite(meeting_id=meeting.id, email=f"p{i}@example.org", actor=None) for i in range(12)]
    committed.commit()
    errors = register_at_once(app, [i.id for i in invitations], now)
    assert errors == []
    statuses = dict(committed.execute(select(Registration.status, func.count()).where(
        Registration.meeting_id == meeting.id).group_by(Registration.status)).all())
    assert statuses == {RegistrationStatus.CONFIRMED: 4, RegistrationStatus.WAITLISTED: 8}


def test_a_malformed_address_is_refused_at_its_field(db_session, now):
    meeting = plan()
    with pytest.raises(MeetingError) as refused:
        services.invite(meeting_id=meeting.id, email="mayor at seoul", actor=None)
    assert refused.value.field == "email" and "mayor at seoul is not a valid email address" in str(refused.value)
    invitation = services.invite(meeting_id=meeting.id, email="head@seoul.example", actor=None, partner_id=None)
    with pytest.raises(MeetingError, match="not a valid email address"):
        services.register(invitation=invitation, name="X", email="x@@example", now=now)


def test_the_host_city_is_the_home_city_and_an_edit_keeps_what_it_is_not_given(db_session):
    from network.services import home_city

    meeting = plan(is_sample=True)
    assert meeting.city_id == home_city().id
    services.update_meeting(meeting_id=meeting.id, actor=None, titles={"en": "Renamed"}, tier="senior_officials",
                            format="hybrid", timezone=TOKYO, starts_at=datetime(2027, 3, 4, 10, 0),
                            ends_at=datetime(2027, 3, 4, 17, 0), venue=meeting.venue, online_url=meeting.online_url)
    assert (meeting.city_id, meeting.is_sample, meeting.title("en")) == (home_city().id, True, "Renamed")


def test_a_delegation_member_gets_the_meeting_into_their_calendar_and_out_again(db_session, now, make_partner):
    meeting = plan()
    head = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=make_partner().id,
                           actor=None)
    member = services.register(invitation=head, name="Member", email="member@seoul.example", now=now)
    [registered] = sent("meeting.registration")
    assert registered["To"] == "member@seoul.example" and registered.get_content_type() == "multipart/mixed"
    event = event_of(registered)
    assert str(calendar_of(registered)["METHOD"]) == "REQUEST" and str(event["UID"]) == meeting.uid
    assert str(event["ATTENDEE"]) == "mailto:member@seoul.example"
    services.cancel_registration(registration_id=member.id, now=now)
    cancelled = sent("meeting.registration")[-1]
    assert str(calendar_of(cancelled)["METHOD"]) == "CANCEL" and str(event_of(cancelled)["UID"]) == meeting.uid
    # The head, invited by their own address, has the invitation's entry already: a plain notice.
    services.register(invitation=head, name="Head", email="head@seoul.example", now=now)
    assert sent("meeting.registration")[-1].get_content_type() != "multipart/mixed"
