"""Reads and verbs of the network registry: reference geography, partners, agreements, embassies, networks."""

from __future__ import annotations

import calendar
import enum
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, select

from kizuna import audit
from kizuna.errors import DomainError
from kizuna.extensions import db
from kizuna.i18n import home_timezone
from kizuna.mail import normalize_address

from .models import (
    Agreement,
    AgreementKind,
    City,
    CityName,
    CityNetwork,
    CooperationArea,
    Country,
    DatePrecision,
    Embassy,
    EmbassyStatus,
    EmbassyStatusChange,
    HomeMembership,
    MissionType,
    NetworkEvent,
    NetworkMember,
    NetworkRole,
    Partner,
    PartnerKind,
    Relationship,
    RelationshipKind,
    RelationshipStatus,
    RelationshipStatusChange,
    Signatory,
    Subdivision,
    Succession,
)
from .reference import fold

MAX_QUERY = 200  # characters of a city search; names are at most 200
# Above every code point, so that key <= x < key + TOP selects exactly the strings starting with key.
TOP = "\U0010ffff"


def search_cities(q: str, *, country: str | None = None, limit: int = 20) -> list[City]:
    """Cities whose name starts with `q` (case- and accent-insensitive), largest first, each once.

    First the cities whose own name starts with `q` or that another name calls exactly `q` ('Pékin'
    finds Beijing before Pekin, Illinois); then, to fill `limit`, those that another name of starts with
    `q`, so that a city's many foreign names do not push it before the cities the reader means.
    """
    key = fold(q)
    if not key:
        return []
    # Both descending, so that the indexes by (population, id) serve the order read backwards.
    cities = select(City).order_by(City.population.desc(), City.id.desc()).limit(limit)
    if country:
        cities = cities.where(City.country_code == country.upper())
    # No "and not by its own name" in SQL: PostgreSQL turns that negated range into an index scan of
    # everything outside it. A city found twice is dropped here instead.
    found = {c.id: c for c in db.session.scalars(
        cities.where(City.search_key >= key, City.search_key < key + TOP))}
    found |= {c.id: c for c in db.session.scalars(
        cities.where(City.id.in_(select(CityName.city_id).where(CityName.search_key == key))))}
    first = sorted(found.values(), key=lambda city: (city.population, city.id), reverse=True)[:limit]
    if len(first) == limit:
        return first
    # Fewer than `limit` found, so `first` holds every city whose own name starts with the key.
    other_name = select(CityName.city_id).where(CityName.search_key >= key, CityName.search_key < key + TOP)
    if first:
        other_name = other_name.where(CityName.city_id.not_in([c.id for c in first]))
    return first + list(db.session.scalars(cities.where(City.id.in_(other_name)).limit(limit - len(first))))


def countries() -> list[Country]:
    return list(db.session.scalars(select(Country).order_by(Country.name_en)))


def find_country(code: str) -> Country | None:
    """The country with this ISO 3166-1 alpha-2 code (any case), if there is one."""
    code = code.strip().upper()
    return db.session.get(Country, code) if len(code) == 2 and code.isalpha() else None


def resolve_city(spec: str) -> City | None:
    """A city from a GeoNames id ('1850147') or 'Name, CC' ('Tokyo, JP', '東京, JP'): the most populous
    city of that country called so, by its own name first, else by another name."""
    spec = spec.strip()
    if spec.isdigit():
        return db.session.get(City, int(spec))
    name, _, country = spec.rpartition(",")
    key, in_country = fold(name), select(City).where(City.country_code == country.strip().upper())
    largest = (City.population.desc(), City.id.desc())
    return (db.session.scalar(in_country.where(City.search_key == key).order_by(*largest).limit(1))
            or db.session.scalar(in_country.where(City.id.in_(select(CityName.city_id)
                                                              .where(CityName.search_key == key)))
                                 .order_by(*largest).limit(1)))


def home_city() -> City | None:
    """The city configured as HOME_CITY, once reference data is loaded."""
    cache = current_app.extensions.setdefault("network.home_city_id", {})
    if "id" in cache:
        return db.session.get(City, cache["id"])
    city = resolve_city(current_app.config["HOME_CITY"])
    if city is not None:
        cache["id"] = city.id
    return city


def city_json(city: City, language: str = "en") -> dict:
    return {"id": city.id, "name": city.name, "country": city.country_code,
            "country_name": city.country.name(language), "admin1": city.admin1_code,
            "latitude": city.latitude, "longitude": city.longitude, "population": city.population,
            "timezone": city.timezone, "label": city.label(language)}


# -- the registry: partners, relationships, agreements, embassies, city networks ----------------


PARTIAL_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?$")


class NetworkError(DomainError):
    """A registry change was refused; the message says why, and `field` names the input at fault."""


def local_today() -> date:
    """Today in the home city's zone: the day against which 'in the future' and expiry are judged."""
    return datetime.now(ZoneInfo(home_timezone())).date()


def _text(value: str | None, field: str, *, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise NetworkError(_("This field is required."), field)
    if len(value) > limit:
        raise NetworkError(_("At most %(n)d characters.", n=limit), field)
    return value


def _past(day: date | None, field: str, today: date) -> date | None:
    if day is not None and day > today:
        raise NetworkError(_("%(date)s is in the future; this date must be today or earlier.",
                             date=day.isoformat()), field)
    return day


def parse_partial_date(text: str, field: str) -> tuple[date | None, DatePrecision]:
    """'1960-02-29', '1960/2/29', '2017-10' (a month) or '2006' (a year); NetworkError naming `field` otherwise."""
    text = text.strip()
    if not text:
        return None, DatePrecision.DAY
    match = PARTIAL_DATE.match(text)
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(g) if g else None for g in match.groups())
        value = date(year, month or 1, day or 1)
    except ValueError:
        raise NetworkError(_("\"%(value)s\" is not a date (write 2024-05-14, 2024-05 or 2024).",
                             value=text), field) from None
    return value, DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR


