"""Searching the contact list: names in any script and either order, case- and accent-insensitive, with
filters and sorting; the search key follows every change of a name."""

from __future__ import annotations

import re

import pytest

from kizuna.extensions import db
from partners import services


@pytest.fixture
def people(make_contact, make_organisation, staff):
    """Three people of three cultures, written as their offices write them."""
    embassy = make_organisation(kind="embassy", name="Embassy of the Republic of Korea", country_code="KR")
    found = {
        "yamada": make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田",
                               given_name_local="太郎", country_code="JP", languages=["ja", "en"],
                               emails=["taro@example.jp"], tags=["Leaders"], protocol_rank=5),
        "kim": make_contact(family_name="Kim", given_name="Minjun", family_name_local="김", given_name_local="민준",
                            country_code="KR", languages=["ko"], protocol_rank=2),
        "zoe": make_contact(family_name="Lefèvre", given_name="Zoë", country_code="FR", languages=["fr-CA"],
                            emails=["zoe@example.fr"]),
    }
    services.add_position(contact_id=found["kim"].id, organisation_id=embassy.id, title="Counsellor", actor=staff)
    db.session.commit()
    found["embassy"] = embassy
    return found


def listed(client, **args) -> list[str]:
    """The contact links the list shows for `args`, in order."""
    html = client.get("/partners/contacts", query_string=args).get_data(as_text=True)
    return re.findall(r'<td><a href="/partners/contacts/\d+">([^<]+)</a>', html)


@pytest.mark.parametrize(("q", "who"), [
    ("yamada", "YAMADA Taro"), ("YAMADA", "YAMADA Taro"), ("taro yamada", "YAMADA Taro"),
    ("Yamada Taro", "YAMADA Taro"), ("山田", "YAMADA Taro"), ("山田太郎", "YAMADA Taro"), ("山田 太郎", "YAMADA Taro"),
    ("太郎", "YAMADA Taro"), ("김", "KIM Minjun"), ("김민준", "KIM Minjun"), ("minjun", "KIM Minjun"),
    ("lefevre", "Zoë Lefèvre"), ("ZOE", "Zoë Lefèvre"), ("Zoë Lefèvre", "Zoë Lefèvre"),
    ("zoe@example", "Zoë Lefèvre"),
])
def test_a_name_is_found_in_any_script_order_case_and_accent(as_role, people, q, who):
    assert listed(as_role("viewer"), q=q) == [who]


def test_a_query_that_matches_nobody_says_so(as_role, people):
    client = as_role("viewer")
    html = client.get("/partners/contacts", query_string={"q": "nobody-at-all"}).get_data(as_text=True)
    assert "No contact matches these filters." in html
    assert listed(client, q="%") == [] and listed(client, q="_") == []  # LIKE wildcards are plain characters


def test_filters_by_organisation_country_language_tag_and_email(as_role, people):
    client = as_role("viewer")
    assert listed(client, organisation=people["embassy"].id) == ["KIM Minjun"]
    assert listed(client, org="republic of KOREA") == ["KIM Minjun"] and listed(client, org="trading") == []
    assert listed(client, country="jp") == ["YAMADA Taro"]
    assert listed(client, language="fr") == ["Zoë Lefèvre"]  # fr-CA speaks French
    assert listed(client, language="en") == ["YAMADA Taro"]
    assert listed(client, tag="leaders") == ["YAMADA Taro"]
    assert listed(client, email="yes") == ["Zoë Lefèvre", "YAMADA Taro"]
    assert listed(client, email="no") == ["KIM Minjun"]
    assert listed(client, q="yamada", country="KR") == []


def test_a_past_post_does_not_count_as_working_there(as_role, people, staff):
    position = people["kim"].positions[0]
    services.end_position(position_id=position.id, ended_on=position.created_at.date(), actor=staff)
    db.session.commit()
    assert listed(as_role("viewer"), organisation=people["embassy"].id) == []


def test_sorts_by_name_country_and_protocol_rank(as_role, people):
    client = as_role("viewer")
    assert listed(client) == ["KIM Minjun", "Zoë Lefèvre", "YAMADA Taro"]
    assert listed(client, sort="country") == ["Zoë Lefèvre", "YAMADA Taro", "KIM Minjun"]
    assert listed(client, sort="rank") == ["KIM Minjun", "YAMADA Taro", "Zoë Lefèvre"]  # unranked last
    assert listed(client, sort="nonsense") == listed(client)


def test_the_search_key_follows_a_changed_name(as_role, people, staff):
    kim = people["kim"]
    fields = services.contact_fields(kim)
    services.update_contact(contact_id=kim.id, actor=staff, **{**fields, "family_name": "Park",
                                                                "family_name_local": "박"})
    db.session.commit()
    client = as_role("viewer")
    assert listed(client, q="kim") == [] and listed(client, q="김") == []
    assert listed(client, q="park minjun") == ["PARK Minjun"] and listed(client, q="박민준") == ["PARK Minjun"]


def test_erased_people_are_neither_listed_nor_found(as_role, people):
    # However the erasure blanks the names, the key is rewritten on the flush.
    kim = people["kim"]
    for name in ("family_name", "given_name", "family_name_local", "given_name_local"):
        setattr(kim, name, "")
    kim.erased_at = kim.created_at
    db.session.commit()
    assert kim.search_key == ""
    client = as_role("viewer")
    assert "KIM Minjun" not in listed(client) and listed(client, q="김") == []


def test_the_list_pages(as_role, make_contact):
    for i in range(30):
        make_contact(family_name=f"Person{i:02d}", given_name="A")
    db.session.commit()
    client = as_role("viewer")
    first, second = listed(client), listed(client, page=2)
    assert len(first) == 25 and len(second) == 5 and not set(first) & set(second)
