"""Newsletters: lists and consent, issues in several languages with two-person approval, sending through the
outbox once per reader, and the RFC 8058 unsubscribe links."""

from __future__ import annotations

import os
import re
from uuid import uuid4

import pytest
import redis
from sqlalchemy import func, select

from kizuna import create_app, outbox
from kizuna.extensions import db
from kizuna.models import AuditEvent, MessageStatus, OutboundMessage, Role
from partners import newsletters, sending
from partners.models import (
    ConsentMethod,
    Delivery,
    Issue,
    IssueStatus,
    MailingList,
    Subscription,
    SubscriptionStatus,
)
from partners.services import PartnersError
from tests.conftest import REDIS_BASE, app_config, committed_session, csrf_token
from tests.worker_sink import DeliverySink, forget_queue, wait_until

EVIL = """# Hello

<script>alert("x")</script>
<img src="pic.png" onerror="alert(1)">
<a href="javascript:alert(2)" onclick="alert(3)">click</a>
[also bad](javascript:alert(4)) and [good](https://www.metro.tokyo.lg.jp/)
"""


@pytest.fixture
def approver(make_user):
    return make_user(Role.EDITOR)


@pytest.fixture
def make_list(staff):
    def make(**overrides):
        fields = {"names": {"en": "Diplomatic corps weekly update", "ja": "外交団週報"}, "default_language": "en",
                  **overrides}
        return newsletters.create_list(actor=staff, **fields)

    return make


@pytest.fixture
def subscriber(make_contact, staff):
    """subscriber(mailing_list, "ja", email=…) → an active subscription of a new contact preferring that language."""
    counter = iter(range(1, 10_000))

    def make(mailing_list, language: str | None = "en", *, email: str | None = None):
        n = next(counter)
        contact = make_contact(family_name=f"Reader{n}", preferred_language=language,
                               emails=[email or f"reader{n}@embassy.test"])
        return newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)

    return make


@pytest.fixture
def approved_issue(staff, approver):
    def make(mailing_list, variants: dict[str, tuple[str, str]] | None = None, **kwargs) -> Issue:
        issue = newsletters.create_issue(list_id=mailing_list.id, actor=staff, **kwargs)
        for language, (subject, body) in (variants or {"en": ("Weekly update", "News **this** week.")}).items():
            newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=staff)
        newsletters.submit_issue(issue_id=issue.id, actor=staff)
        newsletters.approve_issue(issue_id=issue.id, actor=approver)
        return issue

    return make


def send_now(issue: Issue, actor) -> int:
    """What the worker's partners.send_issue and partners.send_issue_batch tasks do, in this transaction."""
    sending.start_sending(issue_id=issue.id, actor=actor)
    return run_pipeline(issue)


def run_pipeline(issue: Issue) -> int:
    sending.plan_deliveries(issue.id)
    ids = db.session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id).order_by(Delivery.id)).all()
    queued = sending.queue_deliveries(issue_id=issue.id, first_id=ids[0], last_id=ids[-1]) if ids else 0
    sending.finish_if_done(issue.id)
    db.session.expire_all()
    return queued


def messages_of(issue: Issue) -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.ref_type == "newsletter_issue",
                                                                 OutboundMessage.ref_id == issue.id)
                                   .order_by(OutboundMessage.id)))


def parts(row: OutboundMessage) -> tuple:
    msg = outbox.parse(row.raw)
    return msg, msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


# -- Markdown ---------------------------------------------------------------------------------------


def test_markdown_loses_scripts_event_handlers_and_javascript_links():
    html, text = newsletters.render_markdown(EVIL)
    assert "<h1>Hello</h1>" in html
    lowered = html.lower()
    for bad in ("<script", "alert(\"x\")", "onerror", "onclick", "javascript:"):
        assert bad not in lowered
    assert 'href="https://www.metro.tokyo.lg.jp/"' in html
    assert "<script" not in text and "onerror" not in text
    assert "# Hello" in text and "[good](https://www.metro.tokyo.lg.jp/)" in text


