"""Answers from mail programs: each iTIP REPLY read from the office's mailbox (replies.fetch_replies) is matched
to our meeting by UID and to a live invitation by the attendee's address, and recorded as that person's answer
when the email's sender (From) is that person: the invited address or another address of their contact record
(a secretary's mailbox recorded there). Anyone can write an ATTENDEE line; a reply sent by someone else is
rejected with its reason and records nothing.

REPLIES_IMAP_URL names the mailbox: imap:// (plain, for a server on the same host), imap+starttls:// or
imaps://, with user:password and the mailbox as the path (INBOX when none). The reader keeps its place in
MailboxWatermark, so every message is read once (and again only after the server renumbers the mailbox).
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.imap import keep_watermark, mailbox_from_url, watermark
from kizuna.mail import normalize_address

from . import services
from .models import Answer, Invitation, MeetingStatus
from .replies import PartStat, Reply, ReplyRejected, fetch_replies

log = logging.getLogger(__name__)

ANSWERS = {PartStat.ACCEPTED: Answer.ACCEPTED, PartStat.DECLINED: Answer.DECLINED,
           PartStat.TENTATIVE: Answer.TENTATIVE}
BATCH = 200  # messages one run reads at most; the rest wait for the next run


def _address(value: str) -> str:
    try:
        return normalize_address(value or "")
    except ValueError:
        return ""


def _addresses_of(invitation: Invitation) -> set[str]:
    """The invited address and every address of the invitee's contact record (the one the invitation names, or
    the one the invited address belongs to), erased contacts left out."""
    from partners.models import Contact, ContactEmail

    contacts = select(ContactEmail.contact_id).where(ContactEmail.address == invitation.email)
    if invitation.contact_id is not None:
        contacts = contacts.union(select(Contact.id).where(Contact.id == invitation.contact_id))
    addresses = db.session.scalars(select(ContactEmail.address).join(Contact, Contact.id == ContactEmail.contact_id)
                                   .where(ContactEmail.contact_id.in_(contacts), Contact.erased_at.is_(None)))
    return {invitation.email.casefold(), *(a.casefold() for a in addresses)}


def handle_reply(reply: Reply, message_id: str | None) -> Invitation | None:
    """Record one attendee's answer; returns the invitation, or None when the reply is older than what we sent
    (a REPLY to a REQUEST since replaced). Raises ReplyRejected, changing nothing, for an unknown meeting or an
    address that is not (or no longer) invited."""
    meeting = services.meeting_of_calendar_uid(reply.uid)
    if meeting is None:
        raise ReplyRejected(f"No meeting has the UID {reply.uid} (message {message_id}).")
    if meeting.status == MeetingStatus.CANCELLED:
        raise ReplyRejected(f"The meeting {reply.uid} is cancelled: the answer of {reply.attendee_email} is not "
                            f"recorded (message {message_id}).")
    address = _address(reply.attendee_email)
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.meeting_id == meeting.id, Invitation.email == address)) if address else None
    if invitation is None or invitation.removed_at is not None:
        raise ReplyRejected(f"{reply.attendee_email} is not invited to {reply.uid} (message {message_id}).")
    sender = _address(reply.sender or "")
    if not sender or sender not in _addresses_of(invitation):
        raise ReplyRejected(f"The answer of {address} to {reply.uid} was sent by {reply.sender or 'nobody named'}, "
                            f"not by them or an address of their contact record: not recorded (message {message_id}).")
    sent = invitation.sequence_sent if invitation.sequence_sent is not None else meeting.sequence
    if reply.sequence < sent:
        log.info("Reply of %s to %s at SEQUENCE %s is older than the REQUEST sent (%s): ignored (%s)",
                 address, reply.uid, reply.sequence, sent, message_id)
        return None
    answer = ANSWERS.get(reply.partstat)
    if answer is None:
        raise ReplyRejected(f"{reply.attendee_email} delegated {reply.uid} to {reply.delegated_to or 'someone'}: "
                            f"invite that person from the meeting's page (message {message_id}).")
    if invitation.answered_at is not None and invitation.answered_via != "mail" \
            and invitation.answered_at > reply.dtstamp:
        log.info("Reply of %s to %s written before their answer on the page: ignored (%s)",
                 address, reply.uid, message_id)
        return None
    services.record_answer(invitation=invitation, answer=answer, via="mail", comment=reply.comment or "")
    return invitation


def _handle_and_commit(reply: Reply, message_id: str | None) -> None:
    """Each answer is committed before fetch_replies files its message away, so none is lost to a crash."""
    try:
        handle_reply(reply, message_id)
    except ReplyRejected:
        db.session.rollback()
        raise
    db.session.commit()


def read_replies(*, limit: int = BATCH) -> dict | None:
    """One run of the beat task: read the new replies and move the watermark. None when REPLIES_IMAP_URL is
    not set (said in the log)."""
    url = current_app.config.get("REPLIES_IMAP_URL")
    if not url:
        log.info("REPLIES_IMAP_URL is not set: answers sent from mail programs are not read.")
        return None
    box = mailbox_from_url(url)
    result = fetch_replies(box.host, box.port, box.user, box.password, handle=_handle_and_commit,
                           mailbox=box.mailbox, security=box.security, limit=limit, **watermark(box.key))
    keep_watermark(box.key, result)
    for failure in result.failures:
        log.warning("Reply left in %s (UID %s, %s): %s", box.mailbox, failure.uid, failure.message_id, failure.error)
    return {"handled": len(result.handled), "failures": len(result.failures), "ignored": result.ignored,
            "last_uid": result.last_uid}
