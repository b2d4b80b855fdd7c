"""Factories of the partners tests: organisations and contacts made through the services, as staff make them."""

import pytest

from kizuna.models import Role


@pytest.fixture(autouse=True)
def _reference_loaded(reference_data):
    """Load it before db_session swaps in the test's connection, so its commit is real."""


@pytest.fixture
def staff(db_session, make_user):
    """An editor: the actor of the changes a test makes."""
    return make_user(Role.EDITOR)


@pytest.fixture
def make_organisation(db_session, staff):
    """Factory: make_organisation(name=…, kind=…, …) → a flushed organisation (a company in Japan by default)."""
    from partners import services

    counter = iter(range(1, 10_000))

    def make(**overrides):
        fields = {"kind": "company", "name": f"Organisation {next(counter)}", "country_code": "JP", **overrides}
        return services.create_organisation(actor=staff, **fields)

    return make


@pytest.fixture
def make_contact(db_session, staff):
    """Factory: make_contact(family_name=…, …) → a flushed contact (Jane Doe of the UK by default)."""
    from partners import services

    def make(**overrides):
        fields = {"family_name": "Doe", "given_name": "Jane", "country_code": "GB", **overrides}
        return services.create_contact(actor=staff, **fields)

    return make
