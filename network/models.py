"""Reference geography: countries, their subdivisions and the world's cities (the network's anchors)."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kizuna.extensions import db, utcnow
from kizuna.models import enum_column

# A prefix search on this column uses its B-tree with plain >= / < bounds; "C" collation on
# PostgreSQL keeps byte order so that the bounds hold for every script.
SearchKey = String(200).with_variant(String(200, collation="C"), "postgresql")


class Country(db.Model):
    code: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166-1 alpha-2
    alpha3: Mapped[str] = mapped_column(String(3), unique=True)
    numeric: Mapped[str] = mapped_column(String(3))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str | None] = mapped_column(String(200))
    official_name: Mapped[str | None] = mapped_column(String(300))

    def name(self, language: str = "en") -> str:
        return (self.name_ja if language == "ja" else None) or self.name_en


class Subdivision(db.Model):
    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO 3166-2, such as AU-NSW
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(8))

    country: Mapped[Country] = relationship()


class City(db.Model):
    __table_args__ = (
        Index("ix_city_search_key", "search_key", "population"),
        Index("ix_city_country_search", "country_code", "search_key"),
        # The search lists the largest cities first: for a short prefix, PostgreSQL walks these and stops
        # after a few hundred rows instead of sorting the tens of thousands of names that start with 's'.
        Index("ix_city_population", "population", "id"),
        Index("ix_city_country_population", "country_code", "population", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the GeoNames id
    name: Mapped[str] = mapped_column(String(200))
    # name folded for search: accents stripped, case folded (see network.reference.fold)
    search_key: Mapped[str] = mapped_column(SearchKey)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"))
    admin1_code: Mapped[str | None] = mapped_column(String(20))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(default=0)
    timezone: Mapped[str] = mapped_column(String(64))

    country: Mapped[Country] = relationship(lazy="joined")

    def label(self, language: str = "en") -> str:
        return f"{self.name}, {self.country.name(language)}"


class CityName(db.Model):
    """Another name a city is found by (Peking, München, 東京, ニューヨーク), folded like City.search_key.

    The key comes first in the primary key so that a prefix search reads this index alone.
    """

    search_key: Mapped[str] = mapped_column(SearchKey, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), primary_key=True)


# -- the registry ------------------------------------------------------------------------------


class DatePrecision(enum.StrEnum):
    """How much of a date the sources give: a month-precision date is stored as its first day."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class PartnerKind(enum.StrEnum):
    CITY = "city"
    SUBNATIONAL = "subnational"  # a state, province or region: New South Wales, São Paulo State
    PUBLIC_BODY = "public_body"  # another public body: the City of London Corporation


