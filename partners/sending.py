"""Sending an issue: one delivery per reader through the outbox, in chunks, pausable, never twice.

`start_sending` marks an approved issue `sending` and, after commit, task partners.send_issue plans one
Delivery per active subscriber (`plan_deliveries`) and asks for one partners.send_issue_batch task per
BATCH_SIZE deliveries (`queue_deliveries`), each turning its deliveries into outbox messages. An alert's
tasks and delivery batches go to the Celery queue kizuna.outbox.ALERT_QUEUE, which a worker consumes ahead
of the default queue, so an alert overtakes a newsletter already sending. No one gets an issue twice: a
delivery is unique per issue and contact, and is queued once.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import quote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import exists, func, insert, select, update

from kizuna import audit, outbox, tasks
from kizuna.extensions import db, utcnow
from kizuna.mail import build_message
from kizuna.models import MessageStatus, OutboundMessage
from kizuna.urls import external_url

from .models import (
    Contact,
    ContactEmail,
    Delivery,
    DeliveryStatus,
    Issue,
    IssuePriority,
    IssueStatus,
    MailingList,
    Subscription,
    SubscriptionStatus,
    primary_language,
)
from .newsletters import (
    _audit_issue,
    _issue,
    _require_default_variant,
    _status,
    _ui_locale,
    _unsubscribe_token,
    render_markdown,
)
from .services import PartnersError

SEND_TASK = "partners.send_issue"
BATCH_TASK = "partners.send_issue_batch"
BATCH_SIZE = 1000  # recipients per send_issue_batch task
CATEGORY = "partners.newsletter"
REF_TYPE = "newsletter_issue"
# Rendered once per language; each recipient's own unsubscribe link replaces it (escaping leaves it alone).
_LINK = "KIZUNA-UNSUBSCRIBE-LINK"
_SENDABLE = (IssueStatus.APPROVED, IssueStatus.SCHEDULED)


def _task_options(issue: Issue) -> dict:
    return {"queue": outbox.ALERT_QUEUE} if issue.priority == IssuePriority.ALERT else {}


def _reachable(list_id: int):
    """Active subscriptions of a list whose contact is still there and has an email address."""
    return (select(Subscription.id).join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.list_id == list_id, Subscription.status == SubscriptionStatus.ACTIVE,
                   Contact.erased_at.is_(None),
                   exists().where(ContactEmail.contact_id == Contact.id, ContactEmail.bouncing_at.is_(None))))


def start_sending(*, issue_id: int, actor) -> Issue:
    """Send an approved (or scheduled) issue to every active subscriber of its list, once.

    Marks it `sending` and, after commit, has task partners.send_issue plan and queue the deliveries (on the
    alerts queue for an alert). Refused for an issue not approved, already sent or being sent, and for a
    list no one can receive. Flushed, audited.
    """
    issue = _issue(issue_id, lock=True)
    if issue.status in (IssueStatus.SENDING, IssueStatus.PAUSED, IssueStatus.SENT):
        raise PartnersError(_("This issue has already been sent."))
    if issue.status not in _SENDABLE:
        raise PartnersError(_("Only an approved issue can be sent."))
    _require_default_variant(issue)
    if db.session.scalar(_reachable(issue.list_id).limit(1)) is None:
        raise PartnersError(_("No one is subscribed to this list with an email address: there is no one to "
                              "send to."))
    _status(issue, IssueStatus.SENDING, actor, "newsletter_issue.send")
    tasks.after_commit(db.session, SEND_TASK, [issue.id], **_task_options(issue))
    return issue


def pick_language(preferred: str | None, available: set[str], default: str) -> str:
    """The variant for a reader: their exact language, else its primary language, else the list's default."""
    if preferred in available:
        return preferred
    base = primary_language(preferred)
    if base in available:
        return base
    return next((code for code in sorted(available) if primary_language(code) == base and base), default)


