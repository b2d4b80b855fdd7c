"""Pages of the meetings module for staff: the planning board, a meeting, its invitations and
registrations (views_public.py adds the pages invitees and delegates reach through their links, and the
calendar files)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kizuna import auth, files
from kizuna.extensions import db
from kizuna.forms import acted, attach_error, saved
from kizuna.i18n import LANGUAGES, home_timezone
from kizuna.models import Role
from kizuna.web import ListPage
from network import services as network_services
from network import tabular
from network.models import NetworkEvent, Partner

from . import agenda, queries, reminders, services
from .forms import (
    ANSWERED_VIA,
    ANSWERS,
    DELIVERY,
    DOCUMENT_KINDS,
    FORM_LANGUAGES,
    FORMATS,
    MEETING_STATUSES,
    REGISTRATION_STATUSES,
    ROLES,
    TIERS,
    ActionForm,
    CancelForm,
    DecideForm,
    InviteContactForm,
    InvitePartnerForm,
    MeetingForm,
    PostponeForm,
    RecordAnswerForm,
    SeriesForm,
    WithdrawForm,
)
from .models import Invitation, Meeting, MeetingSeries, MeetingStatus, Registration, Tier

bp = Blueprint("meetings", __name__, url_prefix="/meetings")

MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
REGISTRATION_COLUMNS = {
    "name": _l("Name"), "email": _l("Email"), "delegation": _l("Delegation"), "role": _l("Role"),
    "title": _l("Title"), "status": _l("Status"), "registered_at": _l("Registered (UTC)"),
    "arrival_at": _l("Arrival (UTC)"), "departure_at": _l("Departure (UTC)"), "dietary": _l("Dietary needs"),
    "accessibility": _l("Accessibility needs"), "interpretation_language": _l("Interpretation"),
    "language": _l("Language"),
}


PER_PAGE = 100  # registrations per page


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def _language() -> str:
    return str(get_locale() or "en")


def in_zone(value: datetime | None, zone: str, fmt: str = "medium") -> str:
    """A UTC datetime as a reader in `zone` reads it, in the reader's language, with the zone's name.
    Registered as the template filter `in_zone`."""
    if value is None:
        return ""
    return format_datetime(value, fmt, tzinfo=ZoneInfo(zone),
                           locale=get_locale() or "en") + f" ({zone})"


bp.add_app_template_filter(in_zone, "in_zone")


def _labels() -> dict:
    # Each label translated once per request: a list of a thousand rows would translate it a thousand times.
    labels = {"tiers": TIERS, "formats": FORMATS, "meeting_statuses": MEETING_STATUSES, "answers": ANSWERS,
              "answered_via": ANSWERED_VIA, "registration_statuses": REGISTRATION_STATUSES, "roles": ROLES,
              "delivery": DELIVERY, "document_kinds": DOCUMENT_KINDS}
    return {**{name: {k: str(v) for k, v in table.items()} for name, table in labels.items()},
            "language": _language(), "reader_zone": str(get_timezone())}


def compact_time(value: datetime | None) -> str:
    """A UTC datetime in the reader's zone as 2027-03-04 10:00: for long lists, where babel's formatting of
    each row would cost more than the rest of the page. Registered as the template filter `compact_time`."""
    if value is None:
        return ""
    return value.astimezone(get_timezone()).strftime("%Y-%m-%d %H:%M")


bp.add_app_template_filter(compact_time, "compact_time")


def _render(template: str, status: int = 200, **context):
    return render_template(f"meetings/{template}.html", **_labels(), **context), status


def _attach(form, exc: services.MeetingError, aliases: dict[str, str] | None = None) -> str | None:
    """Put a service's refusal on the form field it names; return it when it names none of the form's."""
    return attach_error(form, exc, aliases, fallback=False)


def _first(problems: list[str]) -> str | None:
    return problems[0] if problems else None


# The service's names of the titles and descriptions (a dict by language) → the form's fields.
LANGUAGE_FIELDS = {"titles": "title_en", "titles-en": "title_en", "titles-ja": "title_ja",
                   "descriptions-en": "description_en", "descriptions-ja": "description_ja"}


def _id(value) -> int | None:
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


# -- the planning board and series --------------------------------------------------------------


@bp.get("/")
@auth.roles_required(Role.VIEWER)
def board():
    """The meetings of one year, grouped by tier: the year asked for, or "all", else the year of the next
    meeting (a board of ten years of meetings is no board)."""
    asked = request.args.get("year", "")
    year = None if asked == "all" else int(asked) if asked.isdigit() else queries.next_year()
    args = {"tier": request.args.get("tier", ""), "status": request.args.get("status", ""), "year": year}
    found = queries.board(**args)
    page = ListPage(min(_page(), max(1, -(-len(found) // BOARD_PAGE))), len(found), BOARD_PAGE)
    meetings = found[(page.page - 1) * BOARD_PAGE:page.page * BOARD_PAGE]
    groups: dict[int, dict[Tier, list[Meeting]]] = {}
    for meeting in meetings:
        groups.setdefault(queries.local_year(meeting), {}).setdefault(meeting.tier, []).append(meeting)
    return _render("board", meetings=meetings, groups=groups, counts=queries.counts([m.id for m in meetings]),
                   years=queries.years(), args=args, page=page)


BOARD_PAGE = 100  # meetings per page of the board, in date order


@bp.get("/series")
@auth.roles_required(Role.VIEWER)
def series_list():
    return _render("series", series=queries.series_list())


@bp.route("/series/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def series_new():
    form = SeriesForm()
    problems: list[str] = []
    if form.validate_on_submit():
        response = saved(form, lambda: services.create_series(
            titles={"en": form.title_en.data, "ja": form.title_ja.data},
            descriptions={"en": form.description_en.data, "ja": form.description_ja.data},
            default_language="en" if (form.title_en.data or "").strip() else "ja",
            tier=form.tier.data, rrule=form.rrule.data or "", default_format=form.default_format.data,
            default_delegation_limit=form.default_delegation_limit.data,
            invitable_ranks=[r.strip() for r in (form.invitable_ranks.data or "").split(",") if r.strip()],
            accreditation_required=form.accreditation_required.data, actor=current_user),
            done=lambda series: _("The series %(title)s is saved.", title=series.title(_language())),
            to=url_for(".series_list"), aliases=LANGUAGE_FIELDS, problems=problems)
        if response:
            return response
    return _render("series_form", 422 if form.is_submitted() else 200, form=form, problem=_first(problems))


# -- planning a meeting -------------------------------------------------------------------------


def _meeting_choices(form: MeetingForm) -> None:
    language = _language()
    form.series_id.choices = [("", _("None"))] + [(str(s.id), s.title(language)) for s in queries.series_list()]
    events = queries.network_events()
    form.network_event_id.choices = [("", _("None"))] + [
        (str(eid), f"{network}: {title} ({starts_on.isoformat()})") for eid, title, starts_on, network in events]


def _extra_language(meeting: Meeting | None) -> str:
    """The first language beyond English and Japanese that the meeting has a title in (shown in the form)."""
    if meeting is None:
        return ""
    return next((code for code in sorted({*meeting.titles, *meeting.descriptions}) if code not in FORM_LANGUAGES),
                "")


def _local(value: datetime | None, zone: str) -> datetime | None:
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None) if value is not None else None


def _fill(form: MeetingForm, meeting: Meeting) -> None:
    for code in FORM_LANGUAGES:
        form[f"title_{code}"].data = meeting.titles.get(code, "")
        form[f"description_{code}"].data = meeting.descriptions.get(code, "")
    other = _extra_language(meeting)
    form.other_language.data = other
    form.other_title.data = meeting.titles.get(other, "")
    form.other_description.data = meeting.descriptions.get(other, "")
    form.default_language.data = meeting.default_language
    for name in ("tier", "format", "status"):
        if name in form._fields:
            form[name].data = getattr(meeting, name).value
    for name in ("venue", "room", "address", "online_url", "capacity", "delegation_limit",
                 "accreditation_required", "approval_required", "timezone"):
        form[name].data = getattr(meeting, name)
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        form[name].data = _local(getattr(meeting, name), meeting.timezone)
    form.interpretation_languages.data = ", ".join(meeting.interpretation_languages)
    form.series_id.data = str(meeting.series_id or "")
    form.network_event_id.data = str(meeting.network_event_id or "")


def _fields(form: MeetingForm, meeting: Meeting | None) -> dict:
    """The service's keyword arguments from the form; languages the form does not show are kept."""
    titles = {code: form[f"title_{code}"].data for code in FORM_LANGUAGES}
    descriptions = {code: form[f"description_{code}"].data for code in FORM_LANGUAGES}
    shown = _extra_language(meeting)
    if meeting is not None:
        for code, text in meeting.titles.items():
            if code not in FORM_LANGUAGES and code != shown:
                titles[code] = text
        for code, text in meeting.descriptions.items():
            if code not in FORM_LANGUAGES and code != shown:
                descriptions[code] = text
    other = (form.other_language.data or "").strip()
    if other and other not in FORM_LANGUAGES:
        titles[other] = form.other_title.data
        descriptions[other] = form.other_description.data
    return {
        "titles": titles, "descriptions": descriptions, "default_language": form.default_language.data,
        "series_id": _id(form.series_id.data), "tier": form.tier.data, "format": form.format.data,
        "venue": form.venue.data or "", "room": form.room.data or "", "address": form.address.data or "",
        "online_url": form.online_url.data or None, "timezone": form.timezone.data,
        "starts_at": form.starts_at.data, "ends_at": form.ends_at.data,
        "registration_opens_at": form.registration_opens_at.data,
        "registration_closes_at": form.registration_closes_at.data,
        "capacity": form.capacity.data, "delegation_limit": form.delegation_limit.data,
        "interpretation_languages": [c.strip() for c in (form.interpretation_languages.data or "").split(",")
                                     if c.strip()],
        "accreditation_required": form.accreditation_required.data,
        "approval_required": form.approval_required.data,
        "network_event_id": _id(form.network_event_id.data),
    }


