"""Tables in and out: CSV (UTF-8, Shift_JIS) and XLSX files read into rows of text, lists written as CSV and XLSX."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, range_boundaries

MAX_BYTES = 10 * 1024 * 1024  # IMPORT_MAX_BYTES overrides
MAX_ROWS = 20_000  # data rows; IMPORT_MAX_ROWS overrides
# An XLSX is compressed: a small file can unpack into gigabytes of XML. Past this, it is refused unread.
MAX_UNPACKED = 200 * 1024 * 1024
DELIMITERS = (",", ";", "\t")
# Excel reads a cell that starts with these as a formula; exports quote them (see _cell_text).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SEP_LINE = re.compile(r"sep=([,;\t])(?:\r\n|\n|\r|$)")
_NOT_SHIFT_JIS = re.compile("[\x80-\x9f\ue000-\uf8ff]")
_NUMBER_LIKE = re.compile(r"[+\-]?[\d\s().\-/]*")  # +81-3-1234-5678, -12.5: data, not formulas


class TableError(Exception):
    """A file that cannot be read as a table; the message is for the user and points at the row or column."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.message, self.row, self.column, self.field = message, row, column, field

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Issue:
    """Something the reader should know about a file that was read all the same (an ignored column)."""

    message: str
    row: int | None = None
    column: str | None = None  # a spreadsheet column letter: "C"
    field: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Row:
    number: int  # 1-based, as Excel numbers the rows of the sheet or of the CSV file it opens
    values: dict[str, str]  # field → text, stripped; "" where the cell is empty

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default) or default


@dataclass
class Table:
    format: str  # "csv" or "xlsx"
    columns: list[str]  # the fields found, in the file's order (each once)
    headers: dict[str, str]  # field → the header as the file writes it
    letters: dict[str, str]  # field → the column letter it came from
    header_row: int
    rows: list[Row]
    warnings: list[Issue] = field(default_factory=list)
    encoding: str | None = None  # CSV: "utf-8", "utf-8-sig", "utf-16" or "cp932"
    delimiter: str | None = None  # CSV

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Schema:
    """The columns of one kind of import: each field with the headers it is known by (any case, spacing)."""

    kind: str
    fields: Mapping[str, Sequence[str]]
    required: frozenset[str] = frozenset()

    def lookup(self) -> dict[str, str]:
        return {header_key(alias): name for name, aliases in self.fields.items() for alias in (name, *aliases)}


_COUNTRY = ("country", "country code", "country name", "nation", "国", "国名", "国コード", "国・地域", "国/地域",
            "国・地域名", "国名・地域名", "国籍")
_CITY = ("city", "city name", "municipality", "都市", "都市名", "市", "市名", "自治体", "自治体名")
_SUBDIVISION = ("subdivision", "state", "province", "region", "prefecture", "state/province", "州", "省", "州・省",
                "州名", "地域", "地方", "県", "都道府県")
_NOTES = ("note", "remarks", "comments", "備考", "メモ", "注記")
_WEBSITE = ("website", "web site", "url", "homepage", "web", "ウェブサイト", "ホームページ", "hp")