def plan_deliveries(issue_id: int) -> int:
    """One pending Delivery per reachable active subscriber who has none for the issue yet, in their language;
    and, after commit, one partners.send_issue_batch task per BATCH_SIZE pending deliveries.

    Idempotent: a contact with a delivery of this issue gets no other, whatever happens between runs. Does
    nothing for an issue that is not `sending`. Flushes, never commits; returns the number of new deliveries.
    """
    issue = db.session.get(Issue, issue_id, with_for_update=True, populate_existing=True)
    if issue is None or issue.status != IssueStatus.SENDING:
        return 0
    available = {variant.language for variant in issue.variants}
    default = issue.mailing_list.default_language
    email = (select(ContactEmail.address).where(ContactEmail.contact_id == Contact.id,
                                                ContactEmail.bouncing_at.is_(None))
             .order_by(ContactEmail.is_primary.desc(), ContactEmail.id).limit(1).correlate(Contact).scalar_subquery())
    done = exists().where(Delivery.issue_id == issue.id, Delivery.contact_id == Subscription.contact_id)
    rows = db.session.execute(
        select(Subscription.id, Subscription.contact_id, Contact.preferred_language, email)
        .join(Contact, Contact.id == Subscription.contact_id)
        .where(Subscription.list_id == issue.list_id, Subscription.status == SubscriptionStatus.ACTIVE,
               Contact.erased_at.is_(None), ~done)
        .order_by(Subscription.id)).all()
    now = utcnow()
    planned = [{"issue_id": issue.id, "subscription_id": sub_id, "contact_id": contact_id, "email": address,
                "language": pick_language(preferred, available, default), "status": DeliveryStatus.PENDING,
                "created_at": now}
               for sub_id, contact_id, preferred, address in rows if address]
    for start in range(0, len(planned), 5000):
        db.session.execute(insert(Delivery), planned[start:start + 5000])
    if not _dispatch_pending(issue):
        finish_if_done(issue.id)  # everyone left meanwhile, or all is queued already: no batch will close it
    return len(planned)


def _dispatch_pending(issue: Issue) -> int:
    ids = db.session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id,
                                                       Delivery.status == DeliveryStatus.PENDING)
                             .order_by(Delivery.id)).all()
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start:start + BATCH_SIZE]
        tasks.after_commit(db.session, BATCH_TASK, [issue.id, chunk[0], chunk[-1]], **_task_options(issue))
    return len(ids)


def _rendered(issue: Issue, language: str) -> tuple[str, str, str]:
    """(subject, text, HTML) of the issue in `language`, with _LINK where each reader's unsubscribe link goes."""
    variant = issue.variant(language)
    mailing_list = issue.mailing_list
    body_html, body_text = render_markdown(variant.body)
    with force_locale(_ui_locale(language)):
        context = {"issue": issue, "variant": variant, "subject": variant.subject, "language": language,
                   "list_name": mailing_list.name(language), "body_html": Markup(body_html),
                   "body_text": body_text, "unsubscribe_link": _LINK}
        return (variant.subject, render_template("email/newsletter.txt", **context),
                render_template("email/newsletter.html", **context))


def _list_id_header(mailing_list: MailingList) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    name = mailing_list.name().replace('"', "'")
    return f'"{name}" <list-{mailing_list.id}.{host}>'


def queue_deliveries(*, issue_id: int, first_id: int, last_id: int) -> int:
    """Turn the pending deliveries of an issue with ids first_id..last_id into outbox messages, once each.

    Does nothing while the issue is not `sending` (paused: the deliveries wait; cancelled: they were
    dropped). Deliveries another worker holds are skipped; a subscriber who left meanwhile is dropped.
    Each message carries List-Unsubscribe (https and mailto), List-Unsubscribe-Post (RFC 8058) and List-Id,
    and a visible unsubscribe link. Flushes, never commits; returns the number of messages queued.
    """
    issue = db.session.get(Issue, issue_id, populate_existing=True)
    if issue is None or issue.status != IssueStatus.SENDING:
        return 0
    rows = db.session.execute(
        select(Delivery, Subscription.status).outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.issue_id == issue.id, Delivery.id.between(first_id, last_id),
               Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id).with_for_update(skip_locked=True, of=Delivery)).all()
    if not rows:
        return 0
    cfg = current_app.config
    mailto = cfg.get("NEWSLETTER_UNSUBSCRIBE_ADDRESS") or parseaddr(cfg["MAIL_FROM"])[1]
    link = external_url("newsletters.unsubscribe", token=_LINK)
    list_id_header = _list_id_header(issue.mailing_list)
    task_queue = outbox.ALERT_QUEUE if issue.priority == IssuePriority.ALERT else None
    rendered: dict[str, tuple[str, str, str]] = {}
    queued = 0
    for delivery, subscription_status in rows:
        if subscription_status != SubscriptionStatus.ACTIVE:
            delivery.status = DeliveryStatus.CANCELLED
            continue
        if delivery.language not in rendered:
            rendered[delivery.language] = _rendered(issue, delivery.language)
        subject, text, body = rendered[delivery.language]
        token = _unsubscribe_token(issue.list_id, delivery.subscription_id, issue.id)
        url = link.replace(_LINK, token)
        msg = build_message(
            sender=cfg["MAIL_FROM"], to=delivery.email, subject=subject,
            text=text.replace(_LINK, url), html=body.replace(_LINK, url),
            headers={"List-Unsubscribe": f"<{url}>, <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": list_id_header})
        row = outbox.queue(msg, category=CATEGORY, ref_type=REF_TYPE, ref_id=issue.id, task_queue=task_queue)
        delivery.outbound_message_id, delivery.status = row.id, DeliveryStatus.QUEUED
        queued += 1
    db.session.flush()
    return queued


