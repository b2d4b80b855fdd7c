"""Contacts imported from CSV, XLSX and vCard: matched, checked, duplicates resolved, all rows or none."""

import io
import quopri

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import Role
from partners import importing
from partners.models import Contact, ContactEmail, Position
from tests.conftest import csrf_token

HEADER = "family name,given name,organisation,position,email,phone,country,city,languages\n"


@pytest.fixture
def tmg(make_organisation):
    return make_organisation(name="Tokyo Metropolitan Government", name_local="東京都庁")


def count_contacts() -> int:
    return db.session.scalar(select(func.count()).select_from(Contact))


def test_csv_rows_become_contacts_with_positions(tmg, staff):
    data = (HEADER + "Yamada,Taro,東京都庁,Director,taro@example.jp,03-5321-1111,JP,Tokyo,ja; en\n"
            "Kim,Minjun,tokyo metropolitan government,,minjun@example.kr,+82 2-2133-0000,KR,,ko\n").encode()
    report = importing.preview(data, "contacts.csv")
    assert report.ok, report.lines()
    assert [r.organisation_id for r in report.rows] == [tmg.id, tmg.id]  # by either name, folded
    done = importing.commit(data, "contacts.csv", actor=staff)
    assert done.created == 2
    taro = db.session.scalar(select(Contact).where(Contact.family_name == "Yamada"))
    assert taro.phones[0].number == "+81353211111"
    assert taro.city.name == "Tokyo" and taro.language_codes == ["en", "ja"]
    assert [(p.organisation_id, p.title) for p in taro.positions] == [(tmg.id, "Director")]


def test_shift_jis_csv_with_japanese_headers(tmg, staff):
    data = "姓,名,姓（漢字）,名（漢字）,所属,メールアドレス\nSato,Hanako,佐藤,花子,東京都庁,hanako@example.jp\n"
    report = importing.commit(data.encode("cp932"), "連絡先.csv", actor=staff)
    assert report.created == 1
    hanako = db.session.scalar(select(Contact).where(Contact.family_name_local == "佐藤"))
    assert hanako.given_name_local == "花子" and hanako.primary_email == "hanako@example.jp"


def test_utf8_bom_and_xlsx_are_read(tmg, staff):
    bom = "\ufeff" + HEADER + "Doe,Jane,,,jane@example.org,,GB,,\n"
    assert importing.preview(bom.encode("utf-8"), "c.csv").ok
    book = Workbook()
    book.active.append(["Family name", "Given name", "Emails"])
    book.active.append(["Lee", "Ana", "ana@example.org"])
    out = io.BytesIO()
    book.save(out)
    assert importing.commit(out.getvalue(), "c.xlsx", actor=staff).created == 1


def test_bad_email_phone_and_organisation_are_named_at_row_and_column_and_nothing_is_saved(tmg, staff):
    data = (HEADER + "Good,Row,,,good@example.org,,GB,,\n"
            "Bad,Row,Nowhere Inc,,not-an-email,12,JP,,xx-yy-zz\n").encode()
    before = count_contacts()
    report = importing.preview(data, "c.csv")
    issues = [str(i) for i in report.rows[1].issues]
    assert any("Row 3, column E" in i and "not-an-email" in i for i in issues)
    assert any("Row 3, column F" in i for i in issues)
    assert any("Row 3, column C" in i and "Nowhere Inc" in i for i in issues)
    assert any("Row 3, column I" in i for i in issues)
    with pytest.raises(importing.ImportRefused):
        importing.commit(data, "c.csv", actor=staff)
    assert count_contacts() == before


def test_duplicates_of_known_contacts_and_of_other_rows_must_be_resolved(tmg, make_contact, staff):
    known = make_contact(family_name="Smith", given_name="Ann", emails=["ann@example.org"])
    data = (HEADER + "Smyth,Annie,,,ANN@example.org,,GB,,\n"
            "New,Person,,,new@example.org,+44 20 7946 0000,GB,,\n"
            "Other,Person,,,other@example.org,+44 20 7946 0000,GB,,\n").encode()
    report = importing.preview(data, "c.csv")
    assert not report.ok
    assert f"#{known.id}" in report.rows[0].duplicates[0]
    assert "row 3" in report.rows[2].duplicates[0]
    assert report.rows[1].ok
    before = count_contacts()
    with pytest.raises(importing.ImportRefused):
        importing.commit(data, "c.csv", actor=staff)
    assert count_contacts() == before
    done = importing.commit(data, "c.csv", actor=staff, resolutions={2: "skip", 4: "import"})
    assert (done.created, done.skipped) == (2, 1)
    assert db.session.scalar(select(func.count()).select_from(ContactEmail)
                             .where(ContactEmail.address == "ann@example.org")) == 1


