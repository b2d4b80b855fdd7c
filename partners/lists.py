"""Mailing lists' pages: the reads they need, subscriptions ended by staff or changed by readers themselves, the
archive's signed "read on the web" links and the public form's rate limits.

The rules of lists and consent are partners/newsletters.py's; this module calls them and never repeats them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from kizuna import audit
from kizuna.extensions import db, utcnow
from kizuna.models import Role
from kizuna.throttle import Verdict
from kizuna.urls import external_url
from network.reference import fold

from . import newsletters, services
from .models import (
    ArchiveVisibility,
    ConsentMethod,
    Contact,
    ContactEmail,
    Issue,
    IssueStatus,
    MailingList,
    Subscription,
    SubscriptionStatus,
)
from .services import PartnersError

ARCHIVE_SALT = "partners.lists.archive"
# Issues readers may find in an archive: sent, or going out now.
ARCHIVED = (IssueStatus.SENT, IssueStatus.SENDING)
SUBSCRIBE_LIMITS = {"per_address": 5, "per_ip": 20, "window": 3600}  # attempts per window (seconds)


# -- reads of the staff pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    mailing_list: MailingList
    active: int  # active subscribers
    last_issue: Issue | None  # the newest issue sent (or being sent)


def _archive_order():
    return (func.coalesce(Issue.sent_at, Issue.approved_at, Issue.created_at).desc(), Issue.id.desc())


def list_rows() -> list[ListRow]:
    """Every list with its active subscriber count and its last issue sent, in the order they were made."""
    lists = db.session.scalars(select(MailingList).order_by(MailingList.id)).all()
    counts = dict(db.session.execute(
        select(Subscription.list_id, func.count()).where(Subscription.status == SubscriptionStatus.ACTIVE)
        .group_by(Subscription.list_id)).all())
    newest = (select(Issue.id, func.row_number().over(partition_by=Issue.list_id, order_by=_archive_order())
                     .label("n")).where(Issue.status.in_(ARCHIVED)).subquery())
    last = {issue.list_id: issue for issue in db.session.scalars(
        select(Issue).join(newest, newest.c.id == Issue.id).where(newest.c.n == 1)
        .options(selectinload(Issue.variants)))}
    return [ListRow(m, counts.get(m.id, 0), last.get(m.id)) for m in lists]


def status_counts(list_id: int) -> dict[str, int]:
    """How many subscriptions of the list are in each status."""
    rows = db.session.execute(select(Subscription.status, func.count()).where(Subscription.list_id == list_id)
                              .group_by(Subscription.status)).all()
    return {SubscriptionStatus(status).value: n for status, n in rows}


def subscriber_filters(given) -> dict[str, str]:
    """The subscriber list's filters in `given` (status, q), unknown values dropped."""
    status = (given.get("status") or "").strip()
    return {"status": status if status in {s.value for s in SubscriptionStatus} else "",
            "q": (given.get("q") or "").strip()[:200]}


def subscribers(list_id: int, *, status: str = "", q: str = "") -> Select:
    """The list's subscriptions, by the person's name: of one status if given, and matching `q` — part of a
    name in any script (Contact.search_key), or of an email address."""
    query = (select(Subscription).join(Contact, Contact.id == Subscription.contact_id)
             .where(Subscription.list_id == list_id)
             .options(selectinload(Subscription.contact).selectinload(Contact.emails))
             .order_by(Contact.sort_key, Contact.id))
    if status:
        query = query.where(Subscription.status == SubscriptionStatus(status))
    if q:
        key = fold(q)
        matches = [Contact.search_key.contains(key, autoescape=True)] if key else []
        matches.append(exists().where(ContactEmail.contact_id == Contact.id,
                                      ContactEmail.address.contains(q.lower(), autoescape=True)))
        query = query.where(or_(*matches))
    return query


SUBSCRIBER_COLUMNS = {
    "family_name": _l("Family name"), "given_name": _l("Given name"), "email": _l("Email"),
    "preferred_language": _l("Preferred language"), "status": _l("Status"), "consent_method": _l("Consent given by"),
    "consent_at": _l("Consent given at (UTC)"), "consent_ip": _l("Consent given from (IP address)"),
    "confirmed_at": _l("Confirmed at (UTC)"), "unsubscribed_at": _l("Unsubscribed at (UTC)"),
}


def _naive(value: datetime | None) -> datetime | str:
    return value.replace(tzinfo=None, microsecond=0) if value is not None else ""


