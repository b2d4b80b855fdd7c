"""Sending an issue at scale: each reader's message made from bytes built once per language (and still right for
that reader), attached files, bouncing addresses left out, scheduled issues started once, stalled sends
resumed, and a worker killed mid-send that loses and repeats nothing."""
# ruff: noqa: F811 (the fixtures of test_newsletters, imported, are named again as arguments)

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections import Counter
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from uuid import uuid4

import redis
from flask import current_app
from markupsafe import escape
from sqlalchemy import func, select, update

from kizuna import create_app
from kizuna.extensions import db, utcnow
from kizuna.models import AuditEvent, OutboundMessage, Role
from partners import newsletters, sending
from partners.models import ContactEmail, Delivery, Issue, IssueAttachment, IssueStatus
from tests.conftest import app_config
from tests.partners.test_newsletters import (  # noqa: F401 - fixtures
    NL_REDIS_URL,
    approved_issue,
    approver,
    live,
    make_list,
    messages_of,
    nl_app,
    nl_sink,
    nl_worker,
    send_now,
    subscriber,
)
from tests.worker_sink import DeliverySink, forget_queue, wait_until, worker_process

# One paragraph is one line of Markdown and of HTML: far longer than a line of mail may be (998 bytes).
LONG_JA = "東京都は、姉妹友好都市との交流を一層深めるため、" * 60
VARIANTS = {"en": ("Weekly update", "News **this** week.\n\nA line with trailing spaces   \nand = signs = 3D."),
            "ja": ("週報", LONG_JA), "zh-Hans": ("周报", "大家好。" * 300), "ko": ("주간 소식", "안녕하세요. " * 200)}
PDF = b"%PDF-1.4\n% a small programme\n" + bytes(range(256)) * 8


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def token_of(message) -> str:
    return re.search(r"/unsubscribe/([^>\s]+)>", " ".join(str(message["List-Unsubscribe"]).split())).group(1)


def check_reader_message(message, delivery: Delivery) -> None:
    """The message is this reader's: their address, their delivery's Message-ID, their own unsubscribe token in
    the header and in both parts, their "read on the web" link, and the text exactly as rendered for them."""
    assert str(message["To"]) == delivery.email
    assert message["Message-ID"] == sending.delivery_message_id(delivery.issue_id, delivery.id)
    token = token_of(message)
    assert newsletters.subscription_for_unsubscribe(token).id == delivery.subscription_id
    assert f"subject=unsubscribe%20{token}" in " ".join(str(message["List-Unsubscribe"]).split())
    url = f"http://kizuna.test/unsubscribe/{token}"
    issue = db.session.get(Issue, delivery.issue_id)
    if "lists.archive_issue" in current_app.view_functions:
        from partners import lists

        web = lists.archive_link(list_id=issue.list_id, subscription_id=delivery.subscription_id, issue_id=issue.id,
                                 language=delivery.language)
    else:
        web = url  # no archive page yet: the web link goes to the unsubscribe page
    subject, text, html = sending._rendered(issue, delivery.language)
    assert str(message["Subject"]) == subject
    plain = message.get_body(("plain",))
    body = message.get_body(("html",))
    assert plain["Content-Transfer-Encoding"] == body["Content-Transfer-Encoding"] == "quoted-printable"
    # Quoted-printable line breaks arrive as CRLF, and a text part always ends with one.
    assert lines(plain.get_content()) == lines(text.replace("KIZUNA-UNSUBSCRIBE-LINK", url)
                                               .replace("KIZUNA-ARCHIVE-LINK", web))
    assert lines(body.get_content()) == lines(html.replace("KIZUNA-UNSUBSCRIBE-LINK", url)
                                              .replace("KIZUNA-ARCHIVE-LINK", str(escape(web))))
    assert f'href="{url}"' in body.get_content()


def lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").rstrip("\n").split("\n")


def line_lengths_ok(raw: bytes) -> bool:
    return all(len(line) <= 998 for line in raw.split(b"\r\n"))


# -- each reader's message, made by substitution ------------------------------------------------------


