"""The registry at scale on PostgreSQL: page latency and a 5,000-row import.

`python -m bench.network` loads 170,000 reference cities, runs `kizuna seed-scale` (2,000 relationships, 5,000
agreements, 200 embassies, 20 networks of 100 members), then times every registry page through the app (the
home with its map of 2,000 places, every list's first and last page with and without filters, each kind of
detail page, the anniversaries and the timeline), the search box, and the preview and commit of a 5,000-row CSV.
Targets: pages p95 under 50 ms; the import under 5 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import select

from bench.reference import postgresql_url
from kizuna import create_app
from kizuna import services as accounts
from kizuna.extensions import db
from kizuna.models import Role
from network import importing, reference, scale
from network.models import Agreement, City, CityNetwork, Embassy, Partner

PAGE_P95_TARGET_MS = 50.0
IMPORT_TARGET_S = 5.0
PASSWORD = "benchmark password"


def _login(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"email": "bench@example.test", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code


def _time(client, url: str, rounds: int) -> list[float]:
    for _ in range(3):  # warm caches (templates, the projected map)
        client.get(url)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return times


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="requests per page")
    parser.add_argument("--min-population", type=int, default=1000)
    args = parser.parse_args()
    with postgresql_url() as url, tempfile.TemporaryDirectory(prefix="bench_network_") as instance:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-0123456789",
                          "INSTANCE_PATH": instance, "REDIS_URL": None, "SMTP_URL": None,
                          "HOME_TIMEZONE": "Asia/Tokyo"})
        with app.app_context():
            upgrade()
            start = time.perf_counter()
            reference.load(min_population=args.min_population)
            db.session.commit()
            print(f"reference data: {db.session.query(City).count():,} cities in {time.perf_counter() - start:.1f} s")
            start = time.perf_counter()
            counts = scale.seed_scale()
            accounts.create_user(email="bench@example.test", role=Role.EDITOR, password=PASSWORD, actor=None)
            db.session.commit()
            print(f"seed-scale: {counts} in {time.perf_counter() - start:.1f} s")
            partner_id = db.session.scalar(select(Partner.id).order_by(Partner.id.desc()).limit(1))
            agreement_id = db.session.scalar(select(Agreement.id).order_by(Agreement.id.desc()).limit(1))
            embassy_id = db.session.scalar(select(Embassy.id).order_by(Embassy.id.desc()).limit(1))
            network_id = db.session.scalar(select(CityNetwork.id).order_by(CityNetwork.id.desc()).limit(1))
            db.session.remove()
        client = app.test_client()
        _login(client)
        pages = {
            "registry home (counts, expiries, anniversaries, map)": "/network/",
            "partners, first page": "/network/partners",
            "partners, last page": "/network/partners?page=40",
            "partners, filtered (status, country)": "/network/partners?status=active&country=US",
            "partners, sorted by start": "/network/partners?sort=since",
            "agreements, first page": "/network/agreements",
            "agreements, last page": "/network/agreements?page=100",
            "agreements, expiring within 365 days": "/network/agreements?expiring=365",
            "agreements, filtered (kind, area)": "/network/agreements?kind=mou&area=culture",
            "embassies, first page": "/network/embassies",
            "embassies, last page": "/network/embassies?page=8",
            "embassies, filtered (mission type, status)": "/network/embassies?mission_type=embassy&status=open",
            "city networks": "/network/networks",
            "partner detail": f"/network/partners/{partner_id}",
            "agreement detail": f"/network/agreements/{agreement_id}",
            "embassy detail": f"/network/embassies/{embassy_id}",
            "city network detail (100 members)": f"/network/networks/{network_id}",
            "anniversaries, next 365 days, last page": "/network/anniversaries?days=365&page=60",
            "timeline, first page": "/network/timeline",
            "timeline, last page": "/network/timeline?page=180",
            "search box": "/network/search?q=san",
        }
        rows = []
        for label, path in pages.items():
            times = _time(client, path, args.rounds)
            rows.append((label, path, statistics.median(times), _pct(times, 95)))
        print(f"\npages ({args.rounds} requests each, after 3 to warm up)")
        print(f"{'page':<55} {'p50 ms':>8} {'p95 ms':>8}")
        for label, _path, p50, p95 in rows:
            print(f"{label:<55} {p50:8.1f} {p95:8.1f}")
        with app.app_context():
            cities = db.session.execute(select(City.name, City.country_code).where(City.population < 100_000)
                                        .order_by(City.population.desc()).limit(5000)).all()
            lines = ["name,country,city"] + [f'"{n} (import {i})",{cc},"{n}"' for i, (n, cc) in enumerate(cities)]
            data = ("\n".join(lines) + "\n").encode("utf-8")
            start = time.perf_counter()
            report = importing.preview("partners", data, "partners.csv")
            preview_s = time.perf_counter() - start
            choices = {r.row: r.city.candidates[0].id for r in report.rows
                       if not r.ok and r.city and r.city.candidates}
            start = time.perf_counter()
            try:
                done = importing.commit("partners", data, "partners.csv", actor=None, choices=choices)
                saved = done.created
            except importing.ImportRefused as exc:
                problems = [str(i) for r in exc.report.rows for i in r.issues]
                saved = f"refused ({len(problems)} problems, such as {problems[:2]})"
            commit_s = time.perf_counter() - start
            db.session.rollback()
        print(f"\nimport of a 5,000-row CSV: preview {preview_s:.2f} s ({sum(r.ok for r in report.rows):,} rows "
              f"matched at once), commit {commit_s:.2f} s (saved: {saved})")
        worst = max(p95 for *_, p95 in rows)
        print(f"\nTargets: pages p95 < {PAGE_P95_TARGET_MS:.0f} ms (worst {worst:.1f}); "
              f"import < {IMPORT_TARGET_S:.0f} s (preview + commit {preview_s + commit_s:.1f})")


if __name__ == "__main__":
    main()
