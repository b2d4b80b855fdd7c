"""Contacts and organisations out as CSV, XLSX and vCard: what the files hold, and who may take them."""

import csv
import io

import pytest
import vobject
from openpyxl import load_workbook

from kizuna.models import Role
from partners import exchange, services


@pytest.fixture
def yamada(make_contact, make_organisation, staff):
    organisation = make_organisation(name="Tokyo Metropolitan Government", kind="company")
    contact = make_contact(family_name="Yamada", given_name="Taro", family_name_local="山田", given_name_local="太郎",
                           country_code="JP", languages=["ja", "en"], preferred_language="ja",
                           emails=["taro@example.jp"], phones=["+81 3-5321-1111"], notes="Likes =SUM(A1)",
                           tags=["G20"], timezone_override="Asia/Tokyo")
    services.add_position(contact_id=contact.id, organisation_id=organisation.id, actor=staff, title="Director",
                          department="International Affairs")
    return contact


def test_vcard_4_holds_both_scripts_e164_tel_uri_languages_and_position(yamada):
    text = exchange.contact_vcard(yamada, "4.0")
    assert "VERSION:4.0" in text
    assert "VALUE=uri:tel:+81353211111" in text
    card = vobject.readOne(text)
    fns = [fn.value for fn in card.contents["fn"]]
    assert "Taro Yamada" in " ".join(fns) or "YAMADA" in " ".join(fns).upper()
    assert "山田 太郎" in fns
    local = next(fn for fn in card.contents["fn"] if fn.value == "山田 太郎")
    assert local.params["ALTID"] == ["1"] and local.params["LANGUAGE"] == ["ja"]
    langs = {lang.value: lang.params.get("PREF") for lang in card.contents["lang"]}
    assert langs == {"en": None, "ja": ["1"]}
    assert card.org.value == ["Tokyo Metropolitan Government", "International Affairs"]
    assert card.title.value == "Director"
    assert card.tz.value == "Asia/Tokyo"
    assert card.email.value == "taro@example.jp"


def test_vcard_3_keeps_the_local_name_in_an_x_field(yamada):
    card = vobject.readOne(exchange.contact_vcard(yamada, "3.0"))
    assert card.version.value == "3.0"
    assert card.contents["x-kizuna-fn-local"][0].value == "山田 太郎"
    assert card.tel.value == "+81353211111"


def test_vcard_reads_back_through_the_import_reader(yamada):
    cards = exchange.read_vcards(exchange.contact_vcard(yamada, "4.0").encode())
    values = cards[0].values
    assert (values["family_name"], values["given_name"]) == ("Yamada", "Taro")
    assert (values["family_name_local"], values["given_name_local"]) == ("山田", "太郎")
    assert values["emails"] == "taro@example.jp" and values["phones"] == "+81353211111"
    assert values["preferred_language"] == "ja"


def test_editor_exports_contacts_as_csv_formula_safe(as_role, yamada):
    client = as_role(Role.EDITOR)
    response = client.get("/partners/contacts/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    row = next(r for r in rows if r["Family name"] == "Yamada")
    assert row["Family name (own script)"] == "山田"
    assert row["Emails"] == "taro@example.jp"
    assert row["Organisation"] == "Tokyo Metropolitan Government"
    assert row["Notes"] == "Likes =SUM(A1)"  # not at the start: no apostrophe needed


def test_export_quotes_a_value_excel_would_run(as_role, make_contact):
    make_contact(family_name="=HYPERLINK(\"http://x\")", given_name="Eve")
    client = as_role(Role.ADMIN)
    text = client.get("/partners/contacts/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_editor_exports_xlsx_and_organisations(as_role, yamada):
    client = as_role(Role.EDITOR)
    response = client.get("/partners/contacts/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    headers = [c.value for c in sheet[1]]
    values = [c.value for c in sheet[2]]
    assert dict(zip(headers, values, strict=True))["Given name"] == "Taro"
    response = client.get("/partners/organisations/export.csv")
    assert "Tokyo Metropolitan Government" in response.data.decode("utf-8-sig")


def test_single_contact_vcard_download(as_role, yamada):
    client = as_role(Role.EDITOR)
    response = client.get(f"/partners/contacts/{yamada.id}/vcard")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/vcard")
    assert "attachment" in response.headers["Content-Disposition"]
    assert "BEGIN:VCARD" in response.data.decode()
    whole = client.get("/partners/contacts/export.vcf?version=3.0").data.decode()
    assert "VERSION:3.0" in whole


@pytest.mark.parametrize("role", [Role.VIEWER, Role.LIAISON, Role.DELEGATE])
def test_viewers_and_external_users_cannot_export(as_role, yamada, role):
    client = as_role(role)
    for path in ("/partners/contacts/export.csv", "/partners/contacts/export.xlsx", "/partners/contacts/export.vcf",
                 "/partners/organisations/export.csv", f"/partners/contacts/{yamada.id}/vcard", "/partners/export"):
        assert client.get(path).status_code == 403, path


def test_erased_contacts_are_not_exported(as_role, yamada, make_user):
    from partners import privacy

    privacy.forget_contact(contact_id=yamada.id, actor=make_user(Role.ADMIN))
    client = as_role(Role.EDITOR)
    assert "Yamada" not in client.get("/partners/contacts/export.csv").data.decode("utf-8-sig")
    assert client.get(f"/partners/contacts/{yamada.id}/vcard").status_code == 404