# -- lists and consent ------------------------------------------------------------------------------


def test_a_list_needs_its_name_in_its_default_language(db_session, staff):
    before = db_session.scalar(select(func.count()).select_from(MailingList))
    with pytest.raises(PartnersError) as caught:
        newsletters.create_list(actor=staff, names={"ja": "外交団週報"}, default_language="en")
    assert caught.value.field == "names-en"
    with pytest.raises(PartnersError) as caught:
        newsletters.create_list(actor=staff, names={"xx": "Nope"}, default_language="xx")
    assert caught.value.field == "default_language"
    assert db_session.scalar(select(func.count()).select_from(MailingList)) == before


def test_updating_a_list_is_audited_and_a_bad_value_changes_nothing(db_session, make_list, staff):
    mailing_list = make_list()
    fields = {"names": {"en": "Sister cities news", "ja": "姉妹都市ニュース"}, "default_language": "ja",
              "public_subscribe": True, "double_opt_in": True, "archive_visibility": "public"}
    newsletters.update_list(list_id=mailing_list.id, actor=staff, **fields)
    assert mailing_list.name("ja") == "姉妹都市ニュース" and mailing_list.name("ko") == "姉妹都市ニュース"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "mailing_list.update",
                                                       AuditEvent.object_id == str(mailing_list.id)))
    assert event.after["default_language"] == "ja" and event.before["default_language"] == "en"
    with pytest.raises(PartnersError) as caught:
        newsletters.update_list(list_id=mailing_list.id, actor=staff, **{**fields, "archive_visibility": "everyone"})
    assert caught.value.field == "archive_visibility"
    assert mailing_list.archive_visibility.value == "public" and mailing_list.default_language == "ja"


def test_staff_add_a_subscriber_at_once_with_the_consent_recorded(db_session, make_list, make_contact, staff):
    mailing_list = make_list()
    contact = make_contact(emails=["consul@embassy.test"])
    subscription = newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.consent_method == ConsentMethod.STAFF and subscription.consent_at is not None
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "subscription.create",
                                                      AuditEvent.object_id == str(subscription.id))) is not None
    no_email = make_contact(family_name="Silent")
    with pytest.raises(PartnersError, match="no email address") as caught:
        newsletters.subscribe(list_id=mailing_list.id, contact_id=no_email.id, actor=staff)
    assert caught.value.field == "contact_id"


def test_the_public_form_is_refused_for_a_list_that_does_not_offer_it(db_session, make_list):
    mailing_list = make_list(public_subscribe=False)
    with pytest.raises(PartnersError, match="cannot be subscribed to from the web"):
        newsletters.request_subscription(list_id=mailing_list.id, email="someone@city.test", given_name="Someone")
    assert db_session.scalar(select(func.count()).select_from(Subscription)
                             .where(Subscription.list_id == mailing_list.id)) == 0


def test_double_opt_in_waits_for_the_emailed_link_which_a_get_does_not_follow(db_session, client, make_list):
    mailing_list = make_list(public_subscribe=True, double_opt_in=True)
    subscription = newsletters.request_subscription(list_id=mailing_list.id, email="New.Reader@City.test",
                                                    given_name="Reader", language="ja", ip="192.0.2.7")
    assert subscription.status == SubscriptionStatus.PENDING
    assert subscription.consent_method == ConsentMethod.FORM and subscription.consent_ip == "192.0.2.7"
    mail = db_session.scalar(select(OutboundMessage).where(OutboundMessage.category == "partners.subscription_confirm",
                                                           OutboundMessage.ref_id == subscription.id))
    assert mail is not None and mail.recipient == "new.reader@city.test"
    _, text, _ = parts(mail)
    path = re.search(r"http://kizuna\.test(/subscribe/confirm/\S+)", text).group(1)

    page = client.get(path)
    assert page.status_code == 200 and "外交団週報" in page.get_data(as_text=True)
    db_session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.PENDING  # a link scanner's GET confirms nothing

    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 200
    db_session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.confirmed_at is not None

    assert client.get(path[:-3] + "xyz").status_code == 404


