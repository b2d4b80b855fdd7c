"""Read queries of the staff's meeting pages: the planning board's counts, invitations with their delivery
state, the registrations list and its waiting line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload

from kizuna.extensions import db, utcnow
from kizuna.models import MessageStatus, OutboundMessage
from network import services as network_services
from network.models import CityNetwork, NetworkEvent, Partner

from . import services
from .models import (
    Answer,
    Delegation,
    Invitation,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    Tier,
)
from .services import COUNTS_AGAINST_LIMIT, HOLDS_A_PLACE


@dataclass
class Counts:
    invited: int = 0
    accepted: int = 0
    registered: int = 0  # holding a place: confirmed, pending or offered
    waiting: int = 0


@dataclass
class Delivery:
    """The state of one outbox message, as the invitations table shows it."""

    id: int
    subject: str
    status: MessageStatus
    last_error: str | None


def local_year(meeting: Meeting) -> int:
    """The year the meeting starts in, in its own zone (a New Year's Eve meeting in Tokyo is next year's in UTC)."""
    return meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)).year


def board(*, tier: str = "", year: int | None = None, status: str = "") -> list[Meeting]:
    """Meetings for the planning board, earliest first, filtered by tier, status and year (in each meeting's
    own zone, as the board groups them)."""
    query = select(Meeting).options(selectinload(Meeting.series)).order_by(Meeting.starts_at, Meeting.id)
    if tier in Tier._value2member_map_:
        query = query.where(Meeting.tier == Tier(tier))
    if status in MeetingStatus._value2member_map_:
        query = query.where(Meeting.status == MeetingStatus(status))
    if year:  # a day either side in UTC holds every zone's year; the exact test is local_year
        query = query.where(Meeting.starts_at >= datetime(year - 1, 12, 31, tzinfo=UTC),
                            Meeting.starts_at < datetime(year + 1, 1, 2, tzinfo=UTC))
    meetings = list(db.session.scalars(query))
    return [m for m in meetings if local_year(m) == year] if year else meetings


def next_year() -> int:
    """The year (in its own zone) of the next meeting to start, else this year."""
    upcoming = db.session.scalar(select(Meeting).where(Meeting.starts_at >= utcnow())
                                 .order_by(Meeting.starts_at).limit(1))
    return local_year(upcoming) if upcoming is not None else network_services.local_today().year


def years() -> list[int]:
    rows = db.session.execute(select(Meeting.starts_at, Meeting.timezone))
    return sorted({starts_at.astimezone(ZoneInfo(zone)).year for starts_at, zone in rows})


def counts(meeting_ids: list[int]) -> dict[int, Counts]:
    """Per meeting: live invitations, accepted ones, places held and the waiting list, in two grouped queries."""
    out = {mid: Counts() for mid in meeting_ids}
    if not meeting_ids:
        return out
    for mid, invited, accepted in db.session.execute(
            select(Invitation.meeting_id, func.count(),
                   func.count(case((Invitation.answer == Answer.ACCEPTED, 1))))
            .where(Invitation.meeting_id.in_(meeting_ids), Invitation.removed_at.is_(None))
            .group_by(Invitation.meeting_id)):
        out[mid].invited, out[mid].accepted = invited, accepted
    for mid, registered, waiting in db.session.execute(
            select(Registration.meeting_id,
                   func.count(case((Registration.status.in_(HOLDS_A_PLACE), 1))),
                   func.count(case((Registration.status == RegistrationStatus.WAITLISTED, 1))))
            .where(Registration.meeting_id.in_(meeting_ids)).group_by(Registration.meeting_id)):
        out[mid].registered, out[mid].waiting = registered, waiting
    return out


def series_list() -> list[MeetingSeries]:
    return list(db.session.scalars(select(MeetingSeries).order_by(MeetingSeries.tier, MeetingSeries.id)))


def told_of_changes(meeting: Meeting) -> int:
    """How many addresses a change of time or place is sent to (services.people_told)."""
    return len(services.people_told(meeting))


def latest_messages(meeting_id: int) -> dict[str, Delivery]:
    """The latest outbox message about the meeting, per recipient address (lower-cased): its delivery state
    only, never the stored message (a meeting of a thousand people has megabytes of them)."""
    about = (OutboundMessage.ref_type == "meeting", OutboundMessage.ref_id == meeting_id)
    latest_ids = select(func.max(OutboundMessage.id)).where(*about).group_by(OutboundMessage.recipient)
    rows = db.session.execute(
        select(OutboundMessage.id, OutboundMessage.recipient, OutboundMessage.subject, OutboundMessage.status,
               OutboundMessage.last_error).where(OutboundMessage.id.in_(latest_ids)).order_by(OutboundMessage.id))
    return {parseaddr(recipient)[1].lower(): Delivery(id_, subject, status, last_error)
            for id_, recipient, subject, status, last_error in rows}


def invitations(meeting_id: int) -> Select:
    """The meeting's live invitations, in the order they were sent (the meeting page shows them in pages)."""
    return select(Invitation).where(Invitation.meeting_id == meeting_id, Invitation.removed_at.is_(None)
                                    ).order_by(Invitation.id)