def test_every_reader_gets_a_message_that_parses_with_their_own_links(db_session, client, make_list, subscriber,
                                                                      approved_issue, staff):
    mailing_list = make_list()
    for language in ("en", "ja", "zh-Hans", "ko", "ja", "pt-BR"):
        subscriber(mailing_list, language)
    issue = approved_issue(mailing_list, VARIANTS)
    assert send_now(issue, staff) == 6
    deliveries = {d.outbound_message_id: d for d in db_session.scalars(select(Delivery)
                                                                        .where(Delivery.issue_id == issue.id))}
    rows = messages_of(issue)
    assert len({row.message_id for row in rows}) == 6
    for row in rows:
        assert line_lengths_ok(row.raw)
        message = parse(row.raw)
        check_reader_message(message, deliveries[row.id])
        assert row.message_id == message["Message-ID"] and row.recipient == deliveries[row.id].email
        assert "KZSLOT" not in row.raw.decode("ascii", "replace")
        for part in (message.get_body(("plain",)), message.get_body(("html",))):
            assert all(len(line) <= 76 for line in part.as_string().split("\n\n", 1)[1].splitlines())
    assert {d.language for d in deliveries.values()} == {"en", "ja", "zh-Hans", "ko"}
    if "lists.archive_issue" in current_app.view_functions:  # each reader's web link opens the issue for them
        for row in rows:
            text = parse(row.raw).get_body(("plain",)).get_content()
            link = re.search(r"http://kizuna\.test(/newsletters/\S+)", text).group(1)
            page = client.get(link)
            assert page.status_code == 200 and row.subject in page.get_data(as_text=True)


def test_the_test_message_keeps_working_with_the_links_filled_in(db_session, make_list, approved_issue):
    issue = approved_issue(make_list(), VARIANTS)
    message = sending.test_message(issue, "ja", "tester@kizuna.test")
    assert str(message["Subject"]) == "[TEST] 週報" and str(message["To"]) == "tester@kizuna.test"
    text = message.get_body(("plain",)).get_content()
    assert "http://kizuna.test/unsubscribe/test" in text
    assert "KIZUNA-" not in text and "KIZUNA-" not in message.get_body(("html",)).get_content()


def _attach(issue: Issue, filename: str, content: bytes, content_type: str, inline: bool) -> IssueAttachment:
    digest = newsletters.STORE.keep(content)
    attachment = IssueAttachment(issue_id=issue.id, filename=filename, content_type=content_type, size=len(content),
                                 sha256=digest, inline=inline)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def test_attached_files_go_with_every_message_and_inline_images_do_not(db_session, make_list, subscriber,
                                                                       approved_issue, staff):
    mailing_list = make_list()
    subscriber(mailing_list, "en"), subscriber(mailing_list, "ja")
    issue = approved_issue(mailing_list, VARIANTS)
    _attach(issue, "プログラム.pdf", PDF, "application/pdf", inline=False)
    _attach(issue, "skyline.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png", inline=True)
    send_now(issue, staff)
    rows = messages_of(issue)
    assert len(rows) == 2
    for row in rows:
        message = parse(row.raw)
        (attached,) = list(message.iter_attachments())
        assert attached.get_filename() == "プログラム.pdf" and attached.get_content_type() == "application/pdf"
        assert attached.get_content() == PDF
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    test = sending.test_message(issue, "en", "tester@kizuna.test")
    assert [part.get_filename() for part in test.iter_attachments()] == ["プログラム.pdf"]


def test_a_file_too_large_to_go_in_every_message_is_linked_from_each_and_downloads(app, client, db_session,
                                                                                    make_list, subscriber,
                                                                                    approved_issue, staff,
                                                                                    monkeypatch):
    """Every message is stored whole in the outbox: a large file is hosted once and linked, not copied into each."""
    monkeypatch.setitem(app.config, "NEWSLETTER_ATTACH_UP_TO_BYTES", len(PDF) - 1)
    mailing_list = make_list()
    subscriber(mailing_list, "en")
    issue = approved_issue(mailing_list, VARIANTS)
    report = _attach(issue, "annual report.pdf", PDF, "application/pdf", inline=False)
    send_now(issue, staff)
    (row,) = messages_of(issue)
    message = parse(row.raw)
    assert list(message.iter_attachments()) == []
    path = f"/newsletters/files/{report.sha256}/annual%20report.pdf"
    assert f"http://kizuna.test{path}" in message.get_body(("plain",)).get_content()
    assert f'href="http://kizuna.test{path}"' in message.get_body(("html",)).get_content()
    db.session.commit()  # the test's savepoint: the download below reads what the send committed
    download = client.get(path)
    assert download.status_code == 200 and download.get_data() == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")


# -- who is left out ----------------------------------------------------------------------------------


def _bounce(address: str) -> None:
    db.session.execute(update(ContactEmail).where(ContactEmail.address == address).values(bouncing_at=utcnow()))


