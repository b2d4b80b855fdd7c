"""Pages of the interaction log (routes added to partners.views.bp): the log, an interaction, logging one,
follow-ups and their owner's list, and the participant lookup behind the form's combobox."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_currency, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from kizuna import auth
from kizuna.extensions import db
from kizuna.forms import ConfirmForm, acted, attach_error
from kizuna.models import Role
from network.forms import choices
from network.services import local_today

from . import log, services
from .forms_log import INTERACTION_KINDS, FollowUpForm, InteractionForm
from .models import Contact, FollowUp, Interaction, InteractionKind, Organisation
from .views import bp

PER_PAGE = 25
SEARCH_MATCHES = 20  # matches a search without JavaScript adds to the form


def _language() -> str:
    return str(get_locale() or "en")


def due_words(due_on: date, today: date) -> tuple[str, str]:
    """How far a due date is, in words (never in colour only), and the state class that colours it."""
    days = (due_on - today).days
    if days < 0:
        return ngettext("Overdue by %(num)d day", "Overdue by %(num)d days", -days), "state-failed"
    if days == 0:
        return _("Due today"), "state-retrying"
    return ngettext("Due in %(num)d day", "Due in %(num)d days", days), "state-queued"


def _render(template: str, status: int = 200, **context):
    return render_template(f"partners/{template}.html", kinds=INTERACTION_KINDS, language=_language(),
                           today=local_today(), due_words=due_words, done_form=ConfirmForm(),
                           **context), status


_attach = attach_error  # a service's refusal goes on the field it names (or the form's first field)


def _safe_next(target: str | None, fallback: str) -> str:
    # Only local paths: an open redirect would let a link borrow our pages.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _staff_choices() -> list:
    return [(user.id, user.name or user.email) for user in log.staff_accounts()]


# -- the log ----------------------------------------------------------------------------------------


@bp.get("/log", endpoint="log")
@auth.roles_required(Role.VIEWER)
def log_page():
    kind = request.args.get("kind", "").strip()
    kind = InteractionKind(kind) if kind in {k.value for k in InteractionKind} else None
    filters = {"kind": kind, "since": _date_arg("from"), "until": _date_arg("to"), "contact_id": _int_arg("contact"),
               "organisation_id": _int_arg("organisation"), "staff_id": _int_arg("staff")}
    contact = db.session.get(Contact, filters["contact_id"]) if filters["contact_id"] else None
    organisation = db.session.get(Organisation, filters["organisation_id"]) if filters["organisation_id"] else None
    page = db.paginate(log.interactions(**filters), page=max(request.args.get("page", 1, type=int) or 1, 1),
                       per_page=PER_PAGE, error_out=False)
    args = {"kind": kind.value if kind else "", "from": filters["since"] or "", "to": filters["until"] or "",
            "staff": filters["staff_id"] or ""}
    return _render("log", page=page, args=args, contact=contact, organisation=organisation,
                   staff=_staff_choices())


@bp.get("/log/<int:interaction_id>")
@auth.roles_required(Role.VIEWER)
def interaction(interaction_id: int):
    found = log.interaction(interaction_id)
    if found is None:
        abort(404)
    gift_value = None
    if found.gift_value is not None and found.gift_currency:
        gift_value = format_currency(found.gift_value, found.gift_currency)
    return _render("interaction", interaction=found, gift_value=gift_value)


# -- logging an interaction ---------------------------------------------------------------------------


def _participant_choices(form: InteractionForm, extra: list[dict] = (), held: Interaction | None = None) -> None:
    """Offer as boxes the participants ticked (or named in the query string) and the matches of a search;
    a contact erased since stays offered on the interaction they took part in (`held`)."""
    language = _language()
    contact_ids = list(dict.fromkeys(form.contact_ids.data or []))
    organisation_ids = list(dict.fromkeys(form.organisation_ids.data or []))
    kept = [c.id for c in held.contacts] if held is not None else []
    contacts = {c.id: log.contact_label(c, language) for c in db.session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids),
                              Contact.erased_at.is_(None) | Contact.id.in_(kept)))}
    organisations = {o.id: o.display_name(language) for o in db.session.scalars(
        select(Organisation).where(Organisation.id.in_(organisation_ids)))}
    for match in extra:
        target = contacts if match["type"] == "contact" else organisations
        target.setdefault(match["id"], match["label"])
    form.contact_ids.choices = choices(contacts.items())
    form.organisation_ids.choices = choices(organisations.items())
    form.staff_ids.choices = choices(_staff_choices())


@bp.route("/log/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def interaction_new():
    form = InteractionForm()
    if request.method == "GET":
        # From a contact's or an organisation's page: they took part; so, most often, did whoever logs it.
        form.contact_ids.data = [i for i in [_int_arg("contact")] if i]
        form.organisation_ids.data = [i for i in [_int_arg("organisation")] if i]
        form.staff_ids.data = [current_user.id]
        form.occurred_on.data = local_today()
        _participant_choices(form)
        return _render("interaction_new", form=form, matches=None)
    if form.search.data:  # the search without JavaScript: find, offer, save nothing
        matches = log.lookup(form.find.data or "", language=_language(), limit=SEARCH_MATCHES)
        _participant_choices(form, matches)
        return _render("interaction_new", form=form, matches=matches)
    _participant_choices(form)
    if form.validate_on_submit():
        try:
            created = services.add_interaction(actor=current_user, **_interaction_values(form))
        except services.PartnersError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("The interaction is logged."), "success")
            return redirect(url_for("partners.interaction", interaction_id=created.id))
    return _render("interaction_new", 422, form=form, matches=None)


def _interaction_values(form: InteractionForm) -> dict:
    return {"kind": form.kind.data, "occurred_on": form.occurred_on.data, "subject": form.subject.data,
            "notes": form.notes.data or "", "contact_ids": form.contact_ids.data or [],
            "organisation_ids": form.organisation_ids.data or [], "staff_ids": form.staff_ids.data or [],
            "gift_description": form.gift_description.data, "gift_value": form.gift_value.data,
            "gift_currency": form.gift_currency.data}


@bp.route("/log/<int:interaction_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def interaction_edit(interaction_id: int):
    found = log.interaction(interaction_id)
    if found is None:
        abort(404)
    form = InteractionForm()
    form.submit.label.text = _("Save the interaction")
    if request.method == "GET":
        form.process(obj=found)
        form.kind.data = found.kind.value
        form.gift_value.data = str(found.gift_value) if found.gift_value is not None else ""
        form.contact_ids.data = [c.id for c in found.contacts]
        form.organisation_ids.data = [o.id for o in found.organisations]
        form.staff_ids.data = [u.id for u in found.staff]
        _participant_choices(form, held=found)
        return _render("interaction_edit", form=form, interaction=found, matches=None)
    if form.search.data:
        matches = log.lookup(form.find.data or "", language=_language(), limit=SEARCH_MATCHES)
        _participant_choices(form, matches, held=found)
        return _render("interaction_edit", form=form, interaction=found, matches=matches)
    _participant_choices(form, held=found)
    if form.validate_on_submit():
        try:
            services.update_interaction(interaction_id=found.id, actor=current_user, **_interaction_values(form))
        except services.PartnersError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("The interaction is saved."), "success")
            return redirect(url_for("partners.interaction", interaction_id=found.id))
    return _render("interaction_edit", 422, form=form, interaction=found, matches=None)


@bp.get("/log/participants")
@auth.roles_required(Role.VIEWER)
def participants():
    """Contacts and organisations whose name contains q, for the participant combobox (JSON)."""
    return jsonify({"items": log.lookup(request.args.get("q", ""), language=_language())})


# -- follow-ups ---------------------------------------------------------------------------------------


@bp.route("/log/<int:interaction_id>/follow-ups/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def follow_up_new(interaction_id: int):
    found = db.get_or_404(Interaction, interaction_id)
    form = FollowUpForm()
    form.owner_id.choices = choices(_staff_choices())
    if request.method == "GET":
        form.owner_id.data = current_user.id
        return _render("follow_up_new", form=form, interaction=found)
    if form.validate_on_submit():
        try:
            services.add_follow_up(interaction_id=found.id, owner_id=form.owner_id.data, due_on=form.due_on.data,
                                   text=form.text.data, actor=current_user)
        except services.PartnersError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("The follow-up is added."), "success")
            return redirect(url_for("partners.interaction", interaction_id=found.id))
    return _render("follow_up_new", 422, form=form, interaction=found)


@bp.post("/follow-ups/<int:follow_up_id>/done")
@auth.roles_required(Role.EDITOR)
def follow_up_done(follow_up_id: int):
    found = db.get_or_404(FollowUp, follow_up_id)
    back = _safe_next(request.form.get("next"),
                      url_for("partners.interaction", interaction_id=found.interaction_id))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    acted(lambda: services.complete_follow_up(follow_up_id=found.id, actor=current_user),
          done=lambda _result: _("The follow-up is done: %(text)s", text=found.text))
    return redirect(back, 303)


@bp.get("/follow-ups")
@auth.roles_required(Role.VIEWER)
def my_follow_ups():
    page = db.paginate(log.follow_ups(owner_id=current_user.id, done=False),
                       page=max(request.args.get("page", 1, type=int) or 1, 1), per_page=PER_PAGE, error_out=False)
    return _render("follow_ups", page=page)
