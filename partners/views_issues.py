"""Staff pages of newsletter issues: writing in several languages, approval, sending and reports."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from kizuna import auth, files
from kizuna.extensions import db
from kizuna.forms import ConfirmForm, saved
from kizuna.i18n import LANGUAGES
from kizuna.models import Role
from network import tabular
from network.forms import choices

from . import newsletters, sending, services
from .forms_issues import (
    STATUS_CLASSES,
    STATUS_LABELS,
    AttachmentForm,
    NewIssueForm,
    NewVariantForm,
    ReturnForm,
    ScheduleForm,
    TestSendForm,
    VariantForm,
)
from .models import Issue, IssueAttachment, IssueStatus
from .services import PartnersError

bp = Blueprint("issues", __name__, url_prefix="/newsletters/issues")

PER_PAGE = 50
# Suggested when adding a language, besides the interface's languages and those readers of the list prefer.
SUGGESTED_LANGUAGES = ("en", "ja", services.PLAIN_JAPANESE, "zh-Hans", "zh-Hant", "ko")
_SENT_OR_SENDING = (IssueStatus.SENDING, IssueStatus.PAUSED, IssueStatus.SENT, IssueStatus.CANCELLED)


def _language() -> str:
    return str(get_locale() or "en")


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _attach(form, exc: PartnersError, default: str | None = None) -> None:
    """Put a service's refusal on the field it names (else on `default`, else on the form's first field)."""
    target = form._fields.get(exc.field or "") or form._fields.get(default or "")
    if target is None:
        target = next(f for f in form if f.name not in ("csrf_token", "submit", "preview"))
    target.errors = [*(target.errors or []), str(exc)]


def _first(problems: list[str]) -> str | None:
    return problems[0] if problems else None


def _issue_or_404(issue_id: int) -> Issue:
    return db.get_or_404(Issue, issue_id)


def _label(tag: str | None) -> str:
    return services.language_name(tag, _language())


def _variant_form(variant, *, posted: bool = False) -> VariantForm:
    """The form of one language's variant: as posted, or holding what is saved."""
    if posted:
        return VariantForm(prefix=f"v-{variant.language}")
    return VariantForm(prefix=f"v-{variant.language}", formdata=None,
                       data={"subject": variant.subject, "body": variant.body})


def _new_variant_form(issue: Issue, coverage: list[dict]) -> NewVariantForm:
    form = NewVariantForm(prefix="new")
    taken = {variant.language for variant in issue.variants}
    wanted = [row["preferred"] for row in coverage if row["fallback"]]
    codes = list(dict.fromkeys([*wanted, *LANGUAGES, *SUGGESTED_LANGUAGES]))
    form.language.choices = choices([("", _("Choose a language"))] + [(code, f"{_label(code)} — {code}")
                                                                      for code in codes if code not in taken])
    return form


def _test_form(issue: Issue) -> TestSendForm:
    form = TestSendForm(prefix="test")
    form.language.choices = choices((v.language, _label(v.language)) for v in issue.variants)
    return form


def _render_issue(issue: Issue, status: int = 200, *, forms: dict | None = None, previews: dict | None = None,
                  new_form: NewVariantForm | None = None, **context):
    """The issue page: every form on it (those given keep what was typed and their errors)."""
    coverage = newsletters.language_coverage(issue)
    forms = dict(forms or {})
    for variant in issue.variants:
        forms.setdefault(variant.language, _variant_form(variant))
    previews = dict(previews or {})
    for variant in issue.variants:
        if variant.language not in previews:
            previews[variant.language] = newsletters.render_markdown(variant.body)[0]
    context.setdefault("attachment_form", AttachmentForm(prefix="file"))
    context.setdefault("test_form", _test_form(issue))
    return render_template(
        "partners/issue.html", issue=issue, title=newsletters.issue_title(issue), coverage=coverage,
        missing=newsletters.missing_languages(coverage), forms=forms,
        previews={code: Markup(html) for code, html in previews.items()},
        new_form=new_form or _new_variant_form(issue, coverage), label=_label,
        editable=issue.status in (IssueStatus.DRAFT, IssueStatus.AWAITING_APPROVAL),
        returned=newsletters.last_return(issue) if issue.status == IssueStatus.DRAFT else None,
        counts=sending.progress(issue.id) if issue.status in _SENT_OR_SENDING else None,
        subscribers=sending.subscriber_count(issue.list_id), image_markdown=newsletters.image_markdown,
        travels_attached=newsletters.travels_attached, status_labels=STATUS_LABELS, status_classes=STATUS_CLASSES,
        confirm=ConfirmForm(), **context), status




