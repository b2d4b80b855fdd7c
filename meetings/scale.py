"""The meetings' benchmark data set, written in bulk: 2,000 meetings over ten years (one series of 1,000),
one meeting with 1,000 registrations, and one person invited to 300 meetings (for a personal feed).
Everything is marked as sample."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from kizuna.extensions import db, utcnow

from .models import (
    Answer,
    DelegateRole,
    Invitation,
    Meeting,
    MeetingFormat,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    Tier,
)

ZONES = ("Asia/Tokyo", "Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Seoul")
FEED_EMAIL = "bench@example.test"


def seed_scale(*, meetings: int = 2000, big_series: int = 1000, registrations: int = 1000, invited: int = 300,
               seed: int = 20261125) -> dict[str, int]:
    """Write the data set; refused (ValueError) when meetings exist already. Returns what it wrote, with the
    ids a benchmark needs: the series of `big_series` meetings and the meeting with the registrations."""
    if db.session.scalar(select(func.count()).select_from(Meeting)):
        raise ValueError("the database holds meetings already: seed-scale wants an empty one")
    rng = random.Random(seed)
    now = utcnow()
    series_rows = [{"uid": f"series-{i}-{secrets.token_hex(4)}@bench.invalid",
                    "titles": {"en": f"Sample series {i}", "ja": f"サンプル会議シリーズ{i}"}, "descriptions": {},
                    "default_language": "en", "tier": list(Tier)[i % len(Tier)], "rrule": "FREQ=YEARLY",
                    "default_format": MeetingFormat.HYBRID, "default_delegation_limit": 4, "invitable_ranks": [],
                    "accreditation_required": False, "is_sample": True, "created_at": now, "updated_at": now}
                   for i in range(20)]
    series_ids = list(db.session.scalars(insert(MeetingSeries).returning(MeetingSeries.id), series_rows))
    start = datetime(2021, 1, 4, 1, 0, tzinfo=UTC)
    rows = []
    for i in range(meetings):
        series_id = series_ids[0] if i < big_series else series_ids[1 + i % (len(series_ids) - 1)]
        begins = start + timedelta(days=rng.randrange(3650), hours=rng.randrange(10))
        rows.append({"series_id": series_id, "uid": f"meeting-{i}-{secrets.token_hex(4)}@bench.invalid",
                     "sequence": 0, "tier": Tier.WORKING_LEVEL, "format": MeetingFormat.HYBRID,
                     "status": MeetingStatus.SCHEDULED if begins > now else MeetingStatus.HELD,
                     "titles": {"en": f"Sample meeting {i}", "ja": f"サンプル会議{i}"},
                     "descriptions": {"en": "A meeting of the benchmark data set."}, "default_language": "en",
                     "venue": "Tokyo Metropolitan Government Building", "room": "", "address": "",
                     "online_url": "https://meet.example.org/bench", "starts_at": begins,
                     "ends_at": begins + timedelta(hours=2), "timezone": rng.choice(ZONES),
                     "capacity": None, "delegation_limit": None, "interpretation_languages": ["en", "ja"],
                     "accreditation_required": False, "approval_required": False, "organizer_name": "Kizuna",
                     "organizer_email": "noreply@kizuna.test", "imported": False, "is_sample": True,
                     "created_at": now, "updated_at": now})
    meeting_ids = list(db.session.scalars(insert(Meeting).returning(Meeting.id), rows))
    crowded = meeting_ids[-1]
    db.session.execute(Meeting.__table__.update().where(Meeting.id == crowded).values(
        starts_at=now + timedelta(days=60), ends_at=now + timedelta(days=60, hours=6),
        status=MeetingStatus.SCHEDULED, capacity=registrations + 100))
    invitations = [{"meeting_id": meeting_id, "email": FEED_EMAIL, "name": "Benchmark reader", "language": "en",
                    "answer": Answer.ACCEPTED, "answered_via": "", "comment": "", "link_stamp": secrets.token_hex(16),
                    "created_at": now}
                   for meeting_id in rng.sample(meeting_ids[:-1], invited)]
    invitations += [{"meeting_id": crowded, "email": f"guest{i}@example.org", "name": f"Guest {i}", "language": "en",
                     "answer": Answer.ACCEPTED, "answered_via": "link", "comment": "",
                     "link_stamp": secrets.token_hex(16), "created_at": now} for i in range(registrations)]
    invitation_ids = list(db.session.scalars(insert(Invitation).returning(Invitation.id), invitations))
    guests = invitation_ids[invited:]
    db.session.execute(insert(Registration), [
        {"meeting_id": crowded, "invitation_id": invitation_id, "name": f"Guest {i}", "email": f"guest{i}@example.org",
         "language": "en", "role": DelegateRole.MEMBER, "title": "", "dietary": "", "accessibility": "",
         "interpretation_language": "", "status": RegistrationStatus.CONFIRMED,
         "registered_at": now + timedelta(seconds=i), "is_sample": True}
        for i, invitation_id in enumerate(guests)])
    db.session.flush()
    return {"meetings": len(meeting_ids), "series": len(series_ids), "big_series_id": series_ids[0],
            "crowded_meeting_id": crowded, "registrations": registrations, "feed_invitations": invited}
