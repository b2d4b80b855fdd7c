"""Spreadsheets in and out of the registry's pages: upload, preview with choices, all-or-nothing save, exports."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from kizuna.extensions import db
from network import importing, services
from network.models import Agreement, NetworkMember, Partner
from tests.conftest import csrf_token

PARTNERS = """名称,国,都市,提携種別,提携日
Kawasaki partners,JP,Kawasaki,,
Fuchu people,JP,府中,,
Seoul friends,KR,Seoul,友好都市,2014-07
"""


def count_partners() -> int:
    return db.session.scalar(select(func.count()).select_from(Partner))


def upload(client, data: bytes, filename: str, kind: str = "partners"):
    return client.post("/network/import", data={"csrf_token": csrf_token(client, "/network/import"), "kind": kind,
                                                "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def preview_path(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.location


def test_a_shift_jis_file_with_an_ambiguous_city_is_saved_with_the_readers_choice(as_role):
    client = as_role("editor")
    path = preview_path(upload(client, PARTNERS.encode("cp932"), "partners.csv"))
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Needs a choice" in html and "<legend>" in html
    picks = re.findall(r'name="choice-3" id="choice-3-(\d+)"', html)
    assert len(picks) >= 2, html
    token = csrf_token(client, path)
    checked = client.post(path, data={"csrf_token": token, "check": "1", "choice-3": picks[0]})
    assert checked.status_code == 200 and "3 of 3 rows ready" in checked.get_data(as_text=True)
    saved = client.post(path, data={"csrf_token": token, "save": "1", "choice-3": picks[0]})
    assert saved.status_code == 303 and saved.location.endswith("/network/partners")
    assert count_partners() == 3
    assert "3 rows saved" in client.get("/network/partners").get_data(as_text=True)


def test_an_unknown_city_blocks_the_save_and_nothing_is_saved(as_role):
    client = as_role("editor")
    data = b"name,country,city\nKawasaki partners,JP,Kawasaki\nNowhere,JP,Zzyzxqville\n"
    path = preview_path(upload(client, data, "partners.csv"))
    saved = client.post(path, data={"csrf_token": csrf_token(client, path), "save": "1"})
    html = saved.get_data(as_text=True)
    assert saved.status_code == 422
    assert "Nothing was saved" in html and "Row 3, column C" in html and "Zzyzxqville" in html
    assert count_partners() == 0


def test_a_png_named_csv_is_refused_at_the_file_field(as_role):
    client = as_role("editor")
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "partners.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="file-error"' in html and "partners.csv is a PNG file" in html
    assert 'aria-invalid="true"' in html


def test_an_xlsx_upload_is_previewed_and_saved(as_role):
    client = as_role("editor")
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Country", "City"])
    sheet.append(["Kawasaki partners", "Japan", "Kawasaki"])
    sheet.append(["Sendai partners", "JP", "Sendai"])
    out = io.BytesIO()
    book.save(out)
    path = preview_path(upload(client, out.getvalue(), "partners.xlsx"))
    assert "2 of 2 rows ready" in client.get(path).get_data(as_text=True)
    saved = client.post(path, data={"csrf_token": csrf_token(client, path), "save": "1"})
    assert saved.status_code == 303 and count_partners() == 2


def test_a_preview_of_a_file_never_uploaded_is_not_found(as_role):
    client = as_role("editor")
    assert client.get(f"/network/import/partners/{'0' * 64}").status_code == 404
    assert client.get("/network/import/partners/not-a-digest").status_code == 404
    assert client.get(f"/network/import/agreements/{'0' * 64}").status_code == 404


@pytest.fixture
def two_partners(make_partner):
    make_partner(name="Paris", country_code="FR")
    make_partner(name="Seoul", country_code="KR")
    db.session.flush()


def test_partners_export_as_csv_with_bom_and_japanese_headers(as_role, two_partners):
    client = as_role("viewer")
    client.post("/language", data={"csrf_token": csrf_token(client, "/account"), "language": "ja"})
    response = client.get("/network/partners/export.csv", query_string={"country": "fr"})
    assert response.status_code == 200
    assert re.fullmatch(r'attachment; filename="partners-\d{4}-\d{2}-\d{2}\.csv"',
                        response.headers["Content-Disposition"])
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "名前" and not rows[0][4].isascii()
    assert [row[0] for row in rows[1:]] == ["Paris"]


def test_partners_export_as_xlsx_holds_the_filtered_rows_only(as_role, two_partners):
    response = as_role("viewer").get("/network/partners/export.xlsx", query_string={"q": "seo"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Name" and [row[0] for row in values[1:]] == ["Seoul"]


def test_agreements_export_as_csv_and_xlsx(as_role):
    client = as_role("viewer")
    assert client.get("/network/agreements/export.csv").data.startswith(b"\xef\xbb\xbf")
    book = load_workbook(io.BytesIO(client.get("/network/agreements/export.xlsx").data))
    assert next(book.active.iter_rows(values_only=True))[0] == "Title"
    assert client.get("/network/agreements/export.pdf").status_code == 404


def test_viewers_may_export_but_not_import(as_role):
    client = as_role("viewer")
    assert client.get("/network/import").status_code == 403
    assert client.get(f"/network/import/partners/{'0' * 64}").status_code == 403
    assert client.get("/network/partners/export.csv").status_code == 200


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_neither_import_nor_export(as_role, role):
    client = as_role(role)
    for path in ("/network/import", f"/network/import/partners/{'0' * 64}", "/network/partners/export.csv",
                 "/network/agreements/export.xlsx"):
        assert client.get(path).status_code == 403, path


def test_a_file_over_the_size_limit_is_refused_at_the_file_field(app, as_role, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    response = upload(as_role("editor"), b"name,country\n" + b"Kawasaki partners,JP\n" * 20, "partners.csv")
    assert response.status_code == 422
    assert 'id="file-error"' in response.get_data(as_text=True)
    assert "files of at most" in response.get_data(as_text=True)


def test_an_extra_column_is_named_in_the_preview_and_ignored(as_role):
    client = as_role("editor")
    data = b"name,country,city,Favourite colour\nKawasaki partners,JP,Kawasaki,blue\n"
    html = client.get(preview_path(upload(client, data, "partners.csv"))).get_data(as_text=True)
    assert "About the file" in html and "Favourite colour" in html and "1 of 1 rows ready" in html


def test_the_list_pages_link_to_exports_of_the_same_filters(as_role):
    client = as_role("viewer")
    html = client.get("/network/partners?country=FR&kind=city").get_data(as_text=True)
    assert re.search(r'href="/network/partners/export\.xlsx\?[^"]*country=FR', html)
    html = client.get("/network/agreements?q=water").get_data(as_text=True)
    assert 'href="/network/agreements/export.csv?q=water"' in html


def test_a_header_merged_over_two_columns_is_refused_at_the_file_field(as_role):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Country", ""])
    sheet.append(["Kawasaki partners", "JP", "Japan"])
    sheet.merge_cells("B1:C1")
    out = io.BytesIO()
    book.save(out)
    response = upload(as_role("editor"), out.getvalue(), "partners.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="file-error"' in html and "merged over columns B to C" in html


def test_network_members_are_saved_and_seen_on_the_networks_map(as_role):
    client = as_role("editor")
    c40 = services.create_network(name="C40 Cities Climate Leadership Group", acronym="C40", actor=None)
    db.session.flush()
    path = preview_path(upload(client, b"network,city,country\nC40,Paris,FR\nC40,Seoul,KR\n", "members.csv",
                               kind="network-members"))
    saved = client.post(path, data={"csrf_token": csrf_token(client, path), "save": "1"})
    assert saved.status_code == 303 and saved.location.endswith("/network/networks")
    assert db.session.scalar(select(func.count()).select_from(NetworkMember)) == 2
    html = client.get(f"/network/networks/{c40.id}").get_data(as_text=True)
    svg = html.split('id="members-h"')[1].split("</svg>")[0]
    assert '<title id="members-map-title">Member cities of C40 on a world map</title>' in svg
    assert "<title>Paris — Network member, Member</title>" in svg
    assert "<title>Seoul — Network member, Member</title>" in svg


def test_a_broken_encoding_is_refused_with_the_line_that_cannot_be_read_and_not_stored(app, as_role):
    data = b"name,country\nKawasaki,JP\nBad \xff\xfe\x80 bytes,JP\n"
    response = upload(as_role("editor"), data, "partners.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="file-error"' in html and "line 3 cannot be read" in html
    assert not (Path(app.config["INSTANCE_PATH"]) / "imports" / hashlib.sha256(data).hexdigest()).exists()
    assert count_partners() == 0


def test_the_upload_page_offers_agreements(as_role):
    html = as_role("editor").get("/network/import").get_data(as_text=True)
    assert '<option value="agreements">Agreements</option>' in html


def test_agreements_are_previewed_with_their_parties_and_saved(as_role, make_partner):
    client = as_role("editor")
    make_partner(name="Seoul", name_ja="ソウル", country_code="KR")
    data = "協定名,種別,締結先,締結日\n東京・ソウル覚書,覚書,ソウル,2014-07\n".encode()
    path = preview_path(upload(client, data, "agreements.csv", kind="agreements"))
    html = client.get(path).get_data(as_text=True)
    assert "1 of 1 rows ready" in html and "Parties: Seoul (KR)" in html
    saved = client.post(path, data={"csrf_token": csrf_token(client, path), "save": "1"})
    assert saved.status_code == 303 and saved.location.endswith("/network/agreements")
    assert db.session.scalar(select(Agreement.title)) == "東京・ソウル覚書"


def test_an_agreement_with_an_unknown_party_is_shown_at_its_cell_and_nothing_is_saved(as_role, make_partner):
    client = as_role("editor")
    make_partner(name="Seoul", country_code="KR")
    data = b"title,kind,parties,signed,areas\nA,MOU,Seoul,2014-07,culture\nB,MOU,Seoul; Atlantis,2015-01,space\n"
    path = preview_path(upload(client, data, "agreements.csv", kind="agreements"))
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "1 of 2 rows ready" in html
    assert "Row 3, column C: no partner in the registry is called &#34;Atlantis&#34;" in html
    assert "Row 3, column E: &#34;space&#34; is not a cooperation area" in html
    saved = client.post(path, data={"csrf_token": csrf_token(client, path), "save": "1"})
    assert saved.status_code == 422 and "Nothing was saved" in saved.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Agreement)) == 0


def test_uploads_abandoned_for_a_day_are_swept_when_another_is_stored(app, as_role):
    folder = Path(app.config["INSTANCE_PATH"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    abandoned, recent = folder / ("a" * 64), folder / ("b" * 64)
    for path, hours in ((abandoned, 25), (recent, 23)):
        path.write_bytes(b"name,country\nX,JP\n")
        stamp = time.time() - hours * 3600
        os.utime(path, (stamp, stamp))
    preview_path(upload(as_role("editor"), b"name,country,city\nKawasaki partners,JP,Kawasaki\n", "partners.csv"))
    assert not abandoned.exists() and recent.exists()
    recent.unlink()


@pytest.fixture
def missions(make_embassy):
    make_embassy(country_code="FR", name="Embassy of France", ward="Minato", phones=["+81-3-1111-2222"])
    make_embassy(country_code="KR", name="Embassy of Korea", ward="Minato")
    make_embassy(country_code="US", name="Consulate of the US", ward="Chiyoda", mission_type="consulate")
    db.session.flush()


def test_embassies_export_honours_the_lists_filters_and_sort(as_role, missions):
    client = as_role("viewer")
    response = client.get("/network/embassies/export.csv", query_string={"ward": "Minato", "sort": "country"})
    assert response.status_code == 200
    assert re.fullmatch(r'attachment; filename="embassies-\d{4}-\d{2}-\d{2}\.csv"',
                        response.headers["Content-Disposition"])
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Name", "Japanese name", "Country", "Kind of mission"]
    assert [(row[0], row[2]) for row in rows[1:]] == [("Embassy of France", "France"),
                                                      ("Embassy of Korea", "Korea, Republic of")]
    assert "'+81-3-1111-2222" not in response.data.decode("utf-8-sig") and "+81-3-1111-2222" in rows[1]
    sheet = load_workbook(io.BytesIO(client.get("/network/embassies/export.xlsx",
                                                query_string={"mission_type": "consulate"}).data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Consulate of the US"]


def test_networks_and_their_members_export(as_role):
    client = as_role("viewer")
    network = services.create_network(name="C40 Cities Climate Leadership Group", acronym="C40", actor=None)
    services.create_network(name="Metropolis", actor=None)
    db.session.flush()
    members = b"network,city,country,joined\nC40,Paris,FR,2005\nC40,Seoul,KR,2006-05-01\n"
    importing.commit("network-members", members, "m.csv", actor=None)
    rows = list(csv.reader(io.StringIO(client.get("/network/networks/export.csv").data.decode("utf-8-sig"))))
    assert rows[0][0] == "Name" and [(r[0], r[5]) for r in rows[1:]] == [
        ("C40 Cities Climate Leadership Group", "2"), ("Metropolis", "0")]
    response = client.get(f"/network/networks/{network.id}/members/export.xlsx")
    assert response.status_code == 200 and 'filename="c40-members-' in response.headers["Content-Disposition"]
    values = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert values[0][:4] == ("Network", "Name", "City", "Country")
    assert [(v[1], v[3]) for v in values[1:]] == [("Paris", "France"), ("Seoul", "Korea, Republic of")]
    assert values[2][5].date().isoformat() == "2006-05-01"
    assert client.get("/network/networks/999999/members/export.csv").status_code == 404


def test_the_directory_pages_link_to_their_exports(as_role, missions):
    client = as_role("viewer")
    html = client.get("/network/embassies?ward=Minato").get_data(as_text=True)
    assert re.search(r'href="/network/embassies/export\.csv\?[^"]*ward=Minato', html)
    network = services.create_network(name="Metropolis", actor=None)
    db.session.flush()
    assert 'href="/network/networks/export.xlsx"' in client.get("/network/networks").get_data(as_text=True)
    services.add_network_member(network_id=network.id, city_id=services.resolve_city("Paris, FR").id,
                                joined_on=None, actor=None)
    html = client.get(f"/network/networks/{network.id}").get_data(as_text=True)
    assert f'href="/network/networks/{network.id}/members/export.csv"' in html


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_not_export_the_directory(as_role, role):
    client = as_role(role)
    for path in ("/network/embassies/export.csv", "/network/networks/export.xlsx",
                 "/network/networks/1/members/export.csv"):
        assert client.get(path).status_code == 403, path
