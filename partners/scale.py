"""The partners' benchmark data set, in bulk: 20,000 contacts (Latin, Japanese and Korean names) at 3,000
organisations with 100,000 interactions. Its organisations are named "Sample organisation N"."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, insert, select

from kizuna.extensions import db
from network.reference import fold

from .models import (
    Contact,
    ContactEmail,
    ContactLanguage,
    ContactPhone,
    Interaction,
    InteractionKind,
    NameOrder,
    Organisation,
    OrganisationKind,
    Position,
    interaction_contact,
    interaction_organisation,
    name_search_key,
    name_sort_key,
)
from .services import PartnersError

SIZES = {"organisations": 3000, "contacts": 20_000, "interactions": 100_000, "busiest": 200}
SAMPLE = "Sample organisation"

LATIN_GIVEN = ("Anna", "Maria", "John", "Peter", "Sophie", "Lucas", "Elena", "David", "Laura", "Marco", "Julia",
               "Thomas", "Clara", "Daniel", "Eva", "Paul", "Sara", "Jan", "Nina", "Ali", "Fatima", "Carlos", "Ines",
               "Oliver", "Emma", "Hugo", "Léa", "Zoltán", "Ágnes", "Miloš")
LATIN_FAMILY = ("Kovács", "Kovac", "Smith", "Müller", "García", "Rossi", "Dubois", "Novak", "Silva", "Jansen",
                "Nowak", "Horvat", "Schmidt", "López", "Bianchi", "Martin", "Olsen", "Ivanova", "Costa", "Weber",
                "Fischer", "Moreau", "Santos", "Petrović", "Nagy", "Svensson", "Hansen", "Murphy", "O'Brien", "Ruiz")
JAPANESE = (("山田", "Yamada"), ("佐藤", "Sato"), ("鈴木", "Suzuki"), ("高橋", "Takahashi"), ("田中", "Tanaka"),
            ("伊藤", "Ito"), ("渡辺", "Watanabe"), ("中村", "Nakamura"), ("小林", "Kobayashi"), ("加藤", "Kato"))
JAPANESE_GIVEN = (("太郎", "Taro"), ("花子", "Hanako"), ("健", "Ken"), ("美咲", "Misaki"), ("大輔", "Daisuke"),
                  ("陽子", "Yoko"), ("翔", "Sho"), ("愛", "Ai"), ("誠", "Makoto"), ("由美", "Yumi"))
KOREAN = (("김", "Kim"), ("이", "Lee"), ("박", "Park"), ("최", "Choi"), ("정", "Jung"), ("강", "Kang"),
          ("조", "Cho"), ("윤", "Yoon"), ("장", "Jang"), ("임", "Lim"))
KOREAN_GIVEN = (("민준", "Minjun"), ("서연", "Seoyeon"), ("지훈", "Jihoon"), ("하은", "Haeun"), ("도윤", "Doyun"),
                ("수빈", "Subin"), ("예준", "Yejun"), ("지우", "Jiwoo"), ("현우", "Hyunwoo"), ("유진", "Yujin"))


def seed_scale(*, seed: int = 20261125, today: date | None = None, **sizes) -> dict[str, int]:
    """Add organisations, contacts with positions, emails, phones and languages, and interactions among them.

    Reproducible for a given seed; refuses to run twice (PartnersError). One contact takes part in
    `busiest` interactions (the detail page the benchmark times). Bulk inserts: the caller commits.
    """
    sizes = {**SIZES, **sizes}
    if db.session.scalar(select(func.count()).select_from(Organisation)
                         .where(Organisation.name.like(f"{SAMPLE} %"))):
        raise PartnersError("The partners already hold sample data; seed-scale runs once per database.")
    rng = random.Random(seed)
    today = today or date.today()
    kinds = [k for k in OrganisationKind if k not in (OrganisationKind.EMBASSY, OrganisationKind.NETWORK_SECRETARIAT,
                                                      OrganisationKind.PARTNER_GOVERNMENT,
                                                      OrganisationKind.GOVERNMENT_DEPARTMENT)]
    organisation_ids = _insert_ids(Organisation, [
        {"kind": rng.choice(kinds), "name": f"{SAMPLE} {i}", "search_key": fold(f"{SAMPLE} {i}"),
         "country_code": None, "notes": ""} for i in range(sizes["organisations"])])
    contacts, languages = [], []
    for _i in range(sizes["contacts"]):
        culture = rng.choices(("latin", "ja", "ko"), weights=(50, 30, 20))[0]
        row = {"honorific": "", "title": "", "notes": "", "source": "sample", "family_name_local": "",
               "given_name_local": ""}
        if culture == "latin":
            row.update(family_name=rng.choice(LATIN_FAMILY), given_name=rng.choice(LATIN_GIVEN),
                       name_order=NameOrder.GIVEN_FIRST, preferred_language="en")
        else:
            families, givens = (JAPANESE, JAPANESE_GIVEN) if culture == "ja" else (KOREAN, KOREAN_GIVEN)
            (family_local, family), (given_local, given) = rng.choice(families), rng.choice(givens)
            row.update(family_name=family, given_name=given, family_name_local=family_local,
                       given_name_local=given_local, name_order=NameOrder.FAMILY_FIRST, preferred_language=culture)
        contacts.append(row)
    for row in contacts:  # the ORM's before_insert hook does not see bulk inserts
        names = (row["family_name"], row["given_name"], row["family_name_local"], row["given_name_local"])
        row["search_key"], row["sort_key"] = name_search_key(*names), name_sort_key(*names)
    contact_ids = _insert_ids(Contact, contacts)
    emails, phones, positions = [], [], []
    for n, (cid, row) in enumerate(zip(contact_ids, contacts, strict=True)):
        # One in a hundred shares an email with the contact before: the duplicate scan has work to do.
        local = f"person{n - 1 if n and n % 100 == 0 else n}"
        emails.append({"contact_id": cid, "address": f"{local}@sample.example", "label": "", "is_primary": True})
        phones.append({"contact_id": cid, "number": f"+8190{n:08d}", "label": "", "is_primary": True})
        languages.append({"contact_id": cid, "code": row["preferred_language"]})
        started = today - timedelta(days=rng.randrange(30, 365 * 15))
        positions.append({"contact_id": cid, "organisation_id": rng.choice(organisation_ids),
                          "title": rng.choice(("Director", "Manager", "Officer", "Advisor", "")), "department": "",
                          "started_on": started, "ended_on": None})
    db.session.execute(insert(ContactEmail), emails)
    db.session.execute(insert(ContactPhone), phones)
    db.session.execute(insert(ContactLanguage), languages)
    db.session.execute(insert(Position), positions)
    kinds = [k for k in InteractionKind if not k.is_gift]
    interactions = [{"kind": rng.choice(kinds), "occurred_on": today - timedelta(days=rng.randrange(1, 365 * 10)),
                     "subject": f"Sample interaction {i}", "notes": ""} for i in range(sizes["interactions"])]
    interaction_ids = _insert_ids(Interaction, interactions)
    busiest = contact_ids[0]
    links, orgs = [], []
    for n, iid in enumerate(interaction_ids):
        people = {busiest} if n < sizes["busiest"] else set()
        people.update(rng.sample(contact_ids, rng.choice((1, 1, 2))))
        links += [{"interaction_id": iid, "contact_id": cid} for cid in people]
        orgs.append({"interaction_id": iid, "organisation_id": rng.choice(organisation_ids)})
    for start in range(0, len(links), 50_000):
        db.session.execute(insert(interaction_contact), links[start:start + 50_000])
    for start in range(0, len(orgs), 50_000):
        db.session.execute(insert(interaction_organisation), orgs[start:start + 50_000])
    db.session.flush()
    return {"organisations": len(organisation_ids), "contacts": len(contact_ids),
            "interactions": len(interaction_ids), "interaction participants": len(links)}


def _insert_ids(model, rows: list[dict]) -> list[int]:
    """Bulk insert; the new ids in the order of `rows`."""
    if not rows:  # an empty list would insert one row of defaults
        return []
    return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))
