"""An agreement's life in a browser: a document attached (and a wrong file refused at its field), the
agreement edited and terminated, and the anniversaries reached from the registry home; each page audited."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role
from network import demo
from network.models import Agreement, Partner

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_an_editor_attaches_a_document_edits_and_terminates_an_agreement(tab, make_user, reference_data, tmp_path):
    assert demo.seed_tokyo()
    db.session.commit()
    berlin = db.session.scalar(select(Partner).where(Partner.name == "Berlin"))
    agreement = db.session.scalar(select(Agreement).where(Agreement.parties.any(Partner.id == berlin.id)))
    tab.sign_in(make_user(Role.EDITOR).email)
    page = tab.page
    tab.goto(f"/network/agreements/{agreement.id}")

    wrong = tmp_path / "communique.pdf"
    wrong.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    page.get_by_label("Document", exact=True).set_input_files(str(wrong))
    tab.follow(lambda: page.get_by_role("button", name="Attach the document").click(), status=422)
    expect(page.get_by_label("Document", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("whatever its name says").last).to_be_visible()

    right = tmp_path / "共同コミュニケ.pdf"
    right.write_bytes(PDF)
    page.get_by_label("Document", exact=True).set_input_files(str(right))
    tab.follow(lambda: page.get_by_role("button", name="Attach the document").click())
    documents = page.get_by_role("table", name="1 document")
    expect(documents.get_by_role("link", name="共同コミュニケ.pdf", exact=True)).to_be_visible()
    with page.expect_download() as download:
        documents.get_by_role("link", name="共同コミュニケ.pdf", exact=True).click()
    assert download.value.suggested_filename == "共同コミュニケ.pdf"
    assert open(download.value.path(), "rb").read() == PDF

    tab.follow(lambda: page.get_by_role("link", name="Edit", exact=True).click())
    page.get_by_label("Title", exact=True).fill("Joint Communiqué of Berlin and Tokyo")
    tab.follow(lambda: page.get_by_role("button", name="Save").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Joint Communiqué of Berlin and Tokyo")

    tab.follow(lambda: page.get_by_role("link", name="Terminate").click())
    page.get_by_label("Terminated on").fill("2099-01-01")
    page.get_by_label("Reason").fill("Superseded by a new agreement")
    tab.follow(lambda: page.get_by_role("button", name="Terminate the agreement").click(), status=422)
    expect(page.get_by_label("Terminated on")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Terminated on").fill("2025-01-31")
    tab.follow(lambda: page.get_by_role("button", name="Terminate the agreement").click())
    expect(page.locator("#terminated")).to_contain_text("Superseded by a new agreement")
    expect(page.get_by_role("link", name="Terminate")).to_have_count(0)


def test_a_viewer_reaches_the_anniversaries_from_the_registry_home(tab, make_user, reference_data):
    assert demo.seed_tokyo()
    db.session.commit()
    tab.sign_in(make_user(Role.VIEWER).email)
    page = tab.page
    tab.goto("/network/anniversaries?days=365")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anniversaries")
    expect(page.get_by_role("cell", name="New York City")).to_be_visible()
    page.get_by_label("In the next").select_option(label="30 days")
    tab.follow(lambda: page.get_by_role("button", name="Show").click())
    expect(page.get_by_label("In the next")).to_have_value("30")
    tab.goto("/network/")
    expect(page.get_by_role("link", name="Anniversaries as a calendar file (.ics)")).to_be_visible()
