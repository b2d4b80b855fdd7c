"""Pages of a meeting's agenda and documents (routes added to meetings.views.bp): staff read them on the meeting
page; editors add, change, reorder (up and down buttons, no dragging) and remove sessions, upload and remove
documents; an invitee downloads the documents through the signed link of their invitation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import abort, flash, redirect, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from kizuna import auth, files
from kizuna.extensions import db
from kizuna.forms import acted, saved
from kizuna.models import Role

from . import agenda, services
from .forms import DOCUMENT_KINDS
from .forms_agenda import (
    SPEAKER_ROWS,
    AgendaItemForm,
    MeetingDocumentForm,
    MoveForm,
    RemoveDocumentForm,
    RemoveItemForm,
    agenda_item_form,
    language_name,
    title_field,
)
from .models import AgendaItem, Meeting, MeetingDocument, MeetingStatus
from .views import _attach, _first, _language, _local, _render, bp


def session_span(item: AgendaItem, zone: str) -> str:
    """When a session is, as a reader in `zone` reads it: "Mar 4, 2027, 10:00 – 10:30 (Asia/Tokyo)", the date
    once when it starts and ends on the same day there, on the 24-hour clock of international agendas; "" for a
    session without a time."""
    if item.starts_at is None:
        return ""
    tz, locale = ZoneInfo(zone), str(get_locale() or "en")

    def moment(value: datetime) -> str:
        return f"{_day(value, tz, locale)}, {format_time(value, 'HH:mm', tzinfo=tz, locale=locale)}"

    text = moment(item.starts_at)
    if item.ends_at is not None:
        same_day = item.starts_at.astimezone(tz).date() == item.ends_at.astimezone(tz).date()
        text += " – " + (format_time(item.ends_at, "HH:mm", tzinfo=tz, locale=locale) if same_day
                         else moment(item.ends_at))
    return f"{text} ({zone})"


def _day(value: datetime, tz: ZoneInfo, locale: str) -> str:
    return format_date(value.astimezone(tz).date(), "medium", locale=locale)


@bp.context_processor
def _agenda_helpers() -> dict:
    # What the meeting page and the invitee's page need to show the agenda and the documents.
    return {"session_span": session_span, "item_title": agenda.item_title,
            "off_the_days": agenda.off_the_days,
            "agenda_kinds": DOCUMENT_KINDS, "language_name": language_name,
            "agenda_editable": lambda meeting: meeting.status != MeetingStatus.CANCELLED,
            "new_meeting_document_form": lambda meeting: MeetingDocumentForm(
                agenda.languages_of(meeting), formdata=None, prefix="document")}


def _url(meeting_id: int, anchor: str) -> str:
    return url_for(".detail", meeting_id=meeting_id, _anchor=anchor)


def _back(meeting_id: int, anchor: str):
    return redirect(_url(meeting_id, anchor), 303)


# -- sessions ---------------------------------------------------------------------------------------


def _session_form(meeting: Meeting, item: AgendaItem | None, **kwargs) -> AgendaItemForm:
    languages = agenda.languages_of(meeting)
    if item is not None:  # a title in a language the meeting no longer lists is shown, not lost
        languages += [code for code in item.titles if code not in languages]
    return agenda_item_form(languages, meeting.timezone, **kwargs)


def _fill(form: AgendaItemForm, item: AgendaItem) -> None:
    for code in form.languages:
        form[title_field(code)].data = item.titles.get(code, "")
    form.starts_at.data = _local(item.starts_at, item.meeting.timezone)
    form.ends_at.data = _local(item.ends_at, item.meeting.timezone)
    form.room.data, form.notes.data = item.room, item.notes
    for speaker in item.speakers:
        contact = ""
        if speaker.contact_id is not None:
            from partners.models import Contact

            found = db.session.get(Contact, speaker.contact_id)
            contact = (found.primary_email or found.display_name()) if found is not None else ""
        form.speakers.append_entry({"name": speaker.name, "role": speaker.role, "contact": contact})


def _blank_rows(form: AgendaItemForm) -> None:
    for _n in range(SPEAKER_ROWS):
        form.speakers.append_entry()


def _values(form: AgendaItemForm) -> tuple[dict, list[int]]:
    """The service's keyword arguments, and the form row of each speaker given (empty rows are left out)."""
    rows = form.speaker_rows()
    speakers = []
    for k, (_n, values) in enumerate(rows):
        contact = agenda.find_contact(values["contact"], f"speakers-{k}-contact") if values["contact"] else None
        speakers.append({"name": values["name"], "role": values["role"],
                         "contact_id": contact.id if contact is not None else None})
    return {"titles": {code: form[title_field(code)].data or "" for code in form.languages},
            "starts_at": form.starts_at.data, "ends_at": form.ends_at.data, "room": form.room.data or "",
            "notes": form.notes.data or "", "speakers": speakers}, [n for n, _v in rows]


