"""Names in imported files matched to reference cities, countries and subdivisions; reads only, never writes."""

from __future__ import annotations

import difflib
import enum
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pycountry
from sqlalchemy import select

from kizuna.extensions import db

from .models import City, CityName, Country, Subdivision
from .reference import fold
from .services import TOP, search_cities

# A name that several cities of one country bear is theirs to tell apart, unless the largest is at least this
# many times the next: "Kawasaki, JP" is the city of 1.5 million, not the town of 17,000; "Fuchū, JP" is two.
CLEAR_LEAD = 10
CANDIDATES = 5
CHUNK = 1000  # names per IN (...) list
FUZZY_CUTOFF = 0.75

# Names that people write for countries and that ISO does not give (English and Japanese), folded on use.
COUNTRY_ALIASES = {
    "US": ("USA", "U.S.", "U.S.A.", "America", "United States of America", "アメリカ", "アメリカ合衆国", "米国"),
    "GB": ("UK", "U.K.", "Britain", "Great Britain", "England", "Scotland", "Wales", "イギリス", "英国"),
    "KR": ("Korea", "Republic of Korea", "韓国", "大韓民国"),
    "KP": ("DPRK", "北朝鮮"),
    "CN": ("PRC", "中華人民共和国"),
    "TW": ("Taiwan", "台湾"),
    "RU": ("Russia", "ロシア"),
    "VN": ("Vietnam", "ベトナム"),
    "TR": ("Turkey", "トルコ"),
    "CZ": ("Czech Republic", "チェコ"),
    "IR": ("Iran", "イラン"),
    "SY": ("Syria", "シリア"),
    "LA": ("Laos", "ラオス"),
    "BO": ("Bolivia", "ボリビア"),
    "VE": ("Venezuela", "ベネズエラ"),
    "TZ": ("Tanzania", "タンザニア"),
    "MD": ("Moldova",),
    "CI": ("Ivory Coast", "コートジボワール"),
    "NL": ("Holland", "オランダ"),
    "AE": ("UAE", "アラブ首長国連邦"),
    "HK": ("香港",),
    "MO": ("マカオ",),
}
# Japanese names of administrative divisions carry their kind: 東京都, 大阪府, 広東省, ニューサウスウェールズ州.
_DIVISION_SUFFIX = re.compile(r"(都|道|府|県|州|省|市|自治区|特別市)$")


class MatchStatus(enum.StrEnum):
    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"  # several cities bear the name: the reader picks one of the candidates
    UNMATCHED = "unmatched"  # no city bears the name: the candidates are the nearest names


@dataclass(frozen=True)
class Candidate:
    id: int  # the GeoNames id, City.id
    name: str
    country_code: str
    admin1_code: str | None
    label: str  # "Paris, France"
    population: int
    timezone: str

    @classmethod
    def of(cls, city: City, language: str = "en") -> Candidate:
        return cls(city.id, city.name, city.country_code, city.admin1_code, city.label(language), city.population,
                   city.timezone)


@dataclass(frozen=True)
class CityMatch:
    """How one (name, country) of a file matched: the city when matched, and up to five candidates, the most
    likely first (for a match, the city itself comes first)."""

    name: str
    country_code: str | None
    status: MatchStatus
    city_id: int | None
    candidates: tuple[Candidate, ...]

    @property
    def city(self) -> City | None:
        return db.session.get(City, self.city_id) if self.city_id is not None else None


