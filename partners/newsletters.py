"""Newsletters and alerts: mailing lists, consent, issues in several languages, approval and sending.

Sending goes through the outbox in chunks: `start_sending` marks an approved issue `sending` and, after
commit, task `partners.send_issue` plans one Delivery per active subscriber (`plan_deliveries`) and asks
for one `partners.send_issue_batch` task per BATCH_SIZE deliveries (`queue_deliveries`), each turning its
deliveries into outbox messages. An alert's tasks and delivery batches go to the Celery queue
kizuna.outbox.ALERT_QUEUE, which a worker consumes ahead of the default queue, so an alert overtakes a
newsletter already sending. No one gets an issue twice: a delivery is unique per issue and contact, and
is queued once.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import quote, urlsplit

import markdown
import nh3
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import exists, func, insert, select, update

from kizuna import audit, outbox, tasks
from kizuna.extensions import db, utcnow
from kizuna.i18n import LANGUAGES
from kizuna.mail import build_message
from kizuna.models import MessageStatus, OutboundMessage, Role
from kizuna.urls import external_url

from . import services
from .models import (
    ArchiveVisibility,
    ConsentMethod,
    Contact,
    ContactEmail,
    Delivery,
    DeliveryStatus,
    Issue,
    IssuePriority,
    IssueStatus,
    IssueVariant,
    MailingList,
    Subscription,
    SubscriptionStatus,
    primary_language,
)
from .services import PartnersError

SEND_TASK = "partners.send_issue"
BATCH_TASK = "partners.send_issue_batch"
BATCH_SIZE = 1000  # recipients per send_issue_batch task
CATEGORY = "partners.newsletter"
REF_TYPE = "newsletter_issue"
CONFIRM_SALT = "partners.newsletters.confirm"
UNSUBSCRIBE_SALT = "partners.newsletters.unsubscribe"
CONFIRM_MAX_AGE = 7 * 86400
# Rendered once per language; each recipient's own unsubscribe link replaces it (escaping leaves it alone).
_LINK = "KIZUNA-UNSUBSCRIBE-LINK"
_EDITABLE = (IssueStatus.DRAFT, IssueStatus.AWAITING_APPROVAL)
_SENDABLE = (IssueStatus.APPROVED, IssueStatus.SCHEDULED)


# -- Markdown -----------------------------------------------------------------------------------


def render_markdown(source: str) -> tuple[str, str]:
    """An issue's Markdown as (HTML, plain text).

    The HTML is sanitised with nh3: scripts, styles, event-handler attributes and javascript: or data:
    links never survive, whatever HTML the Markdown held. The plain text is the Markdown itself (made
    to be read as it is) with any HTML tags taken out.
    """
    raw = markdown.markdown(source or "", extensions=["extra", "sane_lists"], output_format="html")
    safe = nh3.clean(raw, link_rel="noopener noreferrer",
                     url_schemes={"http", "https", "mailto", "tel"})
    text = html.unescape(nh3.clean(source or "", tags=set()))
    return safe, text


def _ui_locale(tag: str | None) -> str:
    """The interface language to word a reader's email in (the unsubscribe line): theirs if Kizuna speaks it."""
    language = primary_language(tag)
    return language if language in LANGUAGES else "en"


# -- lists --------------------------------------------------------------------------------------


LIST_FIELDS = ("names", "description", "default_language", "public_subscribe", "double_opt_in",
               "archive_visibility")


def _list_values(*, names, description="", default_language="en", public_subscribe=False, double_opt_in=True,
                 archive_visibility=ArchiveVisibility.SUBSCRIBERS) -> dict:
    language = services.language_tag(default_language, "default_language")
    clean = {}
    for code, name in (names or {}).items():
        name = services._text(name, f"names-{code}", limit=200)
        if name:
            clean[services.language_tag(code, f"names-{code}")] = name
    if not clean.get(language):
        raise PartnersError(_("Give the list's name in its default language (%(language)s).", language=language),
                            f"names-{language}")
    return {"names": clean, "description": services._text(description, "description", limit=5000),
            "default_language": language, "public_subscribe": bool(public_subscribe),
            "double_opt_in": bool(double_opt_in),
            "archive_visibility": services._choice(ArchiveVisibility, archive_visibility, "archive_visibility")}


