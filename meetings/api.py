"""JSON endpoints of the meetings module (routes added to the shared API blueprint kizuna.api.bp): series,
meetings, invitations and registrations; reads for staff, writes for editors' tokens through the services.

The body and query-string readers, the pager and the OpenAPI schema helpers are the shared ones of
kizuna/api.py, so that every part of the API reads input and refuses it alike. Times go out as ISO 8601 in
UTC with the meeting's IANA zone beside them and the same instants in that zone's wall-clock time; they come
in as local date-times (YYYY-MM-DDTHH:MM) read in the meeting's zone, as on the staff's form.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import jsonify, request
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import selectinload

from kizuna import auth
from kizuna.api import (
    BOOL,
    FLAG,
    INT,
    INTEGER,
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
from kizuna.urls import external_url

from . import agenda, queries, services
from .models import (
    AgendaItem,
    Answer,
    DelegateRole,
    Invitation,
    Meeting,
    MeetingDocument,
    MeetingFormat,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    Tier,
)

TAG = "meetings"

# -- schemas for the OpenAPI document ------------------------------------------------------------------

MOMENT = {"type": ["string", "null"], "format": "date-time"}
BY_LANGUAGE = {"type": "object", "additionalProperties": {"type": "string"},
               "description": "language code (BCP 47) → text, such as {\"en\": …, \"ja\": …}"}
SERIES_SCHEMA = obj(id=INT, uid=STR, titles=BY_LANGUAGE, title=STR, descriptions=BY_LANGUAGE, default_language=STR,
                    tier=enum_of(Tier), rrule=STR, default_format=enum_of(MeetingFormat),
                    default_delegation_limit=OPT_INT, invitable_ranks=list_of(STR), accreditation_required=BOOL,
                    meeting_ids=list_of(INT))
COUNTS = obj(invited=INT, accepted=INT, registered=INT, waiting=INT)
MEETING_SCHEMA = obj(
    id=INT, uid=STR, sequence=INT, series_id=OPT_INT, tier=enum_of(Tier), format=enum_of(MeetingFormat),
    status=enum_of(MeetingStatus), titles=BY_LANGUAGE, title=STR, descriptions=BY_LANGUAGE, default_language=STR,
    timezone={"type": "string", "description": "IANA zone, such as Asia/Tokyo"},
    starts_at={**MOMENT, "description": "UTC"}, ends_at={**MOMENT, "description": "UTC"},
    local_starts_at={**MOMENT, "description": "in the meeting's zone, with its offset"},
    local_ends_at={**MOMENT, "description": "in the meeting's zone, with its offset"},
    venue=STR, room=STR, address=STR, online_url=OPT_STR, city_id=OPT_INT,
    registration_opens_at=MOMENT, registration_closes_at=MOMENT, capacity=OPT_INT, delegation_limit=OPT_INT,
    interpretation_languages=list_of(STR), accreditation_required=BOOL, approval_required=BOOL,
    network_event_id=OPT_INT, imported=BOOL, counts=COUNTS)
PARTNER_REF = {"anyOf": [obj(id=INT, name=STR, display_name=STR), {"type": "null"}]}
INVITATION_SCHEMA = obj(id=INT, meeting_id=INT, email=STR, name=STR, language=STR, timezone=OPT_STR,
                        partner=PARTNER_REF, contact_id=OPT_INT, answer=enum_of(Answer), answered_at=MOMENT,
                        answered_via=STR, comment=STR, sequence_sent=OPT_INT, reminded_at=MOMENT, removed_at=MOMENT,
                        delivery={**OPT_STR, "description": "the state of the latest message sent to them"})
REGISTRATION_SCHEMA = obj(id=INT, meeting_id=INT, delegation_id=OPT_INT, partner_id=OPT_INT, invitation_id=OPT_INT,
                          name=STR, email=STR, language=STR, role=enum_of(DelegateRole), title=STR,
                          status=enum_of(RegistrationStatus), arrival_at=MOMENT, departure_at=MOMENT, dietary=STR,
                          accessibility=STR, interpretation_language=STR, accreditation=BOOL,
                          offer_expires_at=MOMENT, registered_at=MOMENT, decided_at=MOMENT)

# A body field of texts per language, and one of a local date-time: read here, not by read_body's types.
LANGUAGE_TEXTS, LOCAL_TIME = "object language → text", "local date-time YYYY-MM-DDTHH:MM"
_OWN_TYPES = {LANGUAGE_TEXTS: BY_LANGUAGE,
              LOCAL_TIME: {"type": "string", "format": "date-time",
                           "description": "wall-clock time in the meeting's zone, such as 2027-03-04T10:00"}}


# -- JSON of the module's objects ----------------------------------------------------------------------


def _local(value: datetime | None, zone: str) -> str | None:
    return value.astimezone(ZoneInfo(zone)).isoformat() if value is not None else None


def series_json(series: MeetingSeries) -> dict:
    return {"id": series.id, "uid": series.uid, "titles": series.titles, "title": series.title(reader_language()),
            "descriptions": series.descriptions, "default_language": series.default_language,
            "tier": series.tier.value, "rrule": series.rrule, "default_format": series.default_format.value,
            "default_delegation_limit": series.default_delegation_limit,
            "invitable_ranks": series.invitable_ranks, "accreditation_required": series.accreditation_required,
            "meeting_ids": [m.id for m in series.meetings]}


def meeting_json(meeting: Meeting, counts: queries.Counts | None = None) -> dict:
    counts = counts or queries.counts([meeting.id])[meeting.id]
    zone = meeting.timezone
    return {
        "id": meeting.id, "uid": meeting.uid, "sequence": meeting.sequence, "series_id": meeting.series_id,
        "tier": meeting.tier.value, "format": meeting.format.value, "status": meeting.status.value,
        "titles": meeting.titles, "title": meeting.title(reader_language()), "descriptions": meeting.descriptions,
        "default_language": meeting.default_language, "timezone": zone,
        "starts_at": iso(meeting.starts_at), "ends_at": iso(meeting.ends_at),
        "local_starts_at": _local(meeting.starts_at, zone), "local_ends_at": _local(meeting.ends_at, zone),
        "venue": meeting.venue, "room": meeting.room, "address": meeting.address, "online_url": meeting.online_url,
        "city_id": meeting.city_id, "registration_opens_at": iso(meeting.registration_opens_at),
        "registration_closes_at": iso(meeting.registration_closes_at), "capacity": meeting.capacity,
        "delegation_limit": meeting.delegation_limit, "interpretation_languages": meeting.interpretation_languages,
        "accreditation_required": meeting.accreditation_required, "approval_required": meeting.approval_required,
        "network_event_id": meeting.network_event_id, "imported": meeting.imported,
        "counts": {"invited": counts.invited, "accepted": counts.accepted, "registered": counts.registered,
                   "waiting": counts.waiting},
    }


def _meetings_page(query) -> dict:
    """One page of meetings, their counts read for the whole page in two queries."""
    page = paginate(query, lambda m: m)
    counts = queries.counts([m.id for m in page["items"]])
    page["items"] = [meeting_json(m, counts[m.id]) for m in page["items"]]
    return page


def invitation_json(invitation: Invitation, partners: dict | None = None, deliveries: dict | None = None) -> dict:
    if partners is None:
        partners = queries.partner_names([invitation.partner_id])
    if deliveries is None:
        deliveries = queries.latest_messages(invitation.meeting_id)
    partner = partners.get(invitation.partner_id)
    delivery = deliveries.get(invitation.email.lower())
    return {"id": invitation.id, "meeting_id": invitation.meeting_id, "email": invitation.email,
            "name": invitation.name, "language": invitation.language, "timezone": invitation.timezone,
            "partner": {"id": partner.id, "name": partner.name,
                        "display_name": partner.display_name(reader_language())} if partner else None,
            "contact_id": invitation.contact_id, "answer": invitation.answer.value,
            "answered_at": iso(invitation.answered_at), "answered_via": invitation.answered_via,
            "comment": invitation.comment, "sequence_sent": invitation.sequence_sent,
            "reminded_at": iso(invitation.reminded_at), "removed_at": iso(invitation.removed_at),
            "delivery": getattr(delivery.status, "value", delivery.status) if delivery else None}


def registration_json(registration: Registration) -> dict:
    delegation = registration.delegation
    return {"id": registration.id, "meeting_id": registration.meeting_id,
            "delegation_id": registration.delegation_id, "partner_id": delegation.partner_id if delegation else None,
            "invitation_id": registration.invitation_id, "name": registration.name, "email": registration.email,
            "language": registration.language, "role": registration.role.value, "title": registration.title,
            "status": registration.status.value, "arrival_at": iso(registration.arrival_at),
            "departure_at": iso(registration.departure_at), "dietary": registration.dietary,
            "accessibility": registration.accessibility,
            "interpretation_language": registration.interpretation_language,
            "accreditation": registration.accreditation_sha256 is not None,
            "offer_expires_at": iso(registration.offer_expires_at), "registered_at": iso(registration.registered_at),
            "decided_at": iso(registration.decided_at)}


# -- reading input ------------------------------------------------------------------------------------


def _arg_int(name: str) -> int | None:
    return parse_int(name, request.args.get(name))


def _doc_body(what: str, body: dict, *, replace: bool = False, action: bool = False) -> dict:
    """writes()/updates() for a body with this module's own field types (texts per language, local times);
    an `action` on an object (cancel, withdraw, decide) answers 200 with the object changed."""
    spec = (updates if replace else writes)(what, {name: ((TEXT, text) if kind in _OWN_TYPES else (kind, text))
                                                   for name, (kind, text) in body.items()})
    if action:
        spec["summary"], spec["status"] = spec["summary"].replace("a 201 with", "a 200 with"), 200
    for name, (kind, text) in body.items():
        if kind in _OWN_TYPES:
            spec["body"]["properties"][name] = {**_OWN_TYPES[kind], "description": text}
    return spec


def _read(spec: dict, required: tuple[str, ...] = ()) -> dict:
    """read_body, then this module's own types: texts per language and local date-times."""
    values = read_body({name: ((TEXT, text) if kind == LOCAL_TIME else (kind, text))
                        for name, (kind, text) in spec.items()}, required=required)
    for name, value in values.items():
        kind = spec[name][0]
        if kind == LANGUAGE_TEXTS:
            if not (isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in value.items())):
                raise Invalid(name, f"{name} must be an object of texts by language, such as {{\"en\": \"…\"}}.")
            if any(len(code) > 16 or not code.replace("-", "").isalnum() for code in value):
                raise Invalid(name, f"{name} must be keyed by language codes, such as en or ja.")
        elif kind == LOCAL_TIME:
            values[name] = _local_time(name, value)
    return values


