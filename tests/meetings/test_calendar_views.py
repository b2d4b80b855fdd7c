"""Calendar files and feeds over HTTP: a meeting's file and a series' feed for staff, and the private per-person
feed behind a revocable token."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import select, text

from kizuna.extensions import db
from kizuna.models import Role
from meetings import services
from meetings.models import CalendarFeed
from tests.conftest import csrf_token, login

TOKYO = "Asia/Tokyo"
CALENDAR = "text/calendar; charset=utf-8"


def plan(title: str, day: int, *, schedule: bool = True, series_id: int | None = None):
    meeting = services.create_meeting(
        actor=None, series_id=series_id, titles={"en": title, "ja": f"{title}（日本語）"}, tier="working_level",
        format="online", timezone=TOKYO, starts_at=datetime(2027, 2, day, 10), ends_at=datetime(2027, 2, day, 11),
        online_url="https://meet.example.org/wl")
    return services.schedule_meeting(meeting_id=meeting.id, actor=None) if schedule else meeting


def events(response) -> dict[str, object]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == CALENDAR
    return {str(e["SUMMARY"]): e for e in Calendar.from_ical(response.data).walk("VEVENT")}


# -- staff files ----------------------------------------------------------------------------------------------


def test_staff_download_a_meetings_file_in_their_language(as_role):
    meeting = plan("Working-level online meeting", 2)
    db.session.commit()
    client = as_role(Role.VIEWER, language="ja")
    response = client.get(f"/meetings/{meeting.id}/invite.ics")
    [(summary, event)] = events(response).items()
    assert summary == "Working-level online meeting（日本語）" and str(event["UID"]) == meeting.uid
    assert event.decoded("DTSTART") == datetime(2027, 2, 2, 1, 0, tzinfo=UTC)
    assert str(Calendar.from_ical(response.data)["METHOD"]) == "PUBLISH"
    assert 'filename="invite.ics"' in response.headers["Content-Disposition"]


def test_a_delegate_gets_no_staff_file(as_role):
    meeting = plan("Working-level online meeting", 2)
    db.session.commit()
    assert as_role(Role.DELEGATE).get(f"/meetings/{meeting.id}/invite.ics").status_code == 403


def test_a_series_feed_lists_its_meetings_and_follows_their_changes(as_role):
    series = services.create_series(titles={"en": "Working-level meetings"}, tier="working_level", actor=None,
                                    rrule="FREQ=YEARLY")
    first = plan("First", 2, series_id=series.id)
    second = plan("Second", 9, series_id=series.id)
    plan("Draft", 16, series_id=series.id, schedule=False)
    plan("Not in the series", 23)
    db.session.commit()
    client = as_role(Role.VIEWER)
    url = f"/meetings/series/{series.id}.ics"
    response = client.get(url)
    assert sorted(events(response)) == ["First", "Second"]
    cal = Calendar.from_ical(response.data)
    assert str(cal["X-WR-CALNAME"]) == "Working-level meetings"
    assert client.get(url).data == response.data  # unchanged: the same file

    services.cancel_meeting(meeting_id=second.id, reason="Merged with the first.", actor=None)
    services.update_meeting(meeting_id=first.id, actor=None, titles={"en": "First, renamed"}, tier="working_level",
                            format="online", timezone=TOKYO, starts_at=datetime(2027, 2, 2, 10),
                            ends_at=datetime(2027, 2, 2, 11), online_url="https://meet.example.org/wl",
                            series_id=series.id)
    db.session.commit()
    after = events(client.get(url))
    assert sorted(after) == ["First, renamed", "Second"]
    assert str(after["Second"]["STATUS"]) == "CANCELLED"  # subscribers drop it
    assert client.get(f"/meetings/series/{series.id + 1000}.ics").status_code == 404


# -- the personal feed ------------------------------------------------------------------------------------------


def create_feed(client, name: str = "Phone") -> str:
    response = client.post("/calendar/feeds", data={"name": name, "csrf_token": csrf_token(client, "/calendar/feeds")})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    url = re.search(r'id="feed-url" value="([^"]+)"', html).group(1)
    assert f'href="webcal://{url.split("://", 1)[1]}"' in html
    return urlsplit(url).path


@pytest.mark.parametrize("role", [Role.EDITOR, Role.DELEGATE])
def test_a_personal_feed_lists_the_meetings_one_is_invited_to_or_registered_for(as_role, make_partner, role):
    client = as_role(role, email=f"me-{role.value}@seoul.example")
    invited = plan("Invited", 2)
    registered = plan("Registered", 9)
    plan("Someone else's", 16)
    withdrawn = plan("Withdrawn", 23)
    services.invite(meeting_id=invited.id, email=client.user.email.upper(), actor=None)
    head = services.invite(meeting_id=registered.id, email="head@seoul.example", partner_id=make_partner().id,
                           actor=None)
    services.register(invitation=head, name="Me", email=client.user.email, actor=None)  # a member of her delegation
    gone = services.invite(meeting_id=withdrawn.id, email=client.user.email, actor=None)
    services.uninvite(invitation_id=gone.id, actor=None)
    db.session.commit()
    path = create_feed(client)
    client.get("/logout")  # calendar programs sign in to nothing
    assert sorted(events(client.get(path))) == ["Invited", "Registered"]
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == client.user.id))
    assert feed.last_read_at is not None


def test_the_token_is_shown_once_kept_only_as_its_hash_and_revoking_ends_the_feed(as_role, make_user):
    client = as_role(Role.VIEWER)
    path = create_feed(client, "Outlook")
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == client.user.id))
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest() and feed.name == "Outlook"
    for table in ("calendar_feed", "audit_event"):
        rows = db.session.execute(text(f"SELECT t::text FROM {table} t")).scalars().all()
        assert not [r for r in rows if token in r], table
    listing = client.get("/calendar/feeds").get_data(as_text=True)
    assert "Outlook" in listing and token not in listing
    assert client.get(path).status_code == 200

    # Someone else cannot revoke it.
    intruder = make_user(Role.EDITOR)
    other = client.application.test_client()
    login(other, intruder)
    response = other.post(f"/calendar/feeds/{feed.id}/revoke",
                          data={"csrf_token": csrf_token(other, "/calendar/feeds")})
    assert response.status_code == 303 and client.get(path).status_code == 200

    response = client.post(f"/calendar/feeds/{feed.id}/revoke",
                           data={"csrf_token": csrf_token(client, "/calendar/feeds")})
    assert response.status_code == 303
    assert client.get(path).status_code == 404
    assert "You have no feed yet." in client.get("/calendar/feeds").get_data(as_text=True)


def test_a_made_up_token_gets_nothing(client, db_session):
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_a_postponed_meeting_stays_in_the_personal_feed_as_tentative_and_the_page_says_so(as_role):
    client = as_role(Role.EDITOR, email="me-postponed@seoul.example")
    meeting = plan("Summit", 2)
    services.invite(meeting_id=meeting.id, email=client.user.email, actor=None)
    services.postpone_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    db.session.commit()
    path = create_feed(client)
    listing = client.get("/calendar/feeds").get_data(as_text=True).split("What the feed shows")[1]
    assert " · Postponed</li>" in listing
    assert str(events(client.get(path))["Summit"]["STATUS"]) == "TENTATIVE"
