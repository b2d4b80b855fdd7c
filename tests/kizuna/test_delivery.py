"""The outbox delivery path end to end: real commits, a real Celery worker on Redis, a real SMTP sink."""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
from collections import Counter
from uuid import uuid4

import pytest
import redis
from sqlalchemy import select

from kizuna import create_app, outbox
from kizuna.extensions import db
from kizuna.mail import build_message
from kizuna.models import AuditEvent, MessageStatus, OutboundMessage
from tests.conftest import REDIS_BASE, app_config, committed_session
from tests.smtp_sink import free_port
from tests.worker_sink import DeliverySink, forget_queue, unacked_for, wait_until, worker_process

SENT, RETRYING, FAILED = MessageStatus.SENT, MessageStatus.RETRYING, MessageStatus.FAILED


# Test sessions start by flushing conftest's Redis database (redis_url), and several sessions on one
# machine share it; this module's tasks go to a queue of its own on a database nobody flushes.
DELIVERY_REDIS_URL = f"{REDIS_BASE}/15"


@pytest.fixture(scope="module")
def delivery_app(app, tmp_path_factory):
    """The session app's database and settings, with its Celery tasks on this module's own queue."""
    queue_name = f"delivery-{os.getpid()}-{uuid4().hex[:6]}"
    own = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                REDIS_URL=DELIVERY_REDIS_URL, SMTP_URL=app.config["SMTP_URL"],
                                CELERY={"task_default_queue": queue_name}))
    own.extensions["celery"].loader.import_module("worker.tasks")
    yield own
    app.extensions["celery"].set_default()
    with own.app_context():
        db.engine.dispose()
    forget_queue(redis.Redis.from_url(DELIVERY_REDIS_URL), queue_name)


@pytest.fixture(scope="module")
def delivery_worker(delivery_app):
    """A real Celery worker in this process. Its start-up ping check needs a result backend, which the app
    does not configure (tasks ignore results), so a broadcast ping stands in for it."""
    from celery.contrib.testing.worker import start_worker

    celery_app = delivery_app.extensions["celery"]
    celery_app.loader.import_module("celery.contrib.testing.tasks")  # start_worker wants celery.ping
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30.0,
                      loglevel="WARNING") as worker:
        wait_until(lambda: celery_app.control.ping(destination=[worker.hostname], timeout=1), timeout=30,
                   what="the worker to answer a ping")
        yield worker


@pytest.fixture
def committed(delivery_app):
    """Real commits that the worker sees, in the module app's context."""
    with committed_session(delivery_app) as session:
        yield session


@pytest.fixture
def sink(delivery_app):
    """A fresh sink for this test; the app (and so the in-process worker) delivers to it."""
    server = DeliverySink().start()
    saved = delivery_app.config["SMTP_URL"]
    delivery_app.config["SMTP_URL"] = server.url
    try:
        yield server.handler
    finally:
        delivery_app.config["SMTP_URL"] = saved
        server.stop()


@pytest.fixture
def settings(delivery_app):
    """settings(KEY=value): change the module app's configuration for this test only."""
    saved = {}

    def change(**values):
        for key, value in values.items():
            saved.setdefault(key, delivery_app.config.get(key))
            delivery_app.config[key] = value

    yield change
    delivery_app.config.update(saved)


@pytest.fixture
def worker(delivery_app, delivery_worker, committed, sink):
    """The in-process worker, with nothing left running from earlier tests: row ids restart at 1
    after each truncation, so a stray task could otherwise take this test's rows."""
    worker_app_is_default(delivery_app)
    wait_until(lambda: _idle(delivery_worker), timeout=30, what="the worker to be idle")
    return delivery_worker


def worker_app_is_default(delivery_app) -> None:
    """create_app() makes its Celery app the process default, and the in-process worker, running in a
    thread without a current app of its own, finds the tasks it runs through the default app: after
    making another app, a test makes the worker's the default again."""
    delivery_app.extensions["celery"].set_default()


def _idle(celery_worker) -> bool:
    inspect = celery_worker.app.control.inspect(destination=[celery_worker.hostname], timeout=2)
    replies = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    return all(r and not any(r.values()) for r in replies)


