"""Pages of the partners module: organisations and contacts (views_log.py adds the interaction log,
views_exchange.py import, export, duplicates and erasure)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_time
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from kizuna import auth
from kizuna.extensions import db, utcnow
from kizuna.forms import ConfirmForm, acted, attach_error, saved
from kizuna.models import Role
from meetings import services as meeting_services
from meetings.models import Meeting, MeetingStatus
from network import services as registry
from network.forms import city_from
from network.models import CityNetwork, Embassy, Partner

from . import bounces, lists, newsletters, queries, services
from .forms import (
    LEGAL_BASES,
    NAME_ORDERS,
    ORGANISATION_KINDS,
    ORGANISATION_LINKS,
    ContactForm,
    EndPositionForm,
    InviteContactsForm,
    ListContactsForm,
    OrganisationForm,
    PositionForm,
    ProfileForm,
    SaveSearchForm,
    TagContactsForm,
    choices,
)
from .forms_lists import OwnSubscriptionForm
from .models import (
    UNSPACED_COUNTRIES,
    Contact,
    MailingList,
    NameOrder,
    Organisation,
    Position,
    SavedSearch,
    script_of,
)

bp = Blueprint("partners", __name__, url_prefix="/partners")

PER_PAGE = 25
ORGANISATION_INTERACTIONS = 20  # shown on an organisation's page; the log has the rest


def _language() -> str:
    return str(get_locale() or "en")


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def local_name(contact: Contact) -> str:
    """The name in the person's own script, in their culture's order ('山田 太郎', '王小明'); '' when none."""
    family, given = contact.family_name_local, contact.given_name_local
    if contact.name_order == NameOrder.GIVEN_FIRST:
        return " ".join(part for part in (given, family) if part)
    unspaced = contact.country_code in UNSPACED_COUNTRIES and script_of(family + given) in ("han", "hangul")
    return ("" if unspaced else " ").join(part for part in (family, given) if part)


def _render(template: str, status: int = 200, **context):
    return render_template(f"partners/{template}.html", organisation_kinds=ORGANISATION_KINDS,
                           legal_bases=LEGAL_BASES, name_orders=NAME_ORDERS, language=_language(),
                           local_name=local_name, **context), status


_attach = attach_error  # a service's refusal goes on the field it names (or the form's first field)


def _country_choices():
    language = _language()
    return choices([("", "—")] + sorted(((c.code, c.name(language)) for c in registry.countries()),
                                        key=lambda c: c[1]))


def _refused(form, exc: services.PartnersError, aliases: dict[str, str] | None = None) -> None:
    """A service refused: nothing it flushed stays, and its message goes to the field it names."""
    db.session.rollback()
    _attach(form, exc, aliases)


@bp.app_template_filter("phone")
def phone_for_reading(number: str) -> str:
    """An E.164 number as people read it: +81 3-5321-1111."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


@bp.app_template_filter("language_name")
def language_name(code: str) -> str:
    """A BCP 47 tag named in the reader's language: 'ja' → 'Japanese' / '日本語'."""
    return services.language_name(code)


def _local_time(zone: str | None) -> str | None:
    if not zone:
        return None
    try:
        return format_time(datetime.now(UTC), "short", tzinfo=ZoneInfo(zone), locale=get_locale() or "en")
    except (KeyError, ValueError):
        return None


# -- organisations ---------------------------------------------------------------------------------


def _organisation_choices(form: OrganisationForm, exclude: int | None = None) -> None:
    language = _language()
    blank = [("", "—")]
    form.parent_id.choices = choices(blank + [(oid, name) for oid, name in queries.organisation_options()
                                              if oid != exclude])
    form.partner_id.choices = choices(blank + sorted(
        ((p.id, p.display_name(language)) for p in db.session.scalars(select(Partner))), key=lambda r: r[1]))
    form.embassy_id.choices = choices(blank + sorted(
        ((e.id, (e.name_ja if language == "ja" else None) or e.name) for e in db.session.scalars(select(Embassy))),
        key=lambda r: r[1]))
    form.network_id.choices = choices(blank + sorted(
        ((n.id, (n.name_ja if language == "ja" else None) or n.name) for n in db.session.scalars(select(CityNetwork))),
        key=lambda r: r[1]))
    form.country_code.choices = _country_choices()