def partner_names(ids) -> dict[int, Partner]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Partner).options(selectinload(Partner.city))
                                                .where(Partner.id.in_(ids)))}


def registrations_query(meeting_id: int, *, status: str = "", partner_id: int | None = None,
                        role: str = "") -> Select:
    query = (select(Registration).options(selectinload(Registration.delegation))
             .where(Registration.meeting_id == meeting_id).order_by(Registration.registered_at, Registration.id))
    if status in RegistrationStatus._value2member_map_:
        query = query.where(Registration.status == RegistrationStatus(status))
    if partner_id:
        query = query.join(Delegation, Registration.delegation_id == Delegation.id).where(
            Delegation.partner_id == partner_id)
    if role:
        query = query.where(Registration.role == role)
    return query


def waiting_list(meeting_id: int) -> list[tuple[str, str, datetime]]:
    """(name, email, registered at) of the waiting list, in the order places are offered (services.promote)."""
    return list(db.session.execute(select(Registration.name, Registration.email, Registration.registered_at).where(
        Registration.meeting_id == meeting_id, Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.registered_at, Registration.id)))


def delegation_partners(meeting_id: int) -> list[Partner]:
    return list(db.session.scalars(select(Partner).join(Delegation, Delegation.partner_id == Partner.id)
                                   .where(Delegation.meeting_id == meeting_id).order_by(Partner.name)))


def network_events() -> list[tuple[int, str, object, str]]:
    """(id, title, start date, network name) of every network event, latest first: the meeting form's menu."""
    return list(db.session.execute(
        select(NetworkEvent.id, NetworkEvent.title, NetworkEvent.starts_on, CityNetwork.name)
        .join(CityNetwork, NetworkEvent.network_id == CityNetwork.id).order_by(NetworkEvent.starts_on.desc())))


def partner_options(language: str) -> list[tuple[int, str]]:
    """(id, name in the reader's language) of every partner, sorted by name: plain rows, no objects."""
    rows = db.session.execute(select(Partner.id, Partner.name, Partner.name_ja)).all()
    return sorted(((pid, (ja if language == "ja" else None) or name) for pid, name, ja in rows), key=lambda r: r[1])


@dataclass
class DelegationRow:
    partner: Partner
    head: Invitation | None
    members: int  # those counting against the limit (services.COUNTS_AGAINST_LIMIT)
    limit: int | None


def delegations(meeting: Meeting) -> list[DelegationRow]:
    """Each partner city's delegation to the meeting: its head's invitation, its members and its limit."""
    members = dict(db.session.execute(
        select(Registration.delegation_id, func.count()).where(
            Registration.meeting_id == meeting.id, Registration.delegation_id.is_not(None),
            Registration.status.in_(COUNTS_AGAINST_LIMIT))
        .group_by(Registration.delegation_id)).all())
    rows = db.session.execute(
        select(Delegation, Partner, Invitation).join(Partner, Delegation.partner_id == Partner.id)
        .outerjoin(Invitation, Delegation.invitation_id == Invitation.id)
        .where(Delegation.meeting_id == meeting.id).order_by(Partner.name)).all()
    return [DelegationRow(partner, head if head is not None and head.removed_at is None else None,
                          members.get(delegation.id, 0), delegation.size_limit or meeting.delegation_limit)
            for delegation, partner, head in rows]
