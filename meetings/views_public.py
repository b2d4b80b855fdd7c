"""Pages of the meetings module that invitees and delegates reach (routes added to meetings.views.bp), and
the calendar files and feeds.

The invitee's page is public and opened by the signed link of their invitation (services.invitation_token): a
tampered link gets 404, an outdated, replaced or withdrawn one 410, and neither changes anything. Staff get the
calendar files of a meeting and of a series and upload invitations received from outside; every signed-in user
manages their own private calendar feed (/calendar/feeds), which calendar programs read at /calendar/<token>.ics.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from kizuna import auth, uploads
from kizuna.extensions import db
from kizuna.forms import acted
from kizuna.i18n import LANGUAGES
from kizuna.models import Role
from kizuna.urls import external_url

from . import calendar, importing, services
from .emails import reader_zone, when
from .forms import MEETING_STATUSES
from .forms_public import (
    ANSWER_LABELS,
    ANSWERS,
    ROLES,
    ActionForm,
    AnswerForm,
    FeedForm,
    IcsConfirmForm,
    IcsUploadForm,
    RegisterForm,
)
from .models import Delegation, Invitation, Meeting, MeetingSeries, MeetingStatus, Registration, RegistrationStatus
from .views import bp

# The personal feeds live at /calendar/…, outside the module's /meetings prefix (registered by init_app).
calendar_bp = Blueprint("meetings_calendar", __name__, url_prefix="/calendar")

STATUSES = {RegistrationStatus.CONFIRMED: _l("Confirmed"), RegistrationStatus.PENDING: _l("Awaiting approval"),
            RegistrationStatus.WAITLISTED: _l("On the waiting list"),
            RegistrationStatus.OFFERED: _l("A place is offered"), RegistrationStatus.DECLINED: _l("Declined"),
            RegistrationStatus.CANCELLED: _l("Cancelled")}
CALENDAR_TYPE = "text/calendar; charset=utf-8"


@bp.app_template_global("webcal")
def webcal(url: str) -> str:
    """The webcal:// form of a feed's address, which calendar programs open as a subscription."""
    parts = urlsplit(url)
    return urlunsplit(("webcal", *parts[1:]))


def _calendar_response(body: bytes, filename: str, *, inline: bool = False):
    response = make_response(body)
    response.headers["Content-Type"] = CALENDAR_TYPE
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


def _language() -> str:
    return str(get_locale() or "en")


# -- the invitee's page ------------------------------------------------------------------------------------


def _invitation(token: str) -> Invitation:
    """The invitation of a link, or a page that says why the link cannot be used: 404 for a link that was never
    ours (tampered), 410 for one that was but no longer works (replaced, withdrawn, expired, meeting cancelled)."""
    if not services.check_token(token):
        abort(make_response(render_template("meetings/answer_invalid.html",
                                            message=_("This link is not valid. Use the link in the latest email.")),
                            404))
    try:
        return services.invitation_for(token)
    except services.MeetingError as exc:
        abort(make_response(render_template("meetings/answer_invalid.html", message=str(exc)), 410))


def _delegation(invitation: Invitation) -> Delegation | None:
    return db.session.scalar(select(Delegation).where(Delegation.invitation_id == invitation.id))


def _registrations(invitation: Invitation, delegation: Delegation | None) -> list[Registration]:
    mine = Registration.invitation_id == invitation.id
    where = or_(mine, Registration.delegation_id == delegation.id) if delegation is not None else mine
    return list(db.session.scalars(select(Registration).where(where).order_by(Registration.registered_at,
                                                                              Registration.id)))


def _registration(invitation: Invitation, registration_id: int) -> Registration:
    """A registration made on this invitation (or in its delegation); 404 for any other."""
    registration = db.session.get(Registration, registration_id)
    delegation = _delegation(invitation)
    if registration is None or not (registration.invitation_id == invitation.id or (
            delegation is not None and registration.delegation_id == delegation.id)):
        abort(404)
    return registration


def _register_form(meeting: Meeting, **kwargs) -> RegisterForm:
    form = RegisterForm(**kwargs)
    form.interpretation_language.choices = [("", _("None"))] + [(code, code) for code in
                                                                meeting.interpretation_languages]
    zone = meeting.timezone
    hint = _("In the host city's time (%(zone)s).", zone=zone)
    form.arrival_at.description = form.departure_at.description = hint
    return form


