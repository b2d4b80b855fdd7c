"""Newsletters and alerts: mailing lists, consent, issues in several languages and their approval.

Sending an approved issue is partners/sending.py's.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown
import nh3
from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from kizuna import audit, files, outbox
from kizuna.extensions import db, utcnow
from kizuna.i18n import LANGUAGES
from kizuna.mail import build_message
from kizuna.models import AuditEvent, MessageStatus, OutboundMessage, Role
from kizuna.urls import external_url

from . import services
from .models import (
    ArchiveVisibility,
    Bounce,
    ConsentMethod,
    Contact,
    ContactEmail,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueAttachment,
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
FILES_PATH = "/newsletters/files/"  # where images and linked files are hosted (partners.views_issues.hosted_file)


# -- Markdown -----------------------------------------------------------------------------------


def _image_source(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: an image's source must be an https URL, or a file hosted here (BASE_URL may be
    plain http on a closed network). Relative, http, data: and javascript: sources are dropped: a mail
    program cannot resolve the first, and the others can carry content nobody approved."""
    if tag != "img" or attribute != "src":
        return value
    if value.startswith("https://"):
        return value
    if has_app_context():
        hosted = current_app.config["BASE_URL"].rstrip("/") + FILES_PATH
        if value.startswith(hosted):
            return value
    return None


# An <img> as nh3 writes it: every attribute value double-quoted, a quote inside it escaped as &quot;.
_IMAGE = re.compile(r'<img((?:\s+[^\s="/>]+(?:="[^"]*")?)*)\s*/?>')


def _finish_image(match: re.Match) -> str:
    """An image whose source was dropped shows nothing: it goes. One without a text alternative gets an empty
    one, so that screen readers pass over it instead of reading its address."""
    attributes = match.group(1)
    if not re.search(r'\ssrc="', attributes):
        return ""
    if not re.search(r'\salt="', attributes):
        attributes += ' alt=""'
    return f"<img{attributes}>"


def render_markdown(source: str) -> tuple[str, str]:
    """An issue's Markdown as (HTML, plain text).

    The HTML is sanitised with nh3: scripts, styles, event-handler attributes and javascript: or data:
    links never survive, whatever HTML the Markdown held; images keep only an https source or one of our
    hosted files (see _image_source). The plain text is the Markdown itself (made to be read as it is) with
    any HTML tags taken out.
    """
    raw = markdown.markdown(source or "", extensions=["extra", "sane_lists"], output_format="html")
    safe = nh3.clean(raw, link_rel="noopener noreferrer",
                     url_schemes={"http", "https", "mailto", "tel"}, attribute_filter=_image_source)
    safe = _IMAGE.sub(_finish_image, safe)
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


def _require_editor(actor) -> None:
    if actor is None or not actor.has_role(Role.EDITOR):
        raise PartnersError(_("Only an editor or an administrator can do this."))


def _require_editable(issue: Issue, field: str | None = None) -> None:
    if issue.status not in _EDITABLE:
        raise PartnersError(_("An issue that is approved cannot be changed."), field)


def issue_title(issue: Issue) -> str:
    """The subject of the variant in the list's default language, else of any variant, else a placeholder."""
    variant = issue.variant(issue.mailing_list.default_language) or next(iter(issue.variants), None)
    return variant.subject if variant is not None else _("Untitled issue no. %(id)d", id=issue.id)


def issues(*, list_id: int | None = None, status: IssueStatus | None = None):
    """The issues of one list or of all, newest first, for the index (a Select to paginate)."""
    query = (select(Issue).options(selectinload(Issue.variants), joinedload(Issue.mailing_list),
                                   joinedload(Issue.author))
             .order_by(Issue.created_at.desc(), Issue.id.desc()))
    if list_id is not None:
        query = query.where(Issue.list_id == list_id)
    if status is not None:
        query = query.where(Issue.status == status)
    return query


def issue_lists() -> list[MailingList]:
    """Every mailing list, oldest first: the choices of the issue pages."""
    return list(db.session.scalars(select(MailingList).order_by(MailingList.id)))


def remove_variant(*, issue_id: int, language: str, actor) -> None:
    """Remove the issue's variant in one language; not the list's default one, which readers without their own
    language get. Only while it can be changed (an issue awaiting approval goes back to draft). Flushed,
    audited; PartnersError otherwise."""
    issue = _issue(issue_id, lock=True)
    _require_editable(issue)
    variant = issue.variant(language)
    if variant is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    if language == issue.mailing_list.default_language:
        raise PartnersError(_("The variant in the list's default language cannot be removed: readers without a "
                              "variant in their own language get it."), "language")
    issue.variants.remove(variant)
    issue.status = IssueStatus.DRAFT
    db.session.flush()
    _audit_issue("newsletter_issue.variant_remove", issue, actor,
                 before={"language": language, "subject": variant.subject})