class Partner(db.Model):
    """A government the home city has ties with: a city, a sub-national government or another body."""

    __table_args__ = (UniqueConstraint("country_code", "search_key", "kind", name="uq_partner_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PartnerKind] = mapped_column(enum_column(PartnerKind))
    name: Mapped[str] = mapped_column(String(200))  # in Latin script
    local_name: Mapped[str | None] = mapped_column(String(200))  # in the partner's own script
    name_ja: Mapped[str | None] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(200), index=True)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    subdivision_code: Mapped[str | None] = mapped_column(ForeignKey("subdivision.code"))
    website: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    country: Mapped[Country] = relationship()
    city: Mapped[City | None] = relationship()
    subdivision: Mapped[Subdivision | None] = relationship()
    relationships: Mapped[list[Relationship]] = relationship(back_populates="partner",
                                                             order_by="Relationship.started_on")

    def display_name(self, language: str = "en") -> str:
        return (self.name_ja if language == "ja" else None) or self.name


class RelationshipKind(enum.StrEnum):
    SISTER_CITY = "sister_city"
    FRIENDSHIP_CITY = "friendship_city"
    FRIENDSHIP_STATE = "friendship_state"
    MOU_PARTNER = "mou_partner"
    COOPERATION = "cooperation"


class RelationshipStatus(enum.StrEnum):
    ACTIVE = "active"
    EXCHANGES_SUSPENDED = "exchanges_suspended"
    DORMANT = "dormant"
    ENDED = "ended"


class Relationship(db.Model):
    """The home city's tie with a partner. Ended, never deleted; every status change is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    kind: Mapped[RelationshipKind] = mapped_column(enum_column(RelationshipKind, 24))
    started_on: Mapped[date]
    started_precision: Mapped[DatePrecision] = mapped_column(enum_column(DatePrecision), default=DatePrecision.DAY)
    status: Mapped[RelationshipStatus] = mapped_column(enum_column(RelationshipStatus, 24),
                                                       default=RelationshipStatus.ACTIVE, index=True)
    status_since: Mapped[date | None]
    ended_on: Mapped[date | None]
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moves on a correction of the record (kind, start, source): the home page's caches follow it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="relationships")
    history: Mapped[list[RelationshipStatusChange]] = relationship(
        back_populates="relationship", order_by="RelationshipStatusChange.effective_on")


class RelationshipStatusChange(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("relationship.id"), index=True)
    status: Mapped[RelationshipStatus] = mapped_column(enum_column(RelationshipStatus, 24))
    effective_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    relationship: Mapped[Relationship] = relationship(back_populates="history")


class AgreementKind(enum.StrEnum):
    MOU = "mou"
    JOINT_STATEMENT = "joint_statement"
    COMMUNIQUE = "communique"
    FRIENDSHIP_AGREEMENT = "friendship_agreement"
    COOPERATION_AGREEMENT = "cooperation_agreement"
    OTHER = "other"


class Succession(enum.StrEnum):
    RENEWAL = "renewal"
    REVISION = "revision"


agreement_party = Table(
    "agreement_party", db.metadata,
    Column("agreement_id", ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True),
    Column("partner_id", ForeignKey("partner.id"), primary_key=True, index=True),
)
agreement_area = Table(
    "agreement_area", db.metadata,
    Column("agreement_id", ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("cooperation_area.id"), primary_key=True, index=True),
)


class CooperationArea(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str | None] = mapped_column(String(200))
    builtin: Mapped[bool] = mapped_column(default=False)

    def name(self, language: str = "en") -> str:
        return (self.name_ja if language == "ja" else None) or self.name_en


class Agreement(db.Model):
    """An MOU, joint statement, communiqué or agreement with one or more partners."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    title_local: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[AgreementKind] = mapped_column(enum_column(AgreementKind, 24))
    signed_on: Mapped[date | None] = mapped_column(index=True)  # None: the sources give no date
    signed_precision: Mapped[DatePrecision] = mapped_column(enum_column(DatePrecision), default=DatePrecision.DAY)
    term_months: Mapped[int | None]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    terminated_on: Mapped[date | None]
    termination_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"), index=True)
    succession: Mapped[Succession | None] = mapped_column(enum_column(Succession))
    summary: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parties: Mapped[list[Partner]] = relationship(secondary=agreement_party, order_by="Partner.name")
    areas: Mapped[list[CooperationArea]] = relationship(secondary=agreement_area, order_by="CooperationArea.code")
    signatories: Mapped[list[Signatory]] = relationship(back_populates="agreement", cascade="all, delete-orphan",
                                                        order_by="Signatory.id")
    documents: Mapped[list[AgreementDocument]] = relationship(back_populates="agreement",
                                                              order_by="AgreementDocument.id")
    previous: Mapped[Agreement | None] = relationship(remote_side=[id], back_populates="successors")
    successors: Mapped[list[Agreement]] = relationship(back_populates="previous")

    def state(self, today: date) -> str:
        """in_force, superseded (renewed or revised by a later one), expired or terminated, on `today`: what
        network.queries.agreement_state selects in SQL."""
        if self.terminated_on is not None:
            return "terminated"
        if self.successors:
            return "superseded"
        if self.expires_on is not None and self.expires_on < today:
            return "expired"
        return "in_force"

    def expires_within(self, days: int, today: date) -> bool:
        return self.expires_on is not None and today <= self.expires_on <= today + timedelta(days=days)


class Signatory(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))  # None: for the home city
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")

    agreement: Mapped[Agreement] = relationship(back_populates="signatories")
    partner: Mapped[Partner | None] = relationship()