def _refused(form: AgendaItemForm, exc: services.MeetingError, rows: list[int]) -> str | None:
    """Put a refusal at its field (a speaker's at their row); return it when it names no field of the form."""
    field = exc.field or ""
    if field.startswith("speakers-"):
        _prefix, k, name = field.split("-", 2)
        if int(k) < len(rows):
            form.speakers.entries[rows[int(k)]].form[name].errors.append(str(exc))
            return None
    aliases = {"titles": title_field(form.languages[0]) if form.languages else "titles"}
    if field.startswith("titles-"):
        aliases[field] = title_field(field.removeprefix("titles-"))
    return _attach(form, exc, aliases)


def _session_page(form: AgendaItemForm, meeting: Meeting, item: AgendaItem | None):
    status, problem = 200, None
    if form.is_submitted() and form.more_speakers.data:
        _blank_rows(form)  # more rows asked for: nothing is saved yet
        form.more_speakers.data = False
    elif form.validate_on_submit():
        rows: list[int] = []
        try:
            values, rows = _values(form)
            if item is None:
                saved = agenda.add_item(meeting_id=meeting.id, actor=current_user, **values)
            else:
                saved = agenda.update_item(item_id=item.id, actor=current_user, **values)
        except services.MeetingError as exc:
            db.session.rollback()
            if not rows:
                rows = [n for n, _v in form.speaker_rows()]
            problem, status = _refused(form, exc, rows), 422
        else:
            db.session.commit()
            flash(_("The session %(title)s is saved.", title=agenda.item_title(saved, _language())), "success")
            return _back(meeting.id, f"agenda-item-{saved.id}")
    elif form.is_submitted():
        status = 422
    return _render("agenda_item_form", status, form=form, meeting=meeting, item=item, problem=problem)