# -- index and new ------------------------------------------------------------------------------


@bp.get("/", endpoint="index")
@auth.roles_required(Role.VIEWER)
def index():
    list_id = _int_arg("list")
    raw_status = request.args.get("status", "").strip()
    status = IssueStatus(raw_status) if raw_status in {s.value for s in IssueStatus} else None
    page = db.paginate(newsletters.issues(list_id=list_id, status=status),
                       page=max(request.args.get("page", 1, type=int) or 1, 1), per_page=PER_PAGE, error_out=False)
    lists = newsletters.issue_lists()
    return render_template("partners/issues.html", page=page, lists=lists, list_id=list_id,
                           status=status.value if status else "", language=_language(),
                           chosen_list=next((m for m in lists if m.id == list_id), None),
                           title_of=newsletters.issue_title, status_labels=STATUS_LABELS,
                           status_classes=STATUS_CLASSES)


@bp.route("/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def new():
    form = NewIssueForm()
    lists = newsletters.issue_lists()
    form.list_id.choices = choices((m.id, m.name(_language())) for m in lists)
    if request.method == "GET" and _int_arg("list"):
        form.list_id.data = _int_arg("list")
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.create_issue(list_id=form.list_id.data, actor=current_user),
                         done=_("The draft is started: write it in the list's default language first."),
                         to=lambda issue: url_for(".issue", issue_id=issue.id),
                         attach=partial(_attach, default="list_id"))
        if response:
            return response
    return render_template("partners/issue_new.html", form=form, lists=lists), 422 if form.is_submitted() else 200


# -- the issue page and its variants --------------------------------------------------------------


@bp.get("/<int:issue_id>")
@auth.roles_required(Role.VIEWER)
def issue(issue_id: int):
    return _render_issue(_issue_or_404(issue_id))


@bp.post("/<int:issue_id>/variants/<language>")
@auth.roles_required(Role.EDITOR)
def variant_save(issue_id: int, language: str):
    """Save one language's subject and text; with the Preview button, show it rendered and save nothing."""
    found = _issue_or_404(issue_id)
    variant = found.variant(language)
    if variant is None:
        abort(404)
    form = _variant_form(variant, posted=True)
    if form.preview.data and form.validate_on_submit():
        html = newsletters.render_markdown(form.body.data)[0]
        return _render_issue(found, forms={language: form}, previews={language: html})
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.save_variant(
            issue_id=found.id, language=language, subject=form.subject.data, body=form.body.data, actor=current_user),
            done=_("%(language)s is saved.", language=_label(language)),
            to=url_for(".issue", issue_id=found.id, _anchor=f"variant-{language}"),
            attach=partial(_attach, default="body"))
        if response:
            return response
    found = _issue_or_404(issue_id)
    return _render_issue(found, 422, forms={language: form})


@bp.post("/<int:issue_id>/variants")
@auth.roles_required(Role.EDITOR)
def variant_add(issue_id: int):
    found = _issue_or_404(issue_id)
    form = _new_variant_form(found, newsletters.language_coverage(found))
    if form.validate_on_submit() and not form.chosen_language():
        form.language.errors = [*form.language.errors, _("Choose a language, or type its code.")]
    elif form.validate_on_submit():
        target = "other_language" if (form.other_language.data or "").strip() else "language"
        try:
            language = services.language_tag(form.chosen_language(), target)
            if found.variant(language) is not None:
                raise PartnersError(_("The issue has a variant in this language already: change it above."), target)
            if form.preview.data:
                html = newsletters.render_markdown(form.body.data)[0]
                return _render_issue(found, new_form=form, new_preview=Markup(html))
            newsletters.save_variant(issue_id=found.id, language=language, subject=form.subject.data,
                                     body=form.body.data, actor=current_user)
        except PartnersError as exc:
            db.session.rollback()
            _attach(form, exc, target if exc.field == "language" else None)
        else:
            db.session.commit()
            flash(_("%(language)s is added.", language=_label(language)), "success")
            return redirect(url_for(".issue", issue_id=found.id, _anchor=f"variant-{language}"), 303)
    found = _issue_or_404(issue_id)
    return _render_issue(found, 422, new_form=form)