def _local_time(field: str, value: str) -> datetime | None:
    if value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) < 16 or value[10] not in "T ":
        raise Invalid(field, f"{field} must be a local date and time as YYYY-MM-DDTHH:MM.")
    return parsed


def _write(call, serialize, *, field: str, status: int = 201):
    return write(call, serialize, refused=services.MeetingError, field=field, status=status)


# -- series -------------------------------------------------------------------------------------------


@bp.get("/meeting-series")
@auth.roles_required(Role.VIEWER)
@doc("Meeting series (a recurring meeting and the defaults of its meetings), by tier.",
     parameters=[query_param("tier", "Only this tier.", enum=[t.value for t in Tier]), *PAGE_PARAMS],
     schema=page_of(SERIES_SCHEMA), tag=TAG)
def meeting_series_list():
    query = select(MeetingSeries).order_by(MeetingSeries.tier, MeetingSeries.id)
    if tier := arg_enum("tier", Tier):
        query = query.where(MeetingSeries.tier == tier)
    return jsonify(paginate(query, series_json))


@bp.get("/meeting-series/<int:series_id>")
@auth.roles_required(Role.VIEWER)
@doc("One meeting series with the ids of its meetings.", schema=SERIES_SCHEMA, tag=TAG)
def meeting_series(series_id: int):
    return jsonify(series_json(db.get_or_404(MeetingSeries, series_id)))


