"""JSON endpoints of the partners module (routes added to the shared API blueprint kizuna.api.bp): organisations,
contacts, interactions and follow-ups; reads for staff, writes for editors' tokens through the services.

The body and query-string readers, the pager and the OpenAPI schema helpers are the shared ones of
kizuna/api.py, so that every part of the API reads input and refuses it alike.
"""

from __future__ import annotations

from flask import abort, jsonify, request
from sqlalchemy import func, or_, select
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
    iso,
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
from network.api import arg_country
from network.reference import fold

from . import log, services
from .models import (
    Contact,
    FollowUp,
    Interaction,
    InteractionKind,
    LegalBasis,
    NameOrder,
    Organisation,
    OrganisationKind,
    Position,
    Tag,
)

# -- schemas for the OpenAPI document ------------------------------------------------------------------

DATE = {"type": ["string", "null"], "format": "date"}
MOMENT = {"type": ["string", "null"], "format": "date-time"}
ORGANISATION_REF = obj(id=INT, name=STR, display_name=STR, kind=enum_of(OrganisationKind))
CONTACT_REF = obj(id=INT, display_name=STR)
STAFF_REF = obj(id=INT, name=STR, email=STR)
ORGANISATION_SCHEMA = obj(id=INT, kind=enum_of(OrganisationKind), name=STR, name_local=OPT_STR, display_name=STR,
                           parent_id=OPT_INT, partner_id=OPT_INT, embassy_id=OPT_INT, network_id=OPT_INT,
                           country=OPT_STR, website=OPT_STR, notes=STR)
POSITION_SCHEMA = obj(id=INT, organisation=ORGANISATION_REF, title=STR, department=STR, started_on=DATE,
                       ended_on=DATE, current=BOOL)
PEOPLE = obj(id=INT, contact=CONTACT_REF, title=STR, department=STR, started_on=DATE)
ORGANISATION_DETAIL = obj(**ORGANISATION_SCHEMA["properties"], departments=list_of(ORGANISATION_REF),
                           people=list_of(PEOPLE))
REACH = {"type": "array", "items": obj(value=STR, label=STR, primary=BOOL)}
CONTACT_SCHEMA = obj(
    id=INT, display_name=STR, family_name=STR, given_name=STR, family_name_local=STR, given_name_local=STR,
    name_order=enum_of(NameOrder), honorific=STR, title=STR, country=OPT_STR, preferred_language=OPT_STR,
    languages=list_of(STR), city_id=OPT_INT, timezone=OPT_STR, timezone_override=OPT_STR,
    protocol_rank=OPT_INT, notes=STR, source=STR,
    legal_basis={"type": ["string", "null"], "enum": [b.value for b in LegalBasis] + [None]},
    consent_date=DATE, review_date=DATE, user_id=OPT_INT, erased=BOOL,
    emails=list_of(obj(address=STR, label=STR, primary=BOOL)),
    phones=list_of(obj(number=STR, label=STR, primary=BOOL, description="E.164")),
    tags=list_of(STR), positions=list_of(POSITION_SCHEMA))
GIFT = {"anyOf": [obj(description=STR, value={"type": ["string", "null"],
                                                   "description": "decimal amount, such as 15000.00"},
                       currency=OPT_STR), {"type": "null"}], "description": "gifts only"}
FOLLOW_UP_SCHEMA = obj(id=INT, interaction_id=INT, interaction_subject=STR, owner=STAFF_REF, due_on=DATE,
                        text=STR, done=BOOL, done_at=MOMENT, reminded_at=MOMENT)
INTERACTION_SCHEMA = obj(id=INT, kind=enum_of(InteractionKind), occurred_on=DATE, subject=STR, notes=STR, gift=GIFT,
                          contacts=list_of(CONTACT_REF), staff=list_of(STAFF_REF),
                          organisations=list_of(ORGANISATION_REF), follow_ups=list_of(FOLLOW_UP_SCHEMA),
                          created_by_id=OPT_INT)


# -- JSON of the module's objects ----------------------------------------------------------------------


def organisation_ref(organisation: Organisation) -> dict:
    return {"id": organisation.id, "name": organisation.name,
            "display_name": organisation.display_name(reader_language()), "kind": organisation.kind.value}