def test_same_name_at_the_same_organisation_is_a_duplicate(tmg, make_contact, staff):
    from partners import services

    known = make_contact(family_name="Yamada", given_name="Taro")
    services.add_position(contact_id=known.id, organisation_id=tmg.id, actor=staff)
    data = (HEADER + "YAMADA,taro,Tokyo Metropolitan Government,,,,JP,,\n").encode()
    assert importing.preview(data, "c.csv").rows[0].duplicates


VCARDS = """BEGIN:VCARD
VERSION:3.0
N:Kovács;Anna;;;
FN:Anna Kovács
item1.EMAIL;type=INTERNET;type=pref:anna@example.hu
item1.X-ABLabel:_$!<Other>!$_
TEL;type=CELL;type=VOICE;type=pref:+36 1 234 5678
X-SOCIALPROFILE;type=twitter:http://twitter.com/anna
NOTE:A long note that Apple folds
  over two lines
PHOTO;ENCODING=b;TYPE=JPEG:notreallybase64
END:VCARD
BEGIN:VCARD
VERSION:2.1
N;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:{family};{given}
FN;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:{family}=20{given}
TEL;CELL;PREF:+81-90-1234-5678
EMAIL;INTERNET:suzuki@example.jp
NOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0A=
second line
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Broken Card
EMAIL:broken
X-MS-OL-DEFAULT-POSTAL-ADDRESS:0
END:VCARD
"""


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("cp932")).decode()


def test_vcards_from_apple_google_outlook_and_phones_are_read_unknown_fields_ignored(staff):
    data = VCARDS.format(family=_qp("鈴木"), given=_qp("一郎")).encode()
    report = importing.preview(data, "contacts.vcf")
    first, second, third = report.rows
    assert first.ok and first.fields["emails"] == ["anna@example.hu"]
    assert first.fields["phones"] == ["+3612345678"]
    assert first.fields["notes"] == "A long note that Apple folds over two lines"
    assert second.ok and second.fields["family_name_local"] == "鈴木" and second.fields["given_name_local"] == "一郎"
    assert second.fields["notes"] == "first line\r\nsecond line"
    assert [str(i) for i in third.issues] == ["Card 3, EMAIL: broken is not a valid email address."]
    before = count_contacts()
    with pytest.raises(importing.ImportRefused):
        importing.commit(data, "contacts.vcf", actor=staff)
    assert count_contacts() == before


def test_a_file_that_is_no_table_or_vcard_is_refused_clearly():
    from network.tabular import TableError

    with pytest.raises(TableError):
        importing.preview(b"BEGIN:VCARD\nVERSION:3.0\n", "x.vcf")
    with pytest.raises(TableError):
        importing.preview(b"", "x.csv")


def test_upload_preview_resolve_and_save_through_the_pages(as_role, make_contact):
    make_contact(family_name="Smith", given_name="Ann", emails=["ann@example.org"])
    client = as_role(Role.EDITOR)
    data = (HEADER + "Smyth,Annie,,,ann@example.org,,GB,,\nNew,Person,,,new@example.org,,GB,,\n").encode()
    response = client.post("/partners/import", data={"csrf_token": csrf_token(client, "/partners/import"),
                                                     "file": (io.BytesIO(data), "c.csv")})
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    page = client.get(preview_url)
    text = page.get_data(as_text=True)
    assert "Possible duplicate" in text and 'name="resolve-2"' in text
    token = csrf_token(client, preview_url)
    refused = client.post(preview_url, data={"csrf_token": token, "save": "1"})
    assert refused.status_code == 422
    assert count_contacts() == 1
    saved = client.post(preview_url, data={"csrf_token": token, "save": "1", "resolve-2": "skip"})
    assert saved.status_code == 303
    assert count_contacts() == 2


def test_bad_upload_is_refused_at_the_file_field(as_role):
    client = as_role(Role.EDITOR)
    response = client.post("/partners/import", data={"csrf_token": csrf_token(client, "/partners/import"),
                                                     "file": (io.BytesIO(b"\x89PNG\r\n\x1a\n...."), "c.csv")})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_viewer_cannot_import(as_role):
    client = as_role(Role.VIEWER)
    response = client.post("/partners/import", data={"csrf_token": csrf_token(client, "/account"),
                                                     "file": (io.BytesIO(HEADER.encode()), "c.csv")})
    assert response.status_code == 403
    assert count_contacts() == 0