def test_a_confirmation_link_cannot_unsubscribe_and_an_unsubscribe_link_cannot_confirm(db_session, make_list):
    mailing_list = make_list(public_subscribe=True)
    subscription = newsletters.request_subscription(list_id=mailing_list.id, email="x@city.test", given_name="X")
    with pytest.raises(PartnersError):
        newsletters.unsubscribe(token=newsletters.confirmation_token(subscription))
    with pytest.raises(PartnersError):
        newsletters.confirm_subscription(token=newsletters.unsubscribe_token(subscription))
    assert subscription.status == SubscriptionStatus.PENDING


# -- approval ---------------------------------------------------------------------------------------


def test_the_author_cannot_approve_their_own_issue(db_session, make_list, staff, approver):
    issue = newsletters.create_issue(list_id=make_list().id, actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="en", subject="Update", body="Text", actor=staff)
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    with pytest.raises(PartnersError, match="its author cannot"):
        newsletters.approve_issue(issue_id=issue.id, actor=staff)
    assert issue.status == IssueStatus.AWAITING_APPROVAL and issue.approver_id is None
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    assert issue.status == IssueStatus.APPROVED and issue.approver_id == approver.id


def test_a_viewer_cannot_approve(db_session, make_list, staff, make_user):
    issue = newsletters.create_issue(list_id=make_list().id, actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="en", subject="Update", body="Text", actor=staff)
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    with pytest.raises(PartnersError, match="Only an editor"):
        newsletters.approve_issue(issue_id=issue.id, actor=make_user(Role.VIEWER))
    assert issue.status == IssueStatus.AWAITING_APPROVAL


def test_an_issue_without_its_default_language_variant_cannot_go_for_approval(db_session, make_list, staff):
    issue = newsletters.create_issue(list_id=make_list(default_language="en").id, actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="ja", subject="お知らせ", body="本文", actor=staff)
    with pytest.raises(PartnersError, match=r"default language \(en\)") as caught:
        newsletters.submit_issue(issue_id=issue.id, actor=staff)
    assert caught.value.field == "language"
    assert issue.status == IssueStatus.DRAFT


def test_an_approved_issue_cannot_be_changed_and_a_bad_subject_is_refused(db_session, make_list, staff,
                                                                           approved_issue):
    issue = approved_issue(make_list())
    with pytest.raises(PartnersError, match="approved cannot be changed"):
        newsletters.save_variant(issue_id=issue.id, language="en", subject="Other", body="Other", actor=staff)
    draft = newsletters.create_issue(list_id=issue.list_id, actor=staff)
    with pytest.raises(PartnersError) as caught:
        newsletters.save_variant(issue_id=draft.id, language="en", subject="Two\nlines", body="x", actor=staff)
    assert caught.value.field == "subject"
    assert draft.variants == []


# -- sending ----------------------------------------------------------------------------------------


def test_sending_to_an_empty_list_is_refused(db_session, make_list, approved_issue, staff):
    issue = approved_issue(make_list())
    with pytest.raises(PartnersError, match="no one to send to"):
        sending.start_sending(issue_id=issue.id, actor=staff)
    assert issue.status == IssueStatus.APPROVED
    assert db_session.scalar(select(func.count()).select_from(Delivery).where(Delivery.issue_id == issue.id)) == 0


