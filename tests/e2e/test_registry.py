"""The registry in a browser: home with the world map, a partner, an agreement and the timeline, each audited."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role
from network import demo
from network.models import Agreement, Partner


def test_a_viewer_walks_the_registry_with_every_page_audited(tab, make_user, reference_data):
    assert demo.seed_tokyo()
    db.session.commit()
    paris = db.session.scalar(select(Partner).where(Partner.name == "Paris"))
    london = db.session.scalar(select(Partner).where(Partner.name == "City of London Corporation"))
    first = db.session.scalar(select(Agreement).where(Agreement.parties.any(Partner.id == london.id))
                              .order_by(Agreement.signed_on))
    tab.sign_in(make_user(Role.VIEWER).email)
    page = tab.page

    tab.follow(lambda: page.get_by_role("navigation", name="Main").get_by_role("link", name="Network").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Network registry")
    expect(page.get_by_role("img", name="World map of the network")).to_be_visible()
    places = page.get_by_role("table", name="Places on the map")
    expect(places.get_by_role("row", name="Paris")).to_be_visible()

    # The map's links take no tab stop; the table's do.
    tab.follow(lambda: places.get_by_role("link", name="Paris", exact=True).press("Enter"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Paris")
    expect(page.get_by_role("table", name="Status history of the Friendship city relationship")).to_be_visible()
    assert page.url.endswith(f"/network/partners/{paris.id}")

    tab.goto(f"/network/agreements/{first.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(first.title)
    expect(page.get_by_text("December 4, 2017").first).to_be_visible()
    chain = page.get_by_role("region", name="Renewals and revisions")
    tab.follow(lambda: chain.get_by_role("link").first.click())
    expect(page.get_by_role("heading", level=2, name="Renewals and revisions")).to_be_visible()

    tab.goto("/network/timeline")
    expect(page.get_by_role("heading", level=2, name="1960")).to_be_visible()
    page.get_by_label("Partner").fill("パリ")  # any of its names
    tab.follow(lambda: page.get_by_role("button", name="Show").click())
    expect(page.get_by_role("heading", level=2, name="1982")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="1960")).to_have_count(0)

    tab.goto("/network/partners?q=%E3%83%91%E3%83%AA")  # パリ
    expect(page.get_by_role("table", name="1 partner")).to_be_visible()
    tab.goto("/network/agreements")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agreements")


def test_an_editor_uses_the_forms_and_is_told_at_the_field_what_is_wrong(tab, make_user, reference_data):
    assert demo.seed_tokyo()
    db.session.commit()
    rome = db.session.scalar(select(Partner).where(Partner.name == "Rome"))
    tab.sign_in(make_user(Role.EDITOR).email)
    page = tab.page

    tab.goto("/network/partners/new")
    page.get_by_label("Name in Latin script").fill("Bern")
    page.get_by_label("Country").select_option("CH")
    page.get_by_label("Reference city").fill("Paris, FR")
    tab.follow(lambda: page.get_by_role("button", name="Save").click(), status=422)
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_label("Reference city")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Paris is in FR, not in CH.").last).to_be_visible()
    page.get_by_label("Reference city").fill("Bern, CH")
    tab.follow(lambda: page.get_by_role("button", name="Save").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Bern")
    expect(page.get_by_text("Bern is in the registry.")).to_be_visible()

    tab.follow(lambda: page.get_by_role("link", name="Add a relationship").click())
    page.get_by_label("Kind of relationship").select_option("cooperation")
    page.get_by_label("Began on").fill("2019-04")
    tab.follow(lambda: page.get_by_role("button", name="Add the relationship").click())
    expect(page.get_by_role("heading", level=3)).to_contain_text("since April 2019")

    tab.goto(f"/network/partners/{rome.id}")
    tab.follow(lambda: page.get_by_role("link", name="Change the status of the Friendship city relationship").click())
    page.get_by_label("New status").select_option(label="Suspend exchanges")
    page.get_by_label("Effective on").fill("2024-05-01")
    page.get_by_label("Reason", exact=True).fill("Budget review")
    tab.follow(lambda: page.get_by_role("button", name="Change the status").click())
    expect(page.get_by_role("cell", name="Budget review")).to_be_visible()

    tab.goto("/network/agreements/new")
    page.get_by_label("Title", exact=True).fill("Rome MOU")
    page.get_by_label("Parties").select_option(label="Rome (IT)")
    page.get_by_label("Signed on").fill("2020-03")
    page.get_by_label("Culture").check()
    page.get_by_label("Signatory's name").first.fill("Yuriko Koike")
    tab.follow(lambda: page.get_by_role("button", name="Record the agreement").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Rome MOU")
    expect(page.get_by_text("March 2020")).to_be_visible()
    expect(page.get_by_role("cell", name="Yuriko Koike")).to_be_visible()

    tab.goto("/network/areas/new")
    page.get_by_label("Name in English").fill("Urban mobility")
    tab.follow(lambda: page.get_by_role("button", name="Add the area").click())
    expect(page.get_by_label("Urban mobility")).to_be_visible()  # a checkbox on the agreement form now


def test_an_editor_picks_a_smaller_namesake_among_the_city_suggestions(tab, make_user, reference_data):
    tab.sign_in(make_user(Role.EDITOR).email)
    page = tab.page
    tab.goto("/network/partners/new")
    page.get_by_label("Name in Latin script").fill("Springfield, Massachusetts")
    page.get_by_label("Country").select_option("US")
    box = page.get_by_role("combobox", name="Reference city")
    box.press_sequentially("springf")
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(options.first).to_contain_text("America/Chicago")  # Springfield, Missouri: the largest
    tab.audit()  # the form with its suggestions open
    wanted = next(i for i in range(options.count()) if "America/New_York" in options.nth(i).inner_text())
    for _ in range(wanted + 1):
        box.press("ArrowDown")
    box.press("Enter")  # chooses; the form is not sent
    expect(box).to_have_value("Springfield, US")
    tab.follow(lambda: page.get_by_role("button", name="Save").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Springfield, Massachusetts")
    partner = db.session.scalar(select(Partner).where(Partner.name == "Springfield, Massachusetts"))
    assert (partner.city.admin1_code, partner.city.timezone) == ("MA", "America/New_York")
