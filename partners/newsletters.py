"""Newsletters and alerts: mailing lists, consent, issues in several languages and their approval.

Sending an approved issue is partners/sending.py's.
"""

from __future__ import annotations

import html
from email.message import EmailMessage

import markdown
import nh3
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from kizuna import audit, outbox
from kizuna.extensions import db, utcnow
from kizuna.i18n import LANGUAGES
from kizuna.mail import build_message
from kizuna.models import Role
from kizuna.urls import external_url

from . import services
from .models import (
    ArchiveVisibility,
    ConsentMethod,
    Contact,
    ContactEmail,
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

CONFIRM_SALT = "partners.newsletters.confirm"
UNSUBSCRIBE_SALT = "partners.newsletters.unsubscribe"
CONFIRM_MAX_AGE = 7 * 86400
_EDITABLE = (IssueStatus.DRAFT, IssueStatus.AWAITING_APPROVAL)


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


def unsubscribe_token(subscription: Subscription, issue_id: int | None = None) -> str:
    """The signed part of a subscriber's unsubscribe links: names their list and their subscription, and the
    issue the link was sent with."""
    return _unsubscribe_token(subscription.list_id, subscription.id, issue_id)


def _unsubscribe_token(list_id: int, subscription_id: int, issue_id: int | None = None) -> str:
    """Names the list and the subscription; the issue too in a link sent with one, so that its report counts
    the readers it lost."""
    return _unsubscribe_serializer().dumps([list_id, subscription_id] + ([issue_id] if issue_id else []))


def _subscription_of(payload, list_id: int | None) -> Subscription | None:
    try:
        token_list, subscription_id = payload[:2]
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


def _issue_of_token(token: str, list_id: int) -> int | None:
    """The issue an unsubscribe link came with, if it names one of this list (the signature is checked)."""
    payload = _unsubscribe_serializer().loads(token)
    issue_id = payload[2] if len(payload) > 2 and isinstance(payload[2], int) else None
    issue = db.session.get(Issue, issue_id) if issue_id else None
    return issue.id if issue is not None and issue.list_id == list_id else None


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
        subscription.unsubscribed_issue_id = _issue_of_token(token, subscription.list_id)
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
