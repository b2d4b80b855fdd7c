"""Pages of the network registry: home with the world map, partners, relationships, agreements, timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache

from babel import Locale
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kizuna import auth
from kizuna.extensions import db
from kizuna.forms import saved
from kizuna.models import Role
from kizuna.web import ListPage

from . import queries, services, worldmap
from .forms import (
    AGREEMENT_KINDS,
    AGREEMENT_STATES,
    PARTNER_KINDS,
    RELATIONSHIP_KINDS,
    SIGNATORY_ROWS,
    STATUS_VERBS,
    STATUSES,
    SUCCESSIONS,
    AgreementForm,
    AreaForm,
    PartnerForm,
    RelationshipEditForm,
    RelationshipForm,
    StatusForm,
    choices,
    city_from,
)
from .models import (
    Agreement,
    City,
    CityNetwork,
    CooperationArea,
    DatePrecision,
    Embassy,
    Partner,
    Relationship,
    RelationshipStatus,
    agreement_party,
)
from .reference import fold

bp = Blueprint("network", __name__, url_prefix="/network")

PER_PAGE = 25
EXPIRY_DAYS = 180
ANNIVERSARY_DAYS = 90


def _language() -> str:
    return str(get_locale() or "en")


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def partial_date(value: date | None, precision=DatePrecision.DAY) -> str:
    """A date as precisely as it is known: '4 October 2017', 'October 2017' / '2017年10月', '2017', or
    'date unknown'. Registered as the template filter `partial_date`."""
    if value is None:
        return _("date unknown")
    precision = DatePrecision(precision)
    if precision == DatePrecision.DAY:
        return format_date(value, "long")
    skeletons = (get_locale() or Locale("en")).datetime_skeletons
    return format_date(value, str(skeletons["yMMMM" if precision == DatePrecision.MONTH else "y"]))


def _labels() -> dict:
    return {"partner_kinds": PARTNER_KINDS, "relationship_kinds": RELATIONSHIP_KINDS, "statuses": STATUSES,
            "agreement_kinds": AGREEMENT_KINDS, "agreement_states": AGREEMENT_STATES, "successions": SUCCESSIONS,
            "language": _language()}


def _render(template: str, status: int = 200, **context):
    return render_template(f"network/{template}.html", **_labels(), **context), status


REGIONS = {"AF": _l("Africa"), "AS": _l("Asia"), "EU": _l("Europe"), "NA": _l("North and Central America"),
           "SA": _l("South America"), "OC": _l("Oceania"), "AN": _l("Antarctica")}


def _country_choices() -> list[tuple[str, str]]:
    language = _language()
    return [("", "—")] + sorted(((c.code, c.name(language)) for c in services.countries()), key=lambda c: c[1])


# -- the registry home -------------------------------------------------------------------------


def map_place(partner: Partner) -> City | None:
    """Where a partner goes on the map: its reference city; for a state or public body without one, the
    largest city of its country whose name begins its subdivision's name (Tomsk for Tomskaya oblast',
    São Paulo for the state of São Paulo); else the largest city of its country (Sydney for New South
    Wales: the reference data has no capitals, and the largest city is the better-known place anyway)."""
    if partner.city is not None:
        return partner.city
    largest = (City.population.desc(), City.id)
    in_country = select(City).where(City.country_code == partner.country_code)
    if partner.subdivision is not None:
        key = fold(partner.subdivision.name)
        named = db.session.scalar(in_country.where(
            func.length(City.search_key) >= 4,
            func.substr(key, 1, func.length(City.search_key)) == City.search_key).order_by(*largest).limit(1))
        if named is not None:
            return named
    return db.session.scalar(in_country.order_by(*largest).limit(1))


def _map_points(language: str) -> list[worldmap.MapPoint]:
    """A point per live relationship, read as plain rows: a map of thousands of ties loads no objects."""
    country_names = {c.code: c.name(language) for c in services.countries()}
    link = url_for(".partner", partner_id=0).removesuffix("0")  # one url_for, not one per point
    rows = db.session.execute(
        select(Relationship.kind, Relationship.status, Partner.id, Partner.name, Partner.name_ja,
               Partner.country_code, City.latitude, City.longitude)
        .join(Partner, Relationship.partner_id == Partner.id).outerjoin(City, Partner.city_id == City.id)
        .where(Relationship.status != RelationshipStatus.ENDED).order_by(Relationship.started_on))
    points = []
    for kind, status, partner_id, name, name_ja, country_code, latitude, longitude in rows:
        if latitude is None:  # a state or a public body: placed by map_place
            place = map_place(db.session.get(Partner, partner_id))
            if place is None:
                continue
            latitude, longitude = place.latitude, place.longitude
        points.append(worldmap.MapPoint(
            latitude=latitude, longitude=longitude, label=(name_ja if language == "ja" else None) or name,
            kind=kind.value, status=status.value, href=f"{link}{partner_id}",
            country=country_names.get(country_code, country_code), country_code=country_code))
    return sorted(points, key=lambda p: (p.country, p.label))


MAP_LINES_UP_TO = 300  # beyond, lines from home hide the map rather than show the network
MAP_TABLE_UP_TO = 300  # beyond, the map's text alternative counts places by country instead of listing them
HOME_LIST = 10  # expiring agreements and anniversaries listed on the home page; the rest are a link away


@lru_cache(maxsize=8)
def _map(version: tuple, language: str, home: worldmap.MapPoint | None) -> tuple[list[worldmap.MapPoint], Markup]:
    """The home page's points and map, drawn once per state of the ties (queries.ties_version) and language."""
    points = _map_points(language)
    # Links stay in the table: inside the map's role="img" they are nested interactive content
    # (axe: nested-interactive), announced by no screen reader.
    return points, worldmap.render([replace(p, href=None) for p in points], home,
                                   lines=len(points) <= MAP_LINES_UP_TO)


