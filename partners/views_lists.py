"""Staff pages of mailing lists and their subscribers, a liaison's or delegate's own choice of lists, and the
archive of past issues (public, or for subscribers); the public subscribe form is in views_newsletters.py."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from kizuna import auth
from kizuna.extensions import db
from kizuna.forms import ConfirmForm, acted, attach_error, saved
from kizuna.models import Role
from network import tabular
from network.services import local_today

from . import lists, newsletters, queries, services
from .forms_lists import AddSubscribersForm, ListForm, OwnSubscriptionForm
from .models import MailingList, SubscriptionStatus, primary_language
from .services import PartnersError
from .views import _subscribed

bp = Blueprint("lists", __name__, url_prefix="/newsletters")

PER_PAGE = 50
PICK_LIMIT = 50  # contacts offered at once on the "add subscribers" page
ARCHIVE_PER_PAGE = 20


def _language() -> str:
    return str(get_locale() or "en")


def _render(template: str, status: int = 200, **context):
    return render_template(f"partners/{template}.html", language=_language(), **context), status


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def _issues_link(list_id: int) -> str | None:
    """The issues page of the list, when the issues pages exist."""
    if "issues.index" in current_app.view_functions:
        return url_for("issues.index", list=list_id)
    return None


def _refused(form: ListForm, exc: PartnersError) -> None:
    """A refusal goes on the field it names (for saved, which rolls the change back). names-ja is the row of ja:
    its language when that is no language code, else its name; a name missing in the default language goes on
    the first empty row, which takes that language."""
    field = exc.field or ""
    if not field.startswith("names-"):
        attach_error(form, exc)
        return
    code = field[len("names-"):].lower()
    rows = [row.form for row in form.names]
    row = next((r for r in rows if (r.language.data or "").strip().lower() == code), None)
    if row is None:
        row = next((r for r in rows if not (r.name.data or "").strip()), None)
        if row is None:
            attach_error(form, PartnersError(str(exc), "default_language"))
            return
        row.language.data = code
    try:
        services.language_tag(row.language.data)
        target = row.name
    except PartnersError:
        target = row.language
    target.errors = [*target.errors, str(exc)]


# -- lists ---------------------------------------------------------------------------------------------


@bp.get("/")
@auth.roles_required(Role.VIEWER)
def index():
    return _render("lists", rows=lists.list_rows())


@bp.route("/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def new():
    form = ListForm()
    if request.method == "GET":
        form = ListForm(data={"names": [{"language": "en", "name": ""}, {"language": "ja", "name": ""}]})
    if form.is_submitted() and form.adding_row():
        return _render("list_form", form=form, mailing_list=None)
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.create_list(actor=current_user, **form.values()),
                         done=lambda created: _("The list %(name)s is created.", name=created.name(_language())),
                         to=lambda created: url_for(".detail", list_id=created.id), attach=_refused)
        if response:
            return response
    return _render("list_form", 422 if form.is_submitted() else 200, form=form, mailing_list=None)


@bp.route("/<int:list_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def edit(list_id: int):
    found = db.get_or_404(MailingList, list_id)
    form = ListForm(data=ListForm.data_of(found)) if request.method == "GET" else ListForm()
    if form.is_submitted() and form.adding_row():
        return _render("list_form", form=form, mailing_list=found)
    if form.validate_on_submit():
        response = saved(form, lambda: newsletters.update_list(list_id=found.id, actor=current_user, **form.values()),
                         done=_("The list is saved."), to=url_for(".detail", list_id=found.id), attach=_refused)
        if response:
            return response
    return _render("list_form", 422 if form.is_submitted() else 200, form=form, mailing_list=found)


@bp.get("/<int:list_id>")
@auth.roles_required(Role.VIEWER)
def detail(list_id: int):
    found = db.get_or_404(MailingList, list_id)
    args = lists.subscriber_filters(request.args)
    page = db.paginate(lists.subscribers(found.id, **args), page=_page(), per_page=PER_PAGE, error_out=False)
    return _render("list", mailing_list=found, page=page, args=args, counts=lists.status_counts(found.id),
                   statuses=list(SubscriptionStatus), issues=lists.list_issues(found.id),
                   issues_link=_issues_link(found.id))


@bp.get("/<int:list_id>/subscribers.csv")
@auth.roles_required(Role.EDITOR)  # as the contacts' export: a viewer reads the list, never carries it away
def export(list_id: int):
    found = db.get_or_404(MailingList, list_id)
    body = tabular.write_csv(lists.subscriber_rows(found.id), lists.SUBSCRIBER_COLUMNS)
    filename = f"list-{found.id}-subscribers-{local_today().isoformat()}.csv"
    return body, 200, {"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
                       "Content-Disposition": f'attachment; filename="{filename}"'}


@bp.route("/<int:list_id>/subscribers/<int:subscription_id>/unsubscribe", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def unsubscribe(list_id: int, subscription_id: int):
    """GET asks to confirm; the POST takes the person off the list (audited)."""
    found = db.get_or_404(MailingList, list_id)
    subscription = lists.subscription_of(found.id, subscription_id)
    if subscription is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        acted(lambda: lists.staff_unsubscribe(list_id=found.id, subscription_id=subscription.id, actor=current_user),
              done=lambda _result: _("%(name)s is no longer subscribed.",
                                     name=subscription.contact.display_name(_language())))
        return redirect(url_for(".detail", list_id=found.id), 303)
    return _render("list_unsubscribe", 422 if form.is_submitted() else 200, mailing_list=found,
                   subscription=subscription, form=form)


@bp.route("/<int:list_id>/add", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def add(list_id: int):
    """Find contacts by name or email and put the chosen ones on the list (staff vouch for their consent)."""
    found = db.get_or_404(MailingList, list_id)
    form = AddSubscribersForm()
    if form.validate_on_submit():
        if not form.contact_ids.data:
            flash(_("Choose contacts to add."), "error")
            return redirect(url_for(".add", list_id=found.id, q=request.args.get("q", "")), 303)
        acted(lambda: newsletters.subscribe_contacts(list_id=found.id, contact_ids=form.contact_ids.data,
                                                     actor=current_user),
              done=_subscribed)
        return redirect(url_for(".detail", list_id=found.id), 303)
    if form.is_submitted():
        abort(400)
    q = (request.args.get("q") or "").strip()[:200]
    candidates = []
    if q:
        query, _args = queries.contacts({"q": q, "email": "yes"})
        candidates = db.session.scalars(query.limit(PICK_LIMIT + 1)).all()
    on_list = {s.contact_id: s.status for s in db.session.scalars(
        lists.subscribers(found.id).where(lists.Subscription.contact_id.in_([c.id for c in candidates] or [0])))}
    return _render("list_add", mailing_list=found, form=form, q=q, candidates=candidates[:PICK_LIMIT],
                   more=len(candidates) > PICK_LIMIT, on_list=on_list)


# -- a liaison's or a delegate's own subscriptions (shown on their profile) ------------------------------------


@bp.post("/mine/<int:list_id>")
@auth.roles_required(Role.LIAISON, Role.DELEGATE)
def mine(list_id: int):
    form = OwnSubscriptionForm()
    back = url_for("partners.me", _anchor="subscriptions-h")
    if not form.validate_on_submit() and form.csrf_token.errors:
        abort(400)
    if form.action.data not in ("subscribe", "unsubscribe"):
        flash(_("Choose to subscribe or to unsubscribe."), "error")
        return redirect(back, 303)
    if form.action.data == "subscribe":
        acted(lambda: lists.subscribe_self(user=current_user, list_id=list_id, ip=request.remote_addr),
              done=lambda subscription: _("You are subscribed to %(list)s.",
                                          list=subscription.mailing_list.name(_language())))
    else:
        acted(lambda: lists.unsubscribe_self(user=current_user, list_id=list_id),
              done=lambda subscription: _("You are no longer subscribed to %(list)s.",
                                          list=subscription.mailing_list.name(_language())))
    return redirect(back, 303)


# -- the archive: public, or for subscribers (staff, their own accounts, or a signed read-on-the-web link) ----


@bp.app_template_filter("autonym")
def autonym(code: str) -> str:
    """A language named in itself ('ja' → '日本語', 'ko' → '한국어'), as a language switch names them."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        name = None
    return name or code