@bp.route("/<int:issue_id>/variants/<language>/remove", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def variant_remove(issue_id: int, language: str):
    found = _issue_or_404(issue_id)
    variant = found.variant(language)
    if variant is None:
        abort(404)
    form = ConfirmForm()
    errors: list[str] = []
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.remove_variant(issue_id=found.id, language=language,
                                                                  actor=current_user),
                         done=_("%(language)s is removed.", language=_label(language)),
                         to=url_for(".issue", issue_id=found.id, _anchor="variants"), problems=errors)
        if response:
            return response
    return render_template("partners/issue_confirm.html", issue=found, form=form, error=_first(errors),
                           title=newsletters.issue_title(found),
                           heading=_("Remove %(language)s?", language=_label(language)),
                           question=_("The subject and text in %(language)s will be deleted. Readers who prefer "
                                      "it will get the list's default language instead.", language=_label(language)),
                           button=_("Remove %(language)s", language=_label(language))), \
        422 if form.is_submitted() else 200


@bp.post("/preview")
@auth.roles_required(Role.EDITOR)
def preview():
    """The sanitised HTML of the Markdown in `body`, for the editor's live preview (static/js/issue-editor.js)."""
    body = request.form.get("body", "")
    if len(body) > 200_000:
        return auth.api_error(422, "invalid", _("At most %(n)d characters.", n=200_000), {"body": "too long"})
    return jsonify({"html": newsletters.render_markdown(body)[0]})


# -- images and attachments -----------------------------------------------------------------------


@bp.post("/<int:issue_id>/attachments")
@auth.roles_required(Role.EDITOR)
def attachment_add(issue_id: int):
    found = _issue_or_404(issue_id)
    form = AttachmentForm(prefix="file")
    if form.validate_on_submit():
        upload = form.file.data
        response = saved(form, lambda: newsletters.add_attachment(
            issue_id=found.id, filename=upload.filename or "", data=upload.read(), actor=current_user),
            done=lambda added: _("%(name)s is uploaded. Paste its Markdown where the image should appear.",
                                 name=added.filename) if added.inline
            else _("%(name)s is uploaded: every message will carry it.", name=added.filename),
            to=url_for(".issue", issue_id=found.id, _anchor="files"), attach=partial(_attach, default="file"))
        if response:
            return response
    found = _issue_or_404(issue_id)
    return _render_issue(found, 422, attachment_form=form)


