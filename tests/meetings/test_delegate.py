"""The delegates' own pages: the meetings their city or they are invited to, upcoming first, with their answer,
both times and the link to register; their delegation's registrations; never another city's."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import Role
from meetings import services
from meetings.models import Answer, Meeting
from tests.conftest import login

TOKYO = "Asia/Tokyo"


def plan(title: str, starts_at: datetime, ends_at: datetime, **overrides):
    meeting = services.create_meeting(actor=None, titles={"en": title}, tier="senior_officials", format="in_person",
                                      timezone=TOKYO, starts_at=starts_at, ends_at=ends_at,
                                      venue="Tokyo Metropolitan Government Building", **overrides)
    return services.schedule_meeting(meeting_id=meeting.id, actor=None)


def member(invitation, name: str, email: str):
    return services.register(invitation=invitation, name=name, email=email, role="member")


@pytest.fixture
def cities(db_session, make_partner, make_user):
    """Seoul and Paris, each invited to a meeting of its own and both to a shared one; Seoul's delegate signs in
    in Seoul's zone."""
    seoul, paris = make_partner(name="Seoul"), make_partner(name="Paris")
    later = plan("Leaders meeting", datetime(2031, 5, 10, 9, 0), datetime(2031, 5, 10, 18, 0))
    sooner = plan("Senior officials meeting", datetime(2030, 3, 4, 10, 0), datetime(2030, 3, 4, 17, 0))
    past = plan("Working-level meeting", datetime(2020, 1, 14, 15, 0), datetime(2020, 1, 14, 16, 0))
    paris_only = plan("Paris bilateral talks", datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 12, 0))
    seoul_sooner = services.invite(meeting_id=sooner.id, email="head@seoul.example", name="Kim Min-jun",
                                   timezone="Asia/Seoul", partner_id=seoul.id, actor=None)
    services.invite(meeting_id=later.id, email="head@seoul.example", name="Kim Min-jun", partner_id=seoul.id,
                    actor=None)
    services.invite(meeting_id=past.id, email="head@seoul.example", name="Kim Min-jun", partner_id=seoul.id,
                    actor=None)
    paris_sooner = services.invite(meeting_id=sooner.id, email="head@paris.example", name="Claire Martin",
                                   partner_id=paris.id, actor=None)
    paris_talks = services.invite(meeting_id=paris_only.id, email="head@paris.example", name="Claire Martin",
                                  partner_id=paris.id, actor=None)
    services.record_answer(invitation=seoul_sooner, answer=Answer.ACCEPTED, via="link")
    member(seoul_sooner, "Lee Ji-ho", "lee@seoul.example")
    services.record_answer(invitation=paris_sooner, answer=Answer.ACCEPTED, via="link")
    member(paris_sooner, "Jean Dupont", "jean@paris.example")
    member(paris_talks, "Anne Leroy", "anne@paris.example")
    db.session.commit()
    delegate = make_user(Role.DELEGATE, email="delegate@seoul.example", partner_id=seoul.id,
                         timezone="Europe/London")
    return {"seoul": seoul, "paris": paris, "sooner": sooner, "later": later, "past": past,
            "paris_only": paris_only, "seoul_sooner": seoul_sooner, "paris_sooner": paris_sooner,
            "delegate": delegate}


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_my_meetings_lists_the_citys_invitations_upcoming_first_with_answer_times_and_links(client, cities):
    login(client, cities["delegate"])
    html = page(client, "/meetings/mine")
    assert "<h1>My meetings</h1>" in html
    # upcoming first, the soonest first; the past one last
    order = [html.index(t) for t in ("Senior officials meeting", "Leaders meeting", "Working-level meeting")]
    assert order == sorted(order)
    # the host's time (Tokyo) and the delegate's own (London, nine hours behind in March)
    assert "Host city's time: Monday, March 4, 2030, 10:00:00\u202fAM Japan Standard Time" in html
    assert "Your time: Monday, March 4, 2030, 1:00:00\u202fAM Greenwich Mean Time" in html
    assert "Accepted" in html and "Not answered yet" in html
    # the link to the invitation's own page, where the delegation is registered
    assert f'href="/meetings/answer/{services.invitation_token(cities["seoul_sooner"])}"' in html
    assert "Lee Ji-ho" in html and "Confirmed" in html
    assert 'href="/calendar/feeds"' in html
    # nothing of Paris: not its invitation, its registrations nor its own meeting
    assert "Claire Martin" not in html and "Jean Dupont" not in html and "Paris bilateral talks" not in html
    assert services.invitation_token(cities["paris_sooner"]) not in html


def test_the_meeting_page_shows_the_own_delegation_only(client, cities):
    login(client, cities["delegate"])
    html = page(client, f"/meetings/mine/{cities['sooner'].id}")
    assert "<h1>Senior officials meeting</h1>" in html
    assert "Lee Ji-ho" in html and "Confirmed" in html
    assert "Jean Dupont" not in html and "Claire Martin" not in html