class Matcher:
    """The lookups of one import, each distinct name asked of the database once.

    Batch a file's names with `cities()` first: it reads them in a few queries instead of one per row. The
    caches hold ids and keys, so a Matcher outlives a rollback; it does not see reference data loaded after it
    was made.
    """

    def __init__(self, language: str = "en"):
        self.language = language
        self._by_key: dict[str, list[City]] = {}  # folded name → the cities that bear it (own or other name)
        self._matches: dict[tuple[str, str | None], CityMatch] = {}
        self._countries: dict[str, str] | None = None  # folded name or code → alpha-2
        self._subdivisions: dict[str, list[tuple[str, str, str | None]]] | None = None
        self._pools: dict[tuple[str, str | None], dict[str, list[int]]] = {}

    # -- cities --------------------------------------------------------------------------------

    def cities(self, pairs: Iterable[tuple[str, str | None]]) -> dict[tuple[str, str | None], CityMatch]:
        """Match every (name, alpha-2 country code or None) pair; the result maps each pair as given."""
        pairs = list(dict.fromkeys(pairs))
        self._load_keys({fold(name) for name, _cc in pairs} - set(self._by_key))
        return {(name, cc): self.city(name, cc) for name, cc in pairs}

    def city(self, name: str, country_code: str | None = None) -> CityMatch:
        """Match one name, optionally within a country (alpha-2, any case).

        The rule: the cities whose own name or another name (Peking, 東京, サンパウロ) folds to the same key as
        `name` (case, accents, hyphens and kana ignored). Without a country, several countries with such a
        city make it ambiguous ('Paris': France and Texas). Within one country, the largest city is the match
        when it has at least CLEAR_LEAD times the people of the next, else it is ambiguous. With none, the
        candidates are the cities whose names start with `name`, then the nearest names of the same initial.
        """
        cc = country_code.strip().upper() or None if country_code else None
        if (name, cc) in self._matches:
            return self._matches[name, cc]
        key = fold(name)
        if key and key not in self._by_key:
            self._load_keys({key})
        found = [c for c in self._by_key.get(key, ()) if cc is None or c.country_code == cc]
        found.sort(key=lambda c: (c.population, c.id), reverse=True)
        if not found:
            match = CityMatch(name, cc, MatchStatus.UNMATCHED, None, self._suggest(key, cc) if key else ())
        else:
            candidates = tuple(Candidate.of(c, self.language) for c in found[:CANDIDATES])
            top, runner_up = found[0], (found[1] if len(found) > 1 else None)
            clear = runner_up is None or (top.population > 0 and top.population >= CLEAR_LEAD * runner_up.population)
            if len({c.country_code for c in found}) > 1 or not clear:
                match = CityMatch(name, cc, MatchStatus.AMBIGUOUS, None, candidates)
            else:
                match = CityMatch(name, cc, MatchStatus.MATCHED, top.id, candidates)
        self._matches[name, cc] = match
        return match

    def _load_keys(self, keys: set[str]) -> None:
        keys.discard("")
        for key in keys:
            self._by_key.setdefault(key, [])
        ordered = sorted(keys)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start:start + CHUNK]
            seen: dict[str, set[int]] = defaultdict(set)
            for city in db.session.scalars(select(City).where(City.search_key.in_(chunk))):
                if city.id not in seen[city.search_key]:
                    seen[city.search_key].add(city.id)
                    self._by_key[city.search_key].append(city)
            rows = db.session.execute(select(CityName.search_key, City).join(City, City.id == CityName.city_id)
                                      .where(CityName.search_key.in_(chunk)))
            for key, city in rows:
                if city.id not in seen[key]:
                    seen[key].add(city.id)
                    self._by_key[key].append(city)

    def _suggest(self, key: str, cc: str | None) -> tuple[Candidate, ...]:
        """Cities for a name that none bears: those whose name starts with it, then the nearest by spelling."""
        found = {c.id: c for c in search_cities(key, country=cc, limit=CANDIDATES)}
        if len(found) < CANDIDATES:
            pool = self._pool(key[0], cc)
            for close in difflib.get_close_matches(key, list(pool), n=CANDIDATES, cutoff=FUZZY_CUTOFF):
                for city_id in pool[close]:
                    if len(found) < CANDIDATES and city_id not in found:
                        found[city_id] = db.session.get(City, city_id)
        return tuple(Candidate.of(c, self.language) for c in found.values() if c is not None)

    def _pool(self, initial: str, cc: str | None) -> dict[str, list[int]]:
        """Every name starting with `initial` (in `cc`) → the ids of the cities that bear it, largest first."""
        if (initial, cc) not in self._pools:
            own = select(City.search_key, City.id).where(City.search_key >= initial, City.search_key < initial + TOP)
            other = (select(CityName.search_key, City.id).join(City, City.id == CityName.city_id)
                     .where(CityName.search_key >= initial, CityName.search_key < initial + TOP))
            if cc:
                own, other = own.where(City.country_code == cc), other.where(City.country_code == cc)
            pool: dict[str, list[int]] = defaultdict(list)
            for query in (own.order_by(City.population.desc()), other.order_by(City.population.desc())):
                for key, city_id in db.session.execute(query):
                    if city_id not in pool[key]:
                        pool[key].append(city_id)
            self._pools[initial, cc] = dict(pool)
        return self._pools[initial, cc]

    # -- countries -----------------------------------------------------------------------------

    def country(self, value: str) -> Country | None:
        """The country that `value` names: an alpha-2 or alpha-3 code, the numeric code, the English, official,
        common or Japanese name, any case and accents ('JP', 'jpn', '392', 'Japan', '日本', 'South Korea',
        '韓国', 'Côte d'Ivoire'); None when no country or several fit."""
        if self._countries is None:
            self._countries = _country_index()
        code = self._countries.get(fold(value.strip()))
        return db.session.get(Country, code) if code else None

    # -- subdivisions --------------------------------------------------------------------------

    def subdivision(self, value: str, country_code: str | None = None) -> Subdivision | None:
        """The ISO 3166-2 subdivision `value` names: its code ('AU-NSW', or 'NSW' with the country), English
        or Japanese name ('New South Wales', 'São Paulo', 'Sao Paulo', '東京都'); within the country when one
        is given. A top-level division wins over a lower one of the same name; None when still several fit."""
        if self._subdivisions is None:
            self._subdivisions = _subdivision_index()
        cc = country_code.strip().upper() if country_code else None
        value = value.strip()
        key = fold(value)
        hits = self._subdivisions.get(key, [])
        if not hits and (stripped := _DIVISION_SUFFIX.sub("", value)) != value and stripped:
            hits = self._subdivisions.get(fold(stripped), [])
        if cc:
            hits = [h for h in hits if h[1] == cc]
            if not hits:  # 'NSW' with AU
                hits = [h for h in self._subdivisions.get(fold(f"{cc}-{value}"), []) if h[1] == cc]
        hits = list(dict.fromkeys(hits))
        if len(hits) > 1:
            hits = [h for h in hits if h[2] is None] or hits
        return db.session.get(Subdivision, hits[0][0]) if len(hits) == 1 else None


