"""Every page each kind of account reaches by its navigation, audited with axe; and the error pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kizuna import services
from kizuna.extensions import db
from kizuna.models import Role, User
from tests.e2e.conftest import mail_to


def nav_links(tab) -> list[tuple[str, str]]:
    links = tab.page.get_by_role("navigation", name="Main").get_by_role("link")
    return [(a.inner_text(), a.get_attribute("href")) for a in links.all()]


@pytest.mark.parametrize(("role", "expected"), [
    (Role.ADMIN, ["Home", "Network", "Cities", "Contacts", "Meetings", "Newsletters", "Alerts", "Outbox", "Users",
                  "Audit log"]),
    (Role.EDITOR, ["Home", "Network", "Cities", "Contacts", "Meetings", "Newsletters", "Alerts", "Outbox"]),
    (Role.VIEWER, ["Home", "Network", "Cities", "Contacts", "Meetings", "Newsletters", "Alerts", "Outbox"]),
    (Role.DELEGATE, ["Home", "My profile", "My meetings"]),
    (Role.LIAISON, ["Home", "My profile", "My meetings"]),
])
def test_every_page_in_the_navigation_passes_axe(tab, make_user, role, expected):
    user = make_user(role)  # a delegate or a liaison gets a partner or an embassy to be bound to
    tab.sign_in(user.email)
    links = nav_links(tab)
    assert [label for label, _ in links] == expected
    for label, href in links:
        tab.follow(lambda label=label: tab.page.get_by_role("navigation", name="Main")
                   .get_by_role("link", name=label, exact=True).click())
        expect(tab.page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True)) \
            .to_have_attribute("aria-current", "page")
        assert tab.page.url == tab.base_url + href
    tab.follow(lambda: tab.page.get_by_role("banner").get_by_role("link", name=user.email).click())
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Your account")


def test_account_page_with_a_new_api_token(tab, make_user):
    user = make_user(Role.EDITOR)
    tab.sign_in(user.email)
    tab.goto("/account")
    section = tab.page.get_by_role("region", name="API tokens")
    section.get_by_label("What the token is for").fill("reporting")
    tab.follow(lambda: section.get_by_role("button", name="Create token").click())
    expect(tab.page.get_by_role("alert")).to_contain_text("Copy it now: it will not be shown again.")
    expect(tab.page.get_by_role("table", name="API tokens").get_by_role("row")).to_have_count(2)
    tab.follow(lambda: tab.page.get_by_role("button", name="Revoke").click())
    expect(tab.page.get_by_role("status")).to_contain_text("The token is revoked.")


def test_audit_log_and_user_pages(tab, make_user):
    admin = make_user(Role.ADMIN)
    other = make_user(Role.VIEWER, name="Yuki Mori")
    tab.sign_in(admin.email)
    tab.goto("/admin/users")
    tab.follow(lambda: tab.page.get_by_role("link", name=other.email).click())
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Yuki Mori")
    tab.follow(lambda: tab.page.get_by_role("link", name="Full history in the audit log").click())
    expect(tab.page.get_by_role("table")).to_contain_text("user.create")
    tab.goto("/admin/audit?action=user.login")
    expect(tab.page.get_by_role("table").get_by_role("row")).to_have_count(2)


def test_outbox_and_a_delivered_message(tab, live_server, make_user, wait_until_sent, smtp_sink):
    admin = make_user(Role.ADMIN)
    with live_server.app.app_context():  # queued as the server would, so that the e2e worker delivers it
        services.invite_user(email="mail.reader@example.test", role=Role.VIEWER, name="Mail Reader",
                             actor=db.session.get(User, admin.id))
        db.session.commit()
    mail_to(smtp_sink, "mail.reader@example.test")
    wait_until_sent("mail.reader@example.test")

    tab.sign_in(admin.email)
    tab.goto("/admin/outbox")
    expect(tab.page.get_by_role("row").filter(has_text="mail.reader@example.test")).to_contain_text("sent")
    tab.follow(lambda: tab.page.get_by_role("link", name="You are invited to Kizuna").click())
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("You are invited to Kizuna")
    expect(tab.page.frame_locator("iframe").get_by_text("Hello Mail Reader,")).to_be_visible()


@pytest.mark.parametrize(("path", "status", "title"), [
    ("/no/such/page", 404, "Page not found"),
    ("/admin/outbox/999999", 404, "Page not found"),
    ("/admin/users/999999", 403, "Not allowed"),  # refused before anything is looked up
])
def test_error_pages(tab, make_user, path, status, title):
    tab.sign_in(make_user(Role.VIEWER).email)
    tab.goto(path, status=status)
    expect(tab.page.get_by_role("heading", level=1)).to_have_text(f"{title} ({status})")
    expect(tab.page).to_have_title(f"{title} · Kizuna")
    tab.follow(lambda: tab.page.get_by_role("link", name="Go to the home page").click())


def test_signed_out_pages(tab):
    tab.goto("/password/forgot")
    tab.page.get_by_label("Email").fill("nobody@example.test")
    tab.follow(lambda: tab.page.get_by_role("button", name="Send me a link").click())
    expect(tab.page.get_by_role("status")).to_contain_text("If an account uses nobody@example.test")
    tab.goto("/invitation/not-a-token", status=410)
    expect(tab.page.get_by_role("alert")).to_have_text("This link is not valid. Check that you copied all of it.")
    tab.goto("/password/reset/not-a-token", status=410)
    expect(tab.page.get_by_role("link", name="Ask for a new link")).to_be_visible()
