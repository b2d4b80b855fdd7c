"""Likely duplicates found by email, phone and names across scripts; a merge that loses nothing."""

from datetime import date

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import AuditEvent, Role
from partners import duplicates, services
from partners.models import Contact, Interaction
from tests.conftest import csrf_token


def pair_of(pairs, a, b):
    key = (min(a.id, b.id), max(a.id, b.id))
    return next((p for p in pairs if (p.first_id, p.second_id) == key), None)


def test_pairs_by_email_phone_swapped_names_local_script_and_close_spellings(make_contact):
    a = make_contact(family_name="Doe", given_name="Jane", emails=["jane@example.org"])
    b = make_contact(family_name="Other", given_name="Person", emails=["JANE@example.org"])
    c = make_contact(family_name="Unrelated", given_name="X", phones=["+44 20 7946 0000"])
    d = make_contact(family_name="Different", given_name="Y", phones=["020 7946 0000"])
    kim1 = make_contact(family_name="Kim", given_name="Minjun", country_code="KR")
    kim2 = make_contact(family_name="Minjun", given_name="Kim", country_code="KR")
    ja1 = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田", given_name_local="太郎",
                       country_code="JP")
    ja2 = make_contact(family_name="Yamada", given_name="Tarou", family_name_local="山田", given_name_local="太郎",
                       country_code="JP")
    k1 = make_contact(family_name="Kovács", given_name="Anna", country_code="HU")
    k2 = make_contact(family_name="Kovač", given_name="Anna", country_code="HR")
    stranger = make_contact(family_name="Novak", given_name="Peter", country_code="CZ")
    pairs = duplicates.find_duplicates()
    assert "Same email: jane@example.org" in pair_of(pairs, a, b).reasons
    assert "Same phone: +442079460000" in pair_of(pairs, c, d).reasons
    assert "Same name, family and given names swapped" in pair_of(pairs, kim1, kim2).reasons
    assert any("own script" in r for r in pair_of(pairs, ja1, ja2).reasons)
    assert "Similar names" in pair_of(pairs, k1, k2).reasons
    assert not any(stranger.id in (p.first_id, p.second_id) for p in pairs)
    assert pairs[0].score == 100  # shared addresses first


@pytest.fixture
def twins(make_contact, make_organisation, staff, make_user):
    organisation = make_organisation(name="Seoul Metropolitan Government")
    keep = make_contact(family_name="Kim", given_name="Minjun", country_code="KR", emails=["minjun@example.kr"],
                        languages=["ko"], tags=["U20"], notes="Met in 2023")
    other = make_contact(family_name="Kim", given_name="Min-jun", family_name_local="김", given_name_local="민준",
                         country_code="KR", emails=["mj.kim@example.kr", "minjun@example.kr"],
                         phones=["+82 2-2133-0000"], languages=["en"], tags=["C40"],
                         user_id=make_user(Role.DELEGATE).id)
    services.add_position(contact_id=other.id, organisation_id=organisation.id, actor=staff, title="Director")
    interaction = services.add_interaction(kind="call", occurred_on=date(2025, 1, 10), subject="Planning call",
                                           actor=staff, contact_ids=[other.id])
    both = services.add_interaction(kind="meeting", occurred_on=date(2025, 2, 1), subject="Both there",
                                    actor=staff, contact_ids=[keep.id, other.id])
    services.add_follow_up(interaction_id=interaction.id, owner_id=staff.id, due_on=date(2025, 3, 1),
                           text="Send the report", actor=staff)
    return keep, other, interaction, both


