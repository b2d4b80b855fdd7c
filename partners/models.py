"""Partner organisations, the people who work there, and the log of what was done with them."""

from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kizuna.extensions import db, utcnow
from kizuna.models import User, enum_column
from network.models import City, CityNetwork, Country, Embassy, Partner
from network.reference import fold


class OrganisationKind(enum.StrEnum):
    PARTNER_GOVERNMENT = "partner_government"
    GOVERNMENT_DEPARTMENT = "government_department"
    EMBASSY = "embassy"
    NETWORK_SECRETARIAT = "network_secretariat"
    INTERNATIONAL_ORGANISATION = "international_organisation"
    COMPANY = "company"
    UNIVERSITY = "university"
    NGO = "ngo"
    OTHER = "other"


class Organisation(db.Model):
    """A body whose people staff deal with; linked to its network record (partner, embassy, network) if any.

    A department points at the government it belongs to through `parent`, and carries that government's
    partner too, so that "everything of this partner city" is one query.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind, 32), index=True)
    name: Mapped[str] = mapped_column(String(300))  # in Latin script
    name_local: Mapped[str | None] = mapped_column(String(300))  # in the organisation's own script
    # name folded (network.reference.fold): duplicates are found and names searched by it
    search_key: Mapped[str] = mapped_column(String(300), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    # One organisation per mission and per network secretariat; a partner has its government and departments.
    embassy_id: Mapped[int | None] = mapped_column(ForeignKey("embassy.id"), unique=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("city_network.id"), unique=True)
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)
    website: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id], back_populates="departments")
    departments: Mapped[list[Organisation]] = relationship(back_populates="parent", order_by="Organisation.name")
    partner: Mapped[Partner | None] = relationship()
    embassy: Mapped[Embassy | None] = relationship()
    network: Mapped[CityNetwork | None] = relationship()
    country: Mapped[Country | None] = relationship()
    positions: Mapped[list[Position]] = relationship(
        back_populates="organisation",
        order_by=lambda: (Position.ended_on.desc().nulls_first(), Position.started_on.desc().nulls_last(),
                          Position.id.desc()))
    interactions: Mapped[list[Interaction]] = relationship(
        secondary=lambda: interaction_organisation, viewonly=True,
        order_by=lambda: (Interaction.occurred_on.desc(), Interaction.id.desc()))

    def display_name(self, language: str = "en") -> str:
        return (self.name_local if self.name_local and _reads(language, self.name_local) else None) or self.name


class NameOrder(enum.StrEnum):
    """How a person's own culture writes their name."""

    FAMILY_FIRST = "family_first"  # 山田 太郎, 김민준, Orbán Viktor, Nguyễn Văn An
    GIVEN_FIRST = "given_first"  # Anne Hidalgo


class LegalBasis(enum.StrEnum):
    """Why the office may keep someone's personal data (GDPR article 6 and the like)."""

    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    PUBLIC_TASK = "public_task"
    CONTRACT = "contract"


# Countries whose people write the family name first, in their own script and language.
FAMILY_FIRST_COUNTRIES = frozenset({"JP", "CN", "TW", "HK", "MO", "KR", "KP", "VN", "HU", "KH", "MN"})
# Family and given names are written together, without a space, in these countries' own script.
UNSPACED_COUNTRIES = frozenset({"CN", "TW", "HK", "MO", "KR", "KP"})


def script_of(text: str) -> str | None:
    """'han', 'kana', 'hangul', 'latin' or 'other' for the first letter of `text` that tells; None for none."""
    found = None
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        if name.startswith(("HIRAGANA", "KATAKANA")):
            return "kana"  # kanji and kana together: Japanese
        if name.startswith("HANGUL"):
            return "hangul"
        if name.startswith("CJK"):
            found = "han"
        elif found is None:
            found = "latin" if name.startswith("LATIN") else "other"
    return found


_SCRIPT_READERS = {"kana": ("ja",), "han": ("ja", "zh"), "hangul": ("ko",)}


def primary_language(tag: str | None) -> str:
    """The language subtag of a BCP 47 tag: 'zh' of 'zh-Hant-TW'."""
    return (tag or "").split("-")[0].lower()


def _reads(language: str, text: str) -> bool:
    """Whether a reader of `language` reads a name written like `text` in an East Asian script.

    Japanese readers read kanji names (Chinese names are written in kanji in Japanese documents);
    Latin-script names are not "local" here: the Latin fields serve every reader.
    """
    return primary_language(language) in _SCRIPT_READERS.get(script_of(text) or "", ())


