"""Bounces: delivery status notifications of Postfix, Exim, qmail, Gmail and Microsoft 365 read, matched to what the
outbox sent, and recorded; a permanent failure stops mail to the address, staff clear it; a real Dovecot mailbox is
read by the beat task partners.read_bounces once per message."""

from __future__ import annotations

import logging
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kizuna import config as kizuna_config
from kizuna import imap, outbox
from kizuna.extensions import db
from kizuna.mail import build_message
from kizuna.models import AuditEvent, MailboxWatermark
from partners import bounces, sending
from partners.models import Bounce, ContactEmail, Delivery, SubscriptionStatus
from partners.services import PartnersError
from tests.imap_server import PASSWORD, dovecot  # noqa: F401 - the fixture
from tests.partners.test_newsletters import (  # noqa: F401 - fixtures
    approved_issue,
    approver,
    make_list,
    messages_of,
    send_now,
    subscriber,
)
from worker.tasks import read_bounces

DATA = Path(__file__).parent / "data" / "bounces"
POSTFIX_ID = "<179556564412.2211.4471108823991@kizuna.example.test>"
UNKNOWN_ID = "<forged-4f1c2e@spammer.example>"


def load(name: str, **replace: str):
    raw = (DATA / name).read_bytes()
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    return message_from_bytes(raw, policy=policy.compat32)  # as kizuna.imap hands messages over


# -- reading the reports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "message_id", "email", "action", "status", "permanent", "said"), [
    ("postfix.eml", POSTFIX_ID, "minho.lee@embassy-kr.example", "failed", "5.1.1", True,
     "Recipient address rejected: User unknown in virtual mailbox table"),
    ("exim.eml", "<179556602911.2211.5521340987001@kizuna.example.test>", "protocole@ambafrance.example", "failed",
     "5.1.1", True, "550 5.1.1 <protocole@ambafrance.example>: Recipient address rejected: User unknown"),
    ("qmail.eml", "<179556631012.2211.6610293847712@kizuna.example.test>", "press@consulate-ng.example", "failed",
     "5.1.1", True, "Sorry, no mailbox here by that name. (#5.1.1)"),
    ("gmail.eml", "<179556669801.2211.7720019283345@kizuna.example.test>", "ana.embaixada.tokyo@gmail.com",
     "failed", "5.1.1", True, "The email account that you tried to reach does not exist."),
    ("exchange.eml", "<179556721501.2211.8830192837465@kizuna.example.test>", "attache@embassy-de.example",
     "failed", "5.1.10", True, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient attache@embassy-de.example"),
    ("delayed.eml", "<179556564412.2211.4471108823992@kizuna.example.test>", "consulado@embassy-br.example",
     "delayed", "4.4.1", False, "Connection timed out"),
    ("unknown_message.eml", UNKNOWN_ID, "minho.lee@embassy-kr.example", "failed", "5.7.1", True,
     "Message rejected as spam"),
])
def test_each_shape_of_report_gives_the_message_the_recipient_and_the_servers_answer(
        name, message_id, email, action, status, permanent, said):
    report = bounces.parse_bounce(load(name))
    assert report.message_id == message_id
    (failure,) = report.failures
    assert (failure.email, failure.action, failure.status, failure.permanent) == (email, action, status, permanent)
    assert said in failure.diagnostic


def test_an_out_of_office_reply_is_not_a_bounce_though_it_answers_our_message():
    assert bounces.parse_bounce(load("out_of_office.eml")) is None


def test_a_success_notice_is_not_a_bounce():
    message = load("postfix.eml", **{"Action: failed": "Action: delivered", "Status: 5.1.1": "Status: 2.0.0"})
    assert bounces.parse_bounce(message) is None


def test_a_failure_after_only_temporary_answers_is_not_permanent():
    report = bounces.parse_bounce(load("postfix.eml", **{"Status: 5.1.1": "Status: 4.4.7",
                                                         "550 5.1.1": "451 4.4.7"}))
    assert (report.failures[0].action, report.failures[0].status, report.failures[0].permanent) == (
        "failed", "4.4.7", False)


def test_a_report_that_names_no_recipient_is_an_error_saying_so():
    with pytest.raises(bounces.BounceError, match="names no recipient"):
        bounces.parse_bounce(load("malformed.eml"))


