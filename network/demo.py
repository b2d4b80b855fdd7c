"""Tokyo's real network for `kizuna demo`, from network/data/ (public sources in each row); what the
sources do not give (embassy details, network roles) is marked as sample."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from kizuna.extensions import db

from . import services
from .models import Partner, PartnerKind, RelationshipStatus
from .services import parse_partial_date

DATA = Path(__file__).parent / "data"

# The partner behind each name the data files use: kind, country, reference city, subdivision, names.
PARTNERS = {
    "New York City": ("city", "US", "New York City, US", None, "ニューヨーク市", "New York"),
    "Beijing": ("city", "CN", "Beijing, CN", None, "北京市", "北京"),
    "Paris": ("city", "FR", "Paris, FR", None, "パリ市", "Paris"),
    "New South Wales": ("subnational", "AU", None, "AU-NSW", "ニューサウスウェールズ州", "New South Wales"),
    "Seoul": ("city", "KR", "Seoul, KR", "KR-11", "ソウル特別市", "서울특별시"),
    "Jakarta": ("city", "ID", "Jakarta, ID", "ID-JK", "ジャカルタ特別州", "Jakarta"),
    "São Paulo (state)": ("subnational", "BR", None, "BR-SP", "サンパウロ州", "Estado de São Paulo"),
    "Cairo": ("city", "EG", "Cairo, EG", "EG-C", "カイロ県", "القاهرة"),
    "Moscow": ("city", "RU", "Moscow, RU", None, "モスクワ市", "Москва"),
    "Berlin": ("city", "DE", "Berlin, DE", "DE-BE", "ベルリン州", "Berlin"),
    "Rome": ("city", "IT", "Rome, IT", None, "ローマ市", "Roma"),
    "London": ("city", "GB", "London, GB", None, "ロンドン（大ロンドン庁）", "Greater London Authority"),
    "Tomsk Region": ("subnational", "RU", None, "RU-TOM", "トムスク州", "Томская область"),
    "City of London": ("public_body", "GB", None, "GB-LND", "シティ・オブ・ロンドン自治体",
                       "City of London Corporation"),
    "Los Angeles": ("city", "US", "Los Angeles, US", None, "ロサンゼルス市", "Los Angeles"),
    "Kuala Lumpur": ("city", "MY", "Kuala Lumpur, MY", "MY-14", "クアラルンプール", "Kuala Lumpur"),
    "Dubai": ("city", "AE", "Dubai, AE", "AE-DU", "ドバイ", "دبي"),
    "Abu Dhabi": ("city", "AE", "Abu Dhabi, AE", "AE-AZ", "アブダビ", "أبو ظبي"),
}
# Partners tied by MOU only (not sister or friendship cities), with the date the tie began.
MOU_PARTNERS = {"Tomsk Region": "2015-06-10", "City of London": "2017-12-04", "Los Angeles": "2018-07-25",
                "Kuala Lumpur": "2022-09-01", "Dubai": "2025-10"}
# (partner, signed) of a renewal or revision → (signed of the agreement it follows, succession, term in months)
SUCCESSIONS = {("Los Angeles", "2021-08-27"): ("2018-07-25", "renewal"),
               ("New South Wales", "2024-02-06"): ("2015-05-19", "renewal"),
               ("City of London", "2025-09-08"): ("2017-12-04", "revision")}
TERMS = {("City of London", "2017-12-04"): 48}  # "4-year agreement"
SUSPENDED_ON = date(2022, 3, 11)  # exchanges with Moscow and Tomsk Region suspended (NHK 2022-03-11)

EMBASSIES = [  # sample: addresses as published by the missions; verify before use
    ("US", "embassy", "Embassy of the United States of America", "アメリカ合衆国大使館", "1-10-5 Akasaka", "Minato",
     "107-8420", ["+81 3-3224-5000"], "https://jp.usembassy.gov/"),
    ("FR", "embassy", "Embassy of France", "フランス大使館", "4-11-44 Minami-Azabu", "Minato", "106-8514",
     ["+81 3-5798-6000"], "https://jp.ambafrance.org/"),
    ("GB", "embassy", "British Embassy Tokyo", "英国大使館", "No 1 Ichiban-cho", "Chiyoda", "102-8381",
     ["+81 3-5211-1100"], "https://www.gov.uk/world/japan"),
    ("DE", "embassy", "Embassy of the Federal Republic of Germany", "ドイツ連邦共和国大使館", "4-5-10 Minami-Azabu",
     "Minato", "106-0047", ["+81 3-5791-7700"], "https://japan.diplo.de/"),
    ("AU", "embassy", "Australian Embassy", "オーストラリア大使館", "2-1-14 Mita", "Minato", "108-8361",
     ["+81 3-5232-4111"], "https://japan.embassy.gov.au/"),
    ("KR", "embassy", "Embassy of the Republic of Korea", "大韓民国大使館", "1-2-5 Minami-Azabu", "Minato", "106-0047",
     ["+81 3-3455-2601"], "https://overseas.mofa.go.kr/jp-ja/"),
    ("BR", "embassy", "Embassy of Brazil", "ブラジル大使館", "2-11-12 Kita-Aoyama", "Minato", "107-8633",
     ["+81 3-3404-5211"], "https://www.gov.br/mre/pt-br/embaixada-toquio"),
]


def agreement_kind(title: str) -> str:
    lowered = title.lower()
    if "communiqu" in lowered:
        return "communique"
    if "joint statement" in lowered or "joint declaration" in lowered:
        return "joint_statement"
    if "mou" in lowered or "memorandum" in lowered:
        return "mou"
    return "cooperation_agreement"


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def seed_tokyo() -> bool:
    """Seed Tokyo's network unless the registry already has partners; True when it seeded. Flushes only."""
    if db.session.scalar(select(func.count()).select_from(Partner)):
        return False
    today = services.local_today()
    partners: dict[str, Partner] = {}
    for key, (kind, country, city, subdivision, ja, local) in PARTNERS.items():
        resolved = services.resolve_city(city) if city else None
        name = {"São Paulo (state)": "São Paulo", "City of London": "City of London Corporation"}.get(key, key)
        partners[key] = services.create_partner(
            kind=PartnerKind(kind), name=name, country_code=country, city_id=resolved.id if resolved else None,
            subdivision_code=subdivision, name_ja=ja, local_name=local if local != name else None, actor=None)
    for row in _rows("tokyo_relations.csv"):
        since, precision = parse_partial_date(row["since"], "since")
        status = RelationshipStatus(row["status"])
        services.add_relationship(
            partner_id=partners[row["partner"]].id, kind=row["kind"], started_on=since, started_precision=precision,
            status=status, status_since=parse_partial_date(row["status_since"], "status_since")[0],
            reason="Exchanges suspended in solidarity with Ukraine" if status != RelationshipStatus.ACTIVE else "",
            source=row["source"], notes=row["notes"], actor=None, today=today)
    for key, since in MOU_PARTNERS.items():
        started_on, precision = parse_partial_date(since, "since")
        suspended = key == "Tomsk Region"
        services.add_relationship(
            partner_id=partners[key].id, kind="mou_partner", started_on=started_on, started_precision=precision,
            status="exchanges_suspended" if suspended else "active", status_since=SUSPENDED_ON if suspended else None,
            reason="Exchanges suspended in solidarity with Ukraine" if suspended else "", actor=None, today=today)
    signed_ids: dict[tuple[str, str], int] = {}
    for row in _rows("tokyo_agreements.csv"):
        signed_on, precision = parse_partial_date(row["signed"], "signed")
        follows = SUCCESSIONS.get((row["partner"], row["signed"]))
        # "A + B": two agreements signed the same day (NSW 2024); a renewal is the first of them.
        for title in row["agreement"].split(" + "):
            agreement = services.create_agreement(
                title=title, kind=agreement_kind(title), party_ids=[partners[row["partner"]].id],
                signed_on=signed_on, signed_precision=precision,
                term_months=TERMS.get((row["partner"], row["signed"])),
                previous_id=signed_ids[(row["partner"], follows[0])] if follows else None,
                succession=follows[1] if follows else None, source=row["source"], notes=row["notes"], actor=None,
                today=today)
            signed_ids.setdefault((row["partner"], row["signed"]), agreement.id)
            follows = None
    _seed_networks(today)
    for country, mission, name, ja, address, ward, postal, phones, website in EMBASSIES:
        services.create_embassy(country_code=country, mission_type=mission, name=name, name_ja=ja, address=address,
                                ward=ward, postal_code=postal, phones=phones, website=website, is_sample=True,
                                actor=None)
    return True