def _country_index() -> dict[str, str]:
    names: dict[str, set[str]] = defaultdict(set)
    codes: dict[str, str] = {}
    for country in db.session.scalars(select(Country)):
        codes[fold(country.code)] = codes[fold(country.alpha3)] = country.code
        codes[country.numeric] = country.code
        spellings = [country.name_en, country.official_name, country.name_ja]
        if (iso := pycountry.countries.get(alpha_2=country.code)) is not None:
            spellings.append(getattr(iso, "common_name", None))
        if "," in country.name_en:  # "Korea, Republic of" → "Republic of Korea"
            head, _sep, tail = country.name_en.partition(",")
            spellings.append(f"{tail.strip()} {head.strip()}")
        if country.name_ja and "(" in country.name_ja:  # "大韓民国 (韓国)"
            spellings += re.split(r"\s*[()（）]\s*", country.name_ja)
        spellings += COUNTRY_ALIASES.get(country.code, ())
        for spelling in filter(None, spellings):
            names[fold(spelling)].add(country.code)
    index = {key: next(iter(found)) for key, found in names.items() if key and len(found) == 1}
    return {**index, **codes}  # a code beats a name


def _subdivision_index() -> dict[str, list[tuple[str, str, str | None]]]:
    index: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for code, cc, name, name_ja, parent in db.session.execute(select(
            Subdivision.code, Subdivision.country_code, Subdivision.name, Subdivision.name_ja,
            Subdivision.parent_code)):
        for spelling in {code, name, name_ja} - {None}:
            index[fold(spelling)].append((code, cc, parent))
    return dict(index)


def match_city(name: str, country_code: str | None = None, *, language: str = "en") -> CityMatch:
    """One name matched as Matcher.city does; for many, use one Matcher and its `cities()`."""
    return Matcher(language).city(name, country_code)


def match_country(value: str) -> Country | None:
    """See Matcher.country; reads the 249 countries on each call, so use a Matcher for a file."""
    return Matcher().country(value)


def match_subdivision(value: str, country_code: str | None = None) -> Subdivision | None:
    """See Matcher.subdivision; reads every subdivision on each call, so use a Matcher for a file."""
    return Matcher().subdivision(value, country_code)
