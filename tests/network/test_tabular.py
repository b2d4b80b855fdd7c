"""Reading uploaded CSV and XLSX files into rows, and writing lists as CSV and XLSX."""

import csv
import io
import time
import zipfile
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook

from network.tabular import (
    SCHEMAS,
    TableError,
    duplicate_rows,
    header_key,
    read_table,
    write_csv,
    write_xlsx,
)

JAPANESE_CSV = "都市名,国コード,備考\r\n東京,JP,首都\r\nサンパウロ,BR,姉妹友好\r\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def values(table) -> list[tuple[int, dict]]:
    return [(row.number, row.values) for row in table.rows]


def xlsx(build) -> bytes:
    workbook = Workbook()
    build(workbook.active)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# Encodings and delimiters


@pytest.mark.parametrize(("data", "encoding"), [
    (JAPANESE_CSV.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + JAPANESE_CSV.encode("utf-8"), "utf-8-sig"),
    (JAPANESE_CSV.encode("shift_jis"), "cp932"),
    (JAPANESE_CSV.encode("utf-16"), "utf-16"),
])
def test_japanese_csv_in_every_encoding_excel_writes(data, encoding):
    table = read_table(data, "partners.csv", schema=SCHEMAS["partners"])
    assert (table.format, table.encoding, table.delimiter) == ("csv", encoding, ",")
    assert table.columns == ["city", "country", "notes"]
    assert table.headers == {"city": "都市名", "country": "国コード", "notes": "備考"}
    assert values(table) == [(2, {"city": "東京", "country": "JP", "notes": "首都"}),
                             (3, {"city": "サンパウロ", "country": "BR", "notes": "姉妹友好"})]
    assert table.warnings == []


def test_shift_jis_with_the_characters_only_windows_has():
    """Excel in Japan writes cp932: ① and ～ are not in plain Shift_JIS."""
    data = "city,notes\r\n東京,①～髙\r\n".encode("cp932")
    assert read_table(data, "a.csv").rows[0].values == {"city": "東京", "notes": "①～髙"}


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_delimiter_is_sniffed(delimiter):
    text = delimiter.join(["City", "Country", "Notes"]) + "\n" + delimiter.join(["Paris", "FR", '"1,5; 2"']) + "\n"
    table = read_table(text.encode(), "a.csv", schema=SCHEMAS["partners"])
    assert table.delimiter == delimiter
    assert table.rows[0].values == {"city": "Paris", "country": "FR", "notes": "1,5; 2"}


def test_semicolon_csv_with_decimal_commas():
    data = "city;country;notes\nSão Paulo;BR;1,5\nZürich;CH;2,25\n".encode()
    table = read_table(data, "a.csv", schema=SCHEMAS["partners"])
    assert table.delimiter == ";"
    assert [r.values["notes"] for r in table.rows] == ["1,5", "2,25"]


def test_bytes_invalid_in_utf8_and_shift_jis_name_the_first_bad_line():
    data = b"city,country\nParis,FR\nTokyo,JP\nBad\x81\x20name,JP\nLater\xff,XX\n"
    with pytest.raises(TableError) as caught:
        read_table(data, "a.csv")
    assert caught.value.row == 4
    assert "line 4" in str(caught.value) and "UTF-8" in str(caught.value)


def test_stray_bytes_that_python_reads_as_private_use_are_not_shift_jis():
    with pytest.raises(TableError) as caught:
        read_table(b"city\nok\nPar\xff\xfeis\n", "a.csv")
    assert caught.value.row == 3


def test_error_messages_are_translated(app):
    with app.test_request_context(), force_locale("ja"), pytest.raises(TableError) as caught:
        read_table(b"", "a.csv")
    assert str(caught.value) == "ファイルが空です。"


# Wrong files


def test_a_png_renamed_csv_is_refused():
    with pytest.raises(TableError, match="PNG"):
        read_table(PNG, "cities.csv")


@pytest.mark.parametrize(("data", "name", "says"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", ".xls"),
    (b"%PDF-1.7\n", "list.csv", "PDF"),
    (b"city\x00\x01\x02\x00", "a.csv", "not a CSV or XLSX"),
    (b"city,country\nParis,FR\n", "looks.xlsx", "not a valid XLSX"),
    (b"", "a.csv", "empty"),
    (b"\n\n ,\n", "a.csv", "no rows"),
])
def test_other_files_are_refused_with_what_they_are(data, name, says):
    with pytest.raises(TableError, match=says):
        read_table(data, name)


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(TableError, match="not a CSV or XLSX"):
        read_table(out.getvalue(), "a.xlsx")


