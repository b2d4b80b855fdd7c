"""The city search page and its autocomplete (an ARIA 1.2 combobox over /api/v1/cities)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kizuna.models import Role


@pytest.fixture
def viewer_tab(tab, make_user, reference_data):
    tab.sign_in(make_user(Role.VIEWER).email)
    tab.goto("/network/cities")
    return tab


def test_suggestions_are_chosen_with_the_keyboard(viewer_tab):
    page = viewer_tab.page
    box = page.get_by_role("combobox", name="City name")
    listbox = page.get_by_role("listbox", name="Suggestions")
    expect(box).to_have_attribute("aria-expanded", "false")

    box.press_sequentially("zuri")  # accents and case do not matter: Zürich
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_have_text("Zürich, Switzerland (Europe/Zurich)")
    expect(page.get_by_role("status")).to_have_text(
        f"{options.count()} cities found. Use the up and down arrows to choose one.")
    viewer_tab.audit()  # the page with its suggestions open

    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "city-option-0")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.first).to_have_attribute("aria-selected", "false")
    box.press("ArrowUp")
    viewer_tab.follow(lambda: box.press("Enter"))

    expect(page).to_have_url(f"{viewer_tab.base_url}/network/cities?q=Z%C3%BCrich&country=")
    table = page.get_by_role("table", name="Cities starting with “Zürich”")
    expect(table.get_by_role("row").nth(1)).to_contain_text("Zürich")
    expect(table.get_by_role("row").nth(1)).to_contain_text("Europe/Zurich")


def test_escape_closes_the_suggestions(viewer_tab):
    page = viewer_tab.page
    box = page.get_by_role("combobox", name="City name")
    box.press_sequentially("gen")
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_visible()
    box.press("Escape")
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).not_to_have_attribute("aria-activedescendant", "city-option-0")


def test_country_narrows_the_suggestions_and_the_search(viewer_tab):
    page = viewer_tab.page
    page.get_by_label("Country").select_option(label="Japan")
    box = page.get_by_role("combobox", name="City name")
    box.press_sequentially("tok")
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(options.first).to_have_text("Tokyo, Japan (Asia/Tokyo)")
    texts = options.all_text_contents()
    assert texts and all(", Japan (" in t for t in texts), texts

    viewer_tab.follow(lambda: page.get_by_role("button", name="Search").click())
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Tokyo")
    assert all("Japan" in t for t in rows.all_text_contents()[1:])


def test_no_match_is_said_in_words(viewer_tab):
    page = viewer_tab.page
    box = page.get_by_role("combobox", name="City name")
    box.press_sequentially("qqxq")
    expect(page.get_by_role("status")).to_have_text("No city starts with these letters.")
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_hidden()
    viewer_tab.follow(lambda: box.press("Enter"))
    expect(page.get_by_text("No city starts with “qqxq”. Check the spelling, or try fewer letters.")).to_be_visible()
