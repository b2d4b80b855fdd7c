"""`kizuna demo` seeds Tokyo's real network from network/data/."""

from datetime import date

from sqlalchemy import func, select

from kizuna.extensions import db
from network import demo, queries
from network.models import (
    Agreement,
    CityNetwork,
    DatePrecision,
    Embassy,
    Partner,
    PartnerKind,
    Relationship,
    RelationshipStatus,
)


def test_seed_holds_tokyos_network_with_its_special_cases(db_session):
    assert demo.seed_tokyo() is True
    assert demo.seed_tokyo() is False  # once only
    partners = {p.name: p for p in db.session.scalars(select(Partner))}
    rels = {r.partner.name: r for r in db.session.scalars(select(Relationship))}
    assert len([r for r in rels.values() if r.kind.value != "mou_partner"]) == 12
    assert rels["New York City"].started_on == date(1960, 2, 29)
    assert rels["New York City"].kind.value == "sister_city"
    assert (rels["Moscow"].status, rels["Moscow"].status_since) == (RelationshipStatus.EXCHANGES_SUSPENDED,
                                                                    date(2022, 3, 11))
    assert rels["Tomsk Region"].kind.value == "mou_partner"
    assert (partners["New South Wales"].kind, partners["New South Wales"].subdivision_code) == (
        PartnerKind.SUBNATIONAL, "AU-NSW")
    assert partners["São Paulo"].subdivision_code == "BR-SP" and partners["São Paulo"].city_id is None
    assert partners["City of London Corporation"].kind == PartnerKind.PUBLIC_BODY
    agreements = db.session.scalars(select(Agreement)).all()
    assert len(agreements) == 20
    la = [a for a in agreements if a.parties[0].name == "Los Angeles"]
    renewed = next(a for a in la if a.previous is not None)
    assert (renewed.signed_on, renewed.previous.signed_on, renewed.succession.value) == (
        date(2021, 8, 27), date(2018, 7, 25), "renewal")
    communique = next(a for a in agreements if a.title.startswith("Joint Communiqué of the Governor of Tokyo"))
    assert (communique.signed_on, communique.signed_precision) == (date(2017, 10, 1), DatePrecision.MONTH)
    assert next(a for a in agreements if a.parties[0].name == "Abu Dhabi").signed_on is None
    assert db.session.scalar(select(func.count()).select_from(CityNetwork)) == 2
    embassies = db.session.scalars(select(Embassy)).all()
    assert embassies and all(e.is_sample for e in embassies)
    anniversary = queries.anniversaries(within_days=366, today=date(2026, 11, 25))[0]
    assert any(a.relationship.partner.name == "New York City" and a.on == date(2027, 2, 28) for a in anniversary)
