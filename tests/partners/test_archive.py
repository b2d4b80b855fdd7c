"""The archive: a list's sent issues on the web in every language they have, public or for subscribers only,
and the signed "read on the web" links that open a subscribers-only archive."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from kizuna.extensions import db, utcnow
from kizuna.models import Role
from partners import lists, newsletters
from partners.models import IssueStatus
from tests.conftest import login

EVIL = 'Hello <script>alert("x")</script> <a href="javascript:alert(1)" onclick="alert(2)">click</a>'


@pytest.fixture
def make_list(staff):
    def make(**overrides):
        fields = {"names": {"en": "Diplomatic corps weekly update", "ja": "外交団向け週報"},
                  "default_language": "en", **overrides}
        return newsletters.create_list(actor=staff, **fields)

    return make


@pytest.fixture
def make_issue(staff):
    """make_issue(list, {"en": (subject, body), …}, status=SENT, days_ago=1) → an issue of the list."""

    def make(mailing_list, variants, *, status=IssueStatus.SENT, days_ago=1):
        issue = newsletters.create_issue(list_id=mailing_list.id, actor=staff)
        for language, (subject, body) in variants.items():
            newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=staff)
        issue.status = status  # as the sending pipeline leaves it; sending itself is tested elsewhere
        issue.sent_at = utcnow() - timedelta(days=days_ago) if status == IssueStatus.SENT else None
        db.session.flush()
        return issue

    return make


@pytest.fixture
def make_subscriber(make_contact, staff):
    def make(mailing_list):
        contact = make_contact(family_name="Reader", emails=[f"reader-{uuid4().hex[:8]}@mission.test"])
        return newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)

    return make


def text(response) -> str:
    return response.get_data(as_text=True)


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_a_public_archive_lists_sent_issues_newest_first_and_nothing_else(client, make_list, make_issue):
    sister = make_list(names={"en": "Sister cities news"}, archive_visibility="public")
    make_issue(sister, {"en": ("Older issue", "Old news.")}, days_ago=30)
    make_issue(sister, {"en": ("Newer issue", "New news.")}, days_ago=2)
    make_issue(sister, {"en": ("Going out now", "Being sent.")}, status=IssueStatus.SENDING)
    make_issue(sister, {"en": ("Still a draft", "Not yet.")}, status=IssueStatus.DRAFT)
    make_issue(sister, {"en": ("Approved only", "Not yet.")}, status=IssueStatus.APPROVED)
    make_issue(sister, {"en": ("Called off", "Never.")}, status=IssueStatus.CANCELLED)
    db.session.commit()
    page = client.get(f"/newsletters/{sister.id}/archive")
    assert page.status_code == 200
    html = text(page)
    assert "Still a draft" not in html and "Approved only" not in html and "Called off" not in html
    assert html.index("Going out now") < html.index("Newer issue") < html.index("Older issue")


def test_an_issue_reads_in_each_of_its_languages_with_links_between_them(client, make_list, make_issue):
    sister = make_list(archive_visibility="public")
    issue = make_issue(sister, {"en": ("Typhoon season", "Check the **evacuation** sites. " + EVIL),
                                "ja": ("台風の 季節です", "ひなんする 場所を たしかめて ください。")})
    db.session.commit()
    english = text(client.get(f"/newsletters/{sister.id}/archive/{issue.id}?lang=en"))
    assert '<article lang="en">' in english and "<strong>evacuation</strong>" in english
    body = english[english.index('<div class="issue-body">'):english.index("</article>")]
    assert "<script" not in body and "javascript:" not in body and "onclick" not in body and "click</a>" in body
    link = re.search(r'<a href="([^"]+)" hreflang="ja" lang="ja" rel="alternate">日本語</a>', english)
    assert link, "the English page links to the Japanese one, named in Japanese"
    japanese = text(client.get(link.group(1).replace("&amp;", "&")))
    assert '<article lang="ja">' in japanese and "台風の 季節です" in japanese
    assert re.search(r'hreflang="en" lang="en" rel="alternate">English</a>', japanese)
    # a language the issue lacks: the reader's own if it has it, else the list's default
    assert '<article lang="en">' in text(client.get(f"/newsletters/{sister.id}/archive/{issue.id}?lang=ko"))
    listing = text(client.get(f"/newsletters/{sister.id}/archive"))
    assert 'hreflang="ja" lang="ja">日本語</a>' in listing


def test_an_issues_files_are_listed_under_it_and_download(client, make_list, make_issue, staff):
    sister = make_list(archive_visibility="public")
    issue = make_issue(sister, {"en": ("Programme", "The programme is attached.")}, status=IssueStatus.DRAFT)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    newsletters.add_attachment(issue_id=issue.id, filename="programme.pdf", data=pdf, actor=staff)
    issue.status, issue.sent_at = IssueStatus.SENT, utcnow()
    db.session.commit()
    page = text(client.get(f"/newsletters/{sister.id}/archive/{issue.id}"))
    link = re.search(r'<a href="([^"]+)">programme.pdf</a>', page)
    assert link and page.index("</article>") < page.index("programme.pdf")  # in the page's language, not the issue's
    assert client.get(link.group(1)).get_data() == pdf


def test_an_issue_of_another_list_or_not_sent_is_not_found(client, make_list, make_issue):
    sister = make_list(archive_visibility="public")
    other = make_list(names={"en": "Other"}, archive_visibility="public")
    draft = make_issue(sister, {"en": ("Draft", "Not yet.")}, status=IssueStatus.DRAFT)
    theirs = make_issue(other, {"en": ("Theirs", "Other list.")})
    db.session.commit()
    assert client.get(f"/newsletters/{sister.id}/archive/{draft.id}").status_code == 404
    assert client.get(f"/newsletters/{sister.id}/archive/{theirs.id}").status_code == 404
    assert client.get(f"/newsletters/{other.id}/archive/{theirs.id}").status_code == 200


@pytest.fixture
def closed(make_list, make_issue, make_subscriber):
    """A subscribers-only list with a sent issue and one subscriber."""
    weekly = make_list(archive_visibility="subscribers")
    issue = make_issue(weekly, {"en": ("Weekly update", "For subscribers.")})
    subscription = make_subscriber(weekly)
    db.session.commit()
    return weekly, issue, subscription


def test_a_subscribers_archive_is_closed_to_anonymous_readers(client, closed):
    weekly, issue, _subscription = closed
    for path in (f"/newsletters/{weekly.id}/archive", f"/newsletters/{weekly.id}/archive/{issue.id}"):
        response = client.get(path)
        assert response.status_code == 404
        assert "This archive is for subscribers" in text(response) and "For subscribers." not in text(response)


def test_staff_read_a_subscribers_archive(client, make_user, closed):
    weekly, issue, _subscription = closed
    login(client, make_user(Role.VIEWER))
    assert "For subscribers." in text(client.get(f"/newsletters/{weekly.id}/archive/{issue.id}"))


def test_a_liaison_reads_it_while_subscribed_and_not_otherwise(client, make_user, make_contact, staff, closed):
    weekly, issue, _subscription = closed
    user = make_user(Role.LIAISON)
    contact = make_contact(family_name="Liaison", emails=[f"liaison-{uuid4().hex[:6]}@mission.test"])
    contact.user_id = user.id
    db.session.commit()
    login(client, user)
    path = f"/newsletters/{weekly.id}/archive/{issue.id}"
    assert client.get(path).status_code == 404
    subscription = newsletters.subscribe(list_id=weekly.id, contact_id=contact.id, actor=staff)
    db.session.commit()
    assert client.get(path).status_code == 200
    lists.staff_unsubscribe(list_id=weekly.id, subscription_id=subscription.id, actor=staff)
    db.session.commit()
    assert client.get(path).status_code == 404


def test_a_read_on_the_web_link_opens_the_archive_and_a_tampered_or_foreign_one_does_not(
        client, make_list, make_issue, make_subscriber, closed):
    weekly, issue, subscription = closed
    url = lists.archive_link(list_id=weekly.id, subscription_id=subscription.id, issue_id=issue.id, language="en")
    assert url.startswith(f"http://kizuna.test/newsletters/{weekly.id}/archive/{issue.id}?")
    response = client.get(local(url))
    assert response.status_code == 200 and "For subscribers." in text(response)
    token = parse_qs(urlsplit(url).query)["token"][0]
    # the token travels with the reader's links: back to the archive and to the issue from it
    listing = client.get(f"/newsletters/{weekly.id}/archive?token={token}")
    assert listing.status_code == 200 and f"token={token}" in text(listing)
    index_url = lists.archive_link(list_id=weekly.id, subscription_id=subscription.id)
    assert client.get(local(index_url)).status_code == 200

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/newsletters/{weekly.id}/archive/{issue.id}?token={tampered}").status_code == 404
    other = make_list(names={"en": "Other list"}, archive_visibility="subscribers")
    other_issue = make_issue(other, {"en": ("Other", "Other list's news.")})
    db.session.commit()
    # a genuine token of the first list does not open the second
    assert client.get(f"/newsletters/{other.id}/archive/{other_issue.id}?token={token}").status_code == 404
    # nor does an unsubscribe token, signed with the same key for another purpose
    unsubscribe = newsletters.unsubscribe_token(subscription)
    assert client.get(f"/newsletters/{weekly.id}/archive?token={unsubscribe}").status_code == 404
    # a token naming another list's subscription, forged with the right list id, is refused
    foreign = make_subscriber(other)
    db.session.commit()
    forged = lists._archive_serializer().dumps([weekly.id, foreign.id])
    assert lists.check_archive_token(forged, weekly.id) is None
    assert client.get(f"/newsletters/{weekly.id}/archive?token={forged}").status_code == 404



def test_each_reader_of_a_sent_issue_gets_a_read_on_the_web_link_of_their_own_that_opens_it(
        client, make_list, make_contact, make_user, staff):
    from sqlalchemy import select

    from kizuna import outbox
    from kizuna.models import OutboundMessage
    from partners import sending
    from partners.models import Delivery

    weekly = make_list(archive_visibility="subscribers")
    contact = make_contact(family_name="Sato", preferred_language="ja", emails=["sato@mission.test"])
    newsletters.subscribe(list_id=weekly.id, contact_id=contact.id, actor=staff)
    issue = newsletters.create_issue(list_id=weekly.id, actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="en", subject="Weekly", body="In English.", actor=staff)
    newsletters.save_variant(issue_id=issue.id, language="ja", subject="週報", body="やさしい 日本語です。",
                             actor=staff)
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    newsletters.approve_issue(issue_id=issue.id, actor=make_user(Role.EDITOR))
    sending.start_sending(issue_id=issue.id, actor=staff)
    sending.plan_deliveries(issue.id)
    delivery = db.session.scalar(select(Delivery).where(Delivery.issue_id == issue.id))
    assert sending.queue_deliveries(issue_id=issue.id, first_id=delivery.id, last_id=delivery.id) == 1
    db.session.commit()
    row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.ref_type == "newsletter_issue",
                                                          OutboundMessage.ref_id == issue.id))
    message = outbox.parse(row.raw)
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(rf"http://kizuna\.test(/newsletters/{weekly.id}/archive/{issue.id}\?\S+)", plain)
    assert link, plain
    assert "KIZUNA-ARCHIVE-LINK" not in plain and "KIZUNA-ARCHIVE-LINK" not in html
    page = client.get(link.group(1))  # no account: the link alone opens this subscribers-only archive
    assert page.status_code == 200 and '<article lang="ja">' in text(page) and "やさしい 日本語です。" in text(page)
