"""Importing a spreadsheet in a browser: upload, choose a city with the keyboard, save; every page audited."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import Role
from network.models import Partner

PARTNERS = """名称,国,都市
Kawasaki partners,JP,Kawasaki
Fuchu people,JP,府中
"""


def test_an_editor_imports_a_shift_jis_file_and_resolves_a_city_with_the_keyboard(tab, make_user, reference_data):
    tab.sign_in(make_user(Role.EDITOR).email)
    page = tab.page

    tab.goto("/network/")
    tab.follow(lambda: page.get_by_role("link", name="Import", exact=True).click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Import from a spreadsheet")
    page.get_by_label("What the file lists").select_option("partners")
    page.get_by_label("Spreadsheet").set_input_files(
        {"name": "partners.csv", "mimeType": "text/csv", "buffer": PARTNERS.encode("cp932")})
    tab.follow(lambda: page.get_by_role("button", name="Upload and preview").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview of partners.csv")
    expect(page.get_by_text("Needs a choice")).to_be_visible()

    # Saving before choosing is refused, row by row, and saves nothing.
    tab.follow(lambda: page.get_by_role("button", name="Save all rows").click(), status=422)
    expect(page.get_by_text("Nothing was saved").first).to_be_visible()
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0

    choices = page.get_by_role("group", name=re.compile(r"^Row 3: which"))
    first = choices.get_by_role("radio").first
    first.focus()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    tab.follow(lambda: page.get_by_role("button", name="Check again").press("Enter"))
    expect(page.get_by_text("2 of 2 rows ready")).to_be_visible()
    tab.follow(lambda: page.get_by_role("button", name="Save all rows").press("Enter"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Partners")
    expect(page.get_by_text("2 rows saved.")).to_be_visible()
    expect(page.get_by_role("link", name="Fuchu people")).to_be_visible()
