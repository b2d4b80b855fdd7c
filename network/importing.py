"""Import partners, agreements, embassies and network members from a spreadsheet: a preview that matches every
row to reference cities, countries and registered partners, the reader's choices for what is ambiguous, then all
rows or none."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from kizuna.extensions import db

from . import services
from .forms import AGREEMENT_KINDS as AGREEMENT_KIND_LABELS
from .forms import PARTNER_KINDS as PARTNER_KIND_LABELS
from .matching import Matcher, MatchStatus, RowMatch, match_rows
from .models import Agreement, AgreementKind, City, CityNetwork, CooperationArea, Country, DatePrecision, Partner
from .reference import fold
from .tabular import SCHEMAS, Issue, Row, Table, duplicate_rows, read_table

KINDS = ("partners", "agreements", "embassies", "network-members")
# Words a spreadsheet may use for a partner's kind or a relationship's kind, folded.
PARTNER_KINDS = {"city": "city", "都市": "city", "市": "city", "subnational": "subnational", "state": "subnational",
                 "province": "subnational", "region": "subnational", "州": "subnational", "省": "subnational",
                 "public body": "public_body", "public_body": "public_body", "公的機関": "public_body"}
RELATIONSHIP_KINDS = {"sister city": "sister_city", "姉妹都市": "sister_city",
                      "friendship city": "friendship_city", "友好都市": "friendship_city",
                      "friendship state": "friendship_state", "友好州": "friendship_state",
                      "mou": "mou_partner", "mou partner": "mou_partner", "cooperation": "cooperation",
                      "協力": "cooperation"}
# Words for an agreement's kind and for how it follows an earlier one, English and Japanese (folded on use).
AGREEMENT_KINDS = {
    "mou": ("MOU", "MoU", "memorandum of understanding", "memorandum", "覚書", "了解覚書", "基本合意書"),
    "joint_statement": ("joint statement", "joint declaration", "statement", "共同声明", "共同宣言"),
    "communique": ("communiqué", "communique", "joint communiqué", "joint communique", "コミュニケ",
                   "共同コミュニケ"),
    "friendship_agreement": ("friendship agreement", "sister city agreement", "友好協定", "友好都市協定",
                             "友好交流協定", "姉妹都市協定", "姉妹友好都市協定"),
    "cooperation_agreement": ("cooperation agreement", "co-operation agreement", "協力協定", "協力合意書",
                              "協力に関する協定", "協力協定書"),
    "other": ("other", "その他"),
}
SUCCESSIONS = {"renewal": ("renewal", "renews", "renewed", "更新", "延長"),
               "revision": ("revision", "revises", "revised", "改定", "改訂", "改正")}
_LIST_SEPARATOR = re.compile(r"\s*[;；\n]\s*")
_AREA_SEPARATOR = re.compile(r"\s*[;；,、，\n]\s*")
# A party written with what tells it apart from its namesakes: "Paris (FR)", "São Paulo (BR, state)".
_QUALIFIED = re.compile(r"^(.*?)\s*[(（]([^()（）]+)[)）]$")
# The agreement a row follows, by title and, where several bear it, its signing date: "Title (2013-05)".
_WITH_DATE = re.compile(r"^(.*?)[\s,、]*[(（]?(\d{4}(?:[-/.]\d{1,2}){0,2})[)）]?$")
_MONTHS = re.compile(r"^(\d+)\s*(?:months?|mo|か月|ヶ月|カ月|ケ月|箇月)?$", re.I)
# The column each of create_agreement's arguments comes from: a refusal is shown there.
AGREEMENT_COLUMNS = {"party_ids": "partners", "area_codes": "areas", "previous_id": "previous",
                     "signed_precision": "signed_on"}


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
                if isinstance(row, AgreementMatch):
                    where = "; ".join(row.party_labels)
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
    report = _read(kind, data, filename, choices=choices, language=language)
    if kind == "agreements" and report.ok:
        # What only the service can tell (a renewal that shares no party with what it follows, a signatory
        # for no party) is found by saving the rows in a savepoint that is then rolled back.
        savepoint = db.session.begin_nested()
        try:
            _save_agreements(report, actor=None)
        finally:
            savepoint.rollback()
    return report


def _read(kind: str, data: bytes, filename: str, *, choices: dict[int, int] | None, language: str) -> ImportReport:
    table = read_table(data, filename, schema=SCHEMAS[kind])
    if kind == "agreements":
        return ImportReport(kind, table, match_agreements(table, language=language))
    rows = match_rows(table, matcher=Matcher(language), choices=choices or {}, require=SCHEMAS[kind].required,
                      key_fields=("network",) if kind == "network-members" else ("name",))
    return ImportReport(kind, table, rows)


def commit(kind: str, data: bytes, filename: str, *, actor, choices: dict[int, int] | None = None,
           language: str = "en") -> ImportReport:
    """Save every row through the registry's services, or none: ImportRefused (with the report) otherwise.

    Flushes inside a savepoint; the caller commits.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    report = _read(kind, data, filename, choices=choices, language=language)
    if not report.ok:
        raise ImportRefused(report)
    savepoint = db.session.begin_nested()
    if kind == "agreements":
        _save_agreements(report, actor=actor)
        if not report.ok:
            savepoint.rollback()
            raise ImportRefused(report)
        savepoint.commit()
        report.created = len(report.rows)
        return report
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


