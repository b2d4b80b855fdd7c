"""Spreadsheets in and out of the registry: the import upload and preview, and CSV/XLSX exports of the lists."""

from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kizuna import auth, uploads
from kizuna.extensions import db
from kizuna.models import Role

from . import importing, services, tabular
from .forms import AGREEMENT_KINDS, PARTNER_KINDS, RELATIONSHIP_KINDS, STATUSES
from .forms_directory import EMBASSY_STATUSES, MISSION_TYPES, NETWORK_ROLES
from .forms_exchange import IMPORT_KINDS, ImportForm, PreviewForm
from .matching import MatchStatus
from .models import CityNetwork, Country, NetworkMember
from .views import (
    _language,
    _render,
    agreements_query,
    bp,
    partners_query,
)
from .views_directory import current_role, embassies_query

# Where each kind's list lives, first that exists: the embassy and network pages come with another module.
LISTS = {"partners": ("network.partners",), "agreements": ("network.agreements",),
         "embassies": ("network.embassies", "network.home"), "network-members": ("network.networks", "network.home")}
# What each kind of file lists, in the order the upload form offers them.
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# -- import ------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def import_upload():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        filename = upload.filename or "upload"
        try:  # refused here, at the file field, rather than on a preview page of nothing
            tabular.read_table(data, filename, schema=tabular.SCHEMAS[form.kind.data])
        except tabular.TableError as exc:
            form.file.errors.append(str(exc))
        else:
            return redirect(url_for(".import_preview", kind=form.kind.data, digest=uploads.keep(data),
                                    name=filename[:200]), 303)
    return _render("import", 422 if form.errors else 200, form=form)


def _choices() -> dict[int, int]:
    picks = {}
    for name, value in request.form.items():
        if name.startswith("choice-") and name[7:].isdigit() and value.isdigit():
            picks[int(name[7:])] = int(value)
    return picks