def _start_of(day: date | None, precision: DatePrecision) -> date | None:
    """A month-precision date is kept as the month's first day, a year-precision one as 1 January."""
    if day is None or precision == DatePrecision.DAY:
        return day
    return day.replace(month=1 if precision == DatePrecision.YEAR else day.month, day=1)


def _choice(enum_type: type[enum.Enum], value, field: str, message: str | None = None):
    """`value` as a member of `enum_type`, or a NetworkError at `field`: `message`, or a list of what it may be."""
    try:
        return enum_type(value)
    except ValueError:
        raise NetworkError(message or _("%(value)s is not one of: %(choices)s.", value=value,
                                        choices=", ".join(m.value for m in enum_type)), field) from None


def _country(code: str, field: str = "country_code") -> Country:
    country = find_country(code or "")
    if country is None:
        raise NetworkError(_("%(code)s is not an ISO 3166 country code.", code=code or "—"), field)
    return country


def _snapshot(obj, *names: str) -> dict:
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, date) else (
            value.value if isinstance(value, enum.Enum) else value)
    return out


PARTNER_FIELDS = ("kind", "name", "local_name", "name_ja", "country_code", "city_id", "subdivision_code",
                  "website", "notes", "is_sample")


def _partner_values(*, kind, name, country_code, local_name=None, name_ja=None, city_id=None,
                    subdivision_code=None, website=None, notes="", is_sample=False) -> dict:
    kind = _choice(PartnerKind, kind, "kind", _("Choose city, sub-national government or public body."))
    country = _country(country_code)
    if city_id is not None:
        city = db.session.get(City, city_id)
        if city is None:
            raise NetworkError(_("No reference city has the id %(id)s.", id=city_id), "city_id")
        if city.country_code != country.code:
            raise NetworkError(_("%(city)s is in %(other)s, not in %(country)s.", city=city.name,
                                 other=city.country_code, country=country.code), "city_id")
    if subdivision_code:
        sub = db.session.get(Subdivision, subdivision_code.strip().upper())
        if sub is None or sub.country_code != country.code:
            raise NetworkError(_("%(code)s is not a subdivision of %(country)s.", code=subdivision_code,
                                 country=country.code), "subdivision_code")
        subdivision_code = sub.code
    return {"kind": kind, "name": _text(name, "name", limit=200, required=True),
            "local_name": _text(local_name, "local_name", limit=200) or None,
            "name_ja": _text(name_ja, "name_ja", limit=200) or None, "country_code": country.code,
            "city_id": city_id, "subdivision_code": subdivision_code or None,
            "website": _text(website, "website", limit=500) or None, "notes": _text(notes, "notes", limit=20000),
            "is_sample": bool(is_sample)}


def _check_unique_partner(values: dict, exclude: int | None = None) -> None:
    query = select(Partner).where(Partner.country_code == values["country_code"], Partner.kind == values["kind"],
                                  Partner.search_key == fold(values["name"]))
    if exclude is not None:
        query = query.where(Partner.id != exclude)
    if db.session.scalar(query.limit(1)) is not None:
        raise NetworkError(_("%(name)s (%(country)s) is already in the registry.", name=values["name"],
                             country=values["country_code"]), "name")


def create_partner(*, actor, **fields) -> Partner:
    """Register a partner government (flushed, not committed); NetworkError on bad or duplicate input."""
    values = _partner_values(**fields)
    _check_unique_partner(values)
    partner = Partner(**values, search_key=fold(values["name"]))
    db.session.add(partner)
    db.session.flush()
    audit.record("partner.create", actor=actor, object_type="partner", object_id=partner.id,
                 object_label=partner.name, after=_snapshot(partner, *PARTNER_FIELDS))
    return partner


def create_partners(*, rows: list[dict], actor) -> tuple[list[Partner], dict[int, NetworkError]]:
    """create_partner for many rows at once (an import): the same checks, duplicates found in one query,
    one flush. Returns the partners, or, by row index, the refusals; nothing is added when any is refused."""
    values: list[dict | None] = []
    errors: dict[int, NetworkError] = {}
    for index, fields in enumerate(rows):
        try:
            values.append(_partner_values(**fields))
        except NetworkError as exc:
            errors[index] = exc
            values.append(None)
    key = lambda v: (v["country_code"], v["kind"], fold(v["name"]))  # noqa: E731
    wanted = {key(v): i for i, v in reversed(list(enumerate(values))) if v}
    taken = {tuple(row) for row in db.session.execute(
        select(Partner.country_code, Partner.kind, Partner.search_key)
        .where(Partner.search_key.in_({k[2] for k in wanted})))}
    for index, v in enumerate(values):
        if v and (key(v) in taken or wanted[key(v)] != index):
            errors[index] = NetworkError(_("%(name)s (%(country)s) is already in the registry.", name=v["name"],
                                           country=v["country_code"]), "name")
    if errors:
        return [], errors
    partners = [Partner(**v, search_key=fold(v["name"])) for v in values]
    db.session.add_all(partners)
    db.session.flush()
    for partner in partners:
        audit.record("partner.create", actor=actor, object_type="partner", object_id=partner.id,
                     object_label=partner.name, after=_snapshot(partner, *PARTNER_FIELDS))
    db.session.flush()
    return partners, {}


