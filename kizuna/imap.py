"""Reading a mailbox over IMAP once per message: new mail above a watermark, handed to a handler, then filed.

Shared by the readers of the office's mailboxes (meetings.inbox for calendar answers, partners.bounces for
delivery status notifications). A mailbox is named by a URL (imap://, imap+starttls:// or imaps://, with
user:password and the mailbox as the path) and the reader keeps its place in a MailboxWatermark row.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Literal
from urllib.parse import unquote, urlsplit

from .extensions import db, utcnow
from .models import MailboxWatermark

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]
SECURITY = {"imap": "none", "imap+starttls": "starttls", "imaps": "ssl"}
DEFAULT_PORTS = {"imap": 143, "imap+starttls": 143, "imaps": 993}


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    security: str

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}/{self.mailbox}"[:300]


def mailbox_from_url(url: str) -> Mailbox:
    """A mailbox URL's parts (kizuna.config has checked its scheme, host and port)."""
    parts = urlsplit(url)
    return Mailbox(host=parts.hostname, port=parts.port or DEFAULT_PORTS[parts.scheme],
                   user=unquote(parts.username or ""), password=unquote(parts.password or ""),
                   mailbox=unquote(parts.path.lstrip("/")) or "INBOX", security=SECURITY[parts.scheme])


def watermark(key: str) -> dict:
    """The place a reader keyed `key` got to, as read_new's since_uid and uidvalidity (0 and None at first)."""
    mark = db.session.get(MailboxWatermark, key)
    return {"since_uid": mark.last_uid if mark else 0, "uidvalidity": mark.uidvalidity if mark else None}


def keep_watermark(key: str, result: FetchResult) -> None:
    """Store where a run ended and commit: called after the run, whose handler committed each message."""
    mark = db.session.get(MailboxWatermark, key)
    if mark is None:
        mark = MailboxWatermark(mailbox=key, uidvalidity=result.uidvalidity)
        db.session.add(mark)
    mark.uidvalidity, mark.last_uid, mark.read_at = result.uidvalidity, result.last_uid, utcnow()
    db.session.commit()


class Rejected(Exception):
    """Raised by a handler for a message it will never take (broken, or about something we do not know):
    the message is flagged \\Flagged and left in place, listed in the run's failures, and the run goes on."""


@dataclass(frozen=True)
class Failure:
    """A message a run could not take: left in the mailbox, flagged, and reported here."""

    uid: int
    message_id: str | None
    error: str


@dataclass(frozen=True)
class FetchResult:
    """What one run did. Store ``uidvalidity`` and ``last_uid`` and pass them to the next run.

    ``handled`` lists the Message-IDs of the messages handled and filed, ``failures`` the messages left
    flagged, ``ignored`` counts mail the handler did not want; ``restarted`` says UIDVALIDITY had changed.
    """

    uidvalidity: int
    last_uid: int
    handled: tuple[str | None, ...] = ()
    failures: tuple[Failure, ...] = ()
    ignored: int = 0
    restarted: bool = False


def read_new(host: str, port: int, user: str, password: str, *,
             handle: Callable[[Message, str | None], bool],
             mailbox: str = "INBOX", security: Security = "ssl",
             ssl_context: ssl.SSLContext | None = None,
             since_uid: int = 0, uidvalidity: int | None = None,
             move_to: tuple[str, ...] | None = None,
             limit: int | None = None, timeout: float = 30.0) -> FetchResult:
    """Hand every message newer than the watermark to ``handle(message, message_id)``, oldest first.

    The watermark is (``uidvalidity``, ``since_uid``) from the previous run's FetchResult; when the
    server's UIDVALIDITY differs, UIDs were renumbered and the whole mailbox is read again
    (``restarted``). Messages are fetched with BODY.PEEK[], so mail the handler does not want stays
    unread and in place for people to read.

    ``handle`` returns True when it took the message: it is then marked \\Seen and moved to ``move_to``
    (path segments joined with the server's separator, created if missing; None leaves it in place,
    seen). False leaves it as it was (``ignored``). Rejected flags it \\Flagged, leaves it where it is
    and lists it in ``failures``; the others go on. Any other exception (the database is away) stops
    the run and propagates: that message and the following ones stay in the mailbox and the next run,
    from the old watermark, tries them again. Delivery to ``handle`` is therefore at least once;
    ``handle`` must commit its work before returning and be idempotent.

    ``limit`` bounds how many messages one run reads (a beat task's run stays short); the rest wait
    for the next run, above the returned watermark.

    Raises imaplib.IMAP4.error on a refused login or a mailbox that does not exist, and OSError
    when the server cannot be reached.
    """
    imap = _connect(host, port, security, ssl_context, timeout)
    try:
        imap.login(user, password)
        # Servers announce MOVE and UIDPLUS only once logged in: ask again.
        capabilities = set(b" ".join(_ok(imap.capability(), "capability")).upper().split())
        _ok(imap.select(_quote(mailbox)), f"select {mailbox}")
        current = int(_untagged(imap, "UIDVALIDITY"))
        restarted = uidvalidity is not None and uidvalidity != current
        if restarted:
            log.warning("UIDVALIDITY of %s changed from %s to %s: reading the mailbox again",
                        mailbox, uidvalidity, current)
            since_uid = 0
        uids = _uids_after(imap, since_uid)[:limit]
        target = _ensure_mailbox(imap, move_to) if move_to and uids else None
        handled: list[str | None] = []
        failures: list[Failure] = []
        ignored = 0
        last_uid = since_uid
        for uid in uids:
            message = _fetch(imap, uid)
            message_id = _message_id(message)
            try:
                taken = handle(message, message_id)
            except Rejected as exc:
                log.warning("Message in %s UID %s (%s) left in place: %s", mailbox, uid, message_id, exc)
                _ok(imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Flagged)"), "flag")
                failures.append(Failure(uid=uid, message_id=message_id, error=str(exc)))
            else:
                if taken:
                    _file(imap, uid, target, capabilities)
                    handled.append(message_id)
                else:
                    ignored += 1
            last_uid = uid
        return FetchResult(uidvalidity=current, last_uid=last_uid, handled=tuple(handled),
                           failures=tuple(failures), ignored=ignored, restarted=restarted)
    finally:
        _close(imap)


