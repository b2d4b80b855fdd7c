"""The meetings schema: texts per language with their fallback, and the rules the database itself keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from kizuna.extensions import db
from meetings.models import (
    Invitation,
    Meeting,
    MeetingFormat,
    MeetingSeries,
    Registration,
    RegistrationStatus,
    Tier,
    in_language,
)


def test_a_text_falls_back_to_the_default_language_then_to_any():
    assert in_language({"en": "Leaders' meeting", "ja": "首脳会議"}, "ja", "en") == "首脳会議"
    assert in_language({"en": "Leaders' meeting"}, "ko", "en") == "Leaders' meeting"
    assert in_language({"ja": "首脳会議", "en": ""}, "en", "en") == "首脳会議"
    assert in_language({}, "en", "en") == ""


@pytest.fixture
def meeting(db_session):
    series = MeetingSeries(uid="series-1@kizuna.test", titles={"en": "Tokyo intercity leaders' meeting"},
                           tier=Tier.LEADERS, rrule="FREQ=YEARLY;INTERVAL=2")
    found = Meeting(series=series, uid="meeting-1@kizuna.test", tier=Tier.LEADERS, format=MeetingFormat.HYBRID,
                    titles={"en": "Leaders' meeting 2027", "ja": "首脳会議2027"}, timezone="Asia/Tokyo",
                    starts_at=datetime(2027, 5, 10, 1, 0, tzinfo=UTC), ends_at=datetime(2027, 5, 10, 8, 0, tzinfo=UTC))
    db.session.add(found)
    db.session.flush()
    return found


def test_times_come_back_as_aware_utc_and_the_series_lists_its_meetings(meeting):
    db.session.expire_all()
    again = db.session.get(Meeting, meeting.id)
    assert again.starts_at == datetime(2027, 5, 10, 1, 0, tzinfo=UTC) and again.starts_at.tzinfo is not None
    assert [m.id for m in again.series.meetings] == [meeting.id]
    assert (again.title("ja"), again.title("fr"), again.sequence) == ("首脳会議2027", "Leaders' meeting 2027", 0)


def test_one_invitation_and_one_registration_per_address_and_meeting(meeting):
    db.session.add(Invitation(meeting=meeting, email="mayor@example.org", link_stamp="a" * 32))
    db.session.flush()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Invitation(meeting=meeting, email="mayor@example.org", link_stamp="b" * 32))
        db.session.flush()
    db.session.add(Registration(meeting_id=meeting.id, name="A", email="a@example.org",
                                status=RegistrationStatus.CONFIRMED))
    db.session.flush()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Registration(meeting_id=meeting.id, name="A again", email="a@example.org",
                                    status=RegistrationStatus.WAITLISTED))
        db.session.flush()