def _counts() -> dict:
    def grouped(column):
        return dict(db.session.execute(select(column, func.count()).group_by(column)).all())

    return {"partners": grouped(Partner.kind), "relationships": grouped(Relationship.status),
            "agreements": db.session.scalar(select(func.count()).select_from(Agreement)),
            "embassies": db.session.scalar(select(func.count()).select_from(Embassy)),
            "networks": db.session.scalar(select(func.count()).select_from(CityNetwork))}


@bp.get("/")
@auth.roles_required(Role.VIEWER)
def home():
    home_city = services.home_city()
    home_point = worldmap.MapPoint(home_city.latitude, home_city.longitude, home_city.name) if home_city else None
    points, svg = _map(queries.ties_version(), _language(), home_point)
    many = len(points) > MAP_TABLE_UP_TO
    expiring, expiring_total = queries.expiring(within_days=EXPIRY_DAYS, limit=HOME_LIST)
    anniversaries_, anniversaries_total = queries.anniversaries(within_days=ANNIVERSARY_DAYS, limit=HOME_LIST)
    return _render("home", counts=_counts(), expiring=expiring, expiring_total=expiring_total,
                   anniversaries=anniversaries_, anniversaries_total=anniversaries_total,
                   svg=svg,
                   rows=None if many else worldmap.text_alternative(points),
                   countries=worldmap.by_country(points) if many else None, places=len(points),
                   expiry_days=EXPIRY_DAYS, anniversary_days=ANNIVERSARY_DAYS)


ANNIVERSARY_WINDOWS = (30, 90, 180, 365)


@bp.get("/anniversaries")
@auth.roles_required(Role.VIEWER)
def anniversaries():
    days = request.args.get("days", ANNIVERSARY_DAYS, type=int)
    days = days if days in ANNIVERSARY_WINDOWS else ANNIVERSARY_DAYS
    found, total = queries.anniversaries(within_days=days, limit=PER_PAGE, offset=(_page() - 1) * PER_PAGE)
    return _render("anniversaries", anniversaries=found, page=ListPage(_page(), total, PER_PAGE), days=days,
                   windows=ANNIVERSARY_WINDOWS)


@bp.get("/cities")
@auth.roles_required(Role.VIEWER)
def cities():
    q = request.args.get("q", "").strip()[:services.MAX_QUERY]
    country = request.args.get("country", "").strip().upper()[:2]
    found = services.search_cities(q, country=country or None, limit=50) if q else []
    return render_template("network/cities.html", q=q, country=country, cities=found,
                           countries=services.countries(), language=_language())


@bp.get("/search")
@auth.roles_required(Role.VIEWER)
def search():
    """One box across partners, agreements, embassies and city networks."""
    q = request.args.get("q", "").strip()[:200]
    found = queries.search(q)
    return _render("search", q=q, found=found, total=sum(len(v) for v in found.values()))


# -- partners ----------------------------------------------------------------------------------


@bp.get("/partners")
@auth.roles_required(Role.VIEWER)
def partners():
    query, args = partners_query()
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    return _render("partners", page=page, args=args, countries=_country_choices(), regions=REGIONS)


def partners_query():
    """The partner list's query from the request's filters and sort (the page and its export share it), and
    the filters as understood (unknown values dropped)."""
    return queries.partners(request.args)


