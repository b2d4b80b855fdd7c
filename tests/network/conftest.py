"""The reference data every network test reads: committed once per test database (see reference_data)."""

import pytest


@pytest.fixture(autouse=True)
def _reference_loaded(reference_data):
    """Load it before db_session swaps in the test's connection, so its commit is real."""
