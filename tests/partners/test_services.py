"""The partners verbs: what staff see stored after each change, and what each bad input is told."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import AuditEvent, Role
from network.services import resolve_city
from partners import services
from partners.models import Contact, NameOrder
from partners.services import PartnersError

TODAY = date(2026, 11, 25)


def refused(field: str, call, *args, **kwargs) -> PartnersError:
    """Run `call`, which must refuse its input at `field`; return the error for its message."""
    with pytest.raises(PartnersError) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, (caught.value.field, str(caught.value))
    return caught.value


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# -- organisations -------------------------------------------------------------------------------


def test_embassy_organisation_links_its_mission_and_takes_its_country(make_organisation, make_embassy):
    embassy = make_embassy(country_code="FR")
    organisation = make_organisation(kind="embassy", name="Embassy of France", embassy_id=embassy.id,
                                     country_code=None)
    assert organisation.embassy is embassy
    assert organisation.country_code == "FR"
    assert events("organisation.create")[-1].after["embassy_id"] == embassy.id


def test_a_mission_has_one_organisation(make_organisation, make_embassy):
    embassy = make_embassy()
    make_organisation(kind="embassy", name="Embassy of France", embassy_id=embassy.id)
    error = refused("embassy_id", make_organisation, kind="embassy", name="French Embassy", embassy_id=embassy.id)
    assert "Embassy of France" in str(error)


def test_only_an_embassy_is_linked_to_a_mission(make_organisation, make_embassy):
    refused("embassy_id", make_organisation, kind="company", embassy_id=make_embassy().id)


def test_department_belongs_to_the_partner_of_its_government(make_organisation, make_partner):
    partner = make_partner(name="Paris", country_code="FR")
    government = make_organisation(kind="partner_government", name="City of Paris", partner_id=partner.id,
                                   country_code=None)
    department = make_organisation(kind="government_department", name="International Relations Delegation",
                                   parent_id=government.id, country_code=None)
    assert department.partner_id == partner.id
    assert department.country_code == "FR"
    assert government.departments == [department]


def test_departments_follow_their_government_to_the_partner_it_is_linked_to(make_organisation, make_partner,
                                                                            staff):
    government = make_organisation(kind="partner_government", name="Seoul Metropolitan Government")
    bureau = make_organisation(kind="government_department", name="International Affairs Bureau",
                               parent_id=government.id)
    division = make_organisation(kind="government_department", name="Global Cooperation Division",
                                 parent_id=bureau.id)
    partner = make_partner(name="Seoul", country_code="KR")
    services.update_organisation(organisation_id=government.id, actor=staff, kind="partner_government",
                                 name="Seoul Metropolitan Government", partner_id=partner.id, country_code="KR")
    assert (bureau.partner_id, division.partner_id) == (partner.id, partner.id)


def test_a_partner_has_one_government(make_organisation, make_partner):
    partner = make_partner()
    make_organisation(kind="partner_government", name="City A", partner_id=partner.id)
    refused("partner_id", make_organisation, kind="partner_government", name="City A again", partner_id=partner.id)


def test_government_department_under_a_company_is_refused(make_organisation):
    company = make_organisation(kind="company")
    refused("parent_id", make_organisation, kind="government_department", parent_id=company.id)


def test_organisation_cannot_belong_to_its_own_department(make_organisation, staff):
    government = make_organisation(kind="partner_government", name="Government")
    bureau = make_organisation(kind="government_department", name="Bureau", parent_id=government.id)
    refused("parent_id", services.update_organisation, organisation_id=government.id, actor=staff,
            kind="partner_government", name="Government", parent_id=bureau.id)
    refused("parent_id", services.update_organisation, organisation_id=government.id, actor=staff,
            kind="partner_government", name="Government", parent_id=government.id)


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "ministry"}, "kind"),
    ({"country_code": "XX"}, "country_code"),
    ({"name": "  "}, "name"),
    ({"website": "ftp://files.example.org"}, "website"),
    ({"parent_id": 999_999}, "parent_id"),
])
def test_bad_organisation_input_is_reported_at_its_field(make_organisation, fields, field):
    refused(field, make_organisation, **fields)


def test_update_organisation_audits_what_changed(make_organisation, staff):
    organisation = make_organisation(name="Tokyo University", kind="university")
    services.update_organisation(organisation_id=organisation.id, actor=staff, kind="university",
                                 name="The University of Tokyo", name_local="東京大学", country_code="JP",
                                 website="www.u-tokyo.ac.jp")
    event = events("organisation.update")[-1]
    assert event.before == {"name": "Tokyo University", "name_local": None, "website": None}
    assert event.after == {"name": "The University of Tokyo", "name_local": "東京大学",
                           "website": "https://www.u-tokyo.ac.jp"}
    assert organisation.display_name("ja") == "東京大学"
    assert organisation.display_name("en") == "The University of Tokyo"


# -- contacts: names -----------------------------------------------------------------------------


def test_japanese_name_reads_family_first_in_both_scripts(make_contact):
    contact = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田",
                           given_name_local="太郎", country_code="JP")
    assert contact.name_order == NameOrder.FAMILY_FIRST
    assert contact.display_name("ja") == "山田 太郎"
    assert contact.display_name("en") == "YAMADA Taro"


def test_korean_name_is_in_hangul_for_korean_readers_only(make_contact):
    contact = make_contact(family_name="Kim", given_name="Minjun", family_name_local="김",
                           given_name_local="민준", country_code="KR")
    assert contact.display_name("ko") == "김민준"
    assert contact.display_name("en") == "KIM Minjun"
    assert contact.display_name("ja") == "KIM Minjun"


def test_chinese_name_is_shown_in_kanji_to_japanese_readers(make_contact):
    contact = make_contact(family_name="Wang", given_name="Xiaoming", family_name_local="王",
                           given_name_local="小明", country_code="CN")
    assert contact.display_name("ja") == "王小明"
    assert contact.display_name("zh-Hans") == "王小明"
    assert contact.display_name("en") == "WANG Xiaoming"


def test_english_name_reads_given_first_for_every_reader(make_contact):
    contact = make_contact(family_name="Doe", given_name="Jane", country_code="GB")
    assert contact.name_order == NameOrder.GIVEN_FIRST
    assert contact.display_name("en") == "Jane Doe"
    assert contact.display_name("ja") == "Jane Doe"


def test_hungarian_name_is_family_first_by_country(make_contact):
    contact = make_contact(family_name="Kovács", given_name="Anna", family_name_local="Kovács",
                           given_name_local="Anna", country_code="HU", preferred_language="hu")
    assert contact.name_order == NameOrder.FAMILY_FIRST
    assert contact.display_name("hu") == "Kovács Anna"
    assert contact.display_name("en") == "KOVÁCS Anna"


def test_a_stated_name_order_wins_over_the_default(make_contact):
    contact = make_contact(family_name="Sato", given_name="Ken", family_name_local="佐藤",
                           given_name_local="健", country_code="JP", name_order="given_first")
    assert contact.display_name("en") == "Ken Sato"


def test_a_name_in_local_script_only_is_shown_to_every_reader(make_contact):
    contact = make_contact(family_name="", given_name="", family_name_local="田中", given_name_local="花子",
                           country_code="JP")
    assert contact.display_name("en") == "田中 花子"


def test_a_new_contact_is_audited_under_its_own_id(make_contact, staff):
    contact = make_contact(emails=["jane@example.org"], languages=["en"])
    event = events("contact.create")[-1]
    assert (event.object_type, event.object_id, event.actor_id) == ("contact", str(contact.id), staff.id)
    assert event.after["emails"] == ["jane@example.org"] and event.after["languages"] == ["en"]


def test_a_contact_needs_a_name(make_contact):
    refused("family_name", make_contact, family_name="", given_name=" ")


# -- contacts: reach -----------------------------------------------------------------------------


def test_tokyo_number_is_stored_as_e164(make_contact):
    contact = make_contact(country_code="JP", phones=[{"number": "03-5321-1111", "label": "office"}])
    assert [(p.number, p.label, p.is_primary) for p in contact.phones] == [("+81353211111", "office", True)]


def test_numbers_are_read_in_the_country_of_the_contacts_city(make_contact):
    tokyo = resolve_city("Tokyo, JP")
    contact = make_contact(country_code="FR", city_id=tokyo.id, phones=["03-5321-1111", "+33 1 42 76 40 40"])
    assert [p.number for p in contact.phones] == ["+81353211111", "+33142764040"]


def test_invalid_phone_number_is_reported_with_the_number(make_contact):
    error = refused("phones-1-number", make_contact, country_code="JP", phones=["03-5321-1111", "12-34"])
    assert "12-34" in str(error)


def test_emails_are_normalised_and_the_first_is_primary(make_contact):
    contact = make_contact(emails=["Jane.Doe@Example.ORG", {"address": "jd@example.net", "label": "home"}])
    assert [(e.address, e.label, e.is_primary) for e in contact.emails] == [
        ("jane.doe@example.org", "", True), ("jd@example.net", "home", False)]
    assert contact.primary_email == "jane.doe@example.org"


def test_a_stated_primary_email_comes_first(make_contact):
    contact = make_contact(emails=["a@example.org", {"address": "b@example.org", "primary": True}])
    assert contact.primary_email == "b@example.org"


@pytest.mark.parametrize(("emails", "field"), [
    (["jane@example.org", "not an address"], "emails-1-address"),
    (["jane@example.org", "JANE@example.org"], "emails-1-address"),
    ([{"address": "a@example.org", "primary": True}, {"address": "b@example.org", "primary": True}],
     "emails-1-primary"),
])
def test_bad_emails_are_reported_at_their_field(make_contact, emails, field):
    refused(field, make_contact, emails=emails)
    assert db.session.scalar(select(Contact).limit(1)) is None


def test_invalid_email_message_shows_the_address(make_contact):
    assert "jane@@example" in str(refused("emails-0-address", make_contact, emails=["jane@@example"]))


# -- contacts: languages and time zone --------------------------------------------------------------


def test_language_codes_are_canonical_and_the_preferred_one_is_spoken(make_contact):
    contact = make_contact(languages=["EN", "pt-br"], preferred_language="fr")
    assert contact.preferred_language == "fr"
    assert contact.language_codes == ["en", "fr", "pt-BR"]


def test_a_known_language_in_a_known_region_is_accepted(make_contact):
    assert make_contact(languages=["en-JP"]).language_codes == ["en-JP"]


def test_a_reader_may_prefer_plain_japanese(make_contact):
    """やさしい日本語 has its own newsletter variants (ja-x-easy): a reader learning Japanese can ask for them."""
    contact = make_contact(preferred_language="JA-x-Easy")
    assert contact.preferred_language == "ja-x-easy" and "ja-x-easy" in contact.language_codes


@pytest.mark.parametrize(("fields", "field"), [
    ({"languages": ["en", "klingon"]}, "languages-1"),
    ({"languages": ["xx"]}, "languages-0"),
    ({"preferred_language": "und"}, "preferred_language"),
    ({"preferred_language": "en-ZZ"}, "preferred_language"),
])
def test_unknown_language_codes_are_refused(make_contact, fields, field):
    refused(field, make_contact, **fields)


def test_time_zone_comes_from_the_city_unless_overridden(make_contact):
    seoul = resolve_city("Seoul, KR")
    assert make_contact(city_id=seoul.id).timezone == "Asia/Seoul"
    assert make_contact(city_id=seoul.id, timezone_override="Asia/Tokyo").timezone == "Asia/Tokyo"
    assert make_contact().timezone is None


def test_unknown_time_zone_is_refused(make_contact):
    assert "Mars/Olympus" in str(refused("timezone_override", make_contact, timezone_override="Mars/Olympus"))


def test_unknown_city_is_refused(make_contact):
    refused("city_id", make_contact, city_id=1)


# -- contacts: data protection, rank, tags, accounts ------------------------------------------------


def test_consent_dates_are_kept(make_contact):
    contact = make_contact(source="Business card, U20 Sherpa meeting", legal_basis="consent",
                           consent_date=date(2026, 5, 1), review_date=date(2028, 5, 1), today=TODAY)
    assert (contact.legal_basis, contact.consent_date, contact.review_date) == (
        "consent", date(2026, 5, 1), date(2028, 5, 1))


@pytest.mark.parametrize(("fields", "field"), [
    ({"legal_basis": "consent", "consent_date": date(2026, 11, 26)}, "consent_date"),
    ({"legal_basis": "consent"}, "consent_date"),
    ({"legal_basis": "public_task", "consent_date": date(2026, 5, 1), "review_date": date(2026, 4, 30)},
     "review_date"),
    ({"legal_basis": "curiosity"}, "legal_basis"),
    ({"protocol_rank": 0}, "protocol_rank"),
    ({"protocol_rank": "first"}, "protocol_rank"),
    ({"protocol_rank": 10_000}, "protocol_rank"),
    ({"name_order": "random"}, "name_order"),
    ({"country_code": "ZZ"}, "country_code"),
    ({"honorific": "H" * 101}, "honorific"),
])
def test_bad_contact_input_is_reported_at_its_field(make_contact, fields, field):
    refused(field, make_contact, today=TODAY, **fields)


def test_tags_are_shared_whatever_their_case(make_contact):
    first = make_contact(tags=["U20", "Sherpa"])
    second = make_contact(tags=["u20 ", "u20"])
    assert [t.name for t in first.tags] == ["Sherpa", "U20"]
    assert second.tags == [t for t in first.tags if t.name == "U20"]


def test_contact_account_must_be_an_external_account_of_one_contact(make_contact, make_user, staff):
    liaison = make_user(Role.LIAISON)
    assert make_contact(user_id=liaison.id).user is liaison
    refused("user_id", make_contact, user_id=liaison.id)
    refused("user_id", make_contact, user_id=staff.id)


def test_update_contact_keeps_addresses_and_logs_the_change(make_contact, staff):
    contact = make_contact(emails=["jane@example.org"], phones=["+44 20 7946 0000"], country_code="GB")
    email_id = contact.emails[0].id
    services.update_contact(contact_id=contact.id, actor=staff, family_name="Doe", given_name="Jane",
                            country_code="GB", title="Head of International Relations",
                            emails=["jane@example.org", "jane.doe@example.net"])
    assert contact.emails[0].id == email_id
    assert [e.address for e in contact.emails] == ["jane@example.org", "jane.doe@example.net"]
    assert contact.phones == []
    event = events("contact.update")[-1]
    assert (event.object_type, event.object_id) == ("contact", str(contact.id))
    assert event.after == {"title": "Head of International Relations",
                           "emails": ["jane@example.org", "jane.doe@example.net"], "phones": []}


def test_a_refused_update_changes_nothing(make_contact, staff):
    contact = make_contact(emails=["jane@example.org"])
    refused("emails-0-address", services.update_contact, contact_id=contact.id, actor=staff, family_name="Roe",
            emails=["broken"])
    db.session.expire_all()
    assert (contact.family_name, contact.primary_email) == ("Doe", "jane@example.org")


def test_an_erased_contact_is_not_updated(make_contact, staff):
    contact = make_contact()
    contact.erased_at = datetime(2026, 11, 1, tzinfo=UTC)
    assert contact.display_name("en") == "Erased contact"
    with pytest.raises(PartnersError):
        services.update_contact(contact_id=contact.id, actor=staff, family_name="Doe")


# -- positions -----------------------------------------------------------------------------------


def test_a_move_ends_the_previous_position_and_keeps_it(make_contact, make_organisation, staff):
    contact = make_contact()
    london = make_organisation(kind="partner_government", name="Greater London Authority", country_code="GB")
    embassy = make_organisation(kind="embassy", name="British Embassy Tokyo", country_code="GB")
    first = services.add_position(contact_id=contact.id, organisation_id=london.id, title="Senior Policy Officer",
                                  started_on=date(2019, 4, 1), actor=staff, today=TODAY)
    second = services.add_position(contact_id=contact.id, organisation_id=embassy.id, title="First Secretary",
                                   started_on=date(2024, 9, 1), end_current=True, actor=staff, today=TODAY)
    db.session.expire_all()
    assert [(p.organisation.name, p.started_on, p.ended_on) for p in contact.positions] == [
        ("British Embassy Tokyo", date(2024, 9, 1), None),
        ("Greater London Authority", date(2019, 4, 1), date(2024, 9, 1))]
    assert contact.current_positions == [second]
    assert first.is_current is False
    assert [e.after["position_id"] for e in events("contact.position_end")] == [first.id]


def test_a_position_cannot_end_before_it_starts(make_contact, make_organisation, staff):
    contact, organisation = make_contact(), make_organisation()
    refused("ended_on", services.add_position, contact_id=contact.id, organisation_id=organisation.id,
            started_on=date(2024, 4, 1), ended_on=date(2024, 3, 31), actor=staff, today=TODAY)
    position = services.add_position(contact_id=contact.id, organisation_id=organisation.id,
                                     started_on=date(2024, 4, 1), actor=staff, today=TODAY)
    error = refused("ended_on", services.end_position, position_id=position.id, ended_on=date(2024, 3, 31),
                    actor=staff, today=TODAY)
    assert "2024-04-01" in str(error)
    refused("ended_on", services.end_position, position_id=position.id, ended_on=date(2026, 12, 1), actor=staff,
            today=TODAY)


def test_a_position_ends_once(make_contact, make_organisation, staff):
    contact, organisation = make_contact(), make_organisation()
    position = services.add_position(contact_id=contact.id, organisation_id=organisation.id, actor=staff)
    services.end_position(position_id=position.id, ended_on=date(2025, 3, 31), actor=staff, today=TODAY)
    assert position.ended_on == date(2025, 3, 31)
    refused("ended_on", services.end_position, position_id=position.id, ended_on=date(2025, 4, 1), actor=staff,
            today=TODAY)


def test_a_move_needs_its_date_and_cannot_precede_the_current_post(make_contact, make_organisation, staff):
    contact, old, new = make_contact(), make_organisation(), make_organisation()
    services.add_position(contact_id=contact.id, organisation_id=old.id, started_on=date(2024, 4, 1), actor=staff)
    refused("started_on", services.add_position, contact_id=contact.id, organisation_id=new.id, end_current=True,
            actor=staff)
    refused("started_on", services.add_position, contact_id=contact.id, organisation_id=new.id, end_current=True,
            started_on=date(2023, 1, 1), actor=staff)


def test_the_same_current_position_is_not_added_twice(make_contact, make_organisation, staff):
    contact, organisation = make_contact(), make_organisation()
    services.add_position(contact_id=contact.id, organisation_id=organisation.id, title="Mayor", actor=staff)
    refused("title", services.add_position, contact_id=contact.id, organisation_id=organisation.id, title="Mayor",
            actor=staff)


def test_a_position_at_an_unknown_organisation_is_refused(make_contact, staff):
    refused("organisation_id", services.add_position, contact_id=make_contact().id, organisation_id=999_999,
            actor=staff)


# -- interactions --------------------------------------------------------------------------------


def test_a_gift_is_logged_with_its_value(make_contact, make_organisation, staff):
    contact = make_contact()
    organisation = make_organisation(kind="embassy", name="Embassy of Finland")
    interaction = services.add_interaction(
        kind="gift_received", occurred_on=date(2026, 10, 2), subject="Courtesy call of the Ambassador",
        gift_description="Iittala glass bird", gift_value="15000", gift_currency="jpy", contact_ids=[contact.id],
        organisation_ids=[organisation.id], staff_ids=[staff.id], actor=staff, today=TODAY)
    db.session.expire_all()
    assert (interaction.gift_description, interaction.gift_value, interaction.gift_currency) == (
        "Iittala glass bird", Decimal("15000.00"), "JPY")
    assert (interaction.contacts, interaction.organisations, interaction.staff) == ([contact], [organisation],
                                                                                     [staff])
    assert interaction.created_by is staff
    assert contact.interactions == [interaction] and organisation.interactions == [interaction]
    assert events("interaction.create")[-1].after["gift_value"] == "15000.00"


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "call", "gift_value": "100", "gift_currency": "JPY"}, "gift_value"),
    ({"kind": "meeting", "gift_description": "Fan"}, "gift_description"),
    ({"kind": "gift_given", "gift_description": ""}, "gift_description"),
    ({"kind": "gift_given", "gift_description": "Fan", "gift_value": "-1", "gift_currency": "JPY"}, "gift_value"),
    ({"kind": "gift_given", "gift_description": "Fan", "gift_value": "ten", "gift_currency": "JPY"}, "gift_value"),
    ({"kind": "gift_given", "gift_description": "Fan", "gift_value": "10"}, "gift_currency"),
    ({"kind": "gift_given", "gift_description": "Fan", "gift_value": "10", "gift_currency": "YEN"}, "gift_currency"),
    ({"kind": "dinner"}, "kind"),
    ({"occurred_on": date(2026, 11, 26)}, "occurred_on"),
    ({"subject": ""}, "subject"),
])
def test_bad_interaction_input_is_reported_at_its_field(make_contact, staff, fields, field):
    values = {"kind": "visit", "occurred_on": date(2026, 11, 1), "subject": "Visit",
              "contact_ids": [make_contact().id], **fields}
    refused(field, services.add_interaction, actor=staff, today=TODAY, **values)


def test_interaction_participants_must_exist(make_contact, make_user, staff):
    contact = make_contact()
    base = {"kind": "call", "occurred_on": date(2026, 11, 1), "subject": "Call", "actor": staff, "today": TODAY}
    refused("contact_ids", services.add_interaction, contact_ids=[contact.id, 999_999], **base)
    refused("organisation_ids", services.add_interaction, organisation_ids=[999_999], **base)
    refused("staff_ids", services.add_interaction, contact_ids=[contact.id],
            staff_ids=[make_user(Role.DELEGATE).id], **base)
    refused("contact_ids", services.add_interaction, **base)


# -- follow-ups ----------------------------------------------------------------------------------


@pytest.fixture
def interaction(make_contact, staff):
    return services.add_interaction(kind="meeting", occurred_on=date(2026, 11, 2), subject="Senior officials",
                                    contact_ids=[make_contact().id], actor=staff, today=TODAY)


def test_due_follow_ups_are_the_open_ones_due_by_today(interaction, staff):
    def add(due_on, text):
        return services.add_follow_up(interaction_id=interaction.id, owner_id=staff.id, due_on=due_on, text=text,
                                      actor=staff)

    later, overdue, today, done = (add(date(2026, 12, 1), "Send the report"), add(date(2026, 11, 10), "Thank"),
                                   add(TODAY, "Call back"), add(date(2026, 11, 5), "Book room"))
    services.complete_follow_up(follow_up_id=done.id, actor=staff)
    assert services.due_follow_ups(TODAY) == [overdue, today]
    overdue.reminded_at = datetime(2026, 11, 10, 9, tzinfo=UTC)
    assert services.due_follow_ups(TODAY, unreminded_only=True) == [today]
    assert later not in services.due_follow_ups(TODAY)


def test_a_follow_up_is_done_once(interaction, staff):
    follow_up = services.add_follow_up(interaction_id=interaction.id, owner_id=staff.id, due_on=date(2026, 11, 9),
                                       text="Send the minutes", actor=staff)
    services.complete_follow_up(follow_up_id=follow_up.id, actor=staff)
    assert follow_up.done_at is not None
    with pytest.raises(PartnersError):
        services.complete_follow_up(follow_up_id=follow_up.id, actor=staff)


@pytest.mark.parametrize(("fields", "field"), [
    ({"due_on": date(2026, 11, 1)}, "due_on"),
    ({"text": " "}, "text"),
    ({"owner_id": 999_999}, "owner_id"),
])
def test_bad_follow_up_input_is_reported_at_its_field(interaction, staff, fields, field):
    values = {"owner_id": staff.id, "due_on": date(2026, 11, 9), "text": "Send the minutes", **fields}
    refused(field, services.add_follow_up, interaction_id=interaction.id, actor=staff, **values)
