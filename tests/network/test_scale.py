"""`kizuna seed-scale` makes the benchmark data set, reproducibly and once."""

from sqlalchemy import func, select

from kizuna.extensions import db
from network import scale
from network.models import Agreement, NetworkMember, Partner, Relationship


def test_seed_scale_makes_sample_data_once(app, db_session):
    counts = scale.seed_scale(relationships=50, agreements=80, embassies=5, networks=2, members=10)
    assert counts == {"partners": 50, "relationships": 50, "agreements": 80, "embassies": 5, "networks": 2,
                      "network members": 20}
    assert db.session.scalar(select(func.count()).select_from(Partner).where(~Partner.is_sample)) == 0
    assert db.session.scalar(select(func.count()).select_from(Relationship)) == 50
    assert all(a.parties for a in db.session.scalars(select(Agreement)))
    assert db.session.scalar(select(func.count()).select_from(NetworkMember)) == 20
    result = app.test_cli_runner().invoke(args=["seed-scale"])
    assert result.exit_code != 0 and "already holds sample data" in result.output
