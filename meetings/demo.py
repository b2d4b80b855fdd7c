"""The demo's meetings: the three kinds the Global City Strategy (2022) sets up for Tokyo's intercity
network — a meeting of governors and mayors every two years, senior officials meetings and working-level
online meetings every year — each with real partner cities invited. The series are the policy's; the dates,
the delegates and their registrations are invented for the demo and marked as sample."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from kizuna.extensions import db
from network.models import Partner

from . import agenda, services
from .models import DelegateRole, MeetingSeries

VENUE = "Tokyo Metropolitan Government Building"
ADDRESS = "2-8-1 Nishi-Shinjuku, Shinjuku-ku, Tokyo"
# (series titles, tier, RRULE, format, delegation limit)
SERIES = {
    "leaders": ({"en": "Tokyo intercity leaders' meeting", "ja": "東京都・海外都市首長会議"}, "leaders",
                "FREQ=YEARLY;INTERVAL=2", "hybrid", 4),
    "senior": ({"en": "Tokyo intercity senior officials meeting", "ja": "東京都・海外都市幹部職員会議"},
               "senior_officials", "FREQ=YEARLY", "hybrid", 3),
    "working": ({"en": "Tokyo intercity working-level online meeting", "ja": "東京都・海外都市実務者オンライン会議"},
                "working_level", "FREQ=YEARLY", "online", 2),
}
# Partner (as the registry names it), the head of its delegation (sample), language, zone.
INVITED = (("Paris", "Delegation of Paris", "en", "Europe/Paris"),
           ("Seoul", "Delegation of Seoul", "en", "Asia/Seoul"),
           ("New York City", "Delegation of New York City", "en", "America/New_York"),
           ("Berlin", "Delegation of Berlin", "en", "Europe/Berlin"),
           ("Los Angeles", "Delegation of Los Angeles", "en", "America/Los_Angeles"),
           ("New South Wales", "Delegation of New South Wales", "en", "Australia/Sydney"))


# The leaders' meeting's agenda: (start, end, titles, room, speakers as (name, role)). The Governor's office is
# real; the people speaking for it and for the partner cities are samples, and their names say so.
SAMPLE = " — sample speaker"
LEADERS_AGENDA = (
    (time(10), time(10, 20), {"en": "Opening remarks", "ja": "開会挨拶"}, "",
     (("Governor of Tokyo" + SAMPLE, "Opening remarks"),)),
    (time(10, 20), time(11, 50), {"en": "Session 1: Decarbonisation and climate action",
                                  "ja": "セッション1：脱炭素化と気候変動対策"}, "",
     (("Moderator" + SAMPLE, "Moderator"), ("Delegation of Paris" + SAMPLE, "Panellist"),
      ("Delegation of Seoul" + SAMPLE, "Panellist"))),
    (time(12), time(13, 30), {"en": "Working lunch hosted by the Governor", "ja": "知事主催ワーキングランチ"},
     "Banquet hall", ()),
    (time(13, 30), time(15), {"en": "Session 2: Resilient cities", "ja": "セッション2：強靭な都市づくり"}, "",
     (("Moderator" + SAMPLE, "Moderator"), ("Delegation of New York City" + SAMPLE, "Panellist"),
      ("Delegation of New South Wales" + SAMPLE, "Panellist"))),
    (time(15, 15), time(16, 30), {"en": "Session 3: Digital transformation for residents",
                                  "ja": "セッション3：住民のためのデジタルトランスフォーメーション"}, "",
     (("Moderator" + SAMPLE, "Moderator"), ("Delegation of Berlin" + SAMPLE, "Panellist"),
      ("Delegation of Los Angeles" + SAMPLE, "Panellist"))),
    (time(16, 30), time(17), {"en": "Adoption of the joint statement and closing remarks",
                              "ja": "共同声明の採択・閉会挨拶"}, "",
     (("Governor of Tokyo" + SAMPLE, "Closing remarks"),)),
)


def _next_weekday(after: date, weekday: int) -> date:
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)


def seed_meetings(today: date | None = None) -> bool:
    """Seed the three series, their next meetings and sample invitations unless meetings exist; True when
    it seeded. Needs Tokyo's registry (network.demo.seed_tokyo) first. Flushes only."""
    if db.session.scalar(select(func.count()).select_from(MeetingSeries)):
        return False
    from network.services import local_today

    today = today or local_today()
    partners = {p.name: p for p in db.session.scalars(select(Partner).where(
        Partner.name.in_([name for name, *_ in INVITED])))}
    series = {key: services.create_series(titles=titles, tier=tier, rrule=rrule, default_format=fmt,
                                          default_delegation_limit=limit, actor=None)
              for key, (titles, tier, rrule, fmt, limit) in SERIES.items()}
    leaders_day = _next_weekday(today + timedelta(days=150), 2)  # a Wednesday about five months ahead
    senior_day = _next_weekday(today + timedelta(days=75), 3)
    working_day = _next_weekday(today + timedelta(days=21), 1)
    plans = [
        (series["leaders"], leaders_day, time(10), time(17), 60, {
            "en": "Governors and mayors of Tokyo's partner cities on decarbonisation, resilience and digital "
                  "transformation; a joint statement closes the meeting.",
            "ja": "気候変動対策、強靭化、デジタル化について、海外都市の首長が議論し、共同声明を採択します。"}),
        (series["senior"], senior_day, time(9, 30), time(16), 30, {
            "en": "Senior officials prepare the leaders' meeting: agenda, joint statement, follow-up of projects.",
            "ja": "首長会議に向けて、議題・共同声明案・プロジェクトの進捗を確認します。"}),
        (series["working"], working_day, time(16), time(17, 30), None, {
            "en": "Working-level exchange on digital services for residents; in English with Japanese "
                  "interpretation.",
            "ja": "住民向けデジタルサービスに関する実務者の意見交換（英語、日本語通訳付き）。"}),
    ]
    meetings = []
    for item, day, start, end, capacity, descriptions in plans:
        titles = {language: f"{title} {day.year}" for language, title in item.titles.items()}
        online = item.default_format.value != "in_person"
        meeting = services.create_meeting(
            actor=None, series_id=item.id, titles=titles, descriptions=descriptions, timezone="Asia/Tokyo",
            starts_at=datetime.combine(day, start), ends_at=datetime.combine(day, end),
            venue=VENUE if item.default_format.value != "online" else "",
            address=ADDRESS if item.default_format.value != "online" else "",
            online_url="https://meet.example.org/tokyo-intercity" if online else None,
            capacity=capacity, interpretation_languages=("en", "ja"), is_sample=True,
            registration_closes_at=datetime.combine(day - timedelta(days=7), time(18)))
        meetings.append(services.schedule_meeting(meeting_id=meeting.id, actor=None))
    leaders = meetings[0]
    for start, end, titles, room, speakers in LEADERS_AGENDA:
        agenda.add_item(meeting_id=leaders.id, titles=titles, actor=None, room=room,
                        starts_at=datetime.combine(leaders_day, start), ends_at=datetime.combine(leaders_day, end),
                        speakers=[{"name": name, "role": role} for name, role in speakers])
    for meeting in meetings:
        for name, head, language, zone in INVITED:
            partner = partners.get(name)
            if partner is None:
                continue
            slug = name.lower().replace(" ", "-")
            invitation = services.invite(meeting_id=meeting.id, email=f"head.{slug}@example.org", name=head,
                                         language=language, timezone=zone, partner_id=partner.id, actor=None)
            if meeting is leaders and name in ("Paris", "Seoul"):
                services.record_answer(invitation=invitation, answer="accepted", via="link")
                for n, role in enumerate((DelegateRole.HEAD, DelegateRole.ADVISER, DelegateRole.INTERPRETER)):
                    registration = services.register(
                        invitation=invitation, name=f"{head} — sample delegate {n + 1}",
                        email=f"delegate{n + 1}.{slug}@example.org", role=role, dietary="Vegetarian" if n == 1 else "")
                    registration.is_sample = True
    return True
