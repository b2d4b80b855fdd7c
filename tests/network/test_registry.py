"""The registry's rules: partners, relationships and their history, agreements, embassies, networks."""

from datetime import date

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import AuditEvent
from network import queries, services
from network.models import (
    AgreementKind,
    DatePrecision,
    EmbassyStatus,
    MissionType,
    Partner,
    PartnerKind,
    Relationship,
    RelationshipKind,
    RelationshipStatus,
)
from network.services import NetworkError

TODAY = date(2026, 11, 25)


@pytest.fixture
def nyc(db_session):
    city = services.resolve_city("New York City, US")
    return services.create_partner(kind="city", name="New York City", local_name="New York",
                                   name_ja="ニューヨーク市", country_code="us", city_id=city.id, actor=None)


def test_state_partner_links_to_its_subdivision(db_session):
    nsw = services.create_partner(kind=PartnerKind.SUBNATIONAL, name="New South Wales", country_code="AU",
                                  subdivision_code="au-nsw", actor=None)
    assert (nsw.subdivision.name, nsw.subdivision_code, nsw.city_id) == ("New South Wales", "AU-NSW", None)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"kind": "village"}, "kind", "Choose city"),
    ({"name": "  "}, "name", "required"),
    ({"name": "x" * 201}, "name", "At most 200"),
    ({"country_code": "XX"}, "country_code", "not an ISO 3166 country code"),
    ({"subdivision_code": "BR-SP"}, "subdivision_code", "not a subdivision of AU"),
    ({"city_id": 1850147}, "city_id", "Tokyo is in JP, not in AU"),
])
def test_partner_input_is_checked_field_by_field(db_session, fields, field, message):
    values = {"kind": "subnational", "name": "New South Wales", "country_code": "AU", **fields}
    with pytest.raises(NetworkError, match=message) as info:
        services.create_partner(actor=None, **values)
    assert info.value.field == field
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_duplicate_partner_is_refused_whatever_the_accents(db_session):
    services.create_partner(kind="subnational", name="São Paulo", country_code="BR", subdivision_code="BR-SP",
                            actor=None)
    with pytest.raises(NetworkError, match="already in the registry"):
        services.create_partner(kind="subnational", name="SAO PAULO", country_code="BR", actor=None)
    # the city of São Paulo is another partner than the state
    assert services.create_partner(kind="city", name="São Paulo", country_code="BR", actor=None).id


def test_relationship_keeps_a_dated_history_and_is_ended_not_deleted(db_session, nyc):
    rel = services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(1960, 2, 29),
                                    actor=None, today=TODAY)
    services.change_relationship_status(relationship_id=rel.id, status="exchanges_suspended",
                                        effective_on=date(2022, 3, 11), reason="war", actor=None, today=TODAY)
    services.change_relationship_status(relationship_id=rel.id, status="ended", effective_on=date(2023, 1, 1),
                                        reason="dissolved by council", actor=None, today=TODAY)
    assert [(c.status.value, c.effective_on) for c in rel.history] == [
        ("active", date(1960, 2, 29)), ("exchanges_suspended", date(2022, 3, 11)), ("ended", date(2023, 1, 1))]
    assert (rel.status, rel.ended_on) == (RelationshipStatus.ENDED, date(2023, 1, 1))
    with pytest.raises(NetworkError, match="has ended"):
        services.change_relationship_status(relationship_id=rel.id, status="active", effective_on=TODAY, reason="",
                                            actor=None, today=TODAY)
    assert db.session.get(Relationship, rel.id) is not None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "relationship")).all()
    assert actions == ["relationship.create", "relationship.status", "relationship.status"]


