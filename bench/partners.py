"""The partners at scale on PostgreSQL: contact pages, the duplicate scan and a 10,000-row import preview.

`python -m bench.partners` loads reference cities, runs the partners' seed-scale (20,000 contacts in Latin,
Japanese and Korean script at 3,000 organisations, 100,000 interactions, one contact in 200 of them), then
times the duplicate scan over all contacts, the preview of a 10,000-row contacts CSV, and — where the pages
exist in this build — the contact list, search with Latin, Japanese and Korean queries, and the detail page of
the contact with 200 interactions; and, for scale, a 1,000-row import commit and the vCard and XLSX exports of
every contact. Targets: pages p95 under 50 ms; duplicate scan under 10 s; import preview
under 5 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from urllib.parse import quote

from flask_migrate import upgrade
from sqlalchemy import func, select

from bench.network import _login, _pct, _time
from bench.reference import postgresql_url
from kizuna import create_app
from kizuna import services as accounts
from kizuna.extensions import db
from kizuna.models import Role
from network import reference
from partners import duplicates, importing, scale
from partners.models import Organisation, interaction_contact

PAGE_P95_TARGET_MS = 50.0
SCAN_TARGET_S = 10.0
PREVIEW_TARGET_S = 5.0
PASSWORD = "benchmark password"


def _routes(app) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules()}


def _import_csv(organisations: list[str], rows: int) -> bytes:
    """`rows` contacts at the sample organisations, with a few that repeat the data set's emails."""
    lines = ["family name,given name,family name (own script),given name (own script),organisation,position,"
             "email,phone,country,languages"]
    for i in range(rows):
        email = f"person{i}@sample.example" if i % 500 == 1 else f"imported{i}@import.example"
        if i % 3 == 0:
            lines.append(f"Tanaka,Ichiro{i},田中,一郎{i},{organisations[i % len(organisations)]},Officer,{email},"
                         f"+81 90 {1000 + i % 9000:04d} {i % 10000:04d},JP,ja")
        elif i % 3 == 1:
            lines.append(f"Park,Jisoo{i},박,지수{i},{organisations[i % len(organisations)]},,{email},,KR,ko")
        else:
            lines.append(f"Müller,Anna{i},,,{organisations[i % len(organisations)]},Advisor,{email},,DE,de; en")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="requests per page")
    parser.add_argument("--min-population", type=int, default=15000)
    parser.add_argument("--scans", type=int, default=3, help="runs of the duplicate scan and the import preview")
    args = parser.parse_args()
    with postgresql_url() as url, tempfile.TemporaryDirectory(prefix="bench_partners_") as instance:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-0123456789",
                          "INSTANCE_PATH": instance, "REDIS_URL": None, "SMTP_URL": None,
                          "HOME_TIMEZONE": "Asia/Tokyo"})
        with app.app_context():
            upgrade()
            reference.load(min_population=args.min_population)
            db.session.commit()
            start = time.perf_counter()
            counts = scale.seed_scale()
            accounts.create_user(email="bench@example.test", role=Role.EDITOR, password=PASSWORD, actor=None)
            db.session.commit()
            print(f"seed-scale (partners): {counts} in {time.perf_counter() - start:.1f} s")
            busiest = db.session.scalar(select(interaction_contact.c.contact_id)
                                        .group_by(interaction_contact.c.contact_id)
                                        .order_by(func.count().desc()).limit(1))
            organisations = list(db.session.scalars(select(Organisation.name).order_by(Organisation.id).limit(200)))
            scans = []
            for _ in range(args.scans):
                start = time.perf_counter()
                pairs = duplicates.find_duplicates()
                scans.append(time.perf_counter() - start)
            print(f"\nduplicate scan over {counts['contacts']:,} contacts: {len(pairs):,} pairs; "
                  f"p50 {statistics.median(scans):.2f} s, worst {max(scans):.2f} s")
            data = _import_csv(organisations, 10_000)
            previews = []
            for _ in range(args.scans):
                start = time.perf_counter()
                report = importing.preview(data, "contacts.csv")
                previews.append(time.perf_counter() - start)
                db.session.rollback()
            ready = sum(r.ok for r in report.rows)
            marked = sum(bool(r.duplicates) for r in report.rows)
            print(f"import preview of a 10,000-row CSV: p50 {statistics.median(previews):.2f} s, "
                  f"worst {max(previews):.2f} s ({ready:,} ready, {marked:,} possible duplicates)")
            small = _import_csv(organisations, 1000)
            skip = {r.row: importing.SKIP for r in importing.preview(small, "c.csv").rows if r.duplicates}
            start = time.perf_counter()
            done = importing.commit(small, "contacts.csv", actor=None, resolutions=skip)
            print(f"import commit of a 1,000-row CSV: {time.perf_counter() - start:.2f} s "
                  f"({done.created:,} saved, {done.skipped} skipped; rolled back)")
            db.session.rollback()
            db.session.remove()
        client = app.test_client()
        _login(client)
        start = time.perf_counter()
        response = client.get("/partners/contacts/export.vcf")
        size = len(response.get_data())
        print(f"vCard 4.0 export of every contact: {time.perf_counter() - start:.1f} s ({size / 1e6:.1f} MB)")
        start = time.perf_counter()
        size = len(client.get("/partners/contacts/export.xlsx").get_data())
        print(f"XLSX export of every contact: {time.perf_counter() - start:.1f} s ({size / 1e6:.1f} MB)")
        routes = _routes(app)
        pages = {}
        if "/partners/contacts" in routes:
            pages.update({
                "contacts, first page": "/partners/contacts",
                "contacts, page 100": "/partners/contacts?page=100",
                "search, Latin (kovacs)": "/partners/contacts?q=kovacs",
                "search, Japanese (山田)": f"/partners/contacts?q={quote('山田')}",
                "search, Korean (김)": f"/partners/contacts?q={quote('김')}",
                "search, Korean given name (민준)": f"/partners/contacts?q={quote('민준')}",
            })
        if "/partners/contacts/<int:contact_id>" in routes:
            pages["contact detail (200 interactions)"] = f"/partners/contacts/{busiest}"
        rows = []
        if pages:
            for label, path in pages.items():
                times = _time(client, path, args.rounds)
                rows.append((label, statistics.median(times), _pct(times, 95)))
            print(f"\npages ({args.rounds} requests each, after 3 to warm up)")
            print(f"{'page':<45} {'p50 ms':>8} {'p95 ms':>8}")
            for label, p50, p95 in rows:
                print(f"{label:<45} {p50:8.1f} {p95:8.1f}")
        else:
            print("\npages: this build has no contact pages yet; none timed")
        worst = max((p95 for *_, p95 in rows), default=0.0)
        print(f"\nTargets: pages p95 < {PAGE_P95_TARGET_MS:.0f} ms (worst {worst:.1f}); duplicate scan < "
              f"{SCAN_TARGET_S:.0f} s (worst {max(scans):.2f}); import preview < {PREVIEW_TARGET_S:.0f} s "
              f"(worst {max(previews):.2f})")


if __name__ == "__main__":
    main()