def test_a_damaged_workbook_is_refused():
    data = bytearray(xlsx(lambda sheet: sheet.append(["city"])))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, b"<broken" if info.filename == "xl/worksheets/sheet1.xml" else source.read(info))
    with pytest.raises(TableError, match="cannot be read"):
        read_table(out.getvalue(), "a.xlsx")


def test_an_oversized_file_is_refused_before_it_is_read():
    data = b"city,country\n" + b"Paris,FR\n" * 2000
    with pytest.raises(TableError, match="at most 10 KB"):
        read_table(data, "a.csv", max_bytes=10 * 1024)
    assert len(read_table(data, "a.csv", max_bytes=len(data)).rows) == 2000


def test_the_limits_come_from_the_app_config(app):
    app.config.update(IMPORT_MAX_BYTES=100, IMPORT_MAX_ROWS=3)
    try:
        with app.app_context():
            with pytest.raises(TableError, match="100 KB|at most"):
                read_table(b"city\n" + b"x\n" * 100, "a.csv")
            with pytest.raises(TableError, match="more than 3 rows") as caught:
                read_table(b"city\na\nb\nc\nd\n", "a.csv")
            assert caught.value.row == 5
    finally:
        del app.config["IMPORT_MAX_BYTES"], app.config["IMPORT_MAX_ROWS"]


# Rows and headers


def test_empty_rows_are_skipped_and_row_numbers_kept():
    data = b"\n\ncity,country\n\nParis,FR\n , \n\nTokyo,JP\n"
    table = read_table(data, "a.csv")
    assert table.header_row == 3
    assert values(table) == [(5, {"city": "Paris", "country": "FR"}), (8, {"city": "Tokyo", "country": "JP"})]


def test_a_quoted_value_over_two_lines_is_one_row_as_in_excel():
    data = b'city,notes\nParis,"one\ntwo"\nTokyo,x\n'
    assert [(r.number, r.values["notes"]) for r in read_table(data, "a.csv").rows] == [(2, "one\ntwo"), (3, "x")]


@pytest.mark.parametrize("header", ["Country Code", "country_code", "COUNTRY-CODE", "ＣＯＵＮＴＲＹ　ＣＯＤＥ",
                                    " country code* "])
def test_headers_are_normalised(header):
    assert header_key(header) == "country_code"
    table = read_table(f"City,{header}\nParis,FR\n".encode(), "a.csv", schema=SCHEMAS["partners"])
    assert table.columns == ["city", "country"] and table.headers["country"] == header.strip()


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_kind_maps_japanese_country_headers(kind):
    lookup = SCHEMAS[kind].lookup()
    assert lookup[header_key("国")] == lookup[header_key("国コード")] == lookup[header_key("Country")] == "country"


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_no_header_means_two_fields_in_one_kind(kind):
    seen = {}
    for name, aliases in SCHEMAS[kind].fields.items():
        for alias in (name, *aliases):
            assert seen.setdefault(header_key(alias), name) == name, alias


def test_excel_sep_line_names_the_delimiter_and_is_not_a_row():
    table = read_table(b"sep=;\r\ncity;notes\r\nParis;a,b\r\n", "a.csv")
    assert (table.delimiter, table.header_row) == (";", 1)
    assert values(table) == [(2, {"city": "Paris", "notes": "a,b"})]


def test_values_are_composed_as_nfc():
    decomposed = "Sa\u0303o Paulo"
    table = read_table(f"city\n{decomposed}\n".encode(), "a.csv")
    assert table.rows[0].values["city"] == "São Paulo"


def test_duplicate_rows_point_at_the_first():
    table = read_table(b"city,country\nParis,FR\nLyon,FR\n\nPARIS,fr\n,\nparis,FR\nx,\n", "a.csv")
    repeats = duplicate_rows(table.rows, lambda r: (r.get("city").lower(), r.get("country").upper())
                             if r.get("city") else None)
    assert repeats == {5: 2, 7: 2}


def test_unknown_columns_are_warnings_pointing_at_the_column():
    table = read_table("都市名,国,担当者,,Notes\n東京,JP,山田,,\n,,,x,\n".encode(), "a.csv", schema=SCHEMAS["partners"])
    assert table.columns == ["city", "country", "notes"]
    assert [(w.column, w.row) for w in table.warnings] == [("C", 1), ("D", 3)]
    assert "担当者" in str(table.warnings[0]) and "no header" in str(table.warnings[1])
    assert values(table)[1] == (3, {"city": "", "country": "", "notes": ""})


def test_values_past_the_last_header_are_warned_about_once_per_column():
    table = read_table(b"city,country\nParis,FR,extra\nLyon,FR,more\n", "a.csv")
    assert [(w.row, w.column) for w in table.warnings] == [(2, "C")]
    assert table.rows[0].values == {"city": "Paris", "country": "FR"}