@bp.get("/organisations")
@auth.roles_required(Role.VIEWER)
def organisations():
    query, args = queries.organisations(request.args)
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    partners = sorted(((p.id, p.display_name(_language())) for p in db.session.scalars(select(Partner))),
                      key=lambda r: r[1])
    return _render("organisations", page=page, args=args, countries=_country_choices(), links=ORGANISATION_LINKS,
                   partners=partners)


@bp.get("/organisations/<int:organisation_id>")
@auth.roles_required(Role.VIEWER)
def organisation(organisation_id: int):
    found = queries.organisation(organisation_id)
    if found is None:
        abort(404)
    interactions, total = queries.organisation_interactions(found.id, ORGANISATION_INTERACTIONS)
    current = [p for p in found.positions if p.ended_on is None and p.contact.erased_at is None]
    past = [p for p in found.positions if p.ended_on is not None and p.contact.erased_at is None]
    return _render("organisation", organisation=found, current=current, past=past, interactions=interactions,
                   interactions_total=total)


@bp.route("/organisations/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def organisation_new():
    form = OrganisationForm()
    _organisation_choices(form)
    if request.method == "GET" and (parent := request.args.get("parent", "")).isdigit():
        form.parent_id.data = parent
    if form.validate_on_submit():
        response = saved(form, lambda: services.create_organisation(**form.organisation_fields(), actor=current_user),
                         done=lambda created: _("%(name)s is added.", name=created.name),
                         to=lambda created: url_for(".organisation", organisation_id=created.id))
        if response:
            return response
    return _render("organisation_form", 422 if form.is_submitted() else 200, form=form, organisation=None)


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def organisation_edit(organisation_id: int):
    found = db.get_or_404(Organisation, organisation_id)
    form = OrganisationForm(obj=found)
    _organisation_choices(form, exclude=found.id)
    if request.method == "GET":
        form.kind.data = found.kind.value
        for name in ("parent_id", "partner_id", "embassy_id", "network_id"):
            getattr(form, name).data = str(getattr(found, name) or "")
        form.country_code.data = found.country_code or ""
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_organisation(
            organisation_id=found.id, **form.organisation_fields(), actor=current_user),
            done=_("The organisation is saved."), to=url_for(".organisation", organisation_id=found.id))
        if response:
            return response
    return _render("organisation_form", 422 if form.is_submitted() else 200, form=form, organisation=found)


# -- contacts --------------------------------------------------------------------------------------


@bp.get("/contacts")
@auth.roles_required(Role.VIEWER)
def contacts():
    query, args = queries.contacts(request.args)
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    query_string = queries.contact_query_string(args)
    save_form = SaveSearchForm(formdata=None, data={"query": query_string})
    tag_form = TagContactsForm(formdata=None, data={"back": request.full_path if request.query_string
                                                    else request.path})
    organisation_ = db.session.get(Organisation, int(args["organisation"])) if args["organisation"] else None
    list_form, invite_form = ListContactsForm(formdata=None), InviteContactsForm(formdata=None)
    language = _language()
    list_form.list_id.choices = choices((m.id, m.name(language)) for m in db.session.scalars(
        select(MailingList).order_by(MailingList.id)))
    invite_form.meeting_id.choices = choices(
        (m.id, f"{m.title(language)} ({format_date(m.starts_at.astimezone(ZoneInfo(m.timezone)).date(), 'medium')})")
        for m in db.session.scalars(select(Meeting).where(
            Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > utcnow()).order_by(Meeting.starts_at)))
    return _render("contacts", page=page, args=args, countries=_country_choices(), organisation=organisation_,
                   languages=queries.language_options(),
                   tags=queries.tag_options(), saved=queries.saved_searches(current_user.id),
                   query_string=query_string, save_form=save_form, tag_form=tag_form, list_form=list_form,
                   invite_form=invite_form, confirm=ConfirmForm())


