"""Sending an issue: one delivery per reader through the outbox, in chunks, pausable, never twice.

`start_sending` marks an approved issue `sending` and, after commit, task partners.send_issue plans one
Delivery per active subscriber (`plan_deliveries`) and asks for one partners.send_issue_batch task per
BATCH_SIZE deliveries (`queue_deliveries`), each turning its deliveries into outbox messages. An alert's
tasks and delivery batches go to the Celery queue kizuna.outbox.alert_queue(), which a worker consumes ahead
of the default queue, so an alert overtakes a newsletter already sending. No one gets an issue twice: a
delivery is unique per issue and contact, and is queued once.
"""

from __future__ import annotations

import enum
import itertools
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email import policy, quoprimime
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import quote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import exists, func, insert, select, text, update

from kizuna import audit, outbox, tasks
from kizuna.extensions import db, utcnow
from kizuna.mail import Attachment, build_message, domain_of
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
    attachment_path,
    file_url,
    linked_files,
    render_markdown,
    travels_attached,
)
from .services import PartnersError

log = logging.getLogger(__name__)

SEND_TASK = "partners.send_issue"
BATCH_TASK = "partners.send_issue_batch"
BATCH_SIZE = 1000  # recipients per send_issue_batch task
BATCH_CHAINS = 2  # send_issue_batch tasks of one issue waiting in the queue at a time (see _dispatch_pending)
CATEGORY = "partners.newsletter"
REF_TYPE = "newsletter_issue"
# Rendered once per language; each recipient's own links replace these (escaping leaves them alone).
_LINK = "KIZUNA-UNSUBSCRIBE-LINK"
_ARCHIVE = "KIZUNA-ARCHIVE-LINK"  # "read it on the web", in templates/email/newsletter.*
_TOKEN = "KIZUNATOKEN"  # where a reader's signed token goes in a link built once
_SENDABLE = (IssueStatus.APPROVED, IssueStatus.SCHEDULED)


def _task_options(issue: Issue) -> dict:
    return {"queue": outbox.alert_queue()} if issue.priority == IssuePriority.ALERT else {}


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
    _copy(Delivery.__table__, planned)
    if not _dispatch_pending(issue):
        finish_if_done(issue.id)  # everyone left meanwhile, or all is queued already: no batch will close it
    return len(planned)


def _dispatch_pending(issue: Issue) -> int:
    """After commit, the pending deliveries' batch tasks in BATCH_CHAINS chains: each batch, once its messages
    and their delivery tasks are committed, asks for the next of its chain, which so lines up behind those
    delivery tasks. The workers build and send at once instead of building the whole issue before sending any of
    it, and a paused or cancelled issue ends its chains. Returns the number pending."""
    ids = db.session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id,
                                                       Delivery.status == DeliveryStatus.PENDING)
                             .order_by(Delivery.id)).all()
    ranges = [[ids[start], ids[min(start + BATCH_SIZE, len(ids)) - 1]] for start in range(0, len(ids), BATCH_SIZE)]
    # In-process tasks (the demo) run at the commit that asks for them: a chain would nest one in another.
    chains = len(ranges) if current_app.extensions["celery"].conf.task_always_eager else BATCH_CHAINS
    for chain in range(min(chains, len(ranges))):
        first, *then = ranges[chain::chains]
        tasks.after_commit(db.session, BATCH_TASK, [issue.id, *first, then], **_task_options(issue))
    return len(ids)


def _rendered(issue: Issue, language: str) -> tuple[str, str, str]:
    """(subject, text, HTML) of the issue in `language`, with _LINK where each reader's unsubscribe link goes and
    _ARCHIVE where their "read on the web" link goes (when the templates have one)."""
    variant = issue.variant(language)
    mailing_list = issue.mailing_list
    body_html, body_text = render_markdown(variant.body)
    with force_locale(_ui_locale(language)):
        context = {"issue": issue, "variant": variant, "subject": variant.subject, "language": language,
                   "list_name": mailing_list.name(language), "body_html": Markup(body_html),
                   "body_text": body_text, "unsubscribe_link": _LINK,
                   "files": [(a.filename, file_url(a), a.size) for a in linked_files(issue)]}
        return (variant.subject, render_template("email/newsletter.txt", **context),
                render_template("email/newsletter.html", **context))