# -- agreements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyMatch:
    """A party as the file writes it, and the registered partner it names (None: unknown or ambiguous)."""

    text: str
    partner_id: int | None
    label: str  # "Paris (FR)": the partner found, or the text as written


@dataclass
class AgreementMatch(RowMatch):
    """One agreement row: its parties, the agreement it follows (an earlier row or a registered agreement), and
    the arguments of services.create_agreement that the file gives."""

    parties: list[PartyMatch] = field(default_factory=list)
    previous_row: int | None = None  # the earlier row of the file that this one renews or revises
    previous_id: int | None = None  # the registered agreement that this one renews or revises
    previous_label: str = ""
    fields: dict = field(default_factory=dict)

    @property
    def party_labels(self) -> list[str]:
        return [p.label for p in self.parties]


def _key(text: str) -> str:
    return fold(text.replace("_", " "))


def _words(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(word): value for value, words in table.items() for word in (value, *words)}


_AGREEMENT_KIND_WORDS = _words(AGREEMENT_KINDS)
_SUCCESSION_WORDS = _words(SUCCESSIONS)


def _issue(table: Table, row: Row, name: str, message: str) -> Issue:
    """`message` about one cell: the row and the column letter come first, as every import message has them."""
    column = table.letters.get(name)
    text = (_("Row %(row)d, column %(column)s: %(message)s", row=row.number, column=column, message=message)
            if column else _("Row %(row)d: %(message)s", row=row.number, message=message))
    return Issue(text, row.number, column, name)


@dataclass(frozen=True)
class _Registered:
    id: int
    name: str
    country_code: str
    kind: str

    def label(self, with_kind: bool = False) -> str:
        if with_kind:
            return f"{self.name} ({self.country_code}, {PARTNER_KIND_LABELS[self.kind]})"
        return f"{self.name} ({self.country_code})"


class _Partners:
    """The registered partners by every name they are known by (name, local name, Japanese name), folded."""

    def __init__(self, matcher: Matcher):
        self.matcher = matcher
        self.by_key: dict[str, list[_Registered]] = defaultdict(list)
        for pid, name, local, name_ja, cc, kind in db.session.execute(select(
                Partner.id, Partner.name, Partner.local_name, Partner.name_ja, Partner.country_code, Partner.kind)):
            partner = _Registered(pid, name, cc, kind.value)
            for key in dict.fromkeys(_key(n) for n in (name, local, name_ja) if n):
                self.by_key[key].append(partner)

    def find(self, text: str, country_code: str | None) -> list[_Registered]:
        """The partners `text` may name: by its name alone, else by a name with a qualifier in brackets
        ("Paris (FR)", "São Paulo (BR, state)"); within `country_code` (the row's country) when given."""
        found = self._within(self.by_key.get(_key(text), []), country_code)
        if found or (qualified := _QUALIFIED.match(text)) is None:
            return found
        name, qualifiers = qualified.groups()
        found = self._within(self.by_key.get(_key(name), []), country_code)
        for word in re.split(r"\s*[,、，]\s*", qualifiers.strip()):
            if word and _key(word) in PARTNER_KINDS:
                found = [p for p in found if p.kind == PARTNER_KINDS[_key(word)]]
            elif word and (cc := self.matcher.country_code(word)) is not None:
                found = [p for p in found if p.country_code == cc]
            elif word:
                return []
        return found

    @staticmethod
    def _within(found: list[_Registered], country_code: str | None) -> list[_Registered]:
        return [p for p in found if country_code is None or p.country_code == country_code]


