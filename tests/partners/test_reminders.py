"""Follow-up reminders: which go out on which day, to whom, in which language, and never twice."""

import threading
import time
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select, text

from kizuna.extensions import db
from kizuna.models import OutboundMessage
from partners import reminders, services
from partners.models import FollowUp

TODAY = date(2026, 11, 25)
MET = date(2026, 11, 2)


@pytest.fixture
def interaction(make_contact, make_organisation, staff):
    contact = make_contact(family_name="Hidalgo", given_name="Anne", country_code="FR")
    city_hall = make_organisation(name="Paris City Hall", kind="company", country_code="FR")
    return services.add_interaction(kind="meeting", occurred_on=MET, subject="Olympic legacy exchange",
                                    contact_ids=[contact.id], organisation_ids=[city_hall.id], actor=staff,
                                    today=TODAY)


@pytest.fixture
def follow_up(interaction, staff):
    """follow_up(due_on, owner=staff, text=…) → an open follow-up of the interaction."""

    def make(due_on: date, owner=None, text="Send the minutes"):
        return services.add_follow_up(interaction_id=interaction.id, owner_id=(owner or staff).id, due_on=due_on,
                                      text=text, actor=staff)

    return make


def sent() -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.category == reminders.CATEGORY)
                                   .order_by(OutboundMessage.id)))


def run(day: date) -> list[OutboundMessage]:
    """Run the reminders on `day` and return the emails that run queued."""
    before = {m.id for m in sent()}
    count = reminders.send_follow_up_reminders(day)
    new = [m for m in sent() if m.id not in before]
    assert count == len(new)
    return new


def test_a_follow_up_is_reminded_once_on_its_due_day_and_never_again(follow_up, staff):
    item = follow_up(TODAY + timedelta(days=2))
    assert run(TODAY) == [] and run(TODAY + timedelta(days=1)) == []
    [email] = run(TODAY + timedelta(days=2))
    assert email.recipient == staff.email and email.ref_id == item.interaction_id
    assert email.subject == "Follow-up due on November 27, 2026: Olympic legacy exchange"
    assert item.reminded_at is not None
    assert run(TODAY + timedelta(days=2)) == []  # the task ran twice the same day
    assert run(TODAY + timedelta(days=9)) == []  # and on later days, while it stays open


def test_a_missed_day_is_caught_up_once_and_says_it_is_overdue(follow_up):
    follow_up(TODAY - timedelta(days=3))
    [email] = run(TODAY)
    assert email.subject == "Follow-up overdue since November 22, 2026: Olympic legacy exchange"
    text = message_from_bytes(email.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "was due on November 22, 2026, 3 days ago" in text
    assert run(TODAY) == []


def test_nothing_for_follow_ups_done_or_not_yet_due(follow_up, staff):
    done, later = follow_up(TODAY - timedelta(days=1)), follow_up(TODAY + timedelta(days=1))
    services.complete_follow_up(follow_up_id=done.id, actor=staff)
    assert run(TODAY) == []
    assert (done.reminded_at, later.reminded_at) == (None, None)


def test_each_owner_gets_their_own_follow_ups_only(follow_up, make_user):
    alice, bob = make_user("editor", name="Alice"), make_user("viewer", name="Bob")
    follow_up(TODAY, owner=alice, text="Book the venue")
    follow_up(TODAY, owner=bob, text="Thank the delegation")
    by_recipient = {m.recipient: message_from_bytes(m.raw, policy=policy.default) for m in run(TODAY)}
    assert set(by_recipient) == {alice.email, bob.email}
    alice_text = by_recipient[alice.email].get_body(("plain",)).get_content()
    assert "Hello Alice," in alice_text and "Book the venue" in alice_text
    assert "Thank the delegation" not in alice_text
    assert "With: Anne Hidalgo, Paris City Hall" in alice_text
    assert "http://kizuna.test/" in alice_text


def test_a_closed_account_gets_no_reminder_and_its_follow_up_stays_unreminded(follow_up, make_user):
    leaver = make_user("editor")
    item = follow_up(TODAY, owner=leaver)
    leaver.active = False
    db.session.flush()
    assert run(TODAY) == []
    assert item.reminded_at is None


def test_the_owner_reads_it_in_their_language(follow_up, make_user):
    japanese = make_user("editor", name="佐藤", language="ja")
    follow_up(TODAY, owner=japanese)
    [email] = run(TODAY)
    message = message_from_bytes(email.raw, policy=policy.default)
    assert "2026年11月25日" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert '<html lang="ja">' in html and "2026年11月25日" in html


def test_the_task_is_named_for_the_beat_commits_and_runs_twice_harmlessly(app, follow_up):
    from network.services import local_today
    from worker import tasks

    assert tasks.send_follow_up_reminders.name == reminders.REMINDER_TASK
    beat = app.config["CELERY"]["beat_schedule"]
    [entry] = [e for e in beat.values() if e["task"] == reminders.REMINDER_TASK]
    assert entry["schedule"] == 24 * 3600.0
    item = follow_up(local_today())
    assert tasks.send_follow_up_reminders.run() == 1
    assert tasks.send_follow_up_reminders.run() == 0
    db.session.expire_all()
    assert db.session.get(FollowUp, item.id).reminded_at is not None
    assert len(sent()) == 1


def test_two_runs_at_once_send_one_reminder(app, committed, make_user):
    """The second run reads the follow-up as unreminded while the first has claimed it but not committed; it
    waits for the first one's row lock, then finds reminded_at set and sends nothing."""
    owner = make_user("editor")
    acme = services.create_organisation(kind="company", name="Acme", actor=None)
    call = services.add_interaction(kind="call", occurred_on=MET, subject="Race", organisation_ids=[acme.id],
                                    actor=None, today=TODAY)
    services.add_follow_up(interaction_id=call.id, owner_id=owner.id, due_on=TODAY, text="Once", actor=None)
    db.session.commit()
    assert reminders.send_follow_up_reminders(TODAY) == 1  # the first run, its transaction still open
    second: list[int] = []

    def run_again():
        with app.app_context():
            second.append(reminders.send_follow_up_reminders(TODAY))
            db.session.commit()

    thread = threading.Thread(target=run_again)
    thread.start()
    # Wait (polling, bounded) until the second run is blocked on the first one's lock: the race is really run.
    deadline = time.monotonic() + 20
    with db.engine.connect() as watcher:
        while thread.is_alive() and time.monotonic() < deadline:
            blocked = watcher.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                           "AND datname = current_database()")).scalar()
            watcher.commit()
            if blocked:
                break
    db.session.commit()
    thread.join(timeout=30)
    assert second == [0]
    assert [m.subject for m in sent()] == ["Follow-up due on November 25, 2026: Race"]