def update_partner(*, partner_id: int, actor, **fields) -> Partner:
    partner = _get(Partner, partner_id)
    values = _partner_values(**fields)
    _check_unique_partner(values, exclude=partner.id)
    before = _snapshot(partner, *PARTNER_FIELDS)
    for name, value in values.items():
        setattr(partner, name, value)
    partner.search_key = fold(partner.name)
    old, new = audit.changes(before, _snapshot(partner, *PARTNER_FIELDS))
    if new:
        audit.record("partner.update", actor=actor, object_type="partner", object_id=partner.id,
                     object_label=partner.name, before=old, after=new)
    return partner


def _get(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NetworkError(_("It no longer exists; reload the page."))
    return obj


def add_relationship(*, partner_id: int, kind, started_on: date, actor,
                     started_precision=DatePrecision.DAY, status=RelationshipStatus.ACTIVE,
                     status_since: date | None = None, reason: str = "", source: str = "", notes: str = "",
                     is_sample: bool = False, today: date | None = None) -> Relationship:
    """Record a tie with a partner and its first status; one live tie of a kind per partner."""
    today = today or local_today()
    partner = _get(Partner, partner_id)
    kind = _choice(RelationshipKind, kind, "kind")
    status = _choice(RelationshipStatus, status, "status")
    started_precision = _choice(DatePrecision, started_precision, "started_precision")
    if started_on is None:
        raise NetworkError(_("Give the date the relationship began (a month or a year will do)."), "started_on")
    started_on = _start_of(started_on, started_precision)
    _past(started_on, "started_on", today)
    if status_since is not None and status_since < started_on:
        raise NetworkError(_("The status cannot change before the relationship began."), "status_since")
    _past(status_since, "status_since", today)
    live = db.session.scalar(select(Relationship).where(
        Relationship.partner_id == partner.id, Relationship.kind == kind,
        Relationship.status != RelationshipStatus.ENDED).limit(1))
    if live is not None:
        raise NetworkError(_("%(partner)s already has this kind of relationship; change its status instead.",
                             partner=partner.name), "kind")
    relationship = Relationship(
        partner=partner, kind=kind, started_on=started_on, started_precision=started_precision, status=status,
        status_since=status_since if status != RelationshipStatus.ACTIVE else None,
        ended_on=status_since if status == RelationshipStatus.ENDED else None,
        source=_text(source, "source", limit=5000), notes=_text(notes, "notes", limit=20000), is_sample=is_sample)
    db.session.add(relationship)
    relationship.history.append(RelationshipStatusChange(
        status=RelationshipStatus.ACTIVE, effective_on=started_on, reason="", recorded_by_id=_id(actor)))
    if status != RelationshipStatus.ACTIVE:
        relationship.history.append(RelationshipStatusChange(
            status=status, effective_on=status_since or started_on, reason=_text(reason, "reason", limit=2000),
            recorded_by_id=_id(actor)))
    db.session.flush()
    audit.record("relationship.create", actor=actor, object_type="relationship", object_id=relationship.id,
                 object_label=partner.name,
                 after=_snapshot(relationship, "kind", "started_on", "started_precision", "status", "status_since"))
    return relationship


def _id(actor) -> int | None:
    return actor.id if actor is not None else None


def change_relationship_status(*, relationship_id: int, status, effective_on: date, reason: str, actor,
                               today: date | None = None) -> Relationship:
    """Suspend, resume, mark dormant or end a relationship; the change and its reason join the history.

    An ended relationship stays ended (a new tie is a new relationship); nothing is ever deleted.
    """
    today = today or local_today()
    relationship = _get(Relationship, relationship_id)
    status = _choice(RelationshipStatus, status, "status", _("Unknown status."))
    if relationship.status == RelationshipStatus.ENDED:
        raise NetworkError(_("This relationship has ended; record a new relationship instead."), "status")
    if status == relationship.status:
        raise NetworkError(_("The relationship already has this status."), "status")
    if effective_on is None:
        raise NetworkError(_("This field is required."), "effective_on")
    _past(effective_on, "effective_on", today)
    last = max((c.effective_on for c in relationship.history), default=relationship.started_on)
    if effective_on < last:
        raise NetworkError(_("The change cannot precede the last recorded one (%(date)s).",
                             date=last.isoformat()), "effective_on")
    reason = _text(reason, "reason", limit=2000, required=status != RelationshipStatus.ACTIVE)
    before = _snapshot(relationship, "status", "status_since")
    relationship.status = status
    relationship.status_since = None if status == RelationshipStatus.ACTIVE else effective_on
    if status == RelationshipStatus.ENDED:
        relationship.ended_on = effective_on
    relationship.history.append(RelationshipStatusChange(status=status, effective_on=effective_on, reason=reason,
                                                         recorded_by_id=_id(actor)))
    db.session.flush()
    audit.record("relationship.status", actor=actor, object_type="relationship", object_id=relationship.id,
                 object_label=relationship.partner.name, before=before,
                 after={**_snapshot(relationship, "status", "status_since"), "reason": reason})
    return relationship


RELATIONSHIP_FIELDS = ("kind", "started_on", "started_precision", "source", "notes")


def update_relationship(*, relationship_id: int, kind, started_on: date | None, actor,
                        started_precision=DatePrecision.DAY, source: str = "", notes: str = "",
                        today: date | None = None) -> Relationship:
    """Correct the record of a relationship: its kind, its start date and that date's precision, its source and
    notes (flushed, not committed). Not a change of status, which keeps its own dated history: the opening entry
    of that history moves with the start, the later entries stay. NetworkError, naming the field, when the start
    is missing, in the future or after the first change of status, or when the partner has another live tie of
    that kind; nothing is changed then."""
    today = today or local_today()
    relationship = _get(Relationship, relationship_id)
    kind = _choice(RelationshipKind, kind, "kind")
    started_precision = _choice(DatePrecision, started_precision, "started_precision")
    if started_on is None:
        raise NetworkError(_("Give the date the relationship began (a month or a year will do)."), "started_on")
    started_on = _past(_start_of(started_on, started_precision), "started_on", today)
    history = list(relationship.history)
    # add_relationship opens the history with "active" on the start date: that entry is the start itself.
    opening = history[0] if history and history[0].status == RelationshipStatus.ACTIVE \
        and history[0].effective_on == relationship.started_on else None
    changes = [c for c in history if c is not opening]
    first = min((c.effective_on for c in changes), default=None)
    if first is not None and started_on > first:
        raise NetworkError(_("The relationship cannot begin after its first change of status (%(date)s).",
                             date=first.isoformat()), "started_on")
    if relationship.status != RelationshipStatus.ENDED and db.session.scalar(select(Relationship).where(
            Relationship.partner_id == relationship.partner_id, Relationship.kind == kind,
            Relationship.id != relationship.id, Relationship.status != RelationshipStatus.ENDED).limit(1)):
        raise NetworkError(_("%(partner)s already has another live relationship of this kind.",
                             partner=relationship.partner.name), "kind")
    source, notes = _text(source, "source", limit=5000), _text(notes, "notes", limit=20000)
    before = _snapshot(relationship, *RELATIONSHIP_FIELDS)
    relationship.kind, relationship.started_on, relationship.started_precision = kind, started_on, started_precision
    relationship.source, relationship.notes = source, notes
    if opening is not None:
        opening.effective_on = started_on
    db.session.flush()
    old, new = audit.changes(before, _snapshot(relationship, *RELATIONSHIP_FIELDS))
    if new:
        audit.record("relationship.update", actor=actor, object_type="relationship", object_id=relationship.id,
                     object_label=relationship.partner.name, before=old, after=new)
    return relationship


def anniversary_of(start: date, year: int) -> date:
    """The day a tie begun on `start` is celebrated in `year`: 29 February falls on the 28th otherwise."""
    try:
        return start.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


# Agreements ----------------------------------------------------------------------------------

# The built-in cooperation areas (decarbonisation, digital, …) are data: migration b7e1a2c3d4f5.
REMINDER_DAYS = (90, 30, 7)  # before an agreement expires, staff are told
EXPIRY_TASK = "network.send_expiry_reminders"


def add_area(*, name_en: str, name_ja: str = "", actor) -> CooperationArea:
    """A staff-defined cooperation area; its code is made from the English name."""
    name_en = _text(name_en, "name_en", limit=200, required=True)
    code = "_".join(fold(name_en).replace("-", " ").split())[:64]
    if db.session.scalar(select(CooperationArea).where(CooperationArea.code == code)) is not None:
        raise NetworkError(_("The area %(name)s exists already.", name=name_en), "name_en")
    area = CooperationArea(code=code, name_en=name_en, name_ja=_text(name_ja, "name_ja", limit=200) or None)
    db.session.add(area)
    db.session.flush()
    audit.record("area.create", actor=actor, object_type="cooperation_area", object_id=area.id,
                 object_label=name_en)
    return area


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


AGREEMENT_FIELDS = ("title", "title_local", "kind", "signed_on", "signed_precision", "term_months", "expires_on",
                    "succession", "summary", "source", "notes")


def _agreement_values(*, title: str, kind, party_ids: list[int], signed_on: date | None = None,
                      signed_precision=DatePrecision.DAY, title_local: str = "", term_months: int | None = None,
                      expires_on: date | None = None, area_codes: tuple[str, ...] = (),
                      signatories: tuple[tuple[int | None, str, str], ...] = (), previous_id: int | None = None,
                      succession=None, summary: str = "", source: str = "", notes: str = "",
                      today: date, editing: Agreement | None = None) -> tuple[dict, list[Signatory]]:
    """The checked attributes of an agreement and its signatories, for create_agreement and update_agreement
    alike; `editing` is the agreement being changed (it may follow neither itself nor a later agreement)."""
    kind = _choice(AgreementKind, kind, "kind")
    signed_precision = _choice(DatePrecision, signed_precision, "signed_precision")
    succession = _choice(Succession, succession, "succession") if succession else None
    if not party_ids:
        raise NetworkError(_("An agreement needs at least one partner."), "party_ids")
    parties = [db.session.get(Partner, pid) for pid in dict.fromkeys(party_ids)]
    if unknown := [str(pid) for pid, p in zip(dict.fromkeys(party_ids), parties, strict=True) if p is None]:
        raise NetworkError(_("No partner has the id %(ids)s; reload the page and choose again.",
                             ids=", ".join(unknown)), "party_ids")
    _past(signed_on, "signed_on", today)
    if term_months is not None and not 0 < term_months <= 1200:
        raise NetworkError(_("The term is a number of months between 1 and 1200."), "term_months")
    signed_on = _start_of(signed_on, signed_precision)
    if expires_on is None and term_months and signed_on:
        expires_on = add_months(signed_on, term_months)
    if expires_on is not None and signed_on is not None and expires_on <= signed_on:
        raise NetworkError(_("An agreement cannot expire before it is signed."), "expires_on")
    previous = None
    if previous_id is not None:
        previous = _get(Agreement, previous_id)
        if editing is not None and _follows(previous, editing):
            raise NetworkError(_("An agreement cannot renew or revise itself or an agreement that follows it."),
                               "previous_id")
        if not {p.id for p in previous.parties} & {p.id for p in parties}:
            raise NetworkError(_("A renewal or revision shares at least one partner with the agreement it "
                                 "follows."), "previous_id")
        if previous.signed_on and signed_on and signed_on < previous.signed_on:
            raise NetworkError(_("A renewal or revision cannot be signed before the agreement it follows."),
                               "signed_on")
        succession = succession or Succession.RENEWAL
    elif succession is not None:
        raise NetworkError(_("Choose the agreement this one renews or revises."), "previous_id")
    if editing is not None and signed_on is not None:
        if any(s.signed_on and s.signed_on < signed_on for s in editing.successors):
            raise NetworkError(_("An agreement cannot be signed after an agreement that renews or revises it."),
                               "signed_on")
        if editing.terminated_on is not None and editing.terminated_on < signed_on:
            raise NetworkError(_("This agreement was terminated on %(date)s; it cannot be signed after that.",
                                 date=editing.terminated_on.isoformat()), "signed_on")
    areas = []
    if area_codes:
        by_code = {a.code: a for a in db.session.scalars(select(CooperationArea)
                                                        .where(CooperationArea.code.in_(area_codes)))}
        if unknown := [c for c in area_codes if c not in by_code]:
            raise NetworkError(_("Unknown cooperation area: %(codes)s.", codes=", ".join(unknown)), "area_codes")
        areas = [by_code[c] for c in dict.fromkeys(area_codes)]
    party_set = {p.id for p in parties}
    signers = []
    for partner_id, name, title_ in signatories:
        if partner_id is not None and partner_id not in party_set:
            raise NetworkError(_("A signatory signs for the home city or for one of the parties."), "signatories")
        signers.append(Signatory(partner_id=partner_id, name=_text(name, "signatories", limit=200, required=True),
                                 title=_text(title_, "signatories", limit=300)))
    values = {"title": _text(title, "title", limit=500, required=True),
              "title_local": _text(title_local, "title_local", limit=500) or None, "kind": kind,
              "signed_on": signed_on, "signed_precision": signed_precision, "term_months": term_months,
              "expires_on": expires_on, "previous": previous, "succession": succession,
              "summary": _text(summary, "summary", limit=20000), "source": _text(source, "source", limit=5000),
              "notes": _text(notes, "notes", limit=20000), "parties": parties, "areas": areas}
    return values, signers


def _follows(candidate: Agreement, agreement: Agreement) -> bool:
    """Whether `candidate` is `agreement` itself or one of the agreements that renew or revise it, however far on."""
    seen: set[int] = set()
    while candidate is not None and candidate.id not in seen:
        if candidate.id == agreement.id:
            return True
        seen.add(candidate.id)
        candidate = candidate.previous
    return False


def _agreement_snapshot(agreement: Agreement) -> dict:
    """What the audit log keeps of an agreement: its fields, and its parties, areas and signatories by value."""
    return {**_snapshot(agreement, *AGREEMENT_FIELDS), "previous_id": agreement.previous.id if agreement.previous
            else None, "parties": sorted(p.id for p in agreement.parties),
            "areas": sorted(a.code for a in agreement.areas),
            "signatories": [[s.partner_id, s.name, s.title] for s in agreement.signatories]}


def create_agreement(*, actor, is_sample: bool = False, today: date | None = None, **fields) -> Agreement:
    """Record an agreement with its parties, areas and signatories (flushed, not committed); a renewal or
    revision links to the agreement it follows. The expiry comes from `expires_on` or from the signing date
    and the term. NetworkError, naming the field, on bad input. Takes the keyword arguments of
    _agreement_values: title, kind, party_ids, signed_on, signed_precision, term_months, expires_on, …"""
    values, signers = _agreement_values(**fields, today=today or local_today())
    agreement = Agreement(**values, is_sample=is_sample)
    agreement.signatories.extend(signers)
    db.session.add(agreement)
    db.session.flush()
    audit.record("agreement.create", actor=actor, object_type="agreement", object_id=agreement.id,
                 object_label=agreement.title,
                 after={**_snapshot(agreement, "kind", "signed_on", "signed_precision", "expires_on", "succession"),
                        "parties": sorted(p.id for p in agreement.parties), "previous_id": fields.get("previous_id")})
    return agreement


def update_agreement(*, agreement_id: int, actor, today: date | None = None, **fields) -> Agreement:
    """Change an agreement's fields, parties, areas and signatories under the rules of create_agreement (the
    same keyword arguments), and record the fields that changed in the audit log; flushed, not committed.
    NetworkError, naming the field, on bad input; nothing is changed then."""
    agreement = _get(Agreement, agreement_id)
    values, signers = _agreement_values(**fields, today=today or local_today(), editing=agreement)
    before = _agreement_snapshot(agreement)
    for name, value in values.items():
        setattr(agreement, name, value)
    agreement.signatories = signers
    db.session.flush()
    old, new = audit.changes(before, _agreement_snapshot(agreement))
    if new:
        audit.record("agreement.update", actor=actor, object_type="agreement", object_id=agreement.id,
                     object_label=agreement.title, before=old, after=new)
    return agreement


def terminate_agreement(*, agreement_id: int, terminated_on: date | None, reason: str, actor,
                        today: date | None = None) -> Agreement:
    """End an agreement before its term: from `terminated_on` (not before it was signed, not in the future)
    it no longer counts as in force or expiring; the reason is kept with it.
    NetworkError, naming the field, when the date or the reason is wrong or it is terminated already."""
    today = today or local_today()
    agreement = _get(Agreement, agreement_id)
    if agreement.terminated_on is not None:
        raise NetworkError(_("This agreement was terminated on %(date)s already.",
                             date=agreement.terminated_on.isoformat()), "terminated_on")
    if terminated_on is None:
        raise NetworkError(_("This field is required."), "terminated_on")
    _past(terminated_on, "terminated_on", today)
    if agreement.signed_on is not None and terminated_on < agreement.signed_on:
        raise NetworkError(_("An agreement cannot be terminated before it was signed (%(date)s).",
                             date=agreement.signed_on.isoformat()), "terminated_on")
    reason = _text(reason, "reason", limit=2000, required=True)
    agreement.terminated_on, agreement.termination_reason = terminated_on, reason
    db.session.flush()
    audit.record("agreement.terminate", actor=actor, object_type="agreement", object_id=agreement.id,
                 object_label=agreement.title, before={"terminated_on": None, "termination_reason": ""},
                 after={"terminated_on": terminated_on.isoformat(), "termination_reason": reason})
    return agreement


def expiring_within(days: int, today: date | None = None):
    """The SQL condition for an agreement in force (neither terminated nor renewed or revised) whose expiry
    falls in the next `days` days; lists, the API and reminders all filter with it."""
    today = today or local_today()
    return and_(Agreement.expires_on.between(today, today + timedelta(days=days)),
                Agreement.terminated_on.is_(None), ~Agreement.successors.any())


# Embassies -----------------------------------------------------------------------------------

EMBASSY_FIELDS = ("country_code", "mission_type", "name", "name_ja", "address", "ward", "postal_code", "phones",
                  "email", "website", "head_of_mission", "head_title", "notes", "is_sample")


def _embassy_values(*, country_code, mission_type, name, name_ja=None, address="", ward="", postal_code="",
                    phones=(), email=None, website=None, head_of_mission="", head_title="", notes="",
                    is_sample=False) -> dict:
    mission_type = _choice(MissionType, mission_type, "mission_type", _("Unknown kind of mission."))
    if email:
        try:
            email = normalize_address(email)
        except EmailNotValidError:
            raise NetworkError(_("Enter a valid email address, such as name@example.org."), "email") from None
    phones = [_text(p, "phones", limit=40) for p in phones if p and p.strip()]
    return {"country_code": _country(country_code).code, "mission_type": mission_type,
            "name": _text(name, "name", limit=300, required=True), "name_ja": _text(name_ja, "name_ja", limit=300)
            or None, "address": _text(address, "address", limit=500), "ward": _text(ward, "ward", limit=100),
            "postal_code": _text(postal_code, "postal_code", limit=20), "phones": phones, "email": email or None,
            "website": _text(website, "website", limit=500) or None,
            "head_of_mission": _text(head_of_mission, "head_of_mission", limit=200),
            "head_title": _text(head_title, "head_title", limit=200), "notes": _text(notes, "notes", limit=20000),
            "is_sample": bool(is_sample)}


def _check_unique_embassy(values: dict, exclude: int | None = None) -> None:
    """One open embassy per country (consulates may be many)."""
    if values["mission_type"] != MissionType.EMBASSY:
        return
    query = select(Embassy).where(Embassy.country_code == values["country_code"],
                                  Embassy.mission_type == MissionType.EMBASSY, Embassy.status != EmbassyStatus.CLOSED)
    if exclude is not None:
        query = query.where(Embassy.id != exclude)
    if db.session.scalar(query.limit(1)) is not None:
        raise NetworkError(_("%(country)s already has an open embassy in the registry.",
                             country=values["country_code"]), "country_code")


def create_embassy(*, actor, **fields) -> Embassy:
    values = _embassy_values(**fields)
    _check_unique_embassy(values)
    embassy = Embassy(**values)
    db.session.add(embassy)
    db.session.flush()
    audit.record("embassy.create", actor=actor, object_type="embassy", object_id=embassy.id,
                 object_label=embassy.name, after=_snapshot(embassy, *EMBASSY_FIELDS))
    return embassy


def update_embassy(*, embassy_id: int, actor, **fields) -> Embassy:
    """Change a mission's fields under the rules of create_embassy (the same keyword arguments; `is_sample` kept
    when not given), and record what changed in the audit log; flushed, not committed. Its status has its own
    verb, change_embassy_status. NetworkError, naming the field, on bad input; nothing is changed then."""
    embassy = _get(Embassy, embassy_id)
    values = _embassy_values(**{"is_sample": embassy.is_sample, **fields})
    if embassy.status != EmbassyStatus.CLOSED:
        _check_unique_embassy(values, exclude=embassy.id)
    before = _snapshot(embassy, *EMBASSY_FIELDS)
    for name, value in values.items():
        setattr(embassy, name, value)
    db.session.flush()
    old, new = audit.changes(before, _snapshot(embassy, *EMBASSY_FIELDS))
    if new:
        audit.record("embassy.update", actor=actor, object_type="embassy", object_id=embassy.id,
                     object_label=embassy.name, before=old, after=new)
    return embassy


def change_embassy_status(*, embassy_id: int, status, effective_on: date, reason: str = "", actor,
                          new_address: str | None = None, new_ward: str | None = None,
                          today: date | None = None) -> Embassy:
    """Record a closure, a temporary closure, a reopening or a move (which keeps the previous address)."""
    today = today or local_today()
    embassy = _get(Embassy, embassy_id)
    status = _choice(EmbassyStatus, status, "status", _("Unknown status."))
    if embassy.status == EmbassyStatus.CLOSED and status != EmbassyStatus.OPEN:
        raise NetworkError(_("A closed mission can only reopen."), "status")
    if effective_on is None:
        raise NetworkError(_("This field is required."), "effective_on")
    _past(effective_on, "effective_on", today)
    last = max((c.effective_on for c in embassy.history), default=None)
    if last is not None and effective_on < last:
        raise NetworkError(_("The change cannot precede the last recorded one (%(date)s).",
                             date=last.isoformat()), "effective_on")
    before = _snapshot(embassy, "status", "address", "ward")
    previous_address = None
    if status == EmbassyStatus.MOVED:
        address = _text(new_address, "new_address", limit=500, required=True)
        previous_address, embassy.address = embassy.address, address
        if new_ward is not None:
            embassy.ward = _text(new_ward, "new_ward", limit=100)
        status = EmbassyStatus.OPEN if embassy.status != EmbassyStatus.TEMPORARILY_CLOSED else embassy.status
    elif status == embassy.status:
        raise NetworkError(_("The mission already has this status."), "status")
    embassy.status = status
    embassy.status_since = effective_on
    embassy.history.append(EmbassyStatusChange(
        status=EmbassyStatus.MOVED if previous_address is not None else status, effective_on=effective_on,
        reason=_text(reason, "reason", limit=2000), previous_address=previous_address, recorded_by_id=_id(actor)))
    db.session.flush()
    audit.record("embassy.status", actor=actor, object_type="embassy", object_id=embassy.id,
                 object_label=embassy.name, before=before, after=_snapshot(embassy, "status", "address", "ward"))
    return embassy


# City networks -------------------------------------------------------------------------------


def create_network(*, name: str, actor, acronym: str = "", name_ja: str = "", website: str = "",
                   description: str = "", is_sample: bool = False) -> CityNetwork:
    name = _text(name, "name", limit=200, required=True)
    if db.session.scalar(select(CityNetwork).where(func.lower(CityNetwork.name) == name.lower())) is not None:
        raise NetworkError(_("%(name)s is already in the registry.", name=name), "name")
    network = CityNetwork(name=name, acronym=_text(acronym, "acronym", limit=40),
                          name_ja=_text(name_ja, "name_ja", limit=200) or None,
                          website=_text(website, "website", limit=500) or None,
                          description=_text(description, "description", limit=20000), is_sample=is_sample)
    db.session.add(network)
    db.session.flush()
    audit.record("network.create", actor=actor, object_type="city_network", object_id=network.id, object_label=name)
    return network


def set_home_role(*, network_id: int, role, started_on: date | None, actor, started_precision=DatePrecision.DAY,
                  notes: str = "", today: date | None = None) -> HomeMembership:
    """The home city's role in a network from `started_on`: the current role, if any, ends that day."""
    today = today or local_today()
    network = _get(CityNetwork, network_id)
    role = _choice(NetworkRole, role, "role", _("Unknown role."))
    started_precision = _choice(DatePrecision, started_precision, "started_precision")
    started_on = _past(_start_of(started_on, started_precision), "started_on", today)
    current = next((m for m in network.home_roles if m.ended_on is None), None)
    if current is not None:
        if current.role == role:
            raise NetworkError(_("The home city already has this role."), "role")
        if started_on is not None and current.started_on is not None and started_on < current.started_on:
            raise NetworkError(_("The new role cannot begin before the current one."), "started_on")
        current.ended_on = started_on or today
    membership = HomeMembership(network=network, role=role, started_on=started_on,
                                started_precision=started_precision, notes=_text(notes, "notes", limit=5000))
    db.session.add(membership)
    db.session.flush()
    audit.record("network.home_role", actor=actor, object_type="city_network", object_id=network.id,
                 object_label=network.name, before={"role": current.role.value} if current else None,
                 after=_snapshot(membership, "role", "started_on"))
    return membership


def add_network_member(*, network_id: int, city_id: int, actor, joined_on: date | None = None,
                       today: date | None = None) -> NetworkMember:
    today = today or local_today()
    network = _get(CityNetwork, network_id)
    city = db.session.get(City, city_id)
    if city is None:
        raise NetworkError(_("No reference city has the id %(id)s.", id=city_id), "city_id")
    if db.session.scalar(select(NetworkMember).where(NetworkMember.network_id == network.id,
                                                     NetworkMember.city_id == city.id)) is not None:
        raise NetworkError(_("%(city)s is already a member of %(network)s.", city=city.name, network=network.name),
                           "city_id")
    partner = db.session.scalar(select(Partner).where(Partner.city_id == city.id).limit(1))
    member = NetworkMember(network=network, city=city, partner=partner, name=city.name,
                           country_code=city.country_code, joined_on=_past(joined_on, "joined_on", today))
    db.session.add(member)
    db.session.flush()
    audit.record("network.member_add", actor=actor, object_type="city_network", object_id=network.id,
                 object_label=network.name, after={"city_id": city.id, "city": city.name})
    return member


def add_network_event(*, network_id: int, title: str, starts_on: date, actor, ends_on: date | None = None,
                      kind: str = "", city_id: int | None = None, venue: str = "", url: str = "",
                      description: str = "") -> NetworkEvent:
    network = _get(CityNetwork, network_id)
    if starts_on is None:
        raise NetworkError(_("This field is required."), "starts_on")
    if ends_on is not None and ends_on < starts_on:
        raise NetworkError(_("An event cannot end before it starts."), "ends_on")
    if city_id is not None and db.session.get(City, city_id) is None:
        raise NetworkError(_("No reference city has the id %(id)s.", id=city_id), "city_id")
    event = NetworkEvent(network=network, title=_text(title, "title", limit=300, required=True),
                         kind=_text(kind, "kind", limit=64), starts_on=starts_on, ends_on=ends_on, city_id=city_id,
                         venue=_text(venue, "venue", limit=300), url=_text(url, "url", limit=500) or None,
                         description=_text(description, "description", limit=20000))
    db.session.add(event)
    db.session.flush()
    audit.record("network.event_add", actor=actor, object_type="city_network", object_id=network.id,
                 object_label=network.name, after={"event": event.title, "starts_on": starts_on.isoformat()})
    return event


NETWORK_FIELDS = ("name", "acronym", "name_ja", "website", "description", "is_sample")


def update_network(*, network_id: int, name: str, actor, acronym: str = "", name_ja: str = "", website: str = "",
                   description: str = "", is_sample: bool | None = None) -> CityNetwork:
    """Change a network's name, acronym, Japanese name, website and description (`is_sample` kept when not
    given), and record what changed in the audit log; flushed, not committed. NetworkError, naming the field,
    when the name is missing, too long or another network's; nothing is changed then."""
    network = _get(CityNetwork, network_id)
    name = _text(name, "name", limit=200, required=True)
    if db.session.scalar(select(CityNetwork).where(func.lower(CityNetwork.name) == name.lower(),
                                                   CityNetwork.id != network.id)) is not None:
        raise NetworkError(_("%(name)s is already in the registry.", name=name), "name")
    values = {"name": name, "acronym": _text(acronym, "acronym", limit=40),
              "name_ja": _text(name_ja, "name_ja", limit=200) or None,
              "website": _text(website, "website", limit=500) or None,
              "description": _text(description, "description", limit=20000),
              "is_sample": network.is_sample if is_sample is None else bool(is_sample)}
    before = _snapshot(network, *NETWORK_FIELDS)
    for field, value in values.items():
        setattr(network, field, value)
    db.session.flush()
    old, new = audit.changes(before, _snapshot(network, *NETWORK_FIELDS))
    if new:
        audit.record("network.update", actor=actor, object_type="city_network", object_id=network.id,
                     object_label=network.name, before=old, after=new)
    return network


def update_network_member(*, member_id: int, actor, joined_on: date | None = None, left_on: date | None = None,
                          today: date | None = None) -> NetworkMember:
    """Correct when a member city joined a network, or record that it left (`left_on`; None: still a member);
    flushed, not committed, and kept in the audit log. NetworkError, naming the field, when a date is in the
    future or it leaves before it joined; nothing is changed then."""
    today = today or local_today()
    member = _get(NetworkMember, member_id)
    _past(joined_on, "joined_on", today)
    _past(left_on, "left_on", today)
    if joined_on is not None and left_on is not None and left_on < joined_on:
        raise NetworkError(_("A member cannot leave before it joined (%(date)s).", date=joined_on.isoformat()),
                           "left_on")
    before = _snapshot(member, "joined_on", "left_on")
    member.joined_on, member.left_on = joined_on, left_on
    db.session.flush()
    old, new = audit.changes(before, _snapshot(member, "joined_on", "left_on"))
    if new:
        audit.record("network.member_update", actor=actor, object_type="city_network", object_id=member.network_id,
                     object_label=member.network.name, before={"member": member.name, **old},
                     after={"member": member.name, **new})
    return member


EVENT_FIELDS = ("title", "kind", "starts_on", "ends_on", "city_id", "venue", "url", "description")


def update_network_event(*, event_id: int, title: str, starts_on: date | None, actor, ends_on: date | None = None,
                         kind: str = "", city_id: int | None = None, venue: str = "", url: str = "",
                         description: str = "") -> NetworkEvent:
    """Change a network event's title, kind, dates, place and description under the rules of add_network_event,
    and record what changed in the audit log; flushed, not committed. NetworkError, naming the field, on bad
    input (no start, an end before the start, an unknown city); nothing is changed then."""
    event = _get(NetworkEvent, event_id)
    if starts_on is None:
        raise NetworkError(_("This field is required."), "starts_on")
    if ends_on is not None and ends_on < starts_on:
        raise NetworkError(_("An event cannot end before it starts."), "ends_on")
    if city_id is not None and db.session.get(City, city_id) is None:
        raise NetworkError(_("No reference city has the id %(id)s.", id=city_id), "city_id")
    values = {"title": _text(title, "title", limit=300, required=True), "kind": _text(kind, "kind", limit=64),
              "starts_on": starts_on, "ends_on": ends_on, "city_id": city_id,
              "venue": _text(venue, "venue", limit=300), "url": _text(url, "url", limit=500) or None,
              "description": _text(description, "description", limit=20000)}
    before = _snapshot(event, *EVENT_FIELDS)
    for field, value in values.items():
        setattr(event, field, value)
    db.session.flush()
    old, new = audit.changes(before, _snapshot(event, *EVENT_FIELDS))
    if new:
        audit.record("network.event_update", actor=actor, object_type="city_network", object_id=event.network_id,
                     object_label=event.network.name, before={"event_id": event.id, **old},
                     after={"event_id": event.id, **new})
    return event