def test_a_bouncing_address_is_not_planned_and_one_that_starts_bouncing_is_dropped(db_session, make_list,
                                                                                   subscriber, approved_issue,
                                                                                   staff):
    mailing_list = make_list()
    fine, bounced, later = (subscriber(mailing_list, email=f"{name}@embassy.test")
                            for name in ("fine", "bounced", "later"))
    _bounce("bounced@embassy.test")
    issue = approved_issue(mailing_list)
    sending.start_sending(issue_id=issue.id, actor=staff)
    assert sending.plan_deliveries(issue.id) == 2
    planned = db_session.scalars(select(Delivery.email).where(Delivery.issue_id == issue.id)).all()
    assert sorted(planned) == ["fine@embassy.test", "later@embassy.test"]

    _bounce("later@embassy.test")  # a bounce read between planning and queueing
    ids = db_session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id)).all()
    assert sending.queue_deliveries(issue_id=issue.id, first_id=min(ids), last_id=max(ids)) == 1
    assert [row.recipient for row in messages_of(issue)] == ["fine@embassy.test"]
    assert sending.progress(issue.id)["cancelled"] == 1


# -- scheduled issues ---------------------------------------------------------------------------------


def _schedule(issue: Issue, when) -> None:
    issue.status, issue.scheduled_at = IssueStatus.SCHEDULED, when
    db.session.flush()


def test_a_scheduled_issue_starts_once_its_time_has_come_and_only_once(db_session, make_list, subscriber,
                                                                      approved_issue):
    mailing_list = make_list()
    subscriber(mailing_list)
    due, later = approved_issue(mailing_list), approved_issue(mailing_list)
    _schedule(due, utcnow() - timedelta(minutes=1))
    _schedule(later, utcnow() + timedelta(hours=1))
    assert sending.start_scheduled() == [due.id]
    assert due.status == IssueStatus.SENDING and later.status == IssueStatus.SCHEDULED
    assert sending.start_scheduled() == []
    assert sending.start_scheduled(now=utcnow() + timedelta(hours=2)) == [later.id]


def test_a_scheduled_issue_with_no_reader_left_goes_back_to_approved_with_the_reason(db_session, make_list,
                                                                                    approved_issue):
    issue = approved_issue(make_list())
    _schedule(issue, utcnow() - timedelta(minutes=1))
    assert sending.start_scheduled() == []
    assert issue.status == IssueStatus.APPROVED
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "newsletter_issue.schedule_failed",
                                                       AuditEvent.object_id == str(issue.id)))
    assert "no one to send to" in event.after["reason"] and event.actor_label == "system"
    assert db_session.scalar(select(func.count()).select_from(Delivery).where(Delivery.issue_id == issue.id)) == 0


# -- stalled sends ------------------------------------------------------------------------------------


def _age(issue: Issue, seconds: float) -> None:
    then = utcnow() - timedelta(seconds=seconds)
    db.session.execute(update(Issue).where(Issue.id == issue.id).values(updated_at=then))
    db.session.execute(update(Delivery).where(Delivery.issue_id == issue.id).values(created_at=then))
    db.session.execute(update(OutboundMessage).where(OutboundMessage.ref_type == sending.REF_TYPE,
                                                     OutboundMessage.ref_id == issue.id).values(created_at=then))
    db.session.expire_all()


def test_an_issue_whose_pending_deliveries_have_not_moved_is_found_stalled(db_session, make_list, subscriber,
                                                                          approved_issue, staff):
    mailing_list = make_list()
    subscriber(mailing_list), subscriber(mailing_list)
    stuck, lost, fresh, done = (approved_issue(mailing_list) for _ in range(4))
    for issue in (stuck, lost, fresh, done):
        sending.start_sending(issue_id=issue.id, actor=staff)
    sending.plan_deliveries(stuck.id)  # planned, but its batch tasks never ran
    sending.plan_deliveries(fresh.id)
    sending.plan_deliveries(done.id)
    ids = db_session.scalars(select(Delivery.id).where(Delivery.issue_id == done.id)).all()
    sending.queue_deliveries(issue_id=done.id, first_id=min(ids), last_id=max(ids))
    # `lost`: its partners.send_issue task never ran (nothing planned)
    for issue in (stuck, lost, done):
        _age(issue, sending.stall_seconds() + 5)
    assert sending.stalled_issues() == [stuck.id, lost.id]
    assert sending.resume_stalled() == [stuck.id, lost.id]
    assert sending.stalled_issues() == []  # dispatched again once per stall time, not at every sweep
    db_session.expire_all()
    assert done.status == IssueStatus.SENT  # all its messages queued, and no batch left to close it
    assert fresh.status == stuck.status == IssueStatus.SENDING


# -- through a real worker ----------------------------------------------------------------------------