def test_merge_keeps_every_email_phone_language_tag_position_interaction_and_the_account(twins, staff):
    keep, other, interaction, both = twins
    other_id, user_id = other.id, other.user_id
    merged = duplicates.merge_contacts(keep_id=keep.id, other_id=other.id, actor=staff,
                                       take=["family_name_local", "given_name_local"])
    assert db.session.get(Contact, other_id) is None
    assert [e.address for e in merged.emails] == ["minjun@example.kr", "mj.kim@example.kr"]
    assert merged.primary_email == "minjun@example.kr"
    assert [p.number for p in merged.phones] == ["+82221330000"]
    assert merged.language_codes == ["en", "ko"]
    assert [t.name for t in merged.tags] == ["C40", "U20"]
    assert merged.given_name == "Minjun" and merged.given_name_local == "민준"
    assert [p.title for p in merged.positions] == ["Director"]
    assert merged.user_id == user_id
    assert {i.subject for i in merged.interactions} == {"Planning call", "Both there"}
    assert [c.id for c in db.session.get(Interaction, both.id).contacts] == [keep.id]
    assert db.session.get(Interaction, interaction.id).follow_ups[0].text == "Send the report"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact.merge"))
    assert event.object_id == str(keep.id) and event.after["merged_contact_id"] == other_id


def test_merge_with_itself_and_of_two_account_holders_is_refused(twins, staff, make_user):
    keep, other, *_ = twins
    with pytest.raises(services.PartnersError, match="cannot be merged with itself"):
        duplicates.merge_contacts(keep_id=keep.id, other_id=keep.id, actor=staff)
    keep.user_id = make_user(Role.LIAISON).id
    db.session.flush()
    with pytest.raises(services.PartnersError, match="Both contacts have their own account"):
        duplicates.merge_contacts(keep_id=keep.id, other_id=other.id, actor=staff)
    assert db.session.get(Contact, other.id) is not None


def test_duplicates_page_and_merge_screen(as_role, twins):
    keep, other, *_ = twins
    client = as_role(Role.EDITOR)
    page = client.get("/partners/duplicates").get_data(as_text=True)
    assert "Same email: minjun@example.kr" in page
    url = f"/partners/duplicates/merge?first={keep.id}&second={other.id}"
    screen = client.get(url).get_data(as_text=True)
    assert 'name="take-given_name"' in screen and "Min-jun" in screen
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "take-given_name": "second"})
    assert response.status_code == 303
    assert db.session.get(Contact, keep.id).given_name == "Min-jun"
    assert db.session.get(Contact, other.id) is None


def test_merge_screen_refuses_a_contact_with_itself(as_role, twins):
    keep, *_ = twins
    client = as_role(Role.EDITOR)
    response = client.get(f"/partners/duplicates/merge?first={keep.id}&second={keep.id}")
    assert response.status_code == 422
    assert "cannot be merged with itself" in response.get_data(as_text=True)


def test_viewer_cannot_merge(as_role, twins):
    keep, other, *_ = twins
    client = as_role(Role.VIEWER)
    url = f"/partners/duplicates/merge?first={keep.id}&second={other.id}"
    response = client.post(url, data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 403
    assert db.session.get(Contact, other.id) is not None


def test_a_merge_that_would_break_a_rule_changes_nothing(make_contact, staff):
    keep = make_contact(family_name="Park", given_name="Jisoo", consent_date=date(2024, 1, 1), legal_basis="consent",
                        emails=["jisoo@example.kr"])
    other = make_contact(family_name="Park", given_name="Ji-soo", legal_basis="public_task",
                         emails=["other@example.kr"])
    services.add_interaction(kind="call", occurred_on=date(2025, 1, 1), subject="Call", actor=staff,
                             contact_ids=[other.id])
    keep_id, other_id = keep.id, other.id
    with pytest.raises(services.PartnersError):  # consent taken without its date
        duplicates.merge_contacts(keep_id=keep_id, other_id=other_id, actor=staff, take=["consent_date"])
    other = db.session.get(Contact, other_id)
    assert other is not None and [i.subject for i in other.interactions] == ["Call"]
    assert [e.address for e in db.session.get(Contact, keep_id).emails] == ["jisoo@example.kr"]
