"""Import contacts from CSV, XLSX or vCard: a preview that matches each row to an organisation and a reference
city, checks emails and phones, and shows the rows that would duplicate someone; then all rows or none."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError
from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.mail import normalize_address
from network import tabular
from network.matching import Matcher, MatchStatus, RowMatch, match_rows
from network.reference import fold
from network.services import home_city
from network.tabular import Issue, Row, Schema, Table, TableError, read_table

from . import exchange, services
from .models import Contact, ContactEmail, ContactPhone, Organisation, Position

KINDS = ("contacts",)
SKIP, IMPORT = "skip", "import"  # what the reader decided for a row that would duplicate someone
_LIST = re.compile(r"\s*[;；\n]\s*")
_LANGUAGES = re.compile(r"\s*[;；,、\n]\s*")

SCHEMA = Schema("contacts", {
    "family_name": ("family name", "last name", "surname", "lastname", "姓", "苗字", "氏"),
    "given_name": ("given name", "first name", "firstname", "forename", "名"),
    "family_name_local": ("family name (own script)", "family name (local)", "local family name",
                          "姓（現地語）", "姓（漢字）", "姓(漢字)", "姓（自国語）"),
    "given_name_local": ("given name (own script)", "given name (local)", "local given name", "名（現地語）",
                         "名（漢字）", "名(漢字)", "名（自国語）"),
    "honorific": ("prefix", "name prefix", "salutation", "敬称"),
    "title": ("personal title", "称号"),
    "organisation": ("organization", "organisation name", "organization name", "company", "employer",
                     "organization 1 - name", "organization name 1", "所属", "所属機関", "組織", "組織名", "会社",
                     "団体"),
    "position": ("job title", "role", "post", "organization 1 - title", "organization title 1", "役職", "肩書",
                 "職名"),
    "department": ("organization 1 - department", "division", "部署", "部局", "所属部署"),
    "emails": ("email", "e-mail", "emails", "email address", "e-mail address", "e-mail 1 - value",
               "メール", "メールアドレス", "eメール"),
    "phones": ("phone", "phones", "telephone", "tel", "mobile", "phone 1 - value",
               "business phone", "電話", "電話番号", "携帯電話"),
    "languages": ("language", "languages spoken", "言語", "使用言語"),
    "preferred_language": ("correspondence language", "preferred language", "希望言語", "連絡言語"),
    "country": ("country", "country code", "nationality", "国", "国名", "国籍", "国・地域"),
    "city": ("city", "都市", "都市名", "市"),
    "timezone": ("time zone", "tz", "タイムゾーン"),
    "protocol_rank": ("rank", "protocol rank", "席次"),
    "tags": ("tag", "labels", "categories", "タグ"),
    "notes": ("note", "remarks", "comments", "備考", "メモ"),
    "source": ("出典", "情報源"),
})
# The column each argument of create_contact comes from: a refusal of the service is shown there.
SERVICE_COLUMNS = {"city_id": "city", "country_code": "country", "timezone_override": "timezone",
                   "organisation_id": "organisation", "title": "title", "started_on": "organisation"}


class ImportRefused(Exception):
    """The file cannot be saved as it is; the report says row by row why. Nothing was saved."""

    def __init__(self, report: ContactReport):
        super().__init__(_("Nothing was saved: correct the rows marked below and try again."))
        self.report = report


@dataclass
class ContactMatch(RowMatch):
    """One contact row: its organisation, the arguments of create_contact, and whom it may duplicate."""

    organisation_id: int | None = None
    organisation_label: str = ""
    fields: dict = field(default_factory=dict)
    position: dict = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)  # why this row may be someone already known
    resolution: str | None = None  # SKIP or IMPORT, for a duplicate

    @property
    def ok(self) -> bool:
        return not self.issues and (not self.duplicates or self.resolution in (SKIP, IMPORT))

    @property
    def skipped(self) -> bool:
        return bool(self.duplicates) and self.resolution == SKIP


@dataclass
class ContactReport:
    kind: str
    table: Table
    rows: list[ContactMatch]
    created: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def lines(self) -> list[str]:
        """The report as text (the CLI prints it)."""
        out = [str(w) for w in self.table.warnings]
        for row in self.rows:
            for issue in row.issues:
                out.append(f"row {row.row}: {issue}")
            if row.city and row.city.status != MatchStatus.MATCHED and row.issues:
                out += [f"    candidate {c.id}: {c.label} ({c.population:,} people, {c.timezone})"
                        for c in row.city.candidates]
            for reason in row.duplicates:
                state = {SKIP: "skipped", IMPORT: "imported anyway"}.get(row.resolution or "", "to resolve")
                out.append(f"row {row.row}: possible duplicate ({state}): {reason}")
            if not row.issues and not row.duplicates:
                out.append(f"row {row.row}: ok {row.organisation_label}".rstrip())
        good = sum(r.ok for r in self.rows)
        tail = f"; {self.created} saved" if self.created else ""
        tail += f", {self.skipped} skipped" if self.skipped else ""
        out.append(f"{good} of {len(self.rows)} rows ready{tail}")
        return out


def read(data: bytes, filename: str) -> Table:
    """The file as a table of the contact fields: a CSV or XLSX sheet (by its headers), or a .vcf file with a
    row per card. TableError when it cannot be read at all."""
    if exchange.looks_like_vcard(data) or filename.lower().endswith((".vcf", ".vcard")):
        return _vcard_table(data)
    return read_table(data, filename, schema=SCHEMA)


def _limit(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def _vcard_table(data: bytes) -> Table:
    """The cards of a .vcf file as rows, with the same limits as a spreadsheet's (IMPORT_MAX_BYTES and _ROWS)."""
    max_bytes, max_rows = _limit("IMPORT_MAX_BYTES", tabular.MAX_BYTES), _limit("IMPORT_MAX_ROWS", tabular.MAX_ROWS)
    if len(data) > max_bytes:
        raise TableError(_("The file is %(size)s; files of at most %(limit)s can be imported.",
                           size=f"{len(data) / 1024 / 1024:.1f} MB", limit=f"{max_bytes / 1024 / 1024:.1f} MB"))
    if not data.strip():
        raise TableError(_("The file is empty."))
    cards = exchange.read_vcards(data)
    if not cards:
        raise TableError(_("The file holds no vCard (BEGIN:VCARD … END:VCARD)."))
    if len(cards) > max_rows:
        raise TableError(_("The file has more than %(limit)d rows; split it into smaller files.", limit=max_rows))
    columns = [name for name in SCHEMA.fields if any(c.values.get(name) for c in cards)]
    table = Table("vcard", columns, {name: exchange.VCARD_PROPERTIES.get(name, name.upper()) for name in columns},
                  {}, 0, [Row(c.number, {name: c.values.get(name, "") or "" for name in columns}) for c in cards])
    for card in cards:
        for problem in card.problems:
            table.warnings.append(Issue(_("Card %(row)d cannot be read whole: %(reason)s", row=card.number,
                                          reason=problem), card.number))
    return table


