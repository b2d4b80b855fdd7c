"""Mailing lists' pages: staff read and change lists and subscribers, the public subscribe form (double opt-in,
rate limits, no enumeration, a trap for robots), liaisons' own subscriptions, and the demo's lists."""

from __future__ import annotations

import csv
import io
import random
import re
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import AuditEvent, OutboundMessage, Role
from partners import demo_newsletters, lists, newsletters
from partners.models import (
    ConsentMethod,
    Contact,
    Issue,
    IssueStatus,
    MailingList,
    Organisation,
    Subscription,
    SubscriptionStatus,
)
from tests.conftest import csrf_token, login


@pytest.fixture
def make_list(staff):
    def make(**overrides):
        fields = {"names": {"en": "Diplomatic corps weekly update", "ja": "外交団向け週報"},
                  "default_language": "en", **overrides}
        return newsletters.create_list(actor=staff, **fields)

    return make


@pytest.fixture
def subscriber(make_contact, staff):
    counter = iter(range(1, 10_000))

    def make(mailing_list, *, family_name=None, email=None, language="en"):
        n = next(counter)
        contact = make_contact(family_name=family_name or f"Reader{n:03d}", preferred_language=language,
                               emails=[email or f"reader{n}-{uuid4().hex[:6]}@embassy.test"])
        return newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)

    return make


@pytest.fixture
def client_ip():
    """A client address of its own for the test, its counters cleared after (the throttle lives in Redis)."""
    ip = f"198.51.100.{random.randint(1, 254)}"
    used: list[str] = []
    yield ip, used
    for email in used or ["-"]:
        lists.forget_subscribe_requests(email, ip)


def signed_in(client, make_user, role=Role.EDITOR, **kwargs):
    user = make_user(role, **kwargs)
    login(client, user)
    return user


def page_text(response) -> str:
    return response.get_data(as_text=True)


# -- staff pages --------------------------------------------------------------------------------------


def test_the_index_names_each_list_in_the_readers_language_with_its_subscribers_and_last_issue(
        client, make_user, make_list, subscriber, staff):
    weekly = make_list(public_subscribe=True)
    make_list(names={"en": "Sister cities news", "ja": "姉妹友好都市ニュース"}, archive_visibility="public")
    subscriber(weekly)
    subscriber(weekly)
    left = subscriber(weekly)
    lists.staff_unsubscribe(list_id=weekly.id, subscription_id=left.id, actor=staff)
    issue = newsletters.create_issue(list_id=weekly.id, actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="en", subject="Week 12 in Tokyo", body="News.", actor=staff)
    issue.status = IssueStatus.SENT
    db.session.commit()
    signed_in(client, make_user, Role.VIEWER)
    html = page_text(client.get("/newsletters/"))
    assert "Diplomatic corps weekly update" in html and "Sister cities news" in html
    row = re.search(r"Diplomatic corps weekly update</a></td>(.*?)</tr>", html, re.S).group(1)
    assert re.search(r'class="num">2<', row) and "Week 12 in Tokyo" in row
    client.post("/language", data={"language": "ja", "next": "/newsletters/", "csrf_token": csrf_token(client, "/")})
    assert "外交団向け週報" in page_text(client.get("/newsletters/"))


def test_an_editor_creates_a_list_with_names_in_several_languages(client, make_user):
    signed_in(client, make_user)
    page = client.get("/newsletters/new")
    assert page.status_code == 200
    response = client.post("/newsletters/new", data={
        "csrf_token": csrf_token(client, "/newsletters/new"),
        "names-0-language": "en", "names-0-name": "Sister cities news",
        "names-1-language": "ja", "names-1-name": "姉妹友好都市ニュース",
        "default_language": "en", "description": "Exchanges with partner cities.", "public_subscribe": "y",
        "double_opt_in": "y", "archive_visibility": "public"})
    assert response.status_code == 303
    created = db.session.scalar(select(MailingList).order_by(MailingList.id.desc()).limit(1))
    assert response.location.endswith(f"/newsletters/{created.id}")
    assert created.names == {"en": "Sister cities news", "ja": "姉妹友好都市ニュース"}
    assert created.public_subscribe and created.archive_visibility.value == "public"