def _list_id_header(mailing_list: MailingList) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    name = mailing_list.name().replace('"', "'")
    return f'"{name}" <list-{mailing_list.id}.{host}>'


def _attachments(issue: Issue) -> tuple[Attachment, ...]:
    """The issue's files to attach to every message: small documents (newsletters.travels_attached); images
    and larger documents are linked."""
    found = []
    for attachment in issue.attachments:
        if not travels_attached(attachment):
            continue
        maintype, _slash, subtype = (attachment.content_type or "").partition("/")
        found.append(Attachment(filename=attachment.filename, content=attachment_path(attachment).read_bytes(),
                                maintype=maintype or "application", subtype=subtype or "octet-stream"))
    return tuple(found)


def _archive_url(issue: Issue, language: str, token: str | None) -> str | None:
    """The issue on the web in `language` (partners.lists' archive page, with the reader's signed token when
    given), or None while that page does not exist."""
    if "lists.archive_issue" not in current_app.view_functions:
        return None
    values = {"list_id": issue.list_id, "issue_id": issue.id, "lang": language}
    return external_url("lists.archive_issue", **values, **({"token": token} if token else {}))


def _archive_token_function():
    try:
        from .lists import archive_token
    except ImportError:  # the archive is not there yet: the link goes to the unsubscribe page instead
        return None
    return archive_token


# -- one message per reader, by substitution in bytes built once per language ---------------------------

# A reader's own values go where these markers stand in the prebuilt bytes. The text parts are quoted-printable
# with each marker alone between two soft line breaks, so what replaces it (itself quoted-printable, wrapped)
# never lands inside an encoded word or a line, and decodes to exactly the reader's link.
_SLOT = re.compile(rb"(KZSLOT-(?:UNSUB|ARCHIVE)-(?:PLAIN|HTML)-KZ)")
_PLACEHOLDERS = {_LINK: "UNSUB", _ARCHIVE: "ARCHIVE"}
_SPLIT = re.compile("(" + "|".join(map(re.escape, _PLACEHOLDERS)) + ")")


def _qp_with_slots(text: str, subtype: str) -> str:
    """`text` quoted-printable (lines of at most 76), each placeholder replaced by its slot on a line of its own."""
    out = []
    for piece in _SPLIT.split(text):
        if piece in _PLACEHOLDERS:
            out.append(f"=\nKZSLOT-{_PLACEHOLDERS[piece]}-{subtype.upper()}-KZ=\n")
        elif piece:
            out.append(quoprimime.body_encode(piece.encode("utf-8").decode("latin-1"), 76, eol="\n"))
    return "".join(out)


def _qp_value(value: str) -> bytes:
    """An ASCII value quoted-printable, in lines of at most 75 characters ended by soft breaks but the last
    (the template's own soft break follows it)."""
    encoded = quoprimime.body_encode(value, 76, eol="\r\n")  # the reader's link is one line: soft breaks only
    lines = encoded.split("=\r\n")
    if max(map(len, lines)) > 75:  # body_encode wraps at 76 with the "=": one more than a slot line can take
        lines = re.findall(r"(?:=[0-9A-F]{2}|[^=]){1,75}", "".join(lines))
    return "=\r\n".join(lines).encode("ascii")


@dataclass(frozen=True)
class _Template:
    """An issue's message in one language, as bytes with slots for each reader's own parts."""

    subject: str
    pieces: tuple[bytes, ...]  # literal bytes and slot names, alternately (re.split with a group)


def _template(issue: Issue, language: str, attachments: tuple[Attachment, ...], headers: dict) -> _Template:
    subject, text, body = _rendered(issue, language)
    msg = build_message(sender=current_app.config["MAIL_FROM"], to="reader@invalid", subject=subject, text=text,
                        html=body, attachments=attachments, headers=headers)
    del msg["To"], msg["Message-ID"]  # the reader's own, prepended to the bytes
    for part in msg.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            part.set_payload(_qp_with_slots(part.get_content(), part.get_content_subtype()))
            part.replace_header("Content-Transfer-Encoding", "quoted-printable")
    return _Template(subject, tuple(_SLOT.split(msg.as_bytes(policy=policy.SMTP))))