def _live_list(staff, approver, languages, *, variants=VARIANTS, prefix="reader"):
    """A committed list of readers preferring `languages` and an approved issue of it in `variants`."""
    from partners import services

    mailing_list = newsletters.create_list(actor=staff, names={"en": f"List {uuid4().hex[:6]}"})
    for n, language in enumerate(languages):
        contact = services.create_contact(actor=staff, family_name=f"Reader{n}", preferred_language=language,
                                          emails=[f"{prefix}{n}@embassy{n % 7}.test"])
        newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)
    issue = newsletters.create_issue(list_id=mailing_list.id, actor=staff)
    for language, (subject, body) in variants.items():
        newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=staff)
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    db.session.commit()
    return issue


def _deliveries(issue_id: int) -> dict[str, Delivery]:
    found = {sending.delivery_message_id(issue_id, d.id): d
             for d in db.session.scalars(select(Delivery).where(Delivery.issue_id == issue_id))}
    db.session.rollback()
    return found


def _sent(issue_id: int, count: int):
    def check():
        state = (db.session.scalar(select(Issue.status).where(Issue.id == issue_id)), sending.progress(issue_id))
        db.session.rollback()
        return state == (IssueStatus.SENT, {"sent": count, "failed": 0, "pending": 0, "cancelled": 0})
    return check


def test_through_the_worker_each_reader_gets_their_own_links_and_the_attachment(live, nl_sink, make_user):
    staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    issue = _live_list(staff, approver, ["en", "ja", "zh-Hans", "ko"] * 5)
    _attach(issue, "programme.pdf", PDF, "application/pdf", inline=False)
    db.session.commit()
    sending.start_sending(issue_id=issue.id, actor=staff)
    db.session.commit()
    received = nl_sink.wait_for(20)
    wait_until(_sent(issue.id, 20), what="every delivery sent")
    deliveries = _deliveries(issue.id)
    assert sorted(str(m["Message-ID"]) for m in received) == sorted(deliveries)
    for message in received:  # as the server received it, parsed again from its bytes
        reparsed = parse(message.as_bytes(policy=policy.SMTP))
        check_reader_message(reparsed, deliveries[str(reparsed["Message-ID"])])
        (attached,) = list(reparsed.iter_attachments())
        assert attached.get_content() == PDF
    db.session.rollback()


def test_two_beat_runs_at_once_start_a_scheduled_issue_once(live, nl_app, nl_sink, make_user):
    staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    issue = _live_list(staff, approver, ["en", "ja"] * 5)
    db.session.execute(update(Issue).where(Issue.id == issue.id).values(status=IssueStatus.SCHEDULED,
                                                                        scheduled_at=utcnow()))
    db.session.commit()
    task = nl_app.extensions["celery"].tasks["partners.start_scheduled_issues"]
    barrier, results = threading.Barrier(2), []

    def beat():
        with nl_app.app_context():
            barrier.wait()
            results.append(task.run())
            db.session.remove()

    runs = [threading.Thread(target=beat) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    assert sorted(results, key=len) == [[], [issue.id]]
    nl_sink.wait_for(10)
    wait_until(_sent(issue.id, 10), what="the scheduled issue to be sent")
    assert sorted(Counter(nl_sink.message_ids()).values()) == [1] * 10
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "newsletter_issue",
                                                                AuditEvent.object_id == str(issue.id))).all()
    assert events.count("newsletter_issue.send") == 1
    db.session.rollback()