def _issue(table: Table, row: Row, name: str, message: str) -> Issue:
    """`message` about one cell, with the row and the column (or, in a vCard file, the card and property)."""
    if table.format == "vcard":
        prop = table.headers.get(name, name)
        return Issue(_("Card %(row)d, %(property)s: %(message)s", row=row.number, property=prop, message=message),
                     row.number, prop, name)
    column = table.letters.get(name)
    text = (_("Row %(row)d, column %(column)s: %(message)s", row=row.number, column=column, message=message)
            if column else _("Row %(row)d: %(message)s", row=row.number, message=message))
    return Issue(text, row.number, column, name)


class _Organisations:
    """Organisations by every name they bear (Latin and own script), folded."""

    def __init__(self):
        self.by_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for oid, name, local in db.session.execute(select(Organisation.id, Organisation.name,
                                                          Organisation.name_local)):
            for key in dict.fromkeys(fold(n) for n in (name, local) if n):
                self.by_key[key].append((oid, name))

    def find(self, text: str) -> list[tuple[int, str]]:
        return self.by_key.get(fold(text), [])


def _name_key(family: str, given: str) -> tuple[str, str] | None:
    family, given = fold(family), fold(given)
    return (family, given) if family or given else None


class _Known:
    """The contacts already held, by email, phone and (folded name, organisation), for the duplicate check."""

    def __init__(self, emails: set[str], phones: set[str], organisation_ids: set[int]):
        self.emails: dict[str, int] = {}
        self.phones: dict[str, int] = {}
        self.names: dict[tuple, int] = {}
        self.labels: dict[int, str] = {}
        ids = set()
        for chunk in _chunks(sorted(emails)):
            for address, cid in db.session.execute(select(ContactEmail.address, ContactEmail.contact_id)
                                                   .where(ContactEmail.address.in_(chunk))):
                self.emails.setdefault(address, cid)
                ids.add(cid)
        for chunk in _chunks(sorted(phones)):
            for number, cid in db.session.execute(select(ContactPhone.number, ContactPhone.contact_id)
                                                  .where(ContactPhone.number.in_(chunk))):
                self.phones.setdefault(number, cid)
                ids.add(cid)
        for chunk in _chunks(sorted(organisation_ids)):
            for cid, oid, family, given, family_local, given_local in db.session.execute(
                    select(Position.contact_id, Position.organisation_id, Contact.family_name, Contact.given_name,
                           Contact.family_name_local, Contact.given_name_local)
                    .join(Contact, Contact.id == Position.contact_id)
                    .where(Position.organisation_id.in_(chunk), Contact.erased_at.is_(None))):
                for key in (_name_key(family, given), _name_key(family_local, given_local)):
                    if key is not None:
                        self.names.setdefault((key, oid), cid)
                ids.add(cid)
        for chunk in _chunks(sorted(ids)):
            for contact in db.session.scalars(select(Contact).where(Contact.id.in_(chunk))):
                self.labels[contact.id] = f"{contact.display_name()} (#{contact.id})"


