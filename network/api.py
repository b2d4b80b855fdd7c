"""JSON endpoints of the network registry: reads for staff, writes for editors through the services."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kizuna import auth
from kizuna.api import (
    BOOL,
    DAY,
    FLAG,
    INT,
    INTEGER,
    INTS,
    OBJECTS,
    OPT_INT,
    OPT_STR,
    PAGE_PARAMS,
    STR,
    TEXT,
    TEXTS,
    Invalid,
    arg_enum,
    bp,
    doc,
    enum_of,
    invalid,
    iso,
    limit_arg,
    list_of,
    obj,
    page_of,
    paginate,
    parse_date,
    parse_int,
    query_param,
    read_body,
    reader_language,
    updates,
    write,
    writes,
)
from kizuna.extensions import db
from kizuna.models import Role

from . import queries, services
from .models import (
    Agreement,
    AgreementKind,
    CityNetwork,
    CooperationArea,
    DatePrecision,
    Embassy,
    EmbassyStatus,
    MissionType,
    NetworkEvent,
    NetworkMember,
    Partner,
    PartnerKind,
    Relationship,
    RelationshipKind,
    RelationshipStatus,
)

CITY_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer", "description": "GeoNames id"},
    "name": {"type": "string"},
    "country": {"type": "string", "description": "ISO 3166-1 alpha-2 code"},
    "country_name": {"type": "string", "description": "in the reader's language"},
    "admin1": {"type": ["string", "null"], "description": "GeoNames first-level administrative division"},
    "latitude": {"type": "number"},
    "longitude": {"type": "number"},
    "population": {"type": "integer"},
    "timezone": {"type": "string", "description": "IANA time zone, such as Asia/Tokyo"},
    "label": {"type": "string", "description": "'Name, Country' in the reader's language"},
}}


@bp.get("/cities")
@auth.login_required
@doc("Cities whose name starts with q (case- and accent-insensitive; other names such as Peking or 東京 "
     "count too), most populous first.",
     parameters=[query_param("q", "Name prefix, such as 'tok', 'zur' or '東京'.", required=True, minLength=1,
                             maxLength=services.MAX_QUERY),
                 query_param("country", "ISO 3166-1 alpha-2 code to restrict to, such as JP."),
                 query_param("limit", "At most this many cities (1–100).", "integer", default=20)],
     schema={"type": "object", "properties": {"items": {"type": "array", "items": CITY_SCHEMA}}},
     tag="network")
def cities():
    q = request.args.get("q", "").strip()
    if not q:
        return invalid("q", "Give a name prefix in q, such as ?q=tok.")
    if len(q) > services.MAX_QUERY:
        return invalid("q", f"q must have at most {services.MAX_QUERY} characters.")
    country = request.args.get("country", "").strip().upper()
    if country and services.find_country(country) is None:
        return invalid("country", "country must be an ISO 3166-1 alpha-2 code, such as JP.")
    language = str(get_locale() or "en")
    found = services.search_cities(q, country=country or None, limit=limit_arg())
    return jsonify({"items": [services.city_json(c, language) for c in found]})


# -- schemas for the OpenAPI document ------------------------------------------------------------------

DATE = {"type": ["string", "null"], "format": "date", "description": "ISO 8601; see the matching precision"}
PRECISION = {"type": "string", "enum": [p.value for p in DatePrecision],
             "description": "how much of the date is known: a month or a year is stored as its first day"}


PARTNER_REF = obj(id=INT, name=STR, display_name=STR, kind=enum_of(PartnerKind), country=STR)
PARTNER_SCHEMA = obj(id=INT, kind=enum_of(PartnerKind), name=STR, local_name=OPT_STR, name_ja=OPT_STR,
                      display_name=STR, country=STR, country_name=STR, city_id=OPT_INT, subdivision_code=OPT_STR,
                      website=OPT_STR, notes=STR, is_sample=BOOL)
STATUS_CHANGE = obj(status=enum_of(RelationshipStatus), effective_on=DATE, reason=STR)
RELATIONSHIP_SCHEMA = obj(id=INT, partner=PARTNER_REF, kind=enum_of(RelationshipKind), started_on=DATE,
                           started_precision=PRECISION, status=enum_of(RelationshipStatus), status_since=DATE,
                           ended_on=DATE, source=STR, notes=STR, is_sample=BOOL)
RELATIONSHIP_DETAIL = obj(**RELATIONSHIP_SCHEMA["properties"], history=list_of(STATUS_CHANGE))
PARTNER_DETAIL = obj(**PARTNER_SCHEMA["properties"], relationships=list_of(RELATIONSHIP_SCHEMA))
AREA = obj(code=STR, name=STR)
AGREEMENT_REF = obj(id=INT, title=STR, signed_on=DATE, expires_on=DATE)
AGREEMENT_SCHEMA = obj(id=INT, title=STR, title_local=OPT_STR, kind=enum_of(AgreementKind), signed_on=DATE,
                        signed_precision=PRECISION, term_months=OPT_INT, expires_on=DATE, terminated_on=DATE,
                        termination_reason=STR, state={"type": "string", "enum": list(queries.AGREEMENT_STATES)},
                        in_force=BOOL, previous_id=OPT_INT, succession={"type": ["string", "null"]},
                        parties=list_of(PARTNER_REF), areas=list_of(AREA), summary=STR, is_sample=BOOL)
AGREEMENT_DETAIL = obj(**AGREEMENT_SCHEMA["properties"], source=STR, notes=STR,
                        signatories=list_of(obj(partner_id=OPT_INT, name=STR, title=STR)),
                        previous={"anyOf": [AGREEMENT_REF, {"type": "null"}]},
                        successors=list_of(obj(**AGREEMENT_REF["properties"], succession=STR)))
EMBASSY_SCHEMA = obj(id=INT, country=STR, country_name=STR, mission_type=enum_of(MissionType), name=STR,
                      name_ja=OPT_STR, address=STR, ward=STR, postal_code=STR, phones=list_of(STR), email=OPT_STR,
                      website=OPT_STR, head_of_mission=STR, head_title=STR, status=enum_of(EmbassyStatus),
                      status_since=DATE, notes=STR, is_sample=BOOL)
EMBASSY_DETAIL = obj(**EMBASSY_SCHEMA["properties"], history=list_of(obj(
    status=enum_of(EmbassyStatus), effective_on=DATE, reason=STR, previous_address=OPT_STR)))
HOME_ROLE = obj(role=STR, started_on=DATE, started_precision=PRECISION, ended_on=DATE, notes=STR)
NETWORK_SCHEMA = obj(id=INT, name=STR, acronym=STR, name_ja=OPT_STR, website=OPT_STR, description=STR,
                      home_role={"anyOf": [HOME_ROLE, {"type": "null"}]}, is_sample=BOOL)
MEMBER = obj(id=INT, city_id=OPT_INT, partner_id=OPT_INT, name=STR, country=STR, joined_on=DATE, left_on=DATE)
EVENT = obj(id=INT, title=STR, kind=STR, starts_on=DATE, ends_on=DATE, city_id=OPT_INT, venue=STR, url=OPT_STR,
             description=STR)
NETWORK_DETAIL = obj(**NETWORK_SCHEMA["properties"], home_roles=list_of(HOME_ROLE), members=list_of(MEMBER),
                      events=list_of(EVENT))


# A body field's type: what JSON value it takes.


def _of_network(model, object_id: int, network_id: int):
    """A member or an event of this network, or 404."""
    found = db.get_or_404(model, object_id)
    if found.network_id != network_id:
        abort(404)
    return found


# -- JSON of the registry's objects --------------------------------------------------------------------


def partner_ref(partner: Partner) -> dict:
    return {"id": partner.id, "name": partner.name, "display_name": partner.display_name(reader_language()),
            "kind": partner.kind.value, "country": partner.country_code}


def partner_json(partner: Partner) -> dict:
    return {"id": partner.id, "kind": partner.kind.value, "name": partner.name, "local_name": partner.local_name,
            "name_ja": partner.name_ja, "display_name": partner.display_name(reader_language()),
            "country": partner.country_code, "country_name": partner.country.name(reader_language()),
            "city_id": partner.city_id, "subdivision_code": partner.subdivision_code, "website": partner.website,
            "notes": partner.notes, "is_sample": partner.is_sample}


def relationship_json(rel: Relationship, *, history: bool = False) -> dict:
    out = {"id": rel.id, "partner": partner_ref(rel.partner), "kind": rel.kind.value,
           "started_on": iso(rel.started_on), "started_precision": rel.started_precision.value,
           "status": rel.status.value, "status_since": iso(rel.status_since), "ended_on": iso(rel.ended_on),
           "source": rel.source, "notes": rel.notes, "is_sample": rel.is_sample}
    if history:
        out["history"] = [{"status": c.status.value, "effective_on": iso(c.effective_on), "reason": c.reason}
                          for c in rel.history]
    return out


def _agreement_ref(agreement: Agreement) -> dict:
    return {"id": agreement.id, "title": agreement.title, "signed_on": iso(agreement.signed_on),
            "expires_on": iso(agreement.expires_on)}


def agreement_json(agreement: Agreement, *, detail: bool = False) -> dict:
    out = {"id": agreement.id, "title": agreement.title, "title_local": agreement.title_local,
           "kind": agreement.kind.value, "signed_on": iso(agreement.signed_on),
           "signed_precision": agreement.signed_precision.value, "term_months": agreement.term_months,
           "expires_on": iso(agreement.expires_on), "terminated_on": iso(agreement.terminated_on),
           "termination_reason": agreement.termination_reason,
           "state": agreement.state(services.local_today()),
           "in_force": agreement.state(services.local_today()) == "in_force",
           "previous_id": agreement.previous_id,
           "succession": agreement.succession.value if agreement.succession else None,
           "parties": [partner_ref(p) for p in agreement.parties],
           "areas": [{"code": a.code, "name": a.name(reader_language())} for a in agreement.areas],
           "summary": agreement.summary, "is_sample": agreement.is_sample}
    if detail:
        out |= {"source": agreement.source, "notes": agreement.notes,
                "signatories": [{"partner_id": s.partner_id, "name": s.name, "title": s.title}
                                for s in agreement.signatories],
                "previous": _agreement_ref(agreement.previous) if agreement.previous else None,
                "successors": [{**_agreement_ref(s), "succession": s.succession.value if s.succession else None}
                               for s in agreement.successors]}
    return out


def embassy_json(embassy: Embassy, *, history: bool = False) -> dict:
    out = {"id": embassy.id, "country": embassy.country_code, "country_name": embassy.country.name(reader_language()),
           "mission_type": embassy.mission_type.value, "name": embassy.name, "name_ja": embassy.name_ja,
           "address": embassy.address, "ward": embassy.ward, "postal_code": embassy.postal_code,
           "phones": list(embassy.phones or []), "email": embassy.email, "website": embassy.website,
           "head_of_mission": embassy.head_of_mission, "head_title": embassy.head_title,
           "status": embassy.status.value, "status_since": iso(embassy.status_since), "notes": embassy.notes,
           "is_sample": embassy.is_sample}
    if history:
        out["history"] = [{"status": c.status.value, "effective_on": iso(c.effective_on), "reason": c.reason,
                           "previous_address": c.previous_address} for c in embassy.history]
    return out


def _home_role(m) -> dict:
    return {"role": m.role.value, "started_on": iso(m.started_on), "started_precision": m.started_precision.value,
            "ended_on": iso(m.ended_on), "notes": m.notes}


def network_json(network: CityNetwork, *, detail: bool = False) -> dict:
    current = next((m for m in network.home_roles if m.ended_on is None), None)
    out = {"id": network.id, "name": network.name, "acronym": network.acronym, "name_ja": network.name_ja,
           "website": network.website, "description": network.description,
           "home_role": _home_role(current) if current else None, "is_sample": network.is_sample}
    if detail:
        out |= {"home_roles": [_home_role(m) for m in network.home_roles],
                "members": [member_json(m) for m in network.members],
                "events": [event_json(e) for e in network.events]}
    return out


def member_json(m: NetworkMember) -> dict:
    return {"id": m.id, "city_id": m.city_id, "partner_id": m.partner_id, "name": m.name, "country": m.country_code,
            "joined_on": iso(m.joined_on), "left_on": iso(m.left_on)}


def event_json(e: NetworkEvent) -> dict:
    return {"id": e.id, "title": e.title, "kind": e.kind, "starts_on": iso(e.starts_on), "ends_on": iso(e.ends_on),
            "city_id": e.city_id, "venue": e.venue, "url": e.url, "description": e.description}


# -- reading the query string and the body -------------------------------------------------------------


def arg_country(name: str = "country") -> str | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    country = services.find_country(value)
    if country is None:
        raise Invalid(name, f"{name} must be an ISO 3166-1 alpha-2 code, such as JP.")
    return country.code


def _write(call, serialize, *, field: str, status: int = 201):
    return write(call, serialize, field=field, status=status)


# -- partners -----------------------------------------------------------------------------------------


@bp.get("/partners")
@auth.roles_required(Role.VIEWER)
@doc("Partner governments (cities, sub-national governments, other public bodies), by name.",
     parameters=[query_param("kind", "Only this kind.", enum=[k.value for k in PartnerKind]),
                 query_param("country", "ISO 3166-1 alpha-2 code, such as US."),
                 query_param("q", "Part of any of its names: Latin, own script or Japanese (case- and "
                             "accent-insensitive)."), *PAGE_PARAMS],
     schema=page_of(PARTNER_SCHEMA), tag="network")
def partners():
    query = select(Partner).options(selectinload(Partner.country)).order_by(Partner.name, Partner.id)
    if kind := arg_enum("kind", PartnerKind):
        query = query.where(Partner.kind == kind)
    if country := arg_country():
        query = query.where(Partner.country_code == country)
    if q := request.args.get("q", "").strip():
        query = query.where(Partner.id.in_(queries.partner_ids_matching(q)))
    return jsonify(paginate(query, partner_json))


@bp.get("/partners/<int:partner_id>")
@auth.roles_required(Role.VIEWER)
@doc("One partner, with its relationships.", schema=PARTNER_DETAIL, tag="network")
def partner(partner_id: int):
    found = db.get_or_404(Partner, partner_id)
    return jsonify({**partner_json(found), "relationships": [relationship_json(r) for r in found.relationships]})


PARTNER_BODY = {
    "kind": (TEXT, "required: " + ", ".join(k.value for k in PartnerKind)),
    "name": (TEXT, "required: the name in Latin script"),
    "country_code": (TEXT, "required: ISO 3166-1 alpha-2"),
    "local_name": (TEXT, "in the partner's own script"),
    "name_ja": (TEXT, "in Japanese"),
    "city_id": (INTEGER, "GeoNames id of the reference city"),
    "subdivision_code": (TEXT, "ISO 3166-2, such as AU-NSW"),
    "website": (TEXT, "URL"),
    "notes": (TEXT, "free text"),
    "is_sample": (FLAG, "true for sample data"),
}


@bp.post("/partners")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Register a partner government.", PARTNER_BODY), schema=PARTNER_SCHEMA, tag="network")
def create_partner():
    values = {"kind": None, "name": None, "country_code": None, **read_body(PARTNER_BODY)}
    return _write(lambda actor: services.create_partner(actor=actor, **values), partner_json, field="name")


# -- relationships ------------------------------------------------------------------------------------


@bp.get("/relationships")
@auth.roles_required(Role.VIEWER)
@doc("The home city's relationships with partners, oldest first.",
     parameters=[query_param("kind", "Only this kind.", enum=[k.value for k in RelationshipKind]),
                 query_param("status", "Only this status.", enum=[s.value for s in RelationshipStatus]),
                 query_param("partner_id", "Only this partner's.", "integer"),
                 query_param("country", "Only partners in this country (ISO 3166-1 alpha-2)."), *PAGE_PARAMS],
     schema=page_of(RELATIONSHIP_SCHEMA), tag="network")
def relationships():
    query = (select(Relationship).join(Relationship.partner).options(selectinload(Relationship.partner))
             .order_by(Relationship.started_on, Relationship.id))
    if kind := arg_enum("kind", RelationshipKind):
        query = query.where(Relationship.kind == kind)
    if status := arg_enum("status", RelationshipStatus):
        query = query.where(Relationship.status == status)
    if (partner_id := parse_int("partner_id", request.args.get("partner_id"))) is not None:
        query = query.where(Relationship.partner_id == partner_id)
    if country := arg_country():
        query = query.where(Partner.country_code == country)
    return jsonify(paginate(query, relationship_json))


@bp.get("/relationships/<int:relationship_id>")
@auth.roles_required(Role.VIEWER)
@doc("One relationship with its status history.", schema=RELATIONSHIP_DETAIL, tag="network")
def relationship(relationship_id: int):
    return jsonify(relationship_json(db.get_or_404(Relationship, relationship_id), history=True))


RELATIONSHIP_BODY = {
    "partner_id": (INTEGER, "required: the partner's id"),
    "kind": (TEXT, "required: " + ", ".join(k.value for k in RelationshipKind)),
    "started_on": (DAY, "required; the first day of the month or the year when only that is known"),
    "started_precision": (TEXT, "day (default), month or year"),
    "status": (TEXT, "active (default) or another status"),
    "status_since": (DAY, "for a status other than active"),
    "reason": (TEXT, "why the status is not active"),
    "source": (TEXT, "where this comes from"),
    "notes": (TEXT, "free text"),
    "is_sample": (FLAG, "true for sample data"),
}


@bp.post("/relationships")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Record a relationship with a partner and its first status; one live tie of a kind per partner.",
             RELATIONSHIP_BODY), schema=RELATIONSHIP_DETAIL, tag="network")
def create_relationship():
    values = read_body(RELATIONSHIP_BODY, required=("partner_id", "kind", "started_on"))
    return _write(lambda actor: services.add_relationship(actor=actor, **values),
                  lambda r: relationship_json(r, history=True), field="partner_id")


RELATIONSHIP_UPDATE_BODY = {
    "kind": (TEXT, "required: " + ", ".join(k.value for k in RelationshipKind)),
    "started_on": (DAY, "required; the first day of the month or the year when only that is known"),
    "started_precision": (TEXT, "day (default), month or year"),
    "source": (TEXT, "where this comes from"),
    "notes": (TEXT, "free text"),
}


@bp.post("/relationships/<int:relationship_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Correct the record of a relationship: its kind, start date and its precision, source and notes. "
                "Not a change of status (see /relationships/{id}/status): the start may not fall after the first "
                "change of status, nor in the future, and a live tie may not take the kind of another live tie "
                "with the same partner.", RELATIONSHIP_UPDATE_BODY), schema=RELATIONSHIP_DETAIL, tag="network")
def update_relationship(relationship_id: int):
    db.get_or_404(Relationship, relationship_id)
    values = read_body(RELATIONSHIP_UPDATE_BODY, required=("kind", "started_on"))
    return _write(lambda actor: services.update_relationship(relationship_id=relationship_id, actor=actor,
                                                             **values),
                  lambda r: relationship_json(r, history=True), field="kind", status=200)


RELATIONSHIP_STATUS_BODY = {
    "status": (TEXT, "required: " + ", ".join(s.value for s in RelationshipStatus)),
    "effective_on": (DAY, "required"),
    "reason": (TEXT, "required unless the relationship resumes (active)"),
}


@bp.post("/relationships/<int:relationship_id>/status")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Suspend, resume, mark dormant or end a relationship; the change joins its history.",
             RELATIONSHIP_STATUS_BODY), schema=RELATIONSHIP_DETAIL, tag="network")
def change_relationship_status(relationship_id: int):
    db.get_or_404(Relationship, relationship_id)
    values = {"reason": "", **read_body(RELATIONSHIP_STATUS_BODY, required=("status", "effective_on"))}
    return _write(lambda actor: services.change_relationship_status(relationship_id=relationship_id, actor=actor,
                                                                    **values),
                  lambda r: relationship_json(r, history=True), field="status")


# -- agreements ---------------------------------------------------------------------------------------


@bp.get("/agreements")
@auth.roles_required(Role.VIEWER)
@doc("Agreements (MOUs, joint statements, communiqués, …), latest signed first; with expiring_within_days, "
     "only those in force that expire within that many days, soonest first.",
     parameters=[query_param("kind", "Only this kind.", enum=[k.value for k in AgreementKind]),
                 query_param("partner_id", "Only those this partner is a party to.", "integer"),
                 query_param("country", "Only those with a party in this country (ISO 3166-1 alpha-2)."),
                 query_param("area", "Only those covering this cooperation area (its code, such as digital)."),
                 query_param("expiring_within_days", "In force and expiring within this many days.", "integer",
                             minimum=0),
                 query_param("signed_from", "Signed on or after this day (YYYY-MM-DD).", format="date"),
                 query_param("signed_to", "Signed on or before this day (YYYY-MM-DD).", format="date"),
                 query_param("state", "Only those in force, superseded by a renewal or revision, expired or "
                             "terminated today.",
                             enum=list(queries.AGREEMENT_STATES)),
                 *PAGE_PARAMS],
     schema=page_of(AGREEMENT_SCHEMA), tag="network")
def agreements():
    query = select(Agreement).options(selectinload(Agreement.parties), selectinload(Agreement.areas),
                                      selectinload(Agreement.successors))
    order = (Agreement.signed_on.desc().nulls_last(), Agreement.id.desc())
    if kind := arg_enum("kind", AgreementKind):
        query = query.where(Agreement.kind == kind)
    if (partner_id := parse_int("partner_id", request.args.get("partner_id"))) is not None:
        query = query.where(Agreement.parties.any(Partner.id == partner_id))
    if country := arg_country():
        query = query.where(Agreement.parties.any(Partner.country_code == country))
    if area := request.args.get("area", "").strip():
        query = query.where(Agreement.areas.any(CooperationArea.code == area))
    days = parse_int("expiring_within_days", request.args.get("expiring_within_days"))
    if days is not None:
        if days < 0:
            raise Invalid("expiring_within_days", "expiring_within_days must be 0 or more.")
        query = query.where(services.expiring_within(days))
        order = (Agreement.expires_on, Agreement.id)
    if signed_from := parse_date("signed_from", request.args.get("signed_from")):
        query = query.where(Agreement.signed_on >= signed_from)
    if signed_to := parse_date("signed_to", request.args.get("signed_to")):
        query = query.where(Agreement.signed_on <= signed_to)
    if state := request.args.get("state", "").strip():
        if state not in queries.AGREEMENT_STATES:
            raise Invalid("state", f"state must be one of: {', '.join(queries.AGREEMENT_STATES)}.")
        query = query.where(queries.agreement_state(state))
    return jsonify(paginate(query.order_by(*order), agreement_json))


@bp.get("/agreements/<int:agreement_id>")
@auth.roles_required(Role.VIEWER)
@doc("One agreement with its parties, signatories, areas, the agreement it follows and its successors.",
     schema=AGREEMENT_DETAIL, tag="network")
def agreement(agreement_id: int):
    return jsonify(agreement_json(db.get_or_404(Agreement, agreement_id), detail=True))


AGREEMENT_BODY = {
    "title": (TEXT, "required"),
    "kind": (TEXT, "required: " + ", ".join(k.value for k in AgreementKind)),
    "party_ids": (INTS, "required: the partners' ids"),
    "signed_on": (DAY, "the first day of the month or the year when only that is known"),
    "signed_precision": (TEXT, "day (default), month or year"),
    "title_local": (TEXT, "in the partner's language"),
    "term_months": (INTEGER, "the term; gives the expiry from the signing date"),
    "expires_on": (DAY, "the expiry, when the agreement gives one"),
    "area_codes": (TEXTS, "cooperation area codes, such as digital"),
    "signatories": (OBJECTS, "{partner_id (null for the home city), name, title}"),
    "previous_id": (INTEGER, "the agreement this one renews or revises"),
    "succession": (TEXT, "renewal (default with previous_id) or revision"),
    "summary": (TEXT, "free text"),
    "source": (TEXT, "where this comes from"),
    "notes": (TEXT, "free text"),
    "is_sample": (FLAG, "true for sample data"),
}


@bp.post("/agreements")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Record an agreement with its parties, areas and signatories; a renewal or revision names the "
             "agreement it follows.", AGREEMENT_BODY), schema=AGREEMENT_DETAIL, tag="network")
def create_agreement():
    values = {"title": "", "kind": None, "party_ids": [], **read_body(AGREEMENT_BODY)}
    signatories = []
    for signatory in values.pop("signatories", []):
        if set(signatory) - {"partner_id", "name", "title"}:
            raise Invalid("signatories", "A signatory has partner_id, name and title only.")
        name, title = signatory.get("name"), signatory.get("title") or ""
        if not isinstance(name, str) or not isinstance(title, str):
            raise Invalid("signatories", "A signatory's name and title are strings.")
        signatories.append((parse_int("signatories", signatory.get("partner_id")), name, title))
    values["area_codes"] = tuple(values.get("area_codes", ()))
    return _write(lambda actor: services.create_agreement(actor=actor, signatories=tuple(signatories), **values),
                  lambda a: agreement_json(a, detail=True), field="party_ids")


# -- embassies ----------------------------------------------------------------------------------------


@bp.get("/embassies")
@auth.roles_required(Role.VIEWER)
@doc("Diplomatic and consular missions in the home city, by country.",
     parameters=[query_param("country", "The sending country (ISO 3166-1 alpha-2)."),
                 query_param("status", "Only this status.", enum=[s.value for s in EmbassyStatus]),
                 query_param("mission_type", "Only this kind of mission.", enum=[m.value for m in MissionType]),
                 *PAGE_PARAMS],
     schema=page_of(EMBASSY_SCHEMA), tag="network")
def embassies():
    query = select(Embassy).options(selectinload(Embassy.country)).order_by(Embassy.country_code, Embassy.name,
                                                                            Embassy.id)
    if country := arg_country():
        query = query.where(Embassy.country_code == country)
    if status := arg_enum("status", EmbassyStatus):
        query = query.where(Embassy.status == status)
    if mission_type := arg_enum("mission_type", MissionType):
        query = query.where(Embassy.mission_type == mission_type)
    return jsonify(paginate(query, embassy_json))


@bp.get("/embassies/<int:embassy_id>")
@auth.roles_required(Role.VIEWER)
@doc("One mission with its status history (closures, reopenings, moves).", schema=EMBASSY_DETAIL, tag="network")
def embassy(embassy_id: int):
    return jsonify(embassy_json(db.get_or_404(Embassy, embassy_id), history=True))


EMBASSY_BODY = {
    "country_code": (TEXT, "required: the sending country, ISO 3166-1 alpha-2"),
    "mission_type": (TEXT, "required: " + ", ".join(m.value for m in MissionType)),
    "name": (TEXT, "required"),
    "name_ja": (TEXT, "in Japanese"),
    "address": (TEXT, "street address"),
    "ward": (TEXT, "the ward"),
    "postal_code": (TEXT, "postal code"),
    "phones": (TEXTS, "telephone numbers"),
    "email": (TEXT, "email address"),
    "website": (TEXT, "URL"),
    "head_of_mission": (TEXT, "name"),
    "head_title": (TEXT, "title"),
    "notes": (TEXT, "free text"),
    "is_sample": (FLAG, "true for sample data"),
}


@bp.post("/embassies")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Register a mission in the home city.", EMBASSY_BODY), schema=EMBASSY_DETAIL, tag="network")
def create_embassy():
    values = {"country_code": None, "mission_type": None, "name": None, **read_body(EMBASSY_BODY)}
    return _write(lambda actor: services.create_embassy(actor=actor, **values),
                  lambda e: embassy_json(e, history=True), field="name")


EMBASSY_UPDATE_BODY = {name: spec for name, spec in EMBASSY_BODY.items() if name != "is_sample"}


@bp.post("/embassies/<int:embassy_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Replace a mission's fields (its status changes through /embassies/{id}/status).",
                EMBASSY_UPDATE_BODY), schema=EMBASSY_DETAIL, tag="network")
def update_embassy(embassy_id: int):
    db.get_or_404(Embassy, embassy_id)
    values = read_body(EMBASSY_UPDATE_BODY, required=("country_code", "mission_type", "name"))
    return _write(lambda actor: services.update_embassy(embassy_id=embassy_id, actor=actor, **values),
                  lambda e: embassy_json(e, history=True), field="name", status=200)


EMBASSY_STATUS_BODY = {
    "status": (TEXT, "required: " + ", ".join(s.value for s in EmbassyStatus)),
    "effective_on": (DAY, "required"),
    "reason": (TEXT, "why"),
    "new_address": (TEXT, "required for a move (status moved)"),
    "new_ward": (TEXT, "the ward after a move"),
}


@bp.post("/embassies/<int:embassy_id>/status")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Record a closure, a temporary closure, a reopening or a move.", EMBASSY_STATUS_BODY),
     schema=EMBASSY_DETAIL, tag="network")
def change_embassy_status(embassy_id: int):
    db.get_or_404(Embassy, embassy_id)
    values = read_body(EMBASSY_STATUS_BODY, required=("status", "effective_on"))
    return _write(lambda actor: services.change_embassy_status(embassy_id=embassy_id, actor=actor, **values),
                  lambda e: embassy_json(e, history=True), field="status")


# -- city networks ------------------------------------------------------------------------------------


@bp.get("/networks")
@auth.roles_required(Role.VIEWER)
@doc("Multilateral city networks (C40, U20, …) with the home city's current role.",
     parameters=PAGE_PARAMS, schema=page_of(NETWORK_SCHEMA), tag="network")
def networks():
    query = (select(CityNetwork).options(selectinload(CityNetwork.home_roles))
             .order_by(CityNetwork.name, CityNetwork.id))
    return jsonify(paginate(query, network_json))


@bp.get("/networks/<int:network_id>")
@auth.roles_required(Role.VIEWER)
@doc("One city network with the home city's roles over time, its members and its events.",
     schema=NETWORK_DETAIL, tag="network")
def network(network_id: int):
    return jsonify(network_json(db.get_or_404(CityNetwork, network_id), detail=True))


NETWORK_BODY = {
    "name": (TEXT, "required; unique"),
    "acronym": (TEXT, "such as C40"),
    "name_ja": (TEXT, "in Japanese"),
    "website": (TEXT, "URL"),
    "description": (TEXT, "free text"),
    "is_sample": (FLAG, "true for sample data"),
}


@bp.post("/networks")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Register a city network.", NETWORK_BODY), schema=NETWORK_DETAIL, tag="network")
def create_network():
    values = {"name": "", **read_body(NETWORK_BODY)}
    return _write(lambda actor: services.create_network(actor=actor, **values),
                  lambda n: network_json(n, detail=True), field="name")


NETWORK_UPDATE_BODY = {name: spec for name, spec in NETWORK_BODY.items() if name != "is_sample"}


@bp.post("/networks/<int:network_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Replace a city network's name, acronym, Japanese name, website and description.",
                NETWORK_UPDATE_BODY), schema=NETWORK_DETAIL, tag="network")
def update_network(network_id: int):
    db.get_or_404(CityNetwork, network_id)
    values = read_body(NETWORK_UPDATE_BODY, required=("name",))
    return _write(lambda actor: services.update_network(network_id=network_id, actor=actor, **values),
                  lambda n: network_json(n, detail=True), field="name", status=200)


MEMBER_BODY = {"city_id": (INTEGER, "required: GeoNames id of the city"), "joined_on": (DAY, "when it joined")}


@bp.post("/networks/<int:network_id>/members")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Add a member city to a network.", MEMBER_BODY), schema=MEMBER, tag="network")
def add_network_member(network_id: int):
    db.get_or_404(CityNetwork, network_id)
    values = read_body(MEMBER_BODY, required=("city_id",))
    return _write(lambda actor: services.add_network_member(network_id=network_id, actor=actor, **values),
                  member_json, field="city_id")


EVENT_BODY = {
    "title": (TEXT, "required"),
    "starts_on": (DAY, "required"),
    "ends_on": (DAY, "the last day"),
    "kind": (TEXT, "such as summit"),
    "city_id": (INTEGER, "GeoNames id of the host city"),
    "venue": (TEXT, "the venue"),
    "url": (TEXT, "URL"),
    "description": (TEXT, "free text"),
}


@bp.post("/networks/<int:network_id>/events")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Add an event (a summit, a Sherpa meeting) to a network.", EVENT_BODY), schema=EVENT, tag="network")
def add_network_event(network_id: int):
    db.get_or_404(CityNetwork, network_id)
    values = {"title": "", **read_body(EVENT_BODY, required=("starts_on",))}
    return _write(lambda actor: services.add_network_event(network_id=network_id, actor=actor, **values),
                  event_json, field="title")


MEMBER_UPDATE_BODY = {"joined_on": (DAY, "when it joined"),
                      "left_on": (DAY, "when it left the network; null while it is a member")}


@bp.post("/networks/<int:network_id>/members/<int:member_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Correct when a member city joined, or record that it left (not before it joined, not in the "
                "future).", MEMBER_UPDATE_BODY), schema=MEMBER, tag="network")
def update_network_member(network_id: int, member_id: int):
    _of_network(NetworkMember, member_id, network_id)
    values = read_body(MEMBER_UPDATE_BODY)
    return _write(lambda actor: services.update_network_member(member_id=member_id, actor=actor, **values),
                  member_json, field="joined_on", status=200)


@bp.post("/networks/<int:network_id>/events/<int:event_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Replace a network event's title, kind, dates, place and description (the end not before the "
                "start).", EVENT_BODY), schema=EVENT, tag="network")
def update_network_event(network_id: int, event_id: int):
    _of_network(NetworkEvent, event_id, network_id)
    values = {"title": "", **read_body(EVENT_BODY, required=("starts_on",))}
    return _write(lambda actor: services.update_network_event(event_id=event_id, actor=actor, **values),
                  event_json, field="title", status=200)