def _local(moment, meeting: Meeting) -> str:
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(meeting.timezone), locale=_language()) if moment else ""


def _page(invitation: Invitation, status: int = 200, *, answer_form: AnswerForm | None = None,
          register_form: RegisterForm | None = None, register_error: str | None = None):
    meeting = invitation.meeting
    delegation = _delegation(invitation)
    registrations = _registrations(invitation, delegation)
    limit = (delegation.size_limit or meeting.delegation_limit) if delegation is not None else None
    counted = sum(1 for r in registrations if r.status in services.COUNTS_AGAINST_LIMIT)
    token = request.view_args["token"]
    body = render_template(
        "meetings/answer.html", invitation=invitation, meeting=meeting, token=token,
        title=meeting.title(invitation.language), description=meeting.description(invitation.language),
        when=when(meeting, invitation.timezone), answer_form=answer_form or AnswerForm(formdata=None),
        answers=ANSWERS, answer_labels=ANSWER_LABELS, delegation=delegation, registrations=registrations,
        limit=limit, counted=counted, statuses=STATUSES, roles=ROLES, local=lambda m: _local(m, meeting),
        register_form=register_form or _register_form(meeting, formdata=None,
                                                        **({} if delegation else {"name": invitation.name,
                                                                                  "email": invitation.email})),
        register_error=register_error, action=ActionForm(formdata=None),
        open_for_registration=meeting.status == MeetingStatus.SCHEDULED)
    return body, status


def _in_their_language(person: Invitation | Registration):
    """The page speaks the invitee's (or registered person's) language unless the visitor chose another one
    (or is signed in)."""
    if current_user.is_authenticated or session.get("language") or person.language not in LANGUAGES:
        return force_locale(_language())
    return force_locale(person.language)


@bp.route("/answer/<token>", methods=["GET", "POST"])
@auth.public
def answer(token: str):
    invitation = _invitation(token)
    with _in_their_language(invitation):
        form = AnswerForm()
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    services.record_answer(invitation=invitation, answer=form.answer.data, via="link",
                                           comment=form.comment.data or "")
                except services.MeetingError as exc:
                    db.session.rollback()
                    form.answer.errors = [str(exc)]
                else:
                    db.session.commit()
                    flash(_("Thank you: your answer is recorded."))
                    return redirect(url_for(".answer", token=token), 303)
            return _page(invitation, 422, answer_form=form)
        return _page(invitation)


@bp.post("/answer/<token>/register")
@auth.public
def register(token: str):
    invitation = _invitation(token)
    meeting = invitation.meeting
    with _in_their_language(invitation):
        form = _register_form(meeting)
        if not form.validate_on_submit():
            return _page(invitation, 422, register_form=form)
        try:
            registration = services.register(
                invitation=invitation, name=form.name.data, email=form.email.data, role=form.role.data,
                title=form.title.data or "",
                arrival_at=services.to_utc(form.arrival_at.data, meeting.timezone, "arrival_at"),
                departure_at=services.to_utc(form.departure_at.data, meeting.timezone, "departure_at"),
                dietary=form.dietary.data or "", accessibility=form.accessibility.data or "",
                interpretation_language=form.interpretation_language.data or "",
                accreditation=(form.accreditation.data.filename or "", form.accreditation.data.read())
                if form.accreditation.data else None)
        except services.MeetingError as exc:
            db.session.rollback()
            target = form._fields.get(exc.field or "")
            if target is not None and exc.field != "csrf_token":
                target.errors = [*target.errors, str(exc)]
                return _page(invitation, 422, register_form=form)
            return _page(invitation, 422, register_form=form, register_error=str(exc))
        db.session.commit()
        messages = {RegistrationStatus.CONFIRMED: _("%(name)s is registered: the place is confirmed."),
                    RegistrationStatus.PENDING: _("%(name)s is registered; the organizers will confirm the place."),
                    RegistrationStatus.WAITLISTED: _("The meeting is full: %(name)s is on the waiting list.")}
        flash(messages[registration.status] % {"name": registration.name})
        return redirect(url_for(".answer", token=token, _anchor="delegation"), 303)


