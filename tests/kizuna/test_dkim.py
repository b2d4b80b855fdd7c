"""DKIM: mail leaves signed (relaxed/relaxed, rsa-sha256) when a key is configured, signed by the worker as it sends,
and the signature verifies with dkimpy against the published record; without the settings mail is unsigned; bad
settings stop the start."""

from __future__ import annotations

import base64
import subprocess

import dkim
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from kizuna import config as kizuna_config
from kizuna import dkim as kizuna_dkim
from kizuna import outbox
from kizuna.extensions import db
from kizuna.mail import build_message
from kizuna.models import OutboundMessage
from tests.kizuna.test_delivery import (  # noqa: F401 - the fixtures of the real worker on Redis
    committed,
    delivery_app,
    delivery_worker,
    settings,
    worker_app_is_default,
)
from tests.smtp_sink import SinkHandler, free_port
from tests.worker_sink import wait_until

DOMAIN, SELECTOR = "kizuna.example.test", "kizuna2026"
LIST_HEADERS = {"List-Id": "Diplomatic corps weekly update <list-1.kizuna.example.test>",
                "List-Unsubscribe": "<https://kizuna.example.test/newsletters/unsubscribe/abc>, "
                                    "<mailto:bounces@kizuna.example.test?subject=unsubscribe-abc>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def make_key(directory, bits: int = 2048) -> tuple:
    """A key made the way docs/email-authentication.md says, and the TXT record to publish for it."""
    key = directory / f"dkim-{bits}.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                    "-out", str(key)], check=True, capture_output=True)
    public = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                            capture_output=True).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return make_key(tmp_path_factory.mktemp("dkim"))


def dns_for(record: bytes):
    """dkimpy's own hook for its DNS lookup: the selector's TXT record as the domain would publish it."""
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def newsletter_message(to: str = "attache@embassy-de.example"):
    return build_message(sender="Office of the Governor <noreply@kizuna.example.test>", to=to,
                         subject="Diplomatic corps weekly update — 外交団週報", text="News this week.\n",
                         html="<p>News <b>this</b> week.</p>", headers=LIST_HEADERS)


def signature_tags(raw: bytes) -> dict[str, str]:
    header = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert header.startswith("DKIM-Signature:"), header[:200]
    value = header.split("DKIM-Signature:", 1)[1].split("\r\n", 1)[0]
    for line in header.split("\r\n")[1:]:
        if not line[:1].isspace():
            break
        value += line
    return {k.strip(): "".join(v.split()) for k, _, v in (tag.partition("=") for tag in value.split(";"))}


@pytest.fixture
def signing(app, key, monkeypatch):
    path, _ = key
    for name, value in {"DKIM_DOMAIN": DOMAIN, "DKIM_SELECTOR": SELECTOR, "DKIM_PRIVATE_KEY_FILE": str(path)}.items():
        monkeypatch.setitem(app.config, name, value)


def queued_and_signed(message) -> tuple:
    """What the worker sends for a message put in the outbox: the row's bytes, signed at send time."""
    row = outbox.queue(message, category="test")
    return row, kizuna_dkim.sign(row.raw)


def test_a_message_is_signed_relaxed_over_the_list_headers_and_verifies(db_session, signing, key):
    row, raw = queued_and_signed(newsletter_message())

    tags = signature_tags(raw)
    assert (tags["v"], tags["a"], tags["c"], tags["d"], tags["s"]) == ("1", "rsa-sha256", "relaxed/relaxed",
                                                                         DOMAIN, SELECTOR)
    assert tags["h"].split(":") == ["from", "to", "subject", "date", "message-id", "list-unsubscribe",
                                    "list-unsubscribe-post", "list-id", "mime-version", "content-type"]
    assert dkim.verify(raw, dnsfunc=dns_for(key[1]))
    # The Message-ID the bounces are matched by is the row's.
    assert raw.endswith(row.raw) and outbox.parse(raw)["Message-ID"] == row.message_id


def test_a_message_changed_on_the_way_or_checked_against_another_key_fails(db_session, signing, key, tmp_path):
    _, raw = queued_and_signed(newsletter_message())
    assert not dkim.verify(raw.replace(b"News this week.", b"News that week."), dnsfunc=dns_for(key[1]))
    assert not dkim.verify(raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                       b"List-Unsubscribe-Post: nothing"), dnsfunc=dns_for(key[1]))
    _, other_record = make_key(tmp_path)
    assert not dkim.verify(raw, dnsfunc=dns_for(other_record))


def test_a_message_without_list_headers_signs_only_what_it_has(db_session, signing, key):
    _, raw = queued_and_signed(build_message(sender="Kizuna <noreply@kizuna.example.test>", to="mayor@seoul.example",
                                             subject="Invitation", text="See you in Tokyo."))
    assert "list-id" not in signature_tags(raw)["h"]
    assert dkim.verify(raw, dnsfunc=dns_for(key[1]))


