"""JSON endpoints of the meetings module (routes added to the shared API blueprint kizuna.api.bp): series,
meetings, invitations and registrations; reads for staff, writes for editors' tokens through the services.

The body and query-string readers, the pager and the OpenAPI schema helpers are the shared ones of
kizuna/api.py, so that every part of the API reads input and refuses it alike. Times go out as ISO 8601 in
UTC with the meeting's IANA zone beside them and the same instants in that zone's wall-clock time; they come
in as local date-times (YYYY-MM-DDTHH:MM) read in the meeting's zone, as on the staff's form.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
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
    limit_arg,
    list_of,
    obj,
    page_arg,
    page_of,
    paged,
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

from . import agenda, calendar, queries, reminders, services
from .models import (
    AgendaItem,
    Answer,
    CalendarFeed,
    DelegateRole,
    Delegation,
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

if TYPE_CHECKING:
    from .views_delegate import MyMeeting

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
    return write(call, serialize, field=field, status=status)


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


# On a meeting's replacement, these stay as they are when left out (as on the edit page, which does not show them).
KEPT_WHEN_LEFT_OUT = ("series_id", "city_id")
# What null stands for, per type of field: no value.
_CLEARED = {TEXT: "", INTEGER: None, FLAG: False, TEXTS: [], OBJECTS: [], LANGUAGE_TEXTS: {}, LOCAL_TIME: None}


def _every_field_given(spec: dict, kept: tuple[str, ...] = ()) -> None:
    """A replacement names every field of `spec` but those `kept` as they are: one left out is a 422 naming it,
    never a silent change to no limit, no room or no speakers."""
    body = request.get_json(silent=True) or {}
    for field in spec:
        if field not in body and field not in kept:
            raise Invalid(field, f"{field} is required: a replacement gives every field, null for none.")


def _nulls_cleared(values: dict, spec: dict) -> dict:
    """null is how a replacement clears a field (capacity null: no limit)."""
    for field, value in (request.get_json(silent=True) or {}).items():
        if value is None and field in spec:
            values[field] = _CLEARED[spec[field][0]]
    return values


def _replace_doc(what: str, spec: dict, kept: tuple[str, ...] = (), note: str = "") -> dict:
    """doc() arguments of a replacement whose every field must be given, null to clear it."""
    described = _doc_body(what, spec, replace=True)
    described["summary"] = described["summary"].replace(
        "Fields left out are cleared, as on the edit page.",
        f"Every field must be given, null to clear it{note}; a field left out is a 422 naming it, so nothing is "
        "cleared by mistake." + (f" {' and '.join(kept)} stay as they are when left out." if kept else ""))
    described["body"]["required"] = [f for f in spec if f not in kept]
    for prop in described["body"]["properties"].values():
        if "type" in prop:
            prop["type"] = [prop["type"], "null"]
    return described


_UPDATE_DOC = _replace_doc("Replace a meeting's fields. A change of time or place of a scheduled meeting raises its "
                           "SEQUENCE and sends an updated invitation to everyone invited or registered.",
                           MEETING_BODY, KEPT_WHEN_LEFT_OUT, " (capacity null: no limit)")


@bp.post("/meetings/<int:meeting_id>")
@auth.roles_required(Role.EDITOR)
@doc(**_UPDATE_DOC, schema=MEETING_SCHEMA, tag=TAG)
def update_meeting(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)
    _every_field_given(MEETING_BODY, KEPT_WHEN_LEFT_OUT)
    values = _nulls_cleared(_read(MEETING_BODY), MEETING_BODY)
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
    values = _nulls_cleared(_read(AGENDA_ITEM_BODY, required=("titles",)), AGENDA_ITEM_BODY)
    speakers = []
    for n, entry in enumerate(values.get("speakers") or []):
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
@doc(**_replace_doc("Replace a session's fields and speakers; its place in the agenda stays.", AGENDA_ITEM_BODY),
     schema=AGENDA_ITEM_SCHEMA, tag=TAG)
def update_agenda_item(item_id: int):
    db.get_or_404(AgendaItem, item_id)
    _every_field_given(AGENDA_ITEM_BODY)
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


# -- staff: reminders and answers given to the office ----------------------------------------------------

REMINDED_SCHEMA = obj(reminded={**INT, "description": "how many people were reminded"},
                      invitations=list_of(INVITATION_SCHEMA))


@bp.post("/meetings/<int:meeting_id>/remind")
@auth.roles_required(Role.EDITOR)
@doc("Remind the people invited to a scheduled meeting who have not answered: their invitation again, in their "
     "language, at most once a day each (someone reminded less than a day ago is skipped, so calling twice sends "
     "nothing more). Editors only, with an API token; takes no body. A meeting that is not scheduled is a 422; "
     "success is a 200 with the invitations reminded.", schema=REMINDED_SCHEMA, tag=TAG)
def remind_invitations(meeting_id: int):
    db.get_or_404(Meeting, meeting_id)

    def reminded_json(invitations: list[Invitation]) -> dict:
        partners = queries.partner_names(i.partner_id for i in invitations)
        deliveries = queries.latest_messages(meeting_id)
        return {"reminded": len(invitations),
                "invitations": [invitation_json(i, partners, deliveries) for i in invitations]}

    return _write(lambda actor: reminders.remind_unanswered(meeting_id=meeting_id, actor=actor), reminded_json,
                  field="status", status=200)


ANSWER_BODY = {"answer": (TEXT, "required: " + ", ".join(a.value for a in Answer if a != Answer.NEEDS_ACTION)),
               "comment": (TEXT, "a note with the answer, such as who will come")}


@bp.post("/invitations/<int:invitation_id>/answer")
@auth.roles_required(Role.EDITOR)
@doc(**_doc_body("Record an answer given to the office (by phone, by letter, in person) as given through staff.",
                 ANSWER_BODY, action=True), schema=INVITATION_SCHEMA, tag=TAG)
def record_invitation_answer(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    values = _read(ANSWER_BODY, required=("answer",))
    return _write(lambda actor: services.record_answer(invitation=invitation, answer=values["answer"], via="staff",
                                                       comment=values.get("comment", ""), actor=actor),
                  invitation_json, field="answer", status=200)


# -- delegates and liaisons: their meetings, invitations and delegation ---------------------------------------
# What is theirs is exactly what /meetings/mine shows them (views_delegate.my_meetings): invitations of their city
# or to their own address, their delegation's registrations and their own; anything else is a 404, as there.

EXTERNAL = (Role.DELEGATE, Role.LIAISON)
THEIRS = "Delegates and liaisons, on their own city's or their own invitations (another's is a 404), with an API token"
DELEGATION_SCHEMA = {"anyOf": [obj(id=INT, partner_id=INT, limit={**OPT_INT, "description": "people at most"},
                                   members={**INT, "description": "registered and not cancelled"}),
                               {"type": "null"}]}
MY_INVITATION_SCHEMA = obj(id=INT, meeting_id=INT, email=STR, name=STR, language=STR, timezone=OPT_STR,
                           partner_id=OPT_INT, answer=enum_of(Answer), answered_at=MOMENT, answered_via=STR,
                           comment=STR, delegation=DELEGATION_SCHEMA,
                           page_url={**OPT_STR, "description": "the invitation's own page, while it can be used"},
                           calendar_url={**OPT_STR, "description": "the meeting's calendar file, while the "
                                                                   "invitation can be used"})
MY_DOCUMENT_SCHEMA = obj(id=INT, kind=STR, language=STR, filename=STR, content_type=STR, size=INT,
                         download_url={**OPT_STR, "description": "through the invitation's link, while it works"})
MY_MEETING_SCHEMA = obj(
    id=INT, uid=STR, sequence=INT, tier=enum_of(Tier), format=enum_of(MeetingFormat), status=enum_of(MeetingStatus),
    titles=BY_LANGUAGE, title=STR, descriptions=BY_LANGUAGE, default_language=STR, timezone=STR,
    starts_at={**MOMENT, "description": "UTC"}, ends_at={**MOMENT, "description": "UTC"},
    local_starts_at={**MOMENT, "description": "in the meeting's zone"},
    local_ends_at={**MOMENT, "description": "in the meeting's zone"},
    reader_timezone={**STR, "description": "the account's own zone"},
    reader_starts_at={**MOMENT, "description": "in the account's own zone"},
    reader_ends_at={**MOMENT, "description": "in the account's own zone"},
    venue=STR, room=STR, address=STR, online_url={**OPT_STR, "description": "while the meeting is scheduled"},
    registration_opens_at=MOMENT, registration_closes_at=MOMENT, delegation_limit=OPT_INT,
    interpretation_languages=list_of(STR), accreditation_required=BOOL, approval_required=BOOL,
    invitations=list_of(MY_INVITATION_SCHEMA), registrations=list_of(REGISTRATION_SCHEMA))
MY_MEETING_DETAIL_SCHEMA = {**MY_MEETING_SCHEMA, "properties": {
    **MY_MEETING_SCHEMA["properties"], "agenda": list_of(AGENDA_ITEM_SCHEMA),
    "documents": list_of(MY_DOCUMENT_SCHEMA)}}


def _usable_token(invitation: Invitation) -> str | None:
    """The signed part of the invitation's links while they can be used (as on /meetings/mine)."""
    if invitation.meeting.status != MeetingStatus.SCHEDULED or invitation.removed_at is not None:
        return None
    return services.invitation_token(invitation)