def test_a_list_without_its_name_in_its_default_language_is_refused_at_that_row(client, make_user):
    signed_in(client, make_user)
    before = db.session.scalar(select(func.count()).select_from(MailingList))
    response = client.post("/newsletters/new", data={
        "csrf_token": csrf_token(client, "/newsletters/new"),
        "names-0-language": "en", "names-0-name": "",
        "names-1-language": "ja", "names-1-name": "外交団向け週報",
        "default_language": "en", "archive_visibility": "subscribers"})
    assert response.status_code == 422
    html = page_text(response)
    assert re.search(r'id="names-0-name"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="names-0-name"', html)
    assert 'id="names-0-name-error"' in html and "default language (en)" in html
    assert db.session.scalar(select(func.count()).select_from(MailingList)) == before


def test_a_language_that_is_no_language_is_refused_at_its_field(client, make_user):
    signed_in(client, make_user)
    data = {"csrf_token": csrf_token(client, "/newsletters/new"),
            "names-0-language": "en", "names-0-name": "Weekly", "names-1-language": "xx", "names-1-name": "Nope",
            "default_language": "en", "archive_visibility": "subscribers"}
    response = client.post("/newsletters/new", data=data)
    assert response.status_code == 422 and 'id="names-1-language-error"' in page_text(response)
    response = client.post("/newsletters/new", data={**data, "names-1-language": "en"})
    assert response.status_code == 422 and "This language is given twice." in page_text(response)
    response = client.post("/newsletters/new", data={**data, "names-1-language": "ja",
                                                     "archive_visibility": "everyone"})
    assert response.status_code == 422 and 'id="archive_visibility-error"' in page_text(response)


def test_an_editor_changes_a_list_and_adds_a_language_row_without_saving(client, make_user, make_list):
    weekly = make_list()
    db.session.commit()
    signed_in(client, make_user)
    path = f"/newsletters/{weekly.id}/edit"
    page = page_text(client.get(path))
    assert 'value="外交団向け週報"' in page and 'id="names-2-language"' in page  # an empty row more
    data = {"csrf_token": csrf_token(client, path), "names-0-language": "en",
            "names-0-name": "Diplomatic corps weekly update", "names-1-language": "ja",
            "names-1-name": "外交団向け週報",
            "names-2-language": "ko", "names-2-name": "외교단 주간 소식", "default_language": "en",
            "archive_visibility": "public", "add_name": "Add another language"}
    added = client.post(path, data=data)
    assert added.status_code == 200 and 'id="names-3-language"' in page_text(added)
    assert db.session.get(MailingList, weekly.id).names.get("ko") is None  # nothing saved yet
    data.pop("add_name")
    assert client.post(path, data=data).status_code == 303
    db.session.expire_all()
    changed = db.session.get(MailingList, weekly.id)
    assert changed.names["ko"] == "외교단 주간 소식" and changed.archive_visibility.value == "public"
    assert changed.public_subscribe is False and changed.double_opt_in is False  # unticked boxes say no


def test_the_list_page_pages_filters_and_finds_subscribers_with_their_consent(
        client, make_user, make_list, subscriber, staff):
    weekly = make_list(public_subscribe=True, double_opt_in=False)
    for _ in range(52):
        subscriber(weekly)
    newsletters.request_subscription(list_id=weekly.id, email="consul.general@mission.test",
                                     family_name="Okonkwo", given_name="Ada", ip="203.0.113.9")
    db.session.commit()
    signed_in(client, make_user, Role.VIEWER)
    first = page_text(client.get(f"/newsletters/{weekly.id}"))
    assert first.count('<tr>') - 1 == 50 and "Page 1 of 2" in first
    second = page_text(client.get(f"/newsletters/{weekly.id}?page=2"))
    assert second.count('<tr>') - 1 == 3
    found = page_text(client.get(f"/newsletters/{weekly.id}?q=okonkwo"))
    assert "consul.general@mission.test" in found and "Reader001" not in found
    assert "203.0.113.9" in found and "the person, on a form" in found
    assert "consul.general@mission.test" in page_text(client.get(f"/newsletters/{weekly.id}?q=general@mission"))
    none = page_text(client.get(f"/newsletters/{weekly.id}?status=unsubscribed"))
    assert "No subscriber matches these filters." in none
    assert client.get(f"/newsletters/{weekly.id}/subscribers.csv").status_code == 403  # viewers never export


