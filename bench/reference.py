"""Reference data at scale: load time of ~170,000 cities and city-search latency, on SQLite and PostgreSQL.

Run `python -m bench.reference`; targets: a load under 30 s, search p95 under 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from flask_migrate import upgrade
from sqlalchemy import select

from kizuna import create_app
from kizuna.extensions import db
from network import reference, services
from network.models import City, CityName

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
LOAD_TARGET_S = 30.0
P95_TARGET_MS = 20.0


@dataclass
class Result:
    database: str
    cities: int = 0
    names: int = 0
    load_s: float = 0.0
    reload_s: float = 0.0
    reload_changes: int = 0
    latency_ms: dict[str, list[float]] = field(default_factory=dict)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench_reference_") as folder:
        yield f"sqlite:///{folder}/bench.sqlite"


@contextmanager
def postgresql_url() -> Iterator[str]:
    name = f"bench_reference_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed_load(min_population: int) -> tuple[float, list[reference.LoadReport]]:
    started = time.perf_counter()
    reports = reference.load(min_population=min_population)
    db.session.commit()
    return time.perf_counter() - started, reports


def draw_queries(rng: random.Random, count: int) -> list[tuple[str, str | None]]:
    """`count` prefixes of 1–4 characters of real city names, half of them restricted to the city's country."""
    cities = db.session.execute(select(City.name, City.country_code).order_by(City.id)).all()
    queries = []
    for i in range(count):
        name, country = rng.choice(cities)
        queries.append((name[:rng.randint(1, 4)], country if i % 2 else None))
    return queries


def draw_other_name_queries(rng: random.Random, count: int) -> list[tuple[str, str | None]]:
    """Prefixes of the other names (exonyms, Japanese, Chinese, Korean) the search also knows."""
    keys = db.session.execute(select(CityName.search_key, City.country_code)
                              .join(City, City.id == CityName.city_id).order_by(CityName.city_id)).all()
    queries = []
    for i in range(count):
        key, country = rng.choice(keys)
        queries.append((key[:rng.randint(1, 4)], country if i % 2 else None))
    return queries


def latencies(search: Callable[[str, str | None], object], queries: list[tuple[str, str | None]]) -> list[float]:
    for q, country in queries[:50]:  # warm the caches and the connection pool
        search(q, country)
    timings = []
    for q, country in queries:
        started = time.perf_counter()
        search(q, country)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def api_client(app):
    """A test client carrying a staff API token."""
    from kizuna import services as core

    user = core.create_user(email=f"bench-{uuid.uuid4().hex[:6]}@example.test", role="viewer", actor=None)
    _, secret = core.create_api_token(user=user, name="bench", actor=None)
    db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def run(database: str, url: str, *, min_population: int, queries: int, seed: int, api: bool) -> Result:
    result = Result(database)
    with tempfile.TemporaryDirectory(prefix="bench_instance_") as instance:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "TESTING": True,
                          "SECRET_KEY": "bench-secret-key-0123456789", "REDIS_URL": None, "SMTP_URL": None})
        with app.app_context():
            upgrade()
            result.load_s, reports = timed_load(min_population)
            result.cities = next(r for r in reports if r.kind == "cities").inserted
            result.names = next((r.inserted for r in reports if r.kind == "city names"), 0)
            result.reload_s, reports = timed_load(min_population)
            result.reload_changes = sum(r.inserted + r.updated + getattr(r, "removed", 0) for r in reports)
            db.session.remove()

            rng = random.Random(seed)
            sample = draw_queries(rng, queries)
            others = draw_other_name_queries(rng, queries)

            def search(q, country):
                cities = services.search_cities(q, country=country)
                db.session.remove()  # a request's session ends with it; do not let the identity map cache
                return cities

            result.latency_ms["search"] = latencies(search, sample)
            result.latency_ms["search, other names"] = latencies(search, others)
            if api:
                client = api_client(app)

                def call(q, country):
                    response = client.get("/api/v1/cities", query_string={"q": q, "limit": 20,
                                                                          **({"country": country} if country else {})})
                    assert response.status_code == 200, response.get_data(as_text=True)
                    return response

                result.latency_ms["HTTP API"] = latencies(call, sample)
            db.session.remove()
            db.engine.dispose()
    return result


def percentile(values: list[float], pct: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def report(results: list[Result], *, min_population: int, queries: int) -> None:
    print(f"\nReference data: cities of at least {min_population:,} people; {queries:,} random prefixes "
          f"(1–4 characters, half with a country filter)\n")
    print(f"{'database':<12}{'cities':>9}{'other names':>13}{'first load':>12}{'second load':>13}{'changes':>9}")
    for r in results:
        print(f"{r.database:<12}{r.cities:>9,}{r.names:>13,}{r.load_s:>11.1f}s{r.reload_s:>12.1f}s"
              f"{r.reload_changes:>9}")
    print(f"\n{'database':<12}{'search through':<22}{'p50':>10}{'p95':>10}{'max':>11}")
    for r in results:
        for label, values in r.latency_ms.items():
            print(f"{r.database:<12}{label:<22}{percentile(values, 50):>8.2f}ms{percentile(values, 95):>8.2f}ms"
                  f"{max(values):>9.1f}ms")
    misses = [f"{r.database} load {r.load_s:.1f} s" for r in results if r.load_s > LOAD_TARGET_S]
    misses += [f"{r.database} {label} p95 {percentile(v, 95):.1f} ms" for r in results
               for label, v in r.latency_ms.items() if percentile(v, 95) > P95_TARGET_MS]
    misses += [f"{r.database} second load changed {r.reload_changes} rows" for r in results if r.reload_changes]
    print(f"\nTargets: load < {LOAD_TARGET_S:.0f} s, p95 < {P95_TARGET_MS:.0f} ms, a second load changes nothing: "
          + ("all met." if not misses else "MISSED: " + "; ".join(misses)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reference", description=__doc__)
    parser.add_argument("--min-population", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append",
                        help="Only this database (repeatable); both by default.")
    args = parser.parse_args()
    results = []
    for database in args.database or ["sqlite", "postgresql"]:
        make_url = sqlite_url if database == "sqlite" else postgresql_url
        with make_url() as url:
            print(f"{database}: loading…", flush=True)
            results.append(run(database, url, min_population=args.min_population, queries=args.queries,
                               seed=args.seed, api=database == "postgresql"))
    report(results, min_population=args.min_population, queries=args.queries)


if __name__ == "__main__":
    main()
