"""Answers sent from mail programs: matched to our meeting and a live invitation, and read from a real Dovecot on
loopback by the beat task meetings.read_replies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import vCalAddress
from sqlalchemy import select

from kizuna import config as kizuna_config
from kizuna.extensions import db
from kizuna.models import MailboxWatermark
from meetings import inbox, services
from meetings.models import Answer
from meetings.replies import PartStat, Reply, ReplyRejected
from tests.imap_server import PASSWORD, dovecot  # noqa: F401 - the fixture
from tests.meetings.test_replies import calendar_bytes, reply_mail
from worker.tasks import read_replies

TOKYO = "Asia/Tokyo"


@pytest.fixture
def meeting(db_session):
    meeting = services.create_meeting(
        actor=None, titles={"en": "Leaders' meeting"}, tier="leaders", format="in_person", timezone=TOKYO,
        starts_at=datetime(2027, 5, 10, 10), ends_at=datetime(2027, 5, 10, 17), venue="Tokyo Big Sight")
    return services.schedule_meeting(meeting_id=meeting.id, actor=None)


@pytest.fixture
def invitation(meeting):
    invitation = services.invite(meeting_id=meeting.id, email="Head@Seoul.example", name="Kim", actor=None)
    db.session.commit()
    return invitation


def reply(meeting, *, email="head@seoul.example", partstat=PartStat.ACCEPTED, sequence=None, **overrides) -> Reply:
    return Reply(**{"uid": meeting.uid, "sequence": meeting.sequence if sequence is None else sequence,
                    "recurrence_id": None, "attendee_email": email, "attendee_name": "Kim", "partstat": partstat,
                    "comment": None, "dtstamp": datetime.now(UTC), "sender": email.casefold(), **overrides})


# -- matching ------------------------------------------------------------------------------------------------


def test_an_accept_from_the_invited_address_is_recorded_as_from_mail(invitation, meeting):
    assert inbox.handle_reply(reply(meeting, email="HEAD@seoul.example", comment="See you there."), "<m1>") \
        is invitation
    assert (invitation.answer, invitation.answered_via, invitation.comment) == (Answer.ACCEPTED, "mail",
                                                                                 "See you there.")
    inbox.handle_reply(reply(meeting, partstat=PartStat.TENTATIVE), "<m2>")
    assert invitation.answer == Answer.TENTATIVE


@pytest.mark.parametrize(("changes", "reason"), [
    ({"uid": "someone-elses@calendar.example"}, "No meeting has the UID someone-elses@calendar.example"),
    ({"attendee_email": "stranger@example.org"}, "stranger@example.org is not invited to"),
    ({"partstat": PartStat.DELEGATED, "delegated_to": "deputy@seoul.example"}, "delegated"),
])
def test_a_reply_we_cannot_take_is_rejected_with_its_reason_and_changes_nothing(invitation, meeting, changes,
                                                                                 reason):
    with pytest.raises(ReplyRejected, match=reason):
        inbox.handle_reply(reply(meeting, **changes), "<m>")
    assert invitation.answer == Answer.NEEDS_ACTION and invitation.answered_at is None


@pytest.mark.parametrize("sender", ["mallory@example.org", None])
def test_a_reply_sent_by_someone_else_than_the_attendee_is_rejected_and_changes_nothing(invitation, meeting,
                                                                                        sender):
    with pytest.raises(ReplyRejected, match="not by them or an address of their contact record"):
        inbox.handle_reply(reply(meeting, sender=sender), "<forged>")
    assert invitation.answer == Answer.NEEDS_ACTION and invitation.answered_at is None


def test_a_reply_sent_from_another_address_of_the_attendees_contact_record_is_recorded(meeting):
    from partners.models import Contact, ContactEmail

    contact = Contact(given_name="Min-jun", family_name="Kim")
    db.session.add(contact)
    db.session.flush()
    db.session.add_all([ContactEmail(contact_id=contact.id, address="head@seoul.example", is_primary=True),
                        ContactEmail(contact_id=contact.id, address="office.of.kim@seoul.example")])
    invitation = services.invite(meeting_id=meeting.id, email="head@seoul.example", contact_id=contact.id,
                                 actor=None)
    assert inbox.handle_reply(reply(meeting, sender="office.of.kim@seoul.example"), "<secretary>") is invitation
    assert invitation.answer == Answer.ACCEPTED


def test_a_withdrawn_invitation_takes_no_answer(invitation, meeting):
    services.uninvite(invitation_id=invitation.id, actor=None)
    with pytest.raises(ReplyRejected, match="is not invited"):
        inbox.handle_reply(reply(meeting), "<m>")
    assert invitation.answer == Answer.NEEDS_ACTION


def test_a_reply_to_an_older_request_is_ignored(invitation, meeting):
    services.update_meeting(meeting_id=meeting.id, actor=None, titles=meeting.titles, tier="leaders",
                            format="in_person", timezone=TOKYO, starts_at=datetime(2027, 5, 11, 10),
                            ends_at=datetime(2027, 5, 11, 17), venue="Tokyo Big Sight")
    assert (meeting.sequence, invitation.sequence_sent) == (1, 1)
    assert inbox.handle_reply(reply(meeting, sequence=0), "<old>") is None
    assert invitation.answer == Answer.NEEDS_ACTION
    inbox.handle_reply(reply(meeting, sequence=1), "<new>")
    assert invitation.answer == Answer.ACCEPTED


def test_a_reply_written_before_the_answer_given_on_the_page_does_not_overturn_it(invitation, meeting):
    services.record_answer(invitation=invitation, answer="declined", via="link")
    assert inbox.handle_reply(reply(meeting, dtstamp=datetime.now(UTC) - timedelta(hours=1)), "<m>") is None
    assert invitation.answer == Answer.DECLINED


# -- the setting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["imap://office:secret@127.0.0.1:1143/INBOX", "imaps://office@mail.example.org",
                                 "imap+starttls://o%40x:p%2Fw@mail.example.org:143/Replies"])
def test_replies_imap_url_is_checked_like_smtp_url(tmp_path, url):
    cfg = kizuna_config.load({"SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path), "REPLIES_IMAP_URL": url},
                             environ={})
    assert cfg["REPLIES_IMAP_URL"] == url


def test_the_mailbox_comes_apart_from_the_url():
    box = inbox.mailbox_from_url("imap+starttls://o%40x:p%2Fw@mail.example.org/Replies")
    assert (box.host, box.port, box.user, box.password, box.mailbox, box.security) == (
        "mail.example.org", 143, "o@x", "p/w", "Replies", "starttls")
    assert inbox.mailbox_from_url("imaps://u:p@h.example").mailbox == "INBOX"


@pytest.mark.parametrize(("url", "problem"), [
    ("pop3://u:p@mail.example.org", "is not a valid URL"), ("imaps://u:p@mail.example.org:port", "invalid port"),
    ("imaps://mail.example.org/INBOX", "names no user"),
])
def test_a_wrong_replies_imap_url_stops_the_app_with_the_setting_named(tmp_path, url, problem):
    with pytest.raises(kizuna_config.ConfigError, match=problem) as refused:
        kizuna_config.load({"SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path), "REPLIES_IMAP_URL": url},
                           environ={})
    assert refused.value.setting == "REPLIES_IMAP_URL"


def test_without_the_setting_the_task_does_nothing_and_says_so(app, db_session, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "REPLIES_IMAP_URL", None)
    with caplog.at_level(logging.INFO, logger="meetings.inbox"):
        assert read_replies() is None
    assert "REPLIES_IMAP_URL is not set" in caplog.text
    assert db.session.scalars(select(MailboxWatermark)).all() == []


# -- end to end: a real Dovecot ------------------------------------------------------------------------------


def mail_reply(meeting, email: str, partstat: str, message_id: str) -> bytes:
    attendee = vCalAddress(f"MAILTO:{email}")
    attendee.params.update({"CN": "Someone", "PARTSTAT": partstat})
    message = reply_mail(calendar_bytes(uid=meeting.uid, sequence=meeting.sequence, attendee=attendee,
                                        dtstamp=datetime.now(UTC), comment=None))
    message.replace_header("Message-ID", message_id)
    message.replace_header("From", email)
    return message.as_bytes()


def test_the_beat_task_reads_a_reply_from_the_mailbox_and_records_the_answer(app, dovecot, invitation, meeting,  # noqa: F811
                                                                             monkeypatch):
    user = dovecot.new_user()
    monkeypatch.setitem(app.config, "REPLIES_IMAP_URL", f"imap://{user}:{PASSWORD}@127.0.0.1:{dovecot.port}/INBOX")
    dovecot.append(user, mail_reply(meeting, "head@seoul.example", "ACCEPTED", "<accept@seoul.example>"),
                   mail_reply(meeting, "stranger@example.org", "DECLINED", "<stranger@example.org>"))

    result = read_replies()

    assert result == {"handled": 1, "failures": 1, "ignored": 0, "last_uid": 2}
    db.session.refresh(invitation)
    assert (invitation.answer, invitation.answered_via) == (Answer.ACCEPTED, "mail")
    mark = db.session.get(MailboxWatermark, f"{user}@127.0.0.1/INBOX")
    assert mark.last_uid == 2 and mark.uidvalidity > 0
    # The stranger's reply changed nothing: it waits in the inbox, flagged, for a person to look at.
    inbox_state = dovecot.state(user)
    assert list(inbox_state) == ["<stranger@example.org>"] and "\\Flagged" in inbox_state["<stranger@example.org>"]
    filed = dovecot.state(user, mailbox=f"Kizuna{dovecot.separator(user)}Processed")
    assert list(filed) == ["<accept@seoul.example>"]

    # A second run starts at the watermark: nothing is read twice.
    assert read_replies() == {"handled": 0, "failures": 0, "ignored": 0, "last_uid": 2}
    db.session.refresh(invitation)
    assert invitation.answer == Answer.ACCEPTED