def _message_bytes(template: _Template, headers: bytes, values: dict[bytes, bytes]) -> bytes:
    return headers + b"".join(values[piece] if odd else piece for odd, piece in zip(
        itertools.cycle((False, True)), template.pieces, strict=False))


def _reader_values(unsubscribe: str, archive: str) -> dict[bytes, bytes]:
    return {b"KZSLOT-UNSUB-PLAIN-KZ": _qp_value(unsubscribe),
            b"KZSLOT-UNSUB-HTML-KZ": _qp_value(str(escape(unsubscribe))),
            b"KZSLOT-ARCHIVE-PLAIN-KZ": _qp_value(archive),
            b"KZSLOT-ARCHIVE-HTML-KZ": _qp_value(str(escape(archive)))}


def delivery_message_id(issue_id: int, delivery_id: int) -> str:
    """The Message-ID of a delivery's message: the same on every attempt, never another reader's."""
    return f"<newsletter.{issue_id}.{delivery_id}@{domain_of(current_app.config['MAIL_FROM'])}>"


def _header(name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode()


def queue_deliveries(*, issue_id: int, first_id: int, last_id: int, then: list | None = None) -> int:
    """Turn the pending deliveries of an issue with ids first_id..last_id into outbox messages, once each.

    Does nothing while the issue is not `sending` (paused: the deliveries wait; cancelled: they were
    dropped); holds the issue's row shared meanwhile, so a pause or cancel waits for the batch in hand. Deliveries
    another worker holds are skipped; a subscriber who left meanwhile, or whose address bounces, is dropped. Each
    message carries List-Unsubscribe (https and mailto), List-Unsubscribe-Post (RFC 8058) and List-Id, a visible
    unsubscribe link and the reader's own "read on the web" link, the issue's attached files, and a Message-ID
    made from the delivery (delivery_message_id). Each language is rendered once; each reader's message is made
    from its bytes. Flushes, never commits; returns the number of messages queued (their delivery tasks are sent
    after commit, followed by the batch task for the first range of `then`, with the rest, while the issue is
    `sending`).
    """
    issue = db.session.get(Issue, issue_id, populate_existing=True, with_for_update={"read": True})
    if issue is None or issue.status != IssueStatus.SENDING:
        return 0  # a paused issue's chains end here: resume_issue dispatches what is pending anew
    queued = _queue_range(issue, first_id, last_id)
    if then:
        (next_first, next_last), *rest = then
        tasks.after_commit(db.session, BATCH_TASK, [issue.id, next_first, next_last, rest], **_task_options(issue))
    return queued


def _queue_range(issue: Issue, first_id: int, last_id: int) -> int:
    bouncing = exists().where(ContactEmail.contact_id == Delivery.contact_id, ContactEmail.address == Delivery.email,
                              ContactEmail.bouncing_at.is_not(None))
    rows = db.session.execute(
        select(Delivery.id, Delivery.subscription_id, Delivery.email, Delivery.language, Subscription.status,
               bouncing)
        .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.issue_id == issue.id, Delivery.id.between(first_id, last_id),
               Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id).with_for_update(skip_locked=True, of=Delivery)).all()
    if not rows:
        return 0
    dropped = [row.id for row in rows if row.status != SubscriptionStatus.ACTIVE or row[5]]
    if dropped:
        db.session.execute(update(Delivery).where(Delivery.id.in_(dropped)).values(status=DeliveryStatus.CANCELLED),
                           execution_options={"synchronize_session": False})
    readers = [row for row in rows if row.status == SubscriptionStatus.ACTIVE and not row[5]]
    if not readers:
        return 0
    cfg = current_app.config
    sender = cfg["MAIL_FROM"]
    mailto = cfg.get("NEWSLETTER_UNSUBSCRIBE_ADDRESS") or parseaddr(sender)[1]
    link = external_url("newsletters.unsubscribe", token=_TOKEN)
    archive_token = _archive_token_function()
    headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": _list_id_header(issue.mailing_list)}
    attachments = _attachments(issue)
    templates: dict[str, _Template] = {}
    archive_links: dict[str, str | None] = {}
    messages = []
    for delivery_id, subscription_id, email, language, *_state in readers:
        if language not in templates:
            templates[language] = _template(issue, language, attachments, headers)
            archive_links[language] = _archive_url(issue, language, _TOKEN if archive_token else None)
        template = templates[language]
        token = _unsubscribe_token(issue.list_id, subscription_id, issue.id)
        url = link.replace(_TOKEN, token)
        archive = archive_links[language]
        if archive is None:
            archive = url
        elif archive_token is not None:
            archive = archive.replace(_TOKEN, archive_token(issue.list_id, subscription_id))
        message_id = delivery_message_id(issue.id, delivery_id)
        mailto_link = f"mailto:{mailto}?subject={quote('unsubscribe ' + token)}"
        head = (_header("To", email) + _header("Message-ID", message_id)
                + _header("List-Unsubscribe", f"<{url}>,\r\n <{mailto_link}>"))
        messages.append({"message_id": message_id, "category": CATEGORY, "sender": sender, "recipient": email,
                         "subject": template.subject, "status": MessageStatus.QUEUED, "ref_type": REF_TYPE,
                         "ref_id": issue.id,
                         "raw": _message_bytes(template, head, _reader_values(url, archive))})
    ids = _insert_messages(messages)
    db.session.execute(update(Delivery), [{"id": row.id, "outbound_message_id": message_id,
                                           "status": DeliveryStatus.QUEUED}
                                          for row, message_id in zip(readers, ids, strict=True)])
    size = int(cfg["OUTBOX_BATCH_SIZE"])
    options = {"queue": outbox.alert_queue()} if issue.priority == IssuePriority.ALERT else {}
    for start in range(0, len(ids), size):
        tasks.after_commit(db.session, outbox.DELIVER_TASK, [list(ids[start:start + size])], **options)
    return len(ids)


