"""Bounces: delivery status notifications read from the bounces mailbox (BOUNCES_IMAP_URL), matched to the message
we sent by its Message-ID, recorded, and a permanent failure marks the address as bouncing so no more mail goes to it.

A report is read from its RFC 3464 parts (multipart/report; report-type=delivery-status: per recipient
Final-Recipient, Action, Status, Diagnostic-Code; the returned message or its headers for the Message-ID), and
from the plain-text shapes qmail and older Exim send (an explanation, then the original message quoted after a
marker line). Out-of-office and other automatic replies are not bounces: they stay unread in the mailbox for
people. Only a report about a message the outbox sent changes anything: a report about a message we do not know
(a forged one, backscatter from spam in our name) is recorded with no link and logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from kizuna import audit, imap
from kizuna.extensions import db, utcnow
from kizuna.mail import normalize_address
from kizuna.models import OutboundMessage

from .models import Bounce, ContactEmail, Delivery, Subscription, SubscriptionStatus
from .services import PartnersError

log = logging.getLogger(__name__)

BATCH = 200  # messages one run reads at most; the rest wait for the next run
ACTIONS = ("failed", "delayed")  # RFC 3464 2.3.3; delivered, relayed and expanded are not failures

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.#])([45])[0-5]\d(?![\d.])")
_MESSAGE_ID = re.compile(r"^(?:X-Original-)?Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>?")
# Where the plain-text bounces of qmail, Exim, Sendmail and others start quoting the returned message.
_QUOTE_MARKERS = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*Below this line is a copy of the message|"
    r"-{2,}[ \t]*This is a copy of the message|"
    r"-{2,}[ \t]*(?:The )?original message|"
    r"-{2,}[ \t]*Original message follows|"
    r"-{2,}[ \t]*Returned message|"
    r"-{2,}[ \t]*Undelivered message|"
    r"The original message was received|"
    r"Original message follows)",
    re.IGNORECASE | re.MULTILINE)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered mail|delivery (?:status notification|failure|has failed)|mail delivery failed|"
    r"failure notice|returned mail|delivery status|could not be delivered|nondeliverable|non-delivery|"
    r"配信不能|配送失敗|送信できませんでした", re.IGNORECASE)
_DAEMONS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|mdaemon)@", re.IGNORECASE)
_DELAY_WORDS = re.compile(r"not yet been delivered|will (?:continue to )?(?:re)?try|still being retried|"
                          r"delayed|warning only", re.IGNORECASE)
_PERMANENT_WORDS = re.compile(r"permanent (?:error|failure)|I've given up|has been rejected|does not exist|"
                              r"user unknown|no (?:such|mailbox)", re.IGNORECASE)


class BounceError(imap.Rejected):
    """A message that says it is a bounce but cannot be read as one (no recipient, a broken report): left in the
    mailbox, flagged, for a person to look at."""


@dataclass(frozen=True)
class Failure:
    """One recipient's line of a report: who, what the server did, and what it said."""

    email: str  # normalised
    action: str  # failed | delayed
    status: str  # enhanced status code: 5.1.1 (may be "" when the report gives none)
    diagnostic: str

    @property
    def permanent(self) -> bool:
        """For good: a failure with a 5.x.x status. A delay, or a failure after only temporary (4.x.x)
        answers (the sending server gave up retrying), may heal and only counts as information."""
        return self.action == "failed" and self.status.startswith("5.")


@dataclass(frozen=True)
class Report:
    """A bounce: the Message-ID of the message that did not arrive (None when the report does not say) and the
    recipients it failed for."""

    message_id: str | None
    failures: tuple[Failure, ...]


# -- reading a report -------------------------------------------------------------------------------------------


def parse_bounce(message: Message) -> Report | None:
    """The report in `message`, or None when it is no bounce (an out-of-office reply, a success notice, mail).

    Raises BounceError for a report that names no recipient that failed."""
    if _is_dsn(message):
        return _from_dsn(message)
    if _is_auto_reply(message) or not _looks_like_bounce(message):
        return None
    return _from_text(message)


