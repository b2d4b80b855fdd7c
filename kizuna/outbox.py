"""The transactional outbox: queue messages in the caller's transaction, deliver them after commit."""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from . import audit, tasks
from .extensions import db, utcnow
from .models import MessageStatus, OutboundMessage

log = logging.getLogger(__name__)

DELIVER_TASK = "kizuna.deliver_outbox"


_BATCH = "kizuna.outbox"


class OutboxError(Exception):
    """A staff action on the outbox that cannot be done; the message says why."""


class TransientError(Exception):
    """The server or the network may accept the message later."""


class PermanentError(Exception):
    """The server refused the message for good (a 5xx answer)."""


def queue(msg: EmailMessage, *, category: str, ref_type: str | None = None,
          ref_id: int | None = None) -> OutboundMessage:
    """Add `msg` to the outbox in the caller's transaction; it is dispatched once that commits."""
    row = OutboundMessage(
        message_id=msg["Message-ID"],
        category=category,
        sender=str(msg["From"]),
        recipient=str(msg["To"]),
        subject=str(msg["Subject"] or ""),
        raw=msg.as_bytes(policy=policy.SMTP),
        status=MessageStatus.QUEUED,
        ref_type=ref_type,
        ref_id=ref_id,
    )
    db.session.add(row)
    db.session.flush()
    batch = db.session.info.setdefault(_BATCH, [])
    if not batch:
        tasks.after_commit(db.session, DELIVER_TASK, [batch])  # the list fills up until commit
    batch.append(row.id)
    if len(batch) >= current_app.config["OUTBOX_BATCH_SIZE"]:
        del db.session.info[_BATCH]
    return row


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_batch(session: Session) -> None:
    session.info.pop(_BATCH, None)


# -- transports: open() yields a send(row) callable that raises TransientError or PermanentError ---


class SMTPTransport:
    """SMTP from SMTP_URL: smtp:// (plain), smtp+starttls:// or smtps://, with optional user:password."""

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or {"smtps": 465, "smtp+starttls": 587}.get(parts.scheme, 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        self.timeout = float(parse_qs(parts.query).get("timeout", [timeout])[0])

    @contextmanager
    def open(self):
        """One connection for a whole batch."""
        try:
            if self.scheme == "smtps":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.scheme == "smtp+starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
        except smtplib.SMTPResponseException as exc:
            _raise_for(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        try:
            yield lambda row: _smtp_send(smtp, row)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _smtp_send(smtp: smtplib.SMTP, row: OutboundMessage) -> None:
    try:
        refused = smtp.sendmail(row.sender, [row.recipient], row.raw)
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()))
        _raise_for(code, answer)
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientError(f"connection lost: {exc}") from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused
        _raise_for(exc.smtp_code, exc.smtp_error)
    except OSError as exc:
        raise TransientError(f"connection lost: {exc}") from exc
    if refused:
        code, answer = next(iter(refused.values()))
        _raise_for(code, answer)


def _raise_for(code: int, answer: bytes | str) -> None:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    if 400 <= code < 500:
        raise TransientError(f"{code} {text}")
    raise PermanentError(f"{code} {text}")