SERIES_BODY = {
    "titles": (LANGUAGE_TEXTS, "required: the title in at least one language"),
    "descriptions": (LANGUAGE_TEXTS, "the description per language"),
    "default_language": (TEXT, "the language to fall back on; en unless given"),
    "tier": (TEXT, "required: " + ", ".join(t.value for t in Tier)),
    "rrule": (TEXT, "RFC 5545 recurrence, such as FREQ=YEARLY;INTERVAL=2"),
    "default_format": (TEXT, "of its meetings: " + ", ".join(f.value for f in MeetingFormat)),
    "default_delegation_limit": (INTEGER, "people per delegation in its meetings"),
    "invitable_ranks": (TEXTS, "the ranks of people its meetings invite"),
    "accreditation_required": (FLAG, "whether delegates of its meetings send an accreditation document"),
}


@bp.post("/meeting-series")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Add a meeting series.", SERIES_BODY), schema=SERIES_SCHEMA, tag=TAG)
def create_meeting_series():
    values = _read(SERIES_BODY, required=("titles", "tier"))
    return _write(lambda actor: services.create_series(actor=actor, **values), series_json, field="titles")


# -- meetings -----------------------------------------------------------------------------------------


def _meetings_query():
    return select(Meeting).order_by(Meeting.starts_at, Meeting.id)