SCHEMAS: dict[str, Schema] = {s.kind: s for s in (
    Schema("partners", {
        "name": ("partner", "partner name", "name en", "english name", "名称", "名前", "相手先", "相手先名", "英語名"),
        "kind": ("type", "partner type", "種別", "区分"),
        "city": _CITY,
        "country": _COUNTRY,
        "subdivision": _SUBDIVISION,
        "local_name": ("local name", "native name", "現地名", "現地語名", "現地語表記"),
        "name_ja": ("japanese name", "name ja", "日本語名", "名称（日本語）", "和名", "都市名（日本語）"),
        "relationship": ("relationship kind", "relation", "tie", "関係", "提携種別", "提携の種類", "提携区分"),
        "started_on": ("start", "since", "date", "established", "signed", "提携日", "提携年月日", "締結日", "開始日",
                       "提携年"),
        "status": ("relationship status", "状態", "状況"),  # not "state": that is the subdivision
        "website": _WEBSITE,
        "notes": _NOTES,
    }, frozenset({"country"})),
    Schema("agreements", {
        "title": ("name", "agreement", "件名", "名称", "タイトル", "協定名", "合意書名"),
        "title_local": ("local title", "title (local)", "local language title", "現地語名", "現地語タイトル", "原題"),
        "kind": ("type", "agreement type", "kind of agreement", "種別", "種類", "区分", "文書の種類"),
        "partners": ("partner", "parties", "party", "counterpart", "counterparts", "相手先", "相手方", "締結先",
                     "締結相手", "締結都市", "パートナー"),
        "country": _COUNTRY,  # narrows the parties' names: "Paris" in FR
        "signed_on": ("signed", "date", "signing date", "date signed", "締結日", "署名日", "締結年月日"),
        "term_months": ("term", "term (months)", "term in months", "duration", "期間", "期間（月）", "有効期間",
                        "有効期間（月）"),
        "expires_on": ("expires", "expiry", "expiry date", "end date", "満了日", "有効期限", "期限"),
        "areas": ("area", "fields", "cooperation areas", "cooperation area", "分野", "協力分野"),
        "signatories": ("signatory", "signed by", "署名者"),
        "previous": ("renews", "revises", "previous agreement", "previous", "follows", "replaces", "前協定",
                     "従前の協定", "更新元", "改定元"),
        "succession": ("renewal or revision", "succession type", "更新・改定", "更新区分", "承継"),
        "summary": ("description", "概要", "内容"),
        "source": ("出典", "根拠"),
        "notes": _NOTES,
    }, frozenset({"title", "kind", "partners"})),
    Schema("embassies", {
        "country": _COUNTRY,
        "mission_type": ("type", "mission", "種別", "公館種別", "区分"),
        "name": ("mission name", "名称", "公館名", "英語名"),
        "name_ja": ("japanese name", "name ja", "日本語名", "名称（日本語）"),
        "address": ("所在地", "住所"),
        "ward": ("district", "区", "区市町村", "市区町村"),
        "postal_code": ("postcode", "zip", "zip code", "郵便番号", "〒"),
        "phones": ("phone", "telephone", "tel", "電話", "電話番号"),
        "email": ("e-mail", "mail", "email address", "メール", "eメール", "メールアドレス"),
        "website": _WEBSITE,
        "head_of_mission": ("head", "ambassador", "head of mission name", "館長", "大使", "大使名", "館長名"),
        "head_title": ("title", "head title", "役職", "肩書"),
        "status": ("state", "状態", "状況"),
        "notes": _NOTES,
    }, frozenset({"country"})),
    Schema("network-members", {
        "network": ("network name", "acronym", "ネットワーク", "ネットワーク名", "都市ネットワーク", "組織", "組織名"),
        "city": ("member", "member city", *_CITY, "加盟都市", "会員都市"),
        "country": _COUNTRY,
        "name": ("listed name", "name as listed", "名称", "表記"),
        "joined_on": ("joined", "since", "加盟日", "加盟年", "加入日"),
        "left_on": ("left", "until", "脱退日", "退会日"),
    }, frozenset({"network", "city"})),
)}


def header_key(text: str) -> str:
    """'Country Code', 'country_code', 'ＣＯＵＮＴＲＹ　ＣＯＤＥ' and ' country-code ' give the same key."""
    text = unicodedata.normalize("NFKC", text).casefold().strip().rstrip("*:").strip()
    return re.sub(r"[\s_\-.]+", "_", text).strip("_")


def _limit(name: str, default: int, given: int | None) -> int:
    if given is not None:
        return given
    return int(current_app.config.get(name, default)) if has_app_context() else default


def read_table(data: bytes, filename: str, *, schema: Schema | None = None, max_bytes: int | None = None,
               max_rows: int | None = None) -> Table:
    """Read an uploaded CSV or XLSX file (told apart by content, not by name) into rows of text.

    The first non-empty row is the header. With a `schema` (SCHEMAS["partners"], …), headers are mapped
    to its fields through their aliases; a missing required column is an error, an unknown one a warning.
    Without, each column's field is its normalised header. Fully empty rows are skipped, and every row keeps
    its number in the file. Raises TableError, whose message names the row or column; never writes anything.
    """
    max_bytes, max_rows = _limit("IMPORT_MAX_BYTES", MAX_BYTES, max_bytes), _limit("IMPORT_MAX_ROWS", MAX_ROWS,
                                                                                     max_rows)
    if len(data) > max_bytes:
        raise TableError(_("The file is %(size)s; files of at most %(limit)s can be imported.",
                           size=_size(len(data)), limit=_size(max_bytes)))
    if not data.strip():
        raise TableError(_("The file is empty."))
    kind = _sniff(data, filename)
    if kind == "xlsx":
        grid, merged_header, header_rows = _xlsx_grid(data, max_rows)
        table = Table("xlsx", [], {}, {}, 0, [])
    else:
        text, encoding = _decode(data)
        delimiter = _delimiter(text)
        grid, merged_header, header_rows = _csv_grid(text, delimiter), {}, 1
        table = Table("csv", [], {}, {}, 0, [], encoding=encoding, delimiter=delimiter)
    _fill(table, grid, merged_header, header_rows, schema, max_rows)
    return table


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"%PDF": "PDF", b"\xd0\xcf\x11\xe0": "XLS"}