def organisation_json(organisation: Organisation, *, detail: bool = False) -> dict:
    out = {"id": organisation.id, "kind": organisation.kind.value, "name": organisation.name,
           "name_local": organisation.name_local, "display_name": organisation.display_name(reader_language()),
           "parent_id": organisation.parent_id, "partner_id": organisation.partner_id,
           "embassy_id": organisation.embassy_id, "network_id": organisation.network_id,
           "country": organisation.country_code, "website": organisation.website, "notes": organisation.notes}
    if detail:
        out["departments"] = [organisation_ref(d) for d in organisation.departments]
        out["people"] = [{"id": p.id, "contact": contact_ref(p.contact), "title": p.title,
                          "department": p.department, "started_on": iso(p.started_on)}
                         for p in organisation.positions if p.is_current and p.contact.erased_at is None]
    return out


def contact_ref(contact: Contact) -> dict:
    return {"id": contact.id, "display_name": contact.display_name(reader_language())}


def position_json(position: Position) -> dict:
    return {"id": position.id, "organisation": organisation_ref(position.organisation), "title": position.title,
            "department": position.department, "started_on": iso(position.started_on),
            "ended_on": iso(position.ended_on), "current": position.is_current}


def contact_json(contact: Contact) -> dict:
    return {
        "id": contact.id, "display_name": contact.display_name(reader_language()),
        "family_name": contact.family_name, "given_name": contact.given_name,
        "family_name_local": contact.family_name_local, "given_name_local": contact.given_name_local,
        "name_order": contact.name_order.value, "honorific": contact.honorific, "title": contact.title,
        "country": contact.country_code, "preferred_language": contact.preferred_language,
        "languages": contact.language_codes, "city_id": contact.city_id, "timezone": contact.timezone,
        "timezone_override": contact.timezone_override, "protocol_rank": contact.protocol_rank,
        "notes": contact.notes, "source": contact.source,
        "legal_basis": contact.legal_basis.value if contact.legal_basis else None,
        "consent_date": iso(contact.consent_date), "review_date": iso(contact.review_date),
        "user_id": contact.user_id, "erased": contact.erased_at is not None,
        "emails": [{"address": e.address, "label": e.label, "primary": e.is_primary} for e in contact.emails],
        "phones": [{"number": p.number, "label": p.label, "primary": p.is_primary} for p in contact.phones],
        "tags": [t.name for t in contact.tags],
        "positions": [position_json(p) for p in contact.positions],
    }


def staff_ref(user) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email}


def follow_up_json(follow_up: FollowUp) -> dict:
    return {"id": follow_up.id, "interaction_id": follow_up.interaction_id,
            "interaction_subject": follow_up.interaction.subject, "owner": staff_ref(follow_up.owner),
            "due_on": iso(follow_up.due_on), "text": follow_up.text, "done": follow_up.done_at is not None,
            "done_at": iso(follow_up.done_at), "reminded_at": iso(follow_up.reminded_at)}


def interaction_json(interaction: Interaction) -> dict:
    gift = None
    if interaction.kind.is_gift:
        gift = {"description": interaction.gift_description or "",
                "value": str(interaction.gift_value) if interaction.gift_value is not None else None,
                "currency": interaction.gift_currency}
    return {"id": interaction.id, "kind": interaction.kind.value, "occurred_on": iso(interaction.occurred_on),
            "subject": interaction.subject, "notes": interaction.notes, "gift": gift,
            "contacts": [contact_ref(c) for c in interaction.contacts],
            "staff": [staff_ref(u) for u in interaction.staff],
            "organisations": [organisation_ref(o) for o in interaction.organisations],
            "follow_ups": [follow_up_json(f) for f in interaction.follow_ups],
            "created_by_id": interaction.created_by_id}


# -- writing ------------------------------------------------------------------------------------------


def _arg_int(name: str) -> int | None:
    return parse_int(name, request.args.get(name))


def _write(call, serialize, *, field: str, status: int = 201):
    return write(call, serialize, field=field, status=status)


# -- organisations ------------------------------------------------------------------------------------


