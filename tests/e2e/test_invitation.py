"""An administrator invites a colleague; a real worker mails the link; the colleague sets a password."""

from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role, User
from tests.e2e.conftest import links_in, mail_to

NEW_PASSWORD = "a long new password 1"


def test_invited_colleague_sets_a_password_and_the_link_works_once(browse, make_user, wait_until_sent, smtp_sink):
    admin = make_user(Role.ADMIN, name="Hana Admin")
    colleague = "kenji.sato@example.test"

    # The administrator invites from the Users page, reached through the navigation.
    admin_tab = browse()
    admin_tab.sign_in(admin.email)
    admin_tab.follow(lambda: admin_tab.page.get_by_role("navigation", name="Main")
                     .get_by_role("link", name="Users").click())
    form = admin_tab.page.get_by_role("region", name="Invite a colleague")
    form.get_by_label("Email").fill(colleague)
    form.get_by_label("Name").fill("Kenji Sato")
    form.get_by_label("Role").select_option(label="Editor")
    form.get_by_label("Language of the invitation").select_option("en")
    admin_tab.follow(lambda: form.get_by_role("button", name="Send invitation").click())

    expect(admin_tab.page.get_by_role("status")).to_contain_text(f"An invitation is on its way to {colleague}.")
    row = admin_tab.page.get_by_role("row").filter(has_text=colleague)
    expect(row.get_by_role("cell").nth(3)).to_have_text("invited")

    # The worker delivers it over SMTP; its link leads to this server.
    message = mail_to(smtp_sink, colleague)
    assert str(message["Subject"]) == "You are invited to Kizuna"
    links = [u for u in links_in(message) if "/invitation/" in u]
    assert len(links) == 1, links_in(message)
    link = links[0]
    assert link.startswith(f"{admin_tab.base_url}/invitation/"), link
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html

    # The colleague follows it in their own browser, sets a password and is signed in.
    tab = browse()
    tab.goto(urlsplit(link).path)
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Welcome to Kizuna")
    expect(tab.page.get_by_text(f"Choose a password for {colleague}.")).to_be_visible()
    tab.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    tab.page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    tab.follow(lambda: tab.page.get_by_role("button", name="Set password").click())

    expect(tab.page).to_have_url(f"{tab.base_url}/")
    expect(tab.page.get_by_role("status")).to_contain_text("Your password is set. Welcome to Kizuna.")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Welcome, Kenji Sato")
    expect(tab.page.get_by_role("navigation", name="Main").get_by_role("link", name="Cities")).to_be_visible()

    # The same link a second time, signed in or not, says it was used.
    for reader in (tab, browse()):
        reader.goto(link, status=410)
        expect(reader.page.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
        expect(reader.page.get_by_role("alert")).to_have_text(
            "This link has already been used. Sign in, or ask for a new link.")

    # And the new password signs in.
    again = browse()
    again.sign_in(colleague, NEW_PASSWORD)
    expect(again.page.get_by_role("heading", level=1)).to_have_text("Welcome, Kenji Sato")

    wait_until_sent(colleague)  # once, and recorded as such
    assert [str(m["To"]) for m in smtp_sink.handler.messages].count(colleague) == 1
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == colleague))
    assert user.role == Role.EDITOR and user.invited_by_id == admin.id and user.has_password


def test_invitation_form_errors_are_announced_and_linked(tab, make_user):
    admin = make_user(Role.ADMIN)
    tab.sign_in(admin.email)
    tab.goto("/admin/users")
    form = tab.page.get_by_role("region", name="Invite a colleague")
    form.get_by_label("Email").fill("not an address")
    tab.follow(lambda: form.get_by_role("button", name="Send invitation").click(), status=422)

    summary = tab.page.get_by_role("alert")
    expect(summary).to_contain_text("Enter a valid email address, such as name@example.org.")
    expect(summary).to_be_focused()
    tab.page.keyboard.press("Tab")
    expect(summary.get_by_role("link", name="Email")).to_be_focused()
    tab.page.keyboard.press("Enter")  # the summary's link takes focus to the field
    expect(tab.page.get_by_role("region", name="Invite a colleague").get_by_label("Email")).to_be_focused()
