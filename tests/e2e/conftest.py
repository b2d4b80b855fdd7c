"""Browser tests' harness: a live server on the test database, Debian's headless Chromium, axe on every page.

Every page a test sees goes through `Tab.goto` or `Tab.follow`, which wait for the document and run
axe-core on it; a document that loaded without being audited fails the test at teardown, and so do
server exceptions, script errors, CSP violations and failed sub-resources.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
from flask import Flask
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from kizuna import create_app
from kizuna.extensions import db
from kizuna.models import MessageStatus, OutboundMessage
from tests.conftest import PASSWORD, REDIS_BASE, ROOT, app_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NODE_DIR = Path(__file__).resolve().parent / "node"
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")
TIMEOUT_MS = 15_000
# The live server's tasks and the e2e worker meet here, not on redis_url: every test session starts by
# flushing that database, and sessions on one machine share it. Nobody flushes this one; the queue
# name is unique to the session.
E2E_BROKER = f"{REDIS_BASE}/15"

expect.set_options(timeout=TIMEOUT_MS)

# Runs axe and, in the same pass, lists form controls nobody can name: axe's `label` rule covers
# most of this, but the brief is "every control has a label", so it is checked by itself too.
AUDIT_JS = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !['hidden', 'submit', 'reset', 'button', 'image'].includes(el.type))
    .filter((el) => !el.closest('[hidden]'))
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                    && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML.slice(0, 200));
  return {violations: result.violations, unlabelled};
}"""


def axe_report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        lines += [f"    {', '.join(map(str, n['target']))}: {n['html'][:160]}" for n in v["nodes"][:5]]
    return "\n".join(lines)


# -- the live server --------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # one line per request drowns the failure output
        pass


@dataclass
class LiveServer:
    url: str
    app: Flask
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def live_server(app, pg_url, redis_url, smtp_sink, e2e_queue, tmp_path_factory) -> Iterator[LiveServer]:
    """The app served over HTTP from a thread, on this worker's PostgreSQL database (brought to head by `app`).

    A separate app from the session's `app`, whose database connections the rollback fixtures swap;
    its BASE_URL is its own address, so that links in emails lead back to it, and its tasks go to a
    queue that only the e2e worker reads.
    """
    live_app = create_app(app_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=pg_url, REDIS_URL=redis_url,
                                     SMTP_URL=smtp_sink.url,
                                     CELERY={"broker_url": E2E_BROKER, "task_default_queue": e2e_queue}))
    errors: list[str] = []

    def wsgi(environ, start_response):
        try:
            return live_app.wsgi_app(environ, start_response)
        except Exception:  # TESTING propagates exceptions: keep them for the test to fail on
            errors.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}\n{traceback.format_exc()}")
            raise

    # create_app() made the live app's Celery the default one, which shared tasks resolve to: give
    # that back to the session app, which other tests' in-process workers run.
    app.extensions["celery"].set_default()
    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    live_app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=url, app=live_app, errors=errors)
    server.shutdown()
    thread.join(timeout=10)
    with live_app.app_context():
        db.engine.dispose()


class WorkerProcess:
    """`celery -A worker worker` (the deployment's own entry point) in a subprocess, reading the app's default
    queue and its alerts' queue.

    Its log is read line by line in a thread; `changed` is notified on every line, so tests can wait on
    real conditions (it is ready, a task finished) rather than sleep.
    """

    def __init__(self, queue: str, env: dict[str, str], *, alerts: str):
        self.queue = queue
        self.lines: list[str] = []
        self.changed = threading.Condition()
        cmd = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool=solo", "-Q", f"{queue},{alerts}",
               "-n", f"{queue}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle",
               "--loglevel=INFO"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, text=True, bufsize=1)
        threading.Thread(target=self._read, name=f"log-{queue}", daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip())
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()  # it exited: waiters re-check and fail with the log

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 30.0):
        """Wait until condition() is truthy, re-checked on every line the worker logs."""
        with self.changed:
            if not self.changed.wait_for(lambda: condition() or self.proc.poll() is not None, timeout) \
                    or not condition():
                tail = "\n".join(self.lines[-30:])
                raise AssertionError(f"timed out waiting for {what} (worker exit code {self.proc.poll()}):\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="session")
def e2e_queue() -> str:
    """The Celery queue of the live server's tasks, read only by this process's e2e worker."""
    return f"e2e-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def celery_worker(live_server, pg_url, smtp_sink, e2e_queue, tmp_path_factory) -> Iterator[WorkerProcess]:
    """A real worker process delivering the live server's mail to the SMTP sink.

    Not tests/conftest.py's in-process worker, for three reasons: its ping check cannot pass (the app has
    no result backend and ignores results, so celery.ping's `.get()` returns None and start_worker
    asserts); a second in-process worker cannot stop without stopping the others in the process
    (celery.worker.state.should_terminate is global), and tests/kizuna/test_delivery.py keeps one running;
    and an in-process worker runs tasks in the session app, whose engine db_session tests swap for their
    own connection. A subprocess on a queue of its own shares none of that.
    """
    keep = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "INSTANCE_PATH", "BASE_URL")}
    env = {**keep, "DATABASE_URL": pg_url, "REDIS_URL": E2E_BROKER, "SMTP_URL": smtp_sink.url,
           "SECRET_KEY": live_server.app.config["SECRET_KEY"], "BASE_URL": live_server.url,
           "INSTANCE_PATH": str(tmp_path_factory.mktemp("worker-instance")),
           "CELERY_TASK_DEFAULT_QUEUE": e2e_queue}  # so that its own retries stay on this queue
    alerts = live_server.app.config["ALERT_QUEUE"]  # the worker's app names it the same from the same queue
    worker = WorkerProcess(e2e_queue, env, alerts=alerts)
    try:
        worker.wait_for(lambda: any(line.endswith(" ready.") for line in worker.lines), "the worker to start")
        yield worker
    finally:
        worker.stop()
        redis.Redis.from_url(E2E_BROKER).delete(e2e_queue, f"_kombu.binding.{e2e_queue}", alerts,
                                                f"_kombu.binding.{alerts}")