def _readable_list(list_id: int, token: str | None) -> MailingList:
    """The list if the reader may read its archive; a 404 page saying the archive is for subscribers if not."""
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None:
        abort(404)
    if not lists.may_read_archive(mailing_list, current_user, token):
        abort(make_response(render_template("partners/archive_closed.html", mailing_list=mailing_list,
                                            list_name=mailing_list.name(_language())), 404))
    return mailing_list


def _variant_for(issue, wanted: str | None, mailing_list: MailingList):
    """The variant asked for; else the one in the reader's language; else the list's default; else any."""
    for code in (wanted, _language(), mailing_list.default_language):
        if code:
            variant = issue.variant(code) or next(
                (v for v in issue.variants if primary_language(v.language) == primary_language(code)), None)
            if variant is not None:
                return variant
    return issue.variants[0]


@bp.get("/<int:list_id>/archive")
@auth.public
def archive(list_id: int):
    token = request.args.get("token") or None
    mailing_list = _readable_list(list_id, token)
    page = db.paginate(lists.archive(mailing_list.id), page=_page(), per_page=ARCHIVE_PER_PAGE, error_out=False)
    language = _language()
    entries = [(issue, _variant_for(issue, None, mailing_list)) for issue in page.items if issue.variants]
    return render_template("partners/archive.html", mailing_list=mailing_list, page=page, entries=entries,
                           token=token, list_name=mailing_list.name(language))


@bp.get("/<int:list_id>/archive/<int:issue_id>")
@auth.public
def archive_issue(list_id: int, issue_id: int):
    token = request.args.get("token") or None
    mailing_list = _readable_list(list_id, token)
    issue = lists.archived_issue(mailing_list.id, issue_id)
    if issue is None:
        abort(404)
    variant = _variant_for(issue, (request.args.get("lang") or "")[:35] or None, mailing_list)
    body_html, _text = newsletters.render_markdown(variant.body)
    return render_template("partners/archive_issue.html", mailing_list=mailing_list, issue=issue, variant=variant,
                           body_html=body_html, token=token, list_name=mailing_list.name(_language()),
                           list_name_in_variant=mailing_list.name(variant.language))