def test_a_missing_required_column_is_named():
    with pytest.raises(TableError, match="network, city") as caught:
        read_table(b"Country,Joined\nFR,2020\n", "a.csv", schema=SCHEMAS["network-members"])
    assert caught.value.field == "network" and caught.value.row == 1


def test_two_columns_for_one_field_are_named():
    with pytest.raises(TableError, match="Columns A and C") as caught:
        read_table("国,都市,国コード\nJP,東京,JP\n".encode(), "a.csv", schema=SCHEMAS["partners"])
    assert (caught.value.column, caught.value.field) == ("C", "country")


def test_short_rows_are_padded():
    table = read_table(b"city,country,notes\nParis\n", "a.csv", schema=SCHEMAS["partners"])
    assert table.rows[0].values == {"city": "Paris", "country": "", "notes": ""}
    assert table.rows[0].get("country", "??") == "??"


# XLSX


def test_xlsx_first_sheet_values_dates_numbers_and_empty_rows():
    def build(sheet):
        sheet.title = "Partners"
        sheet.append(["City", "Country", "Started on", "Population"])
        sheet.append(["São Paulo", "BR", datetime(1970, 6, 5), 12400232.0])
        sheet.append([])
        sheet.append([None, "  ", None])
        sheet.append(["東京", "JP", date(2024, 1, 31), "=1+1"])
        sheet.parent.create_sheet("Other").append(["ignored"])

    table = read_table(xlsx(build), "upload.bin")
    assert (table.format, table.encoding, table.delimiter) == ("xlsx", None, None)
    assert table.columns == ["city", "country", "started_on", "population"]
    assert values(table) == [
        (2, {"city": "São Paulo", "country": "BR", "started_on": "1970-06-05", "population": "12400232"}),
        (5, {"city": "東京", "country": "JP", "started_on": "2024-01-31", "population": ""}),  # a formula never run
    ]


def test_xlsx_with_a_merged_header_over_two_columns_points_at_them():
    def build(sheet):
        sheet.append(["Partner", None, "Country", "Notes"])
        sheet.merge_cells("A1:B1")
        sheet.append(["Paris", "Lyon", "FR", ""])

    with pytest.raises(TableError, match="merged over columns A to B") as caught:
        read_table(xlsx(build), "a.xlsx", schema=SCHEMAS["partners"])
    assert (caught.value.row, caught.value.column, caught.value.field) == (1, "A", "name")


def test_xlsx_with_merged_cells_and_an_extra_column():
    """A two-row header (Country merged down, City over its sub-columns), country cells merged down over
    the rows of one country, and a column the import does not know."""
    def build(sheet):
        sheet.append(["Country", "City", None, "担当者"])
        sheet.append([None, "Name", "Population"])
        sheet.append(["JP", "東京", 9733276, "山田"])
        sheet.append([None, "Osaka", 2592413, "佐藤"])
        sheet.append([])
        sheet.append(["BR", "サンパウロ", 12400232, None])
        for cells in ("A1:A2", "B1:C1", "A3:A4"):
            sheet.merge_cells(cells)

    table = read_table(xlsx(build), "a.xlsx")
    assert table.columns == ["country", "city_name", "city_population", "担当者"]
    assert table.header_row == 1
    assert values(table) == [
        (3, {"country": "JP", "city_name": "東京", "city_population": "9733276", "担当者": "山田"}),
        (4, {"country": "JP", "city_name": "Osaka", "city_population": "2592413", "担当者": "佐藤"}),
        (6, {"country": "BR", "city_name": "サンパウロ", "city_population": "12400232", "担当者": ""}),
    ]
    with_schema = read_table(xlsx(build), "a.xlsx", schema=SCHEMAS["embassies"])
    assert with_schema.columns == ["country"]
    assert sorted(w.column for w in with_schema.warnings) == ["B", "C", "D"]


def test_xlsx_extra_column_with_a_schema_is_a_warning():
    def build(sheet):
        sheet.append(["ネットワーク", "都市名", "国", "Extra"])
        sheet.append(["C40", "東京", "日本", "x"])

    table = read_table(xlsx(build), "members.xlsx", schema=SCHEMAS["network-members"])
    assert table.columns == ["network", "city", "country"]
    assert [(w.row, w.column) for w in table.warnings] == [(1, "D")]
    assert values(table) == [(2, {"network": "C40", "city": "東京", "country": "日本"})]


def test_xlsx_where_the_table_starts_off_the_corner_keeps_rows_and_columns():
    def build(sheet):
        sheet["C3"], sheet["D3"] = "City", "Country"
        sheet["C4"], sheet["D4"] = "Paris", "FR"
        sheet["C6"], sheet["E6"] = "Lyon", "stray"

    table = read_table(xlsx(build), "a.xlsx")
    assert (table.header_row, table.letters) == (3, {"city": "C", "country": "D"})
    assert values(table) == [(4, {"city": "Paris", "country": "FR"}), (6, {"city": "Lyon", "country": ""})]
    assert [(w.row, w.column) for w in table.warnings] == [(6, "E")]