def test_moscow_is_suspended_not_dissolved(db_session):
    moscow = services.create_partner(kind="city", name="Moscow", country_code="RU", actor=None)
    rel = services.add_relationship(partner_id=moscow.id, kind="friendship_city", started_on=date(1991, 7, 16),
                                    status="exchanges_suspended", status_since=date(2022, 3, 11),
                                    reason="solidarity with Ukraine", actor=None, today=TODAY)
    assert (rel.status, rel.status_since, rel.ended_on) == (RelationshipStatus.EXCHANGES_SUSPENDED,
                                                            date(2022, 3, 11), None)
    assert [c.status.value for c in rel.history] == ["active", "exchanges_suspended"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"effective_on": date(2027, 1, 1)}, "effective_on", "in the future"),
    ({"effective_on": date(1959, 1, 1)}, "effective_on", "cannot precede"),
    ({"reason": ""}, "reason", "required"),
    ({"status": "active"}, "status", "already has this status"),
    ({"status": "frozen"}, "status", "Unknown status"),
])
def test_status_change_bad_input(db_session, nyc, change, field, message):
    rel = services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(1960, 2, 29),
                                    actor=None, today=TODAY)
    values = {"status": "dormant", "effective_on": date(2020, 1, 1), "reason": "no exchanges", **change}
    with pytest.raises(NetworkError, match=message) as info:
        services.change_relationship_status(relationship_id=rel.id, actor=None, today=TODAY, **values)
    assert info.value.field == field
    assert rel.status == RelationshipStatus.ACTIVE and len(rel.history) == 1


def test_relationship_bad_input(db_session, nyc):
    with pytest.raises(NetworkError, match="in the future"):
        services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(2030, 1, 1), actor=None,
                                  today=TODAY)
    with pytest.raises(NetworkError, match="before the relationship began"):
        services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(1960, 2, 29),
                                  status="dormant", status_since=date(1950, 1, 1), actor=None, today=TODAY)
    services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(1960, 2, 29), actor=None,
                              today=TODAY)
    with pytest.raises(NetworkError, match="already has this kind"):
        services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(1961, 1, 1), actor=None,
                                  today=TODAY)


def test_leap_day_anniversary_falls_on_28_february_in_other_years(db_session, nyc):
    services.add_relationship(partner_id=nyc.id, kind=RelationshipKind.SISTER_CITY, started_on=date(1960, 2, 29),
                              actor=None, today=TODAY)
    [anniversary], _ = queries.anniversaries(within_days=120, today=TODAY)
    assert (anniversary.on, anniversary.years) == (date(2027, 2, 28), 67)
    [leap], _ = queries.anniversaries(within_days=10, today=date(2028, 2, 25))
    assert (leap.on, leap.years) == (date(2028, 2, 29), 68)


def test_renewal_links_to_the_agreement_it_renews(db_session):
    la = services.create_partner(kind="city", name="Los Angeles", country_code="US", actor=None)
    first = services.create_agreement(title="Agreement/MoU on exchange and cooperation", kind="mou",
                                      party_ids=[la.id], signed_on=date(2018, 7, 25), term_months=36,
                                      area_codes=("sports", "tourism"), actor=None, today=TODAY,
                                      signatories=((None, "Yuriko Koike", "Governor of Tokyo"),
                                                   (la.id, "Eric Garcetti", "Mayor of Los Angeles")))
    assert first.expires_on == date(2021, 7, 25)
    renewal = services.create_agreement(title="Renewed MoU", kind=AgreementKind.MOU, party_ids=[la.id],
                                        signed_on=date(2021, 8, 27), previous_id=first.id, actor=None, today=TODAY)
    assert (renewal.previous, renewal.succession.value, first.successors) == (first, "renewal", [renewal])
    assert [a.code for a in first.areas] == ["sports", "tourism"]
    assert [s.name for s in first.signatories] == ["Yuriko Koike", "Eric Garcetti"]


def test_month_precision_and_unknown_signing_dates(db_session):
    paris = services.create_partner(kind="city", name="Paris", country_code="FR", actor=None)
    communique = services.create_agreement(title="Joint Communiqué", kind="communique", party_ids=[paris.id],
                                           signed_on=date(2017, 10, 1), signed_precision=DatePrecision.MONTH,
                                           actor=None, today=TODAY)
    assert (communique.signed_on, communique.signed_precision) == (date(2017, 10, 1), DatePrecision.MONTH)
    undated = services.create_agreement(title="Agreement on city-to-city cooperation", kind="cooperation_agreement",
                                        party_ids=[paris.id], actor=None, today=TODAY)
    assert undated.signed_on is None


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"party_ids": []}, "party_ids", "at least one partner"),
    ({"signed_on": date(2027, 1, 1)}, "signed_on", "in the future"),
    ({"expires_on": date(2019, 1, 1)}, "expires_on", "expire before it is signed"),
    ({"term_months": 0}, "term_months", "between 1 and 1200"),
    ({"area_codes": ("space",)}, "area_codes", "Unknown cooperation area"),
    ({"succession": "renewal"}, "previous_id", "Choose the agreement"),
    ({"title": ""}, "title", "required"),
])
def test_agreement_bad_input(db_session, fields, field, message):
    paris = services.create_partner(kind="city", name="Paris", country_code="FR", actor=None)
    values = {"title": "MoU", "kind": "mou", "party_ids": [paris.id], "signed_on": date(2020, 1, 1), **fields}
    with pytest.raises(NetworkError, match=message) as info:
        services.create_agreement(actor=None, today=TODAY, **values)
    assert info.value.field == field