def test_each_reader_gets_their_language_or_else_the_lists_default(db_session, make_list, subscriber,
                                                                  approved_issue, staff):
    mailing_list = make_list()
    english, japanese, korean, chinese, brazilian = (subscriber(mailing_list, lang)
                                                     for lang in ("en", "ja", "ko", "zh-Hans", "pt-BR"))
    issue = approved_issue(mailing_list, {"en": ("Weekly update", "Hello **all**."),
                                          "ja": ("週報", "皆さん、こんにちは。"), "zh-Hans": ("周报", "大家好。")})
    assert send_now(issue, staff) == 5
    deliveries = {d.contact_id: d for d in db_session.scalars(select(Delivery).where(Delivery.issue_id == issue.id))}
    assert deliveries[english.contact_id].language == "en"
    assert deliveries[japanese.contact_id].language == "ja"
    assert deliveries[korean.contact_id].language == "en"  # no Korean variant: the list's default
    assert deliveries[chinese.contact_id].language == "zh-Hans"
    assert deliveries[brazilian.contact_id].language == "en"
    subjects = {row.recipient: row.subject for row in messages_of(issue)}
    assert subjects == {english.contact.primary_email: "Weekly update", japanese.contact.primary_email: "週報",
                        korean.contact.primary_email: "Weekly update", chinese.contact.primary_email: "周报",
                        brazilian.contact.primary_email: "Weekly update"}
    assert issue.status == IssueStatus.SENT and issue.sent_at is not None


def test_every_message_carries_the_rfc_8058_headers_and_a_visible_unsubscribe_link(db_session, make_list,
                                                                                  subscriber, approved_issue,
                                                                                  staff):
    mailing_list = make_list()
    subscription = subscriber(mailing_list, "en")
    issue = approved_issue(mailing_list, {"en": ("Update", EVIL)})
    send_now(issue, staff)
    (row,) = messages_of(issue)
    msg, text, html = parts(row)
    url = f"http://kizuna.test/unsubscribe/{newsletters.unsubscribe_token(subscription, issue.id)}"
    unfolded = " ".join(str(msg["List-Unsubscribe"]).split())  # a long header is folded over lines
    assert unfolded.startswith(f"<{url}>, <mailto:noreply@kizuna.test?subject=unsubscribe")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"<list-{mailing_list.id}.kizuna.test>" in msg["List-Id"]
    assert msg["Message-ID"] and msg["Date"]
    assert url in text and f'href="{url}"' in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_a_second_send_of_the_same_issue_sends_nothing_to_anyone(db_session, make_list, subscriber,
                                                                approved_issue, staff):
    mailing_list = make_list()
    for lang in ("en", "ja"):
        subscriber(mailing_list, lang)
    issue = approved_issue(mailing_list)
    send_now(issue, staff)
    assert len(messages_of(issue)) == 2
    with pytest.raises(PartnersError, match="already been sent"):
        sending.start_sending(issue_id=issue.id, actor=staff)
    # Even a rerun of the worker's tasks on an issue forced back to `sending` adds no one.
    issue.status = IssueStatus.SENDING
    db_session.flush()
    assert sending.plan_deliveries(issue.id) == 0
    assert run_pipeline(issue) == 0
    assert len(messages_of(issue)) == 2


def test_a_reader_who_unsubscribes_meanwhile_is_dropped_and_a_paused_issue_holds_its_deliveries(
        db_session, make_list, subscriber, approved_issue, staff):
    mailing_list = make_list()
    stays, leaves = subscriber(mailing_list), subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    sending.start_sending(issue_id=issue.id, actor=staff)
    assert sending.plan_deliveries(issue.id) == 2
    sending.pause_issue(issue_id=issue.id, actor=staff)
    ids = db_session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id).order_by(Delivery.id)).all()
    assert sending.queue_deliveries(issue_id=issue.id, first_id=ids[0], last_id=ids[-1]) == 0
    assert sending.progress(issue.id) == {"sent": 0, "failed": 0, "pending": 2, "cancelled": 0}

    newsletters.unsubscribe(token=newsletters.unsubscribe_token(leaves))
    sending.resume_issue(issue_id=issue.id, actor=staff)
    assert sending.queue_deliveries(issue_id=issue.id, first_id=ids[0], last_id=ids[-1]) == 1
    assert [row.recipient for row in messages_of(issue)] == [stays.contact.primary_email]
    assert sending.progress(issue.id) == {"sent": 0, "failed": 0, "pending": 1, "cancelled": 1}