@bp.get("/organisations")
@auth.roles_required(Role.VIEWER)
@doc("Organisations (partner governments and their departments, embassies, network secretariats, companies, "
     "universities, NGOs, …), by name.",
     parameters=[query_param("kind", "Only this kind.", enum=[k.value for k in OrganisationKind]),
                 query_param("country", "ISO 3166-1 alpha-2 code, such as FR."),
                 query_param("partner_id", "Only the government and departments of this partner.", "integer"),
                 query_param("parent_id", "Only the departments of this organisation.", "integer"),
                 query_param("q", "Part of the name, in Latin or local script (case-insensitive)."),
                 *PAGE_PARAMS],
     schema=page_of(ORGANISATION_SCHEMA), tag="partners")
def organisations():
    query = select(Organisation).order_by(Organisation.name, Organisation.id)
    if kind := arg_enum("kind", OrganisationKind):
        query = query.where(Organisation.kind == kind)
    if country := arg_country():
        query = query.where(Organisation.country_code == country)
    if (partner_id := _arg_int("partner_id")) is not None:
        query = query.where(Organisation.partner_id == partner_id)
    if (parent_id := _arg_int("parent_id")) is not None:
        query = query.where(Organisation.parent_id == parent_id)
    if q := request.args.get("q", "").strip():
        # as the organisation list searches: the Latin name folded, or the name in the local script
        query = query.where(or_(Organisation.search_key.contains(fold(q), autoescape=True),
                                func.lower(Organisation.name_local).contains(q.lower(), autoescape=True)))
    return jsonify(paginate(query, organisation_json))


@bp.get("/organisations/<int:organisation_id>")
@auth.roles_required(Role.VIEWER)
@doc("One organisation with its departments and the people who hold a post there now.",
     schema=ORGANISATION_DETAIL, tag="partners")
def organisation(organisation_id: int):
    found = db.session.scalar(select(Organisation).where(Organisation.id == organisation_id).options(
        selectinload(Organisation.departments),
        selectinload(Organisation.positions).selectinload(Position.contact)))
    if found is None:
        abort(404)
    return jsonify(organisation_json(found, detail=True))


ORGANISATION_BODY = {
    "kind": (TEXT, "required: " + ", ".join(k.value for k in OrganisationKind)),
    "name": (TEXT, "required: the name in Latin script"),
    "name_local": (TEXT, "in the organisation's own script"),
    "parent_id": (INTEGER, "the organisation it belongs to (a department's government)"),
    "partner_id": (INTEGER, "the registry's partner, for a partner government and its departments"),
    "embassy_id": (INTEGER, "the registry's mission, for an embassy"),
    "network_id": (INTEGER, "the registry's city network, for a network secretariat"),
    "country_code": (TEXT, "ISO 3166-1 alpha-2"),
    "website": (TEXT, "URL"),
    "notes": (TEXT, "free text"),
}


def _organisation_values() -> dict:
    return {"kind": None, "name": None, **read_body(ORGANISATION_BODY, required=("kind", "name"))}


@bp.post("/organisations")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Add an organisation.", ORGANISATION_BODY), schema=ORGANISATION_DETAIL, tag="partners")
def create_organisation():
    values = _organisation_values()
    return _write(lambda actor: services.create_organisation(actor=actor, **values),
                  lambda o: organisation_json(o, detail=True), field="name")


@bp.post("/organisations/<int:organisation_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Replace an organisation's fields; a government linked to another partner takes its "
                "departments with it.", ORGANISATION_BODY), schema=ORGANISATION_DETAIL, tag="partners")
def update_organisation(organisation_id: int):
    db.get_or_404(Organisation, organisation_id)
    values = _organisation_values()
    return _write(lambda actor: services.update_organisation(organisation_id=organisation_id, actor=actor,
                                                             **values),
                  lambda o: organisation_json(o, detail=True), field="name", status=200)


# -- contacts -----------------------------------------------------------------------------------------


def _contacts_query():
    return (select(Contact).options(
        selectinload(Contact.emails), selectinload(Contact.phones), selectinload(Contact.languages),
        selectinload(Contact.tags), selectinload(Contact.city),
        selectinload(Contact.positions).selectinload(Position.organisation)))


