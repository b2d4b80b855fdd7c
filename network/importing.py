"""Import partners, embassies and network members from a spreadsheet: a preview that matches every row to
reference cities and countries, the reader's choices for what is ambiguous, then all rows or none."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from kizuna.extensions import db

from . import services
from .matching import Matcher, MatchStatus, RowMatch, match_rows
from .models import City, CityNetwork, Country
from .reference import fold
from .tabular import SCHEMAS, Issue, Table, read_table

KINDS = ("partners", "embassies", "network-members")
# Words a spreadsheet may use for a partner's kind or a relationship's kind, folded.
PARTNER_KINDS = {"city": "city", "都市": "city", "市": "city", "subnational": "subnational", "state": "subnational",
                 "province": "subnational", "region": "subnational", "州": "subnational", "省": "subnational",
                 "public body": "public_body", "public_body": "public_body", "公的機関": "public_body"}
RELATIONSHIP_KINDS = {"sister city": "sister_city", "姉妹都市": "sister_city",
                      "friendship city": "friendship_city", "友好都市": "friendship_city",
                      "friendship state": "friendship_state", "友好州": "friendship_state",
                      "mou": "mou_partner", "mou partner": "mou_partner", "cooperation": "cooperation",
                      "協力": "cooperation"}


class ImportRefused(Exception):
    """The file cannot be saved as it is; the report says row by row why. Nothing was saved."""

    def __init__(self, report: ImportReport):
        super().__init__(_("Nothing was saved: correct the rows marked below and try again."))
        self.report = report


@dataclass
class ImportReport:
    kind: str
    table: Table
    rows: list[RowMatch]
    created: int = 0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def lines(self) -> list[str]:
        """The report as text (the CLI and --dry-run print it)."""
        out = [str(w) for w in self.table.warnings]
        for row in self.rows:
            city = row.city
            if row.issues:
                out += [f"row {row.row}: {issue}" for issue in row.issues]
                if city and city.status != MatchStatus.MATCHED:
                    out += [f"    candidate {c.id}: {c.label} ({c.population:,} people, {c.timezone})"
                            for c in city.candidates]
            else:
                where = (city.candidates[0].label if city and city.candidates else row.country_code) or ""
                out.append(f"row {row.row}: ok {where}".rstrip())
        good = sum(r.ok for r in self.rows)
        out.append(f"{good} of {len(self.rows)} rows ready" + (f"; {self.created} saved" if self.created else ""))
        return out


def preview(kind: str, data: bytes, filename: str, *, choices: dict[int, int] | None = None,
            language: str = "en") -> ImportReport:
    """Read and match a file without saving anything (TableError when it cannot be read at all); candidate
    cities are labelled in `language`."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    table = read_table(data, filename, schema=SCHEMAS[kind])
    rows = match_rows(table, matcher=Matcher(language), choices=choices or {}, require=SCHEMAS[kind].required,
                      key_fields=("network",) if kind == "network-members" else ("name",))
    return ImportReport(kind, table, rows)


def commit(kind: str, data: bytes, filename: str, *, actor, choices: dict[int, int] | None = None,
           language: str = "en") -> ImportReport:
    """Save every row through the registry's services, or none: ImportRefused (with the report) otherwise.

    Flushes inside a savepoint; the caller commits.
    """
    report = preview(kind, data, filename, choices=choices, language=language)
    if not report.ok:
        raise ImportRefused(report)
    savepoint = db.session.begin_nested()
    pairs = list(zip(report.table.rows, report.rows, strict=True))
    # Every matched city and every country in two queries: held here (the session keeps only weak references),
    # the rows below find them in the session instead of asking the database one row at a time.
    held = [*db.session.scalars(select(City).where(City.id.in_({m.city.city_id for _, m in pairs
                                                               if m.city and m.city.city_id}))),
            *db.session.scalars(select(Country))]

    def refuse(row, match, exc: services.NetworkError) -> None:
        match.issues.append(Issue(_("Row %(row)d: %(message)s", row=row.number, message=str(exc)), row.number,
                                  report.table.letters.get(exc.field or ""), exc.field))

    if kind == "partners":
        partners, errors = services.create_partners(rows=[_partner_fields(r.values, m) for r, m in pairs],
                                                    actor=actor)
        for index, exc in errors.items():
            refuse(*pairs[index], exc)
        for (row, match), partner in zip(pairs, partners, strict=False):
            try:
                _relationship(row.values, partner, actor)
            except services.NetworkError as exc:
                refuse(row, match, exc)
    else:
        for row, match in pairs:
            try:
                _save(kind, row.values, match, actor)
            except services.NetworkError as exc:
                refuse(row, match, exc)
    if not report.ok:
        savepoint.rollback()
        raise ImportRefused(report)
    savepoint.commit()
    del held
    report.created = len(report.rows)
    return report


def _partner_fields(values: dict[str, str], match: RowMatch) -> dict:
    get = lambda name: (values.get(name) or "").strip()  # noqa: E731
    city = match.city.city if match.city and match.city.city_id else None
    return {"kind": PARTNER_KINDS.get(fold(get("kind")), get("kind") or ("city" if city else "subnational")),
            "name": get("name") or (city.name if city else ""), "country_code": match.country_code or "",
            "city_id": city.id if city else None, "subdivision_code": match.subdivision_code,
            "local_name": get("local_name"), "name_ja": get("name_ja"), "website": get("website"),
            "notes": get("notes")}


def _relationship(values: dict[str, str], partner, actor) -> None:
    kind = (values.get("relationship") or "").strip()
    if not kind:
        return
    started_on, precision = services.parse_partial_date(values.get("started_on") or "", "started_on")
    services.add_relationship(partner_id=partner.id, kind=RELATIONSHIP_KINDS.get(fold(kind), kind),
                              started_on=started_on, started_precision=precision,
                              status=(values.get("status") or "").strip() or "active", actor=actor)


def _save(kind: str, values: dict[str, str], match: RowMatch, actor) -> None:
    """One embassy or network member (partners go in together: create_partners)."""
    get = lambda name: (values.get(name) or "").strip()  # noqa: E731
    if kind == "embassies":
        services.create_embassy(
            country_code=match.country_code or "", mission_type=get("mission_type") or "embassy",
            name=get("name"), name_ja=get("name_ja"), address=get("address"), ward=get("ward"),
            postal_code=get("postal_code"), phones=re.split(r"[;/\n]", get("phones")), email=get("email") or None,
            website=get("website"), head_of_mission=get("head_of_mission"), head_title=get("head_title"),
            notes=get("notes"), actor=actor)
        return
    name = get("network")
    network = db.session.scalar(select(CityNetwork).where(or_(
        func.lower(CityNetwork.name) == name.lower(), func.lower(CityNetwork.acronym) == name.lower())))
    if network is None:
        raise services.NetworkError(_("No city network is called %(name)s.", name=name), "network")
    joined_on, _precision = services.parse_partial_date(get("joined_on"), "joined_on")
    city = match.city.city if match.city and match.city.city_id else None
    services.add_network_member(network_id=network.id, city_id=city.id if city else 0, joined_on=joined_on,
                                actor=actor)