def test_staff_unsubscribe_someone_after_confirming_and_it_is_audited(
        client, make_user, make_list, subscriber):
    weekly = make_list()
    subscription = subscriber(weekly, family_name="Moreau")
    other_list = make_list(names={"en": "Other"})
    db.session.commit()
    editor = signed_in(client, make_user)
    path = f"/newsletters/{weekly.id}/subscribers/{subscription.id}/unsubscribe"
    page = client.get(path)
    assert page.status_code == 200 and "Moreau" in page_text(page)
    db.session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE  # asking changes nothing
    # through another list's address: not found, nothing changes
    assert client.post(f"/newsletters/{other_list.id}/subscribers/{subscription.id}/unsubscribe",
                       data={"csrf_token": csrf_token(client, path)}).status_code == 404
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303
    db.session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.UNSUBSCRIBED and subscription.unsubscribed_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "subscription.unsubscribe",
                                                       AuditEvent.object_id == str(subscription.id)))
    assert event.actor_id == editor.id and event.after == {"status": "unsubscribed"}


def test_an_editor_finds_contacts_and_adds_them_with_staff_consent(client, make_user, make_list, make_contact):
    weekly = make_list()
    wanted = make_contact(family_name="Takahashi", emails=["takahashi@embassy.test"])
    make_contact(family_name="Takahashi", given_name="Nomail")
    db.session.commit()
    editor = signed_in(client, make_user)
    path = f"/newsletters/{weekly.id}/add?q=takahashi"
    page = page_text(client.get(path))
    assert "takahashi@embassy.test" in page and "Nomail" not in page  # people without an address cannot be sent to
    assert "/partners/contacts" in page  # the contacts list's bulk action, for many at once
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "contact_ids": [str(wanted.id)]})
    assert response.status_code == 303
    subscription = db.session.scalar(select(Subscription).where(Subscription.contact_id == wanted.id))
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.consent_method == ConsentMethod.STAFF
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "subscription.create",
                                                      AuditEvent.object_id == str(subscription.id))).actor_id \
        == editor.id
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 303  # none chosen: told


def test_the_subscribers_export_carries_the_consent(client, make_user, make_list):
    weekly = make_list(public_subscribe=True, double_opt_in=False)
    newsletters.request_subscription(list_id=weekly.id, email="attache@mission.test", family_name="Novak",
                                     given_name="Petra", ip="192.0.2.44")
    db.session.commit()
    signed_in(client, make_user)
    response = client.get(f"/newsletters/{weekly.id}/subscribers.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["Email"] == "attache@mission.test" and row["Family name"] == "Novak"
    assert row["Status"] == "active" and row["Consent given by"] == "form"
    assert row["Consent given from (IP address)"] == "192.0.2.44" and row["Consent given at (UTC)"]


def test_the_list_page_shows_its_issues(client, make_user, make_list, staff):
    weekly = make_list()
    issue = newsletters.create_issue(list_id=weekly.id, actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="en", subject="Typhoon season advice", body="Text.",
                             actor=staff)
    db.session.commit()
    signed_in(client, make_user, Role.VIEWER)
    html = page_text(client.get(f"/newsletters/{weekly.id}"))
    assert "Typhoon season advice" in html and "Draft" in html


# -- the public form ----------------------------------------------------------------------------------


def subscribe_post(client, list_id: int, ip: str, **fields):
    path = f"/newsletters/{list_id}/subscribe"
    data = {"csrf_token": csrf_token(client, path), "given_name": "Reader", "family_name": "", "language": "en",
            "consent": "y", "website": "", **fields}
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": ip})


def confirmations(email: str) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.category == "partners.subscription_confirm", OutboundMessage.recipient == email))