# -- recording them --------------------------------------------------------------------------------------------


@pytest.fixture
def sent_issue(db_session, staff, make_list, subscriber, approved_issue):  # noqa: F811 - fixtures
    """An issue sent to two readers through the outbox; returns (issue, {address: outbox row})."""
    mailing_list = make_list()
    subscriber(mailing_list, "en", email="Minho.Lee@embassy-kr.example")
    subscriber(mailing_list, "en", email="consulado@embassy-br.example")
    issue = approved_issue(mailing_list)
    send_now(issue, staff)
    return issue, {row.recipient: row for row in messages_of(issue)}


def contact_email(address: str) -> ContactEmail:
    return db.session.scalar(select(ContactEmail).where(ContactEmail.address == address))


def bounce_of(message) -> Bounce:
    assert bounces.handle_message(message) is True
    return db.session.scalars(select(Bounce).order_by(Bounce.id.desc())).first()


def test_a_permanent_failure_of_a_newsletter_links_its_delivery_and_stops_mail_to_the_address(sent_issue):
    issue, rows = sent_issue
    row = rows["minho.lee@embassy-kr.example"]

    bounce = bounce_of(load("postfix.eml", **{POSTFIX_ID: row.message_id}))

    delivery = db.session.scalar(select(Delivery).where(Delivery.outbound_message_id == row.id))
    assert (bounce.email, bounce.message_id, bounce.outbound_message_id, bounce.delivery_id) == (
        "minho.lee@embassy-kr.example", row.message_id, row.id, delivery.id)
    assert (bounce.action, bounce.status, bounce.permanent) == ("failed", "5.1.1", True)
    assert "User unknown in virtual mailbox table" in bounce.diagnostic
    address = contact_email("minho.lee@embassy-kr.example")
    assert address.bouncing_at is not None
    assert delivery.subscription.status == SubscriptionStatus.BOUNCING
    assert sending.subscriber_count(issue.list_id) == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact_email.bouncing"))
    assert (event.object_id, event.actor_label, event.after["subscriptions_stopped"]) == (
        str(address.id), "system", [delivery.subscription_id])


def test_a_reader_with_another_address_keeps_the_list_and_gets_it_there(db_session, staff, make_list,  # noqa: F811
                                                                        subscriber, approved_issue):  # noqa: F811
    mailing_list = make_list()
    subscription = subscriber(mailing_list, "en", email="minho.lee@embassy-kr.example")
    db.session.add(ContactEmail(contact_id=subscription.contact_id, address="minho.lee@home.example"))
    first = approved_issue(mailing_list)
    send_now(first, staff)
    (row,) = messages_of(first)
    assert row.recipient == "minho.lee@embassy-kr.example"

    bounce_of(load("postfix.eml", **{POSTFIX_ID: row.message_id}))

    assert subscription.status == SubscriptionStatus.ACTIVE
    second = approved_issue(mailing_list, {"en": ("Next week", "More news.")})
    send_now(second, staff)
    assert [m.recipient for m in messages_of(second)] == ["minho.lee@home.example"]


def test_a_readers_mail_to_the_list_unsubscribe_address_unsubscribes_them_and_a_forged_one_is_left(sent_issue):
    """The mailto of List-Unsubscribe (RFC 2369) lands in the bounces mailbox: its subject carries the token."""
    import re as regex
    from email.message import EmailMessage

    issue, rows = sent_issue
    sent = message_from_bytes(rows["minho.lee@embassy-kr.example"].raw, policy=policy.default)
    subject = regex.search(r"subject=unsubscribe%20([^>\s]+)>", " ".join(str(sent["List-Unsubscribe"]).split()))
    request = EmailMessage()
    request["From"], request["To"] = "minho.lee@embassy-kr.example", "noreply@kizuna.test"
    request["Subject"] = f"unsubscribe {subject.group(1)}"
    forged = EmailMessage()
    forged["From"], forged["Subject"] = "someone@example.org", "unsubscribe WzEsMV0.forged"

    assert bounces.handle_message(forged) is False
    assert bounces.handle_message(request) is True
    delivery = db.session.scalar(select(Delivery).where(Delivery.outbound_message_id
                                                        == rows["minho.lee@embassy-kr.example"].id))
    assert delivery.subscription.status == SubscriptionStatus.UNSUBSCRIBED
    assert delivery.subscription.unsubscribed_issue_id == issue.id
    assert sending.subscriber_count(issue.list_id) == 1