def language_coverage(issue: Issue) -> list[dict]:
    """Who gets which variant: for each preferred language among the list's reachable subscribers, how many
    they are, the variant they get (sending.pick_language; None while it is not written), and whether that
    variant is in another language than theirs (`fallback`: a reader with no preference never falls back).
    Largest groups first."""
    from . import sending

    available = {variant.language for variant in issue.variants}
    default = issue.mailing_list.default_language
    rows = db.session.execute(
        select(Contact.preferred_language, func.count()).select_from(Subscription)
        .join(Contact, Contact.id == Subscription.contact_id)
        .where(Subscription.id.in_(sending._reachable(issue.list_id)))
        .group_by(Contact.preferred_language)).all()
    coverage = []
    for preferred, count in rows:
        gets = sending.pick_language(preferred, available, default)
        coverage.append({"preferred": preferred, "count": count, "variant": gets if gets in available else None,
                         "fallback": bool(preferred) and primary_language(gets) != primary_language(preferred)})
    coverage.sort(key=lambda row: (-row["count"], row["preferred"] or ""))
    return coverage


def missing_languages(coverage: list[dict]) -> list[dict]:
    """The rows of language_coverage whose readers get another language than theirs."""
    return [row for row in coverage if row["fallback"]]


# -- the approval workflow ------------------------------------------------------------------------

_REVIEWED = (IssueStatus.AWAITING_APPROVAL, IssueStatus.APPROVED, IssueStatus.SCHEDULED)


def return_to_draft(*, issue_id: int, comment: str, actor) -> Issue:
    """Send an issue awaiting approval (or approved, or scheduled, before it is sent) back to draft with a
    comment saying what to change; any approval and schedule end. By an editor or administrator. Flushed,
    audited with the comment; PartnersError (at "comment" when it is missing) otherwise."""
    issue = _issue(issue_id, lock=True)
    _require_editor(actor)
    if issue.status not in _REVIEWED:
        raise PartnersError(_("Only an issue awaiting approval, approved or scheduled can be sent back to draft."))
    comment = services._text(comment, "comment", limit=2000, required=True)
    before = issue.status.value
    issue.status = IssueStatus.DRAFT
    issue.approver_id = issue.approved_at = issue.scheduled_at = None
    db.session.flush()
    _audit_issue("newsletter_issue.return", issue, actor, {"status": before}, {"status": "draft", "comment": comment})
    return issue


def last_return(issue: Issue) -> AuditEvent | None:
    """The latest sending back to draft of this issue (its comment is in .after), for the author to read."""
    return db.session.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "newsletter_issue", AuditEvent.object_id == str(issue.id),
                                 AuditEvent.action == "newsletter_issue.return")
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))


def schedule_issue(*, issue_id: int, local_time: datetime, zone: str, actor) -> Issue:
    """Have an approved (or already scheduled) issue sent at `local_time`, a wall-clock time in the IANA `zone`
    of whoever chose it; stored as UTC in scheduled_at. Refused (at "scheduled_at") unless it is in the
    future. By an editor or administrator. Flushed, audited."""
    issue = _issue(issue_id, lock=True)
    _require_editor(actor)
    if issue.status not in (IssueStatus.APPROVED, IssueStatus.SCHEDULED):
        raise PartnersError(_("Only an approved issue can be scheduled."), "scheduled_at")
    try:
        at = local_time.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except (KeyError, ValueError):
        raise PartnersError(_("%(zone)s is not a time zone we know.", zone=zone), "scheduled_at") from None
    if at <= utcnow():
        raise PartnersError(_("Choose a time in the future."), "scheduled_at")
    before = {"status": issue.status.value,
              "scheduled_at": issue.scheduled_at.isoformat() if issue.scheduled_at else None}
    issue.status, issue.scheduled_at = IssueStatus.SCHEDULED, at
    db.session.flush()
    _audit_issue("newsletter_issue.schedule", issue, actor, before,
                 {"status": "scheduled", "scheduled_at": at.isoformat()})
    return issue


def unschedule_issue(*, issue_id: int, actor) -> Issue:
    """Take a scheduled issue off its schedule: approved again, to be sent or scheduled later. Flushed,
    audited; PartnersError otherwise."""
    issue = _issue(issue_id, lock=True)
    _require_editor(actor)
    if issue.status != IssueStatus.SCHEDULED:
        raise PartnersError(_("Only a scheduled issue can be unscheduled."))
    before = issue.scheduled_at.isoformat() if issue.scheduled_at else None
    issue.scheduled_at = None
    _status(issue, IssueStatus.APPROVED, actor, "newsletter_issue.unschedule")
    _audit_issue("newsletter_issue.unschedule_time", issue, actor, {"scheduled_at": before}, {"scheduled_at": None})
    return issue


