"""Read queries of the partners pages: the organisation and contact lists, their filters and search.

Views turn a request into these functions' arguments (the filters as a mapping); the functions never read
the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import selectinload

from kizuna.extensions import db
from network.reference import fold

from .models import (
    Contact,
    ContactEmail,
    ContactLanguage,
    Interaction,
    Organisation,
    OrganisationKind,
    Position,
    SavedSearch,
    Tag,
    interaction_organisation,
)

CONTACT_FILTERS = ("q", "organisation", "org", "country", "language", "tag", "email")
CONTACT_SORTS = ("name", "country", "rank", "updated")
ORGANISATION_FILTERS = ("q", "kind", "country", "link", "partner")
ORGANISATION_SORTS = ("name", "country", "kind")
ORGANISATION_LINKS = ("partner", "embassy", "network", "none")
MAX_QUERY = 200


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


def _filters(given: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: (given.get(name) or "").strip()[:MAX_QUERY] for name in names}


# -- contacts ------------------------------------------------------------------------------------


def contact_filters(given: Mapping[str, str]) -> dict[str, str]:
    """The contact-list filters and sort in `given`, as the list understands them (unknown values dropped)."""
    args = _filters(given, (*CONTACT_FILTERS, "sort"))
    if _int(args["organisation"]) is None:
        args["organisation"] = ""
    args["country"] = args["country"].upper()[:2] if args["country"].isalpha() else ""
    args["language"] = args["language"] if args["language"].replace("-", "").isalnum() else ""
    args["email"] = args["email"] if args["email"] in ("yes", "no") else ""
    args["sort"] = args["sort"] if args["sort"] in CONTACT_SORTS else "name"
    return args


def contact_query_string(args: Mapping[str, str]) -> str:
    """The filters that are set, as the list's query string (what a saved search keeps)."""
    return urlencode([(name, args[name]) for name in (*CONTACT_FILTERS, "sort")
                      if args.get(name) and not (name == "sort" and args[name] == "name")])


def contacts(given: Mapping[str, str]) -> tuple[Select, dict[str, str]]:
    """The contact list's query for the filters and sort `given` (q, organisation (an id), org (a name),
    country, language, tag, email=yes|no, sort=name|country|rank|updated), and the filters as understood.

    The organisation filters keep the people who hold a post there now.

    `q` matches a name in any script and either order, case- and accent-insensitively (Contact.search_key),
    or, when it holds an @, part of an email address. Erased people are never listed.
    """
    args = contact_filters(given)
    query = (select(Contact).where(Contact.erased_at.is_(None))
             .options(selectinload(Contact.emails), selectinload(Contact.tags), selectinload(Contact.country),
                      selectinload(Contact.positions).selectinload(Position.organisation)))
    if args["q"]:
        key = fold(args["q"])
        matches = [Contact.search_key.contains(key, autoescape=True)] if key else []
        if "@" in args["q"]:
            matches.append(Contact.emails.any(ContactEmail.address.contains(args["q"].lower(), autoescape=True)))
        query = query.where(or_(*matches)) if matches else query.where(false())
    if (organisation_id := _int(args["organisation"])) is not None:
        query = query.where(Contact.positions.any((Position.organisation_id == organisation_id)
                                                  & Position.ended_on.is_(None)))
    if args["org"]:
        query = query.where(Contact.positions.any(Position.ended_on.is_(None) & Position.organisation_id.in_(
            select(Organisation.id).where(_organisation_named(args["org"])))))
    if args["country"]:
        query = query.where(Contact.country_code == args["country"])
    if args["language"]:
        code = args["language"]
        query = query.where(Contact.languages.any(or_(func.lower(ContactLanguage.code) == code.lower(),
                                                      func.lower(ContactLanguage.code).startswith(
                                                          code.lower() + "-", autoescape=True))))
    if args["tag"]:
        query = query.where(Contact.tags.any(Tag.key == " ".join(args["tag"].split()).casefold()))
    if args["email"] == "yes":
        query = query.where(Contact.emails.any())
    elif args["email"] == "no":
        query = query.where(~Contact.emails.any())
    # Byte order, as SQLite's: the keys are folded already, and PostgreSQL sorts 20,000 of them this way in a
    # few milliseconds, where a language collation takes ten times as long.
    # The country sorts byte-wise too, which also keeps PostgreSQL from walking the country index in order
    # while it tests a selective filter on every row (the LIMIT trap).
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    name = Contact.sort_key.collate("C") if postgresql else Contact.sort_key
    country = Contact.country_code.collate("C") if postgresql else Contact.country_code
    order = {"name": (name,),
             "country": (country.asc().nulls_last(), name),
             "rank": (Contact.protocol_rank.asc().nulls_last(), name),
             "updated": (Contact.updated_at.desc(),)}[args["sort"]]
    return query.order_by(*order, Contact.id), args