def test_xlsx_cells_merged_down_a_long_stretch_are_filled_on_every_row():
    def build(sheet):
        sheet.append(["Country", "City"])
        for i in range(2, 2502):
            sheet.append(["JP" if i == 2 else None, f"city {i}"])
        sheet.merge_cells("A2:A2501")

    table = read_table(xlsx(build), "a.xlsx")
    assert len(table.rows) == 2500 and {r.values["country"] for r in table.rows} == {"JP"}
    assert (table.rows[-1].number, table.rows[-1].values["city"]) == (2501, "city 2501")


def test_xlsx_row_limit_stops_reading_early():
    def build(sheet):
        sheet.append(["city"])
        for i in range(20_000):
            sheet.append([f"c{i}"])

    data = xlsx(build)
    started = time.perf_counter()
    with pytest.raises(TableError, match="more than 100 rows") as caught:
        read_table(data, "a.xlsx", max_rows=100)
    assert caught.value.row == 102
    assert time.perf_counter() - started < 1


def test_xlsx_row_limit():
    def build(sheet):
        sheet.append(["city"])
        for i in range(6):
            sheet.append([f"c{i}"])

    with pytest.raises(TableError, match="more than 5 rows") as caught:
        read_table(xlsx(build), "a.xlsx", max_rows=5)
    assert caught.value.row == 7


# Writing


COLUMNS = {"name": "Name", "name_ja": "日本語名", "since": "Since", "phone": "Phone", "note": "Note", "n": "Count"}
ROWS = [
    {"name": "São Paulo", "name_ja": "サンパウロ", "since": date(1970, 6, 5), "phone": "+55 11 1234-5678",
     "note": "=HYPERLINK(\"http://evil\")", "n": 3},
    {"name": "Tokyo", "name_ja": None, "since": datetime(2024, 1, 2, 3, 4, tzinfo=UTC), "phone": "-",
     "note": "@SUM(A1)", "n": None},
]


def test_csv_export_has_a_bom_and_reads_back():
    data = write_csv(ROWS, COLUMNS)
    assert data.startswith(b"\xef\xbb\xbfName,\xe6\x97\xa5") and b"\r\n" in data
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(COLUMNS.values())
    assert rows[1] == ["São Paulo", "サンパウロ", "1970-06-05", "+55 11 1234-5678", "'=HYPERLINK(\"http://evil\")", "3"]
    assert rows[2] == ["Tokyo", "", "2024-01-02 03:04:00", "-", "'@SUM(A1)", ""]
    back = read_table(data, "export.csv")
    assert back.encoding == "utf-8-sig"
    assert back.rows[0].values["note"] == "=HYPERLINK(\"http://evil\")"  # the apostrophe is taken off again


def test_xlsx_export_bold_header_widths_and_text_never_a_formula():
    data = write_xlsx(ROWS, COLUMNS, "Partners: sister/friendship cities [2024]")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Partners  sister friendship cit"
    assert [c.value for c in sheet[1]] == list(COLUMNS.values())
    assert all(c.font.bold for c in sheet[1]) and not sheet["A2"].font.bold
    assert sheet["C2"].value == datetime(1970, 6, 5) and sheet["C2"].number_format == "yyyy-mm-dd"
    assert sheet["C3"].value == datetime(2024, 1, 2, 3, 4)
    assert sheet["E2"].data_type == "s" and sheet["E2"].value == "=HYPERLINK(\"http://evil\")"
    assert sheet["F2"].value == 3
    assert sheet.column_dimensions["B"].width >= 12  # サンパウロ: five wide characters
    assert sheet.freeze_panes == "A2"
    back = read_table(data, "export.xlsx")
    assert back.rows[0].values["日本語名"] == "サンパウロ" and back.rows[1].values["note"] == "@SUM(A1)"


def test_headers_may_be_lazy_translations(app):
    from flask_babel import lazy_gettext

    with app.test_request_context(), force_locale("ja"):
        columns = {"email": lazy_gettext("Email")}
        assert write_csv([{"email": "a@example.org"}], columns).decode("utf-8-sig").startswith("メールアドレス\r\n")
        sheet = load_workbook(io.BytesIO(write_xlsx([], columns, "x"))).active
        assert sheet["A1"].value == "メールアドレス"


def test_empty_exports_still_have_their_header():
    assert write_csv([], {"a": "A"}) == b"\xef\xbb\xbfA\r\n"
    assert [c.value for c in load_workbook(io.BytesIO(write_xlsx([], {"a": "A"}, ""))).active[1]] == ["A"]