def test_the_public_form_asks_to_confirm_by_email_and_records_the_consent(client, make_list, client_ip):
    ip, used = client_ip
    weekly = make_list(public_subscribe=True, double_opt_in=True, description="Every Friday.")
    db.session.commit()
    form = client.get(f"/newsletters/{weekly.id}/subscribe")
    assert form.status_code == 200 and "Every Friday." in page_text(form)
    assert 'tabindex="-1"' in page_text(form) and 'aria-hidden="true"' in page_text(form)  # the trap
    email = f"new-{uuid4().hex[:8]}@mission.test"
    used.append(email)
    response = subscribe_post(client, weekly.id, ip, email=email, language="ja")
    assert response.status_code == 303 and response.location.endswith(f"/newsletters/{weekly.id}/subscribe/sent")
    subscription = db.session.scalar(select(Subscription).join(Contact).where(Subscription.list_id == weekly.id))
    assert subscription.status == SubscriptionStatus.PENDING
    assert subscription.consent_method == ConsentMethod.FORM and subscription.consent_ip == ip
    assert subscription.contact.preferred_language == "ja"
    assert confirmations(email) == 1
    thanks = client.get(response.location)
    assert thanks.status_code == 200 and "confirm" in page_text(thanks)


def test_the_answer_is_the_same_whether_or_not_the_address_is_subscribed(client, make_list, subscriber, client_ip):
    ip, used = client_ip
    weekly = make_list(public_subscribe=True, double_opt_in=True)
    known = f"known-{uuid4().hex[:8]}@mission.test"
    subscriber(weekly, email=known)
    db.session.commit()
    unknown = f"unknown-{uuid4().hex[:8]}@mission.test"
    used += [known, unknown]
    answers = [subscribe_post(client, weekly.id, ip, email=email) for email in (known, unknown)]
    assert [a.status_code for a in answers] == [303, 303]
    # without a name: refused alike for both, since a name is asked of everyone
    nameless = [subscribe_post(client, weekly.id, ip, email=email, given_name="") for email in (known, unknown)]
    assert [a.status_code for a in nameless] == [422, 422]
    pages = [re.sub(r'name="csrf_token"[^>]*>', "", page_text(a)).replace(email, "ADDRESS")
             for a, email in zip(nameless, (known, unknown), strict=True)]
    assert pages[0] == pages[1]
    assert answers[0].location == answers[1].location
    assert answers[0].get_data() == answers[1].get_data()
    pages = [page_text(client.get(a.location)) for a in answers]
    assert pages[0] == pages[1]
    assert confirmations(known) == 0 and confirmations(unknown) == 1  # the subscriber is left as they were


def test_a_robot_that_fills_the_trap_is_told_the_same_and_nothing_happens(client, make_list, client_ip):
    ip, used = client_ip
    weekly = make_list(public_subscribe=True)
    db.session.commit()
    email = f"bot-{uuid4().hex[:8]}@spam.test"
    used.append(email)
    response = subscribe_post(client, weekly.id, ip, email=email, website="https://spam.test")
    assert response.status_code == 303 and response.location.endswith("/subscribe/sent")
    assert db.session.scalar(select(func.count()).select_from(Subscription)
                             .where(Subscription.list_id == weekly.id)) == 0
    assert confirmations(email) == 0