def contact(contact_id: int) -> Contact | None:
    """A contact with everything its page shows, loaded in a few queries."""
    return db.session.scalar(select(Contact).where(Contact.id == contact_id).options(
        selectinload(Contact.emails), selectinload(Contact.phones), selectinload(Contact.languages),
        selectinload(Contact.tags), selectinload(Contact.country), selectinload(Contact.city),
        selectinload(Contact.user), selectinload(Contact.positions).selectinload(Position.organisation)))


def language_options() -> list[str]:
    """The languages someone on file speaks, as their primary subtags (ja, en, ko), for the filter menu."""
    codes = db.session.scalars(select(ContactLanguage.code).distinct()).all()
    return sorted({code.split("-")[0].lower() for code in codes})


def tag_options() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.key)))


def organisation_options() -> list[tuple[int, str]]:
    """(id, name) of every organisation, by name: plain rows, for menus."""
    return [(oid, name) for oid, name in db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name, Organisation.id))]


def saved_searches(user_id: int) -> list[SavedSearch]:
    return list(db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == user_id)
                                   .order_by(SavedSearch.name, SavedSearch.id)))


# -- organisations ---------------------------------------------------------------------------------


def _organisation_named(q: str):
    """Organisations whose Latin name holds `q` folded, or whose name in their own script holds it."""
    key = fold(q)
    return or_(Organisation.search_key.contains(key, autoescape=True) if key else false(),
               func.lower(Organisation.name_local).contains(q.lower(), autoescape=True))


def organisations(given: Mapping[str, str]) -> tuple[Select, dict[str, str]]:
    """The organisation list's query for the filters and sort `given` (q, kind, country,
    link=partner|embassy|network|none, partner, sort=name|country|kind), and the filters as understood.

    `q` matches the Latin name case- and accent-insensitively, or the name in the organisation's own script.
    """
    args = _filters(given, (*ORGANISATION_FILTERS, "sort"))
    query = select(Organisation).options(selectinload(Organisation.country), selectinload(Organisation.partner),
                                         selectinload(Organisation.embassy), selectinload(Organisation.network),
                                         selectinload(Organisation.parent))
    if args["q"]:
        query = query.where(_organisation_named(args["q"]))
    if args["kind"] in {k.value for k in OrganisationKind}:
        query = query.where(Organisation.kind == OrganisationKind(args["kind"]))
    else:
        args["kind"] = ""
    if args["country"].isalpha():
        args["country"] = args["country"].upper()[:2]
        query = query.where(Organisation.country_code == args["country"])
    else:
        args["country"] = ""
    link = {"partner": Organisation.partner_id, "embassy": Organisation.embassy_id,
            "network": Organisation.network_id}
    if args["link"] in link:
        query = query.where(link[args["link"]].is_not(None))
    elif args["link"] == "none":
        query = query.where(*(column.is_(None) for column in link.values()))
    else:
        args["link"] = ""
    if (partner_id := _int(args["partner"])) is not None:
        query = query.where(Organisation.partner_id == partner_id)
    else:
        args["partner"] = ""
    args["sort"] = args["sort"] if args["sort"] in ORGANISATION_SORTS else "name"
    order = {"name": (Organisation.name,), "country": (Organisation.country_code.asc().nulls_last(),
                                                       Organisation.name),
             "kind": (Organisation.kind, Organisation.name)}[args["sort"]]
    return query.order_by(*order, Organisation.id), args


def organisation(organisation_id: int) -> Organisation | None:
    """An organisation with its links, departments and people (current and past) loaded."""
    return db.session.scalar(select(Organisation).where(Organisation.id == organisation_id).options(
        selectinload(Organisation.departments), selectinload(Organisation.parent),
        selectinload(Organisation.country), selectinload(Organisation.partner), selectinload(Organisation.embassy),
        selectinload(Organisation.network),
        selectinload(Organisation.positions).selectinload(Position.contact)))


def organisation_interactions(organisation_id: int, limit: int) -> tuple[list[Interaction], int]:
    """The latest `limit` interactions an organisation took part in, newest first, and how many there are.

    Read from the organisation's side of the link table (indexed), so that a busy organisation costs what a
    quiet one does.
    """
    link = interaction_organisation.c
    total = db.session.scalar(select(func.count()).select_from(interaction_organisation)
                              .where(link.organisation_id == organisation_id))
    found = db.session.scalars(select(Interaction).join(interaction_organisation, link.interaction_id == Interaction.id)
                               .where(link.organisation_id == organisation_id)
                               .order_by(Interaction.occurred_on.desc(), Interaction.id.desc()).limit(limit)).all()
    return list(found), total or 0