def _contact_or_404(contact_id: int) -> Contact:
    found = queries.contact(contact_id)
    if found is None:
        abort(404)
    return found


@bp.get("/contacts/<int:contact_id>")
@auth.roles_required(Role.VIEWER)
def contact(contact_id: int):
    found = _contact_or_404(contact_id)
    binding = services.account_binding(found) if found.erased_at is None and found.user_id is None else None
    bounced = bounces.last_reports(e.address for e in found.emails if e.bouncing_at is not None)
    return _render("contact", contact=found, local_time=_local_time(found.timezone), binding=binding,
                   confirm=ConfirmForm(), log_url=f"{request.script_root}/partners/log?contact={found.id}",
                   bounced=bounced)


def _contact_choices(form: ContactForm) -> None:
    form.country_code.choices = _country_choices()
    form.organisation_id.choices = choices([("", "—")] + queries.organisation_options())


@bp.route("/contacts/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def contact_new():
    form = ContactForm()
    _contact_choices(form)
    if request.method == "GET" and (organisation_id := request.args.get("organisation", "")).isdigit():
        form.organisation_id.data = organisation_id
    status = 200
    if form.is_submitted() and form.adding_row():
        return _render("contact_form", form=form, contact=None)
    if form.validate_on_submit():
        ok, city_id = city_from(form)
        if ok:
            organisation_id = form.organisation_id.data
            aliases = {"city_id": "city"}
            try:
                created = services.create_contact(**form.contact_fields(city_id), actor=current_user)
                if str(organisation_id or "").isdigit():
                    aliases = {"title": "position_title", "contact_id": "organisation_id"}
                    services.add_position(contact_id=created.id, organisation_id=int(organisation_id),
                                          title=form.position_title.data or "", actor=current_user)
            except services.PartnersError as exc:
                _refused(form, exc, aliases)
            else:
                db.session.commit()
                flash(_("%(name)s is added.", name=created.display_name(_language())), "success")
                return redirect(url_for(".contact", contact_id=created.id), 303)
        status = 422
    elif form.is_submitted():
        status = 422
    return _render("contact_form", status, form=form, contact=None)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def contact_edit(contact_id: int):
    found = _contact_or_404(contact_id)
    if found.erased_at is not None:
        abort(404)
    fields = services.contact_fields(found)
    if request.method == "GET":
        form = ContactForm(data={
            **ContactForm.reach_data(fields), **{name: fields[name] for name in (
                "honorific", "title", "timezone_override", "protocol_rank", "notes", "source", "consent_date",
                "review_date")},
            "name_order": fields["name_order"] or "", "country_code": fields["country_code"] or "",
            "legal_basis": fields["legal_basis"] or "", "tags": ", ".join(fields["tags"]),
            "city": f"{found.city.name}, {found.city.country_code}" if found.city else "",
            "city_id": str(found.city_id or "")})
    else:
        form = ContactForm()
    _contact_choices(form)
    if form.is_submitted() and form.adding_row():
        return _render("contact_form", form=form, contact=found)
    if form.validate_on_submit():
        ok, city_id = city_from(form)
        if ok:
            response = saved(form, lambda: services.update_contact(
                contact_id=found.id, **form.contact_fields(city_id), user_id=found.user_id, actor=current_user),
                done=_("The contact is saved."), to=url_for(".contact", contact_id=found.id),
                aliases={"city_id": "city"})
            if response:
                return response
    return _render("contact_form", 422 if form.is_submitted() else 200, form=form, contact=found)


@bp.route("/contacts/<int:contact_id>/positions/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def position_new(contact_id: int):
    found = _contact_or_404(contact_id)
    if found.erased_at is not None:
        abort(404)
    form = PositionForm()
    form.organisation_id.choices = choices([("", "—")] + queries.organisation_options())
    if request.method == "GET":
        form.end_current.data = request.args.get("move") == "1"
    if form.validate_on_submit():
        response = saved(form, lambda: services.add_position(
            contact_id=found.id, organisation_id=int(form.organisation_id.data), title=form.title.data or "",
            department=form.department.data or "", started_on=form.started_on.data, ended_on=form.ended_on.data,
            end_current=form.end_current.data, actor=current_user),
            done=_("The position is recorded."), to=url_for(".contact", contact_id=found.id, _anchor="positions-h"))
        if response:
            return response
    return _render("position_new", 422 if form.is_submitted() else 200, form=form, contact=found)


@bp.route("/positions/<int:position_id>/end", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def position_end(position_id: int):
    position = db.get_or_404(Position, position_id)
    if position.contact.erased_at is not None:
        abort(404)
    form = EndPositionForm()
    if form.validate_on_submit():
        response = saved(form, lambda: services.end_position(
            position_id=position.id, ended_on=form.ended_on.data, actor=current_user),
            done=_("The position has ended; it stays in the history."),
            to=url_for(".contact", contact_id=position.contact_id, _anchor="positions-h"))
        if response:
            return response
    return _render("position_end", 422 if form.is_submitted() else 200, form=form, position=position)


@bp.post("/contacts/<int:contact_id>/invite")
@auth.roles_required(Role.EDITOR)
def contact_invite(contact_id: int):
    found = db.get_or_404(Contact, contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    acted(lambda: services.invite_contact(contact_id=found.id, actor=current_user),
          done=lambda user: _("An invitation is on its way to %(email)s.", email=user.email))
    return redirect(url_for(".contact", contact_id=contact_id, _anchor="account-h"), 303)


@bp.post("/contacts/<int:contact_id>/emails/<int:email_id>/works")
@auth.roles_required(Role.EDITOR)
def contact_email_works(contact_id: int, email_id: int):
    """Staff say a bouncing address works again (the mailbox was fixed): mail goes to it again."""
    found = db.get_or_404(Contact, contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not any(e.id == email_id for e in found.emails):
        abort(404)
    acted(lambda: bounces.clear_bouncing(email_id=email_id, actor=current_user),
          done=lambda email: _("Mail goes to %(email)s again.", email=email.address))
    return redirect(url_for(".contact", contact_id=contact_id), 303)


# -- the list's tools: tags in bulk, saved searches ---------------------------------------------------


def _back_to_list(target: str | None) -> str:
    """`target` when it is the contact list (with its filters), else the bare list: never another site."""
    parts = urlsplit(target or "")
    list_path = url_for(".contacts")
    if not parts.scheme and not parts.netloc and parts.path == list_path:
        return f"{list_path}?{parts.query}" if parts.query else list_path
    return list_path


@bp.post("/contacts/tag")
@auth.roles_required(Role.EDITOR)
def contacts_tag():
    form = TagContactsForm()
    back = _back_to_list(form.back.data)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Give the tag to add or to remove."), "error")
        return redirect(back, 303)
    acted(lambda: services.tag_contacts(contact_ids=form.contact_ids.data or [], tag=form.tag.data,
                                        remove=form.action.data == "remove", actor=current_user),
          done=lambda changed: (
              ngettext("The tag %(tag)s is removed from %(num)d contact.",
                       "The tag %(tag)s is removed from %(num)d contacts.", changed, tag=form.tag.data)
              if form.action.data == "remove"
              else ngettext("The tag %(tag)s is added to %(num)d contact.",
                            "The tag %(tag)s is added to %(num)d contacts.", changed, tag=form.tag.data)))
    return redirect(back, 303)


def _skipped(skipped: dict[str, int]) -> str:
    """What a bulk action left out, in words ("" when nothing)."""
    reasons = {"no_email": lambda n: ngettext("%(num)d has no email address", "%(num)d have no email address", n),
               "already": lambda n: ngettext("%(num)d was there already", "%(num)d were there already", n),
               "left": lambda n: ngettext("%(num)d left the list (only they can come back)",
                                          "%(num)d left the list (only they can come back)", n)}
    said = [reasons[reason](n) for reason, n in skipped.items() if n]
    return _("Skipped: %(reasons)s.", reasons="; ".join(said)) if said else ""


def _subscribed(result: tuple[int, dict[str, int]]) -> str:
    """What newsletters.subscribe_contacts did (how many added, what it skipped), in words."""
    added, skipped = result
    return " ".join(filter(None, [ngettext("%(num)d contact is added to the list.",
                                           "%(num)d contacts are added to the list.", added), _skipped(skipped)]))


def _invited(result: tuple[list, dict[str, int]]) -> str:
    """What meetings.services.invite_contacts did (the invitations sent, what it skipped), in words."""
    invited, skipped = result
    return " ".join(filter(None, [ngettext("%(num)d invitation is sent.", "%(num)d invitations are sent.",
                                           len(invited)), _skipped(skipped)]))


@bp.post("/contacts/subscribe")
@auth.roles_required(Role.EDITOR)
def contacts_subscribe():
    form = ListContactsForm()
    back = _back_to_list(form.back.data)
    if not form.validate_on_submit():
        abort(400)
    if not form.contact_ids.data or not form.list_id.data:
        flash(_("Choose contacts and a mailing list."), "error")
        return redirect(back, 303)
    acted(lambda: newsletters.subscribe_contacts(list_id=form.list_id.data, contact_ids=form.contact_ids.data,
                                                 actor=current_user),
          done=_subscribed)
    return redirect(back, 303)


@bp.post("/contacts/invite")
@auth.roles_required(Role.EDITOR)
def contacts_invite():
    form = InviteContactsForm()
    back = _back_to_list(form.back.data)
    if not form.validate_on_submit():
        abort(400)
    if not form.contact_ids.data or not form.meeting_id.data:
        flash(_("Choose contacts and a meeting."), "error")
        return redirect(back, 303)
    acted(lambda: meeting_services.invite_contacts(meeting_id=form.meeting_id.data,
                                                   contact_ids=form.contact_ids.data, actor=current_user),
          done=_invited)
    return redirect(back, 303)


@bp.post("/contacts/searches")
@auth.roles_required(Role.VIEWER)
def search_save():
    form = SaveSearchForm()
    query_string = queries.contact_query_string(queries.contact_filters(
        dict(_query_pairs(form.query.data or ""))))
    back = f"{url_for('.contacts')}?{query_string}" if query_string else url_for(".contacts")
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Give the search a name."), "error")
        return redirect(back, 303)
    acted(lambda: services.save_search(user_id=current_user.id, name=form.name.data, query=query_string),
          done=lambda search: _("The search %(name)s is saved.", name=search.name))
    return redirect(back, 303)


def _query_pairs(query: str):
    return parse_qsl(query, keep_blank_values=False)[:20]


@bp.post("/contacts/searches/<int:saved_search_id>/delete")
@auth.roles_required(Role.VIEWER)
def search_delete(saved_search_id: int):
    saved = db.session.get(SavedSearch, saved_search_id)
    if saved is None or saved.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = saved.name
    services.delete_saved_search(saved_search_id=saved.id, user_id=current_user.id)
    db.session.commit()
    flash(_("The search %(name)s is deleted.", name=name), "success")
    return redirect(url_for(".contacts"), 303)


# -- liaisons and delegates: their own profile ---------------------------------------------------------


@bp.route("/me", methods=["GET", "POST"])
@auth.roles_required(Role.LIAISON, Role.DELEGATE)
def me():
    own = services.own_contact(current_user)
    mine = {"own_lists": lists.own_lists(current_user), "own_list_form": OwnSubscriptionForm(formdata=None)}
    if own is None:
        return _render("me", contact=None, form=None)
    if request.method == "GET":
        form = ProfileForm(data=ProfileForm.reach_data(services.contact_fields(own)))
    else:
        form = ProfileForm()
    if form.is_submitted() and form.adding_row():
        return _render("me", contact=own, form=form, **mine)
    if form.validate_on_submit():
        response = saved(form, lambda: services.update_own_profile(user=current_user, **form.reach_fields()),
                         done=_("Your profile is saved."), to=url_for(".me"))
        if response:
            return response
    own = services.own_contact(current_user)
    return _render("me", 422 if form.is_submitted() else 200, contact=own, form=form, **mine)
