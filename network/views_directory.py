"""Pages of the registry's directory: embassies and consulates in the home city, and city networks."""

from __future__ import annotations

import re

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kizuna import auth
from kizuna.extensions import db
from kizuna.forms import saved
from kizuna.models import Role

from . import services, worldmap
from .forms import choices
from .forms_directory import (
    EMBASSY_STATUS_VERBS,
    EMBASSY_STATUSES,
    MISSION_TYPES,
    NETWORK_ROLES,
    EmbassyForm,
    EmbassyStatusForm,
    EventEditForm,
    EventForm,
    HomeRoleForm,
    MemberEditForm,
    MemberForm,
    NetworkEditForm,
    NetworkForm,
)
from .models import (
    CityNetwork,
    Country,
    DatePrecision,
    Embassy,
    EmbassyStatus,
    HomeMembership,
    MissionType,
    NetworkEvent,
    NetworkMember,
)
from .views import PER_PAGE, _country_choices, _language, _page, _render, bp

EMBASSY_SORTS = ("country", "ward")


def _directory(template: str, status: int = 200, **context):
    return _render(template, status, mission_types=MISSION_TYPES, embassy_statuses=EMBASSY_STATUSES,
                   network_roles=NETWORK_ROLES, **context)


def _web_link(url: str | None) -> str | None:
    """A stored address as a link target only when it is a web address (never javascript: or data:)."""
    return url if url and re.match(r"^https?://", url, re.I) else None


# -- embassies ---------------------------------------------------------------------------------


@bp.get("/embassies")
@auth.roles_required(Role.VIEWER)
def embassies():
    query, args = embassies_query()
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    wards = db.session.scalars(select(Embassy.ward).where(Embassy.ward != "").distinct().order_by(Embassy.ward)).all()
    return _directory("embassies", page=page, args=args, countries=_country_choices(), wards=wards)


def embassies_query():
    """The embassy list's query from the request's filters and sort (the page and its export share it), and
    the filters as understood (unknown values dropped)."""
    args = {k: request.args.get(k, "").strip() for k in ("country", "mission_type", "status", "ward", "sort")}
    query = select(Embassy).join(Country).options(selectinload(Embassy.country))
    if args["country"]:
        args["country"] = args["country"].upper()[:2]
        query = query.where(Embassy.country_code == args["country"])
    if args["mission_type"] in {m.value for m in MissionType}:
        query = query.where(Embassy.mission_type == args["mission_type"])
    else:
        args["mission_type"] = ""
    if args["status"] in {s.value for s in EmbassyStatus}:
        query = query.where(Embassy.status == args["status"])
    else:
        args["status"] = ""
    if args["ward"]:
        query = query.where(Embassy.ward == args["ward"])
    sort = args["sort"] if args["sort"] in EMBASSY_SORTS else "country"
    args["sort"] = sort
    country_name = func.coalesce(Country.name_ja, Country.name_en) if _language() == "ja" else Country.name_en
    order = {"country": (country_name, Embassy.name), "ward": (Embassy.ward, country_name, Embassy.name)}[sort]
    return query.order_by(*order, Embassy.id), args


@bp.get("/embassies/<int:embassy_id>")
@auth.roles_required(Role.VIEWER)
def embassy(embassy_id: int):
    found = db.session.scalar(select(Embassy).where(Embassy.id == embassy_id)
                              .options(selectinload(Embassy.history), selectinload(Embassy.country)))
    if found is None:
        abort(404)
    # RFC 3966 allows no spaces in a tel: URI; digits and the leading + are all a phone needs.
    phones = [(phone, "tel:" + re.sub(r"[^\d+]", "", phone)) for phone in found.phones or []]
    return _directory("embassy", embassy=found, phones=phones, website=_web_link(found.website),
                      history=list(reversed(found.history)))