def test_the_meeting_page_shows_the_agenda_in_both_zones_and_documents_through_the_invitation(client, cities):
    from meetings import agenda

    meeting = cities["sooner"]
    agenda.add_item(meeting_id=meeting.id, titles={"en": "Opening remarks"}, actor=None,
                    starts_at=datetime(2030, 3, 4, 10, 0), ends_at=datetime(2030, 3, 4, 10, 30))
    document = agenda.add_document(meeting_id=meeting.id, kind="concept_note", filename="concept.pdf",
                                   data=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", actor=None)
    db.session.commit()
    login(client, cities["delegate"])
    html = page(client, f"/meetings/mine/{meeting.id}")
    assert "Opening remarks" in html and "10:00" in html  # Tokyo
    assert "Your time:" in html and "01:00" in html.split("Opening remarks")[0].split("Your time:")[-1]  # London
    token = services.invitation_token(cities["seoul_sooner"])
    link = f"/meetings/answer/{token}/documents/{document.id}"
    assert f'href="{link}"' in html
    assert client.get(link).get_data() == b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_another_citys_meeting_is_not_found(client, cities):
    login(client, cities["delegate"])
    assert client.get(f"/meetings/mine/{cities['paris_only'].id}").status_code == 404
    assert client.get("/meetings/mine/999999").status_code == 404


def test_the_other_citys_delegate_sees_only_their_own(client, cities, make_user):
    paris_delegate = make_user(Role.DELEGATE, partner_id=cities["paris"].id)
    login(client, paris_delegate)
    html = page(client, "/meetings/mine")
    assert "Paris bilateral talks" in html and "Anne Leroy" in html and "Jean Dupont" in html
    assert "Lee Ji-ho" not in html and "Kim Min-jun" not in html and "Leaders meeting" not in html
    assert client.get(f"/meetings/mine/{cities['later'].id}").status_code == 404


def test_an_invitation_to_the_delegates_own_address_is_listed(client, db_session, make_user, make_partner):
    meeting = plan("Diplomatic briefing", datetime(2030, 9, 1, 10, 0), datetime(2030, 9, 1, 11, 0))
    delegate = make_user(Role.DELEGATE, email="someone@lyon.example")
    services.invite(meeting_id=meeting.id, email="Someone@Lyon.example", name="Someone", actor=None)
    db.session.commit()
    login(client, delegate)
    html = page(client, "/meetings/mine")
    assert "Diplomatic briefing" in html and "Invitation for Someone" in html


def test_a_withdrawn_invitation_and_a_cancelled_meeting_offer_no_link(client, cities):
    services.uninvite(invitation_id=cities["seoul_sooner"].id, actor=None)
    services.cancel_meeting(meeting_id=cities["later"].id, reason="Postponed to next year", actor=None)
    db.session.commit()
    login(client, cities["delegate"])
    html = page(client, "/meetings/mine")
    assert "/meetings/answer/" not in html.split("Leaders meeting")[1].split("</section>")[0]
    assert "Cancelled" in html
    # withdrawn: its invitation is gone, the registration made on it still shows with its status
    section = html.split("Senior officials meeting")[1].split("</section>")[0]
    assert "Invitation for" not in section


def test_staff_are_refused(client, as_role):
    as_role(Role.EDITOR)
    assert client.get("/meetings/mine").status_code == 403


def test_a_liaison_sees_the_briefings_they_are_invited_to_and_nothing_of_the_cities(client, cities, make_user):
    from tests.meetings.test_services import plan

    liaison = make_user(Role.LIAISON, email="counsellor@embassy.example")
    briefing = plan(titles={"en": "Diplomatic corps briefing"}, tier="diplomatic_briefing")
    services.invite(meeting_id=briefing.id, email="counsellor@embassy.example", name="Counsellor", actor=None)
    db.session.commit()
    login(client, liaison)
    html = page(client, "/meetings/mine")
    assert "Diplomatic corps briefing" in html and "Leaders meeting" not in html
    assert client.get(f"/meetings/mine/{briefing.id}").status_code == 200
    others = [m.id for m in db.session.scalars(select(Meeting)) if m.id != briefing.id]
    assert all(client.get(f"/meetings/mine/{mid}").status_code == 404 for mid in others)


def test_the_delegates_navigation_has_my_meetings(client, cities):
    login(client, cities["delegate"])
    html = page(client, "/")
    assert 'href="/meetings/mine"' in html and "My meetings" in html


def test_the_page_speaks_the_delegates_language(client, cities, make_user):
    delegate = make_user(Role.DELEGATE, partner_id=cities["seoul"].id, language="ja", timezone="Asia/Seoul")
    login(client, delegate)
    html = page(client, "/meetings/mine")
    assert "<h1>自分の会議</h1>" in html
    assert "2030年3月4日" in html  # the dates too, in Japanese


def test_a_postponed_meeting_keeps_its_link_where_offers_and_cancellations_are_made(client, cities):
    services.postpone_meeting(meeting_id=cities["sooner"].id, reason="Typhoon", actor=None)
    db.session.commit()
    login(client, cities["delegate"])
    html = page(client, "/meetings/mine")
    section = html.split("Senior officials meeting")[1].split("</section>")[0]
    assert f'href="/meetings/answer/{services.invitation_token(cities["seoul_sooner"])}"' in section
