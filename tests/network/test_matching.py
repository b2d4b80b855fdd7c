"""Matching the names of an imported file to reference cities, countries and subdivisions (cities ≥ 15,000)."""

import time

import pytest
from sqlalchemy import func, select, text

from network import matching
from network.matching import (
    CLEAR_LEAD,
    Matcher,
    MatchStatus,
    match_city,
    match_country,
    match_rows,
    match_subdivision,
)
from network.models import City
from network.tabular import SCHEMAS, read_table, write_csv

TOKYO, SAO_PAULO, PARIS, PARIS_TX, PARYS, KAWASAKI = 1850147, 3448439, 2988507, 4717560, 966166, 1859642


def ids(match) -> list[int]:
    return [c.id for c in match.candidates]


def test_paris_in_france_is_matched(db_session):
    match = match_city("Paris", "FR")
    assert match.status is MatchStatus.MATCHED
    assert match.city.id == PARIS and match.city_id == PARIS
    assert ids(match)[0] == PARIS
    assert match.candidates[0].label == "Paris, France"
    assert match.candidates[0].timezone == "Europe/Paris" and match.candidates[0].population > 2_000_000


def test_paris_without_a_country_is_ambiguous_between_france_and_texas(db_session):
    """Two countries have a Paris: without a country the rule never picks, however lopsided."""
    match = match_city("paris")
    assert match.status is MatchStatus.AMBIGUOUS and match.city is None
    # The largest first, preselectable; Parys, South Africa, is also called Paris.
    assert ids(match) == [PARIS, PARYS, PARIS_TX]
    assert [c.country_code for c in match.candidates] == ["FR", "ZA", "US"]
    # Told the country, the same name is matched: in the United States only Paris, Texas is that large.
    assert match_city("paris", "us").city_id == PARIS_TX


def test_accents_case_and_other_names_find_the_same_city(db_session):
    for name, country in [("São Paulo", "BR"), ("Sao Paulo", "BR"), ("SAO PAULO", None), ("sao-paulo", "br"),
                          ("サンパウロ", "BR"), ("サンパウロ", None)]:
        match = match_city(name, country)
        assert (match.status, match.city_id) == (MatchStatus.MATCHED, SAO_PAULO), name
    for name in ("東京", "Tokyo", "tokyo", "TŌKYŌ"):
        match = match_city(name, "JP")
        assert (match.status, match.city_id) == (MatchStatus.MATCHED, TOKYO), name
    assert match_city("東京").city_id == TOKYO
    assert match_city("Peking", "CN").city.name == "Beijing"


def test_in_one_country_the_largest_wins_only_by_a_clear_lead(db_session):
    kawasakis = db_session.scalars(select(City).where(City.search_key == "kawasaki")
                                   .order_by(City.population.desc())).all()
    assert len(kawasakis) >= 2 and kawasakis[0].population >= CLEAR_LEAD * kawasakis[1].population
    assert match_city("Kawasaki", "JP").city_id == KAWASAKI
    # Tokyo's Fuchū (260,000) and Hiroshima's (51,000): within ten times of each other.
    fuchu = match_city("Fuchu", "JP")
    assert fuchu.status is MatchStatus.AMBIGUOUS and fuchu.city is None
    assert [c.admin1_code for c in fuchu.candidates[:2]] == ["40", "11"]  # Tokyo's, then Hiroshima's
    springfield = match_city("Springfield", "US")
    assert springfield.status is MatchStatus.AMBIGUOUS
    assert len(springfield.candidates) == matching.CANDIDATES
    assert springfield.candidates[0].admin1_code == "MO"  # what tells the Springfields apart


def test_an_unknown_city_is_unmatched_with_the_nearest_names_as_candidates(db_session):
    typo = match_city("Pariss", "FR")
    assert typo.status is MatchStatus.UNMATCHED and typo.city is None
    assert PARIS in ids(typo)
    prefix = match_city("Yokoh", "JP")
    assert prefix.status is MatchStatus.UNMATCHED and prefix.candidates[0].name == "Yokohama"
    nothing = match_city("Xqzvwk")
    assert (nothing.status, nothing.candidates) == (MatchStatus.UNMATCHED, ())
    assert match_city("", "FR").status is MatchStatus.UNMATCHED
    # A city that exists, but not in the country given.
    elsewhere = match_city("Tokyo", "FR")
    assert elsewhere.status is MatchStatus.UNMATCHED and TOKYO not in ids(elsewhere)


