"""Staff pages of prepared multilingual alerts: templates, the two steps of sending one, the alerts queue."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from kizuna import auth
from kizuna.extensions import db
from kizuna.forms import ConfirmForm, acted, saved
from kizuna.i18n import home_timezone
from kizuna.models import Role
from network.forms import choices

from . import alerts, sending
from .forms_alerts import (
    FIELD_TYPE_LABELS,
    ApproveForm,
    FieldForm,
    TemplateForm,
    VariantForm,
    prepare_form,
    value_name,
)
from .models import AlertTemplate, IssueStatus, MailingList
from .services import PartnersError

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

STATUS_LABELS = {
    IssueStatus.DRAFT: _l("Draft"),
    IssueStatus.AWAITING_APPROVAL: _l("Awaiting approval"),
    IssueStatus.APPROVED: _l("Approved, not sent"),
    IssueStatus.SCHEDULED: _l("Scheduled"),
    IssueStatus.SENDING: _l("Sending"),
    IssueStatus.PAUSED: _l("Paused"),
    IssueStatus.SENT: _l("Sent"),
    IssueStatus.CANCELLED: _l("Cancelled"),
}


def _language() -> str:
    return str(get_locale() or "en")


def _render(page: str, status: int = 200, **context):
    language = _language()
    return render_template(f"partners/{page}.html", language=language,
                           language_name=lambda tag: alerts.language_name(tag, language),
                           field_label=alerts.field_label, choice_label=alerts.choice_label,
                           status_label=lambda status: STATUS_LABELS.get(status, status),
                           type_labels=FIELD_TYPE_LABELS, **context), status


def _attach(form, exc: PartnersError, names: dict | None = None) -> None:
    """Put a service's refusal on the form field it names (or on the form's first field)."""
    target = form._fields.get((names or {}).get(exc.field, exc.field) or "")
    if target is None:
        target = next(f for f in form if f.name != "csrf_token")
    if not isinstance(target.errors, list):
        target.errors = list(target.errors or [])
    target.errors.append(str(exc))


def _list_choices(blank: str | None = None) -> list:
    language = _language()
    lists = db.session.scalars(select(MailingList).order_by(MailingList.id))
    return choices(([(0, blank)] if blank else []) + [(ml.id, ml.name(language)) for ml in lists])


def _template_or_404(template_id: int) -> AlertTemplate:
    return db.get_or_404(AlertTemplate, template_id)


# -- the alerts queue ---------------------------------------------------------------------------------


@bp.get("/")
@auth.roles_required(Role.VIEWER)
def queue():
    return _render("alerts", **alerts.queue())


@bp.get("/<int:issue_id>")
@auth.roles_required(Role.VIEWER)
def alert(issue_id: int):
    issue = alerts.alert(issue_id)
    if issue is None:
        abort(404)
    return _alert_page(issue, ApproveForm())


def _alert_page(issue, form: ApproveForm, status: int = 200):
    readers = alerts.readers(issue.list_id, [v.language for v in issue.variants], issue.mailing_list.default_language)
    progress = sending.progress(issue.id) if issue.status in (*alerts.SENDING, *alerts.DONE) else None
    template = issue.template
    values = []
    if template is not None:
        values = [(alerts.field_label(d, _language()), alerts.format_value(d, (issue.template_values or {}).get(
            d["key"], ""), _language())) for d in template.fields]
    return _render("alert", status, issue=issue, languages=alerts.rendered(issue), readers=readers,
                   progress=progress, values=values, form=form)


@bp.post("/<int:issue_id>/send")
@auth.roles_required(Role.EDITOR)
def approve_and_send(issue_id: int):
    issue = alerts.alert(issue_id)
    if issue is None:
        abort(404)
    form = ApproveForm()
    if form.validate_on_submit():
        response = saved(form, lambda: alerts.approve_and_send(issue_id=issue.id, actor=current_user),
                         done=_("The alert is approved and being sent, ahead of any newsletter."), to=url_for(".queue"),
                         aliases={"": "checked"})
        if response:
            return response
    issue = alerts.alert(issue_id)
    return _alert_page(issue, form, 422)


# -- preparing an alert: step 1 (fill in), step 2 (review), then submit for approval -----------------------


def _now_local() -> str:
    return datetime.now(ZoneInfo(home_timezone())).strftime("%Y-%m-%dT%H:%M")


@bp.route("/templates/<int:template_id>/prepare", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def prepare(template_id: int):
    template = _template_or_404(template_id)
    form = prepare_form(template.fields, _language(), alerts.choice_label, alerts.field_label)
    form.list_id.choices = _list_choices(_("Choose a list…"))
    names = {d["key"]: value_name(d["key"]) for d in template.fields}
    if request.method == "GET":
        form.list_id.data = template.list_id or 0
        for definition in template.fields:
            default = definition.get("default", "")
            if definition.get("type") == "datetime" and not default:
                default = _now_local()
            form[names[definition["key"]]].data = default
        return _render("alert_prepare", form=form, template=template)
    if not form.validate_on_submit():
        return _render("alert_prepare", 422, form=form, template=template)
    values = {key: form[name].data for key, name in names.items()}
    list_id = form.list_id.data or None
    if form.back.data:
        return _render("alert_prepare", form=form, template=template)
    _clean, errors = alerts.check_values(template, values)
    for key, message in errors.items():
        _attach(form, PartnersError(message, key), names)
    if list_id is None:
        _attach(form, PartnersError(_("Choose the list to send the alert to."), "list_id"))
    if errors or list_id is None:
        return _render("alert_prepare", 422, form=form, template=template)
    try:
        if form.confirm.data:
            issue = alerts.prepare_alert(template_id=template.id, list_id=list_id, values=values,
                                         actor=current_user)
        else:
            shown = alerts.preview(template_id=template.id, list_id=list_id, values=values)
    except PartnersError as exc:
        db.session.rollback()
        _attach(form, exc, names)
        return _render("alert_prepare", 422, form=form, template=template)
    if form.confirm.data:
        db.session.commit()
        flash(_("The alert is waiting for another staff member's approval."), "success")
        return redirect(url_for(".alert", issue_id=issue.id), 303)
    return _render("alert_review", form=form, template=template, shown=shown)


# -- templates -----------------------------------------------------------------------------------------


@bp.get("/templates")
@auth.roles_required(Role.VIEWER)
def templates():
    return _render("alert_templates", templates=alerts.templates())


@bp.get("/templates/<int:template_id>")
@auth.roles_required(Role.VIEWER)
def template(template_id: int):
    found = _template_or_404(template_id)
    gaps = {key: [alerts.language_name(tag, _language()) for tag in tags]
            for key, tags in alerts.choice_gaps(found).items()}
    return _render("alert_template", template=found, gaps=gaps,
                   languages=alerts.sort_languages(found.variants), choices_text=alerts.choices_text)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def template_edit(template_id: int):
    found = _template_or_404(template_id)
    form = TemplateForm()
    form.list_id.choices = _list_choices(_("None"))
    if request.method == "GET":
        form.name_en.data, form.name_ja.data = found.names.get("en", ""), found.names.get("ja", "")
        form.list_id.data = found.list_id or 0
        return _render("alert_template_edit", form=form, template=found)
    if form.validate_on_submit():
        response = saved(form, lambda: alerts.update_template(
            template_id=found.id, names={"en": form.name_en.data, "ja": form.name_ja.data},
            list_id=form.list_id.data or None, actor=current_user),
            done=_("The template is saved."), to=url_for(".template", template_id=found.id),
            aliases={"names-en": "name_en", "names-ja": "name_ja"})
        if response:
            return response
    return _render("alert_template_edit", 422, form=form, template=found)


@bp.route("/templates/<int:template_id>/languages/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def variant_new(template_id: int):
    found = _template_or_404(template_id)
    form = VariantForm()
    if request.method == "GET":
        return _render("alert_variant_form", form=form, template=found, language_tag=None)
    if form.validate_on_submit():
        response = saved(form, lambda: alerts.save_template_variant(
            template_id=found.id, language=form.language.data, subject=form.subject.data, body=form.body.data,
            actor=current_user, new=True),
            done=_("The language is added."), to=url_for(".template", template_id=found.id))
        if response:
            return response
    return _render("alert_variant_form", 422, form=form, template=found, language_tag=None)


@bp.route("/templates/<int:template_id>/languages/<language>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def variant_edit(template_id: int, language: str):
    found = _template_or_404(template_id)
    if language not in found.variants:
        abort(404)
    form = VariantForm()
    del form.language
    if request.method == "GET":
        form.subject.data = found.variants[language]["subject"]
        form.body.data = found.variants[language]["body"]
        return _render("alert_variant_form", form=form, template=found, language_tag=language)
    if form.validate_on_submit():
        response = saved(form, lambda: alerts.save_template_variant(
            template_id=found.id, language=language, subject=form.subject.data, body=form.body.data,
            actor=current_user),
            done=_("The language is saved."), to=url_for(".template", template_id=found.id))
        if response:
            return response
    return _render("alert_variant_form", 422, form=form, template=found, language_tag=language)


@bp.route("/templates/<int:template_id>/languages/<language>/remove", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def variant_remove(template_id: int, language: str):
    found = _template_or_404(template_id)
    if language not in found.variants:
        abort(404)
    form = ConfirmForm()
    form.submit.label.text = _("Remove this language")
    if request.method == "POST" and form.validate_on_submit():
        acted(lambda: alerts.remove_template_variant(template_id=found.id, language=language, actor=current_user),
              done=_("The language is removed."))
        return redirect(url_for(".template", template_id=found.id), 303)
    return _render("alert_variant_remove", form=form, template=found, language_tag=language)


def _field_values(form: FieldForm) -> dict:
    return {"label_en": form.label_en.data, "label_ja": form.label_ja.data, "type": form.type.data,
            "required": form.required.data, "default": form.default.data, "choices": form.choices.data}


@bp.route("/templates/<int:template_id>/fields/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def field_new(template_id: int):
    found = _template_or_404(template_id)
    form = FieldForm()
    if request.method == "GET":
        form.required.data = True
        return _render("alert_field_form", form=form, template=found, field_key=None)
    if form.validate_on_submit():
        response = saved(form, lambda: alerts.save_template_field(
            template_id=found.id, key=form.key.data, actor=current_user, new=True, **_field_values(form)),
            done=_("The field is added."), to=url_for(".template", template_id=found.id))
        if response:
            return response
    return _render("alert_field_form", 422, form=form, template=found, field_key=None)


@bp.route("/templates/<int:template_id>/fields/<key>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def field_edit(template_id: int, key: str):
    found = _template_or_404(template_id)
    definition = next((f for f in found.fields if f["key"] == key), None)
    if definition is None:
        abort(404)
    form = FieldForm()
    del form.key
    if request.method == "GET":
        form.label_en.data = definition.get("labels", {}).get("en", "")
        form.label_ja.data = definition.get("labels", {}).get("ja", "")
        form.type.data = definition.get("type", "text")
        form.required.data = bool(definition.get("required"))
        form.default.data = definition.get("default", "")
        form.choices.data = alerts.choices_text(definition.get("choices"))
        return _render("alert_field_form", form=form, template=found, field_key=key)
    if form.validate_on_submit():
        response = saved(form, lambda: alerts.save_template_field(
            template_id=found.id, key=key, actor=current_user, **_field_values(form)),
            done=_("The field is saved."), to=url_for(".template", template_id=found.id))
        if response:
            return response
    return _render("alert_field_form", 422, form=form, template=found, field_key=key)
