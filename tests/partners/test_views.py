"""The organisation and contact pages: lists, details, forms with repeated rows, positions, bulk tags and
saved searches, as staff of each role use them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import AuditEvent
from network.services import resolve_city
from partners import services
from partners.models import Contact, ContactEmail, Organisation, Position, SavedSearch, Tag
from tests.conftest import csrf_token
from tests.network.test_views import count, error_at, post


def contact_named(family_name: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.family_name == family_name))


# -- organisations -------------------------------------------------------------------------------


def test_organisation_list_filters_by_kind_country_link_and_name_in_any_script(as_role, make_organisation,
                                                                              make_embassy, make_partner):
    make_organisation(kind="embassy", name="Embassy of France", embassy_id=make_embassy().id, country_code="FR")
    seoul = make_partner(name="Seoul", country_code="KR")
    make_organisation(kind="partner_government", name="Seoul Metropolitan Government", name_local="서울특별시",
                      partner_id=seoul.id, country_code="KR")
    make_organisation(kind="university", name="Université de Genève", country_code="CH")
    db.session.commit()
    client = as_role("viewer")
    html = client.get("/partners/organisations").get_data(as_text=True)
    assert "3 organisations" in html
    assert html.index("Embassy of France") < html.index("Seoul Metropolitan") < html.index("Université de Genève")
    html = client.get("/partners/organisations", query_string={"kind": "embassy"}).get_data(as_text=True)
    assert "1 organisation" in html and "Embassy of France" in html and "Seoul Metropolitan" not in html
    html = client.get("/partners/organisations", query_string={"country": "kr"}).get_data(as_text=True)
    assert "1 organisation" in html and "Seoul Metropolitan Government" in html
    html = client.get("/partners/organisations", query_string={"link": "none"}).get_data(as_text=True)
    assert "1 organisation" in html and "Université de Genève" in html
    html = client.get("/partners/organisations", query_string={"link": "partner"}).get_data(as_text=True)
    assert "1 organisation" in html and "Seoul Metropolitan Government" in html
    html = client.get("/partners/organisations", query_string={"partner": seoul.id}).get_data(as_text=True)
    assert "1 organisation" in html and "Seoul Metropolitan Government" in html
    for q in ("universite de geneve", "GENÈVE", "서울"):
        html = client.get("/partners/organisations", query_string={"q": q}).get_data(as_text=True)
        assert "1 organisation" in html, q
    html = client.get("/partners/organisations", query_string={"sort": "country"}).get_data(as_text=True)
    assert html.index("Université de Genève") < html.index("Embassy of France") < html.index("Seoul Metropolitan")


def test_organisation_list_pages(as_role, make_organisation):
    for i in range(30):
        make_organisation(name=f"Company {i:02d}")
    db.session.commit()
    client = as_role("viewer")
    html = client.get("/partners/organisations").get_data(as_text=True)
    assert "30 organisations" in html and "Company 24" in html and "Company 25" not in html
    html = client.get("/partners/organisations", query_string={"page": 2}).get_data(as_text=True)
    assert "Company 25" in html and "Company 24" not in html


def test_organisation_page_shows_registry_link_departments_and_people_now_and_before(
        as_role, make_organisation, make_contact, make_partner, staff):
    paris = make_partner(name="Paris", country_code="FR")
    government = make_organisation(kind="partner_government", name="City of Paris", partner_id=paris.id)
    make_organisation(kind="government_department", name="International Relations Delegation",
                      parent_id=government.id)
    now = make_contact(family_name="Hidalgo", given_name="Anne", country_code="FR")
    before = make_contact(family_name="Delanoë", given_name="Bertrand", country_code="FR")
    services.add_position(contact_id=now.id, organisation_id=government.id, title="Mayor",
                          started_on=date(2014, 4, 5), actor=staff)
    services.add_position(contact_id=before.id, organisation_id=government.id, title="Mayor",
                          started_on=date(2001, 3, 25), ended_on=date(2014, 4, 5), actor=staff)
    services.add_interaction(kind="visit", occurred_on=date(2025, 5, 1), subject="Courtesy call on the Mayor",
                             organisation_ids=[government.id], actor=staff)
    db.session.commit()
    html = as_role("viewer").get(f"/partners/organisations/{government.id}").get_data(as_text=True)
    assert ">Paris</a>" in html and "International Relations Delegation" in html
    current, past = html.split("People who work here now")[1].split("People who worked here")
    assert "Anne Hidalgo" in current and "Delanoë" not in current
    assert "Bertrand Delanoë" in past
    assert "Courtesy call on the Mayor" in html
    assert f"/partners/log?organisation={government.id}" in html
    assert "Edit the organisation" not in html  # a viewer reads only


def test_editor_adds_and_edits_an_organisation(as_role, make_embassy):
    embassy = make_embassy(country_code="FR")
    client = as_role("editor")
    response = post(client, "/partners/organisations/new", {
        "kind": "embassy", "name": "Embassy of France", "name_local": "Ambassade de France",
        "embassy_id": str(embassy.id), "country_code": "", "website": "fr.emb-japan.go.jp", "notes": ""})
    assert response.status_code == 303
    created = db.session.scalar(select(Organisation).where(Organisation.name == "Embassy of France"))
    assert created.embassy_id == embassy.id and created.country_code == "FR"
    assert created.website == "https://fr.emb-japan.go.jp"
    path = f"/partners/organisations/{created.id}/edit"
    html = client.get(path).get_data(as_text=True)
    assert 'value="Ambassade de France"' in html
    response = post(client, path, {"kind": "embassy", "name": "Embassy of France in Japan", "name_local": "",
                                   "embassy_id": str(embassy.id), "country_code": "FR"})
    assert response.status_code == 303
    db.session.refresh(created)
    assert created.name == "Embassy of France in Japan" and created.name_local is None


def test_bad_organisation_input_is_told_at_its_field_and_nothing_is_saved(as_role, make_embassy):
    embassy = make_embassy()
    client = as_role("editor")
    before = count(Organisation)
    response = post(client, "/partners/organisations/new", {"kind": "company", "name": "Total",
                                                            "embassy_id": str(embassy.id)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Only an embassy is linked to a mission" in error_at(html, "embassy_id")
    assert 'aria-invalid="true"' in html
    assert count(Organisation) == before


def test_viewer_cannot_add_or_change_an_organisation(as_role, make_organisation):
    organisation = make_organisation(name="Kept As Is")
    db.session.commit()
    client = as_role("viewer")
    token = csrf_token(client, "/account")
    assert client.get("/partners/organisations/new").status_code == 403
    response = client.post(f"/partners/organisations/{organisation.id}/edit",
                           data={"kind": "company", "name": "Changed", "csrf_token": token})
    assert response.status_code == 403
    db.session.refresh(organisation)
    assert organisation.name == "Kept As Is"


# -- contacts ------------------------------------------------------------------------------------


def test_contact_page_shows_names_in_both_scripts_reach_languages_and_local_time(as_role, make_contact,
                                                                                make_organisation, staff):
    tokyo = resolve_city("Tokyo, JP")
    contact = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田",
                           given_name_local="太郎", country_code="JP", city_id=tokyo.id, honorific="Mr",
                           title="Director", languages=["ja", "en"], preferred_language="ja",
                           emails=["taro.yamada@example.jp"], phones=["03-5321-1111"], protocol_rank=12,
                           tags=["G20"], legal_basis="public_task", source="Business card, 2025",
                           review_date=date(2027, 1, 1), notes="Prefers morning calls")
    company = make_organisation(name="Yamada Trading")
    services.add_position(contact_id=contact.id, organisation_id=company.id, title="CEO", actor=staff)
    db.session.commit()
    html = as_role("viewer").get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "YAMADA Taro" in html and "山田 太郎" in html and "Family name first" in html
    assert 'href="tel:+81353211111">+81 3-5321-1111</a>' in html
    assert 'href="mailto:taro.yamada@example.jp"' in html
    assert "Japanese" in html and "English" in html
    assert "(Asia/Tokyo)" in html
    assert "Yamada Trading" in html and "CEO" in html
    assert "G20" in html and "Public task" in html and "Business card, 2025" in html and "12" in html
    assert "Prefers morning calls" in html
    assert f"/partners/log?contact={contact.id}" in html
    assert "Edit the contact" not in html


def test_japanese_reader_sees_the_name_in_kanji_first(as_role, make_contact, make_user):
    contact = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田", given_name_local="太郎",
                           country_code="JP")
    db.session.commit()
    client = as_role("viewer", language="ja")
    html = client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "<h1>山田 太郎</h1>" in html


def contact_form(**overrides) -> dict:
    data = {"family_name": "Dupont", "given_name": "Marie", "country_code": "FR",
            "emails-0-address": "", "phones-0-number": "", "legal_basis": "", "name_order": ""}
    data.update(overrides)
    return data


def test_editor_adds_a_contact_with_several_emails_and_phones_and_a_first_position(as_role, make_organisation):
    company = make_organisation(name="Airbus", country_code="FR")
    db.session.commit()
    client = as_role("editor")
    response = post(client, "/partners/contacts/new", contact_form(**{
        "emails-0-address": "Marie.Dupont@Example.FR", "emails-0-label": "work",
        "emails-1-address": "marie@example.org", "emails-1-primary": "y",
        "phones-0-number": "01 42 76 40 40", "languages": "fr, en", "preferred_language": "fr",
        "tags": "aerospace, G20", "organisation_id": str(company.id), "position_title": "Head of Japan Desk",
        "city": "Toulouse, FR"}), form_path="/partners/contacts/new")
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    contact = contact_named("Dupont")
    assert [(e.address, e.is_primary) for e in contact.emails] == [("marie@example.org", True),
                                                                   ("marie.dupont@example.fr", False)]
    assert [p.number for p in contact.phones] == ["+33142764040"]
    assert contact.language_codes == ["en", "fr"] and contact.preferred_language == "fr"
    assert [t.name for t in contact.tags] == ["aerospace", "G20"]
    assert contact.city.name == "Toulouse" and contact.timezone == "Europe/Paris"
    assert [(p.organisation.name, p.title) for p in contact.current_positions] == [("Airbus", "Head of Japan Desk")]


def test_add_another_email_row_saves_nothing(as_role):
    client = as_role("editor")
    response = post(client, "/partners/contacts/new", contact_form(**{"emails-0-address": "a@example.org",
                                                                      "add_email": "1"}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="emails-1-address"' in html and 'value="a@example.org"' in html
    assert contact_named("Dupont") is None


def test_a_bad_email_in_the_second_row_is_told_at_that_row_and_nothing_is_saved(as_role, make_organisation):
    company = make_organisation(name="Airbus")
    db.session.commit()
    client = as_role("editor")
    before = (count(Contact), count(ContactEmail), count(Position), count(Tag))
    response = post(client, "/partners/contacts/new", contact_form(**{
        "emails-0-address": "marie@example.org", "emails-1-address": "not-an-address", "tags": "new-tag",
        "organisation_id": str(company.id)}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not-an-address is not a valid email address" in error_at(html, "emails-1-address")
    assert 'href="#emails-1-address"' in html  # the summary leads to the row
    assert (count(Contact), count(ContactEmail), count(Position), count(Tag)) == before


def test_a_bad_phone_and_an_unknown_language_are_told_at_their_fields(as_role):
    client = as_role("editor")
    response = post(client, "/partners/contacts/new", contact_form(**{"phones-0-number": "12"}))
    assert response.status_code == 422
    assert "12 is not a phone number in FR" in error_at(response.get_data(as_text=True), "phones-0-number")
    response = post(client, "/partners/contacts/new", contact_form(languages="ja, klingon"))
    assert response.status_code == 422
    assert "klingon is not a language code" in error_at(response.get_data(as_text=True), "languages")
    response = post(client, "/partners/contacts/new", contact_form(city="Atlantis, FR"))
    assert "No reference city is called Atlantis, FR" in error_at(response.get_data(as_text=True), "city")
    response = post(client, "/partners/contacts/new", contact_form(legal_basis="consent"))
    assert "Give the date the person consented" in error_at(response.get_data(as_text=True), "consent_date")
    assert contact_named("Dupont") is None


def test_editor_edits_a_contact_and_keeps_what_the_form_does_not_show(as_role, make_contact, make_user):
    contact = make_contact(family_name="Kim", given_name="Minjun", family_name_local="김", given_name_local="민준",
                           country_code="KR", emails=["minjun@example.kr"], phones=[],
                           tags=["Seoul"])
    db.session.commit()
    client = as_role("editor")
    path = f"/partners/contacts/{contact.id}/edit"
    html = client.get(path).get_data(as_text=True)
    assert 'value="minjun@example.kr"' in html and 'id="emails-1-address"' in html and 'value="Seoul"' in html
    response = post(client, path, contact_form(**{
        "family_name": "Kim", "given_name": "Min-jun", "family_name_local": "김", "given_name_local": "민준",
        "country_code": "KR", "emails-0-address": "minjun@example.kr", "emails-1-address": "mj@example.org",
        "tags": "Seoul, U20"}))
    assert response.status_code == 303
    db.session.refresh(contact)
    assert contact.given_name == "Min-jun" and [e.address for e in contact.emails] == ["minjun@example.kr",
                                                                                      "mj@example.org"]
    assert [t.name for t in contact.tags] == ["Seoul", "U20"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact.update",
                                                      AuditEvent.object_id == str(contact.id))) is not None


def test_viewer_reads_contacts_but_cannot_change_them(as_role, make_contact):
    contact = make_contact(family_name="Doe")
    db.session.commit()
    client = as_role("viewer")
    html = client.get("/partners/contacts").get_data(as_text=True)
    assert '<a href="/partners/contacts" aria-current="page">Contacts</a>' in html  # in the staff navigation
    assert "Add a contact" not in html and 'name="contact_ids"' not in html and "Tag the chosen" not in html
    html = client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "Jane Doe" in html and "Add a position" not in html and "Invite to an account" not in html
    token = csrf_token(client, "/account")
    for path in (f"/partners/contacts/{contact.id}/edit", "/partners/contacts/new",
                 f"/partners/contacts/{contact.id}/positions/new", f"/partners/contacts/{contact.id}/invite"):
        response = client.post(path, data={**contact_form(family_name="Changed"), "csrf_token": token})
        assert response.status_code == 403, path
    response = client.post("/partners/contacts/tag", data={"contact_ids": [contact.id], "tag": "x",
                                                           "action": "add", "csrf_token": token})
    assert response.status_code == 403
    db.session.refresh(contact)
    assert contact.family_name == "Doe" and contact.tags == [] and contact.positions == []
    assert contact_named("Changed") is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_bouncing_address_is_shown_with_the_servers_answer_and_an_editor_says_it_works_again(
        as_role, make_contact, role):
    from partners import bounces

    contact = make_contact(family_name="Doe", emails=["jane@mission.example", "jane.doe@gmail.example"])
    bounces.record_bounce(bounces.Report(message_id=None, failures=(bounces.Failure(
        email="jane@mission.example", action="failed", status="5.1.1",
        diagnostic="smtp; 550 5.1.1 <jane@mission.example>: Recipient address rejected"),)))
    bounces.mark_bouncing("jane@mission.example")
    db.session.commit()
    client = as_role(role)
    html = client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "Mail to it comes back" in html and "5.1.1" in html and "Recipient address rejected" in html
    assert html.count("Mail to it comes back") == 1  # the other address works
    bouncing = next(e for e in contact.emails if e.address == "jane@mission.example")
    response = client.post(f"/partners/contacts/{contact.id}/emails/{bouncing.id}/works",
                           data={"csrf_token": csrf_token(client, "/account")})
    db.session.expire_all()
    if role == "viewer":
        assert response.status_code == 403 and db.session.get(ContactEmail, bouncing.id).bouncing_at is not None
        return
    assert response.status_code == 303
    assert db.session.get(ContactEmail, bouncing.id).bouncing_at is None
    assert "Mail to it comes back" not in client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)


# -- positions -----------------------------------------------------------------------------------


def test_positions_are_added_moved_and_ended_and_the_history_stays(as_role, make_contact, make_organisation):
    contact = make_contact(family_name="Martin")
    first, second = make_organisation(name="First Bank"), make_organisation(name="Second Bank")
    db.session.commit()
    client = as_role("editor")
    path = f"/partners/contacts/{contact.id}/positions/new"
    response = post(client, path, {"organisation_id": str(first.id), "title": "Analyst",
                                   "started_on": "2020-04-01"})
    assert response.status_code == 303
    assert "Record a move" in client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    response = post(client, path, {"organisation_id": str(second.id), "title": "Director",
                                   "started_on": "2019-01-01", "end_current": "y"}, form_path=path + "?move=1")
    assert response.status_code == 422  # the move cannot come before the post it ends began
    assert "started after this date" in error_at(response.get_data(as_text=True), "started_on")
    response = post(client, path, {"organisation_id": str(second.id), "title": "Director",
                                   "started_on": "2024-07-01", "end_current": "y"})
    assert response.status_code == 303
    db.session.refresh(contact)
    assert [(p.organisation.name, p.ended_on) for p in contact.positions] == [
        ("Second Bank", None), ("First Bank", date(2024, 7, 1))]
    current = contact.positions[0]
    end_path = f"/partners/positions/{current.id}/end"
    response = post(client, end_path, {"ended_on": "2024-01-01"})
    assert response.status_code == 422
    assert "cannot end before it starts" in error_at(response.get_data(as_text=True), "ended_on")
    response = post(client, end_path, {"ended_on": "2025-03-31"})
    assert response.status_code == 303
    db.session.refresh(current)
    assert current.ended_on == date(2025, 3, 31)
    html = client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "First Bank" in html and "Second Bank" in html and "Record a move" not in html


# -- bulk tags and saved searches ---------------------------------------------------------------------


def test_editor_tags_and_untags_the_chosen_contacts(as_role, make_contact):
    one, two, three = (make_contact(family_name=name) for name in ("One", "Two", "Three"))
    db.session.commit()
    client = as_role("editor")
    html = client.get("/partners/contacts").get_data(as_text=True)
    assert f'id="pick-{one.id}"' in html and f'<label for="pick-{one.id}"' in html
    response = post(client, "/partners/contacts/tag", {"contact_ids": [one.id, two.id], "tag": "Leaders 2026",
                                                       "action": "add", "back": "/partners/contacts?q=o"},
                    form_path="/partners/contacts")
    assert response.status_code == 303 and response.location.endswith("/partners/contacts?q=o")
    assert [c.family_name for c in db.session.scalars(select(Contact).where(
        Contact.tags.any(Tag.key == "leaders 2026")).order_by(Contact.id))] == ["One", "Two"]
    assert "added to 2 contacts" in client.get("/partners/contacts").get_data(as_text=True)
    response = post(client, "/partners/contacts/tag", {"contact_ids": [two.id, three.id], "tag": "leaders 2026",
                                                       "action": "remove", "back": "https://evil.example/"},
                    form_path="/partners/contacts")
    assert response.status_code == 303 and response.location.endswith("/partners/contacts")
    db.session.refresh(one), db.session.refresh(two)
    assert [t.name for t in one.tags] == ["Leaders 2026"] and two.tags == []


def test_editor_puts_the_chosen_contacts_on_a_mailing_list_but_never_back_one_who_left(as_role, make_contact):
    from partners import newsletters
    from partners.models import Subscription, SubscriptionStatus

    corps = newsletters.create_list(names={"en": "Diplomatic corps weekly update"}, actor=None)
    one = make_contact(family_name="One", emails=[{"address": "one@example.org"}])
    left = make_contact(family_name="Left", emails=[{"address": "left@example.org"}])
    silent = make_contact(family_name="Silent")
    newsletters.subscribe(list_id=corps.id, contact_id=left.id, actor=None)
    newsletters.unsubscribe(token=newsletters.unsubscribe_token(newsletters._subscription(corps.id, left.id)))
    db.session.commit()
    client = as_role("editor")
    page = client.get("/partners/contacts").get_data(as_text=True)
    assert 'formaction="/partners/contacts/subscribe"' in page and "Diplomatic corps weekly update" in page
    response = post(client, "/partners/contacts/subscribe", {"contact_ids": [one.id, left.id, silent.id],
                                                             "list_id": corps.id}, form_path="/partners/contacts")
    assert response.status_code == 303
    statuses = {s.contact_id: s.status for s in db.session.scalars(select(Subscription))}
    assert statuses == {one.id: SubscriptionStatus.ACTIVE, left.id: SubscriptionStatus.UNSUBSCRIBED}
    said = client.get("/partners/contacts").get_data(as_text=True)
    assert "1 contact is added to the list." in said and "1 has no email address" in said
    assert "1 left the list (only they can come back)" in said


def test_editor_invites_the_chosen_contacts_to_a_meeting_in_their_language(as_role, make_contact):
    from meetings import services as meeting_services
    from meetings.models import Invitation
    from tests.meetings.test_services import plan

    meeting = plan()
    kim = make_contact(family_name="Kim", given_name="Minjun", country_code="KR", preferred_language="ja",
                       emails=[{"address": "kim@seoul.example"}])
    nobody = make_contact(family_name="Nobody")
    db.session.commit()
    client = as_role("editor")
    page = client.get("/partners/contacts").get_data(as_text=True)
    assert 'formaction="/partners/contacts/invite"' in page and "Senior officials meeting" in page
    response = post(client, "/partners/contacts/invite", {"contact_ids": [kim.id, nobody.id],
                                                          "meeting_id": meeting.id}, form_path="/partners/contacts")
    assert response.status_code == 303
    [invitation] = db.session.scalars(select(Invitation)).all()
    assert (invitation.email, invitation.language, invitation.contact_id) == ("kim@seoul.example", "ja", kim.id)
    again = post(client, "/partners/contacts/invite", {"contact_ids": [kim.id], "meeting_id": meeting.id},
                 form_path="/partners/contacts")
    assert again.status_code == 303 and len(db.session.scalars(select(Invitation)).all()) == 1
    assert "1 was there already" in client.get("/partners/contacts").get_data(as_text=True)
    assert meeting_services.people_told(meeting) == [invitation]


def test_a_viewer_cannot_use_the_bulk_actions(as_role, make_contact):
    one = make_contact(family_name="One", emails=[{"address": "one@example.org"}])
    db.session.commit()
    client = as_role("viewer")
    for path in ("/partners/contacts/subscribe", "/partners/contacts/invite"):
        assert post(client, path, {"contact_ids": [one.id]}, form_path="/partners/contacts").status_code == 403


def test_tagging_an_unknown_contact_changes_nobody(as_role, make_contact):
    one = make_contact(family_name="One")
    db.session.commit()
    client = as_role("editor")
    response = post(client, "/partners/contacts/tag", {"contact_ids": [one.id, 999999], "tag": "x",
                                                       "action": "add"}, form_path="/partners/contacts")
    assert response.status_code == 303
    db.session.refresh(one)
    assert one.tags == []
    assert "No contact has the id 999999" in client.get("/partners/contacts").get_data(as_text=True)


def test_a_user_saves_runs_and_deletes_a_search_of_their_own(as_role, make_contact, make_user):
    make_contact(family_name="Yamada", country_code="JP")
    make_contact(family_name="Smith", country_code="GB")
    db.session.commit()
    client = as_role("viewer")
    response = post(client, "/partners/contacts/searches", {"name": "Japan", "query": "country=JP&bogus=1"},
                    form_path="/partners/contacts?country=JP")
    assert response.status_code == 303
    saved = db.session.scalar(select(SavedSearch).where(SavedSearch.user_id == client.user.id))
    assert (saved.name, saved.query) == ("Japan", "country=JP")
    html = client.get("/partners/contacts").get_data(as_text=True)
    assert 'href="/partners/contacts?country=JP">Japan</a>' in html
    html = client.get("/partners/contacts?country=JP").get_data(as_text=True)
    assert "1 contact" in html and "YAMADA" in html and "Smith" not in html
    other = SavedSearch(user_id=make_user("viewer").id, name="Theirs", query="country=GB")
    db.session.add(other)
    db.session.commit()
    assert "Theirs" not in client.get("/partners/contacts").get_data(as_text=True)
    token = csrf_token(client, "/partners/contacts")
    assert client.post(f"/partners/contacts/searches/{other.id}/delete",
                       data={"csrf_token": token}).status_code == 404
    assert db.session.get(SavedSearch, other.id) is not None
    response = client.post(f"/partners/contacts/searches/{saved.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert db.session.get(SavedSearch, saved.id) is None


def test_a_search_without_a_name_is_not_saved(as_role):
    client = as_role("editor")
    response = post(client, "/partners/contacts/searches", {"name": " ", "query": "country=JP"},
                    form_path="/partners/contacts?country=JP")
    assert response.status_code == 303
    assert count(SavedSearch) == 0
    assert "Give the search a name." in client.get("/partners/contacts").get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_each_role_sees_the_partners_pages_it_may_use(as_role, make_contact, role):
    person = make_contact(family_name="Yamada", given_name="Taro")
    db.session.commit()
    client = as_role(role)
    listing = client.get("/partners/contacts").get_data(as_text=True)
    section = listing.split('<nav aria-label="Partners"')[1].split("</nav>")[0]
    assert all(f'href="{path}"' in section for path in ("/partners/contacts", "/partners/organisations",
                                                          "/partners/log", "/partners/follow-ups"))
    assert 'href="/partners/contacts" aria-current="page"' in section
    for path in ("/partners/import", "/partners/export", "/partners/duplicates"):
        assert (f'href="{path}"' in section) == (role != "viewer"), path
    page = client.get(f"/partners/contacts/{person.id}").get_data(as_text=True)
    assert (f'href="/partners/contacts/{person.id}/vcard"' in page) == (role != "viewer")
    assert (f'href="/partners/contacts/{person.id}/erase"' in page) == (role == "admin")


def test_a_contacts_city_chosen_among_the_suggestions_stays_chosen_over_a_larger_namesake(as_role):
    springfield_ma = 4951788  # "Springfield, US" alone names the larger one, in Missouri
    client = as_role("editor")
    form = client.get("/partners/contacts/new").get_data(as_text=True)
    assert 'role="combobox"' in form and 'data-city-id-input="city_id"' in form
    response = client.post("/partners/contacts/new", data={
        "csrf_token": csrf_token(client, "/partners/contacts/new"), "family_name": "Doe", "given_name": "Jane",
        "country_code": "US", "city": "Springfield, US", "city_id": str(springfield_ma)})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    contact = db.session.scalar(select(Contact).where(Contact.family_name == "Doe"))
    assert contact.city_id == springfield_ma and contact.timezone == "America/New_York"
    edit = client.get(f"/partners/contacts/{contact.id}/edit").get_data(as_text=True)
    assert f'name="city_id" type="hidden" value="{springfield_ma}"' in edit