def test_labels_follow_the_language(db_session):
    assert match_city("Paris", "FR", language="ja").candidates[0].label == "Paris, フランス"


def test_a_matcher_asks_each_distinct_name_once(db_session):
    matcher = Matcher()
    first = matcher.city("Paris", "FR")
    statements = []

    from sqlalchemy import event

    def count(*args):
        statements.append(args)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert matcher.city("Paris", "FR") is first
        assert matcher.cities([("Paris", "FR"), ("Paris", "FR")]) == {("Paris", "FR"): first}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_five_thousand_rows_are_matched_in_well_under_five_seconds(db_session):
    """A file's worth of real names and countries, repeated as files repeat them, plus unknown names."""
    rows = [(name, cc) for name, cc in db_session.execute(
        select(City.name, City.country_code).order_by(City.population.desc()).limit(3000))]
    rows += rows[:1500] + [(f"Nowhere {i}", "JP") for i in range(500)]
    assert len(rows) == 5000
    started = time.perf_counter()
    matches = Matcher().cities(rows)
    elapsed = time.perf_counter() - started
    assert len(matches) == len(set(rows))
    statuses = [m.status for m in matches.values()]
    assert statuses.count(MatchStatus.MATCHED) > 2500
    assert statuses.count(MatchStatus.UNMATCHED) >= 500
    print(f"5,000 rows matched in {elapsed:.2f} s")
    assert elapsed < 2.5, f"{elapsed:.2f} s"

    # The same as a file, read and matched row by row, with the duplicates found.
    data = write_csv([{"city": name, "country": cc} for name, cc in rows], {"city": "City", "country": "Country"})
    started = time.perf_counter()
    report = match_rows(read_table(data, "big.csv", schema=SCHEMAS["partners"]))
    elapsed = time.perf_counter() - started
    print(f"5,000-row file read and matched in {elapsed:.2f} s")
    assert len(report) == 5000 and sum(r.ok for r in report) > 2500
    assert elapsed < 3, f"{elapsed:.2f} s"


