"""Agreement expiry reminders: which go out on which day, to whom, in which language, and never twice."""

from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import OutboundMessage
from network import reminders, services
from network.models import AgreementReminder

TODAY = date(2026, 11, 25)
SIGNED = date(2022, 4, 1)


@pytest.fixture
def paris(db_session):
    return services.create_partner(kind="city", name="Paris", name_ja="パリ市", country_code="FR", actor=None)


@pytest.fixture
def agreement(paris):
    """agreement(expires_in_days, **fields) → an agreement with Paris expiring that many days after TODAY."""

    def make(expires_in: int, **fields):
        return services.create_agreement(**{"title": f"MOU expiring in {expires_in} days", "kind": "mou",
                                            "party_ids": [paris.id], "signed_on": SIGNED,
                                            "expires_on": TODAY + timedelta(days=expires_in), "actor": None,
                                            "today": TODAY, **fields})

    return make


@pytest.fixture
def editor(make_user):
    return make_user("editor", email="editor@example.test")


def sent() -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.category == reminders.CATEGORY)
                                   .order_by(OutboundMessage.id)))


def subjects(day: date) -> list[str]:
    """Run the reminders on `day` and return the subjects of the emails that run queued."""
    before = {m.id for m in sent()}
    count = reminders.send_expiry_reminders(day)
    new = [m for m in sent() if m.id not in before]
    assert count == len(new)
    return [m.subject for m in new]


def test_reminders_go_out_90_30_and_7_days_before_and_never_twice(agreement, editor):
    mou = agreement(90)
    assert len(subjects(TODAY)) == 1
    assert subjects(TODAY) == []  # a second run the same day sends nothing
    for days_left in range(89, 30, -1):
        assert subjects(mou.expires_on - timedelta(days=days_left)) == [], days_left
    assert len(subjects(mou.expires_on - timedelta(days=30))) == 1
    assert subjects(mou.expires_on - timedelta(days=29)) == []
    assert len(subjects(mou.expires_on - timedelta(days=7))) == 1
    for days_left in range(6, -3, -1):
        assert subjects(mou.expires_on - timedelta(days=days_left)) == [], days_left
    reminded = db.session.scalars(select(AgreementReminder.days_before).where(
        AgreementReminder.agreement_id == mou.id).order_by(AgreementReminder.days_before)).all()
    assert reminded == [7, 30, 90]


def test_nothing_before_90_days_and_a_late_agreement_gets_the_tightest_reminder_only(agreement, editor):
    far, late = agreement(91), agreement(20)
    assert subjects(TODAY) == [f"Agreement expiring on December 15, 2026: {late.title}"]
    assert subjects(TODAY + timedelta(days=1)) == [f"Agreement expiring on February 24, 2027: {far.title}"]
    assert db.session.scalar(select(AgreementReminder.days_before).where(
        AgreementReminder.agreement_id == late.id)) == 30


def test_a_missed_day_is_caught_up_once(agreement, editor):
    mou = agreement(60)
    assert len(subjects(mou.expires_on - timedelta(days=5))) == 1  # the beat did not run for weeks
    assert subjects(mou.expires_on - timedelta(days=4)) == []


def test_a_changed_expiry_date_gets_reminders_of_its_own(agreement, editor):
    mou = agreement(7)
    assert len(subjects(TODAY)) == 1
    mou.expires_on = TODAY + timedelta(days=30)  # extended by an amendment
    db.session.flush()
    assert subjects(TODAY) == ["Agreement expiring on December 25, 2026: MOU expiring in 7 days"]
    assert subjects(TODAY) == []


def test_nothing_for_renewed_or_terminated_agreements(agreement, editor, paris):
    renewed, terminated = agreement(30), agreement(7)
    agreement(400, title="Renewal", previous_id=renewed.id, signed_on=TODAY - timedelta(days=1))
    terminated.terminated_on = TODAY - timedelta(days=10)
    db.session.flush()
    assert subjects(TODAY) == []
    assert db.session.scalars(select(AgreementReminder)).all() == []


def test_only_active_staff_editors_and_admins_are_told(agreement, make_user):
    admin, editor = make_user("admin"), make_user("editor")
    for role in ("viewer", "delegate", "liaison"):
        make_user(role)
    retired = make_user("editor")
    retired.active = False
    db.session.flush()
    agreement(30)
    assert reminders.send_expiry_reminders(TODAY) == 2
    assert sorted(m.recipient for m in sent()) == sorted([admin.email, editor.email])


def test_with_nobody_to_tell_nothing_is_recorded(agreement, make_user):
    make_user("viewer")
    agreement(30)
    assert reminders.send_expiry_reminders(TODAY) == 0
    assert db.session.scalars(select(AgreementReminder)).all() == []


def test_each_recipient_reads_it_in_their_language(agreement, make_user):
    english = make_user("editor", name="Alice")
    japanese = make_user("admin", name="佐藤", language="ja")
    agreement(30, title="Digital MOU")
    assert reminders.send_expiry_reminders(TODAY) == 2
    by_recipient = {m.recipient: message_from_bytes(m.raw, policy=policy.default) for m in sent()}
    en, ja = by_recipient[english.email], by_recipient[japanese.email]
    assert en["Subject"] == "Agreement expiring on December 25, 2026: Digital MOU"
    text = en.get_body(("plain",)).get_content()
    assert "Hello Alice," in text and "Parties: Paris" in text and "Days left: 30" in text
    assert "http://kizuna.test/" in text  # the agreement page once the registry pages are there
    assert ja["Subject"] == "協定の期限（2026年12月25日）: Digital MOU"
    text = ja.get_body(("plain",)).get_content()
    assert "佐藤様" in text and "パリ市" in text and "残り日数: 30" in text
    html = ja.get_body(("html",)).get_content()
    assert '<html lang="ja">' in html and "協定を開く" in html


def test_the_task_is_named_for_the_beat_and_commits(app, agreement, editor):
    from worker import tasks

    assert tasks.send_expiry_reminders.name == services.EXPIRY_TASK
    beat = app.config["CELERY"]["beat_schedule"]
    assert [e["task"] for e in beat.values()].count(services.EXPIRY_TASK) == 1
    agreement(7, today=services.local_today(), expires_on=services.local_today() + timedelta(days=7))
    assert tasks.send_expiry_reminders.run() == 1
    assert tasks.send_expiry_reminders.run() == 0