# -- images and attachments -----------------------------------------------------------------------

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024  # NEWSLETTER_ATTACHMENT_MAX_BYTES overrides
# A file up to this size travels in every message; a larger one is hosted and linked from every message, since
# each message is stored whole in the outbox: 100,000 readers × 1 MB would be 100 GB.
ATTACH_UP_TO_BYTES = 256 * 1024  # NEWSLETTER_ATTACH_UP_TO_BYTES overrides
STORE = files.Store("newsletter-files", IssueAttachment.sha256)


def attachment_max_bytes() -> int:
    return int(current_app.config.get("NEWSLETTER_ATTACHMENT_MAX_BYTES", ATTACHMENT_MAX_BYTES))


def travels_attached(attachment: IssueAttachment) -> bool:
    """Whether a file goes inside every message (a document small enough), rather than hosted and linked (an
    image shown in the text, or a document larger than NEWSLETTER_ATTACH_UP_TO_BYTES)."""
    limit = int(current_app.config.get("NEWSLETTER_ATTACH_UP_TO_BYTES", ATTACH_UP_TO_BYTES))
    return not attachment.inline and attachment.size <= limit


def linked_files(issue: Issue) -> list[IssueAttachment]:
    """The documents of an issue that every message links to instead of carrying."""
    return [a for a in issue.attachments if not a.inline and not travels_attached(a)]


def attachment_path(attachment: IssueAttachment) -> Path:
    return STORE.path(attachment.sha256)