@bp.get("/meetings")
@auth.roles_required(Role.VIEWER)
@doc("Meetings, earliest first, with their counts of invitations and registrations.",
     parameters=[query_param("tier", "Only this tier.", enum=[t.value for t in Tier]),
                 query_param("status", "Only this status.", enum=[s.value for s in MeetingStatus]),
                 query_param("series_id", "Only the meetings of this series.", "integer"),
                 query_param("from", "Ending on or after this day, in UTC (YYYY-MM-DD).", format="date"),
                 query_param("to", "Starting on or before this day, in UTC (YYYY-MM-DD).", format="date"),
                 query_param("q", "Part of the title, in any of its languages (case-insensitive)."),
                 *PAGE_PARAMS],
     schema=page_of(MEETING_SCHEMA), tag=TAG)
def meetings():
    since, until = parse_date("from", request.args.get("from")), parse_date("to", request.args.get("to"))
    if since and until and until < since:
        raise Invalid("to", "to must not come before from.")
    query = _meetings_query()
    if tier := arg_enum("tier", Tier):
        query = query.where(Meeting.tier == tier)
    if status := arg_enum("status", MeetingStatus):
        query = query.where(Meeting.status == status)
    if (series_id := _arg_int("series_id")) is not None:
        query = query.where(Meeting.series_id == series_id)
    if since:
        query = query.where(Meeting.ends_at >= datetime.combine(since, time(), UTC))
    if until:
        query = query.where(Meeting.starts_at < datetime.combine(until + timedelta(days=1), time(), UTC))
    if q := request.args.get("q", "").strip().lower():
        # the titles are JSON: a title in another script is stored with its characters escaped (\u9ad8…)
        titles = func.lower(cast(Meeting.titles, String))
        query = query.where(or_(titles.contains(q, autoescape=True),
                                titles.contains(json.dumps(q)[1:-1], autoescape=True)))
    return jsonify(_meetings_page(query))


@bp.get("/meetings/<int:meeting_id>")
@auth.roles_required(Role.VIEWER)
@doc("One meeting: titles per language, times in UTC and in its own zone, place, capacity, counts, status, "
     "SEQUENCE and UID.", schema=MEETING_SCHEMA, tag=TAG)
def meeting(meeting_id: int):
    return jsonify(meeting_json(db.get_or_404(Meeting, meeting_id)))