def queue_messages(count: int, *, subject: str = "Senior officials' meeting") -> list[tuple[int, str]]:
    """Queue `count` messages in one transaction and commit; (row id, Message-ID) of each."""
    rows = [outbox.queue(build_message(sender="Kizuna <noreply@kizuna.test>", to=f"delegate{i}@city{i}.test",
                                       subject=f"{subject} {i}", text="See you in Tokyo."), category="test")
            for i in range(count)]
    queued = [(row.id, row.message_id) for row in rows]
    db.session.commit()
    return queued


def row_state(row_id: int):
    row = db.session.execute(select(OutboundMessage.status, OutboundMessage.attempts, OutboundMessage.sent_at,
                                    OutboundMessage.last_error, OutboundMessage.next_attempt_at,
                                    OutboundMessage.lease_until).where(OutboundMessage.id == row_id)).one()
    db.session.rollback()  # the next read sees later commits
    return row


def statuses(ids) -> dict[int, MessageStatus]:
    found = dict(db.session.execute(select(OutboundMessage.id, OutboundMessage.status)
                                    .where(OutboundMessage.id.in_(list(ids)))).all())
    db.session.rollback()
    return found


def all_in(ids, status: MessageStatus):
    return lambda: all(s == status for s in statuses(ids).values()) and statuses(ids)


def test_message_committed_is_delivered_through_the_worker_and_marked_sent(worker, sink):
    [(row_id, message_id)] = queue_messages(1, subject="Leaders' meeting")

    [received] = sink.wait_for(1)
    assert received["Message-ID"] == message_id
    assert received["Subject"] == "Leaders' meeting 0" and received["To"] == "delegate0@city0.test"
    assert sink.envelopes == [("noreply@kizuna.test", ["delegate0@city0.test"])]
    state = wait_until(lambda: (s := row_state(row_id)).status == SENT and s, what="the row to be sent")
    assert state.sent_at is not None and state.attempts == 1 and state.lease_until is None
    assert state.last_error is None


def test_delivery_task_is_enqueued_only_when_the_transaction_commits(app, delivery_app, committed, tmp_path_factory):
    redis_url = DELIVERY_REDIS_URL
    queue_name = f"after-commit-{uuid4().hex[:8]}"  # no worker reads it: the broker shows what was sent
    producer = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                     REDIS_URL=redis_url, SMTP_URL=app.config["SMTP_URL"],
                                     CELERY={"task_default_queue": queue_name}))
    worker_app_is_default(delivery_app)
    broker = redis.Redis.from_url(redis_url)
    try:
        with producer.app_context():
            first = outbox.queue(build_message(sender="noreply@kizuna.test", to="a@city.test", subject="a",
                                               text="a"), category="test")
            second = outbox.queue(build_message(sender="noreply@kizuna.test", to="b@city.test", subject="b",
                                                text="b"), category="test")
            assert broker.llen(queue_name) == 0  # queued and flushed, not committed: nothing sent yet
            ids = [first.id, second.id]
            db.session.commit()
            assert broker.llen(queue_name) == 1  # one task for the batch
            task = json.loads(broker.lpop(queue_name))
            assert task["headers"]["task"] == "kizuna.deliver_outbox"
            assert task["properties"]["body_encoding"] == "base64"
            assert json.loads(base64.b64decode(task["body"]))[0] == [ids]  # (args, kwargs, embed)

            outbox.queue(build_message(sender="noreply@kizuna.test", to="c@city.test", subject="c", text="c"),
                         category="test")
            db.session.rollback()
            assert broker.llen(queue_name) == 0  # rolled back: no task
            db.session.remove()
            db.engine.dispose()
    finally:
        forget_queue(broker, queue_name)