@bp.get("/contacts")
@auth.roles_required(Role.VIEWER)
@doc("Contacts with their posts, emails, phones, languages and tags, by family name.",
     parameters=[query_param("q", "Part of a name, in Latin or local script (case-insensitive); every word "
                                  "must match."),
                 query_param("organisation_id", "Only people who hold a post there now.", "integer"),
                 query_param("country", "The person's country (ISO 3166-1 alpha-2)."),
                 query_param("language", "Only people who speak this language (BCP 47, such as ja)."),
                 query_param("tag", "Only people with this tag."), *PAGE_PARAMS],
     schema=page_of(CONTACT_SCHEMA), tag="partners")
def contacts():
    query = _contacts_query().where(Contact.erased_at.is_(None)).order_by(
        Contact.family_name, Contact.given_name, Contact.family_name_local, Contact.id)
    if q := request.args.get("q", "").strip():  # as the contact list searches: any script, either order
        query = query.where(Contact.search_key.contains(fold(q), autoescape=True))
    if (organisation_id := _arg_int("organisation_id")) is not None:
        query = query.where(Contact.positions.any((Position.organisation_id == organisation_id)
                                                  & Position.ended_on.is_(None)))
    if country := arg_country():
        query = query.where(Contact.country_code == country)
    if language := request.args.get("language", "").strip():
        try:
            code = services.language_tag(language, "language")
        except services.PartnersError as exc:
            raise Invalid("language", str(exc)) from None
        query = query.where(Contact.languages.any(code=code))
    if tag := request.args.get("tag", "").strip():
        query = query.where(Contact.tags.any(Tag.key == " ".join(tag.split()).casefold()))
    return jsonify(paginate(query, contact_json))


@bp.get("/contacts/<int:contact_id>")
@auth.roles_required(Role.VIEWER)
@doc("One contact with their posts (current first, then the history), emails, phones, languages and tags.",
     schema=CONTACT_SCHEMA, tag="partners")
def contact(contact_id: int):
    found = db.session.scalar(_contacts_query().where(Contact.id == contact_id))
    if found is None:
        abort(404)
    return jsonify(contact_json(found))


CONTACT_BODY = {
    "family_name": (TEXT, "in Latin script; a family or a given name, in either script, is required"),
    "given_name": (TEXT, "in Latin script"),
    "family_name_local": (TEXT, "in the person's own script"),
    "given_name_local": (TEXT, "in the person's own script"),
    "name_order": (TEXT, "family_first or given_first; by default from the local name's script or the country"),
    "honorific": (TEXT, "such as H.E. or Dr"),
    "title": (TEXT, "such as Ambassador"),
    "country_code": (TEXT, "the person's country, ISO 3166-1 alpha-2"),
    "languages": (TEXTS, "languages spoken, BCP 47 (ja, en-GB, zh-Hant)"),
    "preferred_language": (TEXT, "for correspondence, BCP 47; added to the languages spoken"),
    "city_id": (INTEGER, "GeoNames id of the person's city (gives the time zone)"),
    "timezone_override": (TEXT, "IANA time zone, when not their city's"),
    "protocol_rank": (INTEGER, "order of precedence, 1 first"),
    "notes": (TEXT, "free text"),
    "source": (TEXT, "where the data came from"),
    "legal_basis": (TEXT, ", ".join(b.value for b in LegalBasis)),
    "consent_date": (DAY, "required with consent"),
    "review_date": (DAY, "when to review the data"),
    "emails": (OBJECTS, "{address (required), label, primary}; the first is primary unless another says so"),
    "phones": (OBJECTS, "{number (required; read as dialled in the person's country unless it starts with +), "
                        "label, primary}"),
    "tags": (TEXTS, "tag names"),
}


def _reach(values: dict, name: str, key: str) -> None:
    """Check each email or phone object's keys and types here; the services judge the values."""
    for index, entry in enumerate(values.get(name, ())):
        if set(entry) - {key, "label", "primary"}:
            raise Invalid(name, f"Each of {name} has {key}, label and primary only.")
        if not isinstance(entry.get(key), str) or not isinstance(entry.get("label", ""), str):
            raise Invalid(f"{name}-{index}-{key}", f"{key} and label are strings.")
        if not isinstance(entry.get("primary", False), bool):
            raise Invalid(f"{name}-{index}-primary", "primary must be true or false.")