MEETING_BODY = {
    "series_id": (INTEGER, "the series it belongs to; its defaults fill tier, format, delegation limit and "
                           "accreditation when they are not given"),
    "titles": (LANGUAGE_TEXTS, "required: the title in at least one language"),
    "descriptions": (LANGUAGE_TEXTS, "the description per language"),
    "default_language": (TEXT, "the language to fall back on; en unless given"),
    "tier": (TEXT, "required unless the series gives it: " + ", ".join(t.value for t in Tier)),
    "format": (TEXT, "required unless the series gives it: " + ", ".join(f.value for f in MeetingFormat)),
    "timezone": (TEXT, "required: the meeting's IANA zone, such as Asia/Tokyo"),
    "starts_at": (LOCAL_TIME, "required: in the meeting's zone"),
    "ends_at": (LOCAL_TIME, "required: in the meeting's zone, after the start"),
    "venue": (TEXT, "required unless online"),
    "room": (TEXT, ""),
    "address": (TEXT, ""),
    "online_url": (TEXT, "https:// link, required unless in person"),
    "city_id": (INTEGER, "the host city; the home city unless given"),
    "registration_opens_at": (LOCAL_TIME, "in the meeting's zone"),
    "registration_closes_at": (LOCAL_TIME, "in the meeting's zone; before the meeting ends"),
    "capacity": (INTEGER, "places in all; none: no limit"),
    "delegation_limit": (INTEGER, "people per delegation; none: no limit"),
    "interpretation_languages": (TEXTS, "language codes"),
    "accreditation_required": (FLAG, "delegates send an accreditation document (a note verbale)"),
    "approval_required": (FLAG, "staff approve each registration"),
    "network_event_id": (INTEGER, "the network event it is (such as a U20 Sherpa meeting)"),
}


def _meeting_values(*, creating: bool) -> dict:
    values = _read(MEETING_BODY, required=("titles", "timezone", "starts_at", "ends_at"))
    if not (creating and values.get("series_id") is not None):
        for field in ("tier", "format"):  # a series gives them when a meeting is created in it
            if field not in values:
                raise Invalid(field, f"{field} is required.")
    return values


@bp.post("/meetings")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Plan a meeting: a draft until it is scheduled.", MEETING_BODY), schema=MEETING_SCHEMA, tag=TAG)
def create_meeting():
    values = _meeting_values(creating=True)
    return _write(lambda actor: services.create_meeting(actor=actor, **values), meeting_json, field="titles")


@bp.post("/meetings/<int:meeting_id>")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Replace a meeting's fields. A change of time or place of a scheduled meeting raises its "
                 "SEQUENCE and sends an updated invitation to everyone invited or registered.", MEETING_BODY,
                 replace=True), schema=MEETING_SCHEMA, tag=TAG)
def update_meeting(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    values = _meeting_values(creating=False)
    return _write(lambda actor: services.update_meeting(meeting_id=meeting_id, actor=actor, **values),
                  meeting_json, field="titles", status=200)


@bp.post("/meetings/<int:meeting_id>/schedule")
@auth.roles_required(Role.EDITOR)
@doc("Schedule a draft or postponed meeting: from then on people can be invited and register. Editors only, "
     "with an API token; takes no body. A meeting in another state is a 422.", schema=MEETING_SCHEMA, tag=TAG)
def schedule_meeting(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    return _write(lambda actor: services.schedule_meeting(meeting_id=meeting_id, actor=actor), meeting_json,
                  field="status", status=200)


CANCEL_BODY = {"reason": (TEXT, "required: why; the people invited are told")}


@bp.post("/meetings/<int:meeting_id>/cancel")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Call a meeting off: everyone invited or registered is sent a cancellation with the meeting's "
                 "UID.", CANCEL_BODY, action=True), schema=MEETING_SCHEMA, tag=TAG)
def cancel_meeting(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    values = _read(CANCEL_BODY)
    return _write(lambda actor: services.cancel_meeting(meeting_id=meeting_id, reason=values.get("reason", ""),
                                                        actor=actor),
                  meeting_json, field="reason", status=200)


POSTPONE_BODY = {"reason": (TEXT, "required: why; the people invited are told")}


@bp.post("/meetings/<int:meeting_id>/postpone")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Put a scheduled meeting off: everyone invited or registered gets an updated REQUEST marked "
                 "TENTATIVE with the reason; nobody can register until it is scheduled again (after its new "
                 "time is set), which confirms it to everyone.", POSTPONE_BODY, action=True),
     schema=MEETING_SCHEMA, tag=TAG)