def test_renewal_must_share_a_party(db_session):
    paris = services.create_partner(kind="city", name="Paris", country_code="FR", actor=None)
    rome = services.create_partner(kind="city", name="Rome", country_code="IT", actor=None)
    first = services.create_agreement(title="MoU", kind="mou", party_ids=[paris.id], signed_on=date(2015, 10, 28),
                                      actor=None, today=TODAY)
    with pytest.raises(NetworkError, match="shares at least one partner"):
        services.create_agreement(title="MoU", kind="mou", party_ids=[rome.id], signed_on=date(2020, 1, 1),
                                  previous_id=first.id, actor=None, today=TODAY)


def test_expiring_agreements_exclude_renewed_ones(db_session):
    london = services.create_partner(kind="public_body", name="City of London Corporation", country_code="GB",
                                     actor=None)
    old = services.create_agreement(title="MoU", kind="mou", party_ids=[london.id], signed_on=date(2017, 12, 4),
                                    expires_on=date(2026, 12, 20), actor=None, today=TODAY)
    assert queries.expiring(within_days=30, today=TODAY) == ([old], 1)
    services.create_agreement(title="Revised MoU", kind="mou", party_ids=[london.id], signed_on=date(2025, 9, 8),
                              previous_id=old.id, succession="revision", actor=None, today=TODAY)
    assert queries.expiring(within_days=30, today=TODAY) == ([], 0)


def test_embassy_moves_and_closes_with_history(db_session):
    embassy = services.create_embassy(country_code="FR", mission_type=MissionType.EMBASSY,
                                      name="Embassy of France", address="4-11-44 Minami-Azabu", ward="Minato",
                                      phones=["+81 3-5798-6000", " "], actor=None)
    assert embassy.phones == ["+81 3-5798-6000"]
    services.change_embassy_status(embassy_id=embassy.id, status="moved", effective_on=date(2024, 4, 1),
                                   new_address="1-1 Somewhere", new_ward="Shibuya", reason="new building",
                                   actor=None, today=TODAY)
    services.change_embassy_status(embassy_id=embassy.id, status="closed", effective_on=date(2025, 1, 1),
                                   reason="merged", actor=None, today=TODAY)
    assert (embassy.status, embassy.address, embassy.ward) == (EmbassyStatus.CLOSED, "1-1 Somewhere", "Shibuya")
    assert [(c.status.value, c.previous_address) for c in embassy.history] == [
        ("moved", "4-11-44 Minami-Azabu"), ("closed", None)]
    with pytest.raises(NetworkError, match="can only reopen"):
        services.change_embassy_status(embassy_id=embassy.id, status="temporarily_closed", effective_on=TODAY,
                                       actor=None, today=TODAY)


def test_embassy_bad_input(db_session):
    with pytest.raises(NetworkError, match="valid email") as info:
        services.create_embassy(country_code="FR", mission_type="embassy", name="E", email="not-mail", actor=None)
    assert info.value.field == "email"
    with pytest.raises(NetworkError, match="Unknown kind of mission"):
        services.create_embassy(country_code="FR", mission_type="palace", name="E", actor=None)
    services.create_embassy(country_code="FR", mission_type="embassy", name="E", actor=None)
    with pytest.raises(NetworkError, match="already has an open embassy"):
        services.create_embassy(country_code="FR", mission_type="embassy", name="E2", actor=None)