def _delegation_json(invitation: Invitation) -> dict | None:
    delegation = db.session.scalar(select(Delegation).where(Delegation.invitation_id == invitation.id))
    if delegation is None:
        return None
    members = db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.delegation_id == delegation.id, Registration.status != RegistrationStatus.CANCELLED))
    return {"id": delegation.id, "partner_id": delegation.partner_id,
            "limit": delegation.size_limit or invitation.meeting.delegation_limit, "members": members}


def my_invitation_json(invitation: Invitation) -> dict:
    token = _usable_token(invitation)
    return {"id": invitation.id, "meeting_id": invitation.meeting_id, "email": invitation.email,
            "name": invitation.name, "language": invitation.language, "timezone": invitation.timezone,
            "partner_id": invitation.partner_id, "answer": invitation.answer.value,
            "answered_at": iso(invitation.answered_at), "answered_via": invitation.answered_via,
            "comment": invitation.comment, "delegation": _delegation_json(invitation),
            "page_url": external_url("meetings.answer", token=token) if token else None,
            "calendar_url": external_url("meetings.answer_ics", token=token) if token else None}


def my_meeting_json(row: MyMeeting, *, detail: bool = False) -> dict:
    """A meeting as its delegate sees it: no counts of other cities, their invitations and registrations."""
    meeting, zone = row.meeting, row.meeting.timezone
    reader = current_user.timezone or zone
    out = {
        "id": meeting.id, "uid": meeting.uid, "sequence": meeting.sequence, "tier": meeting.tier.value,
        "format": meeting.format.value, "status": meeting.status.value, "titles": meeting.titles,
        "title": meeting.title(reader_language()), "descriptions": meeting.descriptions,
        "default_language": meeting.default_language, "timezone": zone, "starts_at": iso(meeting.starts_at),
        "ends_at": iso(meeting.ends_at), "local_starts_at": _local(meeting.starts_at, zone),
        "local_ends_at": _local(meeting.ends_at, zone), "reader_timezone": reader,
        "reader_starts_at": _local(meeting.starts_at, reader), "reader_ends_at": _local(meeting.ends_at, reader),
        "venue": meeting.venue, "room": meeting.room, "address": meeting.address,
        "online_url": meeting.online_url if meeting.status == MeetingStatus.SCHEDULED else None,
        "registration_opens_at": iso(meeting.registration_opens_at),
        "registration_closes_at": iso(meeting.registration_closes_at), "delegation_limit": meeting.delegation_limit,
        "interpretation_languages": meeting.interpretation_languages,
        "accreditation_required": meeting.accreditation_required, "approval_required": meeting.approval_required,
        "invitations": [my_invitation_json(i) for i in row.invitations],
        "registrations": [registration_json(r) for r in row.registrations],
    }
    if detail:
        token = next(filter(None, map(_usable_token, row.invitations)), None)
        out["agenda"] = [agenda_item_json(i) for i in db.session.scalars(_agenda_query(meeting.id))]
        out["documents"] = [
            {"id": d.id, "kind": d.kind, "language": d.language, "filename": d.filename,
             "content_type": d.content_type, "size": d.size,
             "download_url": external_url("meetings.answer_document", token=token, document_id=d.id) if token
             else None}
            for d in db.session.scalars(select(MeetingDocument).where(MeetingDocument.meeting_id == meeting.id)
                                        .order_by(MeetingDocument.id))]
    return out