def test_an_issue_whose_readers_all_left_before_planning_is_closed_with_nothing_sent(db_session, make_list,
                                                                                      subscriber, approved_issue,
                                                                                      staff):
    mailing_list = make_list()
    only = subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    sending.start_sending(issue_id=issue.id, actor=staff)
    newsletters.unsubscribe(token=newsletters.unsubscribe_token(only))
    assert sending.plan_deliveries(issue.id) == 0
    db_session.expire_all()
    assert issue.status == IssueStatus.SENT and messages_of(issue) == []


def test_cancel_drops_the_deliveries_not_yet_queued(db_session, make_list, subscriber, approved_issue, staff):
    mailing_list = make_list()
    subscriber(mailing_list), subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    sending.start_sending(issue_id=issue.id, actor=staff)
    sending.plan_deliveries(issue.id)
    sending.cancel_issue(issue_id=issue.id, actor=staff)
    assert run_pipeline(issue) == 0
    assert messages_of(issue) == []
    assert sending.progress(issue.id)["cancelled"] == 2
    with pytest.raises(PartnersError):
        sending.resume_issue(issue_id=issue.id, actor=staff)


def test_resend_goes_to_the_failed_deliveries_only_and_progress_counts_them(db_session, make_list, subscriber,
                                                                           approved_issue, staff):
    mailing_list = make_list()
    for _ in range(3):
        subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    send_now(issue, staff)
    first, second, third = messages_of(issue)
    # What delivery records after the servers' answers: one accepted, one refused for good.
    first.status, second.status, second.last_error = MessageStatus.SENT, MessageStatus.FAILED, "550 no such user"
    db_session.flush()
    assert sending.progress(issue.id) == {"sent": 1, "failed": 1, "pending": 1, "cancelled": 0}

    assert sending.resend_failed(issue_id=issue.id, actor=staff) == 1
    db_session.expire_all()
    assert (first.status, second.status, third.status) == (MessageStatus.SENT, MessageStatus.QUEUED,
                                                           MessageStatus.QUEUED)
    assert len(messages_of(issue)) == 3  # the same message again, not a new copy
    with pytest.raises(PartnersError, match="No delivery of this issue has failed"):
        sending.resend_failed(issue_id=issue.id, actor=staff)


def test_an_alerts_delivery_batches_go_to_the_alerts_queue(app, db_session, redis_url, make_list, subscriber,
                                                          approved_issue, staff):
    broker = redis.Redis.from_url(redis_url)
    mailing_list = make_list()
    subscriber(mailing_list)
    issue = approved_issue(mailing_list, {"en": ("Typhoon warning", "Stay indoors.")}, priority="alert")
    sending.start_sending(issue_id=issue.id, actor=staff)
    sending.plan_deliveries(issue.id)
    before = broker.llen(outbox.alert_queue())
    ids = db_session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id)).all()
    sending.queue_deliveries(issue_id=issue.id, first_id=min(ids), last_id=max(ids))
    db_session.commit()  # the test's savepoint: the after-commit dispatch runs
    queued = broker.lrange(outbox.alert_queue(), 0, -1)
    assert broker.llen(outbox.alert_queue()) > before
    assert any(b"kizuna.deliver_outbox" in item for item in queued)
    broker.delete(outbox.alert_queue())


# -- the unsubscribe endpoints ----------------------------------------------------------------------


