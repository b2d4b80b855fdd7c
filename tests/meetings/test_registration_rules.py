"""The registration rules a review found broken: the lock on SQLite, stale rows read before the lock, a second
registration after a cancelled one, what counts against a delegation's limit, and what a cancelled, postponed,
moved or past meeting does with its places, offers and calendar entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from icalendar import Calendar
from sqlalchemy import func, select

from kizuna import create_app
from kizuna.extensions import db
from meetings import services
from meetings.models import Registration, RegistrationStatus
from meetings.services import MeetingError
from tests.conftest import RequestIsolatingClient, app_config
from tests.meetings.test_services import calendar_of, plan, register_at_once, sent

NOW = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)


# -- 1. the lock holds on SQLite, the demo's database ----------------------------------------------


@pytest.fixture
def sqlite_app(tmp_path_factory):
    app = create_app(app_config(tmp_path_factory, REDIS_URL=None, SMTP_URL=None))
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.sqlite
def test_concurrent_registrations_never_overbook_on_sqlite(sqlite_app):
    """Twelve people register at once for three places on the demo's SQLite database, each in a thread, a
    connection and a transaction of its own."""
    assert db.engine.dialect.name == "sqlite"
    meeting = plan(capacity=3)
    invitations = [services.invite(meeting_id=meeting.id, email=f"p{i}@example.org", actor=None) for i in range(12)]
    db.session.commit()
    errors = register_at_once(sqlite_app, [i.id for i in invitations], NOW)
    assert errors == []
    statuses = dict(db.session.execute(select(Registration.status, func.count()).where(
        Registration.meeting_id == meeting.id).group_by(Registration.status)).all())
    assert statuses == {RegistrationStatus.CONFIRMED: 3, RegistrationStatus.WAITLISTED: 9}


# -- 2. what another request changed meanwhile is read after the lock -----------------------------------


def _meanwhile(app, change) -> None:
    """Another request, in its own session and transaction, changes something and commits."""
    with app.app_context():
        try:
            change()
            db.session.commit()
        finally:
            db.session.remove()


def _statuses(meeting_id: int) -> dict:
    db.session.expire_all()
    return dict(db.session.execute(select(Registration.email, Registration.status).where(
        Registration.meeting_id == meeting_id)).all())


def test_an_offer_cancelled_meanwhile_cannot_be_accepted(app, committed):
    meeting = plan(capacity=1)
    one = services.invite(meeting_id=meeting.id, email="one@example.org", actor=None)
    two = services.invite(meeting_id=meeting.id, email="two@example.org", actor=None)
    first = services.register(invitation=one, name="One", email="one@example.org", now=NOW)
    second = services.register(invitation=two, name="Two", email="two@example.org", now=NOW)
    services.cancel_registration(registration_id=first.id, now=NOW)
    committed.commit()
    assert second.status == RegistrationStatus.OFFERED  # this request has read the offer …
    _meanwhile(app, lambda: services.cancel_registration(registration_id=second.id, now=NOW))  # … which goes
    with pytest.raises(MeetingError, match="no place offered"):
        services.accept_offer(registration_id=second.id, now=NOW)
    committed.rollback()
    assert _statuses(meeting.id)["two@example.org"] == RegistrationStatus.CANCELLED


def test_a_pending_registration_cancelled_meanwhile_cannot_be_approved(app, committed):
    meeting = plan(capacity=1, approval_required=True)
    one = services.invite(meeting_id=meeting.id, email="one@example.org", actor=None)
    two = services.invite(meeting_id=meeting.id, email="two@example.org", actor=None)
    first = services.register(invitation=one, name="One", email="one@example.org", now=NOW)
    services.register(invitation=two, name="Two", email="two@example.org", now=NOW)
    committed.commit()
    assert first.status == RegistrationStatus.PENDING  # staff see it pending …
    _meanwhile(app, lambda: services.cancel_registration(registration_id=first.id, now=NOW))  # … it is withdrawn
    with pytest.raises(MeetingError, match="Only a pending registration"):
        services.decide(registration_id=first.id, approve=True, actor=None)
    committed.rollback()
    # One place, held by the offer to the next in line: approving the withdrawn one would have overfilled it.
    assert _statuses(meeting.id) == {"one@example.org": RegistrationStatus.CANCELLED,
                                     "two@example.org": RegistrationStatus.OFFERED}


def test_a_registration_cancelled_meanwhile_is_not_cancelled_twice(app, committed):
    meeting = plan(capacity=1)
    one = services.invite(meeting_id=meeting.id, email="one@example.org", actor=None)
    two = services.invite(meeting_id=meeting.id, email="two@example.org", actor=None)
    first = services.register(invitation=one, name="One", email="one@example.org", now=NOW)
    services.register(invitation=two, name="Two", email="two@example.org", now=NOW)
    committed.commit()
    assert first.status == RegistrationStatus.CONFIRMED
    _meanwhile(app, lambda: services.cancel_registration(registration_id=first.id, now=NOW))
    with pytest.raises(MeetingError, match="cancelled already"):
        services.cancel_registration(registration_id=first.id, now=NOW)


# -- 3. registered again after a cancel ---------------------------------------------------------------------


def test_a_person_registered_again_after_a_cancel_joins_the_end_of_the_waiting_list(db_session):
    meeting = plan(capacity=1)
    people = {name: services.invite(meeting_id=meeting.id, email=f"{name}@example.org", actor=None)
              for name in ("a", "b", "c")}

    def register(name: str, minutes: int):
        return services.register(invitation=people[name], name=name.upper(), email=f"{name}@example.org",
                                 now=NOW + timedelta(minutes=minutes))

    a, b = register("a", 0), register("b", 1)
    services.cancel_registration(registration_id=b.id, now=NOW)
    c = register("c", 2)
    again = register("b", 3)
    assert again.id == b.id and again.status == RegistrationStatus.WAITLISTED and again.registered_at > c.registered_at
    services.cancel_registration(registration_id=a.id, now=NOW)
    assert (c.status, again.status) == (RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)
    with pytest.raises(MeetingError, match="registered already"):
        register("b", 4)


# -- 5. a cancelled meeting hands out no places; a postponed one keeps its offers ------------------------


def _subjects(prefix: str) -> list[str]:
    return [m["To"] for m in sent("meeting.registration") if m["Subject"].startswith(prefix)]


def _line(capacity: int = 1, people: str = "abc") -> tuple:
    """A meeting whose first `capacity` people hold places and the others wait, each in their own name."""
    meeting = plan(capacity=capacity)
    registrations = []
    for n, name in enumerate(people):
        invitation = services.invite(meeting_id=meeting.id, email=f"{name}@example.org", actor=None)
        registrations.append(services.register(invitation=invitation, name=name.upper(),
                                                email=f"{name}@example.org", now=NOW + timedelta(minutes=n)))
    return meeting, registrations


def test_a_cancelled_meeting_ends_its_offers_and_waiting_list_and_offers_nothing_more(db_session):
    meeting, (a, b, c) = _line()
    services.cancel_registration(registration_id=a.id, now=NOW)
    assert (b.status, c.status) == (RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)
    services.cancel_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    assert (b.status, c.status, b.offer_expires_at) == (RegistrationStatus.CANCELLED, RegistrationStatus.CANCELLED,
                                                        None)
    offers = len(_subjects("A place is free"))
    with pytest.raises(MeetingError, match="cancelled"):
        services.accept_offer(registration_id=b.id, now=NOW)
    assert services.expire_offers(now=NOW + timedelta(days=5)) == 0
    assert len(_subjects("A place is free")) == offers and b.status == RegistrationStatus.CANCELLED


def test_the_hourly_task_offers_no_place_of_a_cancelled_meeting(db_session):
    """An offer left open by a meeting cancelled before this fix: the task neither lapses it nor offers on."""
    meeting, (a, b, c) = _line()
    services.cancel_registration(registration_id=a.id, now=NOW)
    meeting.status = services.MeetingStatus.CANCELLED  # as the old cancel left it: offer and waiting list open
    db.session.flush()
    assert services.expire_offers(now=NOW + timedelta(days=5)) == 0
    assert (b.status, c.status) == (RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)
    with pytest.raises(MeetingError, match="cancelled"):
        services.accept_offer(registration_id=b.id, now=NOW)


def test_a_postponed_meeting_keeps_its_offers_open_and_restarts_their_clock_when_scheduled_again(db_session):
    meeting, (a, b, c, d) = _line(people="abcd")
    services.cancel_registration(registration_id=a.id, now=NOW)
    assert b.status == RegistrationStatus.OFFERED
    services.postpone_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    # Past the offer's time while postponed: it does not lapse, and may still be taken.
    assert services.expire_offers(now=NOW + timedelta(days=5)) == 0 and b.status == RegistrationStatus.OFFERED
    # A place freed meanwhile waits for the new date.
    services.cancel_registration(registration_id=b.id, now=NOW + timedelta(days=5))
    assert c.status == RegistrationStatus.WAITLISTED
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    assert (c.status, d.status) == (RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)
    assert c.offer_expires_at > datetime.now(UTC) + timedelta(hours=services.OFFER_HOURS - 1)


def test_an_offer_open_when_the_meeting_is_postponed_can_be_accepted_meanwhile_or_gets_a_new_time(db_session):
    meeting, (a, b, c) = _line()
    services.cancel_registration(registration_id=a.id, now=NOW)
    services.postpone_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    services.accept_offer(registration_id=b.id, now=NOW + timedelta(days=5))  # past its time: the clock stopped
    assert b.status == RegistrationStatus.CONFIRMED
    services.cancel_registration(registration_id=b.id, now=NOW + timedelta(days=5))
    assert c.status == RegistrationStatus.WAITLISTED
    sent_before = len(_subjects("A place is free"))
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    assert c.status == RegistrationStatus.OFFERED and _subjects("A place is free")[sent_before:] == ["c@example.org"]


# -- 7. a person taken off the meeting loses their place and their delegation's -------------------------


def _move(meeting, **changes):
    fields = {"titles": meeting.titles, "tier": "senior_officials", "format": "hybrid", "timezone": "Asia/Tokyo",
              "starts_at": datetime(2027, 3, 5, 10, 0), "ends_at": datetime(2027, 3, 5, 17, 0),
              "venue": meeting.venue, "online_url": meeting.online_url, "capacity": meeting.capacity, **changes}
    return services.update_meeting(meeting_id=meeting.id, actor=None, **fields)


def test_a_withdrawn_invitation_cancels_its_registrations_and_its_delegations_and_frees_their_places(
        db_session, make_partner):
    meeting = plan(capacity=2)
    head = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=make_partner().id,
                           actor=None)
    other = services.invite(meeting_id=meeting.id, email="other@example.org", actor=None)
    own = services.register(invitation=head, name="Head", email="head@seoul.example", now=NOW)
    member = services.register(invitation=head, name="Member", email="member@seoul.example", now=NOW)
    waiting = services.register(invitation=other, name="Other", email="other@example.org", now=NOW)
    assert waiting.status == RegistrationStatus.WAITLISTED
    services.uninvite(invitation_id=head.id, actor=None, reason="Wrong address")
    assert (own.status, member.status, waiting.status) == (
        RegistrationStatus.CANCELLED, RegistrationStatus.CANCELLED, RegistrationStatus.OFFERED)
    [cancel] = [m for m in sent("meeting.registration") if m["To"] == "member@seoul.example"][-1:]
    assert str(calendar_of(cancel)["METHOD"]) == "CANCEL"  # the member's copy goes too
    assert [m["To"] for m in sent("meeting.cancellation")] == ["head@seoul.example"]
    told = len(sent("meeting.invitation"))
    _move(meeting)
    assert [m["To"] for m in sent("meeting.invitation")[told:]] == ["other@example.org"]


# -- 8. postponed and cancelled meetings stay in calendars, as such -------------------------------------------


def test_a_person_taken_off_a_postponed_meeting_gets_a_cancel_for_their_copy(db_session, make_partner):
    meeting = plan()
    head = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=make_partner().id,
                           actor=None)
    services.register(invitation=head, name="Member", email="member@seoul.example", now=NOW)
    services.postpone_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    services.uninvite(invitation_id=head.id, actor=None)
    [cancel] = sent("meeting.cancellation")
    assert cancel["To"] == "head@seoul.example" and str(calendar_of(cancel)["METHOD"]) == "CANCEL"
    member = sent("meeting.registration")[-1]
    assert member["To"] == "member@seoul.example" and str(calendar_of(member)["METHOD"]) == "CANCEL"


def test_the_personal_feed_keeps_postponed_and_cancelled_meetings_with_their_status(db_session):
    from meetings import calendar

    postponed, cancelled, scheduled = plan(), plan(), plan()
    for meeting in (postponed, cancelled, scheduled):
        services.invite(meeting_id=meeting.id, email="me@example.org", actor=None)
    services.postpone_meeting(meeting_id=postponed.id, reason="Typhoon", actor=None)
    services.cancel_meeting(meeting_id=cancelled.id, reason="Typhoon", actor=None)
    found = calendar.meetings_for_email("me@example.org")
    assert {m.id: m.status for m in found} == {postponed.id: services.MeetingStatus.POSTPONED,
                                               cancelled.id: services.MeetingStatus.CANCELLED,
                                               scheduled.id: services.MeetingStatus.SCHEDULED}
    feed = Calendar.from_ical(calendar.ical.publish([services.occurrence(m, "en") for m in found], "Me"))
    assert sorted(str(e["STATUS"]) for e in feed.walk("VEVENT")) == ["CANCELLED", "CONFIRMED", "TENTATIVE"]


# -- 4. what counts against a delegation's limit --------------------------------------------------------------


def test_a_member_declined_by_staff_frees_their_place_in_the_delegation(db_session, make_partner, client):
    from meetings import queries

    meeting = plan(delegation_limit=2, approval_required=True)
    head = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=make_partner().id,
                           actor=None)
    a = services.register(invitation=head, name="A", email="a@seoul.example", now=NOW)
    services.register(invitation=head, name="B", email="b@seoul.example", now=NOW)
    services.decide(registration_id=a.id, approve=False, actor=None)
    [row] = queries.delegations(meeting)
    assert row.members == 1
    c = services.register(invitation=head, name="C", email="c@seoul.example", now=NOW)  # the declined one's place
    assert c.status == RegistrationStatus.PENDING
    with pytest.raises(MeetingError, match="at most 2 people per city"):
        services.register(invitation=head, name="D", email="d@seoul.example", now=NOW)
    db.session.commit()
    html = client.get(f"/meetings/answer/{services.invitation_token(head)}").get_data(as_text=True)
    assert "2 of at most 2 people registered." in html


# -- 11. calendar entries go only to those who hold one ----------------------------------------------------------


def test_a_move_updates_confirmed_members_only_and_a_cancel_tells_the_waiting_without_a_calendar(
        db_session, make_partner):
    meeting = plan(capacity=1)
    head = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=make_partner().id,
                           actor=None)
    confirmed = services.register(invitation=head, name="A", email="a@seoul.example", now=NOW)
    waiting = services.register(invitation=head, name="B", email="b@seoul.example", now=NOW)
    assert waiting.status == RegistrationStatus.WAITLISTED
    told = len(sent("meeting.invitation"))
    _move(meeting)
    assert [m["To"] for m in sent("meeting.invitation")[told:]] == ["head@seoul.example", "a@seoul.example"]
    services.cancel_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    assert [m["To"] for m in sent("meeting.cancellation")] == ["head@seoul.example", "a@seoul.example"]
    notice = sent("meeting.registration")[-1]
    assert notice["To"] == "b@seoul.example" and notice["Subject"] == "Cancelled: Senior officials meeting"
    assert "Typhoon" in notice.get_body(("plain",)).get_content()
    assert not [p for p in notice.walk() if p.get_content_type() == "text/calendar"]
    assert (confirmed.status, waiting.status) == (RegistrationStatus.CONFIRMED, RegistrationStatus.CANCELLED)


# -- 9. more places: offered to the waiting list -------------------------------------------------------------


def test_raising_the_capacity_offers_the_new_places_to_the_waiting_list_in_order(db_session):
    meeting, (a, b, c, d) = _line(people="abcd")
    _move(meeting, starts_at=datetime(2027, 3, 4, 10, 0), ends_at=datetime(2027, 3, 4, 17, 0), capacity=3)
    assert [r.status for r in (a, b, c, d)] == [RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED,
                                                RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED]
    assert _subjects("A place is free") == ["b@example.org", "c@example.org"]
    _move(meeting, starts_at=datetime(2027, 3, 4, 10, 0), ends_at=datetime(2027, 3, 4, 17, 0), capacity=None)
    assert d.status == RegistrationStatus.OFFERED  # no limit any more


# -- 14. a meeting whose end has passed is held ------------------------------------------------------------------


def test_a_scheduled_meeting_past_its_end_becomes_held_and_refuses_changes(db_session):
    meeting, (a, b, c) = _line()
    services.cancel_registration(registration_id=a.id, now=NOW)
    later = plan(starts_at=datetime(2027, 6, 1, 10), ends_at=datetime(2027, 6, 1, 17))
    postponed = plan()
    services.postpone_meeting(meeting_id=postponed.id, reason="Typhoon", actor=None)
    after = datetime(2027, 3, 4, 9, 0, tzinfo=UTC)  # 18:00 in Tokyo, an hour after the end
    assert services.mark_held(now=datetime(2027, 3, 4, 7, 0, tzinfo=UTC)) == []  # 16:00: still on
    assert services.mark_held(now=after) == [meeting]
    assert (meeting.status, later.status, postponed.status) == (
        services.MeetingStatus.HELD, services.MeetingStatus.SCHEDULED, services.MeetingStatus.POSTPONED)
    assert (b.status, c.status) == (RegistrationStatus.CANCELLED, RegistrationStatus.WAITLISTED)  # the offer ends
    assert services.mark_held(now=after) == []  # once
    with pytest.raises(MeetingError, match="cancelled or past"):
        _move(meeting)
    with pytest.raises(MeetingError, match="Schedule the meeting"):
        services.invite(meeting_id=meeting.id, email="late@example.org", actor=None)
    for refused in (lambda: services.cancel_meeting(meeting_id=meeting.id, reason="x", actor=None),
                    lambda: services.postpone_meeting(meeting_id=meeting.id, reason="x", actor=None),
                    lambda: services.accept_offer(registration_id=b.id, now=after),
                    lambda: services.cancel_registration(registration_id=c.id, now=after),
                    lambda: services.uninvite(invitation_id=c.invitation_id, actor=None)):
        with pytest.raises(MeetingError):
            refused()


def test_the_daily_task_marks_past_meetings_held(db_session):
    from worker.tasks import mark_held

    past = plan(starts_at=datetime(2020, 3, 4, 10), ends_at=datetime(2020, 3, 4, 17))
    coming = plan(starts_at=datetime(2099, 3, 4, 10), ends_at=datetime(2099, 3, 4, 17))
    assert mark_held() == 1
    db.session.refresh(past)
    db.session.refresh(coming)
    assert (past.status, coming.status) == (services.MeetingStatus.HELD, services.MeetingStatus.SCHEDULED)


def test_the_beat_runs_the_held_task_daily(app):
    entry = app.config["CELERY"]["beat_schedule"]["meetings-held"]
    assert (entry["task"], entry["schedule"]) == ("meetings.mark_held", 24 * 3600.0)