def _chunks(values: list, size: int = 1000):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _split(text: str) -> list[str]:
    return [part for part in _LIST.split(text or "") if part]


def match_contacts(table: Table, *, choices: dict[int, int] | None = None, resolutions: dict[int, str] | None = None,
                   language: str = "en") -> list[ContactMatch]:
    """Read each row into the arguments of services.create_contact and add_position; reads only.

    Every problem is an Issue at its row and column: no name, an email or phone that is not one, a language
    code not known, an organisation that no one or several bear, a country or city not known (an ambiguous
    city offers its candidates, picked through `choices`: row → city id). A row that shares an email or a
    phone with a known contact or an earlier row, or whose name is that of someone at the same organisation,
    is marked as a possible duplicate; it is ready once `resolutions` (row → "skip" or "import") says what to do.
    """
    choices, resolutions = choices or {}, resolutions or {}
    # Countries and cities through the registry's matcher, on the two columns alone: rows that share a city
    # are different people, not repeats.
    place = Table(table.format, [c for c in ("country", "city") if c in table.columns],
                  {k: v for k, v in table.headers.items() if k in ("country", "city")},
                  {k: v for k, v in table.letters.items() if k in ("country", "city")} if table.format != "vcard"
                  else {k: "ADR" for k in ("country", "city")}, table.header_row,
                  [Row(r.number, {"country": r.get("country"), "city": r.get("city"), "row": str(r.number)})
                   for r in table.rows])
    places = match_rows(place, matcher=Matcher(language), choices=choices, key_fields=("row",))
    organisations = _Organisations()
    # A number written without its country code is read as dialled at home when the row names no country
    # (address books on a Tokyo office's phones hold 03-5321-1111).
    home = home_city()
    home_region = home.country_code if home is not None else None
    results = []
    for row, where in zip(table.rows, places, strict=True):
        result = ContactMatch(row.number, country_code=where.country_code, city=where.city,
                              issues=[_relabel(table, row, issue) for issue in where.issues])
        _match_row(table, row, result, organisations, home_region)
        result.resolution = resolutions.get(row.number)
        results.append(result)
    _mark_duplicates(table, results)
    return results


