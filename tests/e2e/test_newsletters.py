"""Newsletters and prepared alerts in a browser, every page audited (issue 6's "done when"): an editor makes a
list and writes an issue in English and plain Japanese that another editor approves and sends; readers get it
once each in their language with RFC 8058 headers and leave through its link; a visitor subscribes on the public
form and confirms by email; the public archive shows the issue in both languages; an earthquake alert is
prepared from its template, reviewed in every language and approved by someone else (its delivery: see that test)."""

from __future__ import annotations

import re
import urllib.request
import uuid
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role, User
from partners import alerts, newsletters, sending, services
from partners.models import (
    ConsentMethod,
    Contact,
    ContactEmail,
    Issue,
    IssueStatus,
    MailingList,
    Subscription,
    SubscriptionStatus,
)
from tests.e2e.conftest import links_in, mail_to

EN_SUBJECT = "Diplomatic corps update: spring 2031"
EN_BODY = "Dear colleagues,\n\nThe **Tokyo Marathon** is on 2 March.\n\n- Road closures from 8:00\n"
JA_SUBJECT = "がいこうだんの みなさんへ：2031年 春"
JA_BODY = "みなさん、こんにちは。\n\n**東京マラソン**は 3月2日です。\n\n- 朝 8時から 道が 通れません\n"


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def messages_to(sink, address: str) -> list:
    return [m for m in sink.handler.messages if address in str(m["To"])]


def unsubscribe_link(message) -> str:
    found = [u for u in links_in(message) if "/unsubscribe/" in u]
    assert len(found) == 1, links_in(message)
    return found[0]


def check_reader_message(message, base_url: str, *, subject: str, language: str, body_words: str) -> None:
    """One reader's copy: their language, the RFC 8058 headers and a visible unsubscribe link in both parts."""
    assert str(message["Subject"]) == subject
    assert message["Message-ID"] and message["Date"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert body_words in text and body_words in html
    assert f'<html lang="{language}">' in html
    link = unsubscribe_link(message)
    assert link.startswith(f"{base_url}/unsubscribe/"), link
    assert f'href="{link}"' in html  # the visible link of the HTML part is the reader's own
    # List-Unsubscribe: the web link (https in production: BASE_URL's scheme; the test server's is http) and mailto.
    header = " ".join(str(message["List-Unsubscribe"]).split())
    web, mailto = re.findall(r"<([^>]+)>", header)
    assert web == link
    assert mailto.startswith("mailto:") and "subject=unsubscribe" in mailto
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert message["List-Id"]


def make_reader(staff, mailing_list: MailingList, family_name: str, language: str, address: str):
    contact = services.create_contact(actor=staff, family_name=family_name, given_name="Alex",
                                      preferred_language=language, emails=[address])
    if mailing_list is not None:
        newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)
    return contact


def send_an_issue(live_server, author_id: int, approver_id: int, readers: dict[str, str], **list_fields) -> int:
    """A list of `readers` (address → preferred language) and an issue of it in English and plain Japanese,
    written, approved and started through the services in the live server's app, so that its Celery tasks go
    where the e2e worker reads them. Returns the issue's id."""
    with live_server.app.app_context():
        author, approver = db.session.get(User, author_id), db.session.get(User, approver_id)
        mailing_list = newsletters.create_list(
            actor=author, names={"en": "Diplomatic corps weekly update", "ja": "外交団向け週報"}, **list_fields)
        for n, (address, language) in enumerate(readers.items()):
            make_reader(author, mailing_list, f"Reader{n}", language, address)
        issue = newsletters.create_issue(list_id=mailing_list.id, actor=author)
        newsletters.save_variant(issue_id=issue.id, language="en", subject=EN_SUBJECT, body=EN_BODY, actor=author)
        newsletters.save_variant(issue_id=issue.id, language="ja-x-easy", subject=JA_SUBJECT, body=JA_BODY,
                                 actor=author)
        newsletters.submit_issue(issue_id=issue.id, actor=author)
        newsletters.approve_issue(issue_id=issue.id, actor=approver)
        sending.start_sending(issue_id=issue.id, actor=approver)
        db.session.commit()  # the send task leaves now, on the live app's broker and queue
        return issue.id


# -- 1. write, test, submit, approve, send --------------------------------------------------------------------