def test_a_delay_is_recorded_and_changes_nothing(sent_issue):
    _, rows = sent_issue
    row = rows["consulado@embassy-br.example"]
    bounce = bounce_of(load("delayed.eml", **{"<179556564412.2211.4471108823992@kizuna.example.test>":
                                              row.message_id}))
    assert (bounce.action, bounce.status, bounce.permanent, bounce.outbound_message_id) == (
        "delayed", "4.4.1", False, row.id)
    assert contact_email("consulado@embassy-br.example").bouncing_at is None


def test_a_bounce_for_a_message_we_never_sent_is_recorded_without_a_link_and_changes_nothing(sent_issue, caplog):
    issue, _ = sent_issue
    with caplog.at_level(logging.WARNING, logger="partners.bounces"):
        bounce = bounce_of(load("unknown_message.eml"))
    assert (bounce.email, bounce.message_id, bounce.outbound_message_id, bounce.delivery_id) == (
        "minho.lee@embassy-kr.example", UNKNOWN_ID, None, None)
    assert contact_email("minho.lee@embassy-kr.example").bouncing_at is None
    assert sending.subscriber_count(issue.list_id) == 2
    assert f"Bounce for a message the outbox did not send ({UNKNOWN_ID}" in caplog.text


def test_the_same_report_read_twice_is_recorded_once(sent_issue):
    _, rows = sent_issue
    message = load("postfix.eml", **{POSTFIX_ID: rows["minho.lee@embassy-kr.example"].message_id})
    assert bounces.handle_message(message) and bounces.handle_message(message)
    assert db.session.scalar(select(func.count()).select_from(Bounce)) == 1


@pytest.mark.parametrize(("name", "message_id", "address"), [
    ("exim.eml", "<179556602911.2211.5521340987001@kizuna.example.test>", "protocole@ambafrance.example"),
    ("qmail.eml", "<179556631012.2211.6610293847712@kizuna.example.test>", "press@consulate-ng.example"),
    ("gmail.eml", "<179556669801.2211.7720019283345@kizuna.example.test>", "ana.embaixada.tokyo@gmail.com"),
    ("exchange.eml", "<179556721501.2211.8830192837465@kizuna.example.test>", "attache@embassy-de.example"),
])
def test_every_kind_of_server_marks_the_address_it_refused(db_session, make_contact, name, message_id, address):
    make_contact(family_name="Reader", emails=[address])
    row = outbox.queue(build_message(sender="Kizuna <noreply@kizuna.example.test>", to=address, subject="Update",
                                     text="News.", message_id=message_id), category="test")
    bounce = bounce_of(load(name))
    assert (bounce.outbound_message_id, bounce.email, bounce.permanent) == (row.id, address, True)
    assert contact_email(address).bouncing_at is not None


# -- staff clear the mark --------------------------------------------------------------------------------------


def test_staff_clear_the_mark_and_the_reader_gets_the_list_again(sent_issue, staff):
    issue, rows = sent_issue
    bounce_of(load("postfix.eml", **{POSTFIX_ID: rows["minho.lee@embassy-kr.example"].message_id}))
    address = contact_email("minho.lee@embassy-kr.example")

    bounces.clear_bouncing(email_id=address.id, actor=staff)

    assert address.bouncing_at is None
    assert sending.subscriber_count(issue.list_id) == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact_email.clear_bouncing"))
    assert (event.actor_label, event.object_label, event.after["bouncing_at"]) == (
        staff.email, "minho.lee@embassy-kr.example", None)
    assert len(event.after["subscriptions_resumed"]) == 1


def test_clearing_an_address_that_is_not_bouncing_is_refused_and_changes_nothing(sent_issue, staff):
    address = contact_email("consulado@embassy-br.example")
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for email_id, reason in ((address.id, "not marked as bouncing"), (10**9, "does not exist")):
        with pytest.raises(PartnersError, match=reason) as refused:
            bounces.clear_bouncing(email_id=email_id, actor=staff)
        assert refused.value.field == "email_id"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


