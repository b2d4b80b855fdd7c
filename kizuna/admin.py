"""Staff administration: users and invitations, the audit log, the outbox and the demo mailbox."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from . import auth, outbox, services
from .extensions import db
from .forms import ConfirmForm, InviteForm, UserForm, acted, saved
from .models import AuditEvent, MessageStatus, OutboundMessage, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


@bp.route("/users", methods=["GET", "POST"])
@auth.roles_required(Role.ADMIN)
def users():
    form = InviteForm()
    if request.method == "GET":
        form.language.data = current_user.language
    if form.validate_on_submit():
        response = saved(form, lambda: services.invite_user(email=form.email.data, name=form.name.data,
                                                            role=form.role.data, language=form.language.data,
                                                            actor=current_user),
                         done=lambda user: _("An invitation is on its way to %(email)s.", email=user.email),
                         to=url_for("admin.users"), aliases={"": "email"})  # an AccountError names no field
        if response:
            return response
    q = request.args.get("q", "").strip()
    query = select(User).order_by(User.email)
    if q:
        query = query.where(or_(User.email.ilike(f"%{q}%"), User.name.ilike(f"%{q}%")))
    page = db.paginate(query, page=_page(), per_page=50, error_out=False)
    return render_template("admin/users.html", form=form, page=page, q=q, confirm=ConfirmForm(),
                           invitation_days=services.LINK_MAX_AGE["invitation"] // 86400), \
        422 if form.is_submitted() else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@auth.roles_required(Role.ADMIN)
def user(user_id: int):
    account = db.get_or_404(User, user_id)
    form = UserForm(obj=account)
    if account.role.is_staff and form.validate_on_submit():
        response = saved(form, lambda: services.update_user(user_id=account.id, role=form.role.data,
                                                            active=form.active.data, actor=current_user),
                         done=_("The account is saved."), to=url_for("admin.user", user_id=account.id),
                         aliases={"": "role"})  # an AccountError names no field
        if response:
            return response
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "user", AuditEvent.object_id == str(account.id))
        .order_by(AuditEvent.at.desc()).limit(20)).all()
    return render_template("admin/user.html", account=account, form=form, events=events,
                           confirm=ConfirmForm()), 422 if form.is_submitted() else 200


@bp.post("/users/<int:user_id>/reinvite")
@auth.roles_required(Role.ADMIN)
def reinvite(user_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    acted(lambda: services.resend_invitation(user_id=user_id, actor=current_user),
          done=lambda user: _("A new invitation is on its way to %(email)s; the earlier link no longer works.",
                              email=user.email))
    return redirect(url_for("admin.user", user_id=user_id), 303)


def _date_arg(name: str):
    value = request.args.get(name, "")
    try:
        return datetime.strptime(value, "%Y-%m-%d").date() if value else None
    except ValueError:
        return None


@bp.get("/audit")
@auth.roles_required(Role.ADMIN)
def audit():
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    filters = {k: request.args.get(k, "").strip() for k in ("actor", "action", "object_type", "object_id")}
    if filters["actor"]:
        query = query.where(AuditEvent.actor_label.ilike(f"%{filters['actor']}%"))
    if filters["action"]:
        query = query.where(AuditEvent.action.startswith(filters["action"]))
    if filters["object_type"]:
        query = query.where(AuditEvent.object_type == filters["object_type"])
    if filters["object_id"]:
        query = query.where(AuditEvent.object_id == filters["object_id"])
    zone = get_timezone()
    since, until = _date_arg("since"), _date_arg("until")
    if since:
        query = query.where(AuditEvent.at >= datetime.combine(since, time(), zone))
    if until:
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(), zone))
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    object_types = db.session.scalars(select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)).all()
    page = db.paginate(query, page=_page(), per_page=50, error_out=False)
    return render_template("admin/audit.html", page=page, filters=filters, since=since, until=until,
                           actions=actions, object_types=object_types)


@bp.get("/outbox")
@auth.roles_required(Role.VIEWER)
def outbox_list():
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc())
    if status in {s.value for s in MessageStatus}:
        query = query.where(OutboundMessage.status == MessageStatus(status))
    if q:
        query = query.where(or_(OutboundMessage.recipient.ilike(f"%{q}%"), OutboundMessage.subject.ilike(f"%{q}%")))
    counts = dict(db.session.execute(
        select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all())
    page = db.paginate(query, page=_page(), per_page=50, error_out=False)
    return render_template("admin/outbox.html", page=page, status=status, q=q, counts=counts,
                           statuses=list(MessageStatus), confirm=ConfirmForm())


@bp.get("/outbox/<int:message_id>")
@auth.roles_required(Role.VIEWER)
def outbox_message(message_id: int):
    row = db.get_or_404(OutboundMessage, message_id)
    return render_template("admin/message.html", row=row, msg=outbox.parse(row.raw), confirm=ConfirmForm(),
                           html_url=url_for("admin.outbox_html", message_id=row.id),
                           attachment_url=lambda i: url_for("admin.outbox_attachment", message_id=row.id, index=i))


@bp.get("/outbox/<int:message_id>/html")
@auth.roles_required(Role.VIEWER)
def outbox_html(message_id: int):
    return _html_part(outbox.parse(db.get_or_404(OutboundMessage, message_id).raw))


@bp.post("/outbox/<int:message_id>/retry")
@auth.roles_required(Role.EDITOR)
def outbox_retry(message_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        outbox.retry(message_id, actor=current_user)
    except outbox.OutboxError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The message is queued again."), "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("admin.outbox_message", message_id=message_id), 303)


# -- the demo's local mailbox, shown the way Mailpit shows one ----------------------------------


def _mailbox() -> mailbox.Maildir:
    return mailbox.Maildir(outbox.mailbox_path(), create=True)


@bp.get("/mailbox")
@auth.roles_required(Role.VIEWER)
def mailbox_list():
    box = _mailbox()
    entries = []
    for key, stored in box.iteritems():
        # Maildir hands back compat32 messages, whose headers stay RFC 2047-encoded (=?utf-8?b?…?=):
        # parsed again with the default policy, a Japanese subject reads as Japanese.
        msg = outbox.parse(stored.as_bytes())
        entries.append({"key": key, "date": datetime.fromtimestamp(stored.get_date(), UTC), "to": str(msg["To"]),
                        "from": str(msg["From"]), "subject": str(msg["Subject"])})
    entries.sort(key=lambda e: e["date"], reverse=True)
    q = request.args.get("q", "").strip().lower()
    if q:
        entries = [e for e in entries if q in f"{e['to']} {e['subject']}".lower()]
    per_page, page = 50, _page()
    return render_template("admin/mailbox.html", entries=entries[(page - 1) * per_page: page * per_page],
                           total=len(entries), page_no=page, pages=max(1, -(-len(entries) // per_page)), q=q,
                           smtp_in_use=bool(current_app.config["SMTP_URL"]))


def _mail(key: str):
    try:
        return outbox.parse(_mailbox().get_bytes(key))
    except KeyError:
        abort(404)


@bp.get("/mailbox/<key>")
@auth.roles_required(Role.VIEWER)
def mailbox_message(key: str):
    return render_template("admin/message.html", row=None, msg=_mail(key), confirm=None,
                           html_url=url_for("admin.mailbox_html", key=key),
                           attachment_url=lambda i: url_for("admin.mailbox_attachment", key=key, index=i))


@bp.get("/mailbox/<key>/html")
@auth.roles_required(Role.VIEWER)
def mailbox_html(key: str):
    return _html_part(_mail(key))


@bp.get("/mailbox/<key>/attachments/<int:index>")
@auth.roles_required(Role.VIEWER)
def mailbox_attachment(key: str, index: int):
    return _attachment(_mail(key), index)


@bp.get("/outbox/<int:message_id>/attachments/<int:index>")
@auth.roles_required(Role.VIEWER)
def outbox_attachment(message_id: int, index: int):
    return _attachment(outbox.parse(db.get_or_404(OutboundMessage, message_id).raw), index)


def _attachment(msg, index: int):
    parts = list(msg.iter_attachments())
    if index >= len(parts):
        abort(404)
    part = parts[index]
    content = part.get_content()
    response = make_response(content if isinstance(content, bytes) else content.encode())
    # Always a download, never rendered in our origin.
    response.mimetype = "application/octet-stream"
    response.headers.set("Content-Disposition", "attachment", filename=part.get_filename() or "attachment")
    return response


def _html_part(msg):
    """The HTML body in a locked-down frame: no scripts, no remote content, shown only to staff here."""
    part = msg.get_body(preferencelist=("html",))
    response = make_response(part.get_content() if part else "<p>(no HTML part)</p>")
    response.mimetype = "text/html"
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                                   "frame-ancestors 'self'; sandbox")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
