"""Pages that change an agreement once recorded: its documents, edits, termination (the list, the page and the
new-agreement form are in views.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from kizuna import auth, files
from kizuna.extensions import db
from kizuna.forms import saved
from kizuna.models import Role, User
from kizuna.web import file_size

from . import documents, services
from .forms import SIGNATORY_ROWS, AgreementForm, DocumentForm, RemoveDocumentForm, TerminateForm
from .models import Agreement, AgreementDocument
from .views import _agreement_choices, _render, bp

DOCUMENT_KINDS = {
    "application/pdf": _l("PDF"),
    "application/x-ole-storage": _l("Office document (older format)"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _l("Word document"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _l("Excel workbook"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _l("PowerPoint presentation"),
}


def _uploaders(found: list[AgreementDocument]) -> dict[int, str]:
    """Who uploaded each document, by user id: their name, else their email (one query)."""
    ids = {d.uploaded_by_id for d in found if d.uploaded_by_id}
    if not ids:
        return {}
    return {u.id: u.name or u.email for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@bp.context_processor
def _agreement_page_helpers() -> dict:
    # What templates/network/agreement.html needs beyond what the page's view passes it.
    return {"new_document_form": DocumentForm, "document_uploaders": _uploaders, "file_size": file_size,
            "document_kinds": DOCUMENT_KINDS}


def _url(agreement: Agreement, anchor: str | None = None) -> str:
    return url_for(".agreement", agreement_id=agreement.id, _anchor=anchor)


# -- documents ---------------------------------------------------------------------------------


@bp.route("/agreements/<int:agreement_id>/documents", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agreement_document_add(agreement_id: int):
    found = db.get_or_404(Agreement, agreement_id)
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        response = saved(form, lambda: documents.add_document(agreement_id=found.id, filename=upload.filename or "",
                                                              data=upload.read(), actor=current_user),
                         done=lambda document: _("%(name)s is attached.", name=document.filename),
                         to=_url(found, "documents"))
        if response:
            return response
    return _render("agreement_document_add", 422 if form.is_submitted() else 200, form=form, agreement=found)


def _document_of(agreement_id: int, document_id: int) -> AgreementDocument:
    document = db.get_or_404(AgreementDocument, document_id)
    if document.agreement_id != agreement_id:
        abort(404)
    return document


@bp.get("/agreements/<int:agreement_id>/documents/<int:document_id>")
@auth.roles_required(Role.VIEWER)
def agreement_document(agreement_id: int, document_id: int):
    document = _document_of(agreement_id, document_id)
    path = documents.path_of(document)
    if not path.is_file():
        abort(404, _("The file of this document is missing from the server. Upload it again."))
    response = send_file(path, mimetype=document.content_type, conditional=False, etag=False)
    response.headers["Content-Disposition"] = files.content_disposition(document.filename)
    # A signed agreement is not for shared caches, nor for the browser to keep or to reinterpret.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/agreements/<int:agreement_id>/documents/<int:document_id>/remove", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agreement_document_remove(agreement_id: int, document_id: int):
    document = _document_of(agreement_id, document_id)
    found = document.agreement
    form = RemoveDocumentForm()
    if form.validate_on_submit():
        name, digest = document.filename, document.sha256
        try:
            documents.remove_document(document_id=document.id, agreement_id=found.id, actor=current_user)
        except services.NetworkError as exc:
            abort(404, str(exc))
        db.session.commit()
        documents.discard_unused_file(digest)
        flash(_("%(name)s is removed.", name=name), "success")
        return redirect(_url(found, "documents"), 303)
    return _render("agreement_document_remove", 422 if form.is_submitted() else 200, form=form, agreement=found,
                   document=document)


# -- edit and terminate ------------------------------------------------------------------------


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agreement_edit(agreement_id: int):
    found = db.get_or_404(Agreement, agreement_id)
    form = AgreementForm() if request.method == "POST" else AgreementForm.of(found)
    _agreement_choices(form)
    # It may follow neither itself nor an agreement that follows it.
    later, frontier = {found.id}, list(found.successors)
    while frontier:
        current = frontier.pop()
        if current.id not in later:
            later.add(current.id)
            frontier.extend(current.successors)
    form.previous_id.choices = [c for c in form.previous_id.choices if not c.value.isdigit()
                                or int(c.value) not in later]
    form.submit.label.text = _("Save the changes")
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_agreement(agreement_id=found.id, **form.agreement_fields(),
                                                                 actor=current_user),
                         done=_("The agreement is saved."), to=_url(found))
        if response:
            return response
    return _render("agreement_new", 422 if form.is_submitted() else 200, form=form, agreement=found,
                   signatory_rows=max(SIGNATORY_ROWS, len(form.signatories.entries)))


@bp.route("/agreements/<int:agreement_id>/terminate", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agreement_terminate(agreement_id: int):
    found = db.get_or_404(Agreement, agreement_id)
    form = TerminateForm()
    if found.terminated_on is None and form.validate_on_submit():
        response = saved(form, lambda: services.terminate_agreement(
            agreement_id=found.id, terminated_on=form.terminated_on.data, reason=form.reason.data,
            actor=current_user), done=_("The agreement is recorded as terminated."), to=_url(found))
        if response:
            return response
    return _render("agreement_terminate", 422 if form.is_submitted() else 200, form=form, agreement=found,
                   today=services.local_today())