contact_tag = Table(
    "contact_tag", db.metadata,
    Column("contact_id", ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # name case-folded: "G20" and "g20" are one tag
    key: Mapped[str] = mapped_column(String(64), unique=True)


class Contact(db.Model):
    """A person at a partner organisation: names in two scripts, languages, reach, and why we may keep them.

    Personal data is blanked when the person is forgotten (`erased_at`); the row stays so that the
    interaction log and the audit trail keep their references.
    """

    # A trigram index serves the search box's LIKE '%…%' on PostgreSQL (pg_trgm); elsewhere a plain index.
    __table_args__ = (Index("ix_contact_search_key", "search_key", postgresql_using="gin",
                            postgresql_ops={"search_key": "gin_trgm_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_name: Mapped[str] = mapped_column(String(200), default="")  # in Latin script
    given_name: Mapped[str] = mapped_column(String(200), default="")
    family_name_local: Mapped[str] = mapped_column(String(200), default="")  # in the person's own script
    given_name_local: Mapped[str] = mapped_column(String(200), default="")
    name_order: Mapped[NameOrder] = mapped_column(enum_column(NameOrder), default=NameOrder.GIVEN_FIRST)
    honorific: Mapped[str] = mapped_column(String(100), default="")  # H.E., Dr, Ms
    title: Mapped[str] = mapped_column(String(200), default="")  # Ambassador, Professor
    # the person's country: where their name culture and their phone numbers come from by default
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)
    preferred_language: Mapped[str | None] = mapped_column(String(35))  # BCP 47, for correspondence
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    timezone_override: Mapped[str | None] = mapped_column(String(64))  # IANA, when not their city's
    # Order of precedence: a smaller number goes first; unranked people go after every ranked one.
    protocol_rank: Mapped[int | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(500), default="")  # where the data came from
    legal_basis: Mapped[LegalBasis | None] = mapped_column(enum_column(LegalBasis, 24))
    consent_date: Mapped[date | None]
    review_date: Mapped[date | None] = mapped_column(index=True)
    # the person's own account, when they are a liaison or a delegate
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), unique=True)
    erased_at: Mapped[datetime | None]
    # Every way of writing the name, folded (network.reference.fold), kept by contact_search_key on each
    # flush: the search box matches any script and either order with one LIKE.
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Family name then given name, folded, in Latin script where known: the list's order.
    sort_key: Mapped[str] = mapped_column(String(401), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    country: Mapped[Country | None] = relationship()
    city: Mapped[City | None] = relationship()
    user: Mapped[User | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=contact_tag, order_by="Tag.key")
    languages: Mapped[list[ContactLanguage]] = relationship(cascade="all, delete-orphan",
                                                            order_by="ContactLanguage.code")
    emails: Mapped[list[ContactEmail]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: (ContactEmail.is_primary.desc(), ContactEmail.id))
    phones: Mapped[list[ContactPhone]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: (ContactPhone.is_primary.desc(), ContactPhone.id))
    # Current posts first, then the history, latest first.
    positions: Mapped[list[Position]] = relationship(
        back_populates="contact", cascade="all, delete-orphan",
        order_by=lambda: (Position.ended_on.desc().nulls_first(), Position.started_on.desc().nulls_last(),
                          Position.id.desc()))
    interactions: Mapped[list[Interaction]] = relationship(
        secondary=lambda: interaction_contact, viewonly=True,
        order_by=lambda: (Interaction.occurred_on.desc(), Interaction.id.desc()))

    @property
    def timezone(self) -> str | None:
        """The IANA zone to show the person times in: the override, else their city's."""
        return self.timezone_override or (self.city.timezone if self.city is not None else None)

    @property
    def language_codes(self) -> list[str]:
        return [language.code for language in self.languages]

    @property
    def current_positions(self) -> list[Position]:
        return [p for p in self.positions if p.ended_on is None]

    @property
    def primary_email(self) -> str | None:
        return next((email.address for email in self.emails if email.is_primary), None)

    def display_name(self, language: str = "en") -> str:
        """The name as a reader of `language` should see it.

        In the person's own script when the reader reads it (a Japanese reader sees 山田 太郎 and 王小明),
        in the order of the person's culture; otherwise in Latin script, where a family name written
        first is put in capitals (KIM Minjun) so that no reader takes it for a given name.
        """
        if self.erased_at is not None:
            return _("Erased contact")
        family, given = self.family_name_local, self.given_name_local
        # Local names in Latin script (Orbán Viktor) are for readers of the person's own language.
        local = bool(family or given) and (_reads(language, family + given) or (
            script_of(family + given) == "latin" and self.preferred_language is not None
            and primary_language(language) == primary_language(self.preferred_language)))
        if not local:
            family, given = self.family_name or family, self.given_name or given
        if self.name_order == NameOrder.GIVEN_FIRST:
            return " ".join(part for part in (given, family) if part)
        if not local:
            return " ".join(part for part in (family.upper() if given else family, given) if part)
        unspaced = self.country_code in UNSPACED_COUNTRIES and script_of(family + given) in ("han", "hangul")
        return ("" if unspaced else " ").join(part for part in (family, given) if part)


def default_name_order(*, country_code: str | None, family_name_local: str = "",
                       given_name_local: str = "") -> NameOrder:
    """Family first for the cultures that write it so, judged by the local-script name, else by country."""
    if script_of(family_name_local + given_name_local) in ("han", "kana", "hangul"):
        return NameOrder.FAMILY_FIRST
    return NameOrder.FAMILY_FIRST if country_code in FAMILY_FIRST_COUNTRIES else NameOrder.GIVEN_FIRST


class ContactLanguage(db.Model):
    """A language the person speaks, as a BCP 47 tag (ja, en-GB, zh-Hant)."""

    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(35), primary_key=True, index=True)


class ContactEmail(db.Model):
    __table_args__ = (UniqueConstraint("contact_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(254), index=True)  # normalised: duplicates are found by it
    label: Mapped[str] = mapped_column(String(50), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)
    # Mail to it comes back for good (a permanent bounce, partners/bounces.py): not mailed again until cleared.
    bouncing_at: Mapped[datetime | None]


class ContactPhone(db.Model):
    __table_args__ = (UniqueConstraint("contact_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20), index=True)  # E.164: +81353211111
    label: Mapped[str] = mapped_column(String(50), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)


class Position(db.Model):
    """A post a contact holds or held at an organisation; ended, never deleted, when they move."""

    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    department: Mapped[str] = mapped_column(String(300), default="")
    started_on: Mapped[date | None]  # None: not known
    ended_on: Mapped[date | None]  # None: held now
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="positions")
    organisation: Mapped[Organisation] = relationship(back_populates="positions")

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class InteractionKind(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    MEETING = "meeting"
    LETTER = "letter"
    EMAIL = "email"
    GIFT_GIVEN = "gift_given"
    GIFT_RECEIVED = "gift_received"

    @property
    def is_gift(self) -> bool:
        return self in (InteractionKind.GIFT_GIVEN, InteractionKind.GIFT_RECEIVED)


interaction_contact = Table(
    "interaction_contact", db.metadata,
    Column("interaction_id", ForeignKey("interaction.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True, index=True),
)
interaction_staff = Table(
    "interaction_staff", db.metadata,
    Column("interaction_id", ForeignKey("interaction.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True),
)
interaction_organisation = Table(
    "interaction_organisation", db.metadata,
    Column("interaction_id", ForeignKey("interaction.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Interaction(db.Model):
    """A visit, call, meeting, letter, email or gift: who took part, when, and what was said or given."""

    __table_args__ = (
        CheckConstraint("gift_value IS NULL OR gift_value >= 0", name="gift_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InteractionKind] = mapped_column(enum_column(InteractionKind))
    occurred_on: Mapped[date] = mapped_column(index=True)
    subject: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")
    # gifts only, for the protocol record
    gift_description: Mapped[str | None] = mapped_column(String(500))
    gift_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    gift_currency: Mapped[str | None] = mapped_column(String(3))  # ISO 4217
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(secondary=interaction_contact, order_by="Contact.id")
    staff: Mapped[list[User]] = relationship(secondary=interaction_staff, order_by="User.id")
    organisations: Mapped[list[Organisation]] = relationship(secondary=interaction_organisation,
                                                             order_by="Organisation.name")
    created_by: Mapped[User | None] = relationship()
    follow_ups: Mapped[list[FollowUp]] = relationship(back_populates="interaction", cascade="all, delete-orphan",
                                                      order_by=lambda: (FollowUp.due_on, FollowUp.id))


class FollowUp(db.Model):
    """Something to do after an interaction, by its owner, by a date; a reminder goes out once, when due."""

    __table_args__ = (Index("ix_follow_up_open", "done_at", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interaction.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date]
    text: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interaction: Mapped[Interaction] = relationship(back_populates="follow_ups")
    owner: Mapped[User] = relationship()


def name_search_key(family_name: str = "", given_name: str = "", family_name_local: str = "",
                    given_name_local: str = "") -> str:
    """A person's names folded, in both orders and both scripts, joined by "|" (Contact.search_key).

    "yamada taro", "taro yamada", "山田太郎", "山田 太郎": a folded query found in it names the person
    however it was typed. Blank names (an erased person) give an empty key. Code that inserts contacts in
    bulk, past the ORM's flush, sets the column with this.
    """
    family, given = family_name or "", given_name or ""
    family_local, given_local = family_name_local or "", given_name_local or ""
    variants = [f"{family} {given}", f"{given} {family}", f"{family_local} {given_local}",
                f"{given_local} {family_local}", f"{family_local}{given_local}"]
    return "|".join(dict.fromkeys(key for key in (fold(v) for v in variants) if key))


def name_sort_key(family_name: str = "", given_name: str = "", family_name_local: str = "",
                  given_name_local: str = "") -> str:
    """Family name then given name, folded, each in Latin script where known (Contact.sort_key)."""
    return fold(f"{family_name or family_name_local or ''} {given_name or given_name_local or ''}")[:401]


def contact_search_key(contact: Contact) -> str:
    return name_search_key(contact.family_name, contact.given_name, contact.family_name_local,
                           contact.given_name_local)


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _keep_search_key(mapper, connection, contact: Contact) -> None:
    # On every write, whichever code changed the names (services, imports, a merge, an erasure).
    names = (contact.family_name, contact.given_name, contact.family_name_local, contact.given_name_local)
    contact.search_key = name_search_key(*names)
    contact.sort_key = name_sort_key(*names)


class SavedSearch(db.Model):
    """A user's named set of contact-list filters, kept as the query string the list understood."""

    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000), default="")  # urlencoded: q=yamada&country=JP
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- newsletters and alerts (partners/newsletters.py holds their rules) --------------------------------


class ArchiveVisibility(enum.StrEnum):
    PUBLIC = "public"
    SUBSCRIBERS = "subscribers"


class MailingList(db.Model):
    """A list staff send issues to ("Diplomatic corps weekly update"); its subscribers are contacts."""

    __tablename__ = "mailing_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The list's name in each language it is offered in: {"en": "Sister cities news", "ja": "姉妹都市ニュース"}
    names: Mapped[dict] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    # BCP 47: the language of the variant every issue must have, and what a reader without theirs gets
    default_language: Mapped[str] = mapped_column(String(35), default="en")
    public_subscribe: Mapped[bool] = mapped_column(default=False)
    double_opt_in: Mapped[bool] = mapped_column(default=True)
    archive_visibility: Mapped[ArchiveVisibility] = mapped_column(
        enum_column(ArchiveVisibility), default=ArchiveVisibility.SUBSCRIBERS)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def name(self, language: str | None = None) -> str:
        """The name in `language` (or its primary language), else in the list's default, else any."""
        names = self.names or {}
        for key in (language, primary_language(language), self.default_language):
            if key and names.get(key):
                return names[key]
        return next(iter(names.values()), "")


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"  # asked for on the public form, not yet confirmed (double opt-in)
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCING = "bouncing"  # the address's mail comes back: no more issues until it is fixed


class ConsentMethod(enum.StrEnum):
    FORM = "form"
    STAFF = "staff"
    IMPORT = "import"


class Subscription(db.Model):
    """A contact on a mailing list, with the consent that put them there: when, how and from which address."""

    __table_args__ = (UniqueConstraint("list_id", "contact_id"),
                      Index("ix_subscription_list_status", "list_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(enum_column(SubscriptionStatus))
    consent_at: Mapped[datetime | None]
    consent_method: Mapped[ConsentMethod] = mapped_column(enum_column(ConsentMethod))
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    # The issue whose unsubscribe link they followed: an issue's report counts the readers it lost.
    unsubscribed_issue_id: Mapped[int | None] = mapped_column(ForeignKey("newsletter_issue.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mailing_list: Mapped[MailingList] = relationship()
    contact: Mapped[Contact] = relationship()


class IssueStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


class IssuePriority(enum.StrEnum):
    NORMAL = "normal"
    ALERT = "alert"  # goes out through the high-priority queue, ahead of newsletters being sent


class Issue(db.Model):
    """One issue of a list (or an alert), written by one staff member and approved by another."""

    __tablename__ = "newsletter_issue"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id"), index=True)
    status: Mapped[IssueStatus] = mapped_column(enum_column(IssueStatus, 24), default=IssueStatus.DRAFT,
                                                index=True)
    priority: Mapped[IssuePriority] = mapped_column(enum_column(IssuePriority), default=IssuePriority.NORMAL)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]  # when the last delivery was handed to the outbox
    # An alert made from a prepared template, and the values its fields were filled with
    template_id: Mapped[int | None] = mapped_column(ForeignKey("alert_template.id", ondelete="SET NULL"))
    template_values: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    mailing_list: Mapped[MailingList] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    variants: Mapped[list[IssueVariant]] = relationship(back_populates="issue", cascade="all, delete-orphan",
                                                        order_by="IssueVariant.language")
    attachments: Mapped[list[IssueAttachment]] = relationship(back_populates="issue", cascade="all, delete-orphan",
                                                              order_by="IssueAttachment.id")
    template: Mapped[AlertTemplate | None] = relationship()

    def variant(self, language: str | None) -> IssueVariant | None:
        return next((v for v in self.variants if v.language == language), None)


class IssueVariant(db.Model):
    """An issue in one language: its subject and Markdown body (rendered and sanitised when sent)."""

    __tablename__ = "issue_variant"
    __table_args__ = (UniqueConstraint("issue_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("newsletter_issue.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(35))  # BCP 47
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="variants")


class IssueAttachment(db.Model):
    """A file of an issue, kept in the instance folder under its SHA-256 like an agreement's documents.

    An inline one is an image shown in the body: hosted by Kizuna and linked by its URL, never attached.
    Any other is attached to every message of the issue.
    """

    __tablename__ = "issue_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("newsletter_issue.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    inline: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="attachments")


class AlertKind(enum.StrEnum):
    EARTHQUAKE = "earthquake"
    TYPHOON = "typhoon"
    HEAVY_RAIN = "heavy_rain"
    INFECTIOUS_DISEASE = "infectious_disease"
    OTHER = "other"


class AlertTemplate(db.Model):
    """An alert prepared in advance in many languages, with fields staff fill in when it happens.

    fields: [{"key": "magnitude", "labels": {"en": "Magnitude", "ja": "マグニチュード"}, "required": true,
    "type": "number"}, …]; variants: {"en": {"subject": "…", "body": "Markdown with {magnitude}"}, …}.
    """

    __tablename__ = "alert_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable name of a shipped template: "earthquake"
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, 32))
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    variants: Mapped[dict] = mapped_column(JSON, default=dict)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("mailing_list.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    mailing_list: Mapped[MailingList | None] = relationship()

    def name(self, language: str | None = None) -> str:
        names = self.names or {}
        for key in (language, primary_language(language), "en"):
            if key and names.get(key):
                return names[key]
        return next(iter(names.values()), self.key)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # planned; its message is not in the outbox yet (held while the issue is paused)
    QUEUED = "queued"  # its message is in the outbox: OutboundMessage tells sent or failed
    CANCELLED = "cancelled"  # dropped before it was queued: the issue was cancelled


class Delivery(db.Model):
    """An issue to one contact: at most one per issue and contact, so that no one gets an issue twice."""

    __tablename__ = "newsletter_delivery"
    __table_args__ = (UniqueConstraint("issue_id", "contact_id"),
                      Index("ix_newsletter_delivery_issue_status", "issue_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("newsletter_issue.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id", ondelete="SET NULL"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(35))  # the variant sent
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_message.id", ondelete="SET NULL"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus), default=DeliveryStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    issue: Mapped[Issue] = relationship()
    contact: Mapped[Contact] = relationship()
    subscription: Mapped[Subscription | None] = relationship()


class Bounce(db.Model):
    """One report that a message did not arrive: a delivery status notification read from the bounces mailbox.

    Linked to the outbox message by the Message-ID the report quotes, and from there to a newsletter
    delivery; a report for a message we do not know is kept with neither.
    """

    __tablename__ = "mail_bounce"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254), index=True)  # the recipient that failed, normalised
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)  # of the message that bounced
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_message.id", ondelete="SET NULL"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("newsletter_delivery.id", ondelete="SET NULL"),
                                                    index=True)
    action: Mapped[str] = mapped_column(String(20), default="failed")  # RFC 3464: failed, delayed, …
    status: Mapped[str] = mapped_column(String(16), default="")  # enhanced status code: 5.1.1
    diagnostic: Mapped[str] = mapped_column(Text, default="")  # the server's answer
    permanent: Mapped[bool] = mapped_column(default=False)

    delivery: Mapped[Delivery | None] = relationship()