def test_an_editor_writes_an_issue_in_two_languages_another_approves_and_sends_it(
        browse, make_user, smtp_sink, wait_until_sent):
    uid = _uid()
    author = make_user(Role.EDITOR, name="Aiko Author", email=f"author-{uid}@metro.example")
    approver = make_user(Role.EDITOR, name="Ben Approver")
    ja_reader, en_reader = f"tanaka-{uid}@embassy-jp.example", f"smith-{uid}@embassy-uk.example"
    make_reader(author, None, "Tanaka", "ja", ja_reader)
    make_reader(author, None, "Smith", "en", en_reader)
    db.session.commit()

    # The editor creates the list, named in English and Japanese.
    editor = browse()
    editor.sign_in(author.email)
    page = editor.page
    editor.follow(lambda: page.get_by_role("navigation", name="Main").get_by_role("link", name="Newsletters")
                  .click())
    editor.follow(lambda: page.get_by_role("link", name="Create a list").click())
    first, second = page.get_by_role("group", name="Name 1"), page.get_by_role("group", name="Name 2")
    expect(first.get_by_label("Language", exact=True)).to_have_value("en")
    first.get_by_label("Name in this language").fill(f"Diplomatic corps weekly update {uid}")
    expect(second.get_by_label("Language", exact=True)).to_have_value("ja")
    second.get_by_label("Name in this language").fill(f"外交団向け週報 {uid}")
    editor.follow(lambda: page.get_by_role("button", name="Save the list").click())
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Diplomatic corps weekly update {uid}")
    expect(page.get_by_text(f"外交団向け週報 {uid}")).to_be_visible()
    db.session.expire_all()
    mailing_list = db.session.scalar(select(MailingList).order_by(MailingList.id.desc()))
    assert mailing_list.names == {"en": f"Diplomatic corps weekly update {uid}", "ja": f"外交団向け週報 {uid}"}

    # … and adds the two contacts, found by their addresses.
    editor.follow(lambda: page.get_by_role("link", name="Add subscribers").click())
    page.get_by_label("Name, in any script, or email").fill(f"{uid}@embassy-")
    editor.follow(lambda: page.get_by_role("button", name="Find").click())
    page.get_by_label(re.compile(f"Alex Tanaka {re.escape(ja_reader)}")).check()
    page.get_by_label(re.compile(f"Alex Smith {re.escape(en_reader)}")).check()
    editor.follow(lambda: page.get_by_role("button", name="Add the chosen contacts").click())
    expect(page.get_by_role("status").first).to_contain_text("2 contacts are added to the list.")
    subscribers = page.get_by_role("table", name="2 subscribers")
    for address in (ja_reader, en_reader):
        expect(subscribers.get_by_role("row").filter(has_text=address)).to_contain_text("Subscribed")

    # A new issue of the list; English first, with a live preview that shows what the sanitiser keeps.
    editor.follow(lambda: page.get_by_role("link", name="All issues of this list").click())
    editor.follow(lambda: page.get_by_role("link", name="Write a new issue").click())
    expect(page.get_by_label("Mailing list")).to_have_value(str(mailing_list.id))
    editor.follow(lambda: page.get_by_role("button", name="Start a draft").click())
    expect(page.get_by_role("status").first).to_contain_text("The draft is started")
    issue_url = page.url

    def add_language(code: str, subject: str, body: str, typed_extra: str = "") -> None:
        new = page.locator("#variant-new")
        new.get_by_label("New language").select_option(code)
        new.get_by_label("Subject").fill(subject)
        new.get_by_label("Text (Markdown)").fill(body + typed_extra)
        preview = page.get_by_role("region", name="Add a language Preview")
        expect(preview.locator("strong")).to_have_count(1)  # rendered by the server as it is typed
        if typed_extra:
            expect(preview.locator("li")).to_have_text("Road closures from 8:00")
            html = preview.inner_html()
            assert "<script" not in html and "onerror" not in html and "stolen" not in html, html
            assert page.evaluate("() => window.stolen") is None  # nothing the text held ran
            new.get_by_label("Text (Markdown)").fill(body)  # the editor takes it out again
            expect(preview).not_to_contain_text("stolen")
        editor.follow(lambda: new.get_by_role("button", name="Add this language").click())

    add_language("en", EN_SUBJECT, EN_BODY,
                 '\n<script>window.stolen = "stolen"</script>\n<img src="x" onerror="window.stolen=1">\n')
    expect(page.get_by_role("status").first).to_contain_text("English is added.")
    add_language("ja-x-easy", JA_SUBJECT, JA_BODY)
    expect(page.get_by_role("status").first).to_contain_text("is added.")
    english = page.get_by_role("region", name="English en · default Preview")
    expect(english.locator("strong")).to_have_text("Tokyo Marathon")
    plain = page.locator("#preview-ja-x-easy")
    expect(plain.locator("strong")).to_have_text("東京マラソン")
    readers = page.get_by_role("table", name="The list's subscribers by the language they prefer")
    expect(readers.get_by_role("row").filter(has_text="Japanese")).to_contain_text("Plain Japanese")
    expect(page.locator("#missing-languages")).to_have_count(0)  # each reader gets their language

    # A test to themself, as a reader would get it.
    test = page.get_by_role("region", name="Send a test")
    test.get_by_label("Language of the test").select_option("ja-x-easy")
    expect(test.get_by_label("My own address")).to_be_checked()
    editor.follow(lambda: test.get_by_role("button", name="Send a test").click())
    expect(page.get_by_role("status").first).to_contain_text(f"is on its way to {author.email}")
    trial = mail_to(smtp_sink, author.email)
    assert str(trial["Subject"]) == f"[TEST] {JA_SUBJECT}"
    assert "東京マラソン" in trial.get_body(preferencelist=("plain",)).get_content()

    # Submitted for approval; its author cannot approve it, and is told why.
    editor.follow(lambda: page.get_by_role("link", name="Submit for approval").click())
    editor.follow(lambda: page.get_by_role("button", name="Submit for approval").click())
    expect(page.get_by_role("status").first).to_contain_text("The issue is waiting for approval.")
    expect(page.get_by_text("You wrote this issue, so someone else must approve it.")).to_be_visible()
    expect(page.get_by_role("link", name="Approve", exact=True)).to_have_count(0)
    editor.goto(f"{issue_url}/approve")
    editor.follow(lambda: page.get_by_role("button", name="Approve").click(), status=422)
    expect(page.get_by_role("alert")).to_contain_text("Another staff member must approve this issue: its author "
                                                      "cannot.")
    db.session.expire_all()
    issue = db.session.scalar(select(Issue).where(Issue.list_id == mailing_list.id))
    assert issue.status == IssueStatus.AWAITING_APPROVAL and issue.approver_id is None

    # Another editor approves it and sends it; the page follows the sending until it is done.
    second_editor = browse()
    second_editor.sign_in(approver.email)
    sp = second_editor.page
    second_editor.goto(f"/newsletters/issues/?list={mailing_list.id}")
    second_editor.follow(lambda: sp.get_by_role("link", name=EN_SUBJECT).click())
    second_editor.follow(lambda: sp.get_by_role("link", name="Approve", exact=True).click())
    second_editor.follow(lambda: sp.get_by_role("button", name="Approve").click())
    expect(sp.get_by_role("status").first).to_contain_text("The issue is approved")
    second_editor.follow(lambda: sp.get_by_role("link", name="Send now").click())
    expect(sp.get_by_text("It will go to 2 subscribers.")).to_be_visible()
    second_editor.follow(lambda: sp.get_by_role("button", name="Send now").click())
    expect(sp.get_by_role("status").first).to_contain_text("Sending has started.")
    expect(sp.locator("#progress-summary")).to_have_text(
        "2 of 2 handled: 2 sent, 0 failed, 0 pending, 0 cancelled. Sending is finished.")
    expect(sp.locator("#progress-bar")).to_have_attribute("value", "2")

    # Each reader has exactly one copy, in their language, with the unsubscribe headers and link.
    for address in (ja_reader, en_reader):
        wait_until_sent(address)
    (ja_copy,), (en_copy,) = messages_to(smtp_sink, ja_reader), messages_to(smtp_sink, en_reader)
    check_reader_message(ja_copy, editor.base_url, subject=JA_SUBJECT, language="ja-x-easy", body_words="東京マラソン")
    check_reader_message(en_copy, editor.base_url, subject=EN_SUBJECT, language="en", body_words="Tokyo Marathon")
    assert "stolen" not in en_copy.get_body(preferencelist=("html",)).get_content()
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status == IssueStatus.SENT and issue.author_id == author.id and issue.approver_id == approver.id