def _list_snapshot(mailing_list: MailingList) -> dict:
    return services._snapshot(mailing_list, *LIST_FIELDS)


def create_list(*, actor, **fields) -> MailingList:
    """A new mailing list (flushed, audited). PartnersError names the field at fault."""
    mailing_list = MailingList(**_list_values(**fields))
    db.session.add(mailing_list)
    db.session.flush()
    audit.record("mailing_list.create", actor=actor, object_type="mailing_list", object_id=mailing_list.id,
                 object_label=mailing_list.name(), after=_list_snapshot(mailing_list))
    return mailing_list


def update_list(*, list_id: int, actor, **fields) -> MailingList:
    """Change a list's names, description, default language and options (flushed, audited)."""
    mailing_list = services._get(MailingList, list_id)
    before = _list_snapshot(mailing_list)
    for name, value in _list_values(**fields).items():
        setattr(mailing_list, name, value)
    db.session.flush()
    changed_before, changed_after = audit.changes(before, _list_snapshot(mailing_list))
    if changed_after:
        audit.record("mailing_list.update", actor=actor, object_type="mailing_list", object_id=mailing_list.id,
                     object_label=mailing_list.name(), before=changed_before, after=changed_after)
    return mailing_list


# -- subscriptions ------------------------------------------------------------------------------


def _confirm_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def _unsubscribe_serializer() -> URLSafeSerializer:
    # No expiry: the link in a years-old issue must still unsubscribe.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def confirmation_token(subscription: Subscription) -> str:
    return _confirm_serializer().dumps([subscription.list_id, subscription.id])


def unsubscribe_token(subscription: Subscription) -> str:
    """The signed part of a subscriber's unsubscribe links: names their list and their subscription."""
    return _unsubscribe_token(subscription.list_id, subscription.id)


def _unsubscribe_token(list_id: int, subscription_id: int) -> str:
    return _unsubscribe_serializer().dumps([list_id, subscription_id])


def _subscription_of(payload, list_id: int | None) -> Subscription | None:
    try:
        token_list, subscription_id = payload
    except (TypeError, ValueError):
        return None
    subscription = db.session.get(Subscription, subscription_id) if isinstance(subscription_id, int) else None
    # A token names its list: one for another list than the caller's, or than its subscription's, is no good.
    if subscription is None or subscription.list_id != token_list or (list_id is not None and token_list != list_id):
        return None
    return subscription


def _live_contact_with_email(contact_id: int, field: str = "contact_id") -> Contact:
    contact = services._get(Contact, contact_id, field)
    if contact.erased_at is not None:
        raise PartnersError(_("This contact's data has been erased."), field)
    if not contact.emails:
        raise PartnersError(_("This contact has no email address to send to."), field)
    return contact


def _subscription(list_id: int, contact_id: int) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.list_id == list_id,
                                                        Subscription.contact_id == contact_id)
                             .with_for_update())


def subscribe(*, list_id: int, contact_id: int, actor, method: ConsentMethod | str = ConsentMethod.STAFF,
              ip: str | None = None) -> Subscription:
    """Put a contact on a list at once (staff or an import, who vouch for the consent), recorded as given now.

    A contact already active stays as they are; one who had left or bounced is active again. Flushed, audited.
    """
    mailing_list = services._get(MailingList, list_id, "list_id")
    method = services._choice(ConsentMethod, method, "method")
    contact = _live_contact_with_email(contact_id)
    subscription = _subscription(mailing_list.id, contact.id)
    if subscription is not None and subscription.status == SubscriptionStatus.ACTIVE:
        return subscription
    now = utcnow()
    if subscription is None:
        subscription = Subscription(list_id=mailing_list.id, contact_id=contact.id)
        db.session.add(subscription)
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.consent_at, subscription.consent_method, subscription.consent_ip = now, method, ip
    subscription.confirmed_at, subscription.unsubscribed_at = now, None
    db.session.flush()
    audit.record("subscription.create", actor=actor, object_type="subscription", object_id=subscription.id,
                 object_label=f"{mailing_list.name()}: {contact.display_name()}",
                 after={"list_id": mailing_list.id, "contact_id": contact.id, "status": "active",
                        "consent_method": method.value})
    return subscription


