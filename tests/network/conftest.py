"""The reference data every network test reads: committed once per test database (see reference_data)."""

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from network import reference
from network.models import CityName, Country


@pytest.fixture(autouse=True)
def _reference_loaded(app, reference_data):
    """Refill city_name when a `committed` test has truncated it (truncate_all spares only the tables it names).

    Autouse, so it runs before db_session swaps in the test's connection and its commit is real.
    """
    with app.app_context():
        if db.session.scalar(select(CityName.city_id).limit(1)) is None:
            cities = reference.geonames_cities(15000, set(db.session.scalars(select(Country.code))))
            reference.sync_city_names(reference.city_name_rows(cities), {int(c["geonameid"]) for c in cities})
            db.session.commit()
        db.session.remove()
