"""Reference geography: countries, their subdivisions and the world's cities (the network's anchors)."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kizuna.extensions import db

# A prefix search on this column uses its B-tree with plain >= / < bounds; "C" collation on
# PostgreSQL keeps byte order so that the bounds hold for every script.
SearchKey = String(200).with_variant(String(200, collation="C"), "postgresql")


class Country(db.Model):
    code: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166-1 alpha-2
    alpha3: Mapped[str] = mapped_column(String(3), unique=True)
    numeric: Mapped[str] = mapped_column(String(3))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str | None] = mapped_column(String(200))
    official_name: Mapped[str | None] = mapped_column(String(300))

    def name(self, language: str = "en") -> str:
        return (self.name_ja if language == "ja" else None) or self.name_en


class Subdivision(db.Model):
    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO 3166-2, such as AU-NSW
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(8))

    country: Mapped[Country] = relationship()


class City(db.Model):
    __table_args__ = (
        Index("ix_city_search_key", "search_key", "population"),
        Index("ix_city_country_search", "country_code", "search_key"),
        # The search lists the largest cities first: for a short prefix, PostgreSQL walks these and stops
        # after a few hundred rows instead of sorting the tens of thousands of names that start with 's'.
        Index("ix_city_population", "population", "id"),
        Index("ix_city_country_population", "country_code", "population", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the GeoNames id
    name: Mapped[str] = mapped_column(String(200))
    # name folded for search: accents stripped, case folded (see network.reference.fold)
    search_key: Mapped[str] = mapped_column(SearchKey)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"))
    admin1_code: Mapped[str | None] = mapped_column(String(20))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(default=0)
    timezone: Mapped[str] = mapped_column(String(64))

    country: Mapped[Country] = relationship(lazy="joined")

    def label(self, language: str = "en") -> str:
        return f"{self.name}, {self.country.name(language)}"


class CityName(db.Model):
    """Another name a city is found by (Peking, München, 東京, ニューヨーク), folded like City.search_key.

    The key comes first in the primary key so that a prefix search reads this index alone.
    """

    search_key: Mapped[str] = mapped_column(SearchKey, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), primary_key=True)