def _my_meetings(meeting_id: int | None = None) -> list[MyMeeting]:
    from .views_delegate import my_meetings  # the rule of /meetings/mine, the pages' module (imported late)

    return my_meetings(current_user, meeting_id)


def _mine(meeting_id: int) -> MyMeeting:
    rows = _my_meetings(meeting_id)
    if not rows:
        abort(404)  # not theirs, or no such meeting: the same answer, so nothing leaks
    return rows[0]


def _my_invitation(invitation_id: int) -> Invitation:
    invitation = db.get_or_404(Invitation, invitation_id)
    if invitation.id not in {i.id for i in _mine(invitation.meeting_id).invitations}:
        abort(404)
    return invitation


def _my_registration(registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    if registration.id not in {r.id for r in _mine(registration.meeting_id).registrations}:
        abort(404)
    return registration


def _open(meeting: Meeting) -> None:
    """A cancelled meeting takes no more answers or changes of registration, as its links say (410 there)."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise services.MeetingError(_("This meeting is cancelled."), "meeting")


def _theirs(what: str, body: dict | None = None, *, status: int = 200) -> dict:
    """doc() arguments for a write of a delegate or liaison."""
    if body is None:
        return {"summary": f"{what} {THEIRS}; takes no body. A refusal is a 422 whose error.fields names what is at "
                           f"fault; success is a {status} with the object.", "status": status}
    spec = _doc_body(what, body, action=status == 200)
    spec["summary"] = spec["summary"].replace("Editors only, with an API token", THEIRS)
    return spec


@bp.get("/my/meetings")
@auth.roles_required(*EXTERNAL)
@doc("The meetings the account's city or the account itself is invited to or registered for, as on /meetings/mine: "
     "upcoming first (soonest first), then past ones (latest first), each with its times in the meeting's zone and "
     "the reader's, the invitations and the delegation's registrations.", parameters=PAGE_PARAMS,
     schema=page_of(MY_MEETING_SCHEMA), tag=TAG)
def my_meetings_list():
    rows, page, limit = _my_meetings(), page_arg(), limit_arg()
    items = [my_meeting_json(r) for r in rows[(page - 1) * limit:page * limit]]
    return jsonify(paged(items, page=page, limit=limit, total=len(rows)))


@bp.get("/my/meetings/<int:meeting_id>")
@auth.roles_required(*EXTERNAL)
@doc("One of the account's meetings with its agenda and documents; a meeting that is not theirs is a 404.",
     schema=MY_MEETING_DETAIL_SCHEMA, tag=TAG)
def my_meeting(meeting_id: int):
    return jsonify(my_meeting_json(_mine(meeting_id), detail=True))


@bp.post("/my/invitations/<int:invitation_id>/answer")
@auth.roles_required(*EXTERNAL)
@doc(**_theirs("Accept, decline or say maybe to an invitation, as its link does.", ANSWER_BODY),
     schema=MY_INVITATION_SCHEMA, tag=TAG)
def my_answer(invitation_id: int):
    invitation = _my_invitation(invitation_id)
    values = _read(ANSWER_BODY, required=("answer",))

    def answer(actor) -> Invitation:
        _open(invitation.meeting)
        return services.record_answer(invitation=invitation, answer=values["answer"], via="api",
                                      comment=values.get("comment", ""), actor=actor)

    return _write(answer, my_invitation_json, field="answer", status=200)


REGISTER_BODY = {
    "name": (TEXT, "required: the person's name, as the badge prints it"),
    "email": (TEXT, "required: theirs; an invitation in one's own name registers only that address"),
    "role": (TEXT, "in the delegation: " + ", ".join(r.value for r in DelegateRole) + "; member unless given"),
    "title": (TEXT, "title or position, as the badge prints it"),
    "language": (TEXT, "of the messages to them (BCP 47); the invitation's unless given"),
    "arrival_at": (LOCAL_TIME, "in the meeting's zone"),
    "departure_at": (LOCAL_TIME, "in the meeting's zone, not before the arrival"),
    "dietary": (TEXT, "dietary requirements"),
    "accessibility": (TEXT, "accessibility needs"),
    "interpretation_language": (TEXT, "one of the meeting's interpretation_languages"),
    "accreditation": (TEXT, "the note verbale (a PDF or Office file) in base64, where the meeting asks for one"),
    "accreditation_filename": (TEXT, "the note verbale's file name"),
}


def _registration_values(meeting: Meeting) -> dict:
    values = _read(REGISTER_BODY, required=("name", "email"))
    language = values.get("language")
    if language is not None and not (0 < len(language) <= 16 and language.replace("-", "").isalnum()):
        raise Invalid("language", "language must be a language code, such as en or ja.")
    chosen = values.get("interpretation_language", "")
    if chosen and chosen not in meeting.interpretation_languages:
        offered = ", ".join(meeting.interpretation_languages) or "none"
        raise Invalid("interpretation_language", f"interpretation_language must be one of the meeting's: {offered}.")
    filename = values.pop("accreditation_filename", "")
    if (content := values.pop("accreditation", None)) is not None:
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("accreditation", "accreditation must be the file's content in base64.") from None
        values["accreditation"] = (filename or "note-verbale", data)
    return values


@bp.post("/my/invitations/<int:invitation_id>/registrations")
@auth.roles_required(*EXTERNAL)
@doc(**_theirs("Register a person on an invitation, as its page does: the invitee, or a member of their city's "
               "delegation within its limit. A place when there is one (pending where staff approve), else the "
               "waiting list; the person is told.", REGISTER_BODY, status=201),
     schema=REGISTRATION_SCHEMA, tag=TAG)
def my_register(invitation_id: int):
    invitation = _my_invitation(invitation_id)
    meeting = invitation.meeting
    values = _registration_values(meeting)

    def register(actor) -> Registration:
        _open(meeting)
        for name in ("arrival_at", "departure_at"):
            values[name] = services.to_utc(values.get(name), meeting.timezone, name)
        return services.register(invitation=invitation, actor=actor, **values)

    return _write(register, registration_json, field="invitation")


@bp.post("/my/registrations/<int:registration_id>/cancel")
@auth.roles_required(*EXTERNAL)
@doc(**_theirs("Cancel a registration of the delegation or one's own: the person is told and a place it held "
               "goes to the first on the waiting list, as an offer."), schema=REGISTRATION_SCHEMA, tag=TAG)
def my_registration_cancel(registration_id: int):
    registration = _my_registration(registration_id)

    def cancel(actor) -> Registration:
        _open(registration.meeting)
        return services.cancel_registration(registration_id=registration.id, actor=actor)

    return _write(cancel, registration_json, field="registration", status=200)


@bp.post("/my/registrations/<int:registration_id>/accept")
@auth.roles_required(*EXTERNAL)
@doc(**_theirs("Accept a place offered from the waiting list before the offer lapses: the place is confirmed."),
     schema=REGISTRATION_SCHEMA, tag=TAG)
def my_offer_accept(registration_id: int):
    registration = _my_registration(registration_id)

    def accept(_actor) -> Registration:
        _open(registration.meeting)
        return services.accept_offer(registration_id=registration.id)

    return _write(accept, registration_json, field="registration", status=200)


# -- everyone's private calendar feeds -------------------------------------------------------------------------

FEED_SCHEMA = obj(id=INT, name=STR, created_at=MOMENT, last_read_at=MOMENT)
NEW_FEED_SCHEMA = obj(id=INT, name=STR, created_at=MOMENT, last_read_at=MOMENT,
                      url={**STR, "description": "the feed's address, with its token: shown this once"},
                      webcal_url={**STR, "description": "the same for calendar programs to subscribe to"})
FEED_BODY = {"name": (TEXT, "to tell one's feeds apart, such as the calendar program it is for")}


def feed_json(feed: CalendarFeed) -> dict:
    return {"id": feed.id, "name": feed.name, "created_at": iso(feed.created_at),
            "last_read_at": iso(feed.last_read_at)}


@bp.get("/calendar/feeds")
@auth.login_required
@doc("The account's own private calendar feeds that are live (their addresses are shown only when made).",
     schema=page_of(FEED_SCHEMA), tag=TAG)
def calendar_feeds():
    feeds = calendar.feeds_of(current_user)
    return jsonify(paged([feed_json(f) for f in feeds], page=1, limit=calendar.FEEDS_PER_USER, total=len(feeds)))


@bp.post("/calendar/feeds")
@auth.login_required
@doc(**{**_doc_body("Make a private calendar feed of the meetings one is invited to or registered for; its address "
                    "holds a token shown in this answer only.", FEED_BODY),
        "summary": "Make a private calendar feed of the meetings one is invited to or registered for; its address "
                   f"holds a token shown in this answer only. Any account, with an API token; at most "
                   f"{calendar.FEEDS_PER_USER} live feeds. A refusal is a 422 whose error.fields names the input at "
                   "fault; success is a 201 with the feed and its address."},
     schema=NEW_FEED_SCHEMA, tag=TAG)
def create_calendar_feed():
    values = _read(FEED_BODY)

    from .views_public import webcal

    def created(made: tuple[CalendarFeed, str]) -> dict:
        feed, token = made
        url = external_url("meetings_calendar.feed", token=token)
        return {**feed_json(feed), "url": url, "webcal_url": webcal(url)}

    response, status = _write(lambda actor: calendar.create_feed(user=actor, name=values.get("name", "")), created,
                              field="name")
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.post("/calendar/feeds/<int:feed_id>/revoke")
@auth.login_required
@doc("Revoke one of the account's own feeds: calendar programs subscribed to it get nothing more. Any account, "
     "with an API token, for its own feeds (another's is a 404); takes no body. Success is a 200 with the feed.",
     schema=FEED_SCHEMA, tag=TAG)
def revoke_calendar_feed(feed_id: int):
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or feed.user_id != current_user.id or feed.revoked_at is not None:
        abort(404)
    return _write(lambda actor: calendar.revoke_feed(feed_id=feed_id, user=actor), feed_json, field="feed",
                  status=200)
