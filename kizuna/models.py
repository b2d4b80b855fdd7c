"""Core models: accounts and roles, API tokens, the audit log, the mail outbox and the mailbox readers' watermarks."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"
    DELEGATE = "delegate"  # bound to one partner city (network issue)
    LIAISON = "liaison"  # bound to one embassy (network issue)

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES


STAFF_ROLES = (Role.ADMIN, Role.EDITOR, Role.VIEWER)
EXTERNAL_ROLES = (Role.DELEGATE, Role.LIAISON)
# A staff role includes every staff role below it.
STAFF_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


def enum_column(cls: type[enum.Enum], length: int = 16):
    # Stored as the value string: readable in SQL and migrations need no native enum types.
    return db.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e],
                   validate_strings=True)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Changes with every password change: it voids set-password links and other sessions.
    security_stamp: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    # The binding targets of external roles (tables of the network module).
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    embassy_id: Mapped[int | None] = mapped_column(ForeignKey("embassy.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    invited_by: Mapped[User | None] = relationship(remote_side=[id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.security_stamp}"

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds one of `roles`, a higher staff role counting for a lower one."""
        if self.role in roles:
            return True
        rank = STAFF_RANK.get(self.role, 0)
        return any(rank and rank >= STAFF_RANK.get(r, 99) for r in roles)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # Only the SHA-256 of the token is kept; the prefix lets people recognise theirs in a list.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    # Kept as text too, so the log still says who it was after an account is gone.
    actor_label: Mapped[str] = mapped_column(String(254), default="system")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_label: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))

    actor: Mapped[User | None] = relationship()


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"


class OutboundMessage(db.Model):
    __table_args__ = (
        Index("ix_outbound_message_status_due", "status", "next_attempt_at"),
        Index("ix_outbound_message_ref", "ref_type", "ref_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    category: Mapped[str] = mapped_column(String(64))  # "account.invitation", "meetings.invitation", …
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(998))
    # The complete RFC 5322 message as built when queued: parts, attachments, headers.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # What the message is about (a meeting, a newsletter issue), for per-object delivery views.
    ref_type: Mapped[str | None] = mapped_column(String(64))
    ref_id: Mapped[int | None]


class MailboxWatermark(db.Model):
    """How far a reader of a mailbox got (kizuna.imap): the last UID handled under a UIDVALIDITY."""

    __tablename__ = "mailbox_watermark"

    mailbox: Mapped[str] = mapped_column(String(300), primary_key=True)  # user@host/INBOX (bounces:… for bounces)
    uidvalidity: Mapped[int]
    last_uid: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