def test_the_form_refuses_bad_input_at_its_field_and_changes_nothing(client, make_list, client_ip):
    ip, used = client_ip
    weekly = make_list(public_subscribe=True)
    db.session.commit()
    used.append("not-an-address")
    response = subscribe_post(client, weekly.id, ip, email="not-an-address")
    assert response.status_code == 422 and 'id="email-error"' in page_text(response)
    email = f"x-{uuid4().hex[:8]}@mission.test"
    used.append(email)
    response = subscribe_post(client, weekly.id, ip, email=email, consent="")
    assert response.status_code == 422 and 'id="consent-error"' in page_text(response)
    response = subscribe_post(client, weekly.id, ip, email=email, given_name=" ", family_name="")
    assert response.status_code == 422 and 'id="given_name-error"' in page_text(response)
    response = subscribe_post(client, weekly.id, ip, email=email, language="tlh")
    assert response.status_code == 422 and 'id="language-error"' in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(Subscription)
                             .where(Subscription.list_id == weekly.id)) == 0


def test_a_list_not_open_to_the_public_has_no_form(client, make_list):
    private = make_list(public_subscribe=False)
    db.session.commit()
    assert client.get(f"/newsletters/{private.id}/subscribe").status_code == 404
    assert client.get(f"/newsletters/{private.id}/subscribe/sent").status_code == 404


def test_an_address_gets_five_requests_an_hour_then_a_429_that_says_when_to_retry(client, make_list, client_ip):
    ip, used = client_ip
    weekly = make_list(public_subscribe=True, double_opt_in=True)
    db.session.commit()
    email = f"eager-{uuid4().hex[:8]}@mission.test"
    used.append(email)
    for _ in range(lists.SUBSCRIBE_LIMITS["per_address"]):
        assert subscribe_post(client, weekly.id, ip, email=email).status_code == 303
    sent = confirmations(email)
    refused = subscribe_post(client, weekly.id, ip, email=email)
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert "Try again in 60 minutes." in page_text(refused)
    assert confirmations(email) == sent  # nothing more was sent
    # the same address in other letters is the same address
    assert subscribe_post(client, weekly.id, ip, email=email.upper()).status_code == 429


def test_a_client_address_gets_twenty_requests_an_hour(client, make_list, client_ip):
    ip, used = client_ip
    weekly = make_list(public_subscribe=True, double_opt_in=True)
    db.session.commit()
    for n in range(lists.SUBSCRIBE_LIMITS["per_ip"]):
        email = f"many-{n}-{uuid4().hex[:6]}@mission.test"
        used.append(email)
        assert subscribe_post(client, weekly.id, ip, email=email).status_code == 303
    last = f"one-more-{uuid4().hex[:6]}@mission.test"
    used.append(last)
    assert subscribe_post(client, weekly.id, ip, email=last).status_code == 429
    assert confirmations(last) == 0
    other_ip = "192.0.2.250"
    lists.forget_subscribe_requests(last, other_ip)
    assert subscribe_post(client, weekly.id, other_ip, email=last).status_code == 303  # another network may
    lists.forget_subscribe_requests(last, other_ip)


# -- liaisons' own subscriptions ----------------------------------------------------------------------


@pytest.fixture
def liaison_with_contact(client, make_user, make_contact, staff):
    """A signed-in liaison whose account is linked to a contact with an email address."""
    user = make_user(Role.LIAISON)
    contact = make_contact(family_name="Dupont", emails=[f"dupont-{uuid4().hex[:6]}@ambafrance.test"],
                           preferred_language="fr")
    contact.user_id = user.id
    db.session.commit()
    login(client, user)
    return user, contact