@bp.get("/partners/<int:partner_id>")
@auth.roles_required(Role.VIEWER)
def partner(partner_id: int):
    found = db.session.scalar(select(Partner).where(Partner.id == partner_id).options(
        selectinload(Partner.relationships).selectinload(Relationship.history)))
    if found is None:
        abort(404)
    agreements = db.session.scalars(
        select(Agreement).join(agreement_party).where(agreement_party.c.partner_id == found.id)
        .options(selectinload(Agreement.parties)).order_by(Agreement.signed_on.desc().nulls_last())).all()
    return _render("partner", partner=found, agreements=agreements, today=services.local_today())


def _partner_fields(form: PartnerForm) -> dict:
    return {"kind": form.kind.data, "name": form.name.data, "local_name": form.local_name.data,
            "name_ja": form.name_ja.data, "country_code": form.country_code.data,
            "subdivision_code": form.subdivision_code.data, "website": form.website.data,
            "notes": form.notes.data or ""}


@bp.route("/partners/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def partner_new():
    form = PartnerForm()
    form.country_code.choices = choices(_country_choices())
    if form.validate_on_submit():
        ok, city_id = city_from(form)
        if ok:
            response = saved(form, lambda: services.create_partner(**_partner_fields(form), city_id=city_id,
                                                                    actor=current_user),
                             done=lambda created: _("%(name)s is in the registry.", name=created.name),
                             to=lambda created: url_for(".partner", partner_id=created.id), aliases={"city_id": "city"})
            if response:
                return response
    return _render("partner_form", 422 if form.is_submitted() else 200, form=form, partner=None)


@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def partner_edit(partner_id: int):
    found = db.get_or_404(Partner, partner_id)
    form = PartnerForm(obj=found)
    form.country_code.choices = choices(_country_choices())
    if request.method == "GET":
        form.kind.data = found.kind.value
        form.city.data = f"{found.city.name}, {found.city.country_code}" if found.city else ""
        form.city_id.data = str(found.city_id or "")  # saved unchanged, a smaller namesake stays itself
    if form.validate_on_submit():
        ok, city_id = city_from(form)
        if ok:
            response = saved(form, lambda: services.update_partner(
                partner_id=found.id, **_partner_fields(form), city_id=city_id, is_sample=found.is_sample,
                actor=current_user), done=_("The partner is saved."),
                to=url_for(".partner", partner_id=found.id), aliases={"city_id": "city"})
            if response:
                return response
    return _render("partner_form", 422 if form.is_submitted() else 200, form=form, partner=found)


@bp.route("/partners/<int:partner_id>/relationships/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def relationship_new(partner_id: int):
    found = db.get_or_404(Partner, partner_id)
    form = RelationshipForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.add_relationship(
            partner_id=found.id, kind=form.kind.data, started_on=form.started_on.data,
            started_precision=form.started_on.precision, status=form.status.data,
            status_since=form.status_since.data, reason=form.reason.data or "", source=form.source.data or "",
            notes=form.notes.data or "", actor=current_user),
            done=_("The relationship with %(name)s is recorded.", name=found.name),
            to=url_for(".partner", partner_id=found.id))
        if response:
            return response
    return _render("relationship_new", 422 if form.is_submitted() else 200, form=form, partner=found)


@bp.route("/relationships/<int:relationship_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def relationship_edit(relationship_id: int):
    """Correct the record of a relationship (kind, start, source, notes); its status keeps its own history."""
    found = db.get_or_404(Relationship, relationship_id)
    form = RelationshipEditForm(obj=found) if request.method == "GET" else RelationshipEditForm()
    if request.method == "GET":
        form.kind.data = found.kind.value
        form.started_on.precision = found.started_precision
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_relationship(
            relationship_id=found.id, kind=form.kind.data, started_on=form.started_on.data,
            started_precision=form.started_on.precision, source=form.source.data or "",
            notes=form.notes.data or "", actor=current_user),
            done=_("The relationship's record is corrected."),
            to=url_for(".partner", partner_id=found.partner_id, _anchor=f"rel-{found.id}"))
        if response:
            return response
    return _render("relationship_edit", 422 if form.is_submitted() else 200, form=form, relationship=found,
                   partner=found.partner)


@bp.route("/relationships/<int:relationship_id>/status", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def relationship_status(relationship_id: int):
    found = db.get_or_404(Relationship, relationship_id)
    form = StatusForm()
    form.status.choices = choices((s.value, STATUS_VERBS[s]) for s in RelationshipStatus if s != found.status)
    if found.status == RelationshipStatus.ENDED:
        # An ended relationship stays ended: nothing to offer, nothing to accept.
        form.status.choices = []
    if found.status != RelationshipStatus.ENDED and form.validate_on_submit():
        response = saved(form, lambda: services.change_relationship_status(
            relationship_id=found.id, status=form.status.data, effective_on=form.effective_on.data,
            reason=form.reason.data or "", actor=current_user),
            done=lambda _changed: _("The status is now: %(status)s.", status=STATUSES[found.status]),
            to=url_for(".partner", partner_id=found.partner_id, _anchor=f"rel-{found.id}"))
        if response:
            return response
    return _render("relationship_status", 422 if form.is_submitted() else 200, form=form, relationship=found,
                   partner=found.partner)


# -- agreements --------------------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


@bp.get("/agreements")
@auth.roles_required(Role.VIEWER)
def agreements():
    query, args = agreements_query()
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    areas = db.session.scalars(select(CooperationArea).order_by(CooperationArea.name_en)).all()
    partner = db.session.get(Partner, int(args["partner"])) if args["partner"].isdigit() else None
    return _render("agreements", page=page, args=args, countries=_country_choices(), partner=partner,
                   areas=areas, regions=REGIONS, today=services.local_today())


def agreements_query():
    """The agreement list's query from the request's filters and sort (the page and its export share it)."""
    return queries.agreements(request.args)


@bp.get("/agreements/<int:agreement_id>")
@auth.roles_required(Role.VIEWER)
def agreement(agreement_id: int):
    found = db.get_or_404(Agreement, agreement_id)
    earlier, cursor = [], found.previous
    while cursor is not None and len(earlier) < 100:
        earlier.append(cursor)
        cursor = cursor.previous
    later, frontier = [], list(found.successors)
    while frontier and len(later) < 100:
        current = frontier.pop(0)
        later.append(current)
        frontier.extend(current.successors)
    return _render("agreement", agreement=found, earlier=list(reversed(earlier)), later=later,
                   today=services.local_today())


def _agreement_choices(form: AgreementForm) -> None:
    language = _language()
    partners_ = db.session.scalars(select(Partner).order_by(Partner.name)).all()
    form.party_ids.choices = choices((p.id, f"{p.display_name(language)} ({p.country_code})") for p in partners_)
    form.area_codes.choices = choices((a.code, a.name(language)) for a in db.session.scalars(
        select(CooperationArea).order_by(CooperationArea.builtin.desc(), CooperationArea.name_en)))
    form.previous_id.choices = choices([("", "—")] + [
        (a.id, f"{a.title} ({partial_date(a.signed_on, a.signed_precision)})")
        for a in db.session.scalars(select(Agreement).order_by(Agreement.title, Agreement.signed_on))])
    parties = choices([("", _("the home city"))] + [(p.id, p.display_name(language)) for p in partners_])
    for row in form.signatories:
        row.form.party.choices = parties


@bp.route("/agreements/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agreement_new():
    form = AgreementForm()
    _agreement_choices(form)
    if request.method == "GET" and (partner_id := _int_arg("partner")) is not None:
        form.party_ids.data = [partner_id]
    if form.validate_on_submit():
        response = saved(form, lambda: services.create_agreement(**form.agreement_fields(), actor=current_user),
                         done=_("The agreement is recorded."),
                         to=lambda created: url_for(".agreement", agreement_id=created.id))
        if response:
            return response
    return _render("agreement_new", 422 if form.is_submitted() else 200, form=form, signatory_rows=SIGNATORY_ROWS)


@bp.route("/areas/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def area_new():
    form = AreaForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.add_area(name_en=form.name_en.data, name_ja=form.name_ja.data or "",
                                                         actor=current_user),
                         done=lambda area: _("The cooperation area %(name)s is added.", name=area.name(_language())),
                         to=url_for(".agreement_new"))
        if response:
            return response
    areas = db.session.scalars(select(CooperationArea).order_by(CooperationArea.builtin.desc(),
                                                                CooperationArea.name_en)).all()
    return _render("area_new", 422 if form.is_submitted() else 200, form=form, areas=areas)


# -- the timeline ------------------------------------------------------------------------------


@bp.get("/timeline")
@auth.roles_required(Role.VIEWER)
def timeline():
    partner_id = _int_arg("partner")
    party = request.args.get("party", "").strip()[:200]
    partner = db.session.get(Partner, partner_id) if partner_id is not None else None
    partner_ids = [partner_id] if partner_id is not None else queries.partner_ids_matching(party) if party else None
    events, counts = queries.timeline(partner_ids, _page(), TIMELINE_PAGE)
    page = ListPage(_page(), sum(counts.values()), TIMELINE_PAGE)
    years: dict[int | None, list[queries.Event]] = {}
    for event in events:
        years.setdefault(event.on.year if event.on else None, []).append(event)
    return _render("timeline", years=years, partner=partner, party=party, counts=counts, page=page)


TIMELINE_PAGE = 50  # events per page of the timeline


def init_app(app) -> None:
    app.jinja_env.filters["partial_date"] = partial_date
    app.jinja_env.globals["network_area_name"] = lambda area: area.name(_language())
