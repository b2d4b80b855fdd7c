"""Verbs of the partners module: organisations, contacts and their positions, interactions and follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import phonenumbers
import pycountry
from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kizuna import audit
from kizuna import services as accounts
from kizuna.errors import DomainError
from kizuna.extensions import db, utcnow
from kizuna.i18n import LANGUAGES, valid_timezone
from kizuna.mail import normalize_address
from kizuna.models import EXTERNAL_ROLES, Role, User
from network.models import City, CityNetwork, Embassy, Partner
from network.reference import fold
from network.services import find_country, local_today

from .models import (
    Contact,
    ContactEmail,
    ContactLanguage,
    ContactPhone,
    FollowUp,
    Interaction,
    InteractionKind,
    LegalBasis,
    NameOrder,
    Organisation,
    OrganisationKind,
    Position,
    SavedSearch,
    Tag,
    default_name_order,
    primary_language,
)

GOVERNMENT_KINDS = (OrganisationKind.PARTNER_GOVERNMENT, OrganisationKind.GOVERNMENT_DEPARTMENT)
MAX_RANK = 9999
MAX_GIFT_VALUE = Decimal("9999999999.99")  # Numeric(12, 2)


class PartnersError(DomainError):
    """A partners change was refused; the message says why, and `field` names the input at fault."""


# -- small checks shared by the verbs ----------------------------------------------------------


def _text(value: str | None, field: str, *, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise PartnersError(_("This field is required."), field)
    if len(value) > limit:
        raise PartnersError(_("At most %(n)d characters.", n=limit), field)
    return value


def _choice(enum_type: type[enum.Enum], value, field: str):
    """`value` as a member of `enum_type`, or a PartnersError at `field` listing what it may be."""
    try:
        return enum_type(value)
    except ValueError:
        raise PartnersError(_("%(value)s is not one of: %(choices)s.", value=value,
                              choices=", ".join(m.value for m in enum_type)), field) from None


def _past(day: date | None, field: str, today: date) -> date | None:
    if day is not None and day > today:
        raise PartnersError(_("%(date)s is in the future; this date must be today or earlier.",
                              date=day.isoformat()), field)
    return day


def _get(model, object_id: int | None, field: str | None = None):
    obj = db.session.get(model, object_id) if object_id is not None else None
    if obj is None:
        raise PartnersError(_("It no longer exists; reload the page."), field)
    return obj


def _country_code(code: str | None, field: str = "country_code") -> str | None:
    if not (code or "").strip():
        return None
    country = find_country(code)
    if country is None:
        raise PartnersError(_("%(code)s is not an ISO 3166 country code.", code=code), field)
    return country.code


def _website(url: str | None, field: str = "website") -> str | None:
    url = _text(url, field, limit=500)
    if not url:
        return None
    if "://" not in url:
        url = f"https://{url}"
    if not url.lower().startswith(("http://", "https://")) or "." not in url.split("://", 1)[1]:
        raise PartnersError(_("Enter a web address, such as https://www.example.org."), field)
    return url


def _id(actor) -> int | None:
    return actor.id if actor is not None else None


def _snapshot(obj, *names: str) -> dict:
    """Field values as JSON for the audit log (dates as ISO strings, enums as values, amounts as text)."""
    out = {}
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Decimal):
            value = str(value)
        out[name] = value
    return out


# -- organisations -------------------------------------------------------------------------------

ORGANISATION_FIELDS = ("kind", "name", "name_local", "parent_id", "partner_id", "embassy_id", "network_id",
                       "country_code", "website", "notes")


def _organisation_values(*, kind, name, name_local=None, parent_id=None, partner_id=None, embassy_id=None,
                         network_id=None, country_code=None, website=None, notes="",
                         exclude: int | None = None) -> dict:
    kind = _choice(OrganisationKind, kind, "kind")
    name = _text(name, "name", limit=300, required=True)
    country_code = _country_code(country_code)
    parent = None
    if parent_id is not None:
        parent = db.session.get(Organisation, parent_id)
        if parent is None:
            raise PartnersError(_("No organisation has the id %(id)s.", id=parent_id), "parent_id")
        ancestor = parent
        while ancestor is not None:  # the parent chain is short: a government, its bureau, a division
            if ancestor.id == exclude:
                raise PartnersError(_("An organisation cannot belong to itself or to one of its own "
                                      "departments."), "parent_id")
            ancestor = ancestor.parent
        if kind == OrganisationKind.GOVERNMENT_DEPARTMENT and parent.kind not in GOVERNMENT_KINDS:
            raise PartnersError(_("A government department belongs to a government or to another department."),
                                "parent_id")
    if partner_id is not None and kind not in GOVERNMENT_KINDS:
        raise PartnersError(_("Only a partner government and its departments are linked to a partner."),
                            "partner_id")
    if partner_id is None and kind in GOVERNMENT_KINDS and parent is not None:
        partner_id = parent.partner_id  # a department belongs to its government's partner
    if partner_id is not None:
        partner = db.session.get(Partner, partner_id)
        if partner is None:
            raise PartnersError(_("No partner has the id %(id)s.", id=partner_id), "partner_id")
        if parent is not None and parent.partner_id not in (None, partner.id):
            raise PartnersError(_("%(parent)s belongs to another partner.", parent=parent.name), "partner_id")
        if kind == OrganisationKind.PARTNER_GOVERNMENT:
            _unique(Organisation.partner_id == partner.id, Organisation.kind == kind, exclude=exclude,
                    field="partner_id")
        country_code = country_code or partner.country_code
    if embassy_id is not None:
        if kind != OrganisationKind.EMBASSY:
            raise PartnersError(_("Only an embassy is linked to a mission of the registry."), "embassy_id")
        embassy = db.session.get(Embassy, embassy_id)
        if embassy is None:
            raise PartnersError(_("No mission has the id %(id)s.", id=embassy_id), "embassy_id")
        _unique(Organisation.embassy_id == embassy.id, exclude=exclude, field="embassy_id")
        country_code = country_code or embassy.country_code
    if network_id is not None:
        if kind != OrganisationKind.NETWORK_SECRETARIAT:
            raise PartnersError(_("Only a network secretariat is linked to a city network."), "network_id")
        if db.session.get(CityNetwork, network_id) is None:
            raise PartnersError(_("No city network has the id %(id)s.", id=network_id), "network_id")
        _unique(Organisation.network_id == network_id, exclude=exclude, field="network_id")
    return {"kind": kind, "name": name, "name_local": _text(name_local, "name_local", limit=300) or None,
            "parent_id": parent.id if parent is not None else None, "partner_id": partner_id,
            "embassy_id": embassy_id, "network_id": network_id, "country_code": country_code,
            "website": _website(website), "notes": _text(notes, "notes", limit=20000)}


def _unique(*conditions, exclude: int | None, field: str) -> None:
    query = select(Organisation).where(*conditions)
    if exclude is not None:
        query = query.where(Organisation.id != exclude)
    other = db.session.scalar(query.limit(1))
    if other is not None:
        raise PartnersError(_("%(name)s is already linked to this record.", name=other.name), field)


def create_organisation(*, actor, **fields) -> Organisation:
    """Add an organisation (flushed, not committed); PartnersError at the field of any bad input."""
    values = _organisation_values(**fields)
    organisation = Organisation(**values, search_key=fold(values["name"]))
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.create", actor=actor, object_type="organisation", object_id=organisation.id,
                 object_label=organisation.name, after=_snapshot(organisation, *ORGANISATION_FIELDS))
    return organisation


def update_organisation(*, organisation_id: int, actor, **fields) -> Organisation:
    """Replace an organisation's fields with `fields` (the same as create_organisation's); audits the change.

    A government linked to another partner takes its departments with it.
    """
    organisation = _get(Organisation, organisation_id)
    values = _organisation_values(**fields, exclude=organisation.id)
    before = _snapshot(organisation, *ORGANISATION_FIELDS)
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation.search_key = fold(organisation.name)
    if organisation.partner_id != before["partner_id"]:
        # Departments follow their government to its new partner (a merger, a record linked late).
        stack = list(organisation.departments)
        while stack:
            department = stack.pop()
            if department.kind == OrganisationKind.GOVERNMENT_DEPARTMENT:
                department.partner_id = organisation.partner_id
                stack.extend(department.departments)
    db.session.flush()
    old, new = audit.changes(before, _snapshot(organisation, *ORGANISATION_FIELDS))
    if new:
        audit.record("organisation.update", actor=actor, object_type="organisation", object_id=organisation.id,
                     object_label=organisation.name, before=old, after=new)
    return organisation


# -- contacts ------------------------------------------------------------------------------------

# Every change to a contact, their addresses and their positions is logged under object_type "contact"
# and the contact's id, so that forgetting the person can find and blank every value the log kept.
CONTACT_FIELDS = ("family_name", "given_name", "family_name_local", "given_name_local", "name_order", "honorific",
                  "title", "country_code", "preferred_language", "city_id", "timezone_override", "protocol_rank",
                  "notes", "source", "legal_basis", "consent_date", "review_date", "user_id")


# やさしい日本語: Japanese in short sentences and everyday words, for readers still learning it. BCP 47 has no
# tag for it; a private-use subtag keeps it apart from "ja" while its primary language stays Japanese.
PLAIN_JAPANESE = "ja-x-easy"


def language_tag(code: str | None, field: str = "preferred_language") -> str:
    """`code` as a BCP 47 tag in its canonical case ('pt-br' → 'pt-BR', 'zh-hant' → 'zh-Hant'), or plain
    Japanese's ja-x-easy.

    Language, script and region must each be one CLDR (through Babel) knows; Babel's Locale.parse is
    not the judge, since it quietly turns a region it has no data for into another ('en-ZZ' → en_US).
    PartnersError at `field` otherwise.
    """
    text = (code or "").strip().replace("_", "-")
    if text.lower() == PLAIN_JAPANESE:
        return PLAIN_JAPANESE
    language, *rest = text.split("-")
    english = Locale("en")
    unknown = PartnersError(_("%(code)s is not a language code we know; write it as ja, en or pt-BR.",
                              code=text or "—"), field)
    language = language.lower()
    if language not in english.languages or language in ("und", "root"):
        raise unknown
    script = region = None
    for part in rest:
        if len(part) == 4 and script is region is None and part.title() in english.scripts \
                and part.title() not in ("Zzzz", "Zyyy"):  # the codes for "unknown" and "common"
            script = part.title()
        elif len(part) in (2, 3) and region is None and part.upper() in english.territories and part.upper() != "ZZ":
            region = part.upper()
        else:
            raise unknown
    return "-".join(part for part in (language, script, region) if part)


def language_name(tag: str | None, locale: str | None = None) -> str:
    """A language tag named for a reader of `locale` (the interface's by default): 'Portuguese (Brazil)',
    'ポルトガル語 (ブラジル)'; plain Japanese by its own name; no tag as 'No preference'."""
    if not tag:
        return _("No preference")
    if tag == PLAIN_JAPANESE:
        return _("Plain Japanese (やさしい日本語)")
    try:
        display = Locale.parse(locale or str(get_locale() or "en"), sep="-" if "-" in (locale or "") else "_")
    except (ValueError, UnknownLocaleError):
        display = Locale("en")
    language, *rest = tag.split("-")
    name = display.languages.get(language, language)
    details = [display.scripts.get(part, part) if len(part) == 4 else display.territories.get(part, part)
               for part in rest]
    return f"{name} ({', '.join(details)})" if details else name


def phone_e164(raw: str, region: str | None, field: str) -> str:
    """A phone number as E.164 (+81353211111), read as dialled in `region` unless it starts with +."""
    raw = (raw or "").strip()
    try:
        number = phonenumbers.parse(raw, region)
        valid = phonenumbers.is_valid_number(number)
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        if region:
            raise PartnersError(_("%(number)s is not a phone number in %(country)s; for another country, start "
                                  "with + and its code (+81 3-5321-1111).", number=raw, country=region), field)
        raise PartnersError(_("%(number)s is not a phone number; start it with + and the country code "
                              "(+81 3-5321-1111).", number=raw), field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _entries(items, key: str) -> list[dict]:
    """Emails or phones given as strings or as {key:, label:, primary:} mappings, blank ones dropped."""
    entries = []
    for item in items or ():
        entry = {key: item} if isinstance(item, str) else dict(item)
        entries.append({key: (entry.get(key) or "").strip(), "label": entry.get("label") or "",
                        "primary": bool(entry.get("primary"))})
    return entries


def _reach(items, *, key: str, list_name: str, normalise) -> list[dict]:
    """Validated, normalised emails or phones; the first is primary unless another one says it is."""
    out, seen, primary = [], set(), None
    for index, entry in enumerate(_entries(items, key)):
        if not entry[key]:
            continue
        field = f"{list_name}-{index}-{key}"
        value = normalise(entry[key], field)
        if value in seen:
            raise PartnersError(_("%(value)s is given twice.", value=value), field)
        if entry["primary"]:
            if primary is not None:
                raise PartnersError(_("Only one can be the main one."), f"{list_name}-{index}-primary")
            primary = value
        seen.add(value)
        out.append({key: value, "label": _text(entry["label"], f"{list_name}-{index}-label", limit=50),
                    "is_primary": False})
    for entry in out:
        entry["is_primary"] = entry[key] == (primary or out[0][key])
    return sorted(out, key=lambda entry: not entry["is_primary"])  # as the relationship loads them


def _email(address: str, field: str) -> str:
    try:
        return normalize_address(address)
    except EmailNotValidError:
        raise PartnersError(_("%(address)s is not a valid email address.", address=address), field) from None


def _tags(names) -> list[Tag]:
    tags: dict[str, Tag] = {}
    for index, name in enumerate(names or ()):
        name = " ".join(_text(name, f"tags-{index}", limit=64).split())
        if not name or name.casefold() in tags:
            continue
        key = name.casefold()
        tag = db.session.scalar(select(Tag).where(Tag.key == key))
        if tag is None:
            tag = Tag(name=name, key=key)
            db.session.add(tag)
        tags[key] = tag
    return sorted(tags.values(), key=lambda tag: tag.key)  # in the relationship's order


def _contact_values(*, family_name="", given_name="", family_name_local="", given_name_local="", name_order=None,
                    honorific="", title="", country_code=None, languages=(), preferred_language=None, city_id=None,
                    timezone_override=None, protocol_rank=None, notes="", source="", legal_basis=None,
                    consent_date=None, review_date=None, user_id=None, emails=(), phones=(), tags=(),
                    today: date, exclude: int | None = None) -> dict:
    names = {field: _text(value, field, limit=200) for field, value in (
        ("family_name", family_name), ("given_name", given_name), ("family_name_local", family_name_local),
        ("given_name_local", given_name_local))}
    if not any(names.values()):
        raise PartnersError(_("Give the person's family or given name, in Latin or in their own script."),
                            "family_name")
    country_code = _country_code(country_code)
    city = None
    if city_id is not None:
        city = db.session.get(City, city_id)
        if city is None:
            raise PartnersError(_("No reference city has the id %(id)s.", id=city_id), "city_id")
        country_code = country_code or city.country_code
    timezone_override = _text(timezone_override, "timezone_override", limit=64) or None
    if timezone_override is not None and not valid_timezone(timezone_override):
        raise PartnersError(_("Unknown time zone %(tz)s.", tz=timezone_override), "timezone_override")
    if name_order is None or name_order == "":
        name_order = default_name_order(country_code=country_code, family_name_local=names["family_name_local"],
                                        given_name_local=names["given_name_local"])
    spoken = {language_tag(code, f"languages-{i}") for i, code in enumerate(languages or ()) if (code or "").strip()}
    preferred = language_tag(preferred_language) if (preferred_language or "").strip() else None
    if preferred is not None:
        spoken.add(preferred)  # one writes to people in a language they speak
    if protocol_rank is not None and protocol_rank != "":
        try:
            protocol_rank = int(protocol_rank)
        except (TypeError, ValueError):
            protocol_rank = 0
        if not 1 <= protocol_rank <= MAX_RANK:
            raise PartnersError(_("The protocol rank is a whole number from 1 (first) to %(max)d.", max=MAX_RANK),
                                "protocol_rank")
    else:
        protocol_rank = None
    legal_basis = _choice(LegalBasis, legal_basis, "legal_basis") if legal_basis else None
    _past(consent_date, "consent_date", today)
    if legal_basis == LegalBasis.CONSENT and consent_date is None:
        raise PartnersError(_("Give the date the person consented."), "consent_date")
    if review_date is not None and consent_date is not None and review_date < consent_date:
        raise PartnersError(_("The review date cannot come before the consent date (%(date)s).",
                              date=consent_date.isoformat()), "review_date")
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is None or user.role not in EXTERNAL_ROLES:
            raise PartnersError(_("Only a liaison's or a delegate's account can be a contact's own."), "user_id")
        query = select(Contact.id).where(Contact.user_id == user.id)
        if exclude is not None:
            query = query.where(Contact.id != exclude)
        if db.session.scalar(query.limit(1)) is not None:
            raise PartnersError(_("This account already belongs to another contact."), "user_id")
    # Numbers are read as dialled where the person is: their city's country, else their own.
    region = city.country_code if city is not None else country_code
    return {
        **names, "name_order": _choice(NameOrder, name_order, "name_order"),
        "honorific": _text(honorific, "honorific", limit=100), "title": _text(title, "title", limit=200),
        "country_code": country_code, "preferred_language": preferred, "city_id": city_id,
        "timezone_override": timezone_override, "protocol_rank": protocol_rank,
        "notes": _text(notes, "notes", limit=20000), "source": _text(source, "source", limit=500),
        "legal_basis": legal_basis, "consent_date": consent_date, "review_date": review_date, "user_id": user_id,
        "languages": sorted(spoken),  # in the relationship's order
        "emails": _reach(emails, key="address", list_name="emails", normalise=_email),
        "phones": _reach(phones, key="number", list_name="phones",
                         normalise=lambda raw, field: phone_e164(raw, region, field)),
        "tags": _tags(tags),
    }


def _contact_snapshot(contact: Contact) -> dict:
    return {**_snapshot(contact, *CONTACT_FIELDS), "languages": contact.language_codes,
            "emails": [e.address for e in contact.emails], "phones": [p.number for p in contact.phones],
            "tags": [t.name for t in contact.tags]}


def _apply(contact: Contact, values: dict) -> None:
    """Set a contact's fields; addresses, phones and languages already held keep their rows."""
    for name, value in values.items():
        if name not in ("languages", "emails", "phones", "tags"):
            setattr(contact, name, value)
    held = {language.code: language for language in contact.languages}
    contact.languages = [held.get(code) or ContactLanguage(code=code) for code in values["languages"]]
    for attr, model, key in (("emails", ContactEmail, "address"), ("phones", ContactPhone, "number")):
        held = {getattr(row, key): row for row in getattr(contact, attr)}
        rows = []
        for entry in values[attr]:
            row = held.get(entry[key]) or model(**{key: entry[key]})
            row.label, row.is_primary = entry["label"], entry["is_primary"]
            rows.append(row)
        setattr(contact, attr, rows)
    contact.tags = values["tags"]


def create_contact(*, actor, today: date | None = None, **fields) -> Contact:
    """Add a contact with their emails, phones, languages and tags (flushed, not committed).

    PartnersError names the field at fault: emails-0-address, phones-1-number, languages-0, …
    """
    values = _contact_values(**fields, today=today or local_today())
    contact = Contact()
    _apply(contact, values)
    db.session.add(contact)
    db.session.flush()
    audit.record("contact.create", actor=actor, object_type="contact", object_id=contact.id,
                 object_label=contact.display_name(), after=_contact_snapshot(contact))
    return contact


def _live_contact(contact_id: int, field: str | None = None) -> Contact:
    contact = _get(Contact, contact_id, field)
    if contact.erased_at is not None:
        raise PartnersError(_("This person's data has been erased."), field)
    return contact


def update_contact(*, contact_id: int, actor, today: date | None = None, **fields) -> Contact:
    """Replace a contact's fields, emails, phones, languages and tags with `fields`; audits what changed."""
    contact = _live_contact(contact_id)
    values = _contact_values(**fields, today=today or local_today(), exclude=contact.id)
    before = _contact_snapshot(contact)
    _apply(contact, values)
    db.session.flush()
    old, new = audit.changes(before, _contact_snapshot(contact))
    if new:
        audit.record("contact.update", actor=actor, object_type="contact", object_id=contact.id,
                     object_label=contact.display_name(), before=old, after=new)
    return contact


# -- positions -----------------------------------------------------------------------------------

POSITION_FIELDS = ("organisation_id", "title", "department", "started_on", "ended_on")


def add_position(*, contact_id: int, organisation_id: int, actor, title: str = "", department: str = "",
                 started_on: date | None = None, ended_on: date | None = None, end_current: bool = False,
                 today: date | None = None) -> Position:
    """Record a post the contact holds (or held, with `ended_on`).

    With `end_current`, the person has moved: their other current posts end on `started_on`, and stay in
    their history.
    """
    today = today or local_today()
    contact = _live_contact(contact_id, "contact_id")
    organisation = db.session.get(Organisation, organisation_id) if organisation_id is not None else None
    if organisation is None:
        raise PartnersError(_("No organisation has the id %(id)s.", id=organisation_id), "organisation_id")
    title = _text(title, "title", limit=300)
    department = _text(department, "department", limit=300)
    _past(ended_on, "ended_on", today)
    if ended_on is not None and started_on is not None and ended_on < started_on:
        raise PartnersError(_("A position cannot end before it starts (%(date)s).", date=started_on.isoformat()),
                            "ended_on")
    current = [p for p in contact.positions if p.ended_on is None]
    if ended_on is None and any(p.organisation_id == organisation.id and p.title == title for p in current):
        raise PartnersError(_("%(name)s already holds this position.", name=contact.display_name()), "title")
    if end_current and ended_on is None:
        if started_on is None:
            raise PartnersError(_("Give the date of the move: the previous positions end on it."), "started_on")
        for previous in current:
            if previous.started_on is not None and previous.started_on > started_on:
                raise PartnersError(_("The position at %(organisation)s started after this date (%(date)s).",
                                      organisation=previous.organisation.name,
                                      date=previous.started_on.isoformat()), "started_on")
        _past(started_on, "started_on", today)
        for previous in current:
            previous.ended_on = started_on
            audit.record("contact.position_end", actor=actor, object_type="contact", object_id=contact.id,
                         object_label=contact.display_name(),
                         after={"position_id": previous.id, "ended_on": started_on.isoformat()})
    position = Position(contact=contact, organisation=organisation, title=title, department=department,
                        started_on=started_on, ended_on=ended_on)
    db.session.add(position)
    db.session.flush()
    audit.record("contact.position_add", actor=actor, object_type="contact", object_id=contact.id,
                 object_label=contact.display_name(),
                 after={"position_id": position.id, **_snapshot(position, *POSITION_FIELDS)})
    return position


def end_position(*, position_id: int, ended_on: date, actor, today: date | None = None) -> Position:
    """End a current position on `ended_on` (not before it started, not in the future); it stays in the history."""
    today = today or local_today()
    position = _get(Position, position_id)
    if position.contact.erased_at is not None:
        raise PartnersError(_("This person's data has been erased."))
    if position.ended_on is not None:
        raise PartnersError(_("This position already ended on %(date)s.", date=position.ended_on.isoformat()),
                            "ended_on")
    if ended_on is None:
        raise PartnersError(_("This field is required."), "ended_on")
    if position.started_on is not None and ended_on < position.started_on:
        raise PartnersError(_("A position cannot end before it starts (%(date)s).",
                              date=position.started_on.isoformat()), "ended_on")
    _past(ended_on, "ended_on", today)
    position.ended_on = ended_on
    db.session.flush()
    audit.record("contact.position_end", actor=actor, object_type="contact", object_id=position.contact_id,
                 object_label=position.contact.display_name(),
                 after={"position_id": position.id, "ended_on": ended_on.isoformat()})
    return position


# -- interactions and follow-ups -------------------------------------------------------------------


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise PartnersError(_("%(value)s is not an amount; write it as 15000 or 120.50.", value=value), field)
    if amount < 0:
        raise PartnersError(_("A value cannot be negative."), field)
    if amount > MAX_GIFT_VALUE or amount != amount.quantize(Decimal("0.01")):
        raise PartnersError(_("%(value)s is not an amount; write it as 15000 or 120.50.", value=value), field)
    return amount.quantize(Decimal("0.01"))


def _currency(code, field: str) -> str:
    code = (code or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise PartnersError(_("%(code)s is not an ISO 4217 currency code (JPY, EUR, USD…).",
                              code=code or "—"), field)
    return code


def _staff(user_ids, field: str) -> list[User]:
    users = []
    for user_id in dict.fromkeys(user_ids or ()):
        user = db.session.get(User, user_id)
        if user is None or not user.is_staff or not user.active:
            raise PartnersError(_("Account %(id)s is not an active staff account.", id=user_id), field)
        users.append(user)
    return users


INTERACTION_FIELDS = ("kind", "occurred_on", "subject", "notes", "gift_description", "gift_value", "gift_currency")


def _interaction_values(*, kind, occurred_on: date, subject: str, notes: str = "", contact_ids=(), staff_ids=(),
                        organisation_ids=(), gift_description: str | None = None, gift_value=None,
                        gift_currency: str | None = None, today: date, kept_contacts: frozenset[int] = frozenset(),
                        ) -> dict:
    """Every rule of a logged interaction's fields and participants, checked before anything is written.

    At least one contact or organisation takes part; gift details go with gifts only, and a value needs its
    currency. A contact erased since stays among the participants of an interaction they were in
    (`kept_contacts`): the log keeps that they took part.
    """
    kind = _choice(InteractionKind, kind, "kind")
    if occurred_on is None:
        raise PartnersError(_("This field is required."), "occurred_on")
    _past(occurred_on, "occurred_on", today)
    gift = {"gift_description": (gift_description or "").strip(), "gift_value": gift_value,
            "gift_currency": (gift_currency or "").strip()}
    if not kind.is_gift:
        for field, value in gift.items():
            if value not in (None, ""):
                raise PartnersError(_("Gift details go only with a gift given or received."), field)
        gift = {field: None for field in gift}
    else:
        gift["gift_description"] = _text(gift["gift_description"], "gift_description", limit=500, required=True)
        if gift["gift_value"] not in (None, ""):
            gift["gift_value"] = _money(gift["gift_value"], "gift_value")
            gift["gift_currency"] = _currency(gift["gift_currency"], "gift_currency")
        else:
            gift["gift_value"] = None
            gift["gift_currency"] = _currency(gift["gift_currency"], "gift_currency") if gift["gift_currency"] else None
    contacts = []
    for contact_id in dict.fromkeys(contact_ids or ()):
        contact = db.session.get(Contact, contact_id)
        if contact is None or (contact.erased_at is not None and contact.id not in kept_contacts):
            raise PartnersError(_("No contact has the id %(id)s.", id=contact_id), "contact_ids")
        contacts.append(contact)
    organisations = []
    for organisation_id in dict.fromkeys(organisation_ids or ()):
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None:
            raise PartnersError(_("No organisation has the id %(id)s.", id=organisation_id), "organisation_ids")
        organisations.append(organisation)
    if not contacts and not organisations:
        raise PartnersError(_("Name at least one contact or organisation who took part."), "contact_ids")
    return {"kind": kind, "occurred_on": occurred_on, "subject": _text(subject, "subject", limit=300, required=True),
            "notes": _text(notes, "notes", limit=20000), **gift, "contacts": contacts,
            "staff": _staff(staff_ids, "staff_ids"), "organisations": organisations}


def _interaction_snapshot(interaction: Interaction) -> dict:
    return {**_snapshot(interaction, *INTERACTION_FIELDS),
            "contact_ids": [c.id for c in interaction.contacts], "staff_ids": [u.id for u in interaction.staff],
            "organisation_ids": [o.id for o in interaction.organisations]}


def add_interaction(*, actor, today: date | None = None, **fields) -> Interaction:
    """Log a visit, call, meeting, letter, email or gift that happened (flushed, not committed)."""
    values = _interaction_values(**fields, today=today or local_today())
    interaction = Interaction(**values, created_by_id=_id(actor))
    db.session.add(interaction)
    db.session.flush()
    audit.record("interaction.create", actor=actor, object_type="interaction", object_id=interaction.id,
                 object_label=interaction.subject, after=_interaction_snapshot(interaction))
    return interaction


def update_interaction(*, interaction_id: int, actor, today: date | None = None, **fields) -> Interaction:
    """Replace a logged interaction's fields and participants (flushed, not committed), with add_interaction's
    rules; its follow-ups stay as they are, so it may not move after one of them falls due. Audits what changed."""
    interaction = _get(Interaction, interaction_id)
    values = _interaction_values(**fields, today=today or local_today(),
                                 kept_contacts=frozenset(c.id for c in interaction.contacts))
    late = [f for f in interaction.follow_ups if f.due_on < values["occurred_on"]]
    if late:
        raise PartnersError(_("A follow-up is due on %(date)s, before this date; change it first.",
                              date=late[0].due_on.isoformat()), "occurred_on")
    before = _interaction_snapshot(interaction)
    values["contacts"] = sorted(values["contacts"], key=lambda c: c.id)  # in the relationships' order
    values["staff"] = sorted(values["staff"], key=lambda u: u.id)
    values["organisations"] = sorted(values["organisations"], key=lambda o: o.name)
    for field, value in values.items():
        setattr(interaction, field, value)
    db.session.flush()
    old, new = audit.changes(before, _interaction_snapshot(interaction))
    if new:
        audit.record("interaction.update", actor=actor, object_type="interaction", object_id=interaction.id,
                     object_label=interaction.subject, before=old, after=new)
    return interaction


def add_follow_up(*, interaction_id: int, owner_id: int, due_on: date, text: str, actor) -> FollowUp:
    """Give a staff member something to do after an interaction, by `due_on` (not before the interaction)."""
    interaction = _get(Interaction, interaction_id)
    owner = _staff([owner_id], "owner_id")[0]
    if due_on is None:
        raise PartnersError(_("This field is required."), "due_on")
    if due_on < interaction.occurred_on:
        raise PartnersError(_("A follow-up cannot be due before the interaction (%(date)s).",
                              date=interaction.occurred_on.isoformat()), "due_on")
    follow_up = FollowUp(interaction=interaction, owner=owner, due_on=due_on,
                         text=_text(text, "text", limit=2000, required=True))
    db.session.add(follow_up)
    db.session.flush()
    audit.record("follow_up.create", actor=actor, object_type="interaction", object_id=interaction.id,
                 object_label=interaction.subject,
                 after={"follow_up_id": follow_up.id, "owner_id": owner.id, "due_on": due_on.isoformat()})
    return follow_up


def complete_follow_up(*, follow_up_id: int, actor, now: datetime | None = None) -> FollowUp:
    """Mark a follow-up done (once: a second time is refused); it gets no more reminders."""
    follow_up = _get(FollowUp, follow_up_id)
    if follow_up.done_at is not None:
        raise PartnersError(_("This follow-up is already done."))
    follow_up.done_at = now or utcnow()
    db.session.flush()
    audit.record("follow_up.done", actor=actor, object_type="interaction", object_id=follow_up.interaction_id,
                 object_label=follow_up.interaction.subject, after={"follow_up_id": follow_up.id})
    return follow_up


def due_follow_ups(today: date, *, unreminded_only: bool = False) -> list[FollowUp]:
    """Open follow-ups due on or before `today`, oldest first, with their interaction and owner loaded.

    `unreminded_only` leaves out those already reminded: what a daily reminder task sends.
    """
    query = (select(FollowUp).where(FollowUp.done_at.is_(None), FollowUp.due_on <= today)
             .options(selectinload(FollowUp.interaction), selectinload(FollowUp.owner))
             .order_by(FollowUp.due_on, FollowUp.id))
    if unreminded_only:
        query = query.where(FollowUp.reminded_at.is_(None))
    return list(db.session.scalars(query))


# -- what a page needs to change a contact, tags in bulk, saved searches ----------------------------


def contact_fields(contact: Contact) -> dict:
    """A contact's values as create_contact and update_contact take them: change some, pass them all back."""
    fields = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    for name in ("name_order", "legal_basis"):
        fields[name] = fields[name].value if fields[name] is not None else None
    fields["languages"] = contact.language_codes
    fields["emails"] = [{"address": e.address, "label": e.label, "primary": e.is_primary} for e in contact.emails]
    fields["phones"] = [{"number": p.number, "label": p.label, "primary": p.is_primary} for p in contact.phones]
    fields["tags"] = [t.name for t in contact.tags]
    return fields


def tag_contacts(*, contact_ids, tag: str, actor, remove: bool = False) -> int:
    """Add the tag `tag` to every contact of `contact_ids` (or take it off with `remove`); returns how many
    changed. Erased people and ids that no longer exist are refused before anything changes."""
    name = " ".join(_text(tag, "tag", limit=64, required=True).split())
    ids = list(dict.fromkeys(contact_ids or ()))
    if not ids:
        raise PartnersError(_("Choose at least one contact."), "contact_ids")
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(ids))
                                                    .options(selectinload(Contact.tags)))}
    for contact_id in ids:
        if contact_id not in contacts or contacts[contact_id].erased_at is not None:
            raise PartnersError(_("No contact has the id %(id)s.", id=contact_id), "contact_ids")
    if remove:
        found = db.session.scalar(select(Tag).where(Tag.key == name.casefold()))
        if found is None:
            return 0
    else:
        found = _tags([name])[0]
    changed = 0
    for contact_id in ids:
        contact = contacts[contact_id]
        before = [t.name for t in contact.tags]
        if remove and found in contact.tags:
            contact.tags = [t for t in contact.tags if t is not found]
        elif not remove and found not in contact.tags:
            contact.tags = sorted([*contact.tags, found], key=lambda t: t.key)
        else:
            continue
        changed += 1
        audit.record("contact.update", actor=actor, object_type="contact", object_id=contact.id,
                     object_label=contact.display_name(), before={"tags": before},
                     after={"tags": [t.name for t in contact.tags]})
    db.session.flush()
    return changed