@bp.route("/<int:issue_id>/attachments/<int:attachment_id>/remove", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def attachment_remove(issue_id: int, attachment_id: int):
    found = _issue_or_404(issue_id)
    attachment = db.get_or_404(IssueAttachment, attachment_id)
    if attachment.issue_id != found.id:
        abort(404)
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        name, digest = attachment.filename, attachment.sha256
        try:
            newsletters.remove_attachment(issue_id=found.id, attachment_id=attachment.id, actor=current_user)
        except PartnersError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            newsletters.discard_unused_file(digest)
            flash(_("%(name)s is removed.", name=name), "success")
            return redirect(url_for(".issue", issue_id=found.id, _anchor="files"), 303)
    question = (_("The image will no longer be shown where the text links to it: remove its Markdown from the "
                  "text too.") if attachment.inline else _("Messages will no longer carry this file."))
    return render_template("partners/issue_confirm.html", issue=found, form=form, error=error,
                           title=newsletters.issue_title(found),
                           heading=_("Remove %(name)s?", name=attachment.filename), question=question,
                           button=_("Remove %(name)s", name=attachment.filename)), \
        422 if form.is_submitted() else 200


@auth.public
def hosted_file(sha256: str, name: str):
    """An image or linked document of an issue that is approved or later, for readers' mail programs and the
    archive; staff also get those of drafts. The SHA-256 in the address is what keeps the others out of
    reach. Documents download as attachments under their name."""
    staff = current_user.is_authenticated and current_user.is_staff
    attachment = newsletters.hosted_file(sha256, name, staff=staff)
    path = newsletters.attachment_path(attachment) if attachment is not None else None
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, max_age=0 if staff else 86400, conditional=True,
                         etag=attachment.sha256)
    if not attachment.inline:
        response.headers["Content-Disposition"] = files.content_disposition(attachment.filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # webmail shows it from its own origin
    return response


# Readers' mail links to /newsletters/files/…, beside this blueprint's prefix; the endpoint stays issues.*.
bp.record_once(lambda state: state.app.add_url_rule(
    newsletters.FILES_PATH + "<sha256>/<name>", endpoint="issues.hosted_file", view_func=hosted_file))


# -- test send --------------------------------------------------------------------------------------


@bp.post("/<int:issue_id>/test")
@auth.roles_required(Role.EDITOR)
def test_send(issue_id: int):
    found = _issue_or_404(issue_id)
    form = _test_form(found)
    if form.validate_on_submit():
        to = current_user.email if form.recipient.data == "me" else (form.address.data or "")
        if form.recipient.data == "other" and not to.strip():
            form.address.errors = [*form.address.errors, _("Enter the address to send the test to.")]
        else:
            response = saved(form, lambda: newsletters.send_test(
                issue_id=found.id, language=form.language.data, to=to, actor=current_user),
                done=lambda row: _("A test in %(language)s is on its way to %(to)s.",
                                   language=_label(form.language.data), to=row.recipient),
                to=url_for(".issue", issue_id=found.id, _anchor="test"),
                attach=lambda form, exc: _attach(form, exc, "address" if exc.field == "to" else None))
            if response:
                return response
    found = _issue_or_404(issue_id)
    return _render_issue(found, 422, test_form=form)


# -- approval and sending -----------------------------------------------------------------------------

# action → (service, confirmation heading, what it does, button, done message)
ACTIONS = {
    "submit": (lambda issue_id, actor: newsletters.submit_issue(issue_id=issue_id, actor=actor),
               _l("Submit for approval?"),
               _l("Another editor or administrator will read it and approve it, or send it back with a comment. "
                  "A change made meanwhile brings it back to draft."),
               _l("Submit for approval"), _l("The issue is waiting for approval.")),
    "approve": (lambda issue_id, actor: newsletters.approve_issue(issue_id=issue_id, actor=actor),
                _l("Approve this issue?"),
                _l("Once approved, it can no longer be changed and can be sent or scheduled. Check every "
                   "language and the test messages first."),
                _l("Approve"), _l("The issue is approved: it can be sent or scheduled.")),
    "unschedule": (lambda issue_id, actor: newsletters.unschedule_issue(issue_id=issue_id, actor=actor),
                   _l("Unschedule this issue?"),
                   _l("It will not be sent at the scheduled time. It stays approved."),
                   _l("Unschedule"), _l("The issue is no longer scheduled.")),
    "send": (lambda issue_id, actor: sending.start_sending(issue_id=issue_id, actor=actor),
             _l("Send this issue now?"),
             _l("It goes to every active subscriber of the list, once each. This cannot be undone, only paused "
                "or cancelled for those not yet reached."),
             _l("Send now"), _l("Sending has started.")),
    "pause": (lambda issue_id, actor: sending.pause_issue(issue_id=issue_id, actor=actor),
              _l("Pause sending?"),
              _l("Messages already handed to the mail server still go; the others wait until you resume."),
              _l("Pause"), _l("Sending is paused.")),
    "resume": (lambda issue_id, actor: sending.resume_issue(issue_id=issue_id, actor=actor),
               _l("Resume sending?"), _l("The readers not yet reached will get the issue."),
               _l("Resume"), _l("Sending goes on.")),
    "cancel": (lambda issue_id, actor: sending.cancel_issue(issue_id=issue_id, actor=actor),
               _l("Cancel this issue?"),
               _l("Readers not yet reached will never get it. Messages already handed to the mail server still "
                  "go. This cannot be undone."),
               _l("Cancel the issue"), _l("The issue is cancelled.")),
    "resend": (lambda issue_id, actor: sending.resend_failed(issue_id=issue_id, actor=actor),
               _l("Send the failed messages again?"),
               _l("Only the messages that failed are sent again, with the same Message-ID: nobody gets a second "
                  "copy."),
               _l("Send the failed ones again"), _l("The failed messages are queued again.")),
}


@bp.route("/<int:issue_id>/<any(submit, approve, unschedule, send, pause, resume, cancel, resend):action>",
          methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def act(issue_id: int, action: str):
    """A step of the workflow: GET asks for confirmation (with the languages readers miss, before approval and
    sending), POST does it; a refusal is shown on the confirmation page with 422."""
    found = _issue_or_404(issue_id)
    service, heading, question, button, done = ACTIONS[action]
    form = ConfirmForm()
    errors: list[str] = []
    if form.validate_on_submit():
        response = saved(form, lambda: service(found.id, current_user), done=str(done),
                         to=url_for(".issue", issue_id=found.id), problems=errors)
        if response:
            return response
        found = _issue_or_404(issue_id)
    missing = []
    if action in ("submit", "approve", "send"):
        missing = newsletters.missing_languages(newsletters.language_coverage(found))
    return render_template("partners/issue_confirm.html", issue=found, form=form, error=_first(errors),
                           heading=heading, question=question, button=button, missing=missing, label=_label,
                           title=newsletters.issue_title(found),
                           subscribers=sending.subscriber_count(found.list_id) if action == "send" else None), \
        422 if form.is_submitted() else 200


@bp.route("/<int:issue_id>/return", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def send_back(issue_id: int):
    found = _issue_or_404(issue_id)
    form = ReturnForm()
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.return_to_draft(
            issue_id=found.id, comment=form.comment.data, actor=current_user),
            done=_("The issue is back to draft, with your comment for its author."),
            to=url_for(".issue", issue_id=found.id), attach=partial(_attach, default="comment"))
        if response:
            return response
        found = _issue_or_404(issue_id)
    return render_template("partners/issue_return.html", issue=found, form=form,
                           title=newsletters.issue_title(found)), 422 if form.is_submitted() else 200


@bp.route("/<int:issue_id>/schedule", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def schedule(issue_id: int):
    found = _issue_or_404(issue_id)
    form = ScheduleForm()
    zone = str(current_user.timezone or "UTC")
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.schedule_issue(
            issue_id=found.id, local_time=form.scheduled_at.data, zone=zone, actor=current_user),
            done=_("The issue is scheduled."), to=url_for(".issue", issue_id=found.id),
            attach=partial(_attach, default="scheduled_at"))
        if response:
            return response
        found = _issue_or_404(issue_id)
    return render_template("partners/issue_schedule.html", issue=found, form=form, zone=zone,
                           title=newsletters.issue_title(found),
                           missing=newsletters.missing_languages(newsletters.language_coverage(found)),
                           label=_label), 422 if form.is_submitted() else 200


# -- progress and report ------------------------------------------------------------------------------


@bp.get("/<int:issue_id>/progress")
@auth.roles_required(Role.VIEWER)
def progress(issue_id: int):
    """How the sending stands, as JSON, for the issue page's live progress (static/js/issue-progress.js)."""
    found = _issue_or_404(issue_id)
    counts = sending.progress(found.id)
    return jsonify({"status": found.status.value, "status_label": str(STATUS_LABELS[found.status]),
                    "total": sum(counts.values()), **counts})


@bp.get("/<int:issue_id>/report")
@auth.roles_required(Role.VIEWER)
def report(issue_id: int):
    found = _issue_or_404(issue_id)
    return render_template("partners/issue_report.html", report=newsletters.issue_report(found.id), issue=found,
                           title=newsletters.issue_title(found), label=_label, status_labels=STATUS_LABELS,
                           status_classes=STATUS_CLASSES)


@bp.get("/<int:issue_id>/failures.csv")
@auth.roles_required(Role.EDITOR)
def failures_csv(issue_id: int):
    """Every failed delivery of the issue with the server's answer (editors only: it lists addresses)."""
    found = _issue_or_404(issue_id)
    columns = {"email": _("Email"), "language": _("Language"), "error": _("Server's answer"),
               "attempts": _("Attempts"), "queued_at": _("Queued at (UTC)")}
    body = tabular.write_csv(newsletters.failures(found.id), columns)
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="issue-{found.id}-failures.csv"'})