class AgreementDocument(db.Model):
    """A file kept outside static/, in the instance folder, under its SHA-256; served to staff only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    agreement: Mapped[Agreement] = relationship(back_populates="documents")


class AgreementReminder(db.Model):
    """An expiry reminder sent for one expiry date and one lead time: sent once, never twice."""

    __table_args__ = (UniqueConstraint("agreement_id", "expires_on", "days_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    expires_on: Mapped[date]
    days_before: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class MissionType(enum.StrEnum):
    EMBASSY = "embassy"
    CONSULATE_GENERAL = "consulate_general"
    CONSULATE = "consulate"
    HONORARY_CONSULATE = "honorary_consulate"
    REPRESENTATIVE_OFFICE = "representative_office"


class EmbassyStatus(enum.StrEnum):
    OPEN = "open"
    TEMPORARILY_CLOSED = "temporarily_closed"
    MOVED = "moved"
    CLOSED = "closed"


class Embassy(db.Model):
    """A diplomatic or consular mission in the home city."""

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    mission_type: Mapped[MissionType] = mapped_column(enum_column(MissionType, 24))
    name: Mapped[str] = mapped_column(String(300))
    name_ja: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(500), default="")
    ward: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    phones: Mapped[list] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(500))
    head_of_mission: Mapped[str] = mapped_column(String(200), default="")
    head_title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[EmbassyStatus] = mapped_column(enum_column(EmbassyStatus, 24), default=EmbassyStatus.OPEN,
                                                  index=True)
    status_since: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    country: Mapped[Country] = relationship()
    history: Mapped[list[EmbassyStatusChange]] = relationship(back_populates="embassy",
                                                              order_by="EmbassyStatusChange.effective_on")


class EmbassyStatusChange(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    embassy_id: Mapped[int] = mapped_column(ForeignKey("embassy.id"), index=True)
    status: Mapped[EmbassyStatus] = mapped_column(enum_column(EmbassyStatus, 24))
    effective_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")
    previous_address: Mapped[str | None] = mapped_column(String(500))  # kept when the mission moves
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    embassy: Mapped[Embassy] = relationship(back_populates="history")


class NetworkRole(enum.StrEnum):
    MEMBER = "member"
    STEERING_COMMITTEE = "steering_committee"
    CHAIR = "chair"
    CO_CHAIR = "co_chair"
    VICE_CHAIR = "vice_chair"


class CityNetwork(db.Model):
    """A multilateral network of cities: C40, U20, Metropolis, ICLEI, UCLG, …"""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    acronym: Mapped[str] = mapped_column(String(40), default="")
    name_ja: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    home_roles: Mapped[list[HomeMembership]] = relationship(back_populates="network",
                                                            order_by="HomeMembership.started_on")
    members: Mapped[list[NetworkMember]] = relationship(back_populates="network", order_by="NetworkMember.name")
    events: Mapped[list[NetworkEvent]] = relationship(back_populates="network", order_by="NetworkEvent.starts_on")


class HomeMembership(db.Model):
    """The home city's membership of a network, and its role there, over a period."""

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("city_network.id"), index=True)
    role: Mapped[NetworkRole] = mapped_column(enum_column(NetworkRole, 24))
    started_on: Mapped[date | None]
    started_precision: Mapped[DatePrecision] = mapped_column(enum_column(DatePrecision), default=DatePrecision.DAY)
    ended_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")

    network: Mapped[CityNetwork] = relationship(back_populates="home_roles")


class NetworkMember(db.Model):
    """A member city of a network (usually a reference city; a partner when it is one)."""

    __table_args__ = (UniqueConstraint("network_id", "city_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("city_network.id", ondelete="CASCADE"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    name: Mapped[str] = mapped_column(String(200))  # as the network lists it
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"))
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]

    network: Mapped[CityNetwork] = relationship(back_populates="members")
    city: Mapped[City | None] = relationship()
    partner: Mapped[Partner | None] = relationship()


class NetworkEvent(db.Model):
    """A network's event (a U20 Mayors Summit, a Sherpa meeting) that meetings can link to."""

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("city_network.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(64), default="")
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"))
    venue: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")

    network: Mapped[CityNetwork] = relationship(back_populates="events")
    city: Mapped[City | None] = relationship()
