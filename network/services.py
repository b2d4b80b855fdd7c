"""Reads and verbs of the network registry; for now the reference geography and the home city."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from kizuna.extensions import db

from .models import City, CityName, Country
from .reference import fold

MAX_QUERY = 200  # characters of a city search; names are at most 200
# Above every code point, so that key <= x < key + TOP selects exactly the strings starting with key.
TOP = "\U0010ffff"


def search_cities(q: str, *, country: str | None = None, limit: int = 20) -> list[City]:
    """Cities whose name starts with `q` (case- and accent-insensitive), largest first, each once.

    First the cities whose own name starts with `q` or that another name calls exactly `q` ('Pékin'
    finds Beijing before Pekin, Illinois); then, to fill `limit`, those that another name of starts with
    `q`, so that a city's many foreign names do not push it before the cities the reader means.
    """
    key = fold(q)
    if not key:
        return []
    # Both descending, so that the indexes by (population, id) serve the order read backwards.
    cities = select(City).order_by(City.population.desc(), City.id.desc()).limit(limit)
    if country:
        cities = cities.where(City.country_code == country.upper())
    # No "and not by its own name" in SQL: PostgreSQL turns that negated range into an index scan of
    # everything outside it. A city found twice is dropped here instead.
    found = {c.id: c for c in db.session.scalars(
        cities.where(City.search_key >= key, City.search_key < key + TOP))}
    found |= {c.id: c for c in db.session.scalars(
        cities.where(City.id.in_(select(CityName.city_id).where(CityName.search_key == key))))}
    first = sorted(found.values(), key=lambda city: (city.population, city.id), reverse=True)[:limit]
    if len(first) == limit:
        return first
    # Fewer than `limit` found, so `first` holds every city whose own name starts with the key.
    other_name = select(CityName.city_id).where(CityName.search_key >= key, CityName.search_key < key + TOP)
    if first:
        other_name = other_name.where(CityName.city_id.not_in([c.id for c in first]))
    return first + list(db.session.scalars(cities.where(City.id.in_(other_name)).limit(limit - len(first))))


def countries() -> list[Country]:
    return list(db.session.scalars(select(Country).order_by(Country.name_en)))


def find_country(code: str) -> Country | None:
    """The country with this ISO 3166-1 alpha-2 code (any case), if there is one."""
    code = code.strip().upper()
    return db.session.get(Country, code) if len(code) == 2 and code.isalpha() else None


def resolve_city(spec: str) -> City | None:
    """A city from a GeoNames id ('1850147') or 'Name, CC' ('Tokyo, JP', '東京, JP'): the most populous
    city of that country called so, by its own name first, else by another name."""
    spec = spec.strip()
    if spec.isdigit():
        return db.session.get(City, int(spec))
    name, _, country = spec.rpartition(",")
    key, in_country = fold(name), select(City).where(City.country_code == country.strip().upper())
    largest = (City.population.desc(), City.id.desc())
    return (db.session.scalar(in_country.where(City.search_key == key).order_by(*largest).limit(1))
            or db.session.scalar(in_country.where(City.id.in_(select(CityName.city_id)
                                                              .where(CityName.search_key == key)))
                                 .order_by(*largest).limit(1)))


def home_city() -> City | None:
    """The city configured as HOME_CITY, once reference data is loaded."""
    cache = current_app.extensions.setdefault("network.home_city_id", {})
    if "id" in cache:
        return db.session.get(City, cache["id"])
    city = resolve_city(current_app.config["HOME_CITY"])
    if city is not None:
        cache["id"] = city.id
    return city


def city_json(city: City, language: str = "en") -> dict:
    return {"id": city.id, "name": city.name, "country": city.country_code,
            "country_name": city.country.name(language), "admin1": city.admin1_code,
            "latitude": city.latitude, "longitude": city.longitude, "population": city.population,
            "timezone": city.timezone, "label": city.label(language)}