def _contact_values() -> dict:
    values = read_body(CONTACT_BODY)
    _reach(values, "emails", "address")
    _reach(values, "phones", "number")
    return values


@bp.post("/contacts")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Add a contact with their emails, phones, languages and tags; error.fields names an email or a "
               "phone by its place, such as emails-0-address.", CONTACT_BODY), schema=CONTACT_SCHEMA,
     tag="partners")
def create_contact():
    values = _contact_values()
    return _write(lambda actor: services.create_contact(actor=actor, **values), contact_json, field="family_name")


@bp.post("/contacts/<int:contact_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Replace a contact's fields, emails, phones, languages and tags.", CONTACT_BODY),
     schema=CONTACT_SCHEMA, tag="partners")
def update_contact(contact_id: int):
    db.get_or_404(Contact, contact_id)
    values = _contact_values()
    return _write(lambda actor: services.update_contact(contact_id=contact_id, actor=actor, **values),
                  contact_json, field="family_name", status=200)


POSITION_BODY = {
    "organisation_id": (INTEGER, "required"),
    "title": (TEXT, "the post, such as Director of International Affairs"),
    "department": (TEXT, "the department"),
    "started_on": (DAY, "when the post began"),
    "ended_on": (DAY, "for a post held in the past"),
    "end_current": (FLAG, "the person has moved: their current posts end on started_on"),
}


@bp.post("/contacts/<int:contact_id>/positions")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Record a post the contact holds or held; with end_current, a move (the earlier posts stay in "
               "the history).", POSITION_BODY), schema=CONTACT_SCHEMA, tag="partners")
def add_position(contact_id: int):
    db.get_or_404(Contact, contact_id)
    values = read_body(POSITION_BODY, required=("organisation_id",))
    return _write(lambda actor: services.add_position(contact_id=contact_id, actor=actor, **values).contact,
                  contact_json, field="organisation_id")


# -- interactions -------------------------------------------------------------------------------------


@bp.get("/interactions")
@auth.roles_required(Role.VIEWER)
@doc("The interaction log (visits, calls, meetings, letters, emails, gifts), newest first.",
     parameters=[query_param("kind", "Only this kind.", enum=[k.value for k in InteractionKind]),
                 query_param("from", "On or after this day (YYYY-MM-DD).", format="date"),
                 query_param("to", "On or before this day (YYYY-MM-DD).", format="date"),
                 query_param("contact_id", "Only those this contact took part in.", "integer"),
                 query_param("organisation_id", "Only those this organisation took part in.", "integer"),
                 query_param("staff_id", "Only those this staff account took part in.", "integer"),
                 *PAGE_PARAMS],
     schema=page_of(INTERACTION_SCHEMA), tag="partners")
def interactions():
    since, until = parse_date("from", request.args.get("from")), parse_date("to", request.args.get("to"))
    if since and until and until < since:
        raise Invalid("to", "to must not come before from.")
    query = log.interactions(kind=arg_enum("kind", InteractionKind), since=since, until=until,
                             contact_id=_arg_int("contact_id"), organisation_id=_arg_int("organisation_id"),
                             staff_id=_arg_int("staff_id"))
    return jsonify(paginate(query, interaction_json))


@bp.get("/interactions/<int:interaction_id>")
@auth.roles_required(Role.VIEWER)
@doc("One interaction with its participants, gift and follow-ups.", schema=INTERACTION_SCHEMA, tag="partners")
def interaction(interaction_id: int):
    found = log.interaction(interaction_id)
    if found is None:
        abort(404)
    return jsonify(interaction_json(found))


INTERACTION_BODY = {
    "kind": (TEXT, "required: " + ", ".join(k.value for k in InteractionKind)),
    "occurred_on": (DAY, "required; today or earlier"),
    "subject": (TEXT, "required"),
    "notes": (TEXT, "free text"),
    "contact_ids": (INTS, "the contacts who took part; at least one contact or organisation"),
    "organisation_ids": (INTS, "the organisations that took part"),
    "staff_ids": (INTS, "the staff accounts that took part"),
    "gift_description": (TEXT, "gifts only: required for one"),
    "gift_value": (TEXT, "gifts only: a decimal amount as a string, such as 15000 or 120.50"),
    "gift_currency": (TEXT, "gifts only: ISO 4217, required with a value"),
}


