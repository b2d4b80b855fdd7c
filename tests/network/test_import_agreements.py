"""Agreements from a spreadsheet: parties matched to registered partners, kinds and areas in English or Japanese,
renewals of earlier rows or registered agreements, every problem at its row and column, all rows or none."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kizuna.extensions import db
from network import importing, services
from network.models import Agreement, PartnerKind


def count_agreements() -> int:
    return db.session.scalar(select(func.count()).select_from(Agreement))


@pytest.fixture
def partners(db_session, make_partner):
    made = {"paris": make_partner(name="Paris", local_name="Paris", name_ja="パリ", country_code="FR"),
            "seoul": make_partner(name="Seoul", name_ja="ソウル", country_code="KR"),
            "sao_paulo": make_partner(name="São Paulo", country_code="BR"),
            "sao_paulo_state": make_partner(name="São Paulo", country_code="BR", kind=PartnerKind.SUBNATIONAL),
            "paris_tx": make_partner(name="Paris", country_code="US")}
    db.session.flush()
    return made


def lines(report) -> str:
    return "\n".join(report.lines())


JAPANESE = """協定名,種別,締結先,締結日,有効期間（月）,協力分野,署名者,備考
東京・パリ協力覚書,覚書,パリ (FR),2018-05-03,36,脱炭素、文化,"パリ: Anne Hidalgo, Mayor; 小池百合子 (東京都知事)",
Seoul-Tokyo joint statement,共同声明,ソウル; Paris (FR),2019-07,,digital; Tourism,,月の精度
"""


def test_japanese_headers_kinds_and_areas_are_saved_with_matched_parties(partners):
    report = importing.commit("agreements", JAPANESE.encode("cp932"), "agreements.csv", actor=None)
    assert report.created == 2, lines(report)
    mou, statement = db.session.scalars(select(Agreement).order_by(Agreement.signed_on)).all()
    assert (mou.kind.value, mou.signed_on, mou.signed_precision.value) == ("mou", date(2018, 5, 3), "day")
    assert mou.expires_on == date(2021, 5, 3) and mou.term_months == 36
    assert [p.id for p in mou.parties] == [partners["paris"].id]
    assert sorted(a.code for a in mou.areas) == ["culture", "decarbonisation"]
    assert [(s.partner_id, s.name, s.title) for s in mou.signatories] == [
        (partners["paris"].id, "Anne Hidalgo", "Mayor"), (None, "小池百合子", "東京都知事")]
    assert (statement.kind.value, statement.signed_on, statement.signed_precision.value) == (
        "joint_statement", date(2019, 7, 1), "month")
    assert {p.name for p in statement.parties} == {"Seoul", "Paris"}
    assert sorted(a.code for a in statement.areas) == ["digital", "tourism"]
    assert statement.notes == "月の精度"


def test_a_renewal_of_an_earlier_row_links_to_it(partners):
    data = (b"title,kind,partners,signed,renews,renewal or revision\n"
            b"Water MOU,MOU,Seoul,2015-04-01,,\n"
            b"Water MOU,MOU,Seoul,2020-04-01,Water MOU (2015-04),revision\n")
    assert importing.preview("agreements", data, "a.csv").ok
    assert count_agreements() == 0
    importing.commit("agreements", data, "a.csv", actor=None)
    first, second = db.session.scalars(select(Agreement).order_by(Agreement.signed_on)).all()
    assert second.previous_id == first.id and second.succession.value == "revision"


def test_a_renewal_of_a_registered_agreement_defaults_to_renewal(partners):
    old = services.create_agreement(title="Friendship agreement", kind="friendship_agreement",
                                    party_ids=[partners["seoul"].id], signed_on=date(2010, 1, 1), actor=None)
    data = "title,kind,partners,signed,renews\nFriendship agreement,友好協定,ソウル,2020-01-01,friendship AGREEMENT\n"
    importing.commit("agreements", data.encode(), "a.csv", actor=None)
    new = db.session.scalar(select(Agreement).where(Agreement.signed_on == date(2020, 1, 1)))
    assert new.previous_id == old.id and new.succession.value == "renewal"


@pytest.mark.parametrize(("cell", "expected"), [
    ("Atlantis", 'Row 2, column C: no partner in the registry is called "Atlantis"'),
    ("Paris", 'Row 2, column C: several partners are called "Paris": Paris (FR); Paris (US). Write which, as in '
              '"Paris (FR)"'),
    ("Sao Paulo (BR)", 'several partners are called "Sao Paulo (BR)": São Paulo (BR, City); São Paulo (BR, '
                       "Sub-national government)"),
])
def test_an_unknown_or_ambiguous_party_is_named_at_its_row_and_column(partners, cell, expected):
    data = f"title,kind,partners\nA,MOU,{cell}\n".encode()
    report = importing.preview("agreements", data, "a.csv")
    assert expected in lines(report)
    with pytest.raises(importing.ImportRefused):
        importing.commit("agreements", data, "a.csv", actor=None)
    assert count_agreements() == 0


def test_a_qualified_party_is_found_among_its_namesakes(partners):
    data = "title,kind,partners\nA,MOU,\"São Paulo (BR, state)\"\nB,MOU,Paris (United States)\n".encode()
    report = importing.commit("agreements", data, "a.csv", actor=None)
    assert report.created == 2
    a, b = db.session.scalars(select(Agreement).order_by(Agreement.title)).all()
    assert [p.id for p in a.parties] == [partners["sao_paulo_state"].id]
    assert [p.id for p in b.parties] == [partners["paris_tx"].id]


@pytest.mark.parametrize(("row", "expected"), [
    ("A,MOU,Seoul,2018-13-01,,,", 'Row 2, column D: "2018-13-01" is not a date'),
    ("A,MOU,Seoul,2999-01-01,,,", "Row 2, column D: 2999-01-01 is in the future"),
    ("A,MOU,Seoul,2018-05-03,,2018-05-01,", "Row 2, column F: an agreement cannot expire (2018-05-01) before it "
                                             "is signed (2018-05-03)"),
    ("A,MOU,Seoul,2018-05-03,forever,,", 'Row 2, column E: "forever" is not a term in months'),
    ("A,MOU,Seoul,2018-05-03,,2020-05,", 'Row 2, column F: "2020-05" is not a day'),
    ("A,treaty,Seoul,2018-05-03,,,", 'Row 2, column B: "treaty" is not a kind of agreement; write one of: '
                                     "Memorandum of understanding, Joint statement"),
    ("A,MOU,Seoul,2018-05-03,,,space", 'Row 2, column G: "space" is not a cooperation area; the areas are: '),
    (",MOU,Seoul,2018-05-03,,,", "Row 2, column A: title is empty."),
])
def test_bad_cells_are_named_at_their_row_and_column_and_nothing_is_saved(partners, row, expected):
    data = f"title,kind,partners,signed,term,expires,areas\nOK,MOU,Seoul,2017-01-01,,,\n{row}\n".encode()
    with pytest.raises(importing.ImportRefused) as refused:
        importing.commit("agreements", data, "a.csv", actor=None)
    text = lines(refused.value.report).replace("row 3", "row 2").replace("Row 3", "Row 2")
    assert expected in text, text
    assert count_agreements() == 0


def test_duplicates_in_the_file_and_of_the_registry_are_refused(partners):
    services.create_agreement(title="Culture MOU", kind="mou", party_ids=[partners["seoul"].id],
                              signed_on=date(2016, 3, 1), actor=None)
    data = (b"title,kind,partners,signed\nCulture MOU,MOU,Seoul,2016-03-01\nSports MOU,MOU,Seoul,2017-03\n"
            b"sports mou,MOU,Seoul,2017-03\n")
    report = importing.preview("agreements", data, "a.csv")
    text = lines(report)
    assert 'Row 2, column A: the registry already holds "Culture MOU" signed on the same date.' in text
    assert "Row 4, column A: the same title and signing date as row 3." in text
    assert report.rows[1].ok
    assert count_agreements() == 1


def test_a_refusal_only_the_service_knows_is_found_by_the_preview(partners):
    """A renewal shares a party with what it renews: the rule lives in the service, the preview asks it."""
    data = (b"title,kind,partners,signed,renews\nWater MOU,MOU,Seoul,2015-04-01,\n"
            b"Water MOU,MOU,Paris (FR),2020-04-01,Water MOU\n")
    report = importing.preview("agreements", data, "a.csv")
    assert "Row 3, column E: A renewal or revision shares at least one partner" in lines(report)
    assert count_agreements() == 0


def test_what_a_row_renews_must_be_found_once(partners):
    for year in (2010, 2015):
        services.create_agreement(title="Water MOU", kind="mou", party_ids=[partners["seoul"].id],
                                  signed_on=date(year, 4, 1), actor=None)
    data = (b"title,kind,partners,signed,renews\nNew,MOU,Seoul,2020-04-01,Water MOU\n"
            b"Newer,MOU,Seoul,2021-04-01,Air MOU\nNewest,MOU,Seoul,2022-04-01,Water MOU (2015)\n")
    text = lines(importing.preview("agreements", data, "a.csv"))
    assert ('Row 2, column E: several agreements are called "Water MOU" (2010-04-01, 2015-04-01); add the signing '
            "date") in text
    assert 'Row 3, column E: no agreement called "Air MOU" is in the registry or in an earlier row.' in text
    assert "row 4: ok Seoul (KR)" in text


def test_a_file_without_a_parties_column_is_refused_whole(partners):
    from network.tabular import TableError

    with pytest.raises(TableError, match="no column for partners"):
        importing.preview("agreements", b"title,kind\nA,MOU\n", "a.csv")


def test_agreements_from_the_cli_with_dry_run(app, partners, tmp_path):
    path = tmp_path / "agreements.csv"
    path.write_text("title,kind,parties,signed\nTokyo–Seoul MOU,MOU,Seoul,2014-07\n", encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import", "agreements", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "row 2: ok Seoul (KR)" in dry.output and "1 of 1 rows ready" in dry.output
    assert count_agreements() == 0
    done = runner.invoke(args=["import", "agreements", str(path)])
    assert done.exit_code == 0, done.output
    assert count_agreements() == 1
    again = runner.invoke(args=["import", "agreements", str(path)])
    assert again.exit_code != 0 and "already holds" in again.output


def test_an_xlsx_with_date_and_number_cells_is_read_as_the_file_shows_them(partners):
    book = Workbook()
    sheet = book.active
    sheet.append(["Title", "Type", "Parties", "Date signed", "Term (months)", "Cooperation areas", "Renews"])
    sheet.append(["Tokyo-Paris MOU", "Memorandum of Understanding", "Paris (France)", date(2014, 7, 1), 60,
                  "Culture", None])
    sheet.append(["Tokyo-Paris MOU", "MOU", "パリ (FR)", date(2019, 7, 1), 60.0, "Public health; 観光",
                  "Tokyo-Paris MOU"])
    out = io.BytesIO()
    book.save(out)
    report = importing.commit("agreements", out.getvalue(), "agreements.xlsx", actor=None)
    assert report.created == 2
    first, second = db.session.scalars(select(Agreement).order_by(Agreement.signed_on)).all()
    assert (first.expires_on, second.previous_id) == (date(2019, 7, 1), first.id)
    assert sorted(a.code for a in second.areas) == ["public_health", "tourism"]