def match_agreements(table: Table, *, language: str = "en") -> list[AgreementMatch]:
    """Read each agreement row into the arguments of services.create_agreement, one AgreementMatch per row;
    reads only. Every problem is an Issue naming the row and column: an empty title, kind or parties; a kind,
    cooperation area or succession word that is not known; a party that no registered partner bears, or that
    several bear (the issue lists them); a date or term that cannot be read; an expiry not after signing; the
    agreement a row follows not found, or ambiguous; and a row that repeats an earlier one or an agreement
    already registered (the same title and signing date)."""
    matcher = Matcher(language)
    partners = _Partners(matcher)
    areas = {}
    for area in db.session.scalars(select(CooperationArea)):
        for name in (area.code, area.name_en, area.name_ja):
            if name:
                areas.setdefault(_key(name), area.code)
    registered: dict[str, list[tuple[int, str, date | None]]] = defaultdict(list)
    for aid, title, signed in db.session.execute(select(Agreement.id, Agreement.title, Agreement.signed_on)):
        registered[_key(title)].append((aid, title, signed))
    today = services.local_today()
    results = [_match_agreement(table, row, partners, areas, registered, today, language) for row in table.rows]
    by_number = {r.row: r for r in results}

    def same(row: Row):
        match = by_number[row.number]
        if not row.get("title") or "signed_on" not in match.fields:
            return None
        return _key(row.get("title")), match.fields["signed_on"]

    for number, first in duplicate_rows(table.rows, same).items():
        by_number[number].issues.append(_issue(table, next(r for r in table.rows if r.number == number), "title",
                                               _("the same title and signing date as row %(first)d.", first=first)))
    for row in table.rows:
        if row.get("previous"):
            _match_previous(table, row, by_number, registered)
    return results