def test_message(issue: Issue, language: str, to: str) -> EmailMessage:
    """The issue in `language` as a reader would get it, addressed to `to` for a test send: subject marked
    [TEST], the unsubscribe link pointing nowhere (a tester is not a subscriber)."""
    subject, text, body = _rendered(issue, language)
    link = external_url("newsletters.unsubscribe", token="test")
    return build_message(sender=current_app.config["MAIL_FROM"], to=to, subject=f"[TEST] {subject}",
                         text=text.replace(_LINK, link), html=body.replace(_LINK, link),
                         headers={"List-Id": _list_id_header(issue.mailing_list)})


def finish_if_done(issue_id: int) -> bool:
    """Mark a `sending` issue `sent` once no delivery of it is pending. Run in a transaction of its own after
    a batch commits, so that the last batch to commit sees every other one. Flushes; True when it marked it."""
    done = db.session.execute(
        update(Issue).where(Issue.id == issue_id, Issue.status == IssueStatus.SENDING,
                            ~exists().where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.PENDING))
        .values(status=IssueStatus.SENT, sent_at=utcnow()), execution_options={"synchronize_session": False})
    return bool(done.rowcount)


def pause_issue(*, issue_id: int, actor) -> Issue:
    """Hold the deliveries of a sending issue that are not yet in the outbox (those queued still go)."""
    issue = _issue(issue_id, lock=True)
    if issue.status != IssueStatus.SENDING:
        raise PartnersError(_("Only an issue being sent can be paused."))
    return _status(issue, IssueStatus.PAUSED, actor, "newsletter_issue.pause")


def resume_issue(*, issue_id: int, actor) -> Issue:
    """Go on sending a paused issue: its held deliveries are queued after commit."""
    issue = _issue(issue_id, lock=True)
    if issue.status != IssueStatus.PAUSED:
        raise PartnersError(_("Only a paused issue can be resumed."))
    _status(issue, IssueStatus.SENDING, actor, "newsletter_issue.resume")
    tasks.after_commit(db.session, SEND_TASK, [issue.id], **_task_options(issue))
    return issue


def cancel_issue(*, issue_id: int, actor) -> Issue:
    """Stop an issue for good: deliveries not yet in the outbox are dropped (those queued still go)."""
    issue = _issue(issue_id, lock=True)
    if issue.status in (IssueStatus.SENT, IssueStatus.CANCELLED):
        raise PartnersError(_("An issue that is sent or cancelled cannot be cancelled."))
    dropped = db.session.execute(
        update(Delivery).where(Delivery.issue_id == issue.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED), execution_options={"synchronize_session": False}).rowcount
    _status(issue, IssueStatus.CANCELLED, actor, "newsletter_issue.cancel")
    audit.record("newsletter_issue.drop", actor=actor, object_type="newsletter_issue", object_id=issue.id,
                 after={"dropped": dropped})
    return issue


def resend_failed(*, issue_id: int, actor) -> int:
    """Queue again the messages of this issue that failed, and only those (same Message-ID, so a reader
    never gets a second copy of one that arrived). Dispatched after commit; returns how many."""
    issue = _issue(issue_id)
    if issue.status == IssueStatus.CANCELLED:
        raise PartnersError(_("A cancelled issue cannot be sent again."))
    failed = db.session.scalars(
        select(OutboundMessage.id).join(Delivery, Delivery.outbound_message_id == OutboundMessage.id)
        .where(Delivery.issue_id == issue.id, OutboundMessage.status == MessageStatus.FAILED)
        .order_by(OutboundMessage.id)).all()
    if not failed:
        raise PartnersError(_("No delivery of this issue has failed."))
    for message_id in failed:
        outbox.retry(message_id, actor=actor)
    _audit_issue("newsletter_issue.resend", issue, actor, after={"messages": len(failed)})
    return len(failed)


def progress(issue_id: int) -> dict[str, int]:
    """How the issue's deliveries stand: sent, failed, pending (planned, queued or retrying) and cancelled."""
    counts = {"sent": 0, "failed": 0, "pending": 0, "cancelled": 0}
    rows = db.session.execute(
        select(Delivery.status, OutboundMessage.status, func.count())
        .select_from(Delivery).outerjoin(OutboundMessage, OutboundMessage.id == Delivery.outbound_message_id)
        .where(Delivery.issue_id == issue_id).group_by(Delivery.status, OutboundMessage.status))
    for delivery_status, message_status, count in rows:
        if delivery_status == DeliveryStatus.CANCELLED:
            counts["cancelled"] += count
        elif message_status == MessageStatus.SENT:
            counts["sent"] += count
        elif message_status == MessageStatus.FAILED:
            counts["failed"] += count
        else:
            counts["pending"] += count
    return counts


def subscriber_count(list_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(_reachable(list_id).subquery())) or 0

