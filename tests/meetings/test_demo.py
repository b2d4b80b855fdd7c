"""The demo's meetings: Tokyo's three series with their next meetings, real partner cities invited."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import OutboundMessage
from meetings import demo
from meetings.models import Invitation, Meeting, MeetingStatus, Registration
from network import demo as network_demo


def test_the_demo_plans_three_meetings_and_invites_partner_cities_once(db_session):
    assert network_demo.seed_tokyo()
    assert demo.seed_meetings(today=date(2026, 11, 25))
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    assert [m.tier.value for m in meetings] == ["working_level", "senior_officials", "leaders"]
    assert all(m.status == MeetingStatus.SCHEDULED and m.is_sample for m in meetings)
    assert meetings[2].title("ja") == "東京都・海外都市首長会議 2027"
    assert meetings[2].series.rrule == "FREQ=YEARLY;INTERVAL=2"
    assert meetings[0].format.value == "online" and meetings[0].online_url
    invited = db.session.scalar(select(func.count()).select_from(Invitation))
    assert invited == 18  # six partner cities to each meeting
    requests = db.session.scalar(select(func.count()).select_from(OutboundMessage)
                                 .where(OutboundMessage.category == "meeting.invitation"))
    assert requests == 18
    registered = db.session.scalars(select(Registration).where(Registration.meeting_id == meetings[2].id)).all()
    assert len(registered) == 6 and all(r.is_sample for r in registered)
    assert not demo.seed_meetings(today=date(2026, 11, 25))
