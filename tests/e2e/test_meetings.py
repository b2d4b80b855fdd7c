"""Meetings in a browser, every page audited: an editor plans a hybrid meeting, schedules it and invites a
partner city's delegation; its head answers from the link and registers the delegation; a delegate of the city
follows it all on My meetings."""

from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role
from meetings import services
from meetings.models import Invitation, Meeting

HEAD = "head@seoul.example"


def plan_through_the_form(tab) -> Meeting:
    page = tab.page
    tab.follow(lambda: page.get_by_role("navigation", name="Main").get_by_role("link", name="Meetings").click())
    tab.goto("/meetings/new")
    page.get_by_label("Title in English").fill("Senior officials meeting 2031")
    page.get_by_label("Tier").select_option(label="Senior officials")
    page.get_by_label("Format").select_option(label="Hybrid")
    page.get_by_label("Venue").fill("Tokyo Metropolitan Government Building")
    page.get_by_label("Online meeting link").fill("https://meet.example.org/som")
    page.get_by_label("Time zone of the meeting").select_option("Asia/Tokyo")
    page.get_by_label("Starts").fill("2031-03-04T10:00")
    page.get_by_label("Ends").fill("2031-03-04T09:00")  # before it starts
    tab.follow(lambda: page.get_by_role("button", name="Save", exact=True).click(), status=422)
    ends = page.get_by_label("Ends")
    expect(ends).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ends_at-error")).to_contain_text("The meeting must end after it starts.")
    assert db.session.scalar(select(Meeting).where(Meeting.titles["en"].as_string()
                                                   == "Senior officials meeting 2031")) is None

    ends.fill("2031-03-04T17:00")
    tab.follow(lambda: page.get_by_role("button", name="Save", exact=True).click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Senior officials meeting 2031")
    expect(page.get_by_role("status").first).to_contain_text("The meeting is planned as a draft.")
    db.session.expire_all()
    return db.session.scalar(select(Meeting).where(Meeting.titles["en"].as_string()
                                                   == "Senior officials meeting 2031"))


def test_an_editor_plans_schedules_and_invites_and_the_head_registers_the_delegation(
        browse, make_user, make_partner, wait_until_sent):
    seoul = make_partner(name="Seoul")
    db.session.commit()
    editor = browse()
    editor.sign_in(make_user(Role.EDITOR).email)
    meeting = plan_through_the_form(editor)
    page = editor.page

    editor.follow(lambda: page.get_by_role("button", name="Schedule").click())
    expect(page.get_by_role("status").first).to_contain_text("The meeting is scheduled: you can now invite people.")

    invite = page.get_by_role("group", name="A partner city's delegation, through its head")
    invite.get_by_label("Partner").select_option(label="Seoul")
    invite.get_by_label("Name of the head of delegation").fill("Kim Min-jun")
    invite.get_by_label("Email of the head of delegation").fill(HEAD)
    invite.get_by_label("Language of the invitation").select_option("en")
    editor.follow(lambda: invite.get_by_role("button", name="Invite the delegation").click())
    table = page.get_by_role("table", name="Invitations and the delivery of their latest message")
    row = table.get_by_role("row").filter(has_text=HEAD)
    expect(row).to_contain_text("Kim Min-jun")
    expect(row).to_contain_text("Seoul")
    expect(row.locator(".delivery")).to_be_visible()  # queued, sending or already sent

    # Once the worker has delivered it, the meeting page says so.
    wait_until_sent(HEAD)
    editor.goto(f"/meetings/{meeting.id}")
    expect(table.get_by_role("row").filter(has_text=HEAD).locator(".delivery")).to_have_text("Sent")

    # The head opens the link of the invitation, accepts and registers two members.
    db.session.expire_all()
    invitation = db.session.scalar(select(Invitation).where(Invitation.meeting_id == meeting.id))
    assert invitation.partner_id == seoul.id
    head = browse()
    head.goto(f"/meetings/answer/{services.invitation_token(invitation)}")
    hp = head.page
    expect(hp.get_by_role("heading", level=1)).to_have_text("Senior officials meeting 2031")
    expect(hp.locator("#current-answer")).to_have_text("Not answered yet")
    head.follow(lambda: hp.get_by_role("button", name="Accept").click())
    expect(hp.get_by_role("status").first).to_contain_text("Thank you: your answer is recorded.")
    expect(hp.locator("#current-answer")).to_have_text("Accepted")

    for name, address in (("Lee Ji-ho", "lee@seoul.example"), ("Park Soo-min", "park@seoul.example")):
        form = hp.get_by_role("form", name="Add a member of the delegation")
        if not form.count():
            form = hp.get_by_role("form", name="Register yourself")
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Email", exact=True).fill(address)
        form.get_by_label("Role").select_option(label="Member")
        head.follow(lambda form=form: form.get_by_role("button", name="Register").click())
        expect(hp.get_by_role("status").first).to_contain_text(f"{name} is registered: the place is confirmed.")
    people = hp.get_by_role("table", name="Registered people (times in Asia/Tokyo)")
    expect(people.get_by_role("row", name="Lee Ji-ho")).to_contain_text("Confirmed")
    expect(people.get_by_role("row", name="Park Soo-min")).to_contain_text("Confirmed")

    # A delegate of Seoul follows it on My meetings, and from there reaches the invitation's page.
    delegate = browse()
    delegate.sign_in(make_user(Role.DELEGATE, partner_id=seoul.id, timezone="Asia/Seoul").email)
    dp = delegate.page
    delegate.follow(lambda: dp.get_by_role("navigation", name="Main").get_by_role("link", name="My meetings")
                    .click())
    expect(dp.get_by_role("heading", level=1)).to_have_text("My meetings")
    card = dp.get_by_role("region", name="Senior officials meeting 2031")
    expect(card).to_contain_text("Host city's time: Tuesday, March 4, 2031")
    expect(card).to_contain_text("Invitation for Kim Min-jun: Accepted")
    mine = card.get_by_role("table", name="Registrations for Senior officials meeting 2031")
    expect(mine.get_by_role("row", name="Lee Ji-ho")).to_contain_text("Confirmed")
    expect(mine.get_by_role("row", name="Park Soo-min")).to_contain_text("Confirmed")
    delegate.follow(lambda: card.get_by_role("link", name="Senior officials meeting 2031", exact=True).click())
    expect(dp.get_by_role("heading", level=1)).to_have_text("Senior officials meeting 2031")
    delegate.goto("/meetings/mine")
    delegate.follow(lambda: dp.get_by_role("link", name="My calendar feeds").click())
    expect(dp.get_by_role("heading", level=1)).to_have_text("My calendar feeds")
    delegate.goto("/meetings/mine")
    delegate.follow(lambda: dp.get_by_role("link", name="Answer and register the delegation for "
                                                        "Senior officials meeting 2031").click())
    expect(dp.get_by_role("heading", level=1)).to_have_text("Senior officials meeting 2031")


def test_a_delegate_of_another_city_sees_nothing_of_it(browse, make_user, make_partner):
    seoul, paris = make_partner(name="Seoul"), make_partner(name="Paris")
    meeting = services.create_meeting(actor=None, titles={"en": "Seoul bilateral talks"}, tier="side_event",
                                      format="in_person", timezone="Asia/Tokyo", venue="Tokyo City Hall",
                                      starts_at=datetime(2031, 6, 1, 10, 0),
                                      ends_at=datetime(2031, 6, 1, 12, 0))
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    services.invite(meeting_id=meeting.id, email=HEAD, name="Kim Min-jun", partner_id=seoul.id, actor=None)
    db.session.commit()
    tab = browse()
    tab.sign_in(make_user(Role.DELEGATE, partner_id=paris.id).email)
    tab.goto("/meetings/mine")
    expect(tab.page.get_by_text("Your city has no invitation yet.")).to_be_visible()
    expect(tab.page.get_by_text("Seoul bilateral talks")).to_have_count(0)
    tab.goto(f"/meetings/mine/{meeting.id}", status=404)