def add_attachment(*, issue_id: int, filename: str, data: bytes, actor) -> IssueAttachment:
    """Keep an uploaded file for an issue: an image (PNG, JPEG, GIF, WebP) is `inline`, hosted here for the body
    to show; a PDF or Office file is attached to every message. Judged by content, whatever the name says;
    refused (at "file") when empty, larger than attachment_max_bytes(), of another kind, or when the issue can
    no longer change. An issue awaiting approval goes back to draft. The file is written under its SHA-256
    before the row. Flushed, audited."""
    issue = _issue(issue_id, lock=True)
    _require_editable(issue, "file")
    limit = attachment_max_bytes()
    if not data:
        raise PartnersError(_("The file is empty."), "file")
    if len(data) > limit:
        raise PartnersError(_("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)), "file")
    kind, inline = files.sniff_image(data), True
    if kind is None:
        kind, inline = files.sniff(data), False
    if kind is None:
        raise PartnersError(_("Only images (PNG, JPEG, GIF, WebP) and PDF or Office documents can be added; this "
                              "file is none of them, whatever its name says."), "file")
    content_type, extension = kind
    name = files.kept_name(filename, extension, "file")
    digest = STORE.keep(data)
    attachment = IssueAttachment(filename=name, content_type=content_type, size=len(data), sha256=digest,
                                 inline=inline, uploaded_by_id=actor.id if actor is not None else None)
    issue.attachments.append(attachment)
    issue.status = IssueStatus.DRAFT
    db.session.flush()
    _audit_issue("newsletter_issue.attachment_add", issue, actor,
                 after={"file": name, "size": len(data), "sha256": digest, "inline": inline})
    return attachment


def remove_attachment(*, issue_id: int, attachment_id: int, actor) -> IssueAttachment:
    """Remove a file of an issue that can still change (one awaiting approval goes back to draft). The stored
    file stays until discard_unused_file, called after the commit. Flushed, audited; PartnersError otherwise."""
    issue = _issue(issue_id, lock=True)
    attachment = db.session.get(IssueAttachment, attachment_id)
    if attachment is None or attachment.issue_id != issue.id:
        raise PartnersError(_("It no longer exists; reload the page."))
    _require_editable(issue)
    issue.attachments.remove(attachment)
    issue.status = IssueStatus.DRAFT
    db.session.flush()
    _audit_issue("newsletter_issue.attachment_remove", issue, actor,
                 before={"file": attachment.filename, "size": attachment.size, "sha256": attachment.sha256})
    return attachment


def discard_unused_file(sha256: str) -> bool:
    """Delete the stored file with this hash when no issue refers to it any more; True if it was deleted."""
    return STORE.discard_unused(sha256)


def hosted_file(sha256: str, name: str, *, staff: bool = False) -> IssueAttachment | None:
    """The image or linked document with this hash and name, if the public may see it: its issue is approved
    or later (readers' mail links to it). Staff also see those of drafts, to preview them."""
    query = (select(IssueAttachment).join(Issue, Issue.id == IssueAttachment.issue_id)
             .where(IssueAttachment.sha256 == sha256, IssueAttachment.filename == name)
             .order_by(IssueAttachment.id).limit(1))
    if not staff:
        query = query.where(Issue.status.not_in(_EDITABLE))
    return db.session.scalar(query)


def file_url(attachment: IssueAttachment) -> str:
    return external_url("issues.hosted_file", sha256=attachment.sha256, name=attachment.filename)


def image_markdown(attachment: IssueAttachment) -> str:
    """What to paste into a variant to show an inline image: ![file name](its hosted URL)."""
    alt = Path(attachment.filename).stem.replace("[", "(").replace("]", ")")
    return f"![{alt}]({file_url(attachment)})"


# -- test send ------------------------------------------------------------------------------------

TEST_CATEGORY = "partners.newsletter_test"


def send_test(*, issue_id: int, language: str, to: str, actor) -> OutboundMessage:
    """Queue the issue in `language` to one address through the outbox, as a reader would get it (its attached
    files too: sending.test_message) but marked [TEST] in the subject; at any stage, to anyone (a tester need
    not subscribe). Flushed, audited; PartnersError at "language" or "to" otherwise."""
    from . import sending

    issue = _issue(issue_id)
    if issue.variant(language) is None:
        raise PartnersError(_("The issue has no variant in this language."), "language")
    address = services._email(to, "to")
    msg = sending.test_message(issue, language, address)
    row = outbox.queue(msg, category=TEST_CATEGORY, ref_type="newsletter_issue_test", ref_id=issue.id)
    _audit_issue("newsletter_issue.test", issue, actor, after={"language": language, "to": address})
    return row


# -- reports --------------------------------------------------------------------------------------


def failures(issue_id: int, *, limit: int | None = None) -> list[dict]:
    """The issue's deliveries whose message failed for good, with the server's answer (oldest first)."""
    query = (select(Delivery.email, Delivery.language, OutboundMessage.id, OutboundMessage.last_error,
                    OutboundMessage.attempts, OutboundMessage.created_at)
             .join(OutboundMessage, OutboundMessage.id == Delivery.outbound_message_id)
             .where(Delivery.issue_id == issue_id, OutboundMessage.status == MessageStatus.FAILED)
             .order_by(Delivery.id))
    if limit is not None:
        query = query.limit(limit)
    return [{"email": email, "language": language, "message_id": message_id, "error": error or "",
             "attempts": attempts, "queued_at": queued_at}
            for email, language, message_id, error, attempts, queued_at in db.session.execute(query)]


def issue_report(issue_id: int, *, failure_limit: int = 200) -> dict:
    """What became of an issue: the sending.progress counts, the failures with the servers' answers (the first
    `failure_limit`; the CSV has all), the bounce reports of its deliveries, the readers who left through its
    unsubscribe link, and per language how many were planned, sent and failed."""
    from . import sending

    issue = _issue(issue_id)
    counts = sending.progress(issue.id)
    per_language: dict[str, dict[str, int]] = {}
    rows = db.session.execute(
        select(Delivery.language, Delivery.status, OutboundMessage.status, func.count())
        .select_from(Delivery).outerjoin(OutboundMessage, OutboundMessage.id == Delivery.outbound_message_id)
        .where(Delivery.issue_id == issue.id)
        .group_by(Delivery.language, Delivery.status, OutboundMessage.status))
    for language, delivery_status, message_status, count in rows:
        row = per_language.setdefault(language, {"total": 0, "sent": 0, "failed": 0, "cancelled": 0})
        row["total"] += count
        if delivery_status == DeliveryStatus.CANCELLED:
            row["cancelled"] += count
        elif message_status == MessageStatus.SENT:
            row["sent"] += count
        elif message_status == MessageStatus.FAILED:
            row["failed"] += count
    bounces = db.session.scalars(
        select(Bounce).join(Delivery, Delivery.id == Bounce.delivery_id).where(Delivery.issue_id == issue.id)
        .order_by(Bounce.received_at, Bounce.id)).all()
    left = db.session.scalars(
        select(Subscription).options(joinedload(Subscription.contact))
        .where(Subscription.unsubscribed_issue_id == issue.id).order_by(Subscription.unsubscribed_at)).all()
    return {"issue": issue, "counts": counts, "total": sum(counts.values()),
            "failures": failures(issue.id, limit=failure_limit), "bounces": bounces, "unsubscribed": left,
            "languages": dict(sorted(per_language.items()))}