def _is_dsn(message: Message) -> bool:
    return (message.get_content_type() == "multipart/report"
            and (message.get_param("report-type") or "").lower() in ("delivery-status", "global-delivery-status"))


def _is_auto_reply(message: Message) -> bool:
    """RFC 3834 auto-replies and the vendor headers that say the same (a bounce is auto-replied too: call after
    _is_dsn, and look for the bounce's own signs in _looks_like_bounce)."""
    if message.get("X-Autoreply") or message.get("X-Autorespond") or message.get("X-Auto-Response-Suppress"):
        return True
    if (message.get("Precedence") or "").strip().lower() == "auto_reply":
        return True
    subject = _text(message.get("Subject"))
    return bool(re.match(r"\s*(automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|"
                         r"abwesenheit|absence|自動応答|不在)", subject, re.IGNORECASE))


def _looks_like_bounce(message: Message) -> bool:
    sender = parseaddr(_text(message.get("From")))[1]
    null_sender = (message.get("Return-Path") or "").strip() == "<>"
    return bool(message.get("X-Failed-Recipients") or _DAEMONS.match(sender)
                or (null_sender and _BOUNCE_SUBJECTS.search(_text(message.get("Subject")))))


def _from_dsn(message: Message) -> Report | None:
    blocks: list[Message] = []
    returned: Message | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status") and not blocks:
            blocks = _status_blocks(part)
        elif kind in ("message/rfc822", "message/global") and returned is None:
            payload = part.get_payload()
            returned = payload[0] if isinstance(payload, list) and payload else None
        elif kind in ("text/rfc822-headers", "message/global-headers") and returned is None:
            returned = HeaderParser().parsestr(_decoded(part))
    if not blocks:
        raise BounceError("The delivery report has no delivery-status part.")
    per_message, recipients = blocks[0], blocks[1:]
    message_id = (_message_id_of(returned) or _angle(per_message.get("X-Original-Message-ID"))
                  or _angle(message.get("In-Reply-To")))
    failures = []
    named = 0
    for block in recipients:
        address = _recipient(block.get("Original-Recipient")) or _recipient(block.get("Final-Recipient"))
        if address:
            named += 1
        action = _text(block.get("Action")).split(" ")[0].lower()
        if action not in ACTIONS:
            continue
        if not address:
            continue
        diagnostic = _text(block.get("Diagnostic-Code"))
        diagnostic = diagnostic.split(";", 1)[1].strip() if ";" in diagnostic[:20] else diagnostic
        status = _status(block.get("Status")) or _status(diagnostic) or _status_from_code(diagnostic, action)
        failures.append(Failure(email=address, action=action, status=status, diagnostic=diagnostic[:2000]))
    if not named:
        raise BounceError("The delivery report names no recipient (no Final-Recipient).")
    if not failures:
        return None  # a success notice (delivered, relayed, expanded)
    return Report(message_id=message_id, failures=tuple(failures))


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package splits message/delivery-status into its field blocks
        return [block for block in payload if isinstance(block, Message)]
    text = _decoded(part)  # message/global-delivery-status (RFC 6533) comes as text
    return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\r?\n[ \t]*\r?\n", text)
            if chunk.strip()]