def test_cli_imports_contacts_with_dry_run_and_resolutions(app, tmp_path, make_contact):
    make_contact(family_name="Smith", given_name="Ann", emails=["ann@example.org"])
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + "Smyth,Annie,,,ann@example.org,,GB,,\nNew,Person,,,new@example.org,,GB,,\n")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import", "contacts", str(path), "--dry-run"])
    assert dry.exit_code == 1 and "possible duplicate" in dry.output
    assert count_contacts() == 1
    done = runner.invoke(args=["import", "contacts", str(path), "--resolve", "2=skip"])
    assert done.exit_code == 0, done.output
    assert "1 saved, 1 skipped" in done.output
    assert count_contacts() == 2
    assert db.session.scalar(select(func.count()).select_from(Position)) == 0


def test_an_ambiguous_city_is_chosen_on_the_preview_page(as_role):
    from network.matching import MatchStatus

    data = (HEADER + "Doe,John,,,john@example.org,,US,Springfield,en\n").encode()
    report = importing.preview(data, "c.csv")
    city = report.rows[0].city
    assert city.status == MatchStatus.AMBIGUOUS and not report.ok
    client = as_role(Role.EDITOR)
    response = client.post("/partners/import", data={"csrf_token": csrf_token(client, "/partners/import"),
                                                     "file": (io.BytesIO(data), "c.csv")})
    preview_url = response.headers["Location"]
    text = client.get(preview_url).get_data(as_text=True)
    assert f'name="choice-2" id="choice-2-{city.candidates[0].id}"' in text
    token = csrf_token(client, preview_url)
    saved = client.post(preview_url, data={"csrf_token": token, "save": "1", "choice-2": str(city.candidates[1].id)})
    assert saved.status_code == 303
    assert db.session.scalar(select(Contact).where(Contact.given_name == "John")).city_id == city.candidates[1].id


def test_a_shift_jis_vcard_21_from_a_phone_with_domestic_numbers(tmg, staff):
    card = ("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:山田;花子\r\nFN;CHARSET=SHIFT_JIS:山田 花子\r\n"
            "TEL;HOME:03-5321-1111\r\nTEL;CELL;PREF:090-1234-5678\r\nEMAIL;INTERNET;PREF:hanako@example.jp\r\n"
            "ORG;CHARSET=SHIFT_JIS:東京都庁;国際部\r\nX-GN:unknown\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nFN:Only Formatted\r\nEND:VCARD\r\n")
    report = importing.commit(card.encode("cp932"), "phone.vcf", actor=staff)
    assert report.created == 2
    hanako = db.session.scalar(select(Contact).where(Contact.family_name_local == "山田"))
    assert [p.number for p in hanako.phones] == ["+819012345678", "+81353211111"]  # the PREF one first
    assert [(p.organisation_id, p.department) for p in hanako.positions] == [(tmg.id, "国際部")]
    assert db.session.scalar(select(Contact).where(Contact.family_name == "Formatted")).given_name == "Only"


def test_a_vcard_address_in_an_unknown_country_is_named_at_its_card(staff):
    data = (b"BEGIN:VCARD\nVERSION:3.0\nN:Tumnus;Mr;;;\nADR;TYPE=WORK:;;1 Lamp-post;Cair Paravel;;;Narnia\n"
            b"END:VCARD\n")
    report = importing.preview(data, "x.vcf")
    assert [str(i) for i in report.rows[0].issues] == [
        'Card 1, ADR: "Narnia" is not a country code or name that the registry knows.']


def test_google_and_outlook_csv_exports_are_read_by_their_own_headers(staff):
    google = ("Name,Given Name,Additional Name,Family Name,Yomi Name,Group Membership,E-mail 1 - Type,"
              "E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Name,"
              "Organization 1 - Title\n"
              "Ana Lee,Ana,,Lee,,* myContacts,* Work,ana@example.org,Home,ana.home@example.org,Mobile,"
              "+1 202 555 0100,,\n")
    report = importing.preview(google.encode(), "google.csv")
    assert report.ok, report.lines()
    assert report.rows[0].fields["emails"] == ["ana@example.org"]
    outlook = ("First Name,Last Name,E-mail Address,Business Phone,Mobile Phone,Company,Job Title\n"
               "Ben,Ode,ben@example.org,+44 20 7946 0000,+44 7700 900123,,\n")
    report = importing.preview(outlook.encode(), "outlook.csv")
    assert report.ok, report.lines()
    assert report.rows[0].fields["phones"] == ["+442079460000"]


def test_a_vcard_file_over_the_row_limit_is_refused_whole(app, db_session):
    from network.tabular import TableError

    data = b"BEGIN:VCARD\nVERSION:3.0\nFN:A B\nEND:VCARD\n" * 3
    app.config["IMPORT_MAX_ROWS"] = 2
    try:
        with pytest.raises(TableError, match="more than 2 rows"):
            importing.preview(data, "x.vcf")
    finally:
        del app.config["IMPORT_MAX_ROWS"]