def _match_agreement(table: Table, row: Row, partners: _Partners, areas: dict[str, str],
                     registered: dict, today: date, language: str) -> AgreementMatch:
    result = AgreementMatch(row.number)
    issues = result.issues
    headers = table.headers
    for name in ("title", "kind", "partners"):
        if not row.get(name):
            issues.append(_issue(table, row, name, _("%(header)s is empty.", header=headers.get(name, name))))
    fields: dict = {"title": row.get("title"), "title_local": row.get("title_local"), "summary": row.get("summary"),
                    "source": row.get("source"), "notes": row.get("notes")}
    if text := row.get("kind"):
        # The kinds as the agreement pages name them in the reader's language count too: "覚書（MOU）".
        labels = {_key(str(label)): kind.value for kind, label in AGREEMENT_KIND_LABELS.items()}
        if (kind := _AGREEMENT_KIND_WORDS.get(_key(text)) or labels.get(_key(text))) is None:
            choices = ", ".join(str(label) for label in AGREEMENT_KIND_LABELS.values())
            issues.append(_issue(table, row, "kind", _("\"%(value)s\" is not a kind of agreement; write one of: "
                                                       "%(choices)s.", value=text, choices=choices)))
        else:
            fields["kind"] = AgreementKind(kind)
    country_code = None
    if text := row.get("country"):
        if (country_code := partners.matcher.country_code(text)) is None:
            issues.append(_issue(table, row, "country", _("\"%(value)s\" is not a country code or name that the "
                                                          "registry knows.", value=text)))
    for text in (t for t in _LIST_SEPARATOR.split(row.get("partners")) if t):
        found = partners.find(text, country_code)
        if len(found) == 1:
            result.parties.append(PartyMatch(text, found[0].id, found[0].label()))
            continue
        result.parties.append(PartyMatch(text, None, text))
        if not found:
            issues.append(_issue(table, row, "partners", _(
                "no partner in the registry is called \"%(name)s\"; register the partner first or correct the "
                "name.", name=text)))
        else:
            same_country = len({p.country_code for p in found}) == 1
            first = found[0]
            example = f"{text} ({first.country_code}, {PARTNER_KIND_LABELS[first.kind]})" if same_country \
                else f"{text} ({first.country_code})"
            issues.append(_issue(table, row, "partners", _(
                "several partners are called \"%(name)s\": %(candidates)s. Write which, as in \"%(example)s\".",
                name=text, candidates="; ".join(p.label(same_country) for p in found[:5]), example=example)))
    fields["party_ids"] = [p.partner_id for p in result.parties if p.partner_id is not None]
    signed_on = None
    try:
        signed_on, precision = services.parse_partial_date(row.get("signed_on"), "signed_on")
        fields["signed_on"], fields["signed_precision"] = signed_on, precision
    except services.NetworkError as exc:
        issues.append(_issue(table, row, "signed_on", str(exc)))
    if signed_on is not None and signed_on > today:
        issues.append(_issue(table, row, "signed_on", _("%(date)s is in the future; this date must be today or "
                                                        "earlier.", date=row.get("signed_on"))))
    term = None
    if text := row.get("term_months"):
        if (months := _MONTHS.match(text.strip())) is None or not 0 < int(months.group(1)) <= 1200:
            issues.append(_issue(table, row, "term_months", _("\"%(value)s\" is not a term in months (a number from "
                                                              "1 to 1200).", value=text)))
        else:
            term = fields["term_months"] = int(months.group(1))
    expires_on = None
    if text := row.get("expires_on"):
        try:
            expires_on, precision = services.parse_partial_date(text, "expires_on")
        except services.NetworkError as exc:
            issues.append(_issue(table, row, "expires_on", str(exc)))
        else:
            if precision != DatePrecision.DAY:
                expires_on = None
                issues.append(_issue(table, row, "expires_on", _("\"%(value)s\" is not a day; write the expiry as "
                                                                 "2024-05-14.", value=text)))
            fields["expires_on"] = expires_on
    ends = expires_on or (services.add_months(signed_on, term) if signed_on and term else None)
    if ends is not None and signed_on is not None and ends <= signed_on:
        issues.append(_issue(table, row, "expires_on" if expires_on else "term_months",
                             _("an agreement cannot expire (%(expires)s) before it is signed (%(signed)s).",
                               expires=ends.isoformat(), signed=row.get("signed_on"))))
    codes = []
    for text in (t for t in _AREA_SEPARATOR.split(row.get("areas")) if t):
        if (code := areas.get(_key(text))) is None:
            issues.append(_issue(table, row, "areas", _("\"%(value)s\" is not a cooperation area; the areas are: "
                                                        "%(areas)s.", value=text,
                                                        areas=", ".join(sorted(set(areas.values()))))))
        else:
            codes.append(code)
    fields["area_codes"] = tuple(dict.fromkeys(codes))
    fields["signatories"] = tuple(_signatories(row.get("signatories"), result.parties, partners))
    if text := row.get("succession"):
        if (succession := _SUCCESSION_WORDS.get(_key(text))) is None:
            issues.append(_issue(table, row, "succession", _("\"%(value)s\" is neither a renewal nor a revision.",
                                                             value=text)))
        else:
            fields["succession"] = succession
            if not row.get("previous"):
                issues.append(_issue(table, row, "succession", _("a renewal or revision names the agreement it "
                                                                 "follows (a \"renews\" column).")))
    if row.get("title") and "signed_on" in fields:
        if any(signed == signed_on for _id, _title, signed in registered.get(_key(row.get("title")), ())):
            issues.append(_issue(table, row, "title", _("the registry already holds \"%(title)s\" signed on the "
                                                        "same date.", title=row.get("title"))))
    result.fields = fields
    return result


