"""Fixtures on real services: a fresh PostgreSQL database per run, Redis, an SMTP sink, a Celery worker."""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from kizuna import create_app
from kizuna.extensions import db
from kizuna.models import Role
from tests.smtp_sink import SMTPSink

PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
PASSWORD = "correct horse battery"


def _worker_index() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = f"{REDIS_BASE}/{10 + _worker_index()}"  # one Redis database per xdist worker
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis does not answer at {url}: {exc}. Start it (scripts/test does).")
    client.flushdb()
    return url


@pytest.fixture(scope="session")
def pg_url():
    """A database of its own for this test process, brought to head by the migrations."""
    name = f"kizuna_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN}: {exc}. Start it (scripts/test does).")
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def app_config(tmp_path_factory, **overrides) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-0123456789",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "BASE_URL": "http://kizuna.test",
        "HOME_TIMEZONE": "Asia/Tokyo",
        "OUTBOX_RETRY_BASE": 0.2,
        "OUTBOX_RETRY_MAX": 2.0,
        "OUTBOX_SWEEP_GRACE": 0,
        "SMTP_TIMEOUT": 5.0,
        **overrides,
    }


class RequestIsolatingClient(FlaskClient):
    """A test client whose requests each start with an empty `g`.

    The db_session fixture holds an app context for the whole test (so requests join its
    transaction), and Flask reuses an active app context for requests: without this, the signed-in
    user and the locale cached in `g` by one request would leak into the next.
    """

    def open(self, *args, **kwargs):
        saved = dict(vars(g)) if has_app_context() else None
        if saved is not None:
            vars(g).clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            if saved is not None:
                vars(g).clear()
                vars(g).update(saved)


@pytest.fixture(scope="session")
def app(pg_url, redis_url, smtp_sink, tmp_path_factory):
    app = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=pg_url, REDIS_URL=redis_url,
                                 SMTP_URL=smtp_sink.url))
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _the_apps_celery_is_the_default(request):
    """create_app makes its Celery app the process's default, and a task called directly runs in the default
    Celery app's Flask app: a test that built an app of its own must not leave it to the tests after it."""
    if "app" in request.fixturenames:
        celery_app = request.getfixturevalue("app").extensions["celery"]
        celery_app.set_default()
        celery_app.set_current()


@pytest.fixture
def db_session(app, reference_data):
    """Each test runs in a transaction that is rolled back; the app's own commits become savepoints."""
    with app.app_context():
        saved = []
        for key, engine in list(db.engines.items()):
            conn = engine.connect()
            trans = conn.begin()
            db.engines[key] = conn
            saved.append((key, engine, conn, trans))
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session.configure(join_transaction_mode="conditional_savepoint")
            for key, engine, conn, trans in saved:
                trans.rollback()
                conn.close()
                db.engines[key] = engine


REFERENCE_TABLES = ("country", "subdivision", "city", "city_name", "cooperation_area")


def truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables
                       if t.name not in REFERENCE_TABLES)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@contextmanager
def committed_session(app):
    """Real commits in `app`'s context, the tables truncated afterwards (reference data spared)."""
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.rollback()
            truncate_all()
            db.session.remove()


@pytest.fixture
def committed(app):
    """For tests whose data other connections must see (a worker, a live server)."""
    with committed_session(app) as session:
        yield session


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def make_partner(app, reference_data):
    """Factory: make_partner(name=…, country_code=…, kind=…) → a flushed partner (a city in Japan by default)."""
    from network.models import Partner, PartnerKind
    from network.reference import fold

    counter = iter(range(1, 10_000))

    def make(**overrides):
        name = overrides.pop("name", f"Partner City {next(counter)}")
        partner = Partner(**{"kind": PartnerKind.CITY, "name": name, "search_key": fold(name),
                             "country_code": "JP", **overrides})
        db.session.add(partner)
        db.session.flush()
        return partner

    return make


@pytest.fixture
def make_embassy(app, reference_data):
    """Factory: make_embassy(country_code=…, …) → a flushed embassy (of France by default)."""
    from network.models import Embassy, MissionType

    def make(**overrides):
        embassy = Embassy(**{"country_code": "FR", "mission_type": MissionType.EMBASSY,
                             "name": "Embassy of France in Japan", **overrides})
        db.session.add(embassy)
        db.session.flush()
        return embassy

    return make


@pytest.fixture
def make_user(app, make_partner, make_embassy):
    """Factory: make_user(role="editor", email=…, password=…) → a committed-in-test account."""
    from kizuna import services

    counter = iter(range(1, 10_000))

    def make(role: Role | str = Role.EDITOR, *, email: str | None = None, password: str | None = PASSWORD,
             **kwargs):
        # External accounts need what they are bound to.
        if role == Role.DELEGATE and "partner_id" not in kwargs:
            kwargs["partner_id"] = make_partner().id
        if role == Role.LIAISON and "embassy_id" not in kwargs:
            kwargs["embassy_id"] = make_embassy().id
        user = services.create_user(email=email or f"user{next(counter)}-{uuid.uuid4().hex[:6]}@example.test",
                                    role=role, password=password, actor=None, **kwargs)
        db.session.commit()
        return user

    return make


@pytest.fixture
def token(make_user):
    """token("editor") → the Authorization header of an API token of a new account of that role."""
    from kizuna import services

    def make(role: Role | str = Role.EDITOR) -> dict[str, str]:
        user = make_user(role)
        _, secret = services.create_api_token(user=user, name="test", actor=user)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a real form on `path` carries."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token in the form at {path}"
    return match.group(1)


def login(client, user_or_email, password: str = PASSWORD):
    email = getattr(user_or_email, "email", user_or_email)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


@pytest.fixture
def as_role(client, make_user):
    """as_role("admin") → a client signed in as a new account of that role."""

    def sign_in(role: Role | str, **kwargs):
        user = make_user(role, **kwargs)
        login(client, user)
        client.user = user
        return client

    return sign_in


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def reference_data(app):
    """Countries, subdivisions and the cities of at least 15,000 people (about 34,000), committed once per
    test database: truncate_all spares the reference tables. Returns the first load's reports."""
    from network import reference

    with app.app_context():
        reports = reference.load(min_population=15000)
        db.session.commit()
        db.session.remove()
    return reports