def subscriber_rows(list_id: int) -> Iterator[dict]:
    """The list's subscribers with their consent, one mapping per row of SUBSCRIBER_COLUMNS (erased people's
    names and addresses are gone: their row keeps only what the subscription itself records)."""
    for subscription in db.session.scalars(subscribers(list_id)):
        contact = subscription.contact
        yield {"family_name": contact.family_name, "given_name": contact.given_name,
               "email": contact.primary_email or "", "preferred_language": contact.preferred_language or "",
               "status": subscription.status.value, "consent_method": subscription.consent_method.value,
               "consent_at": _naive(subscription.consent_at), "consent_ip": subscription.consent_ip or "",
               "confirmed_at": _naive(subscription.confirmed_at),
               "unsubscribed_at": _naive(subscription.unsubscribed_at)}


def list_issues(list_id: int, limit: int = 20) -> list[Issue]:
    """The list's newest issues of any status (the list page's summary)."""
    return list(db.session.scalars(select(Issue).where(Issue.list_id == list_id)
                                   .options(selectinload(Issue.variants))
                                   .order_by(Issue.created_at.desc(), Issue.id.desc()).limit(limit)))


def subscription_of(list_id: int, subscription_id: int) -> Subscription | None:
    subscription = db.session.get(Subscription, subscription_id)
    return subscription if subscription is not None and subscription.list_id == list_id else None


# -- ending a subscription: staff, or the reader themselves -------------------------------------------


def _leave(subscription: Subscription, actor) -> Subscription:
    if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
        before = subscription.status.value
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
        subscription.unsubscribed_at = utcnow()
        db.session.flush()
        audit.record("subscription.unsubscribe", actor=actor, object_type="subscription",
                     object_id=subscription.id,
                     object_label=f"{subscription.mailing_list.name()}: {subscription.contact.display_name()}",
                     before={"status": before}, after={"status": "unsubscribed"})
    return subscription


def staff_unsubscribe(*, list_id: int, subscription_id: int, actor) -> Subscription:
    """Staff take a subscriber off a list (they asked by phone, by letter…). Idempotent; deliveries not yet
    queued to them are dropped when their batch comes. Flushed, audited; PartnersError when the subscription
    is not the list's."""
    subscription = subscription_of(list_id, subscription_id)
    if subscription is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    return _leave(subscription, actor)


def own_lists(user) -> list[tuple[MailingList, Subscription | None]]:
    """The lists a liaison or a delegate may manage themselves, with their subscription to each: the lists
    open to the public, and those they are or were on. Empty without a contact record."""
    contact = services.own_contact(user)
    if contact is None:
        return []
    theirs = {s.list_id: s for s in db.session.scalars(select(Subscription)
                                                         .where(Subscription.contact_id == contact.id))}
    lists = db.session.scalars(select(MailingList).where(or_(MailingList.public_subscribe.is_(True),
                                                             MailingList.id.in_(list(theirs) or [0])))
                               .order_by(MailingList.id))
    return [(m, theirs.get(m.id)) for m in lists]


def _own(user, list_id: int) -> tuple[Contact, MailingList, Subscription | None]:
    contact = services.own_contact(user)
    if contact is None:
        raise PartnersError(_("No contact record is linked to your account yet. Ask the international affairs "
                              "office to link it."), "list_id")
    for mailing_list, subscription in own_lists(user):
        if mailing_list.id == list_id:
            return contact, mailing_list, subscription
    raise PartnersError(_("It no longer exists; reload the page."), "list_id")


def subscribe_self(*, user, list_id: int, ip: str | None = None) -> Subscription:
    """A liaison or a delegate joins a list open to them (their own consent, given on the form, from `ip`).

    Active at once: their address is the one the office holds for them. Flushed, audited; PartnersError
    for a list not open to them or when they have no email address.
    """
    contact, mailing_list, _subscription = _own(user, list_id)
    return newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=user,
                                 method=ConsentMethod.FORM, ip=ip)


def unsubscribe_self(*, user, list_id: int) -> Subscription:
    """A liaison or a delegate leaves a list. Idempotent; flushed, audited; PartnersError when not on it."""
    _contact, _list, subscription = _own(user, list_id)
    if subscription is None:
        raise PartnersError(_("You are not subscribed to this list."), "list_id")
    return _leave(subscription, user)


# -- the archive --------------------------------------------------------------------------------------


