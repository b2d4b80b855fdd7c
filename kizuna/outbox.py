"""The transactional outbox: queue messages in the caller's transaction, deliver them after commit."""

from __future__ import annotations

import hashlib
import logging
import mailbox
import smtplib
import ssl
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from . import audit, dkim, tasks
from .extensions import db, utcnow
from .mail import domain_of
from .models import MessageStatus, OutboundMessage

log = logging.getLogger(__name__)

DELIVER_TASK = "kizuna.deliver_outbox"

_BATCH = "kizuna.outbox"

def alert_queue() -> str:
    """The Celery queue for urgent mail (prepared alerts): "alerts", or "<default queue>-alerts" for an app
    whose default queue is not Celery's own, so that two Kizunas (or two test runs) on one Redis never take
    each other's alerts. A worker started without -Q takes both queues (create_app lists them), alternating
    between them: an alert's tasks wait behind at most one newsletter batch each. A worker of its own,
    `celery -A worker worker -Q alerts`, sends an alert at once whatever the newsletters queued."""
    return current_app.config["ALERT_QUEUE"]


class OutboxError(Exception):
    """A staff action on the outbox that cannot be done; the message says why."""


class TransientError(Exception):
    """The server may accept this message later (a 4xx answer, a dropped connection)."""


class PermanentError(Exception):
    """The server refused this message for good (a 5xx answer)."""


class ServerUnavailable(Exception):
    """No usable connection to the server: every message of the batch not yet settled waits."""


def queue(msg: EmailMessage, *, category: str, ref_type: str | None = None,
          ref_id: int | None = None, task_queue: str | None = None) -> OutboundMessage:
    """Add `msg` to the outbox in the caller's transaction; it is dispatched once that commits.

    One recipient per message (To, no Cc/Bcc): the envelope goes to that address only. A message
    without a Message-ID gets one here, so the row and what the server receives carry the same.
    Raises ValueError otherwise; flushes, never commits.

    `task_queue` names the Celery queue its delivery task is sent to (alert_queue() for alerts); None,
    the default, is Celery's default queue. Messages for different queues are batched apart. Retries
    after a transient failure and the sweep's re-enqueues use the default queue.
    """
    recipients = [a for name in ("To", "Cc", "Bcc") for a in _addresses(msg, name)]
    if len(recipients) != 1:
        raise ValueError(f"an outbox message goes to exactly one address (To), not {recipients!r}")
    if msg["Message-ID"] is None:
        msg["Message-ID"] = make_msgid(domain=domain_of(str(msg["From"])))
    row = OutboundMessage(
        message_id=str(msg["Message-ID"]),
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
    key = _BATCH if task_queue is None else f"{_BATCH}:{task_queue}"
    batch = db.session.info.setdefault(key, [])
    if not batch:
        options = {} if task_queue is None else {"queue": task_queue}
        tasks.after_commit(db.session, DELIVER_TASK, [batch], **options)  # the list fills up until commit
    batch.append(row.id)
    if len(batch) >= current_app.config["OUTBOX_BATCH_SIZE"]:
        del db.session.info[key]
    return row


def _addresses(msg: EmailMessage, name: str) -> list[str]:
    header = msg[name]
    if header is None:
        return []
    found = getattr(header, "addresses", None)  # EmailMessage's default policy parses address headers
    return [a.addr_spec for a in found] if found is not None else [str(header)]


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_batch(session: Session) -> None:
    for key in [k for k in session.info if isinstance(k, str) and (k == _BATCH or k.startswith(f"{_BATCH}:"))]:
        del session.info[key]


# -- transports: open() yields a send(row) callable; see _SMTPConnection.send for what it raises ------


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

    def connect(self) -> smtplib.SMTP:
        """A logged-in session; ServerUnavailable when there is none to be had (even on a 5xx greeting:
        a refused login or a server in trouble is no fault of the messages, which retry with backoff)."""
        smtp = None
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
        except (OSError, smtplib.SMTPException) as exc:  # SMTPException is an OSError; both named for the reader
            if smtp is not None:
                smtp.close()
            raise ServerUnavailable(f"cannot connect to {self.host}:{self.port}: {_describe(exc)}") from exc
        return smtp

    @contextmanager
    def open(self):
        """One connection for a whole batch (another only if the server drops it after some progress)."""
        connection = _SMTPConnection(self)
        try:
            yield connection.send
        finally:
            connection.close()


class _Dropped(Exception):
    """The connection is gone; whether the server kept the message is unknown."""


class _SMTPConnection:
    def __init__(self, transport: SMTPTransport):
        self.transport = transport
        self.smtp: smtplib.SMTP | None = transport.connect()
        self.answered = 0  # messages the server answered on the current connection

    def send(self, row) -> None:
        """Send one message. Raises TransientError or PermanentError for this message, or
        ServerUnavailable when the connection dropped and a new one cannot be had or makes no progress.

        A server that drops the connection after some messages (a per-session limit, a restart) gets
        the same message again on a new connection, once; a dropped message was maybe delivered, and
        it would be sent again after a backoff just the same.
        """
        for fresh in (False, True):
            if self.smtp is None:
                self.smtp, self.answered = self.transport.connect(), 0
            try:
                _smtp_send(self.smtp, row)
            except _Dropped as exc:
                self.close()
                if fresh or not self.answered:
                    raise ServerUnavailable(f"connection lost: {exc}") from exc
                continue
            except (TransientError, PermanentError):
                self.answered += 1
                raise
            self.answered += 1
            return

    def close(self) -> None:
        if self.smtp is None:
            return
        smtp, self.smtp = self.smtp, None
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _smtp_send(smtp: smtplib.SMTP, row) -> None:
    try:
        refused = smtp.sendmail(row.sender, [row.recipient], row.raw)
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()))
        _raise_for(code, answer)
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused
        _raise_for(exc.smtp_code, exc.smtp_error)
    except smtplib.SMTPNotSupportedError as exc:  # e.g. an address that needs SMTPUTF8
        raise PermanentError(_describe(exc)) from exc
    except UnicodeEncodeError as exc:
        raise PermanentError(f"a non-ASCII address and no SMTPUTF8: {exc}") from exc
    except (smtplib.SMTPServerDisconnected, OSError) as exc:  # also any other SMTPException
        raise _Dropped(_describe(exc)) from exc
    if refused:
        code, answer = next(iter(refused.values()))
        _raise_for(code, answer)


