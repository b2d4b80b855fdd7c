"""Newsletter fan-out: one issue in four languages to many subscribers through Celery and Redis to an SMTP sink.

`python -m bench.fanout [--subscribers 100000]` needs PostgreSQL and Redis as bench.delivery does (a fresh
database, created and dropped; BENCH_PG_ADMIN, BENCH_REDIS_URL) and reuses its machinery: the SMTP sink in a
process of its own counting Message-IDs, the worker processes (Celery prefork), the smtplib baseline.

Three figures, in one run:
1. throughput: from the commit of start_sending to the last message at the sink (planning, rendering, the
   outbox rows and their delivery all included), against one smtplib connection sending the same messages'
   bytes (read back from the outbox), before and after; their ratio (target 0.70);
2. the alert: while the newsletter is a quarter through, an alert (priority queue) is started; the time from
   that commit until its message reaches the sink (target 5 s);
3. kill-safety: a second issue to the same readers while the worker is killed (SIGKILL of its process group)
   twice and restarted; lost and duplicated messages by Message-ID at the sink (target 0 and 0). What beat does
   in a deployment (the outbox sweep, the stalled-issue sweep) runs here every --beat seconds.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import smtplib
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import redis

from bench.delivery import REDIS_URL, Sink, fresh_database, summarise, wait_ready, worker
from kizuna import DEFAULTS

LANGUAGES = ("en", "ja", "zh-Hans", "ko")
VARIANTS = {
    "en": ("Diplomatic corps weekly update", "Dear colleagues,\n\nThis week the Governor met the mayors of the "
           "intercity network. **Registration** for the senior officials' meeting is open until Friday.\n\n"
           "- Online briefing on Tuesday\n- Disaster-preparedness seminar on Thursday\n\n"
           "Read more on [our site](https://www.seisakukikaku.metro.tokyo.lg.jp/)."),
    "ja": ("外交団週報", "各位\n\n今週、知事は都市ネットワークの市長と会談しました。高級実務者会合の**参加登録**は"
           "金曜日までです。\n\n- 火曜日：オンライン説明会\n- 木曜日：防災セミナー\n\n"
           "詳しくは[ウェブサイト](https://www.seisakukikaku.metro.tokyo.lg.jp/)をご覧ください。"),
    "zh-Hans": ("外交使团周报", "各位同事：\n\n本周知事会见了城市网络的市长们。高级官员会议的**报名**截止到星期五。\n\n"
                "- 星期二：线上说明会\n- 星期四：防灾研讨会\n\n详情请见[网站](https://www.seisakukikaku.metro.tokyo.lg.jp/)。"),
    "ko": ("외교단 주간 소식", "여러분께\n\n이번 주 지사는 도시 네트워크 시장들과 회담했습니다. "
           "고위 실무자 회의 **등록**은 금요일까지입니다.\n\n- 화요일: 온라인 설명회\n- 목요일: 방재 세미나\n\n"
           "자세한 내용은 [웹사이트](https://www.seisakukikaku.metro.tokyo.lg.jp/)를 참조하십시오."),
}


# -- data ---------------------------------------------------------------------------------------------------


def make_readers(count: int) -> int:
    """A mailing list of `count` active subscribers preferring en, ja, zh-Hans and ko in turn (one statement per
    table, generate_series on PostgreSQL); returns the list's id."""
    from sqlalchemy import text

    from kizuna.extensions import db
    from partners import newsletters
    from partners.models import NameOrder

    mailing_list = newsletters.create_list(actor=None, names={"en": "Diplomatic corps weekly update",
                                                              "ja": "外交団週報"}, default_language="en")
    db.session.execute(text(
        "INSERT INTO contact (family_name, given_name, family_name_local, given_name_local, name_order, honorific, "
        "title, preferred_language, notes, source, search_key, sort_key, created_at, updated_at) "
        "SELECT 'Reader' || g, 'Bench', '', '', :order, '', '', (ARRAY['en','ja','zh-Hans','ko'])[g % 4 + 1], '', "
        "'bench', '', '', now(), now() FROM generate_series(0, :n - 1) g"),
        {"order": NameOrder.GIVEN_FIRST.value, "n": count})
    db.session.execute(text(
        "INSERT INTO contact_email (contact_id, address, label, is_primary) "
        "SELECT id, 'reader' || id || '@embassy' || (id % 97) || '.example', '', true FROM contact "
        "WHERE source = 'bench' AND NOT EXISTS (SELECT 1 FROM contact_email e WHERE e.contact_id = contact.id)"))
    db.session.execute(text(
        "INSERT INTO subscription (list_id, contact_id, status, consent_at, consent_method, confirmed_at, created_at) "
        "SELECT :list, id, 'active', now(), 'import', now(), now() FROM contact WHERE source = 'bench' "
        "AND NOT EXISTS (SELECT 1 FROM subscription s WHERE s.contact_id = contact.id AND s.list_id = :list)"),
        {"list": mailing_list.id})
    db.session.commit()
    return mailing_list.id