def _signatories(text: str, parties: list[PartyMatch], partners: _Partners) -> list[tuple[int | None, str, str]]:
    """"Name, title" or "Name (title)" signs for the home city; "Party: name, title" for one of the row's parties.
    Several are separated by ";". A prefix that names no party of the row stays part of the name."""
    ids = {p.partner_id for p in parties if p.partner_id is not None}
    out = []
    for item in (t for t in _LIST_SEPARATOR.split(text or "") if t):
        partner_id = None
        prefix, colon, rest = re.split(r"\s*([:：])\s*", item, maxsplit=1) if re.search("[:：]", item) \
            else (item, "", "")
        if colon:
            named = [p.id for p in partners.find(prefix, None) if p.id in ids]
            if len(named) == 1:
                partner_id, item = named[0], rest
        if (bracket := _QUALIFIED.match(item)) is not None:
            name, title = bracket.groups()
        elif (comma := re.search(r"\s*[,、，]\s*", item)) is not None:
            name, title = item[:comma.start()], item[comma.end():]
        else:
            name, title = item, ""
        out.append((partner_id, name.strip(), title.strip()))
    return out


def _match_previous(table: Table, row: Row, by_number: dict[int, AgreementMatch], registered: dict) -> None:
    """Find what a row renews or revises: an earlier row of the file or a registered agreement, by title and,
    when written after it, the signing date ("Title (2013-05)")."""
    result, text = by_number[row.number], row.get("previous")
    title, when, precision = text, None, None
    if (dated := _WITH_DATE.match(text)) is not None and dated.group(1):
        try:
            when, precision = services.parse_partial_date(dated.group(2), "previous")
            title = dated.group(1)
        except services.NetworkError:
            pass

    def fits(signed: date | None) -> bool:
        if when is None:
            return True
        if signed is None:
            return False
        return (signed.year == when.year and (precision == DatePrecision.YEAR or signed.month == when.month)
                and (precision != DatePrecision.DAY or signed.day == when.day))

    earlier = [r for r in table.rows if r.number < row.number and _key(r.get("title")) == _key(title)
               and fits(by_number[r.number].fields.get("signed_on"))]
    known = [(aid, signed) for aid, _title, signed in registered.get(_key(title), ()) if fits(signed)]
    if len(earlier) + len(known) == 1:
        if earlier:
            result.previous_row = earlier[0].number
            result.previous_label = _("row %(row)d", row=earlier[0].number)
        else:
            result.previous_id = known[0][0]
            signed = known[0][1]
            result.previous_label = f"{title} ({signed.isoformat()})" if signed else title
        return
    if not earlier and not known:
        result.issues.append(_issue(table, row, "previous", _(
            "no agreement called \"%(title)s\" is in the registry or in an earlier row.", title=text)))
        return
    dates = [_("row %(row)d", row=r.number) for r in earlier]
    dates += [signed.isoformat() if signed else _("date unknown") for _aid, signed in known]
    result.issues.append(_issue(table, row, "previous", _(
        "several agreements are called \"%(title)s\" (%(dates)s); add the signing date, as in \"%(example)s\".",
        title=title, dates=", ".join(dates), example=f"{title} (2013-05-03)")))


def _save_agreements(report: ImportReport, *, actor) -> None:
    """Save the report's rows in order through services.create_agreement (a row that renews an earlier one
    after it); a refusal becomes an issue of its row at the column it names. Flushes; the caller commits or
    rolls back."""
    saved: dict[int, int] = {}  # row number → agreement id
    table = report.table
    for row, match in zip(table.rows, report.rows, strict=True):
        if match.issues:
            continue
        previous_id = match.previous_id
        if match.previous_row is not None:
            previous_id = saved.get(match.previous_row)
            if previous_id is None:
                match.issues.append(_issue(table, row, "previous", _(
                    "row %(first)d, which this one follows, cannot be saved.", first=match.previous_row)))
                continue
        try:
            with db.session.begin_nested():
                agreement = services.create_agreement(**match.fields, previous_id=previous_id, actor=actor)
        except services.NetworkError as exc:
            name = AGREEMENT_COLUMNS.get(exc.field or "", exc.field or "")
            match.issues.append(_issue(table, row, name, str(exc)))
        else:
            saved[row.number] = agreement.id


# -- uploads -------------------------------------------------------------------------------------
