"""Import from a spreadsheet: a preview matched to reference data, the reader's choices, all rows or none."""

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kizuna import uploads
from kizuna.extensions import db
from network import importing, services
from network.models import NetworkMember, Partner, Relationship

PARTNERS_CSV = """名称,国,都市,州・省,提携種別,提携日
Kawasaki partners,JP,Kawasaki,,,
State of New South Wales,AU,,AU-NSW,友好州,1984-05-09
Fuchu people,JP,Fuchū,,,
"""


def test_preview_saves_nothing_and_points_at_the_ambiguous_row(db_session):
    report = importing.preview("partners", PARTNERS_CSV.encode("cp932", errors="replace"), "partners.csv")
    assert [r.ok for r in report.rows] == [True, True, False]
    assert "row 4" in "\n".join(report.lines()) and "candidate" in "\n".join(report.lines())
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_commit_is_all_or_nothing_then_saves_with_the_readers_choice(db_session):
    data = PARTNERS_CSV.encode("utf-8-sig")
    with pytest.raises(importing.ImportRefused) as refused:
        importing.commit("partners", data, "partners.csv", actor=None)
    assert not refused.value.report.ok
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0
    fuchu = refused.value.report.rows[2].city.candidates[0].id
    report = importing.commit("partners", data, "partners.csv", actor=None, choices={4: fuchu})
    assert report.created == 3
    nsw = db.session.scalar(select(Partner).where(Partner.subdivision_code == "AU-NSW"))
    assert nsw.kind.value == "subnational"
    [rel] = db.session.scalars(select(Relationship)).all()
    assert (rel.kind.value, rel.started_on.isoformat()) == ("friendship_state", "1984-05-09")


def test_a_service_refusal_rolls_back_every_row(db_session):
    csv = "name,country,city,relationship,since\nA,JP,Kawasaki,sister city,2999-01-01\nB,JP,Sendai,,\n"
    with pytest.raises(importing.ImportRefused) as refused:
        importing.commit("partners", csv.encode(), "p.csv", actor=None)
    assert "in the future" in "\n".join(refused.value.report.lines())
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_network_members_from_the_cli_with_dry_run(app, db_session, tmp_path):
    network = services.create_network(name="C40 Cities Climate Leadership Group", acronym="C40", actor=None)
    db.session.commit()
    path = tmp_path / "members.csv"
    path.write_text("network,city,country,joined\nC40,Paris,FR,2005\nC40,Seoul,KR,2006-05\n", encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import", "network-members", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 of 2 rows ready" in dry.output
    assert db.session.scalar(select(func.count()).select_from(NetworkMember)) == 0
    done = runner.invoke(args=["import", "network-members", str(path)])
    assert done.exit_code == 0, done.output
    assert sorted(m.name for m in network.members) == ["Paris", "Seoul"]
    again = runner.invoke(args=["import", "network-members", str(path)])
    assert again.exit_code != 0 and "already a member" in again.output


def test_candidates_are_labelled_in_the_readers_language(db_session):
    report = importing.preview("partners", PARTNERS_CSV.encode(), "partners.csv", language="ja")
    assert any("日本" in candidate.label for candidate in report.rows[2].city.candidates)


def test_sweep_deletes_only_uploads_older_than_a_day(tmp_path):
    now = time.time()
    old, fresh = tmp_path / "old", tmp_path / "fresh"
    for path, age in ((old, uploads.TTL + timedelta(minutes=1)), (fresh, timedelta(hours=23))):
        path.write_bytes(b"x")
        os.utime(path, (now - age.total_seconds(), now - age.total_seconds()))
    assert uploads.sweep(tmp_path, now=now) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]
    assert uploads.sweep(tmp_path / "never-made", now=now) == 0