def _relabel(table: Table, row: Row, issue: Issue) -> Issue:
    if table.format != "vcard":
        return issue
    message = str(issue).split(": ", 1)[-1]
    return _issue(table, row, issue.field or "city", message)


def _match_row(table: Table, row: Row, result: ContactMatch, organisations: _Organisations,
               home_region: str | None) -> None:
    issues = result.issues
    get = row.get
    if not any(get(n) for n in ("family_name", "given_name", "family_name_local", "given_name_local")):
        issues.append(_issue(table, row, "family_name" if "family_name" in table.columns else table.columns[0],
                             _("the row gives no name; give the family or given name.")))
    emails = []
    for address in _split(get("emails")):
        try:
            emails.append(normalize_address(address))
        except EmailNotValidError:
            issues.append(_issue(table, row, "emails", _("%(address)s is not a valid email address.",
                                                         address=address)))
    region = (result.city.candidates[0].country_code if result.city and result.city.city_id
              else result.country_code or (None if get("country") else home_region))
    phones = []
    for number in _split(get("phones")):
        try:
            phones.append(services.phone_e164(number, region, "phones"))
        except services.PartnersError as exc:
            issues.append(_issue(table, row, "phones", str(exc)))
    languages = []
    for code in (c for c in _LANGUAGES.split(get("languages")) if c):
        try:
            languages.append(services.language_tag(code, "languages"))
        except services.PartnersError as exc:
            issues.append(_issue(table, row, "languages", str(exc)))
    preferred = None
    if get("preferred_language"):
        try:
            preferred = services.language_tag(get("preferred_language"))
        except services.PartnersError as exc:
            issues.append(_issue(table, row, "preferred_language", str(exc)))
    rank = get("protocol_rank") or None
    if rank is not None and not rank.isdigit():
        issues.append(_issue(table, row, "protocol_rank", _("the protocol rank is a whole number from 1 (first).")))
        rank = None
    if name := get("organisation"):
        found = organisations.find(name)
        if len(found) == 1:
            result.organisation_id, result.organisation_label = found[0]
        elif not found:
            issues.append(_issue(table, row, "organisation", _(
                "no organisation is called \"%(name)s\"; add it first or correct the name.", name=name)))
        else:
            issues.append(_issue(table, row, "organisation", _(
                "several organisations are called \"%(name)s\" (%(ids)s); rename one of them first.",
                name=name, ids=", ".join(f"#{oid}" for oid, _n in found))))
    elif get("position") or get("department"):
        issues.append(_issue(table, row, "position", _("a position needs its organisation.")))
    city = result.city.city_id if result.city and result.city.status == MatchStatus.MATCHED else None
    result.fields = {
        "family_name": get("family_name"), "given_name": get("given_name"),
        "family_name_local": get("family_name_local"), "given_name_local": get("given_name_local"),
        "honorific": get("honorific"), "title": get("title"), "country_code": result.country_code,
        "city_id": city, "timezone_override": get("timezone") or None, "languages": languages,
        "preferred_language": preferred, "protocol_rank": rank, "emails": emails, "phones": phones,
        "tags": _split(get("tags")), "notes": get("notes"), "source": get("source"),
    }
    if result.organisation_id is not None:
        result.position = {"organisation_id": result.organisation_id, "title": get("position"),
                           "department": get("department")}