def test_a_tampered_or_other_list_unsubscribe_token_is_refused(db_session, make_list, subscriber):
    first, other = make_list(), make_list(names={"en": "Sister cities news"})
    subscription = subscriber(first)
    token = newsletters.unsubscribe_token(subscription)
    with pytest.raises(PartnersError, match="not valid"):
        newsletters.unsubscribe(token=token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(PartnersError, match="not valid"):
        newsletters.unsubscribe(token=token, list_id=other.id)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert newsletters.unsubscribe(token=token, list_id=first.id).status == SubscriptionStatus.UNSUBSCRIBED


def test_an_unsubscribe_through_an_issues_link_is_counted_for_that_issue_only(db_session, make_list, subscriber,
                                                                               approved_issue):
    mailing_list, other_list = make_list(), make_list()
    first, second = subscriber(mailing_list), subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    others = approved_issue(other_list)
    left = newsletters.unsubscribe(token=newsletters.unsubscribe_token(first, issue.id))
    assert left.unsubscribed_issue_id == issue.id
    # A link naming an issue of another list unsubscribes from this list but counts for no issue.
    left = newsletters.unsubscribe(token=newsletters.unsubscribe_token(second, others.id))
    assert left.status == "unsubscribed" and left.unsubscribed_issue_id is None


def test_one_click_post_unsubscribes_without_a_login_and_get_only_asks(db_session, client, make_list, subscriber):
    subscription = subscriber(make_list())
    path = f"/unsubscribe/{newsletters.unsubscribe_token(subscription)}"

    page = client.get(path)
    assert page.status_code == 200
    assert "Stop receiving Diplomatic corps weekly update" in page.get_data(as_text=True)
    db_session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE

    response = client.post(path, data={"List-Unsubscribe": "One-Click"})  # as a mail program sends it
    assert response.status_code == 200
    db_session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.UNSUBSCRIBED and subscription.unsubscribed_at is not None
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again: no change


def test_a_tampered_unsubscribe_link_gets_a_404_page_and_changes_nothing(db_session, client, make_list, subscriber):
    subscription = subscriber(make_list())
    path = f"/unsubscribe/{newsletters.unsubscribe_token(subscription)}x"
    for method in ("GET", "POST"):
        response = client.open(path, method=method)
        assert response.status_code == 404
        assert "This link cannot be used" in response.get_data(as_text=True)
    db_session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE


# -- through a real worker ----------------------------------------------------------------------------

NL_REDIS_URL = f"{REDIS_BASE}/15"  # as tests/kizuna/test_delivery.py: a database no test session flushes


@pytest.fixture(scope="module")
def nl_app(app, tmp_path_factory):
    """The session app's database, with its Celery tasks on a queue of this module's own."""
    queue_name = f"newsletters-{os.getpid()}-{uuid4().hex[:6]}"
    own = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                REDIS_URL=NL_REDIS_URL, SMTP_URL=app.config["SMTP_URL"],
                                CELERY={"task_default_queue": queue_name}))
    own.extensions["celery"].loader.import_module("worker.tasks")
    yield own
    app.extensions["celery"].set_default()
    with own.app_context():
        db.engine.dispose()
    broker = redis.Redis.from_url(NL_REDIS_URL)
    forget_queue(broker, queue_name)
    forget_queue(broker, own.config["ALERT_QUEUE"])


@pytest.fixture(scope="module")
def nl_worker(nl_app):
    """A real worker in this process that takes from the alerts queue as well as the default one."""
    from celery.contrib.testing.worker import start_worker

    celery_app = nl_app.extensions["celery"]
    celery_app.loader.import_module("celery.contrib.testing.tasks")
    queues = [celery_app.conf.task_default_queue, nl_app.config["ALERT_QUEUE"]]
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30.0,
                      loglevel="WARNING", queues=queues) as worker:
        wait_until(lambda: celery_app.control.ping(destination=[worker.hostname], timeout=1), timeout=30,
                   what="the worker to answer a ping")
        yield worker