def subscribe_contacts(*, list_id: int, contact_ids, actor) -> tuple[int, dict[str, int]]:
    """Staff put the chosen contacts on a list at once: how many were added, and how many were skipped for
    each reason — no email address, already on the list, or left it (they said no: only they can come
    back, through the public form)."""
    mailing_list = services._get(MailingList, list_id, "list_id")
    added, skipped = 0, {"no_email": 0, "already": 0, "left": 0}
    for contact_id in dict.fromkeys(contact_ids):
        contact = db.session.get(Contact, contact_id)
        if contact is None or contact.erased_at is not None or not contact.primary_email:
            skipped["no_email"] += 1
            continue
        existing = _subscription(mailing_list.id, contact.id)
        if existing is not None and existing.status == SubscriptionStatus.ACTIVE:
            skipped["already"] += 1
        elif existing is not None and existing.status == SubscriptionStatus.UNSUBSCRIBED:
            skipped["left"] += 1
        else:
            subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=actor)
            added += 1
    return added, skipped


def request_subscription(*, list_id: int, email: str, family_name: str = "", given_name: str = "",
                         language: str | None = None, ip: str | None = None) -> Subscription:
    """The public form: subscribe an address to a list that allows it, with its consent recorded.

    With double opt-in the subscription waits (`pending`) for the link emailed through the outbox, valid
    CONFIRM_MAX_AGE; otherwise it is active at once. An address no contact has becomes a new contact. An
    address already subscribed is left as it is. Flushed, audited; PartnersError names the field at fault.
    """
    mailing_list = services._get(MailingList, list_id, "list_id")
    if not mailing_list.public_subscribe:
        raise PartnersError(_("This list cannot be subscribed to from the web."), "list_id")
    address = services._email(email, "email")
    language = services.language_tag(language, "language") if (language or "").strip() else None
    contact = db.session.scalar(
        select(Contact).join(ContactEmail).where(ContactEmail.address == address, Contact.erased_at.is_(None))
        .order_by(Contact.id).limit(1))
    if contact is None:
        contact = services.create_contact(actor=None, family_name=family_name, given_name=given_name,
                                          emails=[address], preferred_language=language,
                                          source=_("Subscription form of %(list)s", list=mailing_list.name()))
    subscription = _subscription(mailing_list.id, contact.id)
    if subscription is not None and subscription.status == SubscriptionStatus.ACTIVE:
        return subscription  # a pending one asks again: a new link is sent
    if subscription is None:
        subscription = Subscription(list_id=mailing_list.id, contact_id=contact.id)
        db.session.add(subscription)
    now = utcnow()
    pending = mailing_list.double_opt_in
    subscription.status = SubscriptionStatus.PENDING if pending else SubscriptionStatus.ACTIVE
    subscription.consent_at, subscription.consent_method, subscription.consent_ip = now, ConsentMethod.FORM, ip
    subscription.confirmed_at = None if pending else now
    subscription.unsubscribed_at = None
    db.session.flush()
    if pending:
        outbox.queue(_confirmation_email(subscription, address, language or contact.preferred_language),
                     category="partners.subscription_confirm", ref_type="subscription", ref_id=subscription.id)
    audit.record("subscription.request", actor=None, object_type="subscription", object_id=subscription.id,
                 object_label=f"{mailing_list.name()}: {address}",
                 after={"list_id": mailing_list.id, "contact_id": contact.id, "status": subscription.status.value,
                        "consent_method": "form"})
    return subscription