def _sniff(data: bytes, filename: str) -> str:
    """'xlsx' or 'csv', by content; anything else is refused with what it looks like."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            names = set()
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names:
            raise TableError(_("%(file)s is an OpenDocument spreadsheet; save it as .xlsx or CSV and upload that.",
                               file=filename))
        raise TableError(_("%(file)s is not a CSV or XLSX file.", file=filename))
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            if what == "XLS":
                raise TableError(_("%(file)s is an old Excel (.xls) file; save it as .xlsx or CSV and upload that.",
                                   file=filename))
            raise TableError(_("%(file)s is a %(kind)s file, not a CSV or XLSX file.", file=filename, kind=what))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise TableError(_("%(file)s is not a valid XLSX file: it may be damaged.", file=filename))
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableError(_("%(file)s is not a CSV or XLSX file.", file=filename))
    return "csv"


def _decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's 'Unicode text'), else
    Shift_JIS as Excel in Japan writes it (cp932)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise TableError(_("The file cannot be read as UTF-16: it is damaged near byte %(offset)d.",
                               offset=exc.start)) from None
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        utf8_at = exc.start
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError as exc:
        cp932_at = data[:exc.start].count(b"\n")
    else:
        # Python's cp932 reads stray bytes (0x80, 0xA0, 0xFD-0xFF) and the vendor area as private-use and
        # control characters, which no Japanese text holds: the file is something else.
        if (stray := _NOT_SHIFT_JIS.search(text)) is None:
            return text, "cp932"
        cp932_at = text.count("\n", 0, stray.start())
    # The encoding that read further is most likely the file's: name its first bad line.
    line = max(data[:utf8_at].count(b"\n"), cp932_at) + 1
    raise TableError(_("The file is neither UTF-8 nor Shift_JIS text: line %(line)d cannot be read. Save it "
                       "again as \"CSV UTF-8\" and upload that.", line=line), row=line)


def _delimiter(text: str) -> str:
    """Comma, semicolon (Excel where the decimal mark is a comma) or tab: the one that a first line "sep=;"
    names (Excel reads and writes it), else the one that splits the first lines into the most columns, the
    same number on each line."""
    if (sep := _SEP_LINE.match(text)) is not None:
        return sep.group(1)
    sample = text[:65536].splitlines()[:20]
    sample = [line for line in sample if line.strip()] or [""]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(sample, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts), counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_grid(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    # Excel does not show a first line "sep=;" as a row.
    skip = 1 if _SEP_LINE.match(text) else 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Excel numbers a CSV's rows by record, blank lines included; csv gives [] for a blank line.
        records = [(number - skip, [_unquote(v) for v in values]) for number, values in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise TableError(_("Row %(row)d cannot be read: %(reason)s", row=reader.line_num - skip, reason=str(exc)),
                         row=reader.line_num - skip) from None
    return records[skip:]


def _unquote(value: str) -> str:
    """Undo the apostrophe our exports put before a value Excel would take for a formula."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


