"""The language switcher: Japanese pages for the reader who asks, by mouse or by keyboard."""

from __future__ import annotations

from babel.messages.pofile import read_po
from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role, User
from kizuna.paths import TRANSLATIONS


def japanese(msgid: str) -> str | None:
    """The Japanese catalog's translation of msgid, or None while it is not translated yet."""
    po = TRANSLATIONS / "ja" / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return None
    with po.open("rb") as fh:
        message = read_po(fh, locale="ja").get(msgid)
    return message.string if message is not None and message.string else None


def switcher(page):
    """The header's language list (the account page has a second "Language" field, for the profile)."""
    return page.get_by_role("banner").get_by_role("combobox")


def expect_japanese(page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(switcher(page)).to_have_value("ja")
    expect(switcher(page).locator("option:checked")).to_have_text("日本語")
    if label := japanese("Language"):
        expect(switcher(page)).to_have_accessible_name(label)


def test_anonymous_reader_switches_to_japanese(tab):
    tab.goto("/login")
    expect(tab.page.locator("html")).to_have_attribute("lang", "en")
    expect(switcher(tab.page)).to_have_accessible_name("Language")

    tab.follow(lambda: switcher(tab.page).select_option("ja"))

    expect(tab.page).to_have_url(f"{tab.base_url}/login")  # back on the page it was asked from
    expect_japanese(tab.page)
    if heading := japanese("Sign in to Kizuna"):
        expect(tab.page.get_by_role("heading", level=1)).to_have_text(heading)
    tab.goto("/password/forgot")  # the choice is kept for the session
    expect_japanese(tab.page)


def test_signed_in_choice_is_saved_on_the_account(tab, make_user):
    user = make_user(Role.VIEWER)
    tab.sign_in(user.email)
    tab.goto("/account?tab=1")  # the switcher returns to the page, query string included

    tab.follow(lambda: switcher(tab.page).select_option("ja"))

    expect(tab.page).to_have_url(f"{tab.base_url}/account?tab=1")
    expect_japanese(tab.page)
    if welcome := japanese("Welcome, %(name)s"):
        tab.goto("/")
        expect(tab.page.get_by_role("heading", level=1)).to_have_text(welcome % {"name": user.email})
    db.session.expire_all()
    assert db.session.scalar(select(User.language).where(User.id == user.id)) == "ja"


def test_keyboard_users_can_browse_the_languages_before_choosing(tab):
    """Arrow keys on a closed select fire `change` in Chromium: that must not reload the page under them."""
    tab.goto("/login")
    page = tab.page
    posts = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/language") and posts.append(r.url))

    select = switcher(page)
    select.focus()
    page.keyboard.press("ArrowDown")
    expect(select).to_have_value("ja")
    page.keyboard.press("ArrowUp")
    expect(select).to_have_value("en")
    page.keyboard.press("ArrowDown")
    expect(select).to_have_value("ja")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Change")).to_be_focused()
    tab.follow(lambda: page.keyboard.press("Enter"))

    expect_japanese(page)
    assert posts == [f"{tab.base_url}/language"]


def test_enter_on_the_language_list_applies_the_choice(tab):
    tab.goto("/login")
    page = tab.page
    select = switcher(page)
    select.focus()
    page.keyboard.press("ArrowDown")
    tab.follow(lambda: page.keyboard.press("Enter"))
    expect_japanese(page)
