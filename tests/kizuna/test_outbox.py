"""outbox.deliver(), sweep() and retry() called directly, each test in a rolled-back transaction;
what the SMTP server sees is read back from the real sink."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from kizuna import outbox
from kizuna.extensions import db, utcnow
from kizuna.mail import build_message
from kizuna.models import AuditEvent, MessageStatus, OutboundMessage
from tests.smtp_sink import free_port

QUEUED, SENDING, RETRYING = MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.RETRYING
SENT, FAILED = MessageStatus.SENT, MessageStatus.FAILED
LATER = "451 4.3.0 Try again later"


@pytest.fixture
def sink(smtp_sink):
    smtp_sink.handler.reset()
    yield smtp_sink.handler
    smtp_sink.handler.reset()


def message(i: int = 0, **overrides):
    fields = {"sender": "Kizuna <noreply@kizuna.test>", "to": f"liaison{i}@embassy.test",
              "subject": f"Diplomatic corps briefing {i}", "text": "The briefing is on Thursday."}
    return build_message(**{**fields, **overrides})


def queue(count: int = 1, **row_values) -> list[OutboundMessage]:
    rows = [outbox.queue(message(i), category="test") for i in range(count)]
    for row in rows:
        for key, value in row_values.items():
            setattr(row, key, value)
    db.session.flush()
    return rows


def reload(row: OutboundMessage) -> OutboundMessage:
    db.session.refresh(row)
    return row


def test_deliver_sends_the_message_and_marks_it_sent(db_session, sink):
    [row] = queue()

    report = outbox.deliver([row.id])

    assert report.sent == [row.id] and not report.retrying and not report.failed
    [received] = sink.wait_for(1)
    assert received["Message-ID"] == row.message_id and received["To"] == "liaison0@embassy.test"
    assert reload(row).status == SENT and row.sent_at is not None and row.attempts == 1
    assert row.lease_until is None


def test_a_sent_message_is_never_sent_again(db_session, sink):
    [row] = queue()
    outbox.deliver([row.id])
    sink.wait_for(1)

    again = outbox.deliver([row.id, row.id])
    reload(row).next_attempt_at = utcnow() - timedelta(hours=1)  # even when due by every clock
    db.session.flush()
    once_more = outbox.deliver([row.id])

    assert again.sent == once_more.sent == []
    assert len(sink.messages) == 1
    assert reload(row).status == SENT and row.attempts == 1


def test_backoff_doubles_from_the_base_up_to_the_cap(app):
    base, cap = app.config["OUTBOX_RETRY_BASE"], app.config["OUTBOX_RETRY_MAX"]
    with app.app_context():
        waits = [outbox.backoff(n) for n in range(1, 8)]
    assert waits[:4] == [base, 2 * base, 4 * base, 8 * base]
    assert all(w == cap for w in waits[4:]) and waits == sorted(waits)


def test_a_4xx_answer_schedules_a_retry_after_a_growing_backoff(db_session, sink):
    [row] = queue()
    sink.fail["RCPT"] = LATER

    before = utcnow()
    report = outbox.deliver([row.id])
    after = utcnow()

    assert report.retrying == [row.id]
    assert reload(row).status == RETRYING and row.attempts == 1 and row.last_error == LATER
    first_wait = outbox.backoff(1)
    assert before + timedelta(seconds=first_wait) <= row.next_attempt_at <= after + timedelta(seconds=first_wait)
    assert outbox.deliver([row.id]).retrying == []  # not due yet: the early task does nothing

    row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the wait is over
    db.session.flush()
    before = utcnow()
    outbox.deliver([row.id])
    assert reload(row).attempts == 2 and row.status == RETRYING
    assert row.next_attempt_at >= before + timedelta(seconds=outbox.backoff(2))
    assert outbox.backoff(2) == 2 * first_wait
    assert sink.messages == []


def test_the_last_allowed_attempt_fails_for_good(app, db_session, sink):
    limit = app.config["OUTBOX_MAX_ATTEMPTS"]
    [row] = queue(status=RETRYING, attempts=limit - 1, next_attempt_at=utcnow() - timedelta(seconds=1))
    sink.fail["RCPT"] = LATER

    report = outbox.deliver([row.id])

    assert report.failed == [row.id]
    assert reload(row).status == FAILED and row.attempts == limit and row.last_error == LATER


def test_a_5xx_answer_fails_that_message_and_the_batch_goes_on(db_session, sink):
    rows = queue(3)
    sink.fail["DATA"] = ["554 5.6.0 Rejected"]

    report = outbox.deliver([r.id for r in rows])

    assert report.failed == [rows[0].id] and report.sent == [rows[1].id, rows[2].id]
    assert reload(rows[0]).status == FAILED and rows[0].last_error == "554 5.6.0 Rejected"
    assert [str(m["Message-ID"]) for m in sink.wait_for(2)] == [rows[1].message_id, rows[2].message_id]


def test_an_expired_lease_is_claimed_again_and_a_live_one_is_left_alone(db_session, sink):
    expired, live = queue(2, status=SENDING, attempts=1)
    expired.lease_until = utcnow() - timedelta(seconds=1)
    live.lease_until = utcnow() + timedelta(minutes=5)
    db.session.flush()

    report = outbox.deliver([expired.id, live.id])

    assert report.sent == [expired.id]
    assert reload(expired).status == SENT and expired.attempts == 2
    assert reload(live).status == SENDING and live.attempts == 1
    assert [str(m["Message-ID"]) for m in sink.wait_for(1)] == [expired.message_id]


def test_a_message_accepted_before_its_worker_was_lost_is_marked_sent_not_sent_again(db_session, sink):
    """A worker killed after the server took a message but before its `sent` mark was committed leaves the row
    `sending` under its lease, as here; the note made when the server accepted it stops a second copy."""
    accepted, unsent = queue(2)
    outbox.deliver([accepted.id])
    sink.wait_for(1)
    for row in (accepted, unsent):  # what a lost worker leaves: both claimed, neither mark committed
        row.status, row.attempts, row.lease_until = SENDING, 1, utcnow() - timedelta(seconds=1)
    db.session.flush()

    report = outbox.deliver([accepted.id, unsent.id])

    assert sorted(report.sent) == sorted([accepted.id, unsent.id])
    assert [str(m["Message-ID"]) for m in sink.wait_for(2)] == [accepted.message_id, unsent.message_id]
    assert len(sink.messages) == 2  # the accepted one once, the other sent now
    assert reload(accepted).status == reload(unsent).status == SENT


def test_attempts_that_never_finished_end_in_failed_without_another_send(app, db_session, sink):
    limit = app.config["OUTBOX_MAX_ATTEMPTS"]
    [row] = queue(status=SENDING, attempts=limit, lease_until=utcnow() - timedelta(seconds=1))

    report = outbox.deliver([row.id])

    assert report.failed == [row.id]
    assert reload(row).status == FAILED and "did not finish" in row.last_error
    assert sink.messages == []


def test_an_unreachable_server_puts_the_whole_batch_in_retrying(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}?timeout=5")
    rows = queue(3)

    report = outbox.deliver([r.id for r in rows])

    assert sorted(report.retrying) == sorted(r.id for r in rows)
    for row in rows:
        assert reload(row).status == RETRYING and row.attempts == 1 and "cannot connect" in row.last_error


@pytest.mark.parametrize("status", [QUEUED, SENDING, RETRYING, SENT])
def test_retry_refuses_a_message_that_has_not_failed(db_session, status):
    [row] = queue(status=status)

    with pytest.raises(outbox.OutboxError, match="Only a failed message can be retried"):
        outbox.retry(row.id, actor=None)
    assert reload(row).status == status


def test_retry_refuses_a_message_that_does_not_exist(db_session):
    with pytest.raises(outbox.OutboxError, match="Only a failed message can be retried"):
        outbox.retry(987654, actor=None)


def test_retry_queues_a_failed_message_again_and_it_is_delivered(db_session, sink):
    [row] = queue(status=FAILED, attempts=8, last_error="554 5.6.0 Rejected")

    outbox.retry(row.id, actor=None)
    db.session.flush()

    assert reload(row).status == QUEUED and row.attempts == 0
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retry")).one()
    assert event.object_id == str(row.id) and event.after == {"status": "queued"}
    assert outbox.deliver([row.id]).sent == [row.id]
    assert [str(m["Message-ID"]) for m in sink.wait_for(1)] == [row.message_id]


def test_sweep_picks_what_is_due_or_stuck_and_nothing_else(db_session):
    past, future = utcnow() - timedelta(seconds=5), utcnow() + timedelta(minutes=5)
    due_queued, due_retrying, stuck = queue(3)
    due_retrying.status, due_retrying.next_attempt_at = RETRYING, past
    stuck.status, stuck.lease_until = SENDING, past
    waiting, leased, sent, failed = queue(4)
    waiting.status, waiting.next_attempt_at = RETRYING, future
    leased.status, leased.lease_until = SENDING, future
    sent.status, failed.status = SENT, FAILED
    db.session.flush()

    assert outbox.sweep() == [due_queued.id, due_retrying.id, stuck.id]


def test_queue_refuses_a_message_for_more_than_one_address(db_session):
    with pytest.raises(ValueError, match="exactly one address"):
        outbox.queue(message(to="a@city.test, b@city.test"), category="test")
    cc = message()
    cc["Cc"] = "b@city.test"
    with pytest.raises(ValueError, match="exactly one address"):
        outbox.queue(cc, category="test")


def test_queue_gives_a_message_without_message_id_one(db_session):
    msg = message()
    del msg["Message-ID"]

    row = outbox.queue(msg, category="test")

    assert row.message_id.startswith("<") and row.message_id.endswith("@kizuna.test>")
    assert outbox.parse(row.raw)["Message-ID"] == row.message_id


def test_a_row_locked_by_another_worker_is_skipped_not_waited_for(app, committed, sink):
    [row] = queue()
    db.session.commit()
    with db.engine.connect() as other:  # another worker, in the middle of its claim
        other.execute(text("SELECT id FROM outbound_message WHERE id = :id FOR UPDATE"), {"id": row.id})

        report = outbox.deliver([row.id])

        assert report.sent == [] and sink.messages == []
        other.rollback()
    assert outbox.deliver([row.id]).sent == [row.id]