def test_without_the_settings_mail_is_not_signed(db_session, app):
    assert not app.config.get("DKIM_DOMAIN")
    row, raw = queued_and_signed(newsletter_message())
    assert raw == row.raw and b"DKIM-Signature" not in raw


# -- the settings ---------------------------------------------------------------------------------------------


def load(tmp_path, **values):
    return kizuna_config.load({"SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path), **values}, environ={})


def test_the_three_settings_are_taken_and_the_key_path_made_absolute(tmp_path, key, monkeypatch):
    path, _ = key
    monkeypatch.chdir(path.parent)
    cfg = kizuna_config.load({"SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path)},
                             environ={"DKIM_DOMAIN": "Kizuna.Example.Test.", "DKIM_SELECTOR": SELECTOR,
                                      "DKIM_PRIVATE_KEY_FILE": path.name})
    assert (cfg["DKIM_DOMAIN"], cfg["DKIM_SELECTOR"], cfg["DKIM_PRIVATE_KEY_FILE"]) == (DOMAIN, SELECTOR, str(path))
    assert load(tmp_path)["DKIM_DOMAIN"] is None


@pytest.mark.parametrize(("given", "setting", "problem"), [
    ({"DKIM_DOMAIN": DOMAIN, "DKIM_SELECTOR": SELECTOR}, "DKIM_PRIVATE_KEY_FILE", "DKIM needs all three"),
    ({"DKIM_PRIVATE_KEY_FILE": "KEY"}, "DKIM_DOMAIN", "is not set, but DKIM_PRIVATE_KEY_FILE is"),
    ({"DKIM_DOMAIN": "not a domain", "DKIM_SELECTOR": SELECTOR, "DKIM_PRIVATE_KEY_FILE": "KEY"}, "DKIM_DOMAIN",
     "is not a DNS name"),
    ({"DKIM_DOMAIN": DOMAIN, "DKIM_SELECTOR": "s/1", "DKIM_PRIVATE_KEY_FILE": "KEY"}, "DKIM_SELECTOR",
     "is not a DNS name"),
    ({"DKIM_DOMAIN": DOMAIN, "DKIM_SELECTOR": SELECTOR, "DKIM_PRIVATE_KEY_FILE": "/nonexistent/dkim.pem"},
     "DKIM_PRIVATE_KEY_FILE", "cannot read /nonexistent/dkim.pem"),
])
def test_incomplete_or_wrong_settings_stop_the_start_naming_the_setting(tmp_path, key, given, setting, problem):
    given = {name: str(key[0]) if value == "KEY" else value for name, value in given.items()}
    with pytest.raises(kizuna_config.ConfigError, match=problem) as refused:
        load(tmp_path, **given)
    assert refused.value.setting == setting


@pytest.mark.parametrize(("content", "problem"), [
    (b"not a key at all\n", "is not a PEM RSA private key"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "is not a PEM RSA private key"),
    (b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted key"),
    ("SHORT", "512-bit key"),
])
def test_a_key_file_that_does_not_parse_stops_the_start(tmp_path, content, problem):
    if content == "SHORT":
        path, _ = make_key(tmp_path, bits=512)
    else:
        path = tmp_path / "dkim.pem"
        path.write_bytes(content)
    with pytest.raises(kizuna_config.ConfigError, match=problem) as refused:
        load(tmp_path, DKIM_DOMAIN=DOMAIN, DKIM_SELECTOR=SELECTOR, DKIM_PRIVATE_KEY_FILE=str(path))
    assert refused.value.setting == "DKIM_PRIVATE_KEY_FILE"


# -- through the worker -----------------------------------------------------------------------------------------


class RawSink(SinkHandler):
    """The SMTP sink, keeping the bytes as received: a signature is checked on those, not on a re-serialisation."""

    def __init__(self):
        super().__init__()
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def raw_sink(delivery_app, settings):  # noqa: F811 - fixtures
    handler = RawSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings(SMTP_URL=f"smtp://127.0.0.1:{controller.port}?timeout=5")
    try:
        yield handler
    finally:
        controller.stop()


def test_a_message_sent_by_the_worker_arrives_signed_and_verifies(delivery_app, delivery_worker, committed,  # noqa: F811
                                                                   settings, raw_sink, key):  # noqa: F811
    worker_app_is_default(delivery_app)
    settings(DKIM_DOMAIN=DOMAIN, DKIM_SELECTOR=SELECTOR, DKIM_PRIVATE_KEY_FILE=str(key[0]))
    row = outbox.queue(newsletter_message(to="consul@embassy-br.example"), category="test")
    message_id = row.message_id
    db.session.commit()

    wait_until(lambda: raw_sink.raw, what="the message at the SMTP sink")

    (raw,) = raw_sink.raw
    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=dns_for(key[1]))
    assert outbox.parse(raw)["Message-ID"] == message_id
    stored = db.session.scalar(select(OutboundMessage.raw).where(OutboundMessage.message_id == message_id))
    assert b"DKIM-Signature" not in stored  # the row keeps the message as built; the signature is the send's