class MailboxTransport:
    """The demo's local mailbox: a Maildir in the instance folder that staff browse in the app."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def open(self):
        box = mailbox.Maildir(self.path, create=True)
        yield lambda row: box.add(row.raw)


def get_transport():
    cfg = current_app.config
    if cfg["SMTP_URL"]:
        return SMTPTransport(cfg["SMTP_URL"], timeout=cfg["SMTP_TIMEOUT"])
    return MailboxTransport(mailbox_path())


def mailbox_path() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "mailbox"


# -- delivery -----------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _claimable(now):
    return or_(
        OutboundMessage.status.in_((MessageStatus.QUEUED, MessageStatus.RETRYING))
        & (OutboundMessage.next_attempt_at <= now),
        (OutboundMessage.status == MessageStatus.SENDING) & (OutboundMessage.lease_until < now),
    )


def _claim(ids: list[int]) -> list[OutboundMessage]:
    """Lock the due rows among `ids`, mark them `sending` under a lease, and commit."""
    now = utcnow()
    rows = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.id.in_(ids), _claimable(now))
        .order_by(OutboundMessage.id).with_for_update(skip_locked=True)
    ).all()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    for row in rows:
        row.status = MessageStatus.SENDING
        row.lease_until = lease
        row.attempts += 1
    db.session.commit()
    return list(rows)


def _relaxed_commit() -> None:
    # A worker killed between SMTP's answer and this commit resends one message; a lost
    # PostgreSQL fsync cannot make that worse, so status updates skip waiting for it.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("SET LOCAL synchronous_commit = off"))
    db.session.commit()


def backoff(attempts: int) -> float:
    cfg = current_app.config
    return min(cfg["OUTBOX_RETRY_BASE"] * 2 ** (attempts - 1), cfg["OUTBOX_RETRY_MAX"])


def _retry_or_fail(row: OutboundMessage, error: str, report: DeliveryReport) -> None:
    row.last_error = error[:2000]
    row.lease_until = None
    if row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        row.status = MessageStatus.FAILED
        report.failed.append(row.id)
        return
    delay = backoff(row.attempts)
    row.status = MessageStatus.RETRYING
    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    tasks.after_commit(db.session, DELIVER_TASK, [[row.id]], countdown=delay)
    report.retrying.append(row.id)


def deliver(ids: list[int]) -> DeliveryReport:
    """Send the due messages among `ids` over one connection; commits each outcome.

    Idempotent: a row already `sent`, `failed`, or locked by another worker is skipped. Transient
    errors put the row in `retrying` with exponential backoff (and enqueue its retry); permanent
    ones end in `failed` with the server's answer kept.
    """
    report = DeliveryReport()
    rows = _claim(ids)
    if not rows:
        return report
    try:
        with get_transport().open() as send:
            for row in rows:
                try:
                    send(row)
                except TransientError as exc:
                    _retry_or_fail(row, str(exc), report)
                    if str(exc).startswith("connection lost"):
                        raise
                except PermanentError as exc:
                    row.status = MessageStatus.FAILED
                    row.last_error = str(exc)[:2000]
                    row.lease_until = None
                    report.failed.append(row.id)
                else:
                    row.status = MessageStatus.SENT
                    row.sent_at = utcnow()
                    row.lease_until = None
                    row.last_error = None
                    report.sent.append(row.id)
                _relaxed_commit()
    except (TransientError, PermanentError) as exc:
        # The connection failed (or broke): every row not yet settled waits for a retry.
        for row in rows:
            if row.status == MessageStatus.SENDING:
                if isinstance(exc, PermanentError):
                    row.status, row.last_error, row.lease_until = MessageStatus.FAILED, str(exc), None
                    report.failed.append(row.id)
                else:
                    _retry_or_fail(row, str(exc), report)
        db.session.commit()
    log.info("outbox: %d sent, %d retrying, %d failed", len(report.sent), len(report.retrying),
             len(report.failed))
    return report


def sweep() -> list[int]:
    """Re-enqueue what a lost enqueue or a dead worker left behind: idempotent, commits nothing.

    Picks rows `queued` or `retrying` whose time has come (plus a grace period for the task that
    is already on its way) and rows stuck in `sending` past their lease.
    """
    cfg = current_app.config
    now = utcnow()
    grace = now - timedelta(seconds=cfg["OUTBOX_SWEEP_GRACE"])
    ids = db.session.scalars(
        select(OutboundMessage.id).where(or_(
            OutboundMessage.status.in_((MessageStatus.QUEUED, MessageStatus.RETRYING))
            & (OutboundMessage.next_attempt_at <= grace),
            (OutboundMessage.status == MessageStatus.SENDING) & (OutboundMessage.lease_until < now),
        )).order_by(OutboundMessage.id).limit(cfg["OUTBOX_SWEEP_LIMIT"])
    ).all()
    size = cfg["OUTBOX_BATCH_SIZE"]
    for start in range(0, len(ids), size):
        tasks.send(DELIVER_TASK, [ids[start:start + size]])
    return list(ids)


def retry(message_id: int, *, actor) -> OutboundMessage:
    """Put a `failed` message back in the queue (staff action); dispatched after commit."""
    row = db.session.get(OutboundMessage, message_id)
    if row is None or row.status != MessageStatus.FAILED:
        raise OutboxError(_("Only a failed message can be retried."))
    row.status = MessageStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = utcnow()
    audit.record("outbox.retry", actor=actor, object_type="outbound_message", object_id=row.id,
                 object_label=row.subject, before={"status": "failed", "error": row.last_error},
                 after={"status": "queued"})
    tasks.after_commit(db.session, DELIVER_TASK, [[row.id]])
    return row


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)