def _confirmation_email(subscription: Subscription, address: str, language: str | None) -> EmailMessage:
    mailing_list = subscription.mailing_list
    with force_locale(_ui_locale(language or mailing_list.default_language)):
        list_name = mailing_list.name(language)
        subject = _("Confirm your subscription to %(list)s", list=list_name)
        context = {"subject": subject, "list_name": list_name, "days": CONFIRM_MAX_AGE // 86400,
                   "link": external_url("newsletters.confirm", token=confirmation_token(subscription))}
        return build_message(sender=current_app.config["MAIL_FROM"], to=address, subject=subject,
                             text=render_template("email/subscription_confirm.txt", **context),
                             html=render_template("email/subscription_confirm.html", **context))


def check_confirmation(token: str) -> Subscription:
    """The subscription a confirmation link stands for, changing nothing.

    PartnersError when the link is tampered with, has expired, or its subscription has since ended.
    """
    try:
        payload = _confirm_serializer().loads(token, max_age=CONFIRM_MAX_AGE)
    except SignatureExpired:
        raise PartnersError(_("This confirmation link has expired. Subscribe again to get a new one.")) from None
    except BadSignature:
        raise PartnersError(_("This confirmation link is not valid.")) from None
    subscription = _subscription_of(payload, None)
    if subscription is None or subscription.status not in (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE):
        raise PartnersError(_("This confirmation link is not valid."))
    return subscription


def confirm_subscription(*, token: str) -> Subscription:
    """Activate the pending subscription a confirmation link stands for (a second click changes nothing).

    Refused as in check_confirmation. Flushed, audited.
    """
    subscription = check_confirmation(token)
    if subscription.status == SubscriptionStatus.PENDING:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.confirmed_at = utcnow()
        db.session.flush()
        audit.record("subscription.confirm", actor=None, object_type="subscription", object_id=subscription.id,
                     object_label=subscription.mailing_list.name(), after={"status": "active"})
    return subscription


def subscription_for_unsubscribe(token: str, *, list_id: int | None = None) -> Subscription:
    """The subscription an unsubscribe link stands for, changing nothing (the confirmation page).

    PartnersError when the token is tampered with, is not an unsubscribe token, or is for another list than
    `list_id` (when given) or than its subscription's.
    """
    try:
        payload = _unsubscribe_serializer().loads(token)
    except BadSignature:
        raise PartnersError(_("This unsubscribe link is not valid.")) from None
    subscription = _subscription_of(payload, list_id)
    if subscription is None:
        raise PartnersError(_("This unsubscribe link is not valid."))
    return subscription


def unsubscribe(*, token: str, list_id: int | None = None) -> Subscription:
    """Take the subscriber of an unsubscribe link off its list (RFC 8058 one-click: no login needed).

    Idempotent: a second click changes nothing. Deliveries not yet queued to them are dropped when their
    batch comes. Refused as in subscription_for_unsubscribe. Flushed, audited.
    """
    subscription = subscription_for_unsubscribe(token, list_id=list_id)
    if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
        before = subscription.status.value
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
        subscription.unsubscribed_at = utcnow()
        db.session.flush()
        audit.record("subscription.unsubscribe", actor=None, object_type="subscription", object_id=subscription.id,
                     object_label=subscription.mailing_list.name(), before={"status": before},
                     after={"status": "unsubscribed"})
    return subscription


# -- issues -------------------------------------------------------------------------------------


def _issue(issue_id: int, *, lock: bool = False) -> Issue:
    issue = db.session.get(Issue, issue_id, with_for_update=lock or None, populate_existing=lock)
    if issue is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    return issue


def _audit_issue(action: str, issue: Issue, actor, before: dict | None = None, after: dict | None = None) -> None:
    variant = issue.variant(issue.mailing_list.default_language)
    audit.record(action, actor=actor, object_type="newsletter_issue", object_id=issue.id,
                 object_label=variant.subject if variant is not None else issue.mailing_list.name(),
                 before=before, after=after)


def _status(issue: Issue, status: IssueStatus, actor, action: str) -> Issue:
    before = issue.status.value
    issue.status = status
    db.session.flush()
    _audit_issue(action, issue, actor, {"status": before}, {"status": status.value})
    return issue