def test_a_stalled_issue_is_dispatched_again_and_sends_each_reader_once(live, nl_app, nl_sink, make_user):
    staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    issue = _live_list(staff, approver, ["en", "ja", "ko"] * 4)
    # Sending, half its deliveries already in the outbox, the other half planned but their batch task lost.
    db.session.execute(update(Issue).where(Issue.id == issue.id).values(status=IssueStatus.SENDING))
    sending.plan_deliveries(issue.id)
    db.session.info.pop("kizuna.after_commit", None)  # the enqueue that was lost
    ids = db.session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id).order_by(Delivery.id)).all()
    sending.queue_deliveries(issue_id=issue.id, first_id=ids[0], last_id=ids[5])
    db.session.commit()  # these six go out
    nl_sink.wait_for(6)
    assert sending.stalled_issues() == []  # it moved just now
    _age(issue, sending.stall_seconds() + 1)
    db.session.commit()
    task = nl_app.extensions["celery"].tasks["partners.resume_stalled_issues"]
    assert task.run() == [issue.id]
    nl_sink.wait_for(12)
    wait_until(_sent(issue.id, 12), what="the stalled half to be sent")
    counts = Counter(nl_sink.message_ids())
    assert len(counts) == 12 and set(counts.values()) == {1}
    assert task.run() == []  # sent: nothing stalled any more
    db.session.rollback()


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(nl_app, live, pg_url, tmp_path,
                                                                       tmp_path_factory, make_user):
    server = DeliverySink().start()
    sink = server.handler
    queue_name = f"fanout-kill-{uuid4().hex[:8]}"
    # Sent marks committed one by one: what the server accepted before the kill is known to be sent.
    knobs = {"OUTBOX_LEASE_SECONDS": 2, "OUTBOX_COMMIT_EVERY": 1, "OUTBOX_SWEEP_GRACE": 0,
             "NEWSLETTER_STALL_SECONDS": 2}
    env = {"DATABASE_URL": pg_url, "REDIS_URL": NL_REDIS_URL, "SMTP_URL": server.url,
           "SECRET_KEY": "test-secret-key-0123456789", "INSTANCE_PATH": str(tmp_path / "instance"),
           "BASE_URL": "http://kizuna.test", "CELERY_TASK_DEFAULT_QUEUE": queue_name,
           "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps({"visibility_timeout": 5, "unacked_restore_interval": 1,
                                                          "unacked_restore_throttle": 1}),
           **{key: str(value) for key, value in knobs.items() if key.startswith("OUTBOX_")}}
    producer = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=pg_url, REDIS_URL=NL_REDIS_URL,
                                     SMTP_URL=server.url, CELERY={"task_default_queue": queue_name}, **knobs))
    nl_app.extensions["celery"].set_default()
    logfile = tmp_path / "workers.log"
    readers = 2000
    try:
        staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
        issue = _live_list(staff, approver, ["en", "ja", "zh-Hans", "ko"] * (readers // 4), prefix="kill")
        with producer.app_context():
            sending.start_sending(issue_id=issue.id, actor=None)
            db.session.commit()
            db.session.remove()
        for kill_at in (300, 1200):  # mid-send twice: the next message waits at DATA, then the worker dies
            sink.hold_after(kill_at)
            with worker_process(env, logfile=logfile, queue=queue_name) as doomed:
                assert sink.held.wait(120), f"the worker never got to message {kill_at}:\n{logfile.read_text()}"
                os.killpg(doomed.pid, signal.SIGKILL)
                doomed.wait(10)
            sink.release()
            sink.held.clear()
            sink._gate = None  # the next hold_after() waits on a gate of its own
        with worker_process(env, logfile=logfile, queue=queue_name):
            with producer.app_context():
                def swept():  # beat's sweeps, as often as a test can wait for them
                    from kizuna import outbox

                    outbox.sweep()
                    sending.resume_stalled()
                    db.session.rollback()
                    return len(set(sink.message_ids())) >= readers

                wait_until(swept, timeout=180, interval=1, what="every reader's message")
                db.session.remove()
            wait_until(_sent(issue.id, readers), timeout=60, what="the issue to be sent")
        counts = Counter(sink.message_ids())
        assert set(counts) == set(_deliveries(issue.id)), "lost messages"
        assert [mid for mid, n in counts.items() if n > 1] == [], "messages sent twice"
        assert "Traceback" not in logfile.read_text()
    finally:
        with producer.app_context():
            db.session.remove()
            db.engine.dispose()
        forget_queue(redis.Redis.from_url(NL_REDIS_URL), queue_name)
        server.stop()


def test_beat_starts_scheduled_issues_and_resumes_stalled_sends_every_minute(nl_app):
    schedule = nl_app.extensions["celery"].conf.beat_schedule
    entries = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    for name in ("partners.start_scheduled_issues", "partners.resume_stalled_issues"):
        assert entries[name] == 60.0 and name in nl_app.extensions["celery"].tasks


def test_batches_go_in_chains_and_every_reader_gets_the_issue_once(live, nl_sink, make_user, monkeypatch):
    monkeypatch.setattr(sending, "BATCH_SIZE", 3)  # 20 readers: 7 batches in 2 chains, each asking for its next
    staff, approver = make_user(Role.EDITOR), make_user(Role.EDITOR)
    issue = _live_list(staff, approver, ["en", "ja", "zh-Hans", "ko"] * 5)
    sending.start_sending(issue_id=issue.id, actor=staff)
    db.session.commit()
    nl_sink.wait_for(20)
    wait_until(_sent(issue.id, 20), what="every batch of both chains")
    assert sorted(nl_sink.message_ids()) == sorted(_deliveries(issue.id))
