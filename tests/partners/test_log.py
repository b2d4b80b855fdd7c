"""The interaction log's pages: the log and its filters, an interaction, logging one (with and without the
combobox), follow-ups and their owner's list, and who may do what."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from network.services import local_today
from partners import services
from partners.models import FollowUp, Interaction
from tests.conftest import csrf_token


@pytest.fixture
def book(make_organisation, make_contact, staff):
    """Paris city hall and the embassy, Anne and Taro, three interactions (one a gift), an open follow-up."""
    today = local_today()
    paris = make_organisation(kind="partner_government", name="Paris City Hall", country_code="FR")
    embassy = make_organisation(kind="embassy", name="Embassy of France", country_code="FR")
    anne = make_contact(family_name="Hidalgo", given_name="Anne", country_code="FR")
    services.add_position(contact_id=anne.id, organisation_id=paris.id, title="Mayor", actor=staff)
    taro = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田", given_name_local="太郎",
                        country_code="JP")
    visit = services.add_interaction(kind="visit", occurred_on=today - timedelta(days=30), subject="Mayor's visit",
                                     contact_ids=[anne.id], organisation_ids=[paris.id], staff_ids=[staff.id],
                                     notes="Talked about the Seine.", actor=staff)
    gift = services.add_interaction(kind="gift_given", occurred_on=today - timedelta(days=30),
                                    subject="Gift to the mayor", contact_ids=[anne.id],
                                    gift_description="Edo kiriko glass", gift_value="15000", gift_currency="JPY",
                                    actor=staff)
    call = services.add_interaction(kind="call", occurred_on=today - timedelta(days=2), subject="Embassy call",
                                    contact_ids=[taro.id], organisation_ids=[embassy.id], actor=staff)
    minutes = services.add_follow_up(interaction_id=visit.id, owner_id=staff.id, due_on=today - timedelta(days=3),
                                     text="Send the minutes", actor=staff)
    db.session.commit()
    return {"paris": paris, "embassy": embassy, "anne": anne, "taro": taro, "visit": visit, "gift": gift,
            "call": call, "minutes": minutes}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- the log -----------------------------------------------------------------------------------------


def test_the_log_lists_newest_first_and_filters(as_role, book, staff):
    client = as_role("viewer")
    page = _text(client.get("/partners/log"))
    assert page.index("Embassy call") < page.index("Mayor&#39;s visit")
    assert "3 interactions, newest first" in page
    assert "Embassy call" not in _text(client.get("/partners/log?kind=visit"))
    only_anne = _text(client.get(f"/partners/log?contact={book['anne'].id}"))
    assert "Interactions with Anne Hidalgo." in only_anne and "Embassy call" not in only_anne
    assert "Gift to the mayor" in only_anne
    embassy = _text(client.get(f"/partners/log?organisation={book['embassy'].id}"))
    assert "Embassy call" in embassy and "Mayor&#39;s visit" not in embassy
    with_staff = _text(client.get(f"/partners/log?staff={staff.id}"))
    assert "Mayor&#39;s visit" in with_staff and "Embassy call" not in with_staff
    since = (local_today() - timedelta(days=5)).isoformat()
    recent = _text(client.get(f"/partners/log?from={since}&to={local_today().isoformat()}"))
    assert "Embassy call" in recent and "Gift to the mayor" not in recent
    assert "No interaction matches" in _text(client.get("/partners/log?from=2000-01-01&to=2000-01-02"))
    # nonsense in the query string is ignored, not an error
    assert client.get("/partners/log?kind=party&from=soon&contact=x").status_code == 200


def test_the_log_comes_in_pages(as_role, book, staff):
    for n in range(26):
        services.add_interaction(kind="email", occurred_on=date(2020, 1, 1), subject=f"Old email {n}",
                                 contact_ids=[book["taro"].id], actor=staff)
    db.session.commit()
    client = as_role("viewer")
    first, second = _text(client.get("/partners/log")), _text(client.get("/partners/log?page=2"))
    assert "Page 1 of 2" in first and "Embassy call" in first
    assert "Embassy call" not in second and second.count("Old email") == 4


def test_an_interaction_shows_participants_notes_gift_and_follow_ups(as_role, book, staff):
    client = as_role("viewer")
    visit = _text(client.get(f"/partners/log/{book['visit'].id}"))
    for text in ("Anne Hidalgo", "Paris City Hall", staff.name or staff.email, "Talked about the Seine.",
                 "Send the minutes", "Overdue by 3 days"):
        assert text in visit, text
    assert "Mark done" not in visit  # a viewer changes nothing
    gift = _text(client.get(f"/partners/log/{book['gift'].id}"))
    assert "Edo kiriko glass" in gift and "¥15,000" in gift
    assert client.get("/partners/log/999999").status_code == 404


def test_a_gift_value_reads_in_the_readers_locale(as_role, book):
    page = _text(as_role("viewer", language="ja").get(f"/partners/log/{book['gift'].id}"))
    assert "￥15,000" in page


# -- logging an interaction ---------------------------------------------------------------------------


def _form(client, **overrides) -> dict:
    data = {"csrf_token": csrf_token(client, "/partners/log/new"), "kind": "meeting",
            "occurred_on": local_today().isoformat(), "subject": "Working lunch", "notes": ""}
    data.update(overrides)
    return data


def test_an_editor_logs_a_meeting_with_contacts_organisations_and_staff(as_role, book):
    client = as_role("editor")
    form = _text(client.get(f"/partners/log/new?contact={book['anne'].id}"))
    assert "Anne Hidalgo (Paris City Hall)" in form and 'role="combobox"' in form
    response = client.post("/partners/log/new", data=_form(
        client, contact_ids=[book["anne"].id, book["taro"].id], organisation_ids=[book["embassy"].id],
        staff_ids=[client.user.id]))
    assert response.status_code == 302, _text(response)[:3000]
    created = db.session.scalar(select(Interaction).where(Interaction.subject == "Working lunch"))
    assert ([c.id for c in created.contacts], [o.id for o in created.organisations], [u.id for u in created.staff]) \
        == ([book["anne"].id, book["taro"].id], [book["embassy"].id], [client.user.id])
    assert response.location.endswith(f"/partners/log/{created.id}")
    assert "The interaction is logged." in _text(client.get(response.location))


def test_without_javascript_a_search_offers_matches_and_keeps_what_was_ticked(as_role, book):
    client = as_role("editor")
    before = _count(Interaction)
    response = client.post("/partners/log/new", data=_form(client, find="山田", search="Search",
                                                           contact_ids=[book["anne"].id]))
    assert response.status_code == 200
    page = _text(response)
    assert "1 match is listed below" in page and "YAMADA Taro" in page
    assert re.search(rf'<input checked id="contact_ids-\d+" name="contact_ids" type="checkbox" '
                     rf'value="{book["anne"].id}">', page)
    assert re.search(rf'<input id="contact_ids-\d+" name="contact_ids" type="checkbox" '
                     rf'value="{book["taro"].id}">', page)  # offered, not ticked
    assert "Working lunch" in page  # what was typed stays
    assert _count(Interaction) == before  # a search saves nothing
    nothing = _text(client.post("/partners/log/new", data=_form(client, find="nobody", search="Search")))
    assert "No contact or organisation has “nobody” in its name." in nothing


def test_the_lookup_finds_contacts_and_organisations_for_the_combobox(as_role, book):
    client = as_role("viewer")
    items = client.get("/partners/log/participants?q=paris").json["items"]
    assert items == [{"type": "organisation", "id": book["paris"].id, "label": "Paris City Hall"}]
    items = client.get("/partners/log/participants?q=hidalgo anne").json["items"]
    assert items == [{"type": "contact", "id": book["anne"].id, "label": "Anne Hidalgo (Paris City Hall)"}]
    assert client.get("/partners/log/participants?q=HIDALGÓ").json["items"][0]["id"] == book["anne"].id
    assert [i["label"] for i in client.get("/partners/log/participants?q=山田太郎").json["items"]] == ["YAMADA Taro"]
    assert client.get("/partners/log/participants?q=").json["items"] == []


@pytest.mark.parametrize("overrides, field, message", [
    ({}, "contact_ids", "Name at least one contact or organisation"),
    ({"kind": "visit", "gift_description": "Tea"}, "gift_description", "Gift details go only with a gift"),
    ({"kind": "gift_received", "gift_description": "Tea", "gift_value": "lots", "gift_currency": "JPY"},
     "gift_value", "is not an amount"),
    ({"kind": "gift_received", "gift_description": "Tea", "gift_value": "10", "gift_currency": "XYZ"},
     "gift_currency", "is not an ISO 4217 currency code"),
    ({"occurred_on": "2999-01-01"}, "occurred_on", "is in the future"),
])
def test_a_refusal_lands_at_its_field_and_saves_nothing(as_role, book, overrides, field, message):
    client = as_role("editor")
    before = _count(Interaction)
    data = _form(client, **overrides)
    if field != "contact_ids":
        data["contact_ids"] = [book["anne"].id]
    response = client.post("/partners/log/new", data=data)
    assert response.status_code == 422
    page = _text(response)
    assert f'id="{field}-error"' in page and message in page.split(f'id="{field}-error"')[1][:300]
    assert 'aria-invalid="true"' in page or field == "contact_ids"
    assert f'aria-describedby="{field}-error"' in page or f'-hint {field}-error"' in page
    assert "error-summary" in page
    assert _count(Interaction) == before


def test_an_editor_corrects_an_interaction(as_role, book):
    client = as_role("editor")
    path = f"/partners/log/{book['gift'].id}/edit"
    form = _text(client.get(path))
    assert "<h1>Edit the interaction</h1>" in form and "<title>Edit the interaction" in form
    assert 'value="Edo kiriko glass"' in form and 'value="15000.00"' in form and 'value="JPY"' in form
    assert re.search(rf'<input checked id="contact_ids-\d+" name="contact_ids" type="checkbox" '
                     rf'value="{book["anne"].id}">', form)
    data = {"csrf_token": csrf_token(client, path), "kind": "gift_given",
            "occurred_on": book["gift"].occurred_on.isoformat(), "subject": "Gift to the mayor",
            "gift_description": "Edo kiriko glass, a pair", "gift_value": "30000", "gift_currency": "JPY",
            "contact_ids": [book["anne"].id], "organisation_ids": [book["paris"].id]}
    refused = client.post(path, data={**data, "gift_currency": "YEN"})
    assert refused.status_code == 422 and 'id="gift_currency-error"' in _text(refused)
    db.session.expire_all()
    assert db.session.get(Interaction, book["gift"].id).gift_description == "Edo kiriko glass"
    saved = client.post(path, data=data)
    assert saved.status_code == 302
    page = _text(client.get(saved.location))
    assert "The interaction is saved." in page and "¥30,000" in page and "Paris City Hall" in page
    assert client.get("/partners/log/999999/edit").status_code == 404


# -- follow-ups ---------------------------------------------------------------------------------------


def test_an_editor_adds_a_follow_up_and_marks_it_done(as_role, book, make_user):
    client = as_role("editor")
    owner = make_user("viewer", name="Ohno")
    path = f"/partners/log/{book['call'].id}/follow-ups/new"
    token = csrf_token(client, path)
    early = client.post(path, data={"csrf_token": token, "owner_id": owner.id, "text": "Send photos",
                                    "due_on": (local_today() - timedelta(days=10)).isoformat()})
    assert early.status_code == 422 and "cannot be due before the interaction" in _text(early)
    assert 'id="due_on-error"' in _text(early)
    response = client.post(path, data={"csrf_token": token, "owner_id": owner.id, "text": "Send photos",
                                       "due_on": (local_today() + timedelta(days=2)).isoformat()})
    assert response.status_code == 302
    [added] = db.session.scalars(select(FollowUp).where(FollowUp.text == "Send photos")).all()
    assert added.owner_id == owner.id
    page = _text(client.get(f"/partners/log/{book['call'].id}"))
    assert "Due in 2 days" in page and "Mark done" in page
    done = client.post(f"/partners/follow-ups/{added.id}/done", data={"csrf_token": token})
    assert done.status_code == 303 and done.location.endswith(f"/partners/log/{book['call'].id}")
    db.session.expire_all()
    assert db.session.get(FollowUp, added.id).done_at is not None
    again = client.post(f"/partners/follow-ups/{added.id}/done", data={"csrf_token": token})
    assert "already done" in _text(client.get(again.location))


def test_my_follow_ups_lists_my_open_ones_overdue_first_in_words(as_role, book, staff, make_user):
    client = as_role("editor")
    me = client.user
    today = local_today()
    for days, text in ((5, "Book the venue"), (-1, "Reply to the embassy"), (0, "Call back today")):
        services.add_follow_up(interaction_id=book["call"].id, owner_id=me.id, due_on=today + timedelta(days=days),
                               text=text, actor=staff)
    finished = services.add_follow_up(interaction_id=book["call"].id, owner_id=me.id, due_on=today, text="Finished",
                                      actor=staff)
    services.complete_follow_up(follow_up_id=finished.id, actor=staff)
    db.session.commit()
    page = _text(client.get("/partners/follow-ups"))
    assert "3 open follow-ups" in page
    assert page.index("Reply to the embassy") < page.index("Call back today") < page.index("Book the venue")
    assert "Overdue by 1 day" in page and "Due today" in page and "Due in 5 days" in page
    assert "Send the minutes" not in page  # someone else's
    assert "Finished" not in page
    done = client.post(f"/partners/follow-ups/{finished.id - 1}/done",
                       data={"csrf_token": csrf_token(client, "/partners/follow-ups"), "next": "/partners/follow-ups"})
    assert done.status_code == 303 and done.location.endswith("/partners/follow-ups")
    assert "2 open follow-ups" in _text(client.get("/partners/follow-ups"))


# -- who may do what ----------------------------------------------------------------------------------


def test_a_viewer_may_read_but_not_log_or_complete(as_role, book):
    client = as_role("viewer")
    token = csrf_token(client, "/partners/follow-ups")
    before = _count(Interaction)
    assert client.get("/partners/log/new").status_code == 403
    assert client.post(f"/partners/log/{book['visit'].id}/edit", data={
        "csrf_token": token, "kind": "call", "subject": "Changed", "occurred_on": local_today().isoformat(),
        "contact_ids": [book["anne"].id]}).status_code == 403
    assert client.post("/partners/log/new", data={"csrf_token": token, "kind": "call", "subject": "X",
                                                  "occurred_on": local_today().isoformat(),
                                                  "contact_ids": [book["anne"].id]}).status_code == 403
    assert client.post(f"/partners/log/{book['visit'].id}/follow-ups/new", data={
        "csrf_token": token, "owner_id": client.user.id, "text": "X",
        "due_on": local_today().isoformat()}).status_code == 403
    assert client.post(f"/partners/follow-ups/{book['minutes'].id}/done",
                       data={"csrf_token": token}).status_code == 403
    assert _count(Interaction) == before
    assert db.session.get(Interaction, book["visit"].id).subject == "Mayor's visit"
    assert db.session.get(FollowUp, book["minutes"].id).done_at is None
    assert len(db.session.get(Interaction, book["visit"].id).follow_ups) == 1


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_see_none_of_it(as_role, book, role):
    client = as_role(role)
    for path in ("/partners/log", f"/partners/log/{book['visit'].id}", "/partners/log/new",
                 "/partners/log/participants?q=anne", "/partners/follow-ups"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Hidalgo" not in _text(response)
    token = csrf_token(client, "/account")
    assert client.post(f"/partners/follow-ups/{book['minutes'].id}/done",
                       data={"csrf_token": token}).status_code == 403
    assert db.session.get(FollowUp, book["minutes"].id).done_at is None