def _copy(table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`: by COPY on PostgreSQL, several times faster than an
    INSERT of as many parameters; elsewhere by executemany."""
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c].value if isinstance(row[c], enum.Enum) else row[c] for c in columns])


def _insert_messages(messages: list[dict]) -> list[int]:
    """Add the outbox rows in one go and return their ids, in order. On PostgreSQL by COPY (_copy), the ids drawn
    from the table's sequence first."""
    if db.session.get_bind().dialect.name != "postgresql":
        return list(db.session.scalars(insert(OutboundMessage).returning(OutboundMessage.id,
                                                                         sort_by_parameter_order=True), messages))
    ids = sorted(db.session.scalars(text("SELECT nextval(pg_get_serial_sequence('outbound_message', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": len(messages)}))
    now = utcnow()
    _copy(OutboundMessage.__table__, [{"id": row_id, **message, "attempts": 0, "created_at": now,
                                       "next_attempt_at": now} for row_id, message in zip(ids, messages, strict=True)])
    return ids


def test_message(issue: Issue, language: str, to: str) -> EmailMessage:
    """The issue in `language` as a reader would get it, addressed to `to` for a test send: subject marked
    [TEST], the unsubscribe link pointing nowhere (a tester is not a subscriber), the web link to the public
    archive page (or, without one, the unsubscribe page)."""
    subject, text, body = _rendered(issue, language)
    link = external_url("newsletters.unsubscribe", token="test")
    archive = _archive_url(issue, language, None) or link
    fill = lambda content, escaped: (content.replace(_LINK, escaped(link))  # noqa: E731
                                     .replace(_ARCHIVE, escaped(archive)))
    return build_message(sender=current_app.config["MAIL_FROM"], to=to, subject=f"[TEST] {subject}",
                         text=fill(text, str), html=fill(body, lambda value: str(escape(value))),
                         attachments=_attachments(issue), headers={"List-Id": _list_id_header(issue.mailing_list)})


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



# -- beat: scheduled issues and stalled sends ---------------------------------------------------------


def start_scheduled(now=None) -> list[int]:
    """Start every issue whose status is `scheduled` and whose time has come (start_sending, actor None): once
    each, even with two beat runs at the same moment (the due rows are taken FOR UPDATE SKIP LOCKED, and only
    a `scheduled` one is started). An issue that can no longer be sent (its list has no reader left) goes back
    to `approved`, audited with the reason, instead of being tried every minute. Flushes, never commits;
    returns the ids started."""
    now = now or utcnow()
    due = db.session.scalars(select(Issue.id).where(Issue.status == IssueStatus.SCHEDULED, Issue.scheduled_at <= now)
                             .order_by(Issue.scheduled_at, Issue.id).with_for_update(skip_locked=True)).all()
    started = []
    for issue_id in due:
        try:
            with db.session.begin_nested():
                start_sending(issue_id=issue_id, actor=None)
        except PartnersError as exc:
            issue = _issue(issue_id, lock=True)
            issue.status = IssueStatus.APPROVED
            db.session.flush()
            _audit_issue("newsletter_issue.schedule_failed", issue, None, {"status": IssueStatus.SCHEDULED.value},
                         {"status": IssueStatus.APPROVED.value, "reason": str(exc)})
            log.warning("scheduled issue %s not sent: %s", issue_id, exc)
        else:
            started.append(issue_id)
    return started


def stall_seconds() -> float:
    """How long a sending issue's pending deliveries may stay still before the sweep dispatches them again."""
    return float(current_app.config.get("NEWSLETTER_STALL_SECONDS", 300))


def stalled_issues(now=None) -> list[int]:
    """Issues `sending` for longer than stall_seconds() that still have deliveries pending (or none planned at
    all), none of which reached the outbox within that time: their enqueue was lost or their worker died."""
    now = now or utcnow()
    since = now - timedelta(seconds=stall_seconds())
    pending = exists().where(Delivery.issue_id == Issue.id, Delivery.status == DeliveryStatus.PENDING)
    planned = exists().where(Delivery.issue_id == Issue.id)
    moved = exists().where(OutboundMessage.ref_type == REF_TYPE, OutboundMessage.ref_id == Issue.id,
                           OutboundMessage.created_at > since)
    return list(db.session.scalars(
        select(Issue.id).where(Issue.status == IssueStatus.SENDING, Issue.updated_at <= since, pending | ~planned,
                               ~exists().where(Delivery.issue_id == Issue.id, Delivery.created_at > since), ~moved)
        .order_by(Issue.id)))


def resume_stalled(now=None) -> list[int]:
    """Dispatch partners.send_issue again, after commit, for each stalled issue (stalled_issues): it plans whoever
    is missing and sends a batch task per pending range. Never sends anyone twice: a batch takes only pending
    deliveries it can lock. The issue's updated_at is set to now, so that a send whose batches are merely waiting
    behind a long queue is dispatched again once per stall_seconds(), not at every sweep. An issue with nothing
    pending that is still `sending` (its last batch died before closing it) is marked sent. Flushes; returns the ids
    dispatched."""
    now = now or utcnow()
    since = now - timedelta(seconds=stall_seconds())
    # Everything queued but the issue left `sending`: the last batch's own finish_if_done was lost with its worker.
    for issue_id in db.session.scalars(select(Issue.id).where(
            Issue.status == IssueStatus.SENDING, Issue.updated_at <= since,
            exists().where(Delivery.issue_id == Issue.id),
            ~exists().where(Delivery.issue_id == Issue.id, Delivery.status == DeliveryStatus.PENDING))).all():
        finish_if_done(issue_id)
    found = stalled_issues(now)
    for issue_id in found:
        issue = db.session.get(Issue, issue_id)
        log.warning("newsletter issue %s: pending deliveries have not moved for %.0f s; dispatching them again",
                    issue_id, stall_seconds())
        issue.updated_at = now
        tasks.after_commit(db.session, SEND_TASK, [issue_id], **_task_options(issue))
    db.session.flush()
    return found