@bp.post("/answer/<token>/registrations/<int:registration_id>/cancel")
@auth.public
def registration_cancel(token: str, registration_id: int):
    invitation = _invitation(token)
    registration = _registration(invitation, registration_id)
    with _in_their_language(invitation):
        if ActionForm().validate_on_submit():
            acted(lambda: services.cancel_registration(registration_id=registration.id), category="message",
                  done=lambda _result: _("The registration of %(name)s is cancelled.", name=registration.name))
    return redirect(url_for(".answer", token=token, _anchor="delegation"), 303)


@bp.post("/answer/<token>/registrations/<int:registration_id>/accept")
@auth.public
def offer_accept(token: str, registration_id: int):
    invitation = _invitation(token)
    registration = _registration(invitation, registration_id)
    with _in_their_language(invitation):
        if ActionForm().validate_on_submit():
            acted(lambda: services.accept_offer(registration_id=registration.id), category="message",
                  done=lambda _result: _("The place of %(name)s is confirmed.", name=registration.name))
    return redirect(url_for(".answer", token=token, _anchor="delegation"), 303)


# -- a registered person's own page (a delegation member's link) ----------------------------------------------


def _own_registration(token: str) -> Registration:
    """The registration of a person's own link: 404 for a link that was never ours, 410 for an outdated one."""
    if not services.check_token(token, services.REGISTRATION_SALT):
        abort(make_response(render_template("meetings/answer_invalid.html",
                                            message=_("This link is not valid. Use the link in the latest email.")),
                            404))
    try:
        return services.registration_for(token)
    except services.MeetingError as exc:
        abort(make_response(render_template("meetings/answer_invalid.html", message=str(exc)), 410))


@bp.get("/registration/<token>")
@auth.public
def registration_page(token: str):
    """One registered person's page: their registration only, to see it, take a place offered or cancel it.
    The delegation's head registers and changes its members on the invitation's page."""
    registration = _own_registration(token)
    meeting = registration.meeting
    with _in_their_language(registration):
        return render_template(
            "meetings/registration.html", registration=registration, meeting=meeting, token=token,
            title=meeting.title(registration.language),
            when=when(meeting, reader_zone(registration)), statuses=STATUSES, roles=ROLES,
            local=lambda m: _local(m, meeting), action=ActionForm(formdata=None))


@bp.post("/registration/<token>/cancel")
@auth.public
def registration_self_cancel(token: str):
    registration = _own_registration(token)
    with _in_their_language(registration):
        if ActionForm().validate_on_submit():
            acted(lambda: services.cancel_registration(registration_id=registration.id), category="message",
                  done=lambda _result: _("The registration of %(name)s is cancelled.", name=registration.name))
    return redirect(url_for(".registration_page", token=token), 303)


@bp.post("/registration/<token>/accept")
@auth.public
def registration_self_accept(token: str):
    registration = _own_registration(token)
    with _in_their_language(registration):
        if ActionForm().validate_on_submit():
            acted(lambda: services.accept_offer(registration_id=registration.id), category="message",
                  done=lambda _result: _("The place of %(name)s is confirmed.", name=registration.name))
    return redirect(url_for(".registration_page", token=token), 303)


@bp.get("/answer/<token>/invite.ics")
@auth.public
def answer_ics(token: str):
    invitation = _invitation(token)
    return _calendar_response(calendar.meeting_file(invitation.meeting, invitation.language), "invite.ics")


# -- staff: a meeting's file, a series' feed ---------------------------------------------------------------


@bp.get("/<int:meeting_id>/invite.ics")
@auth.roles_required(Role.VIEWER)
def meeting_ics(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id) or abort(404)
    return _calendar_response(calendar.meeting_file(meeting, _language()), "invite.ics")


@bp.get("/series/<int:series_id>.ics")
@auth.roles_required(Role.VIEWER)
def series_ics(series_id: int):
    series = db.session.get(MeetingSeries, series_id) or abort(404)
    body = calendar.series_file(series, _language(), source=external_url("meetings.series_ics", series_id=series.id))
    return _calendar_response(body, f"series-{series.id}.ics")


# -- the personal feeds --------------------------------------------------------------------------------------


def _feed_url(token: str) -> str:
    return external_url("meetings_calendar.feed", token=token)