def save_search(*, user_id: int, name: str, query: str) -> SavedSearch:
    """Keep `query` (the list's query string) under `name` for the user; the same name again replaces it."""
    name = _text(name, "name", limit=100, required=True)
    query = _text(query, "name", limit=2000)
    saved = db.session.scalar(select(SavedSearch).where(SavedSearch.user_id == user_id, SavedSearch.name == name))
    if saved is None:
        saved = SavedSearch(user_id=user_id, name=name)
        db.session.add(saved)
    saved.query = query
    db.session.flush()
    return saved


def delete_saved_search(*, saved_search_id: int, user_id: int) -> None:
    """Delete one of the user's own saved searches; another user's is as good as missing."""
    saved = db.session.get(SavedSearch, saved_search_id)
    if saved is None or saved.user_id != user_id:
        raise PartnersError(_("It no longer exists; reload the page."))
    db.session.delete(saved)
    db.session.flush()


# -- external accounts -----------------------------------------------------------------------------


def account_binding(contact: Contact) -> tuple[Role, dict] | None:
    """The external account a contact's current post entitles them to: (liaison, embassy) when their
    organisation is linked to a mission, (delegate, partner) when linked to a partner city; else None."""
    for position in contact.current_positions:
        organisation = position.organisation
        if organisation.embassy_id is not None:
            return Role.LIAISON, {"embassy_id": organisation.embassy_id}
        if organisation.partner_id is not None:
            return Role.DELEGATE, {"partner_id": organisation.partner_id}
    return None