def _raise_for(code: int, answer: bytes | str) -> None:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    if code == 421:  # "service not available, closing transmission channel": smtplib has closed it
        raise _Dropped(f"{code} {text}")
    if 400 <= code < 500:
        raise TransientError(f"{code} {text}")
    raise PermanentError(f"{code} {text}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error
        return f"{exc.smtp_code} {answer.decode(errors='replace') if isinstance(answer, bytes) else answer}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class MailboxTransport:
    """The demo's local mailbox: a Maildir in the instance folder that staff browse in the app."""

    timeout = 5.0

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


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a worker needs of a row it holds under a lease: read once, no ORM object to expire."""

    id: int
    sender: str
    recipient: str
    raw: bytes
    attempts: int  # including this one


def _claimable(entity, now: datetime):
    return or_(
        entity.status.in_((MessageStatus.QUEUED, MessageStatus.RETRYING)) & (entity.next_attempt_at <= now),
        (entity.status == MessageStatus.SENDING) & (entity.lease_until < now),
    )


def _claim(ids: list[int]) -> tuple[list[Claimed], datetime]:
    """Take the due rows among `ids` that no one else holds: `sending` under a new lease, attempts + 1.

    One statement (rows locked by another worker are skipped, FOR UPDATE SKIP LOCKED on PostgreSQL),
    committed before anything is sent.
    """
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    candidate = aliased(OutboundMessage)
    due = (select(candidate.id).where(candidate.id.in_(ids), _claimable(candidate, now))
           .with_for_update(skip_locked=True))
    result = db.session.execute(
        update(OutboundMessage).where(OutboundMessage.id.in_(due))
        .values(status=MessageStatus.SENDING, lease_until=lease, attempts=OutboundMessage.attempts + 1)
        .returning(OutboundMessage.id, OutboundMessage.sender, OutboundMessage.recipient, OutboundMessage.raw,
                   OutboundMessage.attempts),
        execution_options={"synchronize_session": False},
    )
    rows = sorted((Claimed(*r) for r in result), key=lambda r: r.id)
    _relaxed_commit()
    return rows, lease


def backoff(attempts: int) -> float:
    """Seconds to wait after failed attempt number `attempts`: base · 2^(attempts−1), capped."""
    cfg = current_app.config
    return min(cfg["OUTBOX_RETRY_BASE"] * 2 ** (attempts - 1), cfg["OUTBOX_RETRY_MAX"])


class _Ledger:
    """The outcomes of one claimed batch, written only while the batch's lease is ours.

    Every write is guarded by `status = 'sending' AND lease_until = <our lease>`: a worker that lost
    its lease (it stalled past it and another worker took the rows) cannot overwrite what the other
    records. The lease is renewed before a send that could outlast it.

    `sent` marks are group-committed: at most OUTBOX_COMMIT_EVERY messages, or OUTBOX_COMMIT_AFTER
    seconds' worth, are handed to the server before their marks are committed. A worker killed inside
    that window leaves them `sending`; the next claim marks those the _Journal noted as accepted and sends
    the others again (at least once, never lost); a committed mark is final.
    """

    def __init__(self, rows: list[Claimed], lease: datetime, report: DeliveryReport, send_timeout: float):
        cfg = current_app.config
        self.lease = lease
        self.unsettled = {row.id: row for row in rows}
        self.report = report
        self.every = max(1, int(cfg["OUTBOX_COMMIT_EVERY"]))
        self.after = float(cfg["OUTBOX_COMMIT_AFTER"])
        self.lease_seconds = float(cfg["OUTBOX_LEASE_SECONDS"])
        self.margin = timedelta(seconds=send_timeout)
        self.max_attempts = cfg["OUTBOX_MAX_ATTEMPTS"]
        self.sent_ids: list[int] = []
        self.first_sent_at = 0.0
        self.dirty = False

    def _mine(self, ids):
        return (OutboundMessage.id.in_(ids) & (OutboundMessage.status == MessageStatus.SENDING)
                & (OutboundMessage.lease_until == self.lease))

    def hold(self, row: Claimed) -> bool:
        """True when `row` may be sent now: still ours, with the lease outlasting one send."""
        if row.id in self.unsettled and utcnow() + self.margin >= self.lease:
            self.renew()
        return row.id in self.unsettled

    def renew(self) -> None:
        self.flush()
        new_lease = utcnow() + timedelta(seconds=self.lease_seconds)
        kept = set(db.session.scalars(
            update(OutboundMessage).where(self._mine(list(self.unsettled))).values(lease_until=new_lease)
            .returning(OutboundMessage.id), execution_options={"synchronize_session": False}))
        self.lease = new_lease
        self.dirty = True
        self.flush()
        if lost := set(self.unsettled) - kept:
            log.warning("outbox: lease lost on %s; another worker holds them", sorted(lost))
            for row_id in lost:
                del self.unsettled[row_id]

    def sent(self, row: Claimed) -> None:
        del self.unsettled[row.id]
        self.report.sent.append(row.id)
        if not self.sent_ids:
            self.first_sent_at = time.monotonic()
        self.sent_ids.append(row.id)
        if len(self.sent_ids) >= self.every or time.monotonic() - self.first_sent_at >= self.after:
            self.flush()

    def failed(self, row: Claimed, error: str) -> None:
        self._settle([row], MessageStatus.FAILED, error)
        self.flush()

    def retry(self, rows: list[Claimed], error: str) -> None:
        """Back to `retrying` with backoff (one task per distinct wait), or `failed` after the last attempt."""
        waits: dict[float, list[Claimed]] = defaultdict(list)
        for row in rows:
            if row.attempts >= self.max_attempts:
                self._settle([row], MessageStatus.FAILED, error)
            else:
                waits[backoff(row.attempts)].append(row)
        for delay, group in waits.items():
            self._settle(group, MessageStatus.RETRYING, error,
                         next_attempt_at=utcnow() + timedelta(seconds=delay))
            tasks.after_commit(db.session, DELIVER_TASK, [[row.id for row in group]], countdown=delay)
        self.flush()

    def retry_unsettled(self, error: str) -> None:
        self.retry(list(self.unsettled.values()), error)

    def give_up(self, rows: list[Claimed]) -> None:
        """Rows whose earlier attempts never finished (the worker was lost each time): no further try."""
        for row in rows:
            self._settle([row], MessageStatus.FAILED,
                         f"gave up: {row.attempts - 1} delivery attempts did not finish (worker lost)")
        self.flush()

    def _settle(self, rows: list[Claimed], status: MessageStatus, error: str, **values) -> None:
        ids = [row.id for row in rows]
        for row_id in ids:
            self.unsettled.pop(row_id, None)
        db.session.execute(update(OutboundMessage).where(self._mine(ids)).values(
            status=status, last_error=error[:2000], lease_until=None, **values),
            execution_options={"synchronize_session": False})
        (self.report.failed if status == MessageStatus.FAILED else self.report.retrying).extend(ids)
        self.dirty = True

    def flush(self) -> None:
        """Commit what is recorded so far (the `sent` marks as one statement)."""
        ids = self.sent_ids
        if ids:
            marked = db.session.execute(update(OutboundMessage).where(self._mine(ids)).values(
                status=MessageStatus.SENT, sent_at=utcnow(), lease_until=None, last_error=None),
                execution_options={"synchronize_session": False}).rowcount
            if marked != len(ids):
                log.warning("outbox: %d of %d sent messages were no longer ours to mark; another worker "
                            "holds them and may send them again", len(ids) - marked, len(ids))
            self.dirty = True
        if self.dirty:
            _relaxed_commit()
            self.dirty = False
            self.sent_ids = []  # only once committed: salvage() tries again after a failed commit

    def salvage(self) -> None:
        """After an unexpected error: keep the `sent` marks if the database lets us (best effort)."""
        try:
            db.session.rollback()
            self.dirty = False
            self.flush()
        except Exception:
            log.exception("outbox: could not record %d sent messages; they will be sent again after the lease",
                          len(self.sent_ids))


def _relaxed_commit() -> None:
    # Claims and outcomes only: if the database server itself crashes, it may lose the last fraction
    # of a second of these commits, and the rows go back to an earlier state and are sent again, which
    # is what a killed worker already causes (at least once, never lost). Other readers see the commit
    # at once either way, so the claim stays exclusive; waiting for the fsync buys nothing here.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
    db.session.commit()


class _Journal:
    """Notes, in Redis beside the broker, each message the server has accepted, the moment it does.

    A `sent` mark is committed with the next group of them (OUTBOX_COMMIT_EVERY); a worker killed before
    that would leave the message `sending`, and the next claim would send it again. The note closes that
    window to the instant between the server's answer and the note: a row claimed again (attempts > 1)
    whose note is there is marked sent without another send. Best effort: Redis out of reach, a send
    goes on unnoted (at least once, as before). A note names the message by a hash of its bytes (their
    Message-ID and Date among them), never by its row id, which a restored database may give another.
    Notes expire after a week.
    """

    TTL = 7 * 86400
    _clients: dict[str, redis.Redis] = {}

    def __init__(self, url: str):
        self.client = self._clients.get(url) or self._clients.setdefault(url, redis.Redis.from_url(url))

    @classmethod
    def of_app(cls) -> _Journal | None:
        """The app's journal; None without Redis (the demo sends in-process, where no worker is killed)."""
        url = current_app.config.get("REDIS_URL")
        return cls(url) if url else None

    @staticmethod
    def _key(row: Claimed) -> str:
        return "kizuna:accepted:" + hashlib.sha256(row.raw).hexdigest()[:40]

    def note(self, row: Claimed) -> None:
        try:
            self.client.set(self._key(row), b"1", ex=self.TTL)
        except redis.RedisError as exc:
            log.warning("outbox: could not note message %s as accepted (%s); a lost worker would resend it",
                        row.id, exc)

    def accepted(self, rows: list[Claimed]) -> set[int]:
        """Those of `rows` the server accepted in an attempt whose worker was lost before its mark."""
        if not rows:
            return set()
        try:
            notes = self.client.mget([self._key(row) for row in rows])
        except redis.RedisError as exc:
            log.warning("outbox: could not read the notes of accepted messages (%s); sending again", exc)
            return set()
        return {row.id for row, note in zip(rows, notes, strict=True) if note is not None}


def deliver(ids: list[int]) -> DeliveryReport:
    """Send the due messages among `ids` over one connection; commits as it goes.

    Idempotent: a row `sent`, `failed`, not yet due, or held by another worker is skipped, and a row
    whose `sent` mark is committed is never sent again. Transient answers (4xx, a dropped or refused
    connection) put rows in `retrying` with exponential backoff and enqueue their retry; 5xx answers end
    in `failed` with the server's answer kept; the last allowed attempt fails for good. A worker killed
    midway loses nothing: its rows stay `sending` until the lease runs out and a sweep takes them again,
    and those the server had accepted are marked sent without another send (_Journal).
    """
    report = DeliveryReport()
    rows, lease = _claim(ids)
    if not rows:
        return report
    transport = get_transport()
    ledger = _Ledger(rows, lease, report, send_timeout=transport.timeout)
    journal = _Journal.of_app()
    if journal is not None and (taken := journal.accepted([row for row in rows if row.attempts > 1])):
        log.info("outbox: %d messages accepted before their worker was lost are marked sent, not resent",
                 len(taken))
        for row in rows:
            if row.id in taken:
                ledger.sent(row)
    limit = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    if stuck := [row for row in rows if row.attempts > limit and row.id in ledger.unsettled]:
        ledger.give_up(stuck)
    try:
        if ledger.unsettled:
            with transport.open() as send:
                for row in rows:
                    if not ledger.hold(row):
                        continue
                    try:
                        send(replace(row, raw=dkim.sign(row.raw)))  # at send time when DKIM_* are set
                    except TransientError as exc:
                        ledger.retry([row], str(exc))
                    except PermanentError as exc:
                        ledger.failed(row, str(exc))
                    else:
                        if journal is not None:
                            journal.note(row)
                        ledger.sent(row)
    except ServerUnavailable as exc:
        ledger.retry_unsettled(str(exc))
    except BaseException:
        ledger.salvage()
        raise
    ledger.flush()
    log.info("outbox: %d sent, %d retrying, %d failed", len(report.sent), len(report.retrying),
             len(report.failed))
    return report


def sweep() -> list[int]:
    """Re-enqueue what a lost enqueue or a dead worker left behind; idempotent, commits nothing.

    Picks rows `queued` or `retrying` whose time has come (plus OUTBOX_SWEEP_GRACE for the task that
    is already on its way) and rows stuck in `sending` past their lease, oldest first, and enqueues
    them in batches. A row that another task delivers first is simply skipped by this one.
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
    """Put a `failed` message back in the queue (staff action), dispatched after the caller commits.

    Raises OutboxError for any other message: one that is queued, sending, retrying or sent is
    already on its way or delivered. Attempts start again from zero; the last error stays visible.
    """
    row = db.session.get(OutboundMessage, message_id, with_for_update=True, populate_existing=True)
    if row is None or row.status != MessageStatus.FAILED:
        raise OutboxError(_("Only a failed message can be retried."))
    row.status = MessageStatus.QUEUED
    row.attempts = 0
    row.lease_until = None
    row.next_attempt_at = utcnow()
    audit.record("outbox.retry", actor=actor, object_type="outbound_message", object_id=row.id,
                 object_label=row.subject, before={"status": "failed", "error": row.last_error},
                 after={"status": "queued"})
    tasks.after_commit(db.session, DELIVER_TASK, [[row.id]])
    return row


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)