@bp.post("/interactions")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Log an interaction that happened.", INTERACTION_BODY), schema=INTERACTION_SCHEMA, tag="partners")
def create_interaction():
    values = {"kind": None, "occurred_on": None, "subject": "",
              **read_body(INTERACTION_BODY, required=("kind", "occurred_on", "subject"))}
    return _write(lambda actor: services.add_interaction(actor=actor, **values), interaction_json, field="kind")


@bp.post("/interactions/<int:interaction_id>")
@auth.roles_required(Role.EDITOR)
@doc(**updates("Replace a logged interaction's fields and participants (a contact erased since stays among "
                "them); its follow-ups stay.", INTERACTION_BODY), schema=INTERACTION_SCHEMA, tag="partners")
def update_interaction(interaction_id: int):
    db.get_or_404(Interaction, interaction_id)
    values = {"kind": None, "occurred_on": None, "subject": "",
              **read_body(INTERACTION_BODY, required=("kind", "occurred_on", "subject"))}
    return _write(lambda actor: services.update_interaction(interaction_id=interaction_id, actor=actor, **values),
                  interaction_json, field="kind", status=200)


# -- follow-ups ---------------------------------------------------------------------------------------


@bp.get("/follow-ups")
@auth.roles_required(Role.VIEWER)
@doc("Follow-ups, soonest due first.",
     parameters=[query_param("owner_id", "Only this staff account's.", "integer"),
                 query_param("done", "true: only those done; false: only open ones.", "boolean"),
                 query_param("due_by", "Due on or before this day (YYYY-MM-DD).", format="date"), *PAGE_PARAMS],
     schema=page_of(FOLLOW_UP_SCHEMA), tag="partners")
def follow_ups():
    done = request.args.get("done", "").strip().lower()
    if done not in ("", "true", "false"):
        raise Invalid("done", "done must be true or false.")
    query = log.follow_ups(owner_id=_arg_int("owner_id"), done={"true": True, "false": False}.get(done),
                           due_by=parse_date("due_by", request.args.get("due_by")))
    return jsonify(paginate(query, follow_up_json))


@bp.get("/follow-ups/<int:follow_up_id>")
@auth.roles_required(Role.VIEWER)
@doc("One follow-up.", schema=FOLLOW_UP_SCHEMA, tag="partners")
def follow_up(follow_up_id: int):
    return jsonify(follow_up_json(db.get_or_404(FollowUp, follow_up_id)))


FOLLOW_UP_BODY = {
    "owner_id": (INTEGER, "required: the staff account that is to do it"),
    "due_on": (DAY, "required; not before the interaction"),
    "text": (TEXT, "required: what is to be done"),
}


@bp.post("/interactions/<int:interaction_id>/follow-ups")
@auth.roles_required(Role.EDITOR)
@doc(**writes("Give a staff member something to do after an interaction; they are reminded by email when it "
               "falls due.", FOLLOW_UP_BODY), schema=FOLLOW_UP_SCHEMA, tag="partners")
def add_follow_up(interaction_id: int):
    db.get_or_404(Interaction, interaction_id)
    values = {"text": "", **read_body(FOLLOW_UP_BODY, required=("owner_id", "due_on"))}
    return _write(lambda actor: services.add_follow_up(interaction_id=interaction_id, actor=actor, **values),
                  follow_up_json, field="text")


@bp.post("/follow-ups/<int:follow_up_id>/done")
@auth.roles_required(Role.EDITOR)
@doc("Mark a follow-up done (once; it gets no more reminders). Editors only, with an API token; takes no body. "
     "A follow-up already done is a 422.", schema=FOLLOW_UP_SCHEMA, tag="partners")
def complete_follow_up(follow_up_id: int):
    db.get_or_404(FollowUp, follow_up_id)
    return _write(lambda actor: services.complete_follow_up(follow_up_id=follow_up_id, actor=actor),
                  follow_up_json, field="done", status=200)