def _xlsx_grid(data: bytes, max_rows: int) -> tuple[list[tuple[int, list[str]]], dict[int, tuple[str, str]], int]:
    """The first sheet's values as text, each merged cell filled from its top-left cell; the columns that a
    merged header cell spans (column index → first and last letters); and how many rows the header takes
    (more than one when a header cell is merged downwards over a second header row).

    The sheet is streamed, and read no further than the first `max_rows` non-empty rows past the header and
    one more (enough for the row limit's message): a 10 MB workbook can hold half a million cells.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            raise TableError(_("The spreadsheet is too large once unpacked; split it into smaller files."))
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            # A read-only sheet does not know its merged cells: they follow the cells in the sheet's XML.
            spans = _merged_ranges(archive, sheet._worksheet_path)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise TableError(_("The spreadsheet cannot be read: %(reason)s",
                               reason=str(exc) or type(exc).__name__)) from None
    indexed = 0  # the merges are indexed by row up to here
    covering: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)  # row → merges over it
    grid: list[tuple[int, list[str]]] = []
    anchors: dict[tuple[int, int], str] = {}
    filled = 0
    try:
        sheet.reset_dimensions()  # the recorded size may be missing or wrong: read every cell there is
        for number, values in enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
            if number > indexed:  # a stretch of rows at a time: a merge may run down a whole column
                indexed = number + 999
                for span in spans:
                    for r in range(max(span[0], number), min(span[2], indexed) + 1):
                        covering[r].append(span)
            texts = [_cell_value(v) for v in values]
            for min_row, min_col, _max_row, max_col in covering.pop(number, ()):
                if number == min_row:
                    anchors[min_row, min_col] = texts[min_col - 1] if min_col <= len(texts) else ""
                texts += [""] * (max_col - len(texts))
                for c in range(min_col, max_col + 1):
                    texts[c - 1] = anchors.get((min_row, min_col), "")
            grid.append((number, texts))
            if any(texts):
                filled += 1
                if filled > max_rows + 2 + max((s[2] - s[0] for s in spans), default=0):
                    break
    except TableError:
        raise
    except Exception as exc:
        raise TableError(_("The spreadsheet cannot be read: %(reason)s",
                           reason=str(exc) or type(exc).__name__)) from None
    finally:
        workbook.close()
    header = next((number for number, texts in grid if any(texts)), 0)
    merged_header, header_end = {}, header
    for min_row, min_col, max_row, max_col in spans:
        if min_row <= header <= max_row:
            header_end = max(header_end, max_row)
            if max_col > min_col:
                for c in range(min_col, max_col + 1):
                    merged_header[c - 1] = (get_column_letter(min_col), get_column_letter(max_col))
    return grid, merged_header, header_end - header + 1


_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")


def _merged_ranges(archive: zipfile.ZipFile, path: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a sheet as (min_row, min_col, max_row, max_col), read in chunks."""
    spans, tail = [], b""
    with archive.open(path.lstrip("/")) as xml:
        while chunk := xml.read(1 << 20):
            buffer = tail + chunk
            end = 0
            for match in _MERGE.finditer(buffer):
                min_col, min_row, max_col, max_row = range_boundaries(match.group(1).decode())
                spans.append((min_row, min_col, max_row, max_col))
                end = match.end()
            tail = buffer[max(end, len(buffer) - 200):]
    return list(dict.fromkeys(spans))


def _cell_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1998.0 from a year column, a postal code typed as a number
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value).strip()