def _mark_duplicates(table: Table, results: list[ContactMatch]) -> None:
    known = _Known({e for r in results for e in r.fields.get("emails", ())},
                   {p for r in results for p in r.fields.get("phones", ())},
                   {r.organisation_id for r in results if r.organisation_id is not None})
    seen_emails: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    seen_names: dict[tuple, int] = {}
    for result in results:
        reasons = result.duplicates
        fields = result.fields
        names = [k for k in (_name_key(fields["family_name"], fields["given_name"]),
                             _name_key(fields["family_name_local"], fields["given_name_local"])) if k]
        for address in fields["emails"]:
            if address in known.emails:
                reasons.append(_("%(value)s is the email of %(contact)s.", value=address,
                                 contact=known.labels.get(known.emails[address], "")))
            elif address in seen_emails:
                reasons.append(_("%(value)s is also in row %(row)d.", value=address, row=seen_emails[address]))
            seen_emails.setdefault(address, result.row)
        for number in fields["phones"]:
            if number in known.phones:
                reasons.append(_("%(value)s is the phone of %(contact)s.", value=number,
                                 contact=known.labels.get(known.phones[number], "")))
            elif number in seen_phones:
                reasons.append(_("%(value)s is also in row %(row)d.", value=number, row=seen_phones[number]))
            seen_phones.setdefault(number, result.row)
        if result.organisation_id is not None:
            for key in names:
                if (key, result.organisation_id) in known.names:
                    reasons.append(_("%(contact)s has the same name at %(organisation)s.",
                                     contact=known.labels.get(known.names[key, result.organisation_id], ""),
                                     organisation=result.organisation_label))
                    break
                if (key, result.organisation_id) in seen_names:
                    reasons.append(_("Row %(row)d has the same name at %(organisation)s.",
                                     row=seen_names[key, result.organisation_id],
                                     organisation=result.organisation_label))
                    break
            for key in names:
                seen_names.setdefault((key, result.organisation_id), result.row)
        result.duplicates[:] = list(dict.fromkeys(reasons))


def preview(data: bytes, filename: str, *, choices: dict[int, int] | None = None,
            resolutions: dict[int, str] | None = None, language: str = "en") -> ContactReport:
    """Read and match a file without saving anything (TableError when it cannot be read at all)."""
    table = read(data, filename)
    return ContactReport("contacts", table, match_contacts(table, choices=choices, resolutions=resolutions,
                                                           language=language))


def commit(data: bytes, filename: str, *, actor, choices: dict[int, int] | None = None,
           resolutions: dict[int, str] | None = None, language: str = "en",
           today: date | None = None) -> ContactReport:
    """Save every row (but those resolved as "skip") through create_contact and add_position, or none:
    ImportRefused (with the report) when a row has an issue, an unresolved duplicate, or the services refuse it.

    Flushes inside a savepoint; the caller commits.
    """
    report = preview(data, filename, choices=choices, resolutions=resolutions, language=language)
    if not report.ok:
        raise ImportRefused(report)
    table = report.table
    savepoint = db.session.begin_nested()
    source = _("Imported from %(file)s", file=filename[:200])
    for row, match in zip(table.rows, report.rows, strict=True):
        if match.skipped:
            report.skipped += 1
            continue
        try:
            contact = services.create_contact(actor=actor, today=today,
                                              **{**match.fields, "source": match.fields["source"] or source})
            if match.position:
                services.add_position(contact_id=contact.id, actor=actor, today=today, **match.position)
        except services.PartnersError as exc:
            name = (exc.field or "").split("-")[0]
            name = SERVICE_COLUMNS.get(name, name)
            match.issues.append(_issue(table, row, name if name in table.columns else "", str(exc)))
        else:
            report.created += 1
    if not report.ok:
        savepoint.rollback()
        report.created = 0
        raise ImportRefused(report)
    savepoint.commit()
    return report
