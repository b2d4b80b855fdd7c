"""Names in imported files matched to reference cities, countries and subdivisions; reads only, never writes."""

from __future__ import annotations

import bisect
import difflib
import enum
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pycountry
from flask_babel import gettext as _
from sqlalchemy import select

from kizuna.extensions import db

from .models import City, CityName, Country, Subdivision
from .reference import fold
from .services import TOP
from .tabular import Issue, Row, Table, duplicate_rows

# A name that several cities of one country bear is theirs to tell apart, unless the largest is at least this
# many times the next: "Kawasaki, JP" is the city of 1.5 million, not the town of 17,000; "Fuchū, JP" is two.
CLEAR_LEAD = 10
CANDIDATES = 5
CHUNK = 1000  # names per IN (...) list
FUZZY_CUTOFF = 0.75
NEAR = 40  # names that difflib compares a name without a match to

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
    caches hold plain values, never ORM objects, so a Matcher outlives a rollback and can be kept for the
    length of a preview; it does not see reference data loaded after it was made.
    """

    def __init__(self, language: str = "en"):
        self.language = language
        self._by_key: dict[str, list[Candidate]] = {}  # folded name → the cities that bear it (own or other name)
        self._matches: dict[tuple[str, str | None], CityMatch] = {}
        self._countries: dict[str, str] | None = None  # folded name or code → alpha-2
        self._subdivisions: dict[str, list[tuple[str, str, str | None]]] | None = None
        self._pools: dict[tuple[str, str | None], tuple[list[str], dict[str, list[tuple[int, int]]]]] = {}
        self._cities: dict[int, Candidate] = {}
        self._grams: dict[tuple[str, str | None], dict[str, list[str]]] = {}

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
            candidates = tuple(found[:CANDIDATES])
            top, runner_up = found[0], (found[1] if len(found) > 1 else None)
            clear = runner_up is None or (top.population > 0 and top.population >= CLEAR_LEAD * runner_up.population)
            if len({c.country_code for c in found}) > 1 or not clear:
                match = CityMatch(name, cc, MatchStatus.AMBIGUOUS, None, candidates)
            else:
                match = CityMatch(name, cc, MatchStatus.MATCHED, top.id, candidates)
        self._matches[name, cc] = match
        return match

    def choose(self, match: CityMatch, city_id: int) -> CityMatch:
        """The reader's pick for an ambiguous or unmatched name: any reference city in the row's country (one
        of the candidates or another found by search). Raises LookupError when there is no such city."""
        city = db.session.get(City, city_id)
        if city is None or (match.country_code and city.country_code != match.country_code):
            raise LookupError(city_id)
        return CityMatch(match.name, match.country_code, MatchStatus.MATCHED, city.id,
                         (Candidate.of(city, self.language), *(c for c in match.candidates if c.id != city.id)))

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
                    self._by_key[city.search_key].append(Candidate.of(city, self.language))
            rows = db.session.execute(select(CityName.search_key, City).join(City, City.id == CityName.city_id)
                                      .where(CityName.search_key.in_(chunk)))
            for key, city in rows:
                if city.id not in seen[key]:
                    seen[key].add(city.id)
                    self._by_key[key].append(Candidate.of(city, self.language))

    def _suggest(self, key: str, cc: str | None) -> tuple[Candidate, ...]:
        """Cities for a name that none bears: those whose own or other name starts with it, largest first;
        then the nearest names by spelling that start with the same letter (a slip is rarely in the first)."""
        keys, ids = self._pool(key[0], cc)
        start = bisect.bisect_left(keys, key)
        prefixed = {city for k in keys[start:bisect.bisect_left(keys, key + TOP, lo=start)] for city in ids[k]}
        found = [city_id for city_id, _population in sorted(prefixed, key=lambda c: c[1], reverse=True)]
        if len(set(found)) < CANDIDATES:
            for close in difflib.get_close_matches(key, self._near(key, cc), n=CANDIDATES, cutoff=FUZZY_CUTOFF):
                found += [city_id for city_id, _population in ids[close]]
        return self._candidates(list(dict.fromkeys(found))[:CANDIDATES])

    def _near(self, key: str, cc: str | None) -> list[str]:
        """The names of the pool that share the most pairs of letters with `key`: what difflib then ranks (on its
        own it takes 10 ms a name over the two thousand names of the world that start with an 's')."""
        grams = self._grams.get((key[0], cc))
        if grams is None:
            grams = self._grams[key[0], cc] = defaultdict(list)
            for k in self._pool(key[0], cc)[0]:
                for gram in _bigrams(k):
                    grams[gram].append(k)
        shared: dict[str, int] = defaultdict(int)
        for gram in _bigrams(key):
            for k in grams.get(gram, ()):
                shared[k] += 1
        return sorted(shared, key=shared.__getitem__, reverse=True)[:NEAR]

    def _candidates(self, city_ids: list[int]) -> tuple[Candidate, ...]:
        missing = [i for i in city_ids if i not in self._cities]
        if missing:
            for city in db.session.scalars(select(City).where(City.id.in_(missing))):
                self._cities[city.id] = Candidate.of(city, self.language)
        return tuple(self._cities[i] for i in city_ids if i in self._cities)

    def _pool(self, initial: str, cc: str | None) -> tuple[list[str], dict[str, list[tuple[int, int]]]]:
        """Every own and other name starting with `initial` (in `cc`), sorted, and the (id, population) of
        the cities that bear each."""
        if (initial, cc) not in self._pools:
            own = (select(City.search_key, City.id, City.population)
                   .where(City.search_key >= initial, City.search_key < initial + TOP))
            other = (select(CityName.search_key, City.id, City.population).join(City, City.id == CityName.city_id)
                     .where(CityName.search_key >= initial, CityName.search_key < initial + TOP))
            if cc:
                own, other = own.where(City.country_code == cc), other.where(City.country_code == cc)
            ids: dict[str, list[tuple[int, int]]] = defaultdict(list)
            for query in (own, other):
                for key, city_id, population in db.session.execute(query):
                    ids[key].append((city_id, population))
            for bearers in ids.values():
                bearers.sort(key=lambda bearer: bearer[1], reverse=True)
            self._pools[initial, cc] = (sorted(ids), dict(ids))
        return self._pools[initial, cc]

    # -- countries -----------------------------------------------------------------------------

    def country(self, value: str) -> Country | None:
        """The country that `value` names: an alpha-2 or alpha-3 code, the numeric code, the English, official,
        common or Japanese name, any case and accents ('JP', 'jpn', '392', 'Japan', '日本', 'South Korea',
        '韓国', 'Côte d'Ivoire'); None when no country or several fit."""
        code = self.country_code(value)
        return db.session.get(Country, code) if code else None

    def country_code(self, value: str) -> str | None:
        """The alpha-2 code of the country `value` names (see `country`), without loading it."""
        if self._countries is None:
            self._countries = _country_index()
        return self._countries.get(fold(value.strip()))

    # -- subdivisions --------------------------------------------------------------------------

    def subdivision(self, value: str, country_code: str | None = None) -> Subdivision | None:
        """The ISO 3166-2 subdivision `value` names: its code ('AU-NSW', or 'NSW' with the country), English
        or Japanese name ('New South Wales', 'São Paulo', 'Sao Paulo', '東京都'); within the country when one
        is given. A top-level division wins over a lower one of the same name; None when still several fit."""
        code = self.subdivision_code(value, country_code)
        return db.session.get(Subdivision, code) if code else None

    def subdivision_code(self, value: str, country_code: str | None = None) -> str | None:
        """The ISO 3166-2 code of the subdivision `value` names (see `subdivision`), without loading it."""
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
        return hits[0][0] if len(hits) == 1 else None


def _bigrams(key: str) -> set[str]:
    return {key[i:i + 2] for i in range(len(key) - 1)} or {key}


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


@dataclass
class RowMatch:
    """What a preview shows for one row: the country, city and subdivision it names, and what is wrong."""

    row: int
    country_code: str | None = None
    city: CityMatch | None = None  # None: the row names no city
    subdivision_code: str | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def match_rows(table: Table, *, matcher: Matcher | None = None, city_field: str = "city",
               country_field: str = "country", subdivision_field: str = "subdivision",
               require: Sequence[str] = (), key_fields: Sequence[str] = (),
               choices: Mapping[int, int] | None = None) -> list[RowMatch]:
    """Match each row's country, city and subdivision (the fields that are in the table), one RowMatch per
    row in the table's order; reads only.

    `choices` (row number → city id) are the reader's picks for ambiguous and unmatched cities. Every problem
    is an Issue naming the row, column and field: a `require`d field left empty, an unknown country, a city
    unknown or ambiguous, a pick that is not a city of the row's country, a subdivision not of the country,
    and a row that repeats an earlier one: the same city (or, unmatched, the same name and country) and the
    same `key_fields` values. A file can be saved when no row has an issue.
    """
    matcher = matcher or Matcher()
    choices = choices or {}
    letters = table.letters
    results: dict[int, RowMatch] = {}
    countries: dict[int, str | None] = {}
    for row in table.rows:
        result = results[row.number] = RowMatch(row.number)
        for name in require:
            if name in letters and not row.get(name):
                result.issues.append(Issue(_("Row %(row)d, column %(column)s: %(header)s is empty.",
                                             row=row.number, column=letters[name], header=table.headers[name]),
                                           row.number, letters[name], name))
        if value := row.get(country_field):
            code = matcher.country_code(value)
            if code is None:
                result.issues.append(Issue(_("Row %(row)d, column %(column)s: \"%(value)s\" is not a country "
                                             "code or name that the registry knows.", row=row.number,
                                             column=letters[country_field], value=value),
                                           row.number, letters[country_field], country_field))
            else:
                result.country_code = code
        countries[row.number] = result.country_code
    wanted = [(row.get(city_field), countries[row.number]) for row in table.rows
              if row.get(city_field) and not (row.get(country_field) and countries[row.number] is None)]
    matches = matcher.cities(wanted)
    for row in table.rows:
        result, name = results[row.number], row.get(city_field)
        if name and (name, result.country_code) in matches:
            result.city = _settle(matcher, table, row, matches[name, result.country_code], choices, city_field,
                                  result.issues)
        if (value := row.get(subdivision_field)) and (result.country_code or not row.get(country_field)):
            sub = matcher.subdivision_code(value, result.country_code)
            if sub is None:
                column = letters[subdivision_field]
                result.issues.append(Issue(
                    _("Row %(row)d, column %(column)s: \"%(value)s\" is not a state, province or region of "
                      "%(country)s.", row=row.number, column=column, value=value, country=result.country_code)
                    if result.country_code else
                    _("Row %(row)d, column %(column)s: \"%(value)s\" is not a state, province or region "
                      "the registry knows; give its ISO 3166-2 code or the row's country.", row=row.number,
                      column=column, value=value), row.number, column, subdivision_field))
            else:
                result.subdivision_code = sub
                result.country_code = result.country_code or sub.partition("-")[0]

    def key(row: Row):
        result, name = results[row.number], row.get(city_field)
        if result.city is not None and result.city.city_id is not None:
            city = ("id", result.city.city_id)
        else:
            city = ("name", fold(name), result.country_code or fold(row.get(country_field))) if name else None
        extra = tuple(fold(row.get(f)) for f in key_fields)
        return None if city is None and not any(extra) else (city, *extra)

    for number, first in duplicate_rows(table.rows, key).items():
        results[number].issues.append(Issue(_("Row %(row)d repeats row %(first)d.", row=number, first=first),
                                            number, letters.get(city_field), city_field))
    return list(results.values())


def _settle(matcher: Matcher, table: Table, row: Row, match: CityMatch, choices: Mapping[int, int],
            city_field: str, issues: list[Issue]) -> CityMatch:
    column, name = table.letters[city_field], row.get(city_field)
    if row.number in choices:
        try:
            return matcher.choose(match, choices[row.number])
        except LookupError:
            issues.append(Issue(_("Row %(row)d, column %(column)s: the city chosen for \"%(name)s\" is not a "
                                  "reference city of the row's country.", row=row.number, column=column, name=name),
                                row.number, column, city_field))
            return match
    if match.status is MatchStatus.AMBIGUOUS:
        issues.append(Issue(_("Row %(row)d, column %(column)s: several cities are called \"%(name)s\"; choose "
                              "one.", row=row.number, column=column, name=name), row.number, column, city_field))
    elif match.status is MatchStatus.UNMATCHED:
        issues.append(Issue(_("Row %(row)d, column %(column)s: no city called \"%(name)s\" is known; choose one "
                              "of the suggestions or correct the name.", row=row.number, column=column, name=name)
                            if match.candidates else
                            _("Row %(row)d, column %(column)s: no city called \"%(name)s\" is known; correct "
                              "the name.", row=row.number, column=column, name=name), row.number, column,
                            city_field))
    return match