@calendar_bp.route("/feeds", methods=["GET", "POST"])
@auth.login_required
def feeds():
    form = FeedForm()
    token_url, status = None, 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                _, token = calendar.create_feed(user=current_user, name=form.name.data or "")
            except services.MeetingError as exc:
                db.session.rollback()
                form.name.errors = [*form.name.errors, str(exc)]
            else:
                db.session.commit()
                # Shown this once, on this page; never stored or flashed (the session is a cookie).
                token_url, status, form = _feed_url(token), 201, FeedForm(formdata=None)
    response = make_response(render_template(
        "meetings/feeds.html", form=form, feeds=calendar.feeds_of(current_user), token_url=token_url,
        action=ActionForm(formdata=None), meetings=calendar.meetings_for_email(current_user.email),
        meeting_statuses=MEETING_STATUSES), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@calendar_bp.post("/feeds/<int:feed_id>/revoke")
@auth.login_required
def feed_revoke(feed_id: int):
    if ActionForm().validate_on_submit():
        acted(lambda: calendar.revoke_feed(feed_id=feed_id, user=current_user),
              done=lambda feed: _("The feed %(name)s is revoked: calendars subscribed to it get nothing more.",
                                  name=feed.name), category="message")
    return redirect(url_for(".feeds"), 303)


@calendar_bp.get("/<token>.ics")
@auth.public
def feed(token: str):
    found = calendar.feed_for(token)
    if found is None:
        abort(404)
    body = calendar.personal_file(found, source=_feed_url(token))
    db.session.commit()  # last_read_at
    response = _calendar_response(body, "meetings.ics", inline=True)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# -- staff: invitations received from outside -----------------------------------------------------------------


UPLOADS = "imports-ics"  # where .ics uploads wait for their preview (kizuna.uploads)


@bp.route("/import", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def import_upload():
    form = IcsUploadForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        try:  # refused here, at the file field, rather than on a preview of nothing
            importing.plan(data)
        except importing.IcsError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            return redirect(url_for(".import_preview", digest=uploads.keep(data, UPLOADS), tier=form.tier.data),
                            303)
    return render_template("meetings/import.html", form=form), 422 if form.errors else 200


def _span(event) -> str:
    """When an uploaded event is, as its own zone reads it (all-day events as dates, the last day inclusive)."""
    if event.all_day:
        last = event.end - timedelta(days=1)
        days = [format_date(event.start, "full", locale=_language())]
        if last != event.start:
            days.append(format_date(last, "full", locale=_language()))
        return " – ".join(days)
    zone = ZoneInfo(event.zone) if event.zone else None
    start = format_datetime(event.start, "full", tzinfo=zone, locale=_language())
    end = format_datetime(event.end, "HH:mm zzzz" if event.start.date() == event.end.date() else "full", tzinfo=zone,
                          locale=_language())
    return f"{start} – {end}"


@bp.route("/import/<digest>", methods=["GET", "POST"])
@auth.roles_required(Role.EDITOR)
def import_preview(digest: str):
    path = uploads.path_of(digest, UPLOADS)
    if path is None:
        abort(404)
    data = path.read_bytes()
    form = IcsConfirmForm(tier=request.args.get("tier"))
    status, error = 200, None
    if form.validate_on_submit():
        try:
            result = importing.apply(data, actor=current_user, tier=form.tier.data)
        except (importing.IcsError, importing.ImportRefused) as exc:
            db.session.rollback()
            status, error = 422, str(exc)
        else:
            db.session.commit()
            path.unlink(missing_ok=True)
            flash(" ".join(result.lines) or _("Nothing to change."))
            return redirect(url_for(".import_upload"), 303)
    elif request.method == "POST":
        status = 422
    try:
        plan = importing.plan(data)
    except importing.IcsError as exc:
        upload = IcsUploadForm(formdata=None)
        upload.file.errors = [str(exc)]
        return render_template("meetings/import.html", form=upload), 422
    event = plan.invitation.event
    return render_template("meetings/import_preview.html", form=form, plan=plan, event=event, error=error,
                           span=_span(event),
                           action_labels={importing.CREATE: _("Create"), importing.UPDATE: _("Update"),
                                          importing.CANCEL: _("Cancel the meeting"),
                                          importing.NOTHING: _("Nothing to change")}), status