def archive(list_id: int) -> Select:
    """The list's issues on the web: sent or being sent, newest first."""
    return (select(Issue).where(Issue.list_id == list_id, Issue.status.in_(ARCHIVED))
            .options(selectinload(Issue.variants)).order_by(*_archive_order()))


def archived_issue(list_id: int, issue_id: int) -> Issue | None:
    """One issue of the list's archive, or None when it is not the list's or not sent."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or issue.list_id != list_id or issue.status not in ARCHIVED or not issue.variants:
        return None
    return issue


def _archive_serializer() -> URLSafeSerializer:
    # No expiry: the link in a years-old issue still opens it, as its unsubscribe link still works.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=ARCHIVE_SALT)


def archive_token(list_id: int, subscription_id: int) -> str:
    """The signed part of a subscriber's "read on the web" links: names the list and the subscription."""
    return _archive_serializer().dumps([list_id, subscription_id])


def check_archive_token(token: str | None, list_id: int) -> Subscription | None:
    """The subscription a "read on the web" token stands for, if it is genuine and for this list; else None
    (tampered, not an archive token, for another list, or its subscription is gone)."""
    if not token:
        return None
    try:
        payload = _archive_serializer().loads(token)
    except BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(v) is int for v in payload)):
        return None
    token_list, subscription_id = payload
    if token_list != list_id:
        return None
    return subscription_of(list_id, subscription_id)


def archive_link(*, list_id: int, subscription_id: int, issue_id: int | None = None,
                 language: str | None = None) -> str:
    """A subscriber's absolute "read on the web" link: to one issue (in `language`) or to the list's archive.

    What the sending code puts where an email says KIZUNA-ARCHIVE-LINK, one link per recipient.
    """
    token = archive_token(list_id, subscription_id)
    if issue_id is None:
        return external_url("lists.archive", list_id=list_id, token=token)
    return external_url("lists.archive_issue", list_id=list_id, issue_id=issue_id,
                        **({"lang": language} if language else {}), token=token)


def may_read_archive(mailing_list: MailingList, user, token: str | None = None) -> bool:
    """Whether `user` (or whoever holds `token`) may read the list's archive: anyone for a public archive;
    otherwise staff, an external account whose contact is an active subscriber, or a genuine token."""
    if mailing_list.archive_visibility == ArchiveVisibility.PUBLIC:
        return True
    if user is not None and user.is_authenticated:
        if user.has_role(Role.VIEWER):
            return True
        contact = services.own_contact(user)
        if contact is not None and db.session.scalar(select(Subscription.id).where(
                Subscription.list_id == mailing_list.id, Subscription.contact_id == contact.id,
                Subscription.status == SubscriptionStatus.ACTIVE)) is not None:
            return True
    return check_archive_token(token, mailing_list.id) is not None


# -- the public form's rate limits ---------------------------------------------------------------------


def _limits() -> dict:
    return {**SUBSCRIBE_LIMITS, **current_app.config.get("SUBSCRIBE_THROTTLE", {})}


def _store():
    # The login throttle's store: in memory for the demo, in Redis (shared by every web process) otherwise.
    return current_app.extensions["kizuna.login_throttle"].store


def _rate_keys(email: str, ip: str | None, limits: dict):
    yield f"kizuna:subscribe:addr:{email.strip().lower()}", limits["per_address"]
    if ip:
        yield f"kizuna:subscribe:ip:{ip}", limits["per_ip"]


def subscribe_allowed(email: str, ip: str | None) -> Verdict:
    """Whether the public form may take another request for `email` from `ip` now; if not, the wait in seconds.

    Each key allows its number of requests until a window has passed since the last one counted.
    """
    limits, now = _limits(), time.time()
    for key, limit in _rate_keys(email, ip, limits):
        count, last = _store().get(key)
        if count >= limit:
            wait = math.ceil(last + limits["window"] - now)
            if wait > 0:
                return Verdict(False, wait)
    return Verdict(True)


def count_subscribe_request(email: str, ip: str | None) -> None:
    """Count one request of the public form against the address and the client address."""
    limits = _limits()
    for key, _limit in _rate_keys(email, ip, limits):
        _store().hit(key, limits["window"])


def forget_subscribe_requests(email: str, ip: str | None) -> None:
    """Clear both counters (tests, and an administrator helping someone locked out)."""
    for key, _limit in _rate_keys(email, ip, _limits()):
        _store().reset(key)
