"""The partners pages in a browser, every page through axe: an editor adds a contact (told at the field
what is wrong), logs an interaction with a gift and a follow-up, and finds it among their follow-ups; the
other lists of the section; a liaison keeps their own profile."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role
from partners import services
from partners.models import Contact


def test_an_editor_adds_a_contact_and_logs_an_interaction(tab, make_user, reference_data):
    editor = make_user(Role.EDITOR)
    tab.sign_in(editor.email)
    page = tab.page
    tab.follow(lambda: page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")
    tab.follow(lambda: page.get_by_role("link", name="Add a contact").click())

    page.get_by_label("Family name in Latin script").fill("Yamada")
    page.get_by_label("Given name in Latin script").fill("Taro")
    page.get_by_label("Family name in the person's own script").fill("山田")
    page.get_by_label("Given name in the person's own script").fill("太郎")
    page.get_by_label("Country").select_option("JP")
    page.get_by_label("Email address", exact=True).fill("not an address")
    page.get_by_label("Phone number", exact=True).fill("03-5321-1111")
    tab.follow(lambda: page.get_by_role("button", name="Save").click(), status=422)
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_label("Email address", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Email address", exact=True).fill("taro.yamada@example.org")
    tab.follow(lambda: page.get_by_role("button", name="Save").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("YAMADA Taro")
    expect(page.get_by_role("link", name="+81 3-5321-1111")).to_be_visible()
    contact = db.session.scalar(select(Contact).where(Contact.family_name == "Yamada"))
    assert contact.phones[0].number == "+81353211111"

    tab.follow(lambda: page.get_by_role("link", name="The interaction log of YAMADA Taro").click())
    tab.follow(lambda: page.get_by_role("link", name="Log an interaction").click())
    page.get_by_label("Kind").select_option("gift_received")
    page.get_by_label("Subject").fill("Courtesy visit of the delegation")
    page.get_by_label("Gift").fill("Lacquer box")
    page.get_by_label("Value").fill("15000")
    page.get_by_label("Currency").fill("JPY")
    tab.follow(lambda: page.get_by_role("button", name="Log the interaction").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Courtesy visit of the delegation")
    expect(page.get_by_text("¥15,000")).to_be_visible()

    tab.follow(lambda: page.get_by_role("link", name="Add a follow-up").click())
    page.get_by_label("Due on").fill("2000-01-01")  # before the interaction: refused at the field
    page.get_by_label("What is to be done").fill("Send a letter of thanks")
    tab.follow(lambda: page.get_by_role("button", name="Add the follow-up").click(), status=422)
    expect(page.get_by_label("Due on")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Due on").fill("2099-01-01")
    tab.follow(lambda: page.get_by_role("button", name="Add the follow-up").click())
    tab.goto("/partners/follow-ups")
    expect(page.get_by_role("cell", name="Send a letter of thanks", exact=True)).to_be_visible()
    tab.follow(lambda: page.get_by_role("button", name="Mark done : Send a letter of thanks").click())
    expect(page.get_by_role("cell", name="Send a letter of thanks", exact=True)).to_have_count(0)

    for path in ("/partners/organisations", "/partners/log", "/partners/import", "/partners/export",
                 "/partners/duplicates", f"/partners/contacts/{contact.id}/edit"):
        tab.goto(path)  # audited by axe on arrival


def test_a_liaison_keeps_their_own_profile(tab, make_user, make_embassy, reference_data):
    embassy = make_embassy()
    liaison = make_user(Role.LIAISON, embassy_id=embassy.id)
    staff = make_user(Role.EDITOR)
    organisation = services.create_organisation(kind="embassy", name=embassy.name, embassy_id=embassy.id,
                                                actor=staff)
    contact = services.create_contact(family_name="Martin", given_name="Claire", country_code="FR",
                                      emails=[{"address": liaison.email}], actor=staff)
    services.add_position(contact_id=contact.id, organisation_id=organisation.id, title="Counsellor", actor=staff)
    contact.user_id = liaison.id
    db.session.commit()
    tab.sign_in(liaison.email)
    page = tab.page
    tab.follow(lambda: page.get_by_role("navigation", name="Main").get_by_role("link", name="My profile").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("My profile")
    expect(page.get_by_label("Given name in Latin script")).to_have_value("Claire")
    page.get_by_label("Phone number", exact=True).fill("+33 1 23 45 67 89")
    tab.follow(lambda: page.get_by_role("button", name="Save my profile").click())
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).phones[0].number == "+33123456789"
    tab.goto("/partners/contacts", status=403)
