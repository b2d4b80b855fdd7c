"""The migrations and the models describe the same schema, on PostgreSQL and on SQLite."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from kizuna import create_app
from kizuna.extensions import db
from tests.conftest import app_config


def _diff(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_match_migrations_on_postgresql(app):
    assert _diff(app) == []


@pytest.mark.sqlite
def test_upgrade_brings_an_empty_sqlite_database_to_head(tmp_path_factory):
    app = create_app(app_config(tmp_path_factory))
    with app.app_context():
        upgrade()
    assert _diff(app) == []
