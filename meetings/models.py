"""Meetings: series and tiers, meetings with their agenda and documents, invitations, delegations,
registrations, private calendar feeds, and the watermark of the mailbox that iTIP replies land in.

Times are stored in UTC (UTCDateTime) with the meeting's IANA zone beside them; titles and descriptions
are kept per language ({"en": …, "ja": …}) with the language to fall back on.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kizuna.extensions import db, utcnow
from kizuna.models import MailboxWatermark as MailboxWatermark  # moved to kizuna: partners reads a mailbox too
from kizuna.models import enum_column


def in_language(texts: dict[str, str], language: str, fallback: str) -> str:
    """The text in `language`, else in `fallback`, else in any language given, else ""."""
    return texts.get(language) or texts.get(fallback) or next((t for t in texts.values() if t), "")


class Tier(enum.StrEnum):
    LEADERS = "leaders"  # governors and mayors
    SENIOR_OFFICIALS = "senior_officials"
    WORKING_LEVEL = "working_level"
    DIPLOMATIC_BRIEFING = "diplomatic_briefing"  # for the diplomatic corps
    SIDE_EVENT = "side_event"


class MeetingFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"  # staff only; nobody is invited yet
    SCHEDULED = "scheduled"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    HELD = "held"


class Answer(enum.StrEnum):
    """An invitee's answer, as iTIP's PARTSTAT names it."""

    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"


class RegistrationStatus(enum.StrEnum):
    PENDING = "pending"  # waits for staff approval
    CONFIRMED = "confirmed"  # holds a place
    WAITLISTED = "waitlisted"
    OFFERED = "offered"  # a place freed up: held for them until offer_expires_at
    DECLINED = "declined"  # by staff
    CANCELLED = "cancelled"  # by the delegate, or an offer that lapsed


class DelegateRole(enum.StrEnum):
    HEAD = "head"
    MEMBER = "member"
    ADVISER = "adviser"
    INTERPRETER = "interpreter"
    SUPPORT_STAFF = "support_staff"


class MeetingSeries(db.Model):
    """A recurring meeting ("Tokyo intercity leaders' meeting") and the defaults of its meetings."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)  # of its calendar feed
    titles: Mapped[dict] = mapped_column(JSON, default=dict)  # language → title
    descriptions: Mapped[dict] = mapped_column(JSON, default=dict)
    default_language: Mapped[str] = mapped_column(String(16), default="en")
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, 24))
    rrule: Mapped[str] = mapped_column(String(500), default="")  # RFC 5545 RRULE, such as FREQ=YEARLY;INTERVAL=2
    default_format: Mapped[MeetingFormat] = mapped_column(enum_column(MeetingFormat), default=MeetingFormat.IN_PERSON)
    default_delegation_limit: Mapped[int | None]
    invitable_ranks: Mapped[list] = mapped_column(JSON, default=list)  # the tiers of people its meetings invite
    accreditation_required: Mapped[bool] = mapped_column(default=False)
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    meetings: Mapped[list[Meeting]] = relationship(back_populates="series", order_by="Meeting.starts_at")

    def title(self, language: str) -> str:
        return in_language(self.titles, language, self.default_language)


class Meeting(db.Model):
    __table_args__ = (Index("ix_meeting_status_starts", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id"), index=True)
    # Stable for the meeting's life; an invitation received from outside keeps the sender's UID.
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)  # raised with every change of time or place
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, 24))
    format: Mapped[MeetingFormat] = mapped_column(enum_column(MeetingFormat))
    status: Mapped[MeetingStatus] = mapped_column(enum_column(MeetingStatus), default=MeetingStatus.DRAFT)
    titles: Mapped[dict] = mapped_column(JSON, default=dict)  # language → title
    descriptions: Mapped[dict] = mapped_column(JSON, default=dict)
    default_language: Mapped[str] = mapped_column(String(16), default="en")
    venue: Mapped[str] = mapped_column(String(300), default="")
    room: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    online_url: Mapped[str | None] = mapped_column(String(1000))
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"))  # the host city; the home city by default
    starts_at: Mapped[datetime] = mapped_column(index=True)  # UTC
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))  # the meeting's IANA zone, such as Asia/Tokyo
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    capacity: Mapped[int | None]  # places in all; None: no limit
    delegation_limit: Mapped[int | None]  # people per delegation; None: no limit
    interpretation_languages: Mapped[list] = mapped_column(JSON, default=list)
    accreditation_required: Mapped[bool] = mapped_column(default=False)
    approval_required: Mapped[bool] = mapped_column(default=False)
    network_event_id: Mapped[int | None] = mapped_column(ForeignKey("network_event.id"), index=True)
    organizer_name: Mapped[str] = mapped_column(String(200), default="")
    organizer_email: Mapped[str] = mapped_column(String(254), default="")
    imported: Mapped[bool] = mapped_column(default=False)  # created from an .ics received from outside
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    series: Mapped[MeetingSeries | None] = relationship(back_populates="meetings")
    agenda: Mapped[list[AgendaItem]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                    order_by="AgendaItem.position")
    documents: Mapped[list[MeetingDocument]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                            order_by="MeetingDocument.id")
    invitations: Mapped[list[Invitation]] = relationship(back_populates="meeting", order_by="Invitation.id")
    delegations: Mapped[list[Delegation]] = relationship(back_populates="meeting", order_by="Delegation.id")

    def title(self, language: str) -> str:
        return in_language(self.titles, language, self.default_language)

    def description(self, language: str) -> str:
        return in_language(self.descriptions, language, self.default_language)