def test_4xx_answer_is_retried_with_growing_backoff_then_delivered(worker, sink, settings):
    settings(OUTBOX_RETRY_BASE=0.5)  # long enough to see each `retrying` state by polling
    sink.fail["RCPT"] = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    [(row_id, message_id)] = queue_messages(1)

    seen = []

    def settled():
        state = row_state(row_id)
        if not seen or seen[-1][:2] != (state.status, state.attempts):
            seen.append((state.status, state.attempts, state.next_attempt_at, state.last_error))
        return state.status == SENT

    wait_until(settled, what="the row to be sent after two refusals")
    waypoints = [(status, attempts) for status, attempts, *_ in seen
                 if status not in (MessageStatus.QUEUED, MessageStatus.SENDING)]  # too brief to be seen for sure
    assert waypoints == [(RETRYING, 1), (RETRYING, 2), (SENT, 3)]
    retrying = [entry for entry in seen if entry[0] == RETRYING]
    assert all(error == "451 4.3.0 Try again later" for *_, error in retrying)
    # the second wait (1.0 s) starts after the first (0.5 s) is over: its due time is at least 1.0 s later
    assert (retrying[1][2] - retrying[0][2]).total_seconds() >= 1.0
    assert sink.fail["RCPT"] == []  # both refusals were used up
    assert sink.message_ids() == [message_id]


def test_5xx_answer_fails_for_good_and_staff_retry_delivers_it(worker, sink, make_user):
    sink.fail["DATA"] = ["554 5.6.0 Rejected"]
    [(row_id, message_id)] = queue_messages(1)

    state = wait_until(lambda: (s := row_state(row_id)).status == FAILED and s, what="the row to fail")
    assert state.last_error == "554 5.6.0 Rejected" and state.attempts == 1 and state.sent_at is None
    assert sink.messages == []

    editor = make_user("editor")
    outbox.retry(row_id, actor=editor)
    db.session.commit()

    [received] = sink.wait_for(1)
    assert received["Message-ID"] == message_id
    state = wait_until(lambda: (s := row_state(row_id)).status == SENT and s, what="the retried row to be sent")
    assert state.attempts == 1  # counted afresh after the staff retry
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retry")).one()
    assert audit.actor_id == editor.id and audit.before["error"] == "554 5.6.0 Rejected"