def make_issue(list_id: int, author, approver, *, priority: str = "normal",
               variants: dict[str, tuple[str, str]] = VARIANTS) -> int:
    from kizuna.extensions import db
    from partners import newsletters

    issue = newsletters.create_issue(list_id=list_id, actor=author, priority=priority)
    for language, (subject, body) in variants.items():
        newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=author)
    newsletters.submit_issue(issue_id=issue.id, actor=author)
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    db.session.commit()
    return issue.id


def start(issue_id: int) -> float:
    """start_sending, committed; the moment of the commit (time.monotonic, the sink's clock too)."""
    from kizuna.extensions import db
    from partners import sending

    sending.start_sending(issue_id=issue_id, actor=None)
    committed = time.monotonic()
    db.session.commit()
    return committed


def outbox_filled_after(issue_id: int) -> float:
    """Seconds from the issue's start to its last delivery's message in the outbox (sent_at: the database's clock)."""
    from sqlalchemy import select

    from kizuna.extensions import db
    from kizuna.models import AuditEvent
    from partners.models import Issue

    issue = db.session.get(Issue, issue_id)
    started = db.session.scalar(select(AuditEvent.at).where(
        AuditEvent.action == "newsletter_issue.send", AuditEvent.object_id == str(issue_id)))
    seconds = (issue.sent_at - started).total_seconds() if issue.sent_at and started else float("nan")
    db.session.rollback()
    return seconds


def message_ids(issue_id: int) -> list[bytes]:
    from sqlalchemy import select

    from kizuna.extensions import db
    from kizuna.models import OutboundMessage

    found = db.session.scalars(select(OutboundMessage.message_id).where(OutboundMessage.ref_type == "newsletter_issue",
                                                                       OutboundMessage.ref_id == issue_id)).all()
    db.session.rollback()
    return [mid.encode() for mid in found]


def issue_state(issue_id: int) -> tuple[str, dict]:
    from sqlalchemy import select

    from kizuna.extensions import db
    from partners import sending
    from partners.models import Issue

    state = str(db.session.scalar(select(Issue.status).where(Issue.id == issue_id))), sending.progress(issue_id)
    db.session.rollback()
    return state