def _fill(table: Table, grid: list[tuple[int, list[str]]], merged_header: dict[int, tuple[str, str]],
          header_rows: int, schema: Schema | None, max_rows: int) -> None:
    # NFC: a Mac writes "São" as "Sa" + combining tilde + "o"; a BOM mid-file comes of concatenated files.
    grid = [(number, [unicodedata.normalize("NFC", v.replace("\ufeff", "")).strip() for v in values])
            for number, values in grid]
    rows = iter((number, values) for number, values in grid if any(values))
    try:
        table.header_row, header = next(rows)
    except StopIteration:
        raise TableError(_("The file holds no rows.")) from None
    for _i in range(header_rows - 1):  # a two-row header: "Partner" merged over "name" and "country"
        _number, below = next(rows, (0, []))
        width = max(len(header), len(below))
        header, below = header + [""] * (width - len(header)), below + [""] * (width - len(below))
        header = [" ".join(dict.fromkeys(t for t in pair if t)) for pair in zip(header, below, strict=True)]
    lookup = schema.lookup() if schema else None
    fields: dict[int, str] = {}  # column index → field
    for index, text in enumerate(header):
        letter = get_column_letter(index + 1)
        if not text:
            continue
        key = header_key(text)
        name = lookup.get(key) if lookup is not None else key
        if name is None:
            table.warnings.append(Issue(_("Column %(column)s (\"%(header)s\") is not one this import knows; it is "
                                          "ignored.", column=letter, header=text), row=table.header_row,
                                        column=letter))
            continue
        if name in table.letters:
            first = table.letters[name]
            if (span := merged_header.get(index)) is not None:
                raise TableError(_("The header \"%(header)s\" is merged over columns %(first)s to %(last)s: give "
                                   "each column a header of its own.", header=text, first=span[0], last=span[1]),
                                 row=table.header_row, column=span[0], field=name)
            raise TableError(_("Columns %(first)s and %(second)s both hold \"%(field)s\": keep one of them.",
                               first=first, second=letter, field=name), row=table.header_row, column=letter,
                             field=name)
        fields[index] = name
        table.columns.append(name)
        table.headers[name] = text
        table.letters[name] = letter
    if schema is not None:
        missing = [name for name in schema.fields if name in schema.required and name not in table.letters]
        if missing:
            raise TableError(_("The file has no column for %(fields)s (row %(row)d is read as the header).",
                               fields=", ".join(missing), row=table.header_row), row=table.header_row,
                             field=missing[0])
    if not fields:
        raise TableError(_("Row %(row)d, read as the header, names no column this import knows.",
                           row=table.header_row), row=table.header_row)
    ignored_reported: set[int] = set()
    for number, values in rows:
        if len(table.rows) >= max_rows:
            raise TableError(_("The file has more than %(limit)d rows; split it into smaller files.",
                               limit=max_rows), row=number)
        table.rows.append(Row(number, {name: values[i] if i < len(values) else "" for i, name in fields.items()}))
        for index, value in enumerate(values):
            headless = index >= len(header) or not header[index]
            if value and headless and index not in ignored_reported:
                ignored_reported.add(index)
                letter = get_column_letter(index + 1)
                table.warnings.append(Issue(_("Row %(row)d has a value in column %(column)s, which has no header; "
                                              "it is ignored.", row=number, column=letter), row=number,
                                            column=letter))


def duplicate_rows(rows: Iterable[Row], key: Callable[[Row], Hashable | None]) -> dict[int, int]:
    """Rows that repeat an earlier one: row number → the number of the first row with the same key. Rows
    whose key is None are never duplicates (a row without the values the key needs)."""
    first: dict[Hashable, int] = {}
    repeats = {}
    for row in rows:
        if (k := key(row)) is not None:
            if k in first:
                repeats[row.number] = first[k]
            else:
                first[k] = row.number
    return repeats


# -- writing -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as a spreadsheet cell takes it: dates stay dates, aware times become UTC, the rest text."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, date | int | float | Decimal):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return "; ".join(str(_plain(v)) for v in value)
    return str(value)


def _formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START) and not (text[0] in "+-" and _NUMBER_LIKE.fullmatch(text))


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Mapping[str, str]) -> bytes:
    """`rows` as CSV: one column per key of `columns` (key → header), UTF-8 with a BOM so that Excel reads
    Japanese right, CRLF line ends; a text Excel would run as a formula gets an apostrophe before it."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(str(header) for header in columns.values())
    for row in rows:
        cells = []
        for key in columns:
            value = _plain(row.get(key))
            text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
            cells.append("'" + text if isinstance(value, str) and _formula_like(text) else text)
        writer.writerow(cells)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def _width(text: str) -> int:
    """Characters as wide as Latin letters: Japanese counts double."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_xlsx(rows: Iterable[Mapping[str, Any]], columns: Mapping[str, str], sheet_title: str) -> bytes:
    """`rows` as an XLSX workbook of one sheet: a bold, frozen header row with a filter, columns as wide as
    their content (up to 60), dates as dates. Text is always stored as text, never as a formula."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", " ", sheet_title).strip()[:31] or "Sheet1"
    headers = [str(header) for header in columns.values()]  # lazy_gettext strings, too
    widths = [_width(header) for header in headers]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, key in enumerate(columns, start=1):
            value = _plain(row.get(key))
            cell = sheet.cell(r, c, value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would store "=…" as a formula
                widths[c - 1] = max(widths[c - 1], max((_width(line) for line in value.splitlines()), default=0))
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
                widths[c - 1] = max(widths[c - 1], 16)
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
                widths[c - 1] = max(widths[c - 1], 10)
            else:
                widths[c - 1] = max(widths[c - 1], len(str(value)))
    for c, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(sheet.max_row, 1)}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
