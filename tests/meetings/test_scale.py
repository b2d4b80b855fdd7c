"""The meetings' benchmark data set: written in bulk, as the benchmark reads it, once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from meetings import scale
from meetings.models import Invitation, Meeting, Registration, RegistrationStatus


def test_seed_scale_writes_the_series_the_crowded_meeting_and_the_feed(db_session):
    made = scale.seed_scale(meetings=60, big_series=30, registrations=25, invited=10)
    assert (made["meetings"], made["series"]) == (60, 20)
    in_series = db.session.scalar(select(func.count()).select_from(Meeting)
                                  .where(Meeting.series_id == made["big_series_id"]))
    assert in_series == 30
    crowded = db.session.get(Meeting, made["crowded_meeting_id"])
    confirmed = db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.meeting_id == crowded.id, Registration.status == RegistrationStatus.CONFIRMED))
    assert confirmed == 25 and crowded.capacity == 125 and crowded.title("ja") == "サンプル会議59"
    assert db.session.scalar(select(func.count()).select_from(Invitation)
                             .where(Invitation.email == scale.FEED_EMAIL)) == 10
    with pytest.raises(ValueError, match="holds meetings already"):
        scale.seed_scale(meetings=1)