def postpone_meeting(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    values = _read(POSTPONE_BODY)
    return _write(lambda actor: services.postpone_meeting(meeting_id=meeting_id, reason=values.get("reason", ""),
                                                          actor=actor),
                  meeting_json, field="reason", status=200)


# -- invitations --------------------------------------------------------------------------------------


@bp.get("/meetings/<int:meeting_id>/invitations")
@auth.roles_required(Role.VIEWER)
@doc("A meeting's live invitations in the order they were sent, with each answer and the delivery state of "
     "the latest message sent.", parameters=PAGE_PARAMS, schema=page_of(INVITATION_SCHEMA), tag=TAG)
def meeting_invitations(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    page = paginate(queries.invitations(meeting_id), lambda i: i)
    partners = queries.partner_names(i.partner_id for i in page["items"])
    deliveries = queries.latest_messages(meeting_id)
    page["items"] = [invitation_json(i, partners, deliveries) for i in page["items"]]
    return jsonify(page)


INVITE_BODY = {
    "email": (TEXT, "required unless contact_id gives it"),
    "name": (TEXT, "as the invitation addresses them"),
    "language": (TEXT, "of their invitation (BCP 47, such as ja); en unless given or the contact's"),
    "timezone": (TEXT, "theirs, to show them the times; the contact's unless given"),
    "partner_id": (INTEGER, "the partner city whose delegation they head"),
    "contact_id": (INTEGER, "the contact invited; fills email, name, language and zone not given"),
}


def _invite_values() -> dict:
    values = _read(INVITE_BODY)
    if (contact_id := values.get("contact_id")) is not None:
        from partners.models import Contact

        contact = db.session.get(Contact, contact_id)
        if contact is None or contact.erased_at is not None:
            raise Invalid("contact_id", "There is no such contact.")
        values.setdefault("language", contact.preferred_language or "en")
        values.setdefault("name", contact.display_name(values["language"]))
        if contact.timezone:
            values.setdefault("timezone", contact.timezone)
        if not values.get("email"):
            if not contact.primary_email:
                raise Invalid("email", "The contact has no email address; give one.")
            values["email"] = contact.primary_email
    elif not values.get("email"):
        raise Invalid("email", "email is required.")
    language = values.get("language")
    if language is not None and not (0 < len(language) <= 16 and language.replace("-", "").isalnum()):
        raise Invalid("language", "language must be a language code, such as en or ja.")
    return values


@bp.post("/meetings/<int:meeting_id>/invitations")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Invite a person to a scheduled meeting: their invitation with its calendar entry goes out in "
                 "their language, with links to answer and to register.", INVITE_BODY),
     schema=INVITATION_SCHEMA, tag=TAG)
def invite(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    values = _invite_values()
    return _write(lambda actor: services.invite(meeting_id=meeting_id, actor=actor, **values), invitation_json,
                  field="email")


WITHDRAW_BODY = {"reason": (TEXT, "told to the person, with the cancellation of their copy")}


@bp.get("/invitations/<int:invitation_id>")
@auth.roles_required(Role.VIEWER)
@doc("One invitation.", schema=INVITATION_SCHEMA, tag=TAG)
def invitation(invitation_id: int):
    return jsonify(invitation_json(db.get_or_404(Invitation, invitation_id)))


@bp.post("/invitations/<int:invitation_id>/withdraw")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Take a person off a meeting: their copy gets a cancellation and their links stop working; the "
                 "meeting goes on for the others.", WITHDRAW_BODY, action=True), schema=INVITATION_SCHEMA, tag=TAG)
def withdraw_invitation(invitation_id: int):
    db.get_or_404(Invitation, invitation_id)
    values = _read(WITHDRAW_BODY) if request.get_data() else {}
    return _write(lambda actor: services.uninvite(invitation_id=invitation_id, reason=values.get("reason", ""),
                                                  actor=actor),
                  invitation_json, field="invitation", status=200)


# -- registrations ------------------------------------------------------------------------------------


@bp.get("/meetings/<int:meeting_id>/registrations")
@auth.roles_required(Role.VIEWER)
@doc("A meeting's registrations in the order they came in (the waiting list's order).",
     parameters=[query_param("status", "Only this status.", enum=[s.value for s in RegistrationStatus]),
                 query_param("partner_id", "Only this partner city's delegation.", "integer"),
                 query_param("role", "Only this role.", enum=[r.value for r in DelegateRole]), *PAGE_PARAMS],
     schema=page_of(REGISTRATION_SCHEMA), tag=TAG)