@bp.route("/<int:meeting_id>/agenda/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agenda_item_new(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = _session_form(meeting, None)
    if not form.is_submitted():
        _blank_rows(form)
    return _session_page(form, meeting, None)


@bp.route("/agenda/<int:item_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agenda_item_edit(item_id: int):
    item = db.get_or_404(AgendaItem, item_id)
    form = _session_form(item.meeting, item)
    if not form.is_submitted():
        _fill(form, item)
        _blank_rows(form)
    return _session_page(form, item.meeting, item)


@bp.post("/agenda/<int:item_id>/move")
@auth.roles_required(Role.EDITOR)
def agenda_item_move(item_id: int):
    item = db.get_or_404(AgendaItem, item_id)
    meeting_id = item.meeting_id
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    acted(lambda: agenda.move_item(item_id=item.id, direction=form.direction.data, actor=current_user),
          done=lambda _result: _("The session %(title)s is moved %(direction)s.",
                                 title=agenda.item_title(item, _language()),
                                 direction=_("up") if form.direction.data == agenda.UP else _("down")))
    return _back(meeting_id, f"agenda-item-{item_id}")


@bp.route("/agenda/<int:item_id>/remove", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def agenda_item_remove(item_id: int):
    item = db.get_or_404(AgendaItem, item_id)
    meeting = item.meeting
    title = agenda.item_title(item, _language())
    form = RemoveItemForm()
    problems: list[str] = []
    if form.validate_on_submit():
        response = saved(form, lambda: agenda.remove_item(item_id=item.id, actor=current_user),
                         done=_("The session %(title)s is removed from the agenda.", title=title),
                         to=_url(meeting.id, "agenda"), problems=problems)
        if response:
            return response
    return _render("agenda_item_remove", 422 if form.is_submitted() else 200, form=form, meeting=meeting, item=item,
                   title=title, problem=_first(problems))


# -- documents --------------------------------------------------------------------------------------


def _at_field(form: MeetingDocumentForm, exc: services.MeetingError) -> str | None:
    """A refusal at the upload form's field it names (the form's fields carry the prefix "document-" in the page,
    not in the service's names); returned when it names none of them."""
    target = form._fields.get(exc.field or "")
    if target is None or target is form.csrf_token:
        return str(exc)
    target.errors = [*target.errors, str(exc)]
    return None


@bp.route("/<int:meeting_id>/documents", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def document_add(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = MeetingDocumentForm(agenda.languages_of(meeting), prefix="document")
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        response = saved(form, lambda: agenda.add_document(
            meeting_id=meeting.id, kind=form.kind.data, language=form.language.data or "",
            filename=upload.filename or "", data=upload.read(), actor=current_user),
            done=lambda document: _("%(name)s is attached to the meeting.", name=document.filename),
            to=_url(meeting.id, "documents"), attach=_at_field, problems=problems)
        if response:
            return response
    return _render("document_add", 422 if form.is_submitted() else 200, form=form, meeting=meeting,
                   problem=_first(problems))


def _document_of(meeting_id: int, document_id: int) -> MeetingDocument:
    document = db.get_or_404(MeetingDocument, document_id)
    if document.meeting_id != meeting_id:
        abort(404)
    return document


def _download(document: MeetingDocument):
    path = agenda.path_of(document)
    if not path.is_file():
        abort(404, _("The file of this document is missing from the server. Upload it again."))
    response = send_file(path, mimetype=document.content_type, conditional=False, etag=False)
    response.headers["Content-Disposition"] = files.content_disposition(document.filename)
    # A meeting's papers are for the people invited: not for shared caches, nor for the browser to reinterpret.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<int:meeting_id>/documents/<int:document_id>")
@auth.roles_required(Role.VIEWER)
def document(meeting_id: int, document_id: int):
    return _download(_document_of(meeting_id, document_id))


@bp.route("/<int:meeting_id>/documents/<int:document_id>/remove", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def document_remove(meeting_id: int, document_id: int):
    document = _document_of(meeting_id, document_id)
    meeting = document.meeting
    form = RemoveDocumentForm()
    if form.validate_on_submit():
        name, digest = document.filename, document.sha256
        try:
            agenda.remove_document(document_id=document.id, meeting_id=meeting.id, actor=current_user)
        except services.MeetingError as exc:
            abort(404, str(exc))
        db.session.commit()
        agenda.discard_unused_file(digest)
        flash(_("%(name)s is removed from the meeting.", name=name), "success")
        return _back(meeting.id, "documents")
    return _render("document_remove", 422 if form.is_submitted() else 200, form=form, meeting=meeting,
                   document=document)


@bp.get("/answer/<token>/documents/<int:document_id>")
@auth.public
def answer_document(token: str, document_id: int):
    """A meeting document for an invitee, through their signed link: 404 for a tampered link or another
    meeting's document, 410 for a link that no longer works."""
    from .views_public import _invitation

    invitation = _invitation(token)
    return _download(_document_of(invitation.meeting_id, document_id))