def invite_contact(*, contact_id: int, actor) -> User:
    """Give a contact an external account and queue its invitation, in the contact's preferred language
    where Kizuna speaks it (else English); links the account to the contact. Flushed, not committed.

    PartnersError when the person is erased, already has an account, has no email address or no current
    post at an organisation linked to an embassy or a partner city.
    """
    contact = _live_contact(contact_id)
    if contact.user_id is not None:
        raise PartnersError(_("%(name)s already has an account.", name=contact.display_name()))
    binding = account_binding(contact)
    if binding is None:
        raise PartnersError(_("Only a person with a current position at an organisation linked to an embassy "
                              "or a partner city can have an account; add that position first."))
    if contact.primary_email is None:
        raise PartnersError(_("Give %(name)s an email address first: the invitation goes to it.",
                              name=contact.display_name()))
    role, bound_to = binding
    language = primary_language(contact.preferred_language)
    zone = contact.timezone if contact.timezone and valid_timezone(contact.timezone) else None
    try:
        user = accounts.invite_user(email=contact.primary_email, role=role, actor=actor,
                                    name=contact.display_name()[:200],
                                    language=language if language in LANGUAGES else "en", timezone=zone,
                                    **bound_to)
    except accounts.AccountError as exc:
        raise PartnersError(str(exc)) from None
    contact.user_id = user.id
    db.session.flush()
    audit.record("contact.update", actor=actor, object_type="contact", object_id=contact.id,
                 object_label=contact.display_name(), before={"user_id": None}, after={"user_id": user.id})
    return user


# What liaisons and delegates change of their own record; the rest stays the office's.
OWN_PROFILE_FIELDS = ("family_name", "given_name", "family_name_local", "given_name_local", "emails", "phones",
                      "languages", "preferred_language")


def own_contact(user) -> Contact | None:
    """The contact record of an external account, if the office has linked one (never an erased one)."""
    if user is None or user.role not in EXTERNAL_ROLES:
        return None
    return db.session.scalar(select(Contact).where(Contact.user_id == user.id, Contact.erased_at.is_(None)))


def update_own_profile(*, user, today: date | None = None, **fields) -> Contact:
    """A liaison or a delegate changes their own names, emails, phones and languages (OWN_PROFILE_FIELDS);
    everything else of the record stays as the office keeps it. PartnersError at the field at fault."""
    unknown = set(fields) - set(OWN_PROFILE_FIELDS)
    if unknown:
        raise PartnersError(_("These fields are kept by the office: %(fields)s.",
                              fields=", ".join(sorted(unknown))), sorted(unknown)[0])
    contact = own_contact(user)
    if contact is None:
        raise PartnersError(_("No contact record is linked to your account."))
    return update_contact(contact_id=contact.id, actor=user, today=today, **{**contact_fields(contact), **fields})