@pytest.fixture
def nl_sink(nl_app):
    server = DeliverySink().start()
    saved = nl_app.config["SMTP_URL"]
    nl_app.config["SMTP_URL"] = server.url
    try:
        yield server.handler
    finally:
        nl_app.config["SMTP_URL"] = saved
        server.stop()


@pytest.fixture
def live(nl_app, nl_worker, nl_sink):
    """Real commits that the worker sees (tables truncated afterwards), the worker's app the default."""
    with committed_session(nl_app) as session:
        nl_app.extensions["celery"].set_default()
        yield session


def _live_issue(staff, approver, readers: list[tuple[str, str]], *, priority: str = "normal",
                subject: str = "Weekly update") -> Issue:
    """A committed, approved issue in English and Japanese to a new list of `readers` (email, language)."""
    from partners import services

    mailing_list = newsletters.create_list(actor=staff, names={"en": f"{subject} list"})
    for n, (email, language) in enumerate(readers):
        contact = services.create_contact(actor=staff, family_name=f"Reader{n}", emails=[email],
                                          preferred_language=language)
        newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)
    issue = newsletters.create_issue(list_id=mailing_list.id, actor=staff, priority=priority)
    newsletters.save_variant(issue_id=issue.id, language="en", subject=subject, body="News.", actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="ja", subject=f"{subject}（日本語）", body="お知らせ",
                             actor=staff)
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    db.session.commit()
    return issue


def _issue_state(issue_id: int) -> tuple[IssueStatus, dict]:
    state = db.session.scalar(select(Issue.status).where(Issue.id == issue_id)), sending.progress(issue_id)
    db.session.rollback()  # the next read sees the worker's later commits
    return state


def test_an_issue_goes_out_through_the_worker_once_to_each_reader(live, nl_sink, make_user):
    staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    readers = [(f"reader{n}@embassy{n}.test", language) for n, language in enumerate(("en", "ja", "ko", "ja"))]
    issue = _live_issue(staff, approver, readers)
    sending.start_sending(issue_id=issue.id, actor=staff)
    db.session.commit()

    received = nl_sink.wait_for(4)
    assert sorted(str(m["To"]) for m in received) == sorted(email for email, _ in readers)
    by_reader = {str(m["To"]): m for m in received}
    assert str(by_reader["reader1@embassy1.test"]["Subject"]) == "Weekly update（日本語）"
    assert str(by_reader["reader2@embassy2.test"]["Subject"]) == "Weekly update"  # Korean: the default
    for message in received:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in message["List-Unsubscribe"]
    wait_until(lambda: _issue_state(issue.id) == (IssueStatus.SENT, {"sent": 4, "failed": 0, "pending": 0,
                                                                     "cancelled": 0}),
               what="the issue to be sent and every message delivered")
    assert len(nl_sink.message_ids()) == len(set(nl_sink.message_ids())) == 4


def test_an_alert_overtakes_a_newsletter_that_is_sending(live, nl_sink, make_user):
    staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    newsletter = _live_issue(staff, approver, [(f"n{n}@embassy.test", "en") for n in range(600)])
    alert = _live_issue(staff, approver, [("duty-officer@embassy.test", "ja")], priority="alert",
                        subject="Typhoon warning")
    nl_sink.hold_after(5)  # the newsletter's first batch stops at its sixth message
    sending.start_sending(issue_id=newsletter.id, actor=staff)
    db.session.commit()
    wait_until(nl_sink.held.is_set, what="the newsletter to be mid-send")

    sending.start_sending(issue_id=alert.id, actor=staff)
    db.session.commit()
    nl_sink.release()

    received = nl_sink.wait_for(601, timeout=120)
    order = [str(m["To"]) for m in received]
    assert order.index("duty-officer@embassy.test") < 600 - 100  # ahead of at least the newsletter's last batch
    assert str(received[order.index("duty-officer@embassy.test")]["Subject"]) == "Typhoon warning（日本語）"
    assert len(set(nl_sink.message_ids())) == 601