def _phones(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _embassy_fields(form: EmbassyForm) -> dict:
    """The form's values as services.create_embassy and services.update_embassy take them."""
    return {"country_code": form.country_code.data or "", "mission_type": form.mission_type.data,
            "name": form.name.data, "name_ja": form.name_ja.data or None, "address": form.address.data or "",
            "ward": form.ward.data or "", "postal_code": form.postal_code.data or "",
            "phones": _phones(form.phones.data), "email": form.email.data or None,
            "website": form.website.data or None, "head_of_mission": form.head_of_mission.data or "",
            "head_title": form.head_title.data or "", "notes": form.notes.data or ""}


@bp.route("/embassies/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def embassy_new():
    form = EmbassyForm()
    form.country_code.choices = choices(_country_choices())
    if form.validate_on_submit():
        response = saved(form, lambda: services.create_embassy(**_embassy_fields(form), actor=current_user),
                         done=lambda created: _("%(name)s is in the registry.", name=created.name),
                         to=lambda created: url_for(".embassy", embassy_id=created.id))
        if response:
            return response
    return _directory("embassy_form", 422 if form.is_submitted() else 200, form=form, embassy=None)


@bp.route("/embassies/<int:embassy_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def embassy_edit(embassy_id: int):
    found = db.get_or_404(Embassy, embassy_id)
    form = EmbassyForm(obj=found) if request.method == "GET" else EmbassyForm()
    form.country_code.choices = choices(_country_choices())
    if request.method == "GET":
        form.mission_type.data = found.mission_type.value
        form.phones.data = "\n".join(found.phones or [])
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_embassy(
            embassy_id=found.id, **_embassy_fields(form), actor=current_user),
            done=_("The mission is saved."), to=url_for(".embassy", embassy_id=found.id))
        if response:
            return response
    return _directory("embassy_form", 422 if form.is_submitted() else 200, form=form, embassy=found)


def _status_choices(embassy_: Embassy) -> list:
    if embassy_.status == EmbassyStatus.CLOSED:
        offered = [EmbassyStatus.OPEN]  # a closed mission can only reopen
    else:
        offered = [s for s in EMBASSY_STATUS_VERBS if s != embassy_.status]
    return choices((s.value, EMBASSY_STATUS_VERBS[s]) for s in offered)


@bp.route("/embassies/<int:embassy_id>/status", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def embassy_status(embassy_id: int):
    found = db.get_or_404(Embassy, embassy_id)
    form = EmbassyStatusForm()
    form.status.choices = _status_choices(found)
    if form.validate_on_submit():
        response = saved(form, lambda: services.change_embassy_status(
            embassy_id=found.id, status=form.status.data, effective_on=form.effective_on.data,
            reason=form.reason.data or "", new_address=form.new_address.data or None,
            new_ward=form.new_ward.data or None, actor=current_user),
            done=lambda _result: _("The change is recorded: %(status)s.", status=EMBASSY_STATUSES[found.status]),
            to=url_for(".embassy", embassy_id=found.id, _anchor="history-h"))
        if response:
            return response
    return _directory("embassy_status", 422 if form.is_submitted() else 200, form=form, embassy=found)


# -- city networks -----------------------------------------------------------------------------


def current_role(network: CityNetwork) -> HomeMembership | None:
    return next((m for m in network.home_roles if m.ended_on is None), None)


@bp.get("/networks")
@auth.roles_required(Role.VIEWER)
def networks():
    page = db.paginate(select(CityNetwork).options(selectinload(CityNetwork.home_roles))
                       .order_by(CityNetwork.name, CityNetwork.id), page=_page(), per_page=PER_PAGE, error_out=False)
    counts = dict(db.session.execute(
        select(NetworkMember.network_id, func.count()).where(NetworkMember.network_id.in_([n.id for n in page.items]))
        .group_by(NetworkMember.network_id)).all())
    return _directory("networks", page=page, rows=[(n, current_role(n), counts.get(n.id, 0)) for n in page.items])


def _roles_over_time(network: CityNetwork) -> list[tuple[HomeMembership, DatePrecision]]:
    """Each role with the precision its end is known to: a role ends the day the next begins, so as precisely."""
    out = []
    for i, membership in enumerate(network.home_roles):
        following = network.home_roles[i + 1] if i + 1 < len(network.home_roles) else None
        known = following.started_precision if following and following.started_on == membership.ended_on \
            else DatePrecision.DAY
        out.append((membership, known))
    return out


def _member_place(member: NetworkMember):
    return member.city or (member.partner and member.partner.city)


def _member_map(network: CityNetwork, members: list[NetworkMember], countries: dict[str, Country]):
    """The member cities on the world map, the home city starred; past members drawn as ended ties."""
    language = _language()
    points = [worldmap.MapPoint(place.latitude, place.longitude, member.name, "network_member",
                                "ended" if member.left_on else "active",
                                country=countries[member.country_code].name(language)
                                if member.country_code in countries else member.country_code)
              for member in members if (place := _member_place(member)) is not None]
    home = services.home_city()
    home_point = worldmap.MapPoint(home.latitude, home.longitude, home.name) if home else None
    return worldmap.render(points, home_point, id_prefix="members-map",
                           labels={"legend_kind": _("Membership"), "active": _("Member"), "ended": _("Left")},
                           title=_("Member cities of %(network)s on a world map",
                                   network=network.acronym or network.name),
                           description=ngettext("%(num)d member city on a world map; the table after it lists them.",
                                                "%(num)d member cities on a world map; the table after it lists them.",
                                                len(points)))


@bp.get("/networks/<int:network_id>")
@auth.roles_required(Role.VIEWER)
def network(network_id: int):
    found = db.session.scalar(select(CityNetwork).where(CityNetwork.id == network_id).options(
        selectinload(CityNetwork.home_roles), selectinload(CityNetwork.members).selectinload(NetworkMember.city),
        selectinload(CityNetwork.members).selectinload(NetworkMember.partner),
        selectinload(CityNetwork.events)))
    if found is None:
        abort(404)
    members = sorted(found.members, key=lambda m: (m.name.casefold(), m.id))
    past = sorted((m for m in members if m.left_on is not None), key=lambda m: (m.left_on, m.name.casefold(), m.id),
                  reverse=True)
    countries = {c.code: c for c in db.session.scalars(
        select(Country).where(Country.code.in_({m.country_code for m in members})))}
    return _directory("network", network=found, roles=_roles_over_time(found), current=current_role(found),
                      members=members, current_members=[m for m in members if m.left_on is None],
                      past_members=past, member_countries=countries, website=_web_link(found.website),
                      member_map=_member_map(found, members, countries) if members else None,
                      unplaced=sum(1 for m in members if _member_place(m) is None),
                      events=sorted(found.events, key=lambda e: (e.starts_on, e.id), reverse=True))


@bp.route("/networks/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_new():
    form = NetworkForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.create_network(
            name=form.name.data, acronym=form.acronym.data or "", name_ja=form.name_ja.data or "",
            website=form.website.data or "", description=form.description.data or "", actor=current_user),
            done=lambda created: _("%(name)s is in the registry.", name=created.name),
            to=lambda created: url_for(".network", network_id=created.id))
        if response:
            return response
    return _directory("network_form", 422 if form.is_submitted() else 200, form=form, network=None)


@bp.route("/networks/<int:network_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_edit(network_id: int):
    found = db.get_or_404(CityNetwork, network_id)
    form = NetworkEditForm(obj=found) if request.method == "GET" else NetworkEditForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_network(
            network_id=found.id, name=form.name.data, acronym=form.acronym.data or "", name_ja=form.name_ja.data or "",
            website=form.website.data or "", description=form.description.data or "", actor=current_user),
            done=_("The network is saved."), to=url_for(".network", network_id=found.id))
        if response:
            return response
    return _directory("network_form", 422 if form.is_submitted() else 200, form=form, network=found)


@bp.route("/networks/<int:network_id>/role", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_role(network_id: int):
    found = db.get_or_404(CityNetwork, network_id)
    form = HomeRoleForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.set_home_role(
            network_id=found.id, role=form.role.data, started_on=form.started_on.data,
            started_precision=form.started_on.precision, notes=form.notes.data or "", actor=current_user),
            done=lambda _result: _("The home city's role is now: %(role)s.",
                                   role=NETWORK_ROLES[current_role(found).role]),
            to=url_for(".network", network_id=found.id, _anchor="roles-h"))
        if response:
            return response
    return _directory("network_role", 422 if form.is_submitted() else 200, form=form, network=found,
                      current=current_role(found))


def _city(form, spec: str | None) -> tuple[bool, int | None]:
    """The reference city `spec` names; (False, None) with an error on the form's city field when none is found."""
    spec = (spec or "").strip()
    if not spec:
        return True, None
    city = services.resolve_city(spec) if spec.isdigit() or "," in spec else None
    if city is None:
        form.city.errors.append(_("No reference city is called %(spec)s; write it as “Paris, FR” or give its "
                                  "GeoNames id.", spec=spec))
        return False, None
    return True, city.id


@bp.route("/networks/<int:network_id>/members/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_member(network_id: int):
    found = db.get_or_404(CityNetwork, network_id)
    form = MemberForm()
    if form.validate_on_submit():
        ok, city_id = _city(form, form.city.data)
        if ok:
            response = saved(form, lambda: services.add_network_member(
                network_id=found.id, city_id=city_id, joined_on=form.joined_on.data, actor=current_user),
                done=lambda member: _("%(city)s is a member of %(network)s.", city=member.name, network=found.name),
                to=url_for(".network", network_id=found.id, _anchor="members-h"), aliases={"city_id": "city"})
            if response:
                return response
    return _directory("network_member", 422 if form.is_submitted() else 200, form=form, network=found)


@bp.route("/networks/<int:network_id>/events/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_event(network_id: int):
    found = db.get_or_404(CityNetwork, network_id)
    form = EventForm()
    if form.validate_on_submit():
        ok, city_id = _city(form, form.city.data)
        if ok:
            response = saved(form, lambda: services.add_network_event(
                network_id=found.id, title=form.title.data, kind=form.kind.data or "", starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, city_id=city_id, venue=form.venue.data or "", url=form.url.data or "",
                description=form.description.data or "", actor=current_user),
                done=_("The event is recorded."), to=url_for(".network", network_id=found.id, _anchor="events-h"),
                aliases={"city_id": "city"})
            if response:
                return response
    return _directory("network_event", 422 if form.is_submitted() else 200, form=form, network=found, event=None)


def _of_network(model, object_id: int, network_id: int):
    """A member or an event of this network, or 404 (an id from another network's page is not found here)."""
    found = db.get_or_404(model, object_id)
    if found.network_id != network_id:
        abort(404)
    return found


@bp.route("/networks/<int:network_id>/members/<int:member_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_member_edit(network_id: int, member_id: int):
    member = _of_network(NetworkMember, member_id, network_id)
    form = MemberEditForm(obj=member) if request.method == "GET" else MemberEditForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_network_member(
            member_id=member.id, joined_on=form.joined_on.data, left_on=form.left_on.data, actor=current_user),
            done=_("The membership of %(city)s is saved.", city=member.name),
            to=url_for(".network", network_id=network_id, _anchor="members-h"))
        if response:
            return response
    return _directory("network_member_edit", 422 if form.is_submitted() else 200, form=form, network=member.network,
                      member=member)


@bp.route("/networks/<int:network_id>/events/<int:event_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def network_event_edit(network_id: int, event_id: int):
    event = _of_network(NetworkEvent, event_id, network_id)
    form = EventEditForm(obj=event) if request.method == "GET" else EventEditForm()
    if request.method == "GET":
        form.city.data = f"{event.city.name}, {event.city.country_code}" if event.city else ""
    if form.validate_on_submit():
        kept = event.city and (form.city.data or "").strip() == f"{event.city.name}, {event.city.country_code}"
        # Saved unchanged, the event's city stays itself even when a larger namesake exists.
        ok, city_id = (True, event.city_id) if kept else _city(form, form.city.data)
        if ok:
            response = saved(form, lambda: services.update_network_event(
                event_id=event.id, title=form.title.data, kind=form.kind.data or "", starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, city_id=city_id, venue=form.venue.data or "", url=form.url.data or "",
                description=form.description.data or "", actor=current_user),
                done=_("The event is saved."), to=url_for(".network", network_id=network_id, _anchor="events-h"),
                aliases={"city_id": "city"})
            if response:
                return response
    return _directory("network_event", 422 if form.is_submitted() else 200, form=form, network=event.network,
                      event=event)