def _meeting_aliases(form: MeetingForm) -> dict[str, str]:
    aliases = dict(LANGUAGE_FIELDS)
    other = (form.other_language.data or "").strip()
    if other:
        aliases |= {f"titles-{other}": "other_title", f"descriptions-{other}": "other_description"}
    return aliases


def _home_zone() -> str:
    city = network_services.home_city()
    return city.timezone if city is not None else home_timezone()


@bp.route("/new", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def new():
    form = MeetingForm()
    _meeting_choices(form)
    problems: list[str] = []
    if not form.is_submitted():
        form.timezone.data = _home_zone()
        series = db.session.get(MeetingSeries, request.args.get("series", type=int) or 0)
        if series is not None:
            form.series_id.data = str(series.id)
            form.tier.data, form.format.data = series.tier.value, series.default_format.value
            form.delegation_limit.data = series.default_delegation_limit
            form.accreditation_required.data = series.accreditation_required
    elif form.validate():
        home = network_services.home_city()
        response = saved(form, lambda: services.create_meeting(actor=current_user, city_id=home.id if home else None,
                                                               **_fields(form, None)),
                         done=_("The meeting is planned as a draft. Schedule it when people may be invited."),
                         to=lambda meeting: url_for(".detail", meeting_id=meeting.id),
                         aliases=_meeting_aliases(form), problems=problems)
        if response:
            return response
    return _render("meeting_form", 422 if form.is_submitted() else 200, form=form, meeting=None,
                   problem=_first(problems), told=0)


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def edit(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = MeetingForm()
    _meeting_choices(form)
    problems: list[str] = []
    told = queries.told_of_changes(meeting) if meeting.status != MeetingStatus.DRAFT else 0
    if not form.is_submitted():
        _fill(form, meeting)
    elif form.validate():
        sequence = meeting.sequence  # moved in time: those told of the meeting get an updated invitation
        response = saved(form, lambda: services.update_meeting(
            meeting_id=meeting.id, actor=current_user, city_id=meeting.city_id, is_sample=meeting.is_sample,
            **_fields(form, meeting)),
            done=lambda _result: ngettext_told(told) if told and meeting.sequence != sequence
            else _("The meeting is saved."),
            to=url_for(".detail", meeting_id=meeting.id), aliases=_meeting_aliases(form), problems=problems)
        if response:
            return response
    return _render("meeting_form", 422 if form.is_submitted() else 200, form=form, meeting=meeting,
                   problem=_first(problems), told=told, action_form=ActionForm(formdata=None, prefix="action"))


def ngettext_told(n: int) -> str:
    return ngettext("The meeting is saved; an updated invitation is on its way to %(num)d person.",
                    "The meeting is saved; updated invitations are on their way to %(num)d people.", n)


@bp.post("/<int:meeting_id>/schedule")
@auth.roles_required(Role.EDITOR)
def schedule(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = ActionForm(prefix="action")  # its button sits beside other forms: ids of its own
    if not form.validate_on_submit():
        abort(400)
    acted(lambda: services.schedule_meeting(meeting_id=meeting.id, actor=current_user),
          done=_("The meeting is scheduled: you can now invite people."))
    return redirect(url_for(".detail", meeting_id=meeting.id), 303)


def _with_reason(meeting_id: int, form_class, change, template: str, done: str):
    """A change of a meeting's state that everyone invited is told of, with a reason: the confirmation page,
    then `change(meeting_id=…, reason=…, actor=…)`."""
    meeting = db.get_or_404(Meeting, meeting_id)
    form = form_class()
    problems: list[str] = []
    told = queries.told_of_changes(meeting) if meeting.status != MeetingStatus.DRAFT else 0
    if form.validate_on_submit():
        response = saved(form, lambda: change(meeting_id=meeting.id, reason=form.reason.data or "", actor=current_user),
                         done=done, to=url_for(".detail", meeting_id=meeting.id), problems=problems)
        if response:
            return response
    return _render(template, 422 if form.is_submitted() else 200, form=form, meeting=meeting,
                   problem=_first(problems), told=told)


@bp.route("/<int:meeting_id>/cancel", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def cancel(meeting_id: int):
    return _with_reason(meeting_id, CancelForm, services.cancel_meeting, "cancel",
                        _("The meeting is cancelled; everyone invited or registered is told."))


@bp.route("/<int:meeting_id>/postpone", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def postpone(meeting_id: int):
    """Put a meeting off: calendars keep it, marked tentative, until it is edited and scheduled again."""
    return _with_reason(meeting_id, PostponeForm, services.postpone_meeting, "postpone",
                        _("The meeting is postponed; everyone invited or registered is told. Set the new time, "
                          "then schedule it again."))


# -- the meeting page and its invitations -------------------------------------------------------


INVITATIONS_PER_PAGE = 50  # on the meeting page; the counts above the table are of all of them


def _detail(meeting: Meeting, status: int = 200, *, partner_form=None, contact_form=None, problem=None):
    language = _language()
    if partner_form is None:
        partner_form = InvitePartnerForm(formdata=None, prefix="partner")
    if contact_form is None:
        contact_form = InviteContactForm(formdata=None, prefix="contact")
    partner_form.partner_id.choices = [("", _("Choose a partner"))] + [
        (str(pid), name) for pid, name in queries.partner_options(language)]
    page = db.paginate(queries.invitations(meeting.id), page=_page(), per_page=INVITATIONS_PER_PAGE,
                       error_out=False)
    invitations = page.items
    series_title = meeting.series.title(language) if meeting.series else None
    event = db.session.get(NetworkEvent, meeting.network_event_id) if meeting.network_event_id else None
    return _render("meeting", status, meeting=meeting, invitations=invitations, page=page,
                   partners=queries.partner_names(i.partner_id for i in invitations),
                   messages=queries.latest_messages(meeting.id), counts=queries.counts([meeting.id])[meeting.id],
                   partner_form=partner_form, contact_form=contact_form,
                   action_form=ActionForm(formdata=None, prefix="action"),
                   answer_form=RecordAnswerForm(formdata=None),
                   problem=problem, series_title=series_title, event=event,
                   can_invite=meeting.status == MeetingStatus.SCHEDULED, delegations=queries.delegations(meeting),
                   to_remind=reminders.count_unanswered(meeting.id) if meeting.status == MeetingStatus.SCHEDULED
                   else 0)


@bp.get("/<int:meeting_id>")
@auth.roles_required(Role.VIEWER)
def detail(meeting_id: int):
    return _detail(db.get_or_404(Meeting, meeting_id))


def _invitation_language(code: str | None) -> str:
    primary = (code or "").split("-")[0].lower()
    return primary if primary in LANGUAGES else "en"


@bp.post("/<int:meeting_id>/invitations")
@auth.roles_required(Role.EDITOR)
def invite(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    by_contact = "contact-contact" in request.form
    partner_form = InvitePartnerForm(formdata=None if by_contact else request.form, prefix="partner")
    contact_form = InviteContactForm(formdata=request.form if by_contact else None, prefix="contact")
    form = contact_form if by_contact else partner_form

    def invite_one() -> Invitation:
        if by_contact:
            contact = agenda.find_contact(contact_form.contact.data, "contact", needs_email=True)
            return services.invite(
                meeting_id=meeting.id, email=contact.primary_email, name=contact.display_name(_language()),
                language=_invitation_language(contact.preferred_language), contact_id=contact.id,
                timezone=contact.timezone, actor=current_user)
        partner = db.session.get(Partner, _id(partner_form.partner_id.data) or 0)
        if partner is None:
            raise services.MeetingError(_("Choose a partner from the registry."), "partner_id")
        return services.invite(
            meeting_id=meeting.id, email=partner_form.email.data, name=partner_form.name.data,
            language=partner_form.language.data, partner_id=partner.id,
            timezone=partner.city.timezone if partner.city else None, actor=current_user)

    problems: list[str] = []
    if form.validate():
        response = saved(form, invite_one,
                         done=lambda invitation: _("%(email)s is invited; the invitation is in the outbox.",
                                                   email=invitation.email),
                         to=url_for(".detail", meeting_id=meeting.id, _anchor="invitations"),
                         aliases={"email": "contact"} if by_contact else None, problems=problems)
        if response:
            return response
    return _detail(meeting, 422, partner_form=partner_form, contact_form=contact_form, problem=_first(problems))


@bp.post("/<int:meeting_id>/remind")
@auth.roles_required(Role.EDITOR)
def remind(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        reminded = reminders.remind_unanswered(meeting_id=meeting.id, actor=current_user)
    except services.MeetingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        if reminded:
            flash(ngettext("A reminder is on its way to %(num)d person.",
                           "Reminders are on their way to %(num)d people.", len(reminded)), "success")
        else:
            flash(_("Nobody to remind: everyone has answered or was reminded in the last day."), "info")
    return redirect(url_for(".detail", meeting_id=meeting.id, _anchor="invitations"), 303)


@bp.post("/invitations/<int:invitation_id>/answer")
@auth.roles_required(Role.EDITOR)
def record_answer(invitation_id: int):
    """An answer given to the office (by phone, by letter, in person), recorded as given through staff."""
    invitation = db.get_or_404(Invitation, invitation_id)
    form = RecordAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    acted(lambda: services.record_answer(invitation=invitation, answer=form.answer.data, via="staff",
                                         actor=current_user),
          done=lambda _result: _("The answer of %(name)s is recorded.", name=invitation.name or invitation.email))
    return redirect(url_for(".detail", meeting_id=invitation.meeting_id, _anchor="invitations"), 303)


@bp.route("/invitations/<int:invitation_id>/withdraw", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def withdraw(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    meeting = invitation.meeting
    form = WithdrawForm()
    problems: list[str] = []
    if form.validate_on_submit():
        response = saved(form, lambda: services.uninvite(invitation_id=invitation.id, reason=form.reason.data or "",
                                                         actor=current_user),
                         done=_("The invitation of %(email)s is withdrawn.", email=invitation.email),
                         to=url_for(".detail", meeting_id=meeting.id, _anchor="invitations"), problems=problems)
        if response:
            return response
    return _render("withdraw", 422 if form.is_submitted() else 200, form=form, meeting=meeting, invitation=invitation,
                   problem=_first(problems))


# -- registrations ------------------------------------------------------------------------------


def _registration_args() -> dict:
    return {"status": request.args.get("status", ""), "partner_id": request.args.get("partner", type=int),
            "role": request.args.get("role", "")}


@bp.get("/<int:meeting_id>/registrations")
@auth.roles_required(Role.VIEWER)
def registrations(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    args = _registration_args()
    page = db.paginate(queries.registrations_query(meeting.id, **args), page=_page(), per_page=PER_PAGE,
                       error_out=False)
    delegations = queries.delegation_partners(meeting.id)
    return _render("registrations", meeting=meeting, page=page, args=args, delegations=delegations,
                   partners={p.id: p for p in delegations}, waiting=queries.waiting_list(meeting.id),
                   taken=services.places_taken(meeting.id), decide_form=DecideForm(formdata=None))


def _registration_rows(meeting: Meeting, args: dict, language: str):
    partners = {p.id: p for p in queries.delegation_partners(meeting.id)}
    for r in db.session.scalars(queries.registrations_query(meeting.id, **args)):
        partner = partners.get(r.delegation.partner_id) if r.delegation else None
        yield {"name": r.name, "email": r.email, "delegation": partner.display_name(language) if partner else "",
               "role": str(ROLES[r.role]), "title": r.title, "status": str(REGISTRATION_STATUSES[r.status]),
               "registered_at": r.registered_at, "arrival_at": r.arrival_at, "departure_at": r.departure_at,
               "dietary": r.dietary, "accessibility": r.accessibility,
               "interpretation_language": r.interpretation_language, "language": r.language}


@bp.get("/<int:meeting_id>/registrations.<fmt>")
@auth.roles_required(Role.EDITOR)
def registrations_export(meeting_id: int, fmt: str):
    meeting = db.get_or_404(Meeting, meeting_id)
    rows = _registration_rows(meeting, _registration_args(), _language())
    if fmt == "csv":
        body = tabular.write_csv(rows, REGISTRATION_COLUMNS)
    elif fmt == "xlsx":
        body = tabular.write_xlsx(rows, REGISTRATION_COLUMNS, _("Registrations"))
    else:
        abort(404)
    filename = f"registrations-{meeting.id}-{network_services.local_today().isoformat()}.{fmt}"
    return body, 200, {"Content-Type": MIME[fmt], "Content-Disposition": f'attachment; filename="{filename}"',
                       "Cache-Control": "no-store"}


@bp.get("/registrations/<int:registration_id>/accreditation")
@auth.roles_required(Role.VIEWER)
def accreditation(registration_id: int):
    """A registration's note verbale, to staff only, as a non-cached attachment."""
    registration = db.get_or_404(Registration, registration_id)
    path = services.accreditation_path(registration.accreditation_sha256) if registration.accreditation_sha256 \
        else None
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=(files.sniff(path.read_bytes()) or ("application/octet-stream",))[0],
                         conditional=False, etag=False)
    response.headers["Content-Disposition"] = files.content_disposition(registration.accreditation_filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/registrations/<int:registration_id>/decide")
@auth.roles_required(Role.EDITOR)
def decide(registration_id: int):
    registration = db.get_or_404(Registration, registration_id)
    form = DecideForm()
    if not form.validate_on_submit() or not (form.approve.data or form.decline.data):
        abort(400)
    acted(lambda: services.decide(registration_id=registration.id, approve=bool(form.approve.data), actor=current_user),
          done=lambda _result: _("%(name)s is approved.", name=registration.name) if form.approve.data
          else _("%(name)s is declined.", name=registration.name))
    return redirect(url_for(".registrations", meeting_id=registration.meeting_id), 303)


