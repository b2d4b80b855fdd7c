"""`kizuna load-reference` and the city search, on the committed reference data (cities of 15,000 and more)."""

import gettext
import re

import pycountry
import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text, update

from kizuna import create_app
from kizuna.extensions import db
from network import reference, services
from network.models import City, CityName, Country, Subdivision
from tests.conftest import app_config

TOKYO, BEIJING, ZURICH, SAO_PAULO, NEW_YORK = 1850147, 1816670, 2657896, 3448439, 5128581
REFERENCE_TABLES = ("country", "subdivision", "city", "city_name")


def written_rows() -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated and deleted so far in this transaction, per reference table (PostgreSQL)."""
    rows = db.session.execute(text(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables WHERE relname = ANY(:t)"),
        {"t": list(REFERENCE_TABLES)})
    return {name: (ins, upd, dele) for name, ins, upd, dele in rows}


def names(cities: list[City]) -> list[str]:
    return [c.name for c in cities]


# Loading


def test_first_load_reports_what_it_added(reference_data):
    kinds = [r.kind for r in reference_data]
    assert kinds == ["countries", "subdivisions", "cities", "city names"]
    countries, subdivisions, cities, city_names = reference_data
    # A database that another test process filled first reports "unchanged" instead of "added".
    assert countries.inserted + countries.unchanged == len(pycountry.countries) == 249
    assert subdivisions.inserted + subdivisions.unchanged == len(pycountry.subdivisions)
    assert 33_000 < cities.inserted + cities.unchanged < 35_000
    assert city_names.inserted + city_names.unchanged > 50_000


def test_every_country_is_loaded_with_its_japanese_name_where_pycountry_has_one(db_session):
    japanese = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"])
    loaded = {c.code: c for c in db_session.scalars(select(Country))}
    assert len(loaded) == 249
    for country in pycountry.countries:
        row = loaded[country.alpha_2]
        assert (row.alpha3, row.numeric, row.name_en) == (country.alpha_3, country.numeric, country.name)
        ja = japanese.gettext(country.name)
        assert row.name_ja == (ja if ja != country.name else None)
    assert loaded["JP"].name_ja == "日本"
    assert loaded["JP"].name("ja") == "日本" and loaded["JP"].name("en") == "Japan"
    assert sum(c.name_ja is not None for c in loaded.values()) > 200


def test_subdivisions_carry_their_iso_codes(db_session):
    nsw, sp = db_session.get(Subdivision, "AU-NSW"), db_session.get(Subdivision, "BR-SP")
    assert (nsw.name, nsw.country_code, nsw.type) == ("New South Wales", "AU", "State")
    assert (sp.name, sp.country_code) == ("São Paulo", "BR")
    assert db_session.scalar(select(db.func.count()).select_from(Subdivision)) == len(pycountry.subdivisions)


def test_tokyo_carries_its_time_zone_coordinates_and_population(db_session):
    tokyo = db_session.get(City, TOKYO)
    assert (tokyo.name, tokyo.country_code, tokyo.timezone) == ("Tokyo", "JP", "Asia/Tokyo")
    assert tokyo.latitude == pytest.approx(35.6895, abs=1e-3)
    assert tokyo.longitude == pytest.approx(139.6917, abs=1e-3)
    assert tokyo.population > 8_000_000
    assert tokyo.label("ja") == "Tokyo, 日本"
    assert set(db_session.scalars(select(CityName.search_key).where(CityName.city_id == TOKYO))) >= {"東京都", "tokio"}


def test_every_city_has_an_iana_time_zone(db_session):
    from zoneinfo import available_timezones

    zones = set(db_session.scalars(select(City.timezone).distinct()))
    assert zones and zones <= available_timezones()


def test_second_run_reports_nothing_changed_and_writes_no_row(db_session):
    before = written_rows()
    reports = reference.load(min_population=15000)
    db_session.flush()
    assert [(r.inserted, r.updated, r.removed) for r in reports] == [(0, 0, 0)] * 4
    assert all(r.unchanged for r in reports)
    assert written_rows() == before


def test_changed_rows_are_updated_and_stray_names_removed(db_session):
    db_session.execute(update(City).where(City.id == TOKYO).values(timezone="UTC", population=1))
    db_session.execute(update(Country).where(Country.code == "JP").values(name_ja=None))
    db_session.execute(CityName.__table__.delete().where(CityName.city_id == TOKYO, CityName.search_key == "東京都"))
    db_session.add(CityName(city_id=TOKYO, search_key="edo castle town"))
    db_session.flush()

    countries, subdivisions, cities, city_names = reference.load(min_population=15000)
    db_session.expire_all()

    assert (countries.inserted, countries.updated) == (0, 1)
    assert (subdivisions.inserted, subdivisions.updated) == (0, 0)
    assert (cities.inserted, cities.updated) == (0, 1)
    assert (city_names.inserted, city_names.removed) == (1, 1)
    tokyo = db_session.get(City, TOKYO)
    assert (tokyo.timezone, tokyo.population > 8_000_000) == ("Asia/Tokyo", True)
    assert db_session.get(Country, "JP").name_ja == "日本"
    keys = set(db_session.scalars(select(CityName.search_key).where(CityName.city_id == TOKYO)))
    assert "東京都" in keys and "edo castle town" not in keys


@pytest.mark.sqlite
def test_load_is_idempotent_and_search_works_on_sqlite(tmp_path_factory):
    app = create_app(app_config(tmp_path_factory))
    with app.app_context():
        upgrade()
        first = reference.load(min_population=500_000)
        db.session.commit()
        assert all(r.inserted for r in first)
        assert [(r.inserted, r.updated, r.removed) for r in reference.load(min_population=500_000)] == [(0, 0, 0)] * 4
        for q, city in [("sao p", SAO_PAULO), ("SÃO PAULO", SAO_PAULO), ("東京", TOKYO), ("Peking", BEIJING),
                        ("ニューヨ", NEW_YORK)]:
            assert services.search_cities(q)[0].id == city, q
        assert [c.id for c in services.search_cities("東京", country="JP")] == [TOKYO]
        db.session.remove()
        db.engine.dispose()


def test_a_threshold_between_geonames_lists_cuts_the_next_list_down():
    known = {c.alpha_2 for c in pycountry.countries}
    big = reference.geonames_cities(500_000, known)
    assert big and all(c["population"] >= 500_000 for c in big)
    assert TOKYO in {c["geonameid"] for c in big}
    # At GeoNames' own threshold its list is taken whole: it adds capitals below it, such as Ngerulmud (Palau).
    assert "Ngerulmud" in {c["name"] for c in reference.geonames_cities(15000, known)}


def test_load_reference_command_prints_its_report(app, db_session):
    result = app.test_cli_runner().invoke(args=["load-reference", "--min-population", "500000"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    big = db_session.scalar(select(db.func.count()).select_from(City).where(City.population >= 500_000))
    assert "countries: 0 added, 0 updated, 249 unchanged" in lines
    assert f"cities: 0 added, 0 updated, {big} unchanged" in lines
    assert any(re.fullmatch(r"subdivisions: 0 added, 0 updated, \d+ unchanged", line) for line in lines)
    assert any(re.fullmatch(r"city names: 0 added, 0 updated, \d+ unchanged", line) for line in lines)
    assert re.fullmatch(r"done in \d+\.\d s", lines[-1])


def test_load_reference_refuses_a_threshold_below_the_smallest_list(app):
    result = app.test_cli_runner().invoke(args=["load-reference", "--min-population", "100"])
    assert result.exit_code == 2 and "100 is not in the range x>=500" in result.output


# Search keys


@pytest.mark.parametrize("name, key", [
    ("Zürich", "zurich"), ("ZÜRICH", "zurich"), ("São Paulo", "sao paulo"), ("Łódź", "lodz"),
    ("Straße", "strasse"), ("İstanbul", "istanbul"), ("Saint-Denis", "saint denis"),
    ("Saint-Étienne", "saint etienne"), ("N'Djamena", "ndjamena"),
    ("St. Louis", "st louis"), ("  New   York ", "new york"), ("ＴＯＫＹＯ", "tokyo"),
    ("ニューヨーク", "にゅーよーく"), ("ﾊﾞﾝｺｸ", "ばんこく"), ("バンコク", "ばんこく"), ("ハノイ", "はのい"),
    ("東京", "東京"),
])
def test_fold_ignores_case_accents_punctuation_and_kana_kind(name, key):
    assert reference.fold(name) == key


def test_other_names_keep_exonyms_and_east_asian_names_but_not_transliterations_or_codes():
    alternates = ["Edo", "TYO", "Tokio", "Tokyo", "Tōkyō", "dong jing", "twkyw", "Токио", "東京", "東京都", "도쿄"]
    assert reference.other_name_keys("Tokyo", alternates) == {"edo", "tokio", "東京", "東京都", "도쿄"}


# Search


def test_search_is_case_and_accent_insensitive(db_session):
    for q in ("zur", "ZÜR", "Zürich", "zurich"):
        assert services.search_cities(q)[0].id == ZURICH, q


def test_search_finds_sao_paulo_and_filters_by_country(db_session):
    found = services.search_cities("sao p")
    assert found[0].id == SAO_PAULO
    assert {c.country_code for c in found} > {"BR"}  # São Paulo de Frades is in Portugal
    in_brazil = services.search_cities("sao p", country="br")
    assert in_brazil[0].id == SAO_PAULO and {c.country_code for c in in_brazil} == {"BR"}
    assert SAO_PAULO not in [c.id for c in services.search_cities("sao p", country="PT")]


def test_search_orders_by_population_and_honours_the_limit(db_session):
    found = services.search_cities("s", limit=50)
    assert len(found) == 50
    assert [c.population for c in found] == sorted((c.population for c in found), reverse=True)
    assert services.search_cities("") == services.search_cities("  -. ") == []


@pytest.mark.parametrize("q, city", [
    ("東京", TOKYO), ("ニューヨ", NEW_YORK), ("にゅーよーく", NEW_YORK), ("Peking", BEIJING), ("北京", BEIJING),
    ("pékin", BEIJING), ("Zuerich", ZURICH), ("チューリッヒ", ZURICH), ("サンパウロ", SAO_PAULO), ("München", 2867714),
])
def test_search_finds_cities_by_their_other_names(db_session, q, city):
    assert services.search_cities(q)[0].id == city


def test_cities_found_by_their_own_name_come_before_those_another_name_of_merely_starts_with(db_session):
    found = services.search_cities("pek", limit=100)
    own = [c for c in found if c.search_key.startswith("pek")]
    assert found[:len(own)] == own and BEIJING in [c.id for c in found[len(own):]]
    # Edo is Tokyo's old name: typing "ed" means Edinburgh or Edmonton first
    assert TOKYO not in [c.id for c in services.search_cities("ed")]


def test_a_city_called_exactly_so_in_another_name_ranks_with_own_name_matches(db_session):
    found = services.search_cities("pekin")
    assert found[0].id == BEIJING and "Pekin" in names(found)


def test_each_city_appears_once_though_several_of_its_names_match(db_session):
    for q in ("be", "pe", "北", "zu", "new"):
        ids = [c.id for c in services.search_cities(q, limit=100)]
        assert len(ids) == len(set(ids)), q
    assert [c.id for c in services.search_cities("beijing")].count(BEIJING) == 1


def test_other_name_search_honours_the_country_filter(db_session):
    assert services.search_cities("東京", country="CN") == []
    assert [c.id for c in services.search_cities("東京", country="jp")] == [TOKYO]


def test_resolve_city_reads_ids_and_name_with_country(db_session):
    assert services.resolve_city("1850147").id == TOKYO
    assert services.resolve_city("tokyo, jp").id == TOKYO
    assert services.resolve_city("Zurich, CH").id == ZURICH
    assert services.resolve_city("東京, JP").id == TOKYO
    assert services.resolve_city("Peking, CN").id == BEIJING
    assert services.resolve_city("Tokyo, FR") is None
