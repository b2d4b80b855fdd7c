"""Pages of the partners module for files, duplicates and erasure: contacts and organisations exported as CSV,
XLSX and vCard, the contacts' import with its preview, the duplicates list and merge screen, and "forget this
person" (routes added to partners.views.bp)."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from kizuna import auth, uploads
from kizuna.extensions import db
from kizuna.models import Role
from kizuna.web import ListPage
from network import tabular
from network.matching import MatchStatus
from network.services import local_today

from . import duplicates, exchange, importing, privacy
from .forms import LEGAL_BASES, NAME_ORDERS
from .forms_exchange import ContactImportForm, ContactPreviewForm, EraseForm, MergeForm
from .models import Contact
from .services import PartnersError
from .views import bp

MIME = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "vcf": exchange.VCARD_MIME}
PAIRS_PER_PAGE = 50


def _language() -> str:
    return str(get_locale() or "en")


def _contact_url(contact_id: int) -> str:
    try:
        return url_for(".contact", contact_id=contact_id)
    except BuildError:  # the contact pages come with another part of the module
        return url_for(".duplicates")


def _attachment(body: bytes | str, fmt: str, name: str):
    if isinstance(body, str):
        body = body.encode("utf-8")
    filename = f"{name}-{local_today().isoformat()}.{fmt}"
    return body, 200, {"Content-Type": MIME[fmt], "Content-Disposition": f'attachment; filename="{filename}"',
                       "Cache-Control": "no-store"}


# -- export: editors and admins only (a viewer may read a contact, not carry the list away) ----------


@bp.get("/export")
@auth.roles_required(Role.EDITOR)
def export():
    return render_template("partners/export.html")


@bp.get("/contacts/export.<fmt>")
@auth.roles_required(Role.EDITOR)
def contacts_export(fmt: str):
    if fmt == "csv":
        body = tabular.write_csv(exchange.contact_rows(), exchange.CONTACT_COLUMNS)
    elif fmt == "xlsx":
        body = tabular.write_xlsx(exchange.contact_rows(), exchange.CONTACT_COLUMNS, _("Contacts"))
    elif fmt == "vcf":
        # Streamed card by card: thousands of contacts take seconds to write, and the download starts at once.
        version = "3.0" if request.args.get("version") == "3.0" else "4.0"

        def cards():  # queries inside: the view's own session is closed by the time the body is sent
            for contact in db.session.scalars(exchange.contacts_query()):
                yield exchange.contact_vcard(contact, version).encode("utf-8")

        response = Response(stream_with_context(cards()), mimetype="text/vcard")
        response.headers.update(_attachment(b"", fmt, "contacts")[2])
        return response
    else:
        abort(404)
    return _attachment(body, fmt, "contacts")


@bp.get("/organisations/export.<fmt>")
@auth.roles_required(Role.EDITOR)
def organisations_export(fmt: str):
    if fmt == "csv":
        body = tabular.write_csv(exchange.organisation_rows(), exchange.ORGANISATION_COLUMNS)
    elif fmt == "xlsx":
        body = tabular.write_xlsx(exchange.organisation_rows(), exchange.ORGANISATION_COLUMNS, _("Organisations"))
    else:
        abort(404)
    return _attachment(body, fmt, "organisations")


@bp.get("/contacts/<int:contact_id>/vcard")
@auth.roles_required(Role.EDITOR)
def contact_vcard(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    if contact.erased_at is not None:
        abort(404)
    version = "3.0" if request.args.get("version") == "3.0" else "4.0"
    body = exchange.contact_vcard(contact, version).encode("utf-8")
    return body, 200, {"Content-Type": exchange.VCARD_MIME, "Cache-Control": "no-store",
                       "Content-Disposition": f'attachment; filename="contact-{contact.id}.vcf"'}


# -- import --------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def import_upload():
    form = ContactImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        filename = upload.filename or "upload"
        try:  # refused here, at the file field, rather than on a preview page of nothing
            importing.read(data, filename)
        except tabular.TableError as exc:
            form.file.errors.append(str(exc))
        else:
            return redirect(url_for(".import_preview", digest=uploads.keep(data), name=filename[:200]), 303)
    return render_template("partners/import.html", form=form), 422 if form.errors else 200


def _picks() -> tuple[dict[int, int], dict[int, str]]:
    choices, resolutions = {}, {}
    for name, value in request.form.items():
        if name.startswith("choice-") and name[7:].isdigit() and value.isdigit():
            choices[int(name[7:])] = int(value)
        elif name.startswith("resolve-") and name[8:].isdigit() and value in (importing.SKIP, importing.IMPORT):
            resolutions[int(name[8:])] = value
    return choices, resolutions


@bp.route("/import/<digest>", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def import_preview(digest: str):
    path = uploads.path_of(digest)
    if path is None:
        abort(404)
    data, filename = path.read_bytes(), request.args.get("name", "")[:200] or "upload.csv"
    form = ContactPreviewForm()
    choices, resolutions = _picks() if request.method == "POST" else ({}, {})
    status = 200
    try:
        if form.validate_on_submit() and form.save.data:
            try:
                report = importing.commit(data, filename, actor=current_user, choices=choices,
                                          resolutions=resolutions, language=_language())
            except importing.ImportRefused as exc:
                report, status = exc.report, 422
                flash(str(exc), "error")
            else:
                db.session.commit()
                path.unlink(missing_ok=True)
                flash(ngettext("%(num)d contact saved.", "%(num)d contacts saved.", report.created))
                return redirect(url_for(".contacts") if "partners.contacts" in current_app.view_functions
                                else url_for(".import_upload"), 303)
        else:
            report = importing.preview(data, filename, choices=choices, resolutions=resolutions,
                                       language=_language())
            status = 422 if form.errors else 200
    except tabular.TableError as exc:
        upload = ContactImportForm(formdata=None)
        upload.file.errors = [str(exc)]
        return render_template("partners/import.html", form=upload), 422
    rows = [_preview_row(row, match, choices) for row, match in zip(report.table.rows, report.rows, strict=True)]
    return render_template("partners/import_preview.html", form=form, report=report, rows=rows, filename=filename,
                           choices=choices), status


def _preview_row(row, match: importing.ContactMatch, choices: dict[int, int]) -> dict:
    city = match.city
    choosing = bool(city and city.candidates and (city.status != MatchStatus.MATCHED or row.number in choices))
    if match.ok:
        state = "skip" if match.skipped else "ready"
    elif match.issues and not (choosing and all(i.field == "city" for i in match.issues)):
        state = "error"
    elif match.issues:
        state = "choice"
    else:
        state = "duplicate"
    return {"row": row, "match": match, "city": city, "state": state, "choosing": choosing}


# -- duplicates and merge ----------------------------------------------------------------------------


@bp.get("/duplicates", endpoint="duplicates")
@auth.roles_required(Role.EDITOR)
def duplicates_list():
    pairs = duplicates.find_duplicates()
    last = max(1, -(-len(pairs) // PAIRS_PER_PAGE))
    page = ListPage(min(max(request.args.get("page", 1, type=int) or 1, 1), last), len(pairs), PAIRS_PER_PAGE)
    shown = pairs[(page.page - 1) * PAIRS_PER_PAGE:page.page * PAIRS_PER_PAGE]
    contacts = duplicates.contacts_of(shown)
    return render_template("partners/duplicates.html", pairs=shown, total=len(pairs), contacts=contacts,
                           page=page)


def _contact_or_404(value) -> Contact:
    contact = db.session.get(Contact, value) if isinstance(value, int) else None
    if contact is None or contact.erased_at is not None:
        abort(404)
    return contact


MERGE_LABELS = {
    "family_name": _l("Family name"), "given_name": _l("Given name"),
    "family_name_local": _l("Family name (own script)"), "given_name_local": _l("Given name (own script)"),
    "name_order": _l("Name order"), "honorific": _l("Honorific"), "title": _l("Title"), "country_code": _l("Country"),
    "preferred_language": _l("Preferred language"), "city_id": _l("City"), "timezone_override": _l("Time zone"),
    "protocol_rank": _l("Protocol rank"), "notes": _l("Notes"), "source": _l("Source"),
    "legal_basis": _l("Legal basis"), "consent_date": _l("Consent date"), "review_date": _l("Review date"),
}

ENUM_LABELS = {"name_order": NAME_ORDERS, "legal_basis": LEGAL_BASES}


def _shown(contact: Contact, name: str) -> str:
    value = getattr(contact, name)
    if name == "city_id":
        return contact.city.name if contact.city else ""
    if value is None:
        return ""
    if name in ENUM_LABELS:
        return str(ENUM_LABELS[name][value])
    return str(value)


@bp.route("/duplicates/merge", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def merge():
    first_id, second_id = request.args.get("first", type=int), request.args.get("second", type=int)
    form = MergeForm()
    error = None
    if first_id is not None and first_id == second_id:
        error = _("A contact cannot be merged with itself; choose two different contacts.")
        first = second = _contact_or_404(first_id)
    else:
        first, second = _contact_or_404(first_id), _contact_or_404(second_id)
    if error is None and form.validate_on_submit():
        take = [name for name in duplicates.MERGE_FIELDS if request.form.get(f"take-{name}") == "second"]
        try:
            duplicates.merge_contacts(keep_id=first.id, other_id=second.id, actor=current_user, take=take)
        except PartnersError as exc:
            db.session.rollback()
            error = str(exc)
            first, second = _contact_or_404(first_id), _contact_or_404(second_id)
        else:
            db.session.commit()
            flash(_("The contacts are merged."))
            return redirect(_contact_url(first_id), 303)
    rows = [{"name": name, "label": MERGE_LABELS[name], "first": _shown(first, name),
             "second": _shown(second, name), "taken": request.form.get(f"take-{name}") == "second"}
            for name in duplicates.MERGE_FIELDS]
    return render_template("partners/merge.html", form=form, first=first, second=second, rows=rows, error=error,
                           kept_lists=_lists(first, second)), 422 if error or form.errors else 200


def _lists(first: Contact, second: Contact) -> list[tuple[str, list[str]]]:
    """What a merge keeps from both sides, whatever the choices."""
    def union(a, b):
        return list(dict.fromkeys([*a, *b]))

    return [(_("Emails"), union([e.address for e in first.emails], [e.address for e in second.emails])),
            (_("Phones"), union([p.number for p in first.phones], [p.number for p in second.phones])),
            (_("Languages"), union(first.language_codes, second.language_codes)),
            (_("Tags"), union([t.name for t in first.tags], [t.name for t in second.tags])),
            (_("Positions"), [f"{p.title or '—'}, {p.organisation.name}" for p in (*first.positions,
                                                                                   *second.positions)])]


# -- forget this person ------------------------------------------------------------------------------


@bp.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@auth.roles_required(Role.ADMIN)
def erase(contact_id: int):
    contact = _contact_or_404(contact_id)
    name = contact.display_name(_language())
    form = EraseForm()
    if form.validate_on_submit():
        try:
            privacy.forget_contact(contact_id=contact.id, actor=current_user)
        except PartnersError as exc:
            form.confirm.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The personal data of %(name)s is erased.", name=name))
            return redirect(_contact_url(contact.id), 303)
    return render_template("partners/erase.html", form=form, contact=contact, name=name), 422 if form.errors else 200
