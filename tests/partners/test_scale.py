"""The partners' benchmark data set: made in bulk, in three scripts, once."""

from sqlalchemy import func, select

from kizuna.extensions import db
from partners import duplicates, scale
from partners.models import Contact, Interaction, interaction_contact, name_sort_key


def test_seed_scale_makes_contacts_in_three_scripts_once(app, db_session):
    counts = scale.seed_scale(organisations=30, contacts=300, interactions=500, busiest=40)
    assert (counts["organisations"], counts["contacts"], counts["interactions"]) == (30, 300, 500)
    scripts = db.session.execute(select(Contact.family_name_local)).scalars().all()
    assert any(s and "\uac00" <= s[0] <= "\ud7af" for s in scripts)  # Korean
    assert any(s and "\u4e00" <= s[0] <= "\u9fff" for s in scripts)  # Japanese kanji
    assert any(not s for s in scripts)  # Latin only
    busiest = db.session.scalar(select(func.count()).select_from(interaction_contact)
                                .group_by(interaction_contact.c.contact_id).order_by(func.count().desc()).limit(1))
    assert busiest >= 40
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 500
    # Written in bulk, the keys are what the ORM's hook writes for one contact: the list sorts by name.
    sample = db.session.scalars(select(Contact).limit(20)).all()
    assert all(c.sort_key == name_sort_key(c.family_name, c.given_name, c.family_name_local, c.given_name_local)
               and c.sort_key for c in sample)
    pairs = duplicates.find_duplicates()
    assert any(r.startswith("Same email") for p in pairs for r in p.reasons)
    result = app.test_cli_runner().invoke(args=["seed-scale", "--only", "partners"])
    assert result.exit_code != 0 and "already hold sample data" in result.output


def test_duplicate_scan_finds_every_shared_email_of_the_data_set(app, db_session):
    scale.seed_scale(organisations=50, contacts=2000, interactions=0, busiest=0)
    pairs = duplicates.find_duplicates()
    shared = [p for p in pairs if any(r.startswith("Same email") for r in p.reasons)]
    assert len(shared) == 19  # one in a hundred shares the email of the contact before it (but the first)