def _from_text(message: Message) -> Report:
    """qmail, older Exim and others: an explanation in words, then the returned message quoted (or attached)."""
    text = "\n".join(_decoded(part) for part in message.walk() if part.get_content_type() == "text/plain")
    marker = _QUOTE_MARKERS.search(text)
    explanation, quoted = (text[:marker.start()], text[marker.end():]) if marker else (text, "")
    attached = next((part.get_payload()[0] for part in message.walk()
                     if part.get_content_type() == "message/rfc822" and part.get_payload()), None)
    message_id = _message_id_of(attached) or _message_id_in(quoted) or _angle(message.get("In-Reply-To"))
    addresses = [a for _, a in getaddresses([_text(v) for v in message.get_all("X-Failed-Recipients") or []])]
    addresses = [_address(a) for a in addresses] or _addresses_in(explanation, message)
    addresses = list(dict.fromkeys(a for a in addresses if a))
    if not addresses:
        raise BounceError("The bounce names no recipient that failed.")
    delayed = bool(_DELAY_WORDS.search(explanation)) and not _PERMANENT_WORDS.search(explanation)
    action = "delayed" if delayed else "failed"
    failures = []
    for address in addresses:
        diagnostic = _diagnostic_about(explanation, address)
        status = (_status(diagnostic) or _status(explanation) or _status_from_code(diagnostic, action)
                  or ("5.0.0" if _PERMANENT_WORDS.search(explanation) and not delayed else ""))
        if delayed and status.startswith("5."):
            status = ""
        failures.append(Failure(email=address, action=action, status=status, diagnostic=diagnostic[:2000]))
    return Report(message_id=message_id, failures=tuple(failures))


def _addresses_in(explanation: str, message: Message) -> list[str]:
    """The addresses the explanation names, without the bounce's own sender and recipient (the daemon, us)."""
    ours = {_address(parseaddr(_text(message.get(name)))[1]) for name in ("From", "To", "Return-Path")}
    found = [_address(m.group(1)) for m in _ADDRESS.finditer(explanation)]
    return [a for a in found if a and a not in ours and not _DAEMONS.match(a)]