def _seed_networks(today: date) -> None:
    c40 = services.create_network(name="C40 Cities Climate Leadership Group", acronym="C40",
                                  name_ja="C40世界大都市気候先導グループ", website="https://www.c40.org/", actor=None)
    services.set_home_role(network_id=c40.id, role="member", started_on=date(2006, 1, 1), started_precision="year",
                           notes="Sample: year of joining not checked against a source.", actor=None, today=today)
    u20 = services.create_network(name="Urban 20", acronym="U20", name_ja="アーバン20",
                                  website="https://www.urban20.org/", actor=None)
    services.set_home_role(network_id=u20.id, role="member", started_on=date(2018, 1, 1), started_precision="year",
                           notes="Sample: year not checked against a source.", actor=None, today=today)
    tokyo = services.resolve_city("Tokyo, JP")
    services.add_network_event(network_id=u20.id, title="U20 Tokyo Mayors Summit", kind="summit",
                               starts_on=date(2019, 5, 21), ends_on=date(2019, 5, 22),
                               city_id=tokyo.id if tokyo else None, actor=None)
    for network, cities in ((c40, ("São Paulo, BR", "Paris, FR", "Los Angeles, US", "Seoul, KR", "Jakarta, ID")),
                            (u20, ("Buenos Aires, AR", "Paris, FR", "Rome, IT", "Berlin, DE"))):
        for spec in cities:
            if city := services.resolve_city(spec):
                services.add_network_member(network_id=network.id, city_id=city.id, actor=None, today=today)
