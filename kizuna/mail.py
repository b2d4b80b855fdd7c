"""Build RFC 5322 messages with email.message: text and HTML alternatives, calendar parts, attachments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from email_validator import validate_email


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"
    params: dict | None = None


@dataclass(frozen=True)
class Alternative:
    """An extra part of multipart/alternative, such as text/calendar; method=REQUEST."""

    content: str
    subtype: str
    params: dict | None = None


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None = None,
                  alternatives: tuple[Alternative, ...] = (), attachments: tuple[Attachment, ...] = (),
                  headers: dict[str, str] | None = None, message_id: str | None = None) -> EmailMessage:
    """Return a complete message: multipart/mixed when there are attachments, else the alternatives."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=domain_of(sender))
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for alt in alternatives:
        msg.add_alternative(alt.content, subtype=alt.subtype, params=alt.params or {})
    for att in attachments:
        msg.add_attachment(att.content, maintype=att.maintype, subtype=att.subtype, filename=att.filename,
                           params=att.params or {})
    return msg


def normalize_address(address: str) -> str:
    """Check an email address's syntax (no DNS lookups) and return its lower-cased form.

    Raises email_validator.EmailNotValidError with a readable reason. Reserved test domains
    (example.test) are accepted: demo data and tests use them.
    """
    info = validate_email(address.strip(), check_deliverability=False, test_environment=True)
    return info.normalized.lower()