def test_matching_writes_nothing(db_session):
    before = db_session.execute(text("SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                                     "FROM pg_stat_xact_user_tables")).scalar()
    Matcher().cities([("Paris", None), ("Pariss", "FR"), ("東京", "JP")])
    match_country("日本")
    match_subdivision("AU-NSW")
    assert not db_session.new and not db_session.dirty and not db_session.deleted
    after = db_session.execute(text("SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                                    "FROM pg_stat_xact_user_tables")).scalar()
    assert after == before


# Countries


@pytest.mark.parametrize("value", ["JP", "jp", " Jp ", "JPN", "jpn", "392", "Japan", "JAPAN", "日本"])
def test_japan_by_code_name_or_japanese_name(db_session, value):
    assert match_country(value).code == "JP"


@pytest.mark.parametrize(("value", "code"), [
    ("United States", "US"), ("USA", "US"), ("United States of America", "US"), ("米国", "US"), ("アメリカ", "US"),
    ("South Korea", "KR"), ("Korea, Republic of", "KR"), ("Republic of Korea", "KR"), ("韓国", "KR"),
    ("大韓民国", "KR"), ("Côte d'Ivoire", "CI"), ("cote divoire", "CI"), ("Vietnam", "VN"), ("Viet Nam", "VN"),
    ("UK", "GB"), ("英国", "GB"), ("Taiwan", "TW"), ("台湾", "TW"), ("Türkiye", "TR"), ("Turkey", "TR"),
    ("FRA", "FR"), ("Brazil", "BR"), ("ブラジル", "BR"), ("ドイツ", "DE"), ("Czechia", "CZ"),
])
def test_country_by_name_alpha3_or_alias(db_session, value, code):
    assert match_country(value).code == code


@pytest.mark.parametrize("value", ["XX", "ZZZ", "Atlantis", "", "Korea, Democratic"])
def test_unknown_country_is_none(db_session, value):
    assert match_country(value) is None


# Subdivisions


@pytest.mark.parametrize(("value", "country", "code"), [
    ("AU-NSW", None, "AU-NSW"), ("au-nsw", "AU", "AU-NSW"), ("NSW", "AU", "AU-NSW"),
    ("New South Wales", None, "AU-NSW"), ("new south wales", "au", "AU-NSW"),
    ("ニューサウスウェールズ州", "AU", "AU-NSW"),
    ("São Paulo", "BR", "BR-SP"), ("Sao Paulo", "BR", "BR-SP"), ("SP", "BR", "BR-SP"),
    ("東京都", "JP", "JP-13"), ("Tokyo", "JP", "JP-13"), ("大阪府", None, "JP-27"),
])
def test_subdivision_by_code_or_name(db_session, value, country, code):
    assert match_subdivision(value, country).code == code


def test_subdivision_outside_the_country_given_is_none(db_session):
    assert match_subdivision("New South Wales", "US") is None
    assert match_subdivision("AU-NSW", "NZ") is None
    assert match_subdivision("Nowhere State", "AU") is None
    assert match_subdivision("NSW") is None  # a bare code needs its country


# A file's rows


FILE = """都市名,国,州・省,備考
東京,日本,東京都,
Paris,FR,,
paris,,,
Springfield,USA,,
Pariss,France,,
Sao Paulo,BRA,SP,
Lyon,Atlantis,,
東京,JP,,again
Sydney,AU,Bavaria,
,,,no city
"""


def test_rows_are_matched_with_issues_pointing_at_row_and_column(db_session):
    table = read_table(FILE.encode("cp932"), "partners.csv", schema=SCHEMAS["partners"])
    rows = {r.row: r for r in match_rows(table)}
    assert list(rows) == list(range(2, 12))
    tokyo = rows[2]
    assert (tokyo.country_code, tokyo.city.city_id, tokyo.subdivision_code, tokyo.ok) == ("JP", TOKYO, "JP-13", True)
    assert rows[3].ok and rows[3].city.city_id == PARIS
    assert [(i.row, i.column, i.field) for i in rows[4].issues] == [(4, "A", "city")]
    assert "several cities" in str(rows[4].issues[0]) and rows[4].city.status is MatchStatus.AMBIGUOUS
    assert rows[5].country_code == "US" and rows[5].city.status is MatchStatus.AMBIGUOUS
    assert rows[6].city.status is MatchStatus.UNMATCHED and PARIS in ids(rows[6].city)
    assert "suggestions" in str(rows[6].issues[0])
    assert rows[7].ok and (rows[7].city.city_id, rows[7].subdivision_code) == (SAO_PAULO, "BR-SP")
    assert [(i.column, i.field) for i in rows[8].issues] == [("B", "country")]
    assert "Atlantis" in str(rows[8].issues[0]) and rows[8].city is None
    assert [str(i) for i in rows[9].issues] == ["Row 9 repeats row 2."]
    assert [(i.column, i.field) for i in rows[10].issues] == [("C", "subdivision")]
    assert "Bavaria" in str(rows[10].issues[0]) and "AU" in str(rows[10].issues[0])
    assert rows[10].city.status is MatchStatus.MATCHED and rows[10].subdivision_code is None
    assert rows[11].ok and rows[11].city is None


def test_choices_settle_ambiguous_and_unmatched_rows(db_session):
    table = read_table(FILE.encode(), "partners.csv", schema=SCHEMAS["partners"])
    springfield_il = db_session.scalar(select(City.id).where(City.search_key == "springfield",
                                                             City.admin1_code == "IL"))
    rows = {r.row: r for r in match_rows(table, choices={4: PARIS_TX, 5: springfield_il, 6: PARIS, 3: TOKYO})}
    assert rows[4].ok and rows[4].city.city_id == PARIS_TX
    assert rows[5].ok and rows[5].city.status is MatchStatus.MATCHED and rows[5].city.city.admin1_code == "IL"
    # Tokyo is not in France; and Paris, picked for the misspelt row, repeats row 3.
    assert "not a reference city" in str(rows[3].issues[0])
    assert rows[6].city.city_id == PARIS and [str(i) for i in rows[6].issues] == ["Row 6 repeats row 3."]
    assert match_rows(table, choices={6: 999999999})[4].issues[0].row == 6


def test_required_fields_and_extra_key_fields(db_session):
    table = read_table("ネットワーク,都市名,国\nC40,Tokyo,JP\nU20,東京,JP\nC40,TOKYO,jp\n,Paris,FR\n".encode(),
                       "m.csv", schema=SCHEMAS["network-members"])
    rows = match_rows(table, require=["network", "city"], key_fields=["network"])
    assert [[str(i) for i in r.issues] for r in rows] == [
        [], [], ["Row 4 repeats row 2."], ["Row 5, column A: ネットワーク is empty."]]


def test_the_reference_has_the_cities_these_tests_name(db_session):
    assert db_session.scalar(select(func.count()).select_from(City)) > 30_000