@pytest.fixture
def wait_until_sent(celery_worker) -> Callable[[str], None]:
    """wait_until_sent(address): wait until every outbox row for `address` is `sent`, re-checked on each line
    the worker logs (the SMTP sink has the message a moment before the worker records it as sent)."""

    def wait(address: str, timeout: float = 20.0) -> None:
        def all_sent():
            statuses = db.session.scalars(select(OutboundMessage.status)
                                          .where(OutboundMessage.recipient == address)).all()
            return statuses and set(statuses) == {MessageStatus.SENT}

        celery_worker.wait_for(all_sent, f"every message to {address} to be sent", timeout)

    return wait


@pytest.fixture(autouse=True)
def _real_commits_and_clean_server(live_server, committed):
    """Browser tests write real rows (the server's connections must see them), truncated afterwards."""
    live_server.errors.clear()
    yield
    assert not live_server.errors, "the live server raised:\n" + "\n".join(live_server.errors)


# -- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci --prefix tests/e2e/node`")
    return AXE.read_text()


@pytest.fixture(scope="session")
def pw_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; the one sync_playwright() of this process."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (Playwright's download does not work here)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Tab:
    """One person's browser (its own context: cookies, session) with every page audited."""

    def __init__(self, page: Page, base_url: str, axe_source: str):
        self.page = page
        self.base_url = base_url
        self._axe_source = axe_source
        self.loads: list[str] = []  # URL of every document that finished loading, in order
        self.audited: set[int] = set()  # indexes into loads
        self.problems: list[str] = []
        page.on("load", lambda p: self.loads.append(p.url))
        page.on("pageerror", lambda exc: self.problems.append(f"script error on {page.url}: {exc}"))
        page.on("console", self._on_console)
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        # A document answered with 4xx is logged as "Failed to load resource"; statuses are checked
        # by the tests themselves, and failed sub-resources by _on_response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_response(self, response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.problems.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def audit(self) -> None:
        """Run axe on the current document; fail on serious or critical violations and unlabelled controls."""
        self.page.wait_for_load_state("load")
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            # Not add_script_tag: the page's CSP (script-src 'self') refuses inline scripts.
            self.page.evaluate(self._axe_source)
        result = self.page.evaluate(AUDIT_JS, AXE_TAGS)
        bad = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not bad, f"axe on {self.page.url}:\n{axe_report(bad)}"
        assert not result["unlabelled"], f"form controls without a label on {self.page.url}: {result['unlabelled']}"
        self.audited.add(len(self.loads) - 1)

    def goto(self, path: str, *, status: int = 200) -> Response:
        response = self.page.goto(self.url(path))
        assert response is not None
        assert response.status == status, f"GET {path}: {response.status}, expected {status}"
        self.audit()
        return response

    def follow(self, action: Callable[[], object], *, status: int = 200) -> Response:
        """Do something that loads a new page (a click, a submit), wait for it and audit it."""
        with self.page.expect_navigation() as navigation:
            action()
        response = navigation.value
        assert response is not None
        assert response.status == status, f"{response.url}: {response.status}, expected {status}"
        self.audit()
        return response

    def sign_in(self, email: str, password: str = PASSWORD, *, path: str = "/login") -> Response:
        if path:
            self.goto(path)
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        return self.follow(lambda: self.page.get_by_role("button", name="Sign in").click())

    def check_finished(self) -> list[str]:
        """What went wrong in this tab that no assertion has seen."""
        problems = list(self.problems)
        skipped = [url for i, url in enumerate(self.loads) if i not in self.audited and url != "about:blank"]
        if skipped:
            problems.append(f"pages loaded without an accessibility audit: {skipped}")
        return problems


@pytest.fixture
def browse(pw_browser, live_server, axe_source) -> Iterator[Callable[[], Tab]]:
    """browse() → a new Tab in a fresh browser context (a new person), English by default."""
    contexts, tabs = [], []

    def open_tab(locale: str = "en-US") -> Tab:
        context = pw_browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        tab = Tab(context.new_page(), live_server.url, axe_source)
        tabs.append(tab)
        return tab

    yield open_tab
    problems = [p for tab in tabs for p in tab.check_finished()]
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def tab(browse) -> Tab:
    return browse()


# -- mail -------------------------------------------------------------------------------------------


def mail_to(sink, address: str, timeout: float = 20.0) -> EmailMessage:
    """The first message the SMTP sink received for `address`, waiting for it to arrive."""
    handler = sink.handler

    def find():
        return next((m for m in handler.messages if address in str(m["To"])), None)

    with handler.received:
        if not handler.received.wait_for(lambda: find() is not None, timeout):
            raise AssertionError(f"no message for {address} at the SMTP sink within {timeout} s; "
                                 f"got {[(str(m['To']), str(m['Subject'])) for m in handler.messages]}")
        return find()


def links_in(message: EmailMessage) -> list[str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"https?://\S+", text)