@bp.route("/import/<kind>/<digest>", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def import_preview(kind: str, digest: str):
    path = uploads.path_of(digest)
    if kind not in importing.KINDS or path is None:
        abort(404)
    # The file is stored under its digest alone; its name only labels the messages (the reader sniffs the bytes).
    data, filename = path.read_bytes(), request.args.get("name", "")[:200] or "upload.csv"
    form = PreviewForm()
    choices = _choices() if request.method == "POST" else {}
    status = 200
    try:
        if form.validate_on_submit() and form.save.data:
            try:
                report = importing.commit(kind, data, filename, actor=current_user, choices=choices,
                                          language=_language())
            except importing.ImportRefused as exc:
                report, status = exc.report, 422
                flash(str(exc), "error")
            else:
                db.session.commit()
                path.unlink(missing_ok=True)
                flash(ngettext("%(num)d row saved.", "%(num)d rows saved.", report.created))
                return redirect(url_for(_list_endpoint(kind)), 303)
        else:
            report = importing.preview(kind, data, filename, choices=choices, language=_language())
            status = 422 if form.errors else 200
    except tabular.TableError as exc:
        upload = ImportForm(formdata=None, kind=kind)
        upload.file.errors = [str(exc)]
        return _render("import", 422, form=upload)
    rows = [_preview_row(row, match, choices) for row, match in zip(report.table.rows, report.rows, strict=True)]
    return _render("import_preview", status, form=form, report=report, rows=rows, kind=kind,
                   kind_label=IMPORT_KINDS[kind], filename=filename, choices=choices)


def _preview_row(row, match, choices: dict[int, int]) -> dict:
    """One line of the preview: its state (ready, choice, error) and whether it offers cities to choose from."""
    city = match.city
    choosing = bool(city and city.candidates and (city.status != MatchStatus.MATCHED or row.number in choices))
    if match.ok:
        state = "ready"
    elif choosing and all(issue.field == "city" for issue in match.issues):
        state = "choice"
    else:
        state = "error"
    details = []
    if isinstance(match, importing.AgreementMatch):
        if found := [p.label for p in match.parties if p.partner_id is not None]:
            details.append(_("Parties: %(parties)s", parties="; ".join(found)))
        if match.previous_label:
            details.append(_("Follows: %(agreement)s", agreement=match.previous_label))
    return {"row": row, "match": match, "city": city, "state": state, "choosing": choosing, "details": details}


def _list_endpoint(kind: str) -> str:
    return next(e for e in LISTS[kind] if e in current_app.view_functions)


PARTNER_COLUMNS = {"name": _l("Name"), "local_name": _l("Local name"), "name_ja": _l("Japanese name"),
                   "kind": _l("Kind"), "country": _l("Country"), "subdivision": _l("State or province"),
                   "city": _l("City"), "relationships": _l("Relationships"), "website": _l("Website")}
AGREEMENT_COLUMNS = {"title": _l("Title"), "title_local": _l("Title in the local language"), "kind": _l("Kind"),
                     "partners": _l("Partners"), "signed_on": _l("Signed on"), "expires_on": _l("Expires on"),
                     "areas": _l("Cooperation areas"), "summary": _l("Summary")}


def _partner_rows(language: str):
    for p in db.session.scalars(partners_query()[0]):
        yield {"name": p.name, "local_name": p.local_name, "name_ja": p.name_ja, "kind": str(PARTNER_KINDS[p.kind]),
               "country": p.country.name(language), "subdivision": p.subdivision.name if p.subdivision else "",
               "city": p.city.name if p.city else "", "website": p.website,
               "relationships": [f"{RELATIONSHIP_KINDS[r.kind]} {r.started_on.isoformat()} ({STATUSES[r.status]})"
                                 for r in p.relationships]}


def _agreement_rows(language: str):
    for a in db.session.scalars(agreements_query()[0]):
        yield {"title": a.title, "title_local": a.title_local, "kind": str(AGREEMENT_KINDS[a.kind]),
               "partners": [p.display_name(language) for p in a.parties], "signed_on": a.signed_on,
               "expires_on": a.expires_on, "areas": [area.code for area in a.areas], "summary": a.summary}


def _download(name: str, fmt: str, rows, columns, title: str):
    if fmt == "csv":
        body = tabular.write_csv(rows, columns)
    elif fmt == "xlsx":
        body = tabular.write_xlsx(rows, columns, title)
    else:
        abort(404)
    filename = f"{name}-{services.local_today().isoformat()}.{fmt}"
    return body, 200, {"Content-Type": MIME[fmt], "Content-Disposition": f'attachment; filename="{filename}"',
                       "Cache-Control": "no-store"}


@bp.get("/partners/export.<fmt>")
@auth.roles_required(Role.VIEWER)
def partners_export(fmt: str):
    return _download("partners", fmt, _partner_rows(_language()), PARTNER_COLUMNS, _("Partners"))


@bp.get("/agreements/export.<fmt>")
@auth.roles_required(Role.VIEWER)
def agreements_export(fmt: str):
    return _download("agreements", fmt, _agreement_rows(_language()), AGREEMENT_COLUMNS, _("Agreements"))


EMBASSY_COLUMNS = {"name": _l("Name"), "name_ja": _l("Japanese name"), "country": _l("Country"),
                   "mission_type": _l("Kind of mission"), "status": _l("Status"), "status_since": _l("Since"),
                   "address": _l("Address"), "ward": _l("Ward"), "postal_code": _l("Postal code"),
                   "phones": _l("Phone"), "email": _l("Email"), "website": _l("Website"),
                   "head_of_mission": _l("Head of mission"), "head_title": _l("Head's title")}
NETWORK_COLUMNS = {"name": _l("Name"), "acronym": _l("Acronym"), "name_ja": _l("Japanese name"),
                   "role": _l("Home city's role"), "role_since": _l("Since"), "members": _l("Member cities"),
                   "website": _l("Website")}
MEMBER_COLUMNS = {"network": _l("Network"), "name": _l("Name"), "city": _l("City"), "country": _l("Country"),
                  "partner": _l("Partner"), "joined_on": _l("Joined"), "left_on": _l("Left")}


def _embassy_rows(language: str):
    for e in db.session.scalars(embassies_query()[0]):
        yield {"name": e.name, "name_ja": e.name_ja, "country": e.country.name(language),
               "mission_type": str(MISSION_TYPES[e.mission_type]), "status": str(EMBASSY_STATUSES[e.status]),
               "status_since": e.status_since, "address": e.address, "ward": e.ward, "postal_code": e.postal_code,
               "phones": e.phones or [], "email": e.email, "website": e.website,
               "head_of_mission": e.head_of_mission, "head_title": e.head_title}


def _network_rows():
    counts = dict(db.session.execute(select(NetworkMember.network_id, func.count())
                                     .group_by(NetworkMember.network_id)).all())
    for n in db.session.scalars(select(CityNetwork).options(selectinload(CityNetwork.home_roles))
                                .order_by(CityNetwork.name, CityNetwork.id)):
        role = current_role(n)
        yield {"name": n.name, "acronym": n.acronym, "name_ja": n.name_ja, "website": n.website,
               "role": str(NETWORK_ROLES[role.role]) if role else "", "role_since": role.started_on if role else None,
               "members": counts.get(n.id, 0)}


def _member_rows(network: CityNetwork, language: str):
    members = db.session.scalars(select(NetworkMember).where(NetworkMember.network_id == network.id)
                                 .options(selectinload(NetworkMember.city), selectinload(NetworkMember.partner))
                                 .order_by(func.lower(NetworkMember.name), NetworkMember.id)).all()
    countries = {c.code: c for c in db.session.scalars(
        select(Country).where(Country.code.in_({m.country_code for m in members})))}
    for m in members:
        country = countries.get(m.country_code)
        yield {"network": network.name, "name": m.name, "city": m.city.label(language) if m.city else "",
               "country": country.name(language) if country else m.country_code,
               "partner": m.partner.display_name(language) if m.partner else "", "joined_on": m.joined_on,
               "left_on": m.left_on}


@bp.get("/embassies/export.<fmt>")
@auth.roles_required(Role.VIEWER)
def embassies_export(fmt: str):
    return _download("embassies", fmt, _embassy_rows(_language()), EMBASSY_COLUMNS, _("Embassies"))


@bp.get("/networks/export.<fmt>")
@auth.roles_required(Role.VIEWER)
def networks_export(fmt: str):
    return _download("networks", fmt, _network_rows(), NETWORK_COLUMNS, _("City networks"))


@bp.get("/networks/<int:network_id>/members/export.<fmt>")
@auth.roles_required(Role.VIEWER)
def network_members_export(fmt: str, network_id: int):
    network = db.get_or_404(CityNetwork, network_id)
    name = re.sub(r"[^A-Za-z0-9]+", "-", network.acronym or network.name).strip("-").lower() or str(network.id)
    return _download(f"{name}-members", fmt, _member_rows(network, _language()), MEMBER_COLUMNS, _("Members"))