def test_smtp_server_down_then_back_delivers_what_waited(worker, settings):
    port = free_port()  # nothing listens there yet
    settings(SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=5")
    queued = queue_messages(3)
    ids = [row_id for row_id, _ in queued]

    wait_until(all_in(ids, RETRYING), what="the rows to wait for the server")
    assert all("cannot connect" in row_state(i).last_error for i in ids)

    server = DeliverySink(port=port).start()
    try:
        received = server.handler.wait_for(3)
        assert sorted(str(m["Message-ID"]) for m in received) == sorted(mid for _, mid in queued)
        wait_until(all_in(ids, SENT), what="the rows to be sent")
        assert server.handler.sessions == 1  # they retried together, as one batch
    finally:
        server.stop()


def test_broker_down_at_commit_loses_nothing_and_the_sweep_delivers(app, delivery_app, worker, sink, caplog,
                                                                    tmp_path_factory):
    down = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                 REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", SMTP_URL=app.config["SMTP_URL"]))
    worker_app_is_default(delivery_app)
    with down.app_context(), caplog.at_level(logging.WARNING, logger="kizuna.tasks"):
        queued = queue_messages(2)  # the commit succeeds; the enqueue after it fails
        db.session.remove()
        db.engine.dispose()
    assert "could not enqueue kizuna.deliver_outbox" in caplog.text
    ids = [row_id for row_id, _ in queued]
    assert statuses(ids) == {i: MessageStatus.QUEUED for i in ids}

    delivery_app.extensions["celery"].send_task("kizuna.sweep_outbox")  # beat's, every OUTBOX_SWEEP_INTERVAL

    received = sink.wait_for(2)
    assert sorted(str(m["Message-ID"]) for m in received) == sorted(mid for _, mid in queued)
    wait_until(all_in(ids, SENT), what="the swept rows to be sent")


def test_batch_uses_one_smtp_connection(worker, sink):
    queued = queue_messages(10)

    received = sink.wait_for(10)
    assert sorted(str(m["Message-ID"]) for m in received) == sorted(mid for _, mid in queued)
    wait_until(all_in([i for i, _ in queued], SENT), what="the rows to be sent")
    assert sink.sessions == 1


def test_server_that_drops_the_connection_gets_the_rest_on_a_new_one(worker, sink):
    sink.fail["RCPT"] = [None, None, None, "421 4.7.0 Too many messages in this session"]
    queued = queue_messages(6)
    ids = [row_id for row_id, _ in queued]

    received = sink.wait_for(6)
    assert Counter(str(m["Message-ID"]) for m in received) == Counter(mid for _, mid in queued)
    wait_until(all_in(ids, SENT), what="the rows to be sent")
    assert sink.sessions == 2
    assert [row_state(i).attempts for i in ids] == [1] * 6  # no backoff: the 4th went on the new session


def test_worker_killed_mid_batch_loses_nothing_and_resends_nothing_marked_sent(delivery_app, committed, pg_url,
                                                                             tmp_path_factory, tmp_path):
    redis_url = DELIVERY_REDIS_URL
    server = DeliverySink().start()
    sink = server.handler
    queue_name = f"kill-{uuid4().hex[:8]}"
    knobs = {"OUTBOX_LEASE_SECONDS": 1, "OUTBOX_COMMIT_EVERY": 3, "OUTBOX_RETRY_BASE": 0.2,
             "OUTBOX_RETRY_MAX": 1, "OUTBOX_SWEEP_GRACE": 0}
    env = {"DATABASE_URL": pg_url, "REDIS_URL": redis_url, "SMTP_URL": server.url,
           "SECRET_KEY": "test-secret-key-0123456789", "INSTANCE_PATH": str(tmp_path / "instance"),
           "CELERY_TASK_DEFAULT_QUEUE": queue_name,
           "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps({"unacked_restore_interval": 1,
                                                          "unacked_restore_throttle": 1}),
           **{key: str(value) for key, value in knobs.items()}}
    producer = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=pg_url, REDIS_URL=redis_url,
                                     SMTP_URL=server.url, CELERY={"task_default_queue": queue_name}, **knobs))
    worker_app_is_default(delivery_app)
    logfile = tmp_path / "workers.log"
    try:
        sink.hold_after(6)  # the 7th message waits at DATA, so the kill lands mid-batch
        with producer.app_context():
            queued = queue_messages(12)
        ids = [row_id for row_id, _ in queued]
        with worker_process(env, logfile=logfile, queue=queue_name) as first:
            assert sink.held.wait(60), f"the worker never reached the 7th message:\n{logfile.read_text()}"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)

        marked_sent = {i for i, s in statuses(ids).items() if s == SENT}
        arrived = set(sink.message_ids())
        sent_ids = {mid for i, mid in queued if i in marked_sent}
        assert len(arrived) == 6 and sent_ids == arrived  # committed in groups of 3, before the 7th began
        assert {s for i, s in statuses(ids).items() if i not in marked_sent} == {MessageStatus.SENDING}
        sink.release()

        with producer.app_context():  # the beat task's work, once the dead worker's lease is over
            swept = wait_until(outbox.sweep, timeout=10, what="the lease to run out")
            assert set(swept) == set(ids) - marked_sent
            db.session.remove()
        broker = redis.Redis.from_url(redis_url)
        assert unacked_for(broker, queue_name)  # the dead worker's task, taken and never acknowledged
        with worker_process(env, logfile=logfile, queue=queue_name):
            sink.wait_for(12, timeout=60)
            wait_until(all_in(ids, SENT), timeout=30, what="every row to be sent")
            # Redis also hands the dead worker's task out again (visibility_timeout); it finds nothing to do.
            wait_until(lambda: not unacked_for(broker, queue_name) and not broker.llen(queue_name), timeout=30,
                       what="the dead worker's task to be redelivered and acknowledged")

        counts = Counter(sink.message_ids())
        assert set(counts) == {mid for _, mid in queued}  # every message arrived
        assert all(counts[mid] == 1 for mid in sent_ids), counts  # none marked sent went twice
        assert "Traceback" not in logfile.read_text()
    finally:
        with producer.app_context():
            db.session.remove()
            db.engine.dispose()
        forget_queue(redis.Redis.from_url(redis_url), queue_name)
        server.stop()