def wait_sent(issue_id: int, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, progress = issue_state(issue_id)
        if status == "sent" and progress["sent"] >= count:
            return True
        time.sleep(0.2)  # polling the rows' state between the worker's commits
    return False


class Beat(threading.Thread):
    """What celery beat runs in a deployment, every `interval` seconds here: the outbox sweep (rows whose task was
    lost or whose worker died) and the stalled-issue sweep, in this process's app, enqueuing for the worker."""

    def __init__(self, app, interval: float):
        super().__init__(name="beat", daemon=True)
        self.app, self.interval, self.stopped = app, interval, threading.Event()
        self.swept = 0

    def run(self) -> None:
        from kizuna import outbox
        from kizuna.extensions import db
        from partners import sending

        with self.app.app_context():
            while not self.stopped.wait(self.interval):
                try:
                    self.swept += len(outbox.sweep())
                    if hasattr(sending, "resume_stalled"):
                        sending.resume_stalled()
                        db.session.commit()
                finally:
                    db.session.rollback()
            db.session.remove()


# -- the baseline ---------------------------------------------------------------------------------------------


def prebuilt(issue_id: int) -> list[tuple[str, str, bytes]]:
    """The issue's messages as the outbox holds them: (sender, recipient, bytes)."""
    from sqlalchemy import select

    from kizuna.extensions import db
    from kizuna.models import OutboundMessage

    rows = db.session.execute(select(OutboundMessage.sender, OutboundMessage.recipient, OutboundMessage.raw)
                              .where(OutboundMessage.ref_type == "newsletter_issue", OutboundMessage.ref_id == issue_id)
                              .order_by(OutboundMessage.id)).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


def baseline(sink: Sink, messages: list[tuple[str, str, bytes]], expected: list[bytes]) -> dict:
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for sender, recipient, raw in messages:
            smtp.sendmail(sender, [recipient], raw)
    elapsed = time.monotonic() - started
    if not sink.wait_for(len(messages), 60):
        print("baseline: the sink did not receive every message")
    return summarise("smtplib", expected, sink.collect(), elapsed)


# -- the run --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--pool", choices=("solo", "prefork", "threads"), default="prefork")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100, help="OUTBOX_BATCH_SIZE")
    parser.add_argument("--commit-every", type=int, default=DEFAULTS["OUTBOX_COMMIT_EVERY"],
                        help="OUTBOX_COMMIT_EVERY: how many sent marks a worker commits at once (what the server "
                             "accepted meanwhile is noted in Redis, so a killed worker does not resend it)")
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--beat", type=float, default=60.0,
                        help="seconds between the beat sweeps (OUTBOX_SWEEP_INTERVAL's default)")
    parser.add_argument("--skip", choices=("kill",), action="append", default=[])
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from kizuna import create_app, services
    from kizuna.extensions import db

    n = args.subscribers
    print(f"{n} subscribers in {len(LANGUAGES)} languages; worker pool={args.pool} concurrency={args.concurrency}; "
          f"outbox batch {args.batch_size}, commit every {args.commit_every}; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    with ExitStack() as stack:
        sink = stack.enter_context(Sink())
        db_url = stack.enter_context(fresh_database())
        instance = stack.enter_context(tempfile.TemporaryDirectory())
        smtp_url = f"smtp://127.0.0.1:{sink.port}"
        # A killed worker's task comes back from Redis after visibility_timeout, its rows after the lease: short
        # here so that the kill phase ends within minutes (the deployment's are an hour and 5 minutes).
        knobs = {"OUTBOX_BATCH_SIZE": args.batch_size, "OUTBOX_COMMIT_EVERY": args.commit_every,
                 "OUTBOX_LEASE_SECONDS": 15, "SMTP_TIMEOUT": 5}
        transport = '{"visibility_timeout": 30, "unacked_restore_interval": 2, "unacked_restore_throttle": 1}'
        env = {"DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "SMTP_URL": smtp_url,
               "SECRET_KEY": "bench-secret-key-0123456789", "INSTANCE_PATH": instance,
               "BASE_URL": "https://kizuna.example.org",
               "MAIL_FROM": "Tokyo International Affairs <news@kizuna.example.org>",
               "CELERY_BROKER_TRANSPORT_OPTIONS": transport, **{k: str(v) for k, v in knobs.items()}}
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": REDIS_URL, "SMTP_URL": smtp_url,
                          "SECRET_KEY": env["SECRET_KEY"], "INSTANCE_PATH": instance, "BASE_URL": env["BASE_URL"],
                          "MAIL_FROM": env["MAIL_FROM"], "NEWSLETTER_STALL_SECONDS": 120, **knobs})
        logging.getLogger().setLevel(logging.WARNING)  # create_app() set INFO for a deployment's log
        stack.enter_context(app.app_context())
        upgrade()
        author = services.create_user(email="author@kizuna.example.org", role="editor", actor=None,
                                     timezone="Asia/Tokyo")
        approver = services.create_user(email="approver@kizuna.example.org", role="editor", actor=None,
                                     timezone="Asia/Tokyo")
        db.session.commit()
        started = time.monotonic()
        list_id = make_readers(n)
        print(f"{n} readers created in {time.monotonic() - started:.1f} s")
        newsletter = make_issue(list_id, author, approver)
        duty = make_readers_list_of_one()
        alert = make_issue(duty, author, approver, priority="alert", variants={
            "en": ("Earthquake: stay where you are safe", "An earthquake of magnitude 6.1 struck at 14:02."),
            "ja": ("地震：安全な場所にいてください", "14時02分にマグニチュード6.1の地震がありました。")})
        celery_app = app.extensions["celery"]
        logs = Path(instance)

        # 1 and 2: throughput, and the alert mid-send
        with worker(env, args.pool, args.concurrency, logs / "worker.log") as proc:
            wait_ready(celery_app, proc)
            committed = start(newsletter)
            sink.wait_for(n // 4, args.timeout)
            alert_committed = time.monotonic()
            start(alert)
            arrived = sink.wait_for(n + 1, args.timeout)
            finished = time.monotonic()
            if not arrived or not wait_sent(newsletter, n, 60):
                print(f"fanout: not everything arrived before the timeout: {issue_state(newsletter)}")
            collected = sink.collect()
        alert_ids = set(message_ids(alert))
        alert_at = next((t for mid, t in zip(collected["ids"], collected["times"], strict=True) if mid in alert_ids),
                        None)
        expected = message_ids(newsletter)
        collected["ids"] = [mid for mid in collected["ids"] if mid not in alert_ids]
        run = summarise("fanout", expected, collected, finished - committed)
        print(f"(every message was in the outbox {outbox_filled_after(newsletter):.1f} s after the start; the first "
              f"arrived at the sink {collected['times'][0] - committed:.1f} s after it)")

        messages = prebuilt(newsletter)
        size = sum(len(raw) for _, _, raw in messages) / max(1, len(messages))
        # The baseline twice, its mean the reference: one run of it varies by a tenth from the next.
        runs = [baseline(sink, messages, expected) for _ in range(2)]
        after = {**runs[0], "rate": sum(r["rate"] for r in runs) / len(runs)}
        print(f"smtplib mean of {len(runs)} runs: {after['rate']:.0f} msg/s")
        del messages
        alert_latency = None if alert_at is None else alert_at - alert_committed
        ratio = run["rate"] / after["rate"]
        print(f"messages average {size / 1024:.1f} KiB")
        print(f"ratio fanout/smtplib: {ratio:.2f} (target 0.70)")
        print(f"alert: first message at the sink {alert_latency:.2f} s after its start was committed, "
              f"the newsletter a quarter through (target 5 s)" if alert_latency is not None else
              "alert: its message never arrived")

        # 3: kill-safety
        lost = twice = None
        if "kill" not in args.skip:
            second = make_issue(list_id, author, approver)
            beat = Beat(app, args.beat)
            beat.start()
            started = time.monotonic()
            start(second)
            for k in range(args.kills):
                with worker(env, args.pool, args.concurrency, logs / "worker.log") as proc:
                    wait_ready(celery_app, proc)
                    sink.wait_for(n * (k + 1) // (args.kills + 1), args.timeout)
                    os.killpg(proc.pid, signal.SIGKILL)
                    print(f"killed the worker (SIGKILL) at {n * (k + 1) // (args.kills + 1)} messages")
            with worker(env, args.pool, args.concurrency, logs / "worker.log") as proc:
                wait_ready(celery_app, proc)
                done = wait_sent(second, n, args.timeout)
                elapsed = time.monotonic() - started
            beat.stopped.set()
            beat.join(30)
            if not done:
                print(f"kill run: not finished before the timeout: {issue_state(second)}")
            collected = sink.collect()
            counts = Counter(collected["ids"])
            expected = message_ids(second)
            lost = sum(1 for mid in expected if mid not in counts)
            twice = sum(c - 1 for c in counts.values() if c > 1)
            print(f"kill run: {len(expected)} messages in {elapsed:.1f} s with {args.kills} kills and restarts "
                  f"(beat every {args.beat:.0f} s); {lost} lost, {twice} duplicated at the sink; "
                  f"{beat.swept} rows re-enqueued by the outbox sweep")
        print(f"summary: fanout {run['rate']:.0f} msg/s, smtplib {after['rate']:.0f} msg/s, ratio {ratio:.2f} "
              f"(target 0.70); alert {alert_latency if alert_latency is None else round(alert_latency, 2)} s "
              f"(target 5); lost {lost}, duplicated {twice} (targets 0, 0); load average now "
              f"{os.getloadavg()[0]:.1f}")
        db.session.remove()
        db.engine.dispose()


def make_readers_list_of_one() -> int:
    """The duty officers' alert list: one reader, in Japanese."""
    from kizuna.extensions import db
    from partners import newsletters, services

    mailing_list = newsletters.create_list(actor=None, names={"en": "Emergency alerts", "ja": "緊急情報"},
                                           default_language="en")
    contact = services.create_contact(actor=None, family_name="Officer", given_name="Duty",
                                      emails=["duty-officer@embassy.example"], preferred_language="ja")
    newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=None)
    db.session.commit()
    return mailing_list.id


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