# -- 2. unsubscribing ---------------------------------------------------------------------------------------


def test_a_reader_unsubscribes_from_the_link_and_another_by_one_click(browse, make_user, smtp_sink,
                                                                      wait_until_sent, live_server):
    uid = _uid()
    author, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    leaver, one_click = f"leaver-{uid}@embassy-fr.example", f"oneclick-{uid}@embassy-de.example"
    issue_id = send_an_issue(live_server, author.id, approver.id, {leaver: "fr", one_click: "de"})
    link = unsubscribe_link(mail_to(smtp_sink, leaver))

    def subscription_of(address: str) -> Subscription:
        db.session.expire_all()
        return db.session.scalar(select(Subscription).join(Contact, Contact.id == Subscription.contact_id)
                                 .join(ContactEmail).where(ContactEmail.address == address))

    # The link only asks; the button unsubscribes.
    reader = browse()
    rp = reader.page
    reader.goto(link)
    expect(rp.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    expect(rp.get_by_text("Stop receiving Diplomatic corps weekly update at this address?")).to_be_visible()
    assert subscription_of(leaver).status == SubscriptionStatus.ACTIVE
    reader.follow(lambda: rp.get_by_role("button", name="Unsubscribe").click())
    expect(rp.get_by_role("heading", level=1)).to_have_text("Unsubscribed")
    expect(rp.get_by_role("status")).to_contain_text(
        "You are no longer subscribed to Diplomatic corps weekly update.")
    left = subscription_of(leaver)
    assert left.status == SubscriptionStatus.UNSUBSCRIBED and left.unsubscribed_issue_id == issue_id
    reader.goto(link)  # the link again says so, and has no button left
    expect(rp.get_by_text("You are no longer subscribed to Diplomatic corps weekly update.")).to_be_visible()
    expect(rp.get_by_role("button", name="Unsubscribe")).to_have_count(0)

    # The issue's report counts them.
    wait_until_sent(one_click)
    staff = browse()
    staff.sign_in(author.email)
    sp = staff.page
    staff.goto(f"/newsletters/issues/{issue_id}")
    staff.follow(lambda: sp.get_by_role("link", name="Report: failures, bounces and unsubscribes").click())
    facts = sp.locator("dl.facts")
    expect(facts.locator("dt:has-text('Unsubscribed through this issue') + dd")).to_have_text("1")
    expect(facts.locator("dt:has-text('Delivered to their mail server') + dd")).to_have_text("2")
    expect(sp.get_by_role("table", name="1 reader left")).to_contain_text("Alex Reader0")

    # RFC 8058: a mail program POSTs the header's link with no session, no cookie and no CSRF token.
    header_link = re.findall(r"<([^>]+)>", str(mail_to(smtp_sink, one_click)["List-Unsubscribe"]))[0]
    request = urllib.request.Request(header_link, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert subscription_of(one_click).status == SubscriptionStatus.UNSUBSCRIBED
    staff.goto(f"/newsletters/issues/{issue_id}/report")
    expect(sp.locator("dl.facts dt:has-text('Unsubscribed through this issue') + dd")).to_have_text("2")


# -- 3. the public form and the archive ----------------------------------------------------------------------


def test_a_visitor_subscribes_on_the_public_form_and_reads_the_archive(browse, make_user, smtp_sink,
                                                                       wait_until_sent, live_server):
    uid = _uid()
    author, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    issue_id = send_an_issue(live_server, author.id, approver.id,
                             {f"first-{uid}@embassy-it.example": "ja", f"second-{uid}@embassy-es.example": "en"},
                             public_subscribe=True, double_opt_in=True, archive_visibility="public")
    db.session.expire_all()
    mailing_list = db.session.get(Issue, issue_id).mailing_list
    visitor_address = f"visitor-{uid}@consulate.example"

    # The form; a missing consent is told at its field, and nothing is recorded.
    visitor = browse()
    vp = visitor.page
    visitor.goto(f"/newsletters/{mailing_list.id}/subscribe")
    expect(vp.get_by_role("heading", level=1)).to_have_text("Subscribe to Diplomatic corps weekly update")
    vp.get_by_label("Email", exact=True).fill(visitor_address)
    vp.get_by_label("Given name").fill("Maria")
    vp.get_by_label("Family name").fill("Rossi")
    vp.get_by_label("Language you would like to read it in").select_option("ja")
    visitor.follow(lambda: vp.get_by_role("button", name="Subscribe").click(), status=422)
    expect(vp.get_by_role("alert")).to_contain_text("Tick the box to agree")
    vp.get_by_label(re.compile("I agree to receive this newsletter")).check()
    visitor.follow(lambda: vp.get_by_role("button", name="Subscribe").click())
    expect(vp.get_by_role("heading", level=1)).to_have_text("Thank you")

    # The confirmation link: GET asks, the button confirms.
    message = mail_to(smtp_sink, visitor_address)
    confirm = [u for u in links_in(message) if "/subscribe/confirm/" in u]
    assert len(confirm) == 1, links_in(message)
    visitor.goto(urlsplit(confirm[0]).path)
    expect(vp.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
    db.session.expire_all()
    subscription = db.session.scalar(select(Subscription).where(Subscription.contact.has(family_name="Rossi")))
    assert subscription.status == SubscriptionStatus.PENDING
    visitor.follow(lambda: vp.get_by_role("button", name="Confirm my subscription").click())
    expect(vp.get_by_role("status")).to_contain_text("is confirmed")

    # Staff see them subscribed, with their consent given on the form.
    staff = browse()
    staff.sign_in(author.email)
    staff.goto(f"/newsletters/{mailing_list.id}")
    row = staff.page.get_by_role("row").filter(has_text=visitor_address)
    expect(row).to_contain_text("Subscribed")
    expect(row).to_contain_text("Given by the person, on a form")
    expect(row).to_contain_text("confirmed")
    db.session.expire_all()
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.consent_method == ConsentMethod.FORM
    assert subscription.contact.preferred_language == "ja"

    # The public archive, without an account: the sent issue in English and in plain Japanese.
    wait_until_sent(f"first-{uid}@embassy-it.example")
    reader = browse()
    ap = reader.page
    reader.goto(f"/newsletters/{mailing_list.id}/archive")
    expect(ap.get_by_role("heading", level=1)).to_have_text("Past issues of Diplomatic corps weekly update")
    reader.follow(lambda: ap.get_by_role("link", name=EN_SUBJECT).click())
    article = ap.locator("article")
    expect(article).to_have_attribute("lang", "en")
    expect(article.get_by_role("heading", level=1)).to_have_text(EN_SUBJECT)
    expect(article.locator("strong")).to_have_text("Tokyo Marathon")
    languages = ap.get_by_role("navigation", name="Languages of this issue")
    reader.follow(lambda: languages.locator("a[hreflang='ja-x-easy']").click())
    expect(article).to_have_attribute("lang", "ja-x-easy")
    expect(article.get_by_role("heading", level=1)).to_have_text(JA_SUBJECT)
    expect(article.locator("strong")).to_have_text("東京マラソン")
    expect(article).to_contain_text("外交団向け週報")  # the list's name in the variant's language


# -- 4. a prepared alert ---------------------------------------------------------------------------------------


def test_an_earthquake_alert_is_prepared_reviewed_approved_and_sent(browse, make_user, smtp_sink, wait_until_sent):
    uid = _uid()
    author = make_user(Role.EDITOR, name="Aiko Author")
    approver = make_user(Role.EDITOR, name="Ben Approver")
    readers = {f"ja-{uid}@embassy.example": "ja", f"ko-{uid}@embassy.example": "ko",
               f"en-{uid}@embassy.example": "en"}
    mailing_list = newsletters.create_list(actor=author, names={"en": "Emergency alerts", "ja": "緊急情報"})
    for n, (address, language) in enumerate(readers.items()):
        make_reader(author, mailing_list, f"Reader{n}", language, address)
    alerts.seed_templates(list_id=mailing_list.id)  # `kizuna seed-alert-templates`, as an administrator runs it
    db.session.commit()

    # Step 1: fill in the earthquake template.
    editor = browse()
    editor.sign_in(author.email)
    page = editor.page
    editor.follow(lambda: page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click())
    editor.follow(lambda: page.get_by_role("link", name="Prepare an alert").click())
    editor.follow(lambda: page.get_by_role("link", name=re.compile(r"^Prepare an alert ?: Earthquake$")).click())
    expect(page.get_by_label("Send to the list")).to_have_value(str(mailing_list.id))
    page.get_by_label("Time of the earthquake").fill("2031-03-04T10:15")
    page.get_by_label(re.compile("^Epicentre")).fill("Tokyo Bay / 東京湾")
    page.get_by_label("Magnitude").fill("6.1")
    page.get_by_label(re.compile("^Highest seismic intensity")).fill("5+")
    page.get_by_label("Areas with the strongest shaking").fill("Chuo, Minato / 中央区・港区")
    page.get_by_label("Tsunami").select_option("advisory")
    editor.follow(lambda: page.get_by_role("button", name="Review every language").click())

    # Step 2: every language, filled in, and who reads which.
    expect(page.get_by_role("heading", level=1)).to_have_text("Review the alert: Earthquake")
    shown = page.locator("section.panel")
    expect(shown).to_have_count(14)
    for n in range(14):
        expect(shown.nth(n)).to_contain_text("Tokyo Bay / 東京湾")
    expect(page.locator("section.panel[lang='en']")).to_contain_text("Magnitude: 6.1")
    expect(page.locator("section.panel[lang='fr']")).to_contain_text("6,1")  # numbers as each reader writes them
    expect(page.locator("section.panel[lang='en']")).to_contain_text("A tsunami advisory is in force")
    expect(page.locator("section.panel[lang='ko']")).to_contain_text("쓰나미 주의보")
    expect(page.get_by_text("Every reader gets their own language.")).to_be_visible()
    editor.follow(lambda: page.get_by_role("button", name="Submit for approval").click())
    expect(page.get_by_role("status").first).to_contain_text(
        "The alert is waiting for another staff member's approval.")
    expect(page.get_by_text("You prepared this alert: another staff member must read and approve it")).to_be_visible()

    # Its author cannot send it.
    page.get_by_label(re.compile("I have read this alert in every language")).check()
    editor.follow(lambda: page.get_by_role("button", name="Approve and send now").click(), status=422)
    # Told above the form and at the checkbox.
    expect(page.get_by_role("alert")).to_contain_text("Another staff member must approve this issue")
    expect(page.locator("#checked-error")).to_have_text("Another staff member must approve this issue: its author "
                                                        "cannot.")
    expect(page.get_by_label(re.compile("I have read this alert"))).to_have_attribute("aria-describedby",
                                                                                      "checked-error")
    db.session.expire_all()
    issue = db.session.scalar(select(Issue).where(Issue.list_id == mailing_list.id))
    assert issue.status == IssueStatus.AWAITING_APPROVAL

    # Another staff member approves it from the alerts queue, and it is being sent.
    other = browse()
    other.sign_in(approver.email)
    op = other.page
    other.follow(lambda: op.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click())
    waiting = op.get_by_role("table", name="Awaiting approval")
    en_subject = "Earthquake: magnitude 6.1, seismic intensity 5+ in Tokyo"
    expect(waiting.get_by_role("row").filter(has_text=en_subject)).to_contain_text("Aiko Author")
    other.follow(lambda: waiting.get_by_role("link", name=en_subject).click())
    op.get_by_label(re.compile("I have read this alert in every language")).check()
    other.follow(lambda: op.get_by_role("button", name="Approve and send now").click())
    expect(op.get_by_role("status").first).to_contain_text("The alert is approved and being sent")

    # Each reader gets it once, in their language, through the alerts queue.
    subjects = {"ja": "【地震】マグニチュード6.1、都内の最大震度5+", "ko": "[지진] 규모 6.1, 도쿄도 내 최대 진도 5+",
                "en": en_subject}
    for address, language in readers.items():
        wait_until_sent(address)
        assert mail_to(smtp_sink, address)["Subject"] == subjects[language]
        assert sum(1 for m in smtp_sink.handler.messages if address in str(m["To"])) == 1
    # The alerts page lists it among the last sent, approved by the other staff member.
    other.follow(lambda: op.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click())
    other.follow(lambda: op.get_by_role("table", name="Last sent").get_by_role("link", name=en_subject).click())
    expect(op.locator("dl.facts dt:has-text('Approved by') + dd")).to_contain_text("Ben Approver")
    expect(op.get_by_role("region", name="Approve and send")).to_have_count(0)
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status == IssueStatus.SENT and issue.approver_id == approver.id and issue.author_id == author.id