def meeting_registrations(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    status, role = arg_enum("status", RegistrationStatus), arg_enum("role", DelegateRole)
    query = queries.registrations_query(meeting_id, status=status.value if status else "",
                                        partner_id=_arg_int("partner_id"), role=role.value if role else "")
    return jsonify(paginate(query, registration_json))


DECIDE_BODY = {"approve": (FLAG, "required: true approves, false declines (and frees the place)")}


@bp.post("/registrations/<int:registration_id>/decide")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Approve or decline a pending registration; the person is told.", DECIDE_BODY, action=True),
     schema=REGISTRATION_SCHEMA, tag=TAG)
def decide_registration(registration_id: int):
    db.get_or_404(Registration, registration_id)
    values = _read(DECIDE_BODY, required=("approve",))
    return _write(lambda actor: services.decide(registration_id=registration_id, approve=values["approve"],
                                                actor=actor),
                  registration_json, field="approve", status=200)


# -- agenda and documents -----------------------------------------------------------------------------

SPEAKER_SCHEMA = obj(name=STR, role=STR, contact_id=OPT_INT)
AGENDA_ITEM_SCHEMA = obj(
    id=INT, meeting_id=INT, position={**INT, "description": "0 for the first session"}, titles=BY_LANGUAGE,
    title=STR, starts_at={**MOMENT, "description": "UTC"}, ends_at={**MOMENT, "description": "UTC"},
    local_starts_at={**MOMENT, "description": "in the meeting's zone, with its offset"},
    local_ends_at={**MOMENT, "description": "in the meeting's zone, with its offset"},
    timezone=STR, room=STR, notes=STR, speakers=list_of(SPEAKER_SCHEMA))
DOCUMENT_SCHEMA = obj(id=INT, meeting_id=INT, kind={"type": "string", "enum": list(agenda.DOCUMENT_KINDS)},
                      language=STR, filename=STR, content_type=STR, size=INT, sha256=STR, uploaded_at=MOMENT,
                      download_url={**STR, "description": "for staff signed in; invitees download through the "
                                                          "link of their invitation"})


def agenda_item_json(item: AgendaItem) -> dict:
    zone = item.meeting.timezone
    return {"id": item.id, "meeting_id": item.meeting_id, "position": item.position, "titles": item.titles,
            "title": agenda.item_title(item, reader_language()), "starts_at": iso(item.starts_at),
            "ends_at": iso(item.ends_at), "local_starts_at": _local(item.starts_at, zone),
            "local_ends_at": _local(item.ends_at, zone), "timezone": zone, "room": item.room, "notes": item.notes,
            "speakers": [{"name": s.name, "role": s.role, "contact_id": s.contact_id} for s in item.speakers]}


def document_json(document: MeetingDocument) -> dict:
    return {"id": document.id, "meeting_id": document.meeting_id, "kind": document.kind,
            "language": document.language, "filename": document.filename, "content_type": document.content_type,
            "size": document.size, "sha256": document.sha256, "uploaded_at": iso(document.uploaded_at),
            "download_url": external_url("meetings.document", meeting_id=document.meeting_id,
                                         document_id=document.id)}


def _agenda_query(meeting_id: int):
    return (select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
            .options(selectinload(AgendaItem.speakers)).order_by(AgendaItem.position, AgendaItem.id))


@bp.get("/meetings/<int:meeting_id>/agenda")
@auth.roles_required(Role.VIEWER)
@doc("A meeting's agenda: its sessions in order, with times in UTC and in the meeting's zone, and speakers.",
     parameters=PAGE_PARAMS, schema=page_of(AGENDA_ITEM_SCHEMA), tag=TAG)
