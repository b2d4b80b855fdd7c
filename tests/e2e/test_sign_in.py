"""Signing in and out in a real browser, and moving through the pages by keyboard."""

import pytest
from playwright.sync_api import expect

from kizuna.models import Role


def test_sign_in_returns_to_the_page_asked_for(tab, make_user):
    user = make_user(Role.EDITOR, name="Aiko Tanaka")
    tab.goto("/admin/outbox")  # redirected to the sign-in page, which says why
    expect(tab.page).to_have_url(f"{tab.base_url}/login?next=%2Fadmin%2Foutbox")
    expect(tab.page.get_by_role("status")).to_contain_text("Sign in to open that page.")

    tab.sign_in(user.email, path="")

    expect(tab.page).to_have_url(f"{tab.base_url}/admin/outbox")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Outbox")
    expect(tab.page.get_by_role("link", name="Aiko Tanaka")).to_be_visible()


def test_failed_sign_in_says_what_is_wrong_and_marks_the_field(tab, make_user):
    user = make_user(Role.VIEWER)
    tab.goto("/login")
    tab.page.get_by_label("Email").fill(user.email)
    tab.page.get_by_label("Password", exact=True).fill("not the password")
    tab.follow(lambda: tab.page.get_by_role("button", name="Sign in").click(), status=422)

    message = "The email address or the password is not right."
    summary = tab.page.get_by_role("alert")
    expect(summary).to_contain_text(message)
    expect(summary).to_be_focused()  # keyboard and screen-reader users start at what to correct
    password = tab.page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(message)
    expect(password).to_have_value("")  # never echoed back
    expect(tab.page.get_by_label("Email")).to_have_value(user.email)

    tab.sign_in(user.email, path="")  # the right password still works after one mistake
    expect(tab.page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.email}")


def test_sign_out(tab, make_user):
    user = make_user(Role.VIEWER)
    tab.sign_in(user.email)
    tab.follow(lambda: tab.page.get_by_role("button", name="Sign out").click())
    expect(tab.page).to_have_url(f"{tab.base_url}/login")
    expect(tab.page.get_by_role("status")).to_contain_text("You are signed out.")
    tab.goto("/")  # the session is gone
    expect(tab.page).to_have_url(f"{tab.base_url}/login?next=%2F")


@pytest.mark.parametrize(("path", "signed_in"), [
    ("/login", False), ("/password/forgot", False), ("/", True), ("/admin/users", True), ("/account", True),
])
def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(tab, make_user, path, signed_in):
    if signed_in:
        tab.sign_in(make_user(Role.ADMIN).email)
    tab.goto(path)
    page = tab.page

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()  # off-screen until focused, then visible where sighted keyboard users look
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, box

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(page).to_have_url(f"{tab.base_url}{path}#main")

    # The next Tab continues inside main, past the header's links and forms.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)"), \
        page.evaluate("() => document.activeElement.outerHTML")


def test_sign_in_form_works_with_the_keyboard_alone(tab, make_user):
    user = make_user(Role.VIEWER)
    tab.goto("/login")
    page = tab.page
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip link
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type("correct horse battery")
    tab.follow(lambda: page.keyboard.press("Enter"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.email}")