class AgendaItem(db.Model):
    """A session of a meeting's agenda."""

    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    titles: Mapped[dict] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    room: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")
    speakers: Mapped[list[Speaker]] = relationship(back_populates="item", cascade="all, delete-orphan",
                                                   order_by="Speaker.position")


class Speaker(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(300))  # as the agenda prints it
    role: Mapped[str] = mapped_column(String(200), default="")  # keynote, moderator, panellist …

    item: Mapped[AgendaItem] = relationship(back_populates="speakers")


class MeetingDocument(db.Model):
    """An agenda, concept note or communiqué: kept in the instance folder under its SHA-256, like an
    agreement's documents (network/documents.py)."""

    __tablename__ = "meeting_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # agenda, concept_note, communique, other
    language: Mapped[str] = mapped_column(String(16), default="")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="documents")


class Invitation(db.Model):
    """One person invited to a meeting: the head of a partner city's delegation, or a contact in their own
    right. Their copy of the meeting in their calendar is addressed by (meeting UID, email)."""

    __table_args__ = (UniqueConstraint("meeting_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)  # a city's delegation
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # normalised (kizuna.mail.normalize_address)
    name: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))  # the reader's, for their copy of the times
    answer: Mapped[Answer] = mapped_column(enum_column(Answer), default=Answer.NEEDS_ACTION)
    answered_at: Mapped[datetime | None]
    answered_via: Mapped[str] = mapped_column(String(16), default="")  # link, mail (iTIP REPLY), staff
    comment: Mapped[str] = mapped_column(Text, default="")
    sequence_sent: Mapped[int | None]  # the meeting's SEQUENCE in the last REQUEST they were sent
    reminded_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]  # taken off the meeting: their copy was sent a CANCEL
    # Part of every signed link to answer or register: changing it voids the links sent before.
    link_stamp: Mapped[str] = mapped_column(String(32))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="invitations")


class Delegation(db.Model):
    """A partner city's delegation to a meeting, registered by its head within the per-delegation limit."""

    __table_args__ = (UniqueConstraint("meeting_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"))
    size_limit: Mapped[int | None]  # overrides the meeting's delegation_limit for this city
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="delegations")
    registrations: Mapped[list[Registration]] = relationship(back_populates="delegation",
                                                             order_by="Registration.id")


class Registration(db.Model):
    """A person registered for a meeting, in a delegation or on their own; holds a place while confirmed,
    pending (awaiting staff approval) or offered (services.HOLDS_A_PLACE), waits in line by registered_at while
    waitlisted. One row per meeting and address: registered again after a cancel, the same row is used anew."""

    __table_args__ = (
        Index("ix_registration_meeting_status", "meeting_id", "status", "registered_at"),
        UniqueConstraint("meeting_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegation.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(16), default="en")
    role: Mapped[DelegateRole] = mapped_column(enum_column(DelegateRole, 24), default=DelegateRole.MEMBER)
    title: Mapped[str] = mapped_column(String(300), default="")  # as the badge prints it
    protocol_rank: Mapped[int | None]  # for the order of precedence
    arrival_at: Mapped[datetime | None]
    departure_at: Mapped[datetime | None]
    dietary: Mapped[str] = mapped_column(String(500), default="")
    accessibility: Mapped[str] = mapped_column(String(500), default="")
    interpretation_language: Mapped[str] = mapped_column(String(16), default="")
    accreditation_filename: Mapped[str | None] = mapped_column(String(255))  # the note verbale, if required
    accreditation_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus))
    offer_expires_at: Mapped[datetime | None]
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)  # the waiting list's order
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    is_sample: Mapped[bool] = mapped_column(default=False)

    meeting: Mapped[Meeting] = relationship()
    delegation: Mapped[Delegation | None] = relationship(back_populates="registrations")
    invitation: Mapped[Invitation | None] = relationship()


class CalendarFeed(db.Model):
    """A private per-person calendar feed (/calendar/<token>.ics): the token is shown once and kept hashed;
    revoking it ends the feed for every calendar program that subscribed to it."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_read_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