# -- the setting -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "problem"), [
    ("pop3://u:p@mail.example.org", "is not a valid URL"), ("imaps://mail.example.org/INBOX", "names no user"),
])
def test_a_wrong_bounces_imap_url_stops_the_app_with_the_setting_named(tmp_path, url, problem):
    with pytest.raises(kizuna_config.ConfigError, match=problem) as refused:
        kizuna_config.load({"SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path), "BOUNCES_IMAP_URL": url},
                           environ={})
    assert refused.value.setting == "BOUNCES_IMAP_URL"


def test_without_the_setting_the_task_does_nothing_and_says_so(app, db_session, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "BOUNCES_IMAP_URL", None)
    with caplog.at_level(logging.INFO, logger="partners.bounces"):
        assert read_bounces() is None
    assert "BOUNCES_IMAP_URL is not set" in caplog.text


# -- end to end: a real Dovecot ----------------------------------------------------------------------------------


def test_the_beat_task_reads_the_bounces_mailbox_once_and_leaves_the_rest_for_people(app, dovecot, sent_issue,  # noqa: F811
                                                                                     monkeypatch):
    _, rows = sent_issue
    user = dovecot.new_user()
    monkeypatch.setitem(app.config, "BOUNCES_IMAP_URL", dovecot.url(user))
    postfix = (DATA / "postfix.eml").read_bytes().replace(POSTFIX_ID.encode(),
                                                          rows["minho.lee@embassy-kr.example"].message_id.encode())
    dovecot.append(user, postfix, DATA / "out_of_office.eml", DATA / "malformed.eml", DATA / "unknown_message.eml")

    assert read_bounces() == {"handled": 2, "failures": 1, "ignored": 1, "last_uid": 4}

    assert contact_email("minho.lee@embassy-kr.example").bouncing_at is not None
    assert db.session.scalar(select(func.count()).select_from(Bounce)) == 2
    assert dovecot.state(user) == {
        "<20261125001407.7C1D2E0145@mx1.kizuna.example.test>": {"\\Seen"},  # recorded
        "<FR2P281MB0123A1B2C3D4E5F60718293A4B5C6D@FR2P281MB0123.DEUP281.PROD.OUTLOOK.COM>": set(),  # for people
        "<20261125010244.B9C8D7E6F5@relay.example.net>": {"\\Flagged"},  # unreadable: for people to look at
        "<20261125005002.A41B2C0199@mx1.kizuna.example.test>": {"\\Seen"},  # recorded, unlinked
    }
    mark = db.session.get(MailboxWatermark, f"bounces:{user}@127.0.0.1/INBOX")
    assert mark.last_uid == 4

    assert read_bounces() == {"handled": 0, "failures": 0, "ignored": 0, "last_uid": 4}
    assert db.session.scalar(select(func.count()).select_from(Bounce)) == 2


def test_a_run_that_dies_midway_loses_no_bounce_and_records_none_twice(app, dovecot, sent_issue,  # noqa: F811
                                                                      monkeypatch):
    _, rows = sent_issue
    user = dovecot.new_user()
    monkeypatch.setitem(app.config, "BOUNCES_IMAP_URL", dovecot.url(user))
    postfix = (DATA / "postfix.eml").read_bytes().replace(POSTFIX_ID.encode(),
                                                          rows["minho.lee@embassy-kr.example"].message_id.encode())
    delayed = (DATA / "delayed.eml").read_bytes().replace(
        b"<179556564412.2211.4471108823992@kizuna.example.test>",
        rows["consulado@embassy-br.example"].message_id.encode())
    dovecot.append(user, postfix, delayed)

    def dies_at_the_second(message, message_id):  # the worker is lost after the first bounce's commit
        if message_id == "<20261126001409.9E2F3A0177@mx1.kizuna.example.test>":
            raise ConnectionError("worker lost")
        return bounces.handle_message(message, message_id)

    with pytest.raises(ConnectionError):
        imap.read_new("127.0.0.1", dovecot.port, user, PASSWORD, security="none", handle=dies_at_the_second)
    assert db.session.scalar(select(func.count()).select_from(Bounce)) == 1

    assert read_bounces() == {"handled": 2, "failures": 0, "ignored": 0, "last_uid": 2}  # no watermark was kept
    assert sorted(db.session.scalars(select(Bounce.action))) == ["delayed", "failed"]
    assert list(dovecot.state(user).values()) == [{"\\Seen"}, {"\\Seen"}]