def create_issue(*, list_id: int, actor, priority: IssuePriority | str = IssuePriority.NORMAL) -> Issue:
    """A new draft issue of a list, written by `actor` (flushed, audited)."""
    mailing_list = services._get(MailingList, list_id, "list_id")
    issue = Issue(list_id=mailing_list.id, status=IssueStatus.DRAFT, author_id=actor.id if actor else None,
                  priority=services._choice(IssuePriority, priority, "priority"))
    db.session.add(issue)
    db.session.flush()
    _audit_issue("newsletter_issue.create", issue, actor, after={"list_id": mailing_list.id,
                                                                 "priority": issue.priority.value})
    return issue


def save_variant(*, issue_id: int, language: str, subject: str, body: str, actor) -> IssueVariant:
    """Write or rewrite the issue in one language (one variant per language).

    Only a draft, or an issue awaiting approval, which goes back to draft: what is approved is what is sent.
    Flushed, audited; PartnersError names the field at fault.
    """
    issue = _issue(issue_id, lock=True)
    if issue.status not in _EDITABLE:
        raise PartnersError(_("An issue that is approved cannot be changed."))
    language = services.language_tag(language, "language")
    subject = services._text(subject, "subject", limit=300, required=True)
    if "\n" in subject or "\r" in subject:
        raise PartnersError(_("The subject is one line."), "subject")
    body = services._text(body, "body", limit=200_000, required=True)
    variant = issue.variant(language)
    if variant is None:
        variant = IssueVariant(language=language, subject=subject, body=body)
        issue.variants.append(variant)
    else:
        variant.subject, variant.body = subject, body
    issue.status = IssueStatus.DRAFT
    db.session.flush()
    _audit_issue("newsletter_issue.variant", issue, actor, after={"language": language, "subject": subject})
    return variant


def _require_default_variant(issue: Issue) -> None:
    language = issue.mailing_list.default_language
    if issue.variant(language) is None:
        raise PartnersError(_("Write the issue in the list's default language (%(language)s) first: readers "
                              "without a variant in their own language get it.", language=language), "language")


def submit_issue(*, issue_id: int, actor) -> Issue:
    """Ask another staff member to approve a draft; it needs its default-language variant. Flushed, audited."""
    issue = _issue(issue_id, lock=True)
    if issue.status != IssueStatus.DRAFT:
        raise PartnersError(_("Only a draft can be submitted for approval."))
    _require_default_variant(issue)
    return _status(issue, IssueStatus.AWAITING_APPROVAL, actor, "newsletter_issue.submit")


def approve_issue(*, issue_id: int, actor) -> Issue:
    """Approve an issue awaiting approval: by an editor or admin who is not its author (two-person rule).

    Flushed, audited; PartnersError otherwise.
    """
    issue = _issue(issue_id, lock=True)
    if issue.status != IssueStatus.AWAITING_APPROVAL:
        raise PartnersError(_("Only an issue awaiting approval can be approved."))
    if actor is None or not actor.has_role(Role.EDITOR):
        raise PartnersError(_("Only an editor or an administrator can approve an issue."))
    if issue.author_id is not None and issue.author_id == actor.id:
        raise PartnersError(_("Another staff member must approve this issue: its author cannot."))
    _require_default_variant(issue)
    issue.approver_id, issue.approved_at = actor.id, utcnow()
    return _status(issue, IssueStatus.APPROVED, actor, "newsletter_issue.approve")


# -- sending ------------------------------------------------------------------------------------


def _task_options(issue: Issue) -> dict:
    return {"queue": outbox.ALERT_QUEUE} if issue.priority == IssuePriority.ALERT else {}


def _reachable(list_id: int):
    """Active subscriptions of a list whose contact is still there and has an email address."""
    return (select(Subscription.id).join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.list_id == list_id, Subscription.status == SubscriptionStatus.ACTIVE,
                   Contact.erased_at.is_(None),
                   exists().where(ContactEmail.contact_id == Contact.id)))


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
    email = (select(ContactEmail.address).where(ContactEmail.contact_id == Contact.id)
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
        token = _unsubscribe_token(issue.list_id, delivery.subscription_id)
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

