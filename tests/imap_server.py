"""A real Dovecot IMAP server on loopback for the tests of the mailbox readers (kizuna.imap): `dovecot` fixture.

Started as root (it drops to 'nobody' for the mailboxes) with a throwaway configuration: plain IMAP and
IMAPS with a self-signed certificate, forty users that all have the password PASSWORD, one per test.
"""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.worker_sink import wait_for_port

DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
postmaster_address = postmaster@example.test
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
"""

PASSWORD = "secret"
USERS = [f"office{n}@example.test" for n in range(1, 41)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """The running server, and what a test does with a mailbox: fill it, and read its state back."""

    #: Where `append` looks up messages given by file name (a subclass names its data folder).
    data: Path | None = None

    def __init__(self, directory: Path, imap_port: int, imaps_port: int):
        self.dir, self.port, self.ssl_port = directory, imap_port, imaps_port
        self.context = ssl.create_default_context(cafile=str(directory / "cert.pem"))
        self._users = iter(USERS)

    def new_user(self) -> str:
        """A mailbox of its own for each test."""
        return next(self._users)

    def url(self, user: str, mailbox: str = "INBOX") -> str:
        """The mailbox as a setting names it (REPLIES_IMAP_URL, BOUNCES_IMAP_URL)."""
        return f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/{mailbox}"

    def client(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(user, PASSWORD)
        return imap

    def append(self, user: str, *messages: str | Path | bytes, mailbox: str = "INBOX") -> None:
        """Put messages in a mailbox: raw bytes, a path, or a file name in `data`."""
        imap = self.client(user)
        try:
            for message in messages:
                if isinstance(message, str):
                    message = self.data / message
                raw = message.read_bytes() if isinstance(message, Path) else message
                status, data = imap.append(mailbox, None, None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    def state(self, user: str, mailbox: str = "INBOX") -> dict[str, set[str]]:
        """Message-ID → flags of every message in a mailbox, read without changing anything."""
        imap = self.client(user)
        try:
            status, data = imap.select(f'"{mailbox}"', readonly=True)
            assert status == "OK", data
            status, data = imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            found = {}
            for item in data:
                if isinstance(item, tuple):
                    flags = set(imaplib.ParseFlags(item[0]))
                    message_id = " ".join(message_from_bytes(item[1])["Message-ID"].split())
                    found[message_id] = {f.decode() for f in flags} - {"\\Recent"}  # per session
            return found
        finally:
            imap.logout()

    def separator(self, user: str) -> str:
        imap = self.client(user)
        try:
            _, data = imap.list('""', '""')
            return re.search(rb'"(.)"', data[0]).group(1).decode()
        finally:
            imap.logout()


@contextmanager
def running_dovecot(server_class: type[Dovecot] = Dovecot):
    """Start Dovecot in a temporary folder, yield `server_class` for it, stop it and remove the folder."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.access(binary, os.X_OK) or not Path("/usr/lib/dovecot/imap").exists():
        pytest.fail("Dovecot's IMAP server is missing: scripts/test installs it "
                    "(apt-get install dovecot-imapd)")
    if os.geteuid() != 0:
        pytest.fail("Dovecot must be started as root (it drops to 'nobody' for the mailboxes)")
    directory = Path(tempfile.mkdtemp(prefix="kizuna-dovecot-"))
    try:
        os.chmod(directory, 0o755)  # the auth process runs as 'dovecot' and reads the passwd file
        # Every user up front: dovecot looks at a changed passwd file at most once a second.
        (directory / "passwd").write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in USERS))
        os.chmod(directory / "passwd", 0o644)
        home = directory / "home"
        home.mkdir()
        shutil.chown(home, "nobody", "nogroup")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
                       check=True, capture_output=True)
        imap_port, imaps_port = free_port(), free_port()
        conf = directory / "dovecot.conf"
        conf.write_text(DOVECOT_CONF.format(d=directory, imap_port=imap_port, imaps_port=imaps_port))
        proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            dovecot_log = directory / "dovecot.log"
            wait_for_port(proc, imap_port, "dovecot", log=lambda: proc.stdout.read().decode() + " " + (
                dovecot_log.read_text() if dovecot_log.exists() else ""))
            yield server_class(directory, imap_port, imaps_port)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            proc.stdout.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot():
    """One Dovecot per test module; each test takes a mailbox of its own with new_user()."""
    with running_dovecot() as server:
        yield server