def test_a_liaison_joins_and_leaves_lists_open_to_them_from_their_profile(
        client, liaison_with_contact, make_list):
    user, contact = liaison_with_contact
    public = make_list(names={"en": "Diplomatic corps weekly update"}, public_subscribe=True)
    private = make_list(names={"en": "Briefings of the governor’s office"}, public_subscribe=False)
    db.session.commit()
    profile = page_text(client.get("/partners/me"))
    assert "Diplomatic corps weekly update" in profile and "Briefings of the governor’s office" not in profile
    token = csrf_token(client, "/partners/me")
    response = client.post(f"/newsletters/mine/{public.id}", data={"csrf_token": token, "action": "subscribe"})
    assert response.status_code == 303 and response.location.endswith("/partners/me#subscriptions-h")
    subscription = db.session.scalar(select(Subscription).where(Subscription.contact_id == contact.id))
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.consent_method == ConsentMethod.FORM
    # a list not open to them: refused, nothing made
    client.post(f"/newsletters/mine/{private.id}", data={"csrf_token": token, "action": "subscribe"})
    assert db.session.scalar(select(func.count()).select_from(Subscription)
                             .where(Subscription.list_id == private.id)) == 0
    client.post(f"/newsletters/mine/{public.id}", data={"csrf_token": token, "action": "unsubscribe"})
    db.session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.UNSUBSCRIBED
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "subscription.unsubscribe",
                                                      AuditEvent.object_id == str(subscription.id))).actor_id \
        == user.id


def test_a_liaison_sees_the_private_lists_staff_put_them_on(client, liaison_with_contact, make_list, staff):
    _user, contact = liaison_with_contact
    private = make_list(names={"en": "Briefings of the governor’s office"}, public_subscribe=False)
    newsletters.subscribe(list_id=private.id, contact_id=contact.id, actor=staff)
    db.session.commit()
    assert "Briefings of the governor’s office" in page_text(client.get("/partners/me"))
    token = csrf_token(client, "/partners/me")
    client.post(f"/newsletters/mine/{private.id}", data={"csrf_token": token, "action": "unsubscribe"})
    assert db.session.scalar(select(Subscription.status).where(Subscription.contact_id == contact.id)) \
        == SubscriptionStatus.UNSUBSCRIBED


def test_staff_see_a_newsletters_link_in_the_menu(client, make_user):
    signed_in(client, make_user, Role.VIEWER)
    assert 'href="/newsletters/"' in page_text(client.get("/"))


# -- the demo -----------------------------------------------------------------------------------------


def test_the_demo_seeds_lists_liaisons_and_a_sent_issue_once(db_session):
    from network import demo

    demo.seed_tokyo()
    assert demo_newsletters.seed_newsletters() is True
    db.session.flush()

    def state():
        return (db.session.scalar(select(func.count()).select_from(MailingList)),
                db.session.scalar(select(func.count()).select_from(Contact)),
                db.session.scalar(select(func.count()).select_from(Subscription)),
                db.session.scalar(select(func.count()).select_from(Issue)),
                db.session.scalar(select(func.count()).select_from(Organisation)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))

    before = state()
    weekly = next(m for m in db.session.scalars(select(MailingList))
                  if m.names.get("en") == "Diplomatic corps weekly update")
    assert weekly.archive_visibility.value == "subscribers" and weekly.public_subscribe
    sister = next(m for m in db.session.scalars(select(MailingList)) if m.names.get("en") == "Sister cities news")
    assert sister.archive_visibility.value == "public"
    readers = db.session.scalars(select(Contact).join(Subscription).where(Subscription.list_id == weekly.id)).all()
    assert {c.preferred_language for c in readers} >= {"en", "ja", "zh", "ko", "es", "fr"}
    assert all("sample" in [t.key for t in c.tags] for c in readers)
    assert all(c.current_positions and c.current_positions[0].organisation.embassy_id for c in readers)
    issue = db.session.scalar(select(Issue).where(Issue.list_id == weekly.id))
    assert issue.status == IssueStatus.SENT and issue.sent_at is not None
    assert {v.language for v in issue.variants} == {"en", "ja"}
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)
                             .where(OutboundMessage.ref_type == "newsletter_issue")) == 0  # nothing mailed

    assert demo_newsletters.seed_newsletters() is False
    assert state() == before  # a second run adds nothing

    left = db.session.scalar(select(Subscription).where(Subscription.contact_id == readers[0].id))
    lists.staff_unsubscribe(list_id=weekly.id, subscription_id=left.id, actor=None)
    assert demo_newsletters.seed_newsletters() is False
    assert left.status == SubscriptionStatus.UNSUBSCRIBED  # and leaves what staff changed since alone
