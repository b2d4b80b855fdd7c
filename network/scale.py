"""`kizuna seed-scale`: the benchmark data set, in bulk. Everything it makes is marked as sample."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, insert, select

from kizuna.extensions import db

from . import services
from .models import (
    Agreement,
    AgreementKind,
    City,
    CityNetwork,
    CooperationArea,
    Embassy,
    EmbassyStatus,
    HomeMembership,
    MissionType,
    NetworkMember,
    NetworkRole,
    Partner,
    PartnerKind,
    Relationship,
    RelationshipKind,
    RelationshipStatus,
    RelationshipStatusChange,
    agreement_area,
    agreement_party,
)
from .reference import fold

SIZES = {"relationships": 2000, "agreements": 5000, "embassies": 200, "networks": 20, "members": 100}


def seed_scale(*, seed: int = 20261125, today: date | None = None, **sizes) -> dict[str, int]:
    """Add partners with one relationship each, agreements among them, embassies and networks with members.

    Reproducible for a given seed; refuses to run twice (the registry must hold no sample partner yet).
    Rows go in with bulk inserts, so the caller's transaction holds them until it commits.
    """
    sizes = {**SIZES, **sizes}
    if db.session.scalar(select(func.count()).select_from(Partner).where(Partner.is_sample)):
        raise services.NetworkError("The registry already holds sample data; seed-scale runs once per database.")
    rng = random.Random(seed)
    today = today or date.today()
    cities = db.session.execute(select(City.id, City.name, City.country_code).where(City.population >= 100_000)
                                .order_by(City.id)).all()
    if len(cities) < sizes["relationships"]:
        raise services.NetworkError("Load reference data first (kizuna load-reference).")
    chosen = rng.sample(cities, sizes["relationships"])
    partner_ids = _insert_ids(Partner, [
        {"kind": PartnerKind.CITY, "name": f"{name} (sample {i})", "search_key": fold(f"{name} (sample {i})"),
         "country_code": cc, "city_id": cid, "notes": "", "is_sample": True}
        for i, (cid, name, cc) in enumerate(chosen)])
    kinds, statuses = list(RelationshipKind), list(RelationshipStatus)
    rel_rows = []
    for pid in partner_ids:
        started = date(1955, 1, 1) + timedelta(days=rng.randrange(365 * 70))
        status = rng.choices(statuses, weights=(80, 5, 10, 5))[0]
        since = started + timedelta(days=rng.randrange(max(1, (today - started).days)))
        rel_rows.append({"partner_id": pid, "kind": rng.choice(kinds), "started_on": started, "status": status,
                         "status_since": None if status == RelationshipStatus.ACTIVE else since,
                         "ended_on": since if status == RelationshipStatus.ENDED else None, "source": "",
                         "notes": "", "is_sample": True})
    history = []
    for rel_id, row in zip(_insert_ids(Relationship, rel_rows), rel_rows, strict=True):
        history.append({"relationship_id": rel_id, "status": RelationshipStatus.ACTIVE,
                        "effective_on": row["started_on"], "reason": ""})
        if row["status"] != RelationshipStatus.ACTIVE:
            history.append({"relationship_id": rel_id, "status": row["status"], "effective_on": row["status_since"],
                            "reason": "sample"})
    db.session.execute(insert(RelationshipStatusChange), history)
    area_ids = list(db.session.scalars(select(CooperationArea.id)))
    agreements = []
    for i in range(sizes["agreements"]):
        signed = today - timedelta(days=rng.randrange(1, 365 * 30))
        expires = signed + timedelta(days=365 * rng.choice((3, 4, 5, 10))) if rng.random() < 0.7 else None
        agreements.append({"title": f"Sample agreement {i}", "kind": rng.choice(list(AgreementKind)),
                           "signed_on": signed, "expires_on": expires, "summary": "", "source": "", "notes": "",
                           "is_sample": True})
    parties, areas = [], []
    for agreement_id in _insert_ids(Agreement, agreements):
        for pid in rng.sample(partner_ids, rng.choice((1, 1, 1, 2))):
            parties.append({"agreement_id": agreement_id, "partner_id": pid})
        for aid in rng.sample(area_ids, rng.randrange(0, 3)):
            areas.append({"agreement_id": agreement_id, "area_id": aid})
    db.session.execute(insert(agreement_party), parties)
    if areas:
        db.session.execute(insert(agreement_area), areas)
    countries = sorted({cc for _, _, cc in cities})
    db.session.execute(insert(Embassy), [
        {"country_code": cc, "mission_type": MissionType.EMBASSY if i % 5 else MissionType.CONSULATE_GENERAL,
         "name": f"Sample mission of {cc} ({i})", "address": f"{i}-1-1 Sample-cho", "ward": rng.choice(
             ("Minato", "Chiyoda", "Shibuya", "Meguro", "Shinagawa")), "postal_code": "", "phones": [],
         "head_of_mission": "", "head_title": "", "status": EmbassyStatus.OPEN, "notes": "", "is_sample": True}
        for i, cc in enumerate(rng.choices(countries, k=sizes["embassies"]))])
    network_ids = _insert_ids(CityNetwork, [
        {"name": f"Sample city network {n}", "acronym": f"SCN{n}", "description": "", "is_sample": True}
        for n in range(sizes["networks"])])
    db.session.execute(insert(HomeMembership), [
        {"network_id": nid, "role": NetworkRole.MEMBER, "started_on": date(2000 + n, 1, 1), "notes": ""}
        for n, nid in enumerate(network_ids)])
    members = []
    for nid in network_ids:
        for cid, name, cc in rng.sample(cities, sizes["members"]):
            members.append({"network_id": nid, "city_id": cid, "name": name, "country_code": cc})
    db.session.execute(insert(NetworkMember), members)
    db.session.flush()
    return {"partners": len(partner_ids), "relationships": len(rel_rows), "agreements": len(agreements),
            "embassies": sizes["embassies"], "networks": sizes["networks"], "network members": len(members)}


def _insert_ids(model, rows: list[dict]) -> list[int]:
    """Bulk insert; the new ids in the order of `rows` (sequences advance as with any insert)."""
    return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))