def _connect(host: str, port: int, security: Security, context: ssl.SSLContext | None,
             timeout: float) -> imaplib.IMAP4:
    if security == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=context or ssl.create_default_context(), timeout=timeout)
    if security not in ("starttls", "none"):
        raise ValueError(f"security must be 'ssl', 'starttls' or 'none', not {security!r}")
    imap = imaplib.IMAP4(host, port, timeout=timeout)
    if security == "starttls":
        try:
            imap.starttls(ssl_context=context or ssl.create_default_context())
        except BaseException:
            with suppress(OSError):  # a failed handshake may have closed the socket already
                imap.shutdown()
            raise
    return imap


def _close(imap: imaplib.IMAP4) -> None:
    try:
        if imap.state == "SELECTED":
            imap.close()
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        imap.shutdown()


def _ok(response: tuple[str, list], what: str) -> list:
    status, data = response
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise imaplib.IMAP4.error(f"IMAP {what} failed: {detail}")
    return data


def _untagged(imap: imaplib.IMAP4, name: str) -> str:
    _, data = imap.response(name)
    if not data or data[0] is None:
        raise imaplib.IMAP4.error(f"the server sent no {name}")
    return data[0].decode()


def _uids_after(imap: imaplib.IMAP4, since_uid: int) -> list[int]:
    data = _ok(imap.uid("SEARCH", None, f"UID {since_uid + 1}:*"), "search")
    # "n:*" always matches the newest message, even when its UID is below n (RFC 3501 6.4.8).
    return sorted(uid for uid in map(int, b" ".join(d for d in data if d).split()) if uid > since_uid)


def _fetch(imap: imaplib.IMAP4, uid: int) -> Message:
    data = _ok(imap.uid("FETCH", str(uid), "(BODY.PEEK[])"), "fetch")
    raw = next((item[1] for item in data if isinstance(item, tuple)), None)
    if raw is None:
        raise imaplib.IMAP4.error(f"the server sent no body for UID {uid}")
    return message_from_bytes(raw, policy=policy.compat32)


def _message_id(message: Message) -> str | None:
    value = " ".join(str(message.get("Message-ID") or "").split())
    return value or None


def _quote(name: str) -> str:
    if not name.isascii():
        raise ValueError(f"mailbox names must be ASCII here (no modified UTF-7): {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ensure_mailbox(imap: imaplib.IMAP4, segments: tuple[str, ...]) -> str:
    """The processed-mail folder's full name with the server's separator, created (with parents) if missing."""
    data = _ok(imap.list('""', '""'), "list")
    match = re.search(rb'\([^)]*\) (?:"((?:[^"\\]|\\.)*)"|NIL)', data[0] or b"")
    separator = match.group(1).decode().replace("\\\\", "\\") if match and match.group(1) else "/"
    name = ""
    for segment in segments:
        name = f"{name}{separator}{segment}" if name else segment
        status, found = imap.list('""', _quote(name))
        if status == "OK" and any(found):
            continue
        status, data = imap.create(_quote(name))
        # Another run may have created it meanwhile: ALREADYEXISTS (RFC 5530) is success here.
        if status != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if isinstance(d, bytes)):
            _ok((status, data), f"create {name}")
    return name


def _file(imap: imaplib.IMAP4, uid: int, target: str | None, capabilities: set[bytes]) -> None:
    _ok(imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "mark seen")
    if target is None:
        return
    if b"MOVE" in capabilities:
        _ok(imap.uid("MOVE", str(uid), _quote(target)), "move")
        return
    _ok(imap.uid("COPY", str(uid), _quote(target)), "copy")
    _ok(imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "delete")
    # Without UIDPLUS, EXPUNGE would also remove messages others marked \Deleted: leave those alone.
    if b"UIDPLUS" in capabilities:
        _ok(imap.uid("EXPUNGE", str(uid)), "expunge")