def test_network_roles_follow_each_other(db_session):
    c40 = services.create_network(name="C40 Cities Climate Leadership Group", acronym="C40", actor=None)
    member = services.set_home_role(network_id=c40.id, role="member", started_on=date(2006, 8, 1),
                                    started_precision="month", actor=None, today=TODAY)
    chair = services.set_home_role(network_id=c40.id, role="steering_committee", started_on=date(2019, 1, 1),
                                   actor=None, today=TODAY)
    assert (member.ended_on, chair.ended_on) == (date(2019, 1, 1), None)
    with pytest.raises(NetworkError, match="already has this role"):
        services.set_home_role(network_id=c40.id, role="steering_committee", started_on=TODAY, actor=None,
                               today=TODAY)
    with pytest.raises(NetworkError, match="already exists|already in the registry"):
        services.create_network(name="c40 cities climate leadership group", actor=None)


def test_network_members_and_events(db_session):
    u20 = services.create_network(name="Urban 20", acronym="U20", actor=None)
    paris = services.resolve_city("Paris, FR")
    member = services.add_network_member(network_id=u20.id, city_id=paris.id, joined_on=date(2017, 12, 12),
                                         actor=None, today=TODAY)
    assert (member.name, member.country_code) == ("Paris", "FR")
    with pytest.raises(NetworkError, match="already a member"):
        services.add_network_member(network_id=u20.id, city_id=paris.id, actor=None, today=TODAY)
    event = services.add_network_event(network_id=u20.id, title="U20 Mayors Summit", kind="summit",
                                       starts_on=date(2025, 9, 10), ends_on=date(2025, 9, 11), actor=None)
    assert u20.events == [event]
    with pytest.raises(NetworkError, match="end before it starts"):
        services.add_network_event(network_id=u20.id, title="Sherpa meeting", starts_on=date(2025, 5, 2),
                                   ends_on=date(2025, 5, 1), actor=None)


def test_partial_dates_are_kept_as_the_first_day_of_their_period(db_session, nyc):
    rel = services.add_relationship(partner_id=nyc.id, kind="sister_city", started_on=date(1960, 2, 29),
                                    started_precision="month", actor=None, today=TODAY)
    assert rel.started_on == date(1960, 2, 1)
    agreement = services.create_agreement(title="MoU", kind="mou", party_ids=[nyc.id], signed_on=date(2019, 7, 10),
                                          signed_precision="year", actor=None, today=TODAY)
    assert agreement.signed_on == date(2019, 1, 1)
    assert services.parse_partial_date("2017/10", "signed") == (date(2017, 10, 1), DatePrecision.MONTH)
    with pytest.raises(NetworkError, match="is not a date") as info:
        services.parse_partial_date("Oct 2017", "signed")
    assert info.value.field == "signed"


def test_embassy_change_needs_a_date(db_session):
    embassy = services.create_embassy(country_code="FR", mission_type="embassy", name="E", actor=None)
    with pytest.raises(NetworkError, match="required") as info:
        services.change_embassy_status(embassy_id=embassy.id, status="closed", effective_on=None, actor=None,
                                       today=TODAY)
    assert info.value.field == "effective_on"


def test_partners_in_bulk_are_all_added_or_none(db_session):
    services.create_partner(kind="city", name="Rome", country_code="IT", actor=None)
    rows = [{"kind": "city", "name": name, "country_code": country}
            for name, country in (("Paris", "FR"), ("ROME", "IT"), ("Lyon", "FR"), ("lyon", "FR"), ("Nowhere", "XX"))]
    partners, errors = services.create_partners(rows=rows, actor=None)
    assert partners == []
    assert {i: (e.field, "already in the registry" in str(e) or "country code" in str(e)) for i, e in errors.items()} \
        == {1: ("name", True), 3: ("name", True), 4: ("country_code", True)}
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 1
    partners, errors = services.create_partners(rows=[rows[0], rows[2]], actor=None)
    assert ([p.name for p in partners], errors) == (["Paris", "Lyon"], {})
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "partner.create")) == 3


def test_a_wrong_choice_is_reported_at_its_own_field(db_session, nyc):
    for field, values in (("status", {"status": "frozen"}), ("started_precision", {"started_precision": "week"}),
                          ("kind", {"kind": "twin_town"})):
        with pytest.raises(NetworkError, match="is not one of") as info:
            services.add_relationship(**{"partner_id": nyc.id, "kind": "sister_city", "started_on": date(1960, 2, 29),
                                         "actor": None, "today": TODAY, **values})
        assert info.value.field == field
