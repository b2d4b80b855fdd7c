"""The demo's stack on SQLite: tasks in-process, mail into the local mailbox, and `kizuna demo` itself."""

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from kizuna import create_app, services
from kizuna.extensions import db
from kizuna.models import MessageStatus, OutboundMessage, Role
from tests.conftest import PASSWORD, RequestIsolatingClient, app_config, csrf_token, login
from tests.smtp_sink import free_port

pytestmark = pytest.mark.sqlite


@pytest.fixture
def sqlite_app(tmp_path_factory):
    app = create_app(app_config(tmp_path_factory, REDIS_URL=None, SMTP_URL=None))
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_invitation_is_delivered_in_process_into_the_mailbox(sqlite_app):
    assert sqlite_app.extensions["celery"].conf.task_always_eager
    admin = services.create_user(email="admin@city.test", role=Role.ADMIN, password=PASSWORD, actor=None)
    db.session.commit()
    client = sqlite_app.test_client()
    login(client, admin)
    client.post("/admin/users", data={"email": "kenji@city.test", "role": "editor", "language": "ja",
                                      "csrf_token": csrf_token(client, "/admin/users")})
    row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.recipient == "kenji@city.test"))
    assert row.status == MessageStatus.SENT  # delivered before the response came back
    listing = client.get("/admin/mailbox").get_data(as_text=True)
    assert "kenji@city.test" in listing
    assert "Kizunaへのご招待" in listing  # the subject decoded, in the invitee's language
    key = re.search(r'href="/admin/mailbox/([^"]+)"', listing).group(1)
    page = client.get(f"/admin/mailbox/{key}").get_data(as_text=True)
    assert "http://kizuna.test/invitation/" in page  # the text part, with the set-password link
    html = client.get(f"/admin/mailbox/{key}/html")
    assert html.mimetype == "text/html" and "sandbox" in html.headers["Content-Security-Policy"]
    assert client.get("/healthz").get_json()["broker"] == {"ok": True, "mode": "in-process"}


def test_kizuna_demo_serves_tokyo_and_prints_working_credentials(tmp_path):
    port = free_port()
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance")}
    for name in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "BASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "kizuna.cli", "demo", "--port", str(port),
                             "--min-population", "1000000"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = []
        for line in proc.stdout:  # werkzeug logs "Running on" once its socket is listening
            lines.append(line)
            if "Running on" in line:
                break
        output = "".join(lines)
        assert "Home city: Tokyo (JP, Asia/Tokyo)" in output, output
        assert "Meetings: the leaders', senior officials' and working-level meetings" in output, output
        email, password = re.search(r"sign in as (\S+) with password (\S+)", output).groups()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        form = opener.open(f"{base}/login", timeout=5).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        home = opener.open(f"{base}/login", data=body, timeout=5).read().decode()
        assert "Welcome, Demo Administrator" in home
        assert (tmp_path / "instance" / "kizuna.sqlite").exists()
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
