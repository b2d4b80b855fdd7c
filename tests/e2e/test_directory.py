"""The directory in a browser: embassies and city networks, lists and details, each page audited with axe."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role
from network import demo
from network.models import CityNetwork, Embassy


def test_a_viewer_walks_the_embassies_and_the_city_networks(tab, make_user, reference_data):
    assert demo.seed_tokyo()
    db.session.commit()
    france = db.session.scalar(select(Embassy).where(Embassy.name == "Embassy of France"))
    u20 = db.session.scalar(select(CityNetwork).where(CityNetwork.acronym == "U20"))
    tab.sign_in(make_user(Role.VIEWER).email)
    page = tab.page

    tab.goto("/network/")
    tab.follow(lambda: page.get_by_role("link", name="Embassies and consulates").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Embassies and consulates")
    expect(page.get_by_role("table", name="7 missions")).to_be_visible()
    page.get_by_label("Ward").select_option("Chiyoda")
    tab.follow(lambda: page.get_by_role("button", name="Filter").click())
    expect(page.get_by_role("table", name="1 mission")).to_be_visible()
    tab.goto("/network/embassies")

    tab.follow(lambda: page.get_by_role("link", name="Embassy of France").press("Enter"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Embassy of France")
    assert page.url.endswith(f"/network/embassies/{france.id}")
    expect(page.get_by_role("link", name="+81 3-5798-6000")).to_have_attribute("href", "tel:+81357986000")
    expect(page.get_by_role("link", name="https://jp.ambafrance.org/")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Status history")).to_be_visible()

    tab.goto("/network/")
    tab.follow(lambda: page.get_by_role("link", name="City networks").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("City networks")
    networks = page.get_by_role("table", name="2 city networks")
    expect(networks.get_by_role("row", name="Urban 20")).to_contain_text("Member · since 2018")

    tab.follow(lambda: networks.get_by_role("link", name="Urban 20").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Urban 20")
    assert page.url.endswith(f"/network/networks/{u20.id}")
    expect(page.get_by_role("table", name="The home city's roles over time")).to_contain_text("2018")
    expect(page.get_by_role("table", name="4 member cities")).to_contain_text("Buenos Aires")
    expect(page.get_by_role("cell", name="U20 Tokyo Mayors Summit")).to_be_visible()


def test_an_editor_records_a_move_and_a_role_and_is_told_at_the_field_what_is_wrong(tab, make_user, reference_data):
    assert demo.seed_tokyo()
    db.session.commit()
    brazil = db.session.scalar(select(Embassy).where(Embassy.name == "Embassy of Brazil"))
    c40 = db.session.scalar(select(CityNetwork).where(CityNetwork.acronym == "C40"))
    tab.sign_in(make_user(Role.EDITOR).email)
    page = tab.page

    tab.goto(f"/network/embassies/{brazil.id}")
    tab.follow(lambda: page.get_by_role("link", name="Record a closure, reopening or move").click())
    page.get_by_label("Change").select_option(label="Move to a new address")
    page.get_by_label("Effective on").fill("2024-05-01")
    tab.follow(lambda: page.get_by_role("button", name="Record the change").click(), status=422)
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_label("New address")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("New address").fill("1-1-1 Marunouchi")
    page.get_by_label("Reason", exact=True).fill("New chancery")
    tab.follow(lambda: page.get_by_role("button", name="Record the change").click())
    expect(page.get_by_role("cell", name="New chancery")).to_be_visible()
    expect(page.get_by_role("cell", name="2-11-12 Kita-Aoyama")).to_be_visible()

    tab.goto(f"/network/networks/{c40.id}")
    tab.follow(lambda: page.get_by_role("link", name="Add a member city").click())
    page.get_by_label("City").fill("Atlantis, FR")
    tab.follow(lambda: page.get_by_role("button", name="Add the member").click(), status=422)
    expect(page.get_by_label("City")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("City").fill("Madrid, ES")
    tab.follow(lambda: page.get_by_role("button", name="Add the member").click())
    expect(page.get_by_role("table", name="6 member cities")).to_contain_text("Madrid")

    tab.follow(lambda: page.get_by_role("link", name="Set the home city's role").click())
    page.get_by_label("Role").select_option(label="Steering committee")
    page.get_by_label("Since").fill("2021-10")
    tab.follow(lambda: page.get_by_role("button", name="Set the role").click())
    expect(page.get_by_role("table", name="The home city's roles over time")).to_contain_text("October 2021")

    tab.follow(lambda: page.get_by_role("link", name="Add an event").click())
    page.get_by_label("Title").fill("C40 World Mayors Summit")
    page.get_by_label("Starts on").fill("2022-10-19")
    page.get_by_label("City").fill("Buenos Aires, AR")
    tab.follow(lambda: page.get_by_role("button", name="Add the event").click())
    expect(page.get_by_role("cell", name="Buenos Aires, Argentina")).to_be_visible()

    tab.goto("/network/networks/new")
    page.get_by_label("Name", exact=True).fill("ICLEI – Local Governments for Sustainability")
    page.get_by_label("Acronym").fill("ICLEI")
    tab.follow(lambda: page.get_by_role("button", name="Add the network").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("ICLEI – Local Governments for Sustainability")

    tab.goto("/network/embassies/new")
    page.get_by_label("Country").select_option("CH")
    page.get_by_label("Name", exact=True).fill("Embassy of Switzerland")
    page.get_by_label("Phone numbers").fill("+81 3-5449-8400")
    tab.follow(lambda: page.get_by_role("button", name="Save").click())
    expect(page.get_by_role("link", name="+81 3-5449-8400")).to_have_attribute("href", "tel:+81354498400")
