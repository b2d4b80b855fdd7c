"""A meeting's printed matter: name badges and the delegate list in order of precedence, read back from the
PDF as a reader sees it (pypdf's text extraction)."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from kizuna.extensions import db
from meetings import services
from meetings.models import Meeting
from partners import services as partner_services

TOKYO = "Asia/Tokyo"


def plan(**overrides) -> Meeting:
    fields = {"titles": {"en": "Leaders meeting", "ja": "首脳会議"}, "tier": "leaders", "format": "in_person",
              "timezone": TOKYO, "starts_at": datetime(2027, 3, 4, 10, 0), "ends_at": datetime(2027, 3, 4, 17, 0),
              "venue": "Tokyo Metropolitan Government Building", **overrides}
    meeting = services.create_meeting(actor=None, **fields)
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    db.session.commit()
    return meeting


def text_of(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def in_order(text: str, *names: str) -> bool:
    positions = [text.index(name) for name in names]
    return positions == sorted(positions)


@pytest.fixture
def delegations(make_partner):
    """Seoul and Bangkok delegations with heads, ranked and unranked members, a Japanese contact registered
    under her own-script name, and people who hold no place (pending, waitlisted, cancelled)."""
    meeting = plan(capacity=9)
    seoul = make_partner(name="Seoul", country_code="KR")
    bangkok = make_partner(name="Bangkok", country_code="TH")
    yamada = partner_services.create_contact(actor=None, family_name="Yamada", given_name="Taro",
                                             family_name_local="山田", given_name_local="太郎",
                                             country_code="JP", name_order="family_first")
    to_seoul = services.invite(meeting_id=meeting.id, email="head@seoul.example", partner_id=seoul.id,
                               name="Oh", actor=None)
    to_bangkok = services.invite(meeting_id=meeting.id, email="head@bangkok.example", partner_id=bangkok.id,
                                 name="Chadchart", actor=None)
    # Registered in an order that is not the order of precedence.
    services.register(invitation=to_seoul, name="Unranked Umber", email="u@seoul.example", role="adviser")
    services.register(invitation=to_seoul, name="Second Sohn", email="s@seoul.example", role="member",
                      protocol_rank=2, title="Director")
    services.register(invitation=to_seoul, name="First Fong", email="f@seoul.example", role="member",
                      protocol_rank=1, title="Deputy Mayor")
    services.register(invitation=to_seoul, name="Head Oh", email="head@seoul.example", role="head",
                      protocol_rank=5, title="Mayor")
    services.register(invitation=to_bangkok, name="Governor Chadchart", email="head@bangkok.example",
                      role="head", title="Governor")
    services.register(invitation=to_bangkok, name="Yamada Taro", email="yamada@bangkok.example",
                      role="adviser", contact_id=yamada.id, title="Adviser")
    cancelled = services.register(invitation=to_bangkok, name="Cancelled Cole", email="c@bangkok.example")
    db.session.flush()
    cancelled.status = "cancelled"
    meeting.capacity = 6
    services.register(invitation=to_bangkok, name="Waiting Wong", email="w@bangkok.example")
    db.session.commit()
    return meeting


def test_the_delegate_list_follows_the_order_of_precedence_and_prints_only_confirmed_people(
        as_role, delegations):
    client = as_role("viewer")
    response = client.get(f"/meetings/{delegations.id}/precedence.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="delegate-list-{delegations.id}.pdf"'
    pages, text = text_of(response.data)
    assert pages == 1
    assert "Leaders meeting" in text and "Delegate list in order of precedence" in text
    assert "March 4, 2027" in text and "Tokyo Metropolitan Government Building" in text
    assert "Confirmed registrations only: 6 people." in text and "Page 1 of 1" in text
    # Bangkok before Seoul; in each delegation the head, then rank 1, rank 2, then the unranked.
    assert in_order(text, "Governor Chadchart", "Yamada Taro", "Head Oh", "First Fong", "Second Sohn",
                    "Unranked Umber")
    assert "Deputy Mayor" in text and "Head of delegation" in text and "Seoul" in text
    assert "Waiting Wong" not in text and "Cancelled Cole" not in text


def test_badges_carry_name_title_city_role_and_meeting_eight_to_a_sheet(as_role, delegations, make_partner):
    client = as_role("editor")
    response = client.get(f"/meetings/{delegations.id}/badges.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="badges-{delegations.id}.pdf"'
    pages, text = text_of(response.data)
    assert pages == 1  # six badges
    assert "山田" in text and "太郎" in text  # her own script, set in a Japanese font
    assert "Yamada Taro" in text and "Governor" in text and "Bangkok" in text and "Adviser" in text
    assert text.count("Leaders meeting") == 6
    assert "Waiting Wong" not in text and "Cancelled Cole" not in text

    # Nine confirmed people need two sheets.
    seoul = services.invite(meeting_id=delegations.id, email="x@kyoto.example",
                            partner_id=make_partner(name="Kyoto").id, name="X", actor=None)
    delegations.capacity = None
    for n in range(3):
        services.register(invitation=seoul, name=f"Extra {n}", email=f"e{n}@kyoto.example")
    db.session.commit()
    pages, text = text_of(client.get(f"/meetings/{delegations.id}/badges.pdf").data)
    assert pages == 2 and text.count("Leaders meeting") == 9


def test_a_japanese_reader_gets_the_list_in_japanese_with_city_names_in_japanese(as_role, make_partner):
    meeting = plan()
    paris = make_partner(name="Paris", name_ja="パリ", country_code="FR")
    invitation = services.invite(meeting_id=meeting.id, email="maire@paris.example", partner_id=paris.id,
                                 name="Hidalgo", actor=None)
    services.register(invitation=invitation, name="Anne Hidalgo", email="maire@paris.example", role="head")
    db.session.commit()
    client = as_role("viewer")
    client.user.language = "ja"
    db.session.commit()
    response = client.get(f"/meetings/{meeting.id}/precedence.pdf")
    _, text = text_of(response.data)
    assert "首脳会議" in text and "パリ" in text and "Anne Hidalgo" in text


def test_a_meeting_without_confirmed_people_prints_an_empty_list_and_one_empty_sheet(as_role):
    meeting = plan()
    client = as_role("viewer")
    pages, text = text_of(client.get(f"/meetings/{meeting.id}/precedence.pdf").data)
    assert pages == 1 and "Nobody has a confirmed registration yet." in text
    pages, _ = text_of(client.get(f"/meetings/{meeting.id}/badges.pdf").data)
    assert pages == 1


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_delegates_and_liaisons_may_not_print(as_role, delegations, role):
    client = as_role(role)
    for path in ("badges.pdf", "precedence.pdf"):
        assert client.get(f"/meetings/{delegations.id}/{path}").status_code == 403


def test_an_unknown_meeting_is_not_found(as_role):
    client = as_role("viewer")
    assert client.get("/meetings/999999/badges.pdf").status_code == 404
    assert client.get("/meetings/999999/precedence.pdf").status_code == 404


def test_the_registrations_page_links_both_pdfs_for_a_viewer(as_role, delegations):
    html = as_role("viewer").get(f"/meetings/{delegations.id}/registrations").get_data(as_text=True)
    assert f'href="/meetings/{delegations.id}/badges.pdf"' in html
    assert f'href="/meetings/{delegations.id}/precedence.pdf"' in html


def fonts_of(data: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(data))
    return {str(font["/BaseFont"]).lstrip("/") for page in reader.pages
            for font in page["/Resources"]["/Font"].get_object().values()}


def test_each_name_is_set_in_a_font_of_its_script(as_role, make_partner):
    meeting = plan()
    beijing = make_partner(name="Beijing", country_code="CN")
    invitation = services.invite(meeting_id=meeting.id, email="head@beijing.example", partner_id=beijing.id,
                                 name="Wang", actor=None)
    people = [("王", "小明", "CN", "Wang Xiaoming"), ("김", "민준", "KR", "Kim Minjun"),
              ("山田", "太郎", "JP", "Yamada Taro")]
    for n, (family, given, country, latin) in enumerate(people):
        contact = partner_services.create_contact(
            actor=None, family_name=latin.split()[0], given_name=latin.split()[1], family_name_local=family,
            given_name_local=given, country_code=country, name_order="family_first")
        services.register(invitation=invitation, name=latin, email=f"p{n}@beijing.example",
                          role="head" if n == 0 else "member", contact_id=contact.id)
    db.session.commit()
    data = as_role("viewer").get(f"/meetings/{meeting.id}/badges.pdf").data
    assert {"STSong-Light", "HYGothic-Medium", "HeiseiKakuGo-W5", "Helvetica-Bold"} <= fonts_of(data)
    _, text = text_of(data)
    assert "Kim Minjun" in text and "Wang Xiaoming" in text


def test_latin_letters_beyond_helvetica_are_printed_not_boxed(as_role, make_partner):
    meeting = plan()
    lodz = make_partner(name="Łódź", country_code="PL")
    invitation = services.invite(meeting_id=meeting.id, email="head@lodz.example", partner_id=lodz.id,
                                 name="Zdanowska", actor=None)
    services.register(invitation=invitation, name="Nguyễn Văn Łukasz", email="head@lodz.example", role="head")
    db.session.commit()
    client = as_role("viewer")
    for path in ("badges.pdf", "precedence.pdf"):
        _, text = text_of(client.get(f"/meetings/{meeting.id}/{path}").data)
        assert "Nguyễn Văn Łukasz" in text and "Łódź" in text and "■" not in text