def meeting_agenda(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    return jsonify(paginate(_agenda_query(meeting_id), agenda_item_json))


@bp.get("/agenda-items/<int:item_id>")
@auth.roles_required(Role.VIEWER)
@doc("One session of a meeting's agenda.", schema=AGENDA_ITEM_SCHEMA, tag=TAG)
def agenda_item(item_id: int):
    return jsonify(agenda_item_json(db.get_or_404(AgendaItem, item_id)))


@bp.get("/meetings/<int:meeting_id>/documents")
@auth.roles_required(Role.VIEWER)
@doc("A meeting's documents (agenda, concept note, communiqué …) in the order they were uploaded.",
     parameters=PAGE_PARAMS, schema=page_of(DOCUMENT_SCHEMA), tag=TAG)
def meeting_documents(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    query = select(MeetingDocument).where(MeetingDocument.meeting_id == meeting_id).order_by(MeetingDocument.id)
    return jsonify(paginate(query, document_json))


AGENDA_ITEM_BODY = {
    "titles": (LANGUAGE_TEXTS, "required: the session's title in at least one language"),
    "starts_at": (LOCAL_TIME, "in the meeting's zone, on one of its days"),
    "ends_at": (LOCAL_TIME, "in the meeting's zone, after the start"),
    "room": (TEXT, "where it takes place, when not the meeting's own room"),
    "notes": (TEXT, ""),
    "speakers": (OBJECTS, "in the order the agenda prints them: {\"name\": …, \"role\": …, \"contact_id\": …}; "
                          "a contact fills a name left out"),
}
SPEAKER_FIELDS = {"name": str, "role": str, "contact_id": int}


def _agenda_item_values() -> dict:
    values = _read(AGENDA_ITEM_BODY, required=("titles",))
    speakers = []
    for n, entry in enumerate(values.get("speakers", [])):
        for key, value in entry.items():
            kind = SPEAKER_FIELDS.get(key)
            if kind is None:
                raise Invalid(f"speakers-{n}-{key}", f"Unknown field {key}; a speaker has {', '.join(SPEAKER_FIELDS)}.")
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise Invalid(f"speakers-{n}-{key}", f"{key} must be {'an integer' if kind is int else 'a string'}.")
        speakers.append({key: entry.get(key) for key in SPEAKER_FIELDS})
    values["speakers"] = speakers
    return values


@bp.post("/meetings/<int:meeting_id>/agenda")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Add a session at the end of a meeting's agenda.", AGENDA_ITEM_BODY), schema=AGENDA_ITEM_SCHEMA,
     tag=TAG)
def add_agenda_item(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    values = _agenda_item_values()
    return _write(lambda actor: agenda.add_item(meeting_id=meeting_id, actor=actor, **values), agenda_item_json,
                  field="titles")


@bp.post("/agenda-items/<int:item_id>")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Replace a session's fields and speakers; its place in the agenda stays.", AGENDA_ITEM_BODY,
                 replace=True), schema=AGENDA_ITEM_SCHEMA, tag=TAG)
def update_agenda_item(item_id: int):
    db.get_or_404(AgendaItem, item_id)
    values = _agenda_item_values()
    return _write(lambda actor: agenda.update_item(item_id=item_id, actor=actor, **values), agenda_item_json,
                  field="titles", status=200)


MOVE_BODY = {"direction": (TEXT, "required: up or down, one place")}


@bp.post("/agenda-items/<int:item_id>/move")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Move a session one place up or down its meeting's agenda.", MOVE_BODY, action=True),
     schema=AGENDA_ITEM_SCHEMA, tag=TAG)
def move_agenda_item(item_id: int):
    db.get_or_404(AgendaItem, item_id)
    values = _read(MOVE_BODY, required=("direction",))
    return _write(lambda actor: agenda.move_item(item_id=item_id, direction=values["direction"], actor=actor),
                  agenda_item_json, field="direction", status=200)


@bp.post("/agenda-items/<int:item_id>/remove")
@auth.roles_required(Role.EDITOR)
@doc("Take a session and its speakers off the agenda; those after it move up. Editors only, with an API token; "
     "takes no body. Answers 200 with the first page of the meeting's agenda as it is now.",
     schema=page_of(AGENDA_ITEM_SCHEMA), tag=TAG)
def remove_agenda_item(item_id: int):
    meeting_id = db.get_or_404(AgendaItem, item_id).meeting_id

    def remove(actor) -> int:
        agenda.remove_item(item_id=item_id, actor=actor)
        return meeting_id

    return _write(remove, lambda found: paginate(_agenda_query(found), agenda_item_json), field="item", status=200)