def _diagnostic_about(explanation: str, address: str) -> str:
    """The paragraph of the explanation that names `address` (qmail and Exim put the server's answer there)."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", explanation) if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        if address in paragraph.lower():
            text = " ".join(paragraph.split())
            if text.rstrip(":").lower().strip("<>") == address and index + 1 < len(paragraphs):
                text = " ".join(paragraphs[index + 1].split())  # qmail: "<addr>:" then the answer below it
            return text
    return ""


def _message_id_of(returned: Message | None) -> str | None:
    return _angle(returned.get("Message-ID")) if returned is not None else None


def _message_id_in(text: str) -> str | None:
    match = _MESSAGE_ID.search(text)
    return match.group(1) if match else None


def _angle(value) -> str | None:
    """A Message-ID as the outbox stores it: <local@domain>, whitespace and folding removed."""
    match = re.search(r"<[^<>\s]+>", " ".join(_text(value).split()))
    return match.group(0) if match else None


def _recipient(value) -> str | None:
    """The address of an RFC 3464 recipient field ("rfc822; someone@example.org"); other address types are
    not mail addresses we could have sent to."""
    text = _text(value)
    kind, _, address = text.partition(";")
    if not address:
        kind, address = "rfc822", text
    if kind.strip().lower() not in ("rfc822", "utf-8"):
        return None
    return _address(address.strip().strip("<>"))


def _address(value: str) -> str:
    value = (value or "").strip().strip("<>")
    if "@" not in value:
        return ""
    try:
        return normalize_address(value)
    except ValueError:
        return value.lower()


def _status(value) -> str:
    match = _STATUS.search(_text(value))
    return ".".join(match.groups()) if match else ""


def _status_from_code(text: str, action: str) -> str:
    """An enhanced status guessed from a bare SMTP answer (550 → 5.0.0), for servers that give only that."""
    match = _SMTP_CODE.search(text or "")
    if match:
        return f"{match.group(1)}.0.0"
    return "4.0.0" if action == "delayed" else ""


def _text(value) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


# -- recording it ------------------------------------------------------------------------------------------------


def record_bounce(report: Report) -> list[Bounce]:
    """Record each failure of `report` and, for a permanent one about a message we sent, mark its address bouncing.

    The message is found by its Message-ID in the outbox, and the newsletter delivery that sent it by that. The
    address marked is the one we sent to (one recipient per outbox message), even when the report names where it
    was forwarded. A report about a message we do not know is recorded with no link and changes nothing else.
    Idempotent: a failure already recorded for the same message, address, action and status is not recorded
    again (the mailbox may hand a report over twice after a crash). Flushes, never commits; returns the new rows.
    """
    outbound = (db.session.scalar(select(OutboundMessage).where(OutboundMessage.message_id == report.message_id))
                if report.message_id else None)
    delivery = (db.session.scalar(select(Delivery).where(Delivery.outbound_message_id == outbound.id))
                if outbound is not None else None)
    if outbound is None:
        log.warning("Bounce for a message the outbox did not send (%s, for %s): recorded, nothing else changed",
                    report.message_id or "no Message-ID", ", ".join(f.email for f in report.failures))
    sent_to = _address(parseaddr(outbound.recipient)[1]) if outbound is not None else ""
    recorded = []
    for failure in report.failures:
        email = sent_to if sent_to and len(report.failures) == 1 else failure.email
        if _seen(report.message_id, email, failure):
            continue
        bounce = Bounce(email=email[:254], message_id=(report.message_id or "")[:255] or None,
                        outbound_message_id=outbound.id if outbound is not None else None,
                        delivery_id=delivery.id if delivery is not None else None, action=failure.action[:20],
                        status=failure.status[:16], diagnostic=failure.diagnostic, permanent=failure.permanent,
                        received_at=utcnow())
        db.session.add(bounce)
        recorded.append(bounce)
        if outbound is not None and failure.permanent:
            mark_bouncing(email, reason=f"{failure.status} {failure.diagnostic}"[:300])
    db.session.flush()
    return recorded


def _seen(message_id: str | None, email: str, failure: Failure) -> bool:
    same = select(Bounce.id).where(Bounce.email == email, Bounce.action == failure.action,
                                   Bounce.status == failure.status)
    if message_id:
        same = same.where(Bounce.message_id == message_id)
    else:
        same = same.where(Bounce.message_id.is_(None), Bounce.diagnostic == failure.diagnostic)
    return db.session.scalar(same.limit(1)) is not None


def mark_bouncing(address: str, *, reason: str = "") -> list[ContactEmail]:
    """Mark every contact address equal to `address` as bouncing, so no more mail goes to it, and put on
    `bouncing` the active subscriptions of each contact left with no other address to receive them (one that
    still has another goes on getting issues there: sending takes the first address not bouncing). Audited as
    done by the system. Returns the addresses newly marked."""
    emails = list(db.session.scalars(select(ContactEmail).where(ContactEmail.address == address,
                                                                ContactEmail.bouncing_at.is_(None))))
    now = utcnow()
    for email in emails:
        email.bouncing_at = now
    db.session.flush()
    for email in emails:
        stopped = []
        if not _reachable(email.contact_id):
            subscriptions = db.session.scalars(select(Subscription).where(
                Subscription.contact_id == email.contact_id, Subscription.status == SubscriptionStatus.ACTIVE))
            for subscription in subscriptions:
                subscription.status = SubscriptionStatus.BOUNCING
                stopped.append(subscription.id)
        audit.record("contact_email.bouncing", actor=None, object_type="contact_email", object_id=email.id,
                     object_label=email.address, before={"bouncing_at": None},
                     after={"bouncing_at": now.isoformat(), "reason": reason, "subscriptions_stopped": stopped})
    return emails


def _reachable(contact_id: int) -> bool:
    return db.session.scalar(select(ContactEmail.id).where(ContactEmail.contact_id == contact_id,
                                                           ContactEmail.bouncing_at.is_(None)).limit(1)) is not None


def last_reports(addresses) -> dict[str, Bounce]:
    """The latest permanent failure reported for each of `addresses` that has one: what staff read before
    saying the address works again."""
    rows = db.session.scalars(select(Bounce).where(Bounce.email.in_(list(addresses)), Bounce.permanent)
                              .order_by(Bounce.received_at, Bounce.id))
    return {row.email: row for row in rows}


def clear_bouncing(*, email_id: int, actor) -> ContactEmail:
    """Staff say an address works again (the mailbox was fixed, the typo corrected): mail goes to it again, and
    the contact's subscriptions stopped as bouncing are active again. Audited. Raises PartnersError for an
    address that does not exist or is not marked; changes nothing then."""
    email = db.session.get(ContactEmail, email_id, with_for_update=True, populate_existing=True)
    if email is None:
        raise PartnersError(_("This email address does not exist."), field="email_id")
    if email.bouncing_at is None:
        raise PartnersError(_("This email address is not marked as bouncing."), field="email_id")
    before = email.bouncing_at
    email.bouncing_at = None
    resumed = []
    for subscription in db.session.scalars(select(Subscription).where(
            Subscription.contact_id == email.contact_id, Subscription.status == SubscriptionStatus.BOUNCING)):
        subscription.status = SubscriptionStatus.ACTIVE
        resumed.append(subscription.id)
    audit.record("contact_email.clear_bouncing", actor=actor, object_type="contact_email", object_id=email.id,
                 object_label=email.address, before={"bouncing_at": before.isoformat()},
                 after={"bouncing_at": None, "subscriptions_resumed": resumed})
    db.session.flush()
    return email


# -- the bounces mailbox -------------------------------------------------------------------------------------------


_UNSUBSCRIBE_SUBJECT = re.compile(r"\s*unsubscribe\s+(\S+)\s*\Z", re.IGNORECASE)


def unsubscribe_request(message: Message) -> bool:
    """A reader's mail to the List-Unsubscribe mailto address ("unsubscribe <their signed token>" as subject,
    RFC 2369): unsubscribed as the one-click link would. True when the token was good; a forged or unknown one
    changes nothing and is left for people (False)."""
    from . import newsletters

    match = _UNSUBSCRIBE_SUBJECT.match(str(message.get("Subject", "")))
    if match is None:
        return False
    try:
        newsletters.unsubscribe(token=match.group(1))
    except PartnersError as exc:  # refused before it changed anything
        log.info("An unsubscribe request with a token that is no good: %s", exc)
        return False
    db.session.commit()
    return True


def handle_message(message: Message, message_id: str | None = None) -> bool:
    """Read one message of the bounces mailbox and commit what it reports. True for a bounce (recorded) or a
    reader's unsubscribe request by mail (done), False for anything else (left for people); BounceError,
    changing nothing, for a bounce that cannot be read."""
    if unsubscribe_request(message):
        return True
    try:
        report = parse_bounce(message)
    except BounceError:
        raise
    except Exception as exc:  # one unreadable message must not stop the others
        raise BounceError(f"The message cannot be read: {exc!r}") from exc
    if report is None:
        log.info("Not a bounce, left in the bounces mailbox: %s", message_id)
        return False
    try:
        record_bounce(report)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return True


def read_bounces(*, limit: int = BATCH) -> dict | None:
    """One run of the beat task: read the new mail of BOUNCES_IMAP_URL, record each bounce (committed before its
    message is marked \\Seen), and move the watermark. None when the setting is not set (said in the log)."""
    url = current_app.config.get("BOUNCES_IMAP_URL")
    if not url:
        log.info("BOUNCES_IMAP_URL is not set: bounces are not read, and addresses that fail are not marked.")
        return None
    box = imap.mailbox_from_url(url)
    key = f"bounces:{box.key}"[:300]  # its own place, even in a mailbox that another reader reads too
    result = imap.read_new(box.host, box.port, box.user, box.password, handle=handle_message, mailbox=box.mailbox,
                           security=box.security, limit=limit, **imap.watermark(key))
    imap.keep_watermark(key, result)
    for failure in result.failures:
        log.warning("Bounce left in %s (UID %s, %s): %s", box.mailbox, failure.uid, failure.message_id, failure.error)
    return {"handled": len(result.handled), "failures": len(result.failures), "ignored": result.ignored,
            "last_uid": result.last_uid}
