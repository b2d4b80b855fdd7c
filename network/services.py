"""Reads and verbs of the network registry; for now the reference geography and the home city."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from kizuna.extensions import db

from .models import City, CityName, Country
from .reference import fold

# Above every code point, so that key <= x < key + TOP selects exactly the strings starting with key.
TOP = "\U0010ffff"


def search_cities(q: str, *, country: str | None = None, limit: int = 20) -> list[City]:
    """Cities whose name starts with `q` (case- and accent-insensitive), largest first, each once.

    Cities found by their own name come first; then those found only by another name (Peking, 東京).
    """
    key = fold(q)
    if not key:
        return []
    by_own_name = (City.search_key >= key) & (City.search_key < key + TOP)
    query = select(City).order_by(City.population.desc(), City.id)
    if country:
        query = query.where(City.country_code == country.upper())
    found = list(db.session.scalars(query.where(by_own_name).limit(limit)))
    if len(found) < limit:
        by_other_name = (select(CityName.city_id)
                         .where(CityName.search_key >= key, CityName.search_key < key + TOP))
        found += db.session.scalars(query.where(City.id.in_(by_other_name), ~by_own_name)
                                    .limit(limit - len(found)))
    return found


def countries() -> list[Country]:
    return list(db.session.scalars(select(Country).order_by(Country.name_en)))


def resolve_city(spec: str) -> City | None:
    """A city from a GeoNames id ('1850147') or 'Name, CC' ('Tokyo, JP'): the most populous match."""
    spec = spec.strip()
    if spec.isdigit():
        return db.session.get(City, int(spec))
    name, _, country = spec.rpartition(",")
    return db.session.scalar(
        select(City).where(City.search_key == fold(name), City.country_code == country.strip().upper())
        .order_by(City.population.desc()).limit(1))


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
