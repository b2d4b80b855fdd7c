"""DKIM signatures (RFC 6376) on outgoing mail, with dkimpy, when DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE
are set: relaxed/relaxed, rsa-sha256, over the headers receivers and mailbox providers look at.

kizuna.outbox.deliver signs each message as it hands it to the server, whoever built its bytes (a service through
outbox.queue, or the newsletter sender writing its rows in bulk); the outbox row keeps the unsigned message.
docs/email-authentication.md says how to make the key and publish its DNS record.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key
from flask import current_app

log = logging.getLogger(__name__)

#: The headers signed when present (From always is): those that say who sent what to whom, and those the
#: large mailbox providers act on (RFC 8058 one-click unsubscribe, the list's id).
SIGNED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
                  "List-Id", "MIME-Version", "Content-Type")
_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
MIN_KEY_BITS = 1024  # what verifiers accept at least (RFC 8301); 2048 is what the docs recommend


class DKIMKeyError(ValueError):
    """The key file cannot be used; the message says why."""


def check_name(value: str) -> bool:
    """A domain or selector made of DNS labels (letters, digits, hyphens, underscores), dot-separated."""
    return bool(_NAME.fullmatch(value)) and len(value) <= 253


def read_key(path: str | Path) -> bytes:
    """The PEM RSA private key in `path` (PKCS#1 or PKCS#8, unencrypted), checked to parse and to be long
    enough; raises DKIMKeyError saying what is wrong."""
    try:
        data = Path(path).read_bytes().replace(b"\r\n", b"\n")
    except OSError as exc:
        raise DKIMKeyError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"ENCRYPTED" in data:
        raise DKIMKeyError(f"{path} holds an encrypted key; Kizuna needs it without a passphrase "
                        "(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)")
    try:
        key = parse_pem_private_key(data)
    except (UnparsableKeyError, ValueError, IndexError) as exc:
        raise DKIMKeyError(f"{path} is not a PEM RSA private key ({str(exc).splitlines()[0]})") from None
    bits = key["modulus"].bit_length()
    if bits < MIN_KEY_BITS:
        raise DKIMKeyError(f"{path} holds a {bits}-bit key; receivers ignore signatures by keys under "
                        f"{MIN_KEY_BITS} bits (use 2048)")
    return data


@lru_cache(maxsize=4)
def _key(path: str, mtime_ns: int) -> bytes:
    return read_key(path)


def sign(raw: bytes) -> bytes:
    """`raw` (an RFC 5322 message with CRLF line ends) with a DKIM-Signature header in front, or `raw`
    itself when DKIM is not configured."""
    cfg = current_app.config
    domain, selector, path = cfg.get("DKIM_DOMAIN"), cfg.get("DKIM_SELECTOR"), cfg.get("DKIM_PRIVATE_KEY_FILE")
    if not (domain and selector and path):
        return raw
    key = _key(str(path), Path(path).stat().st_mtime_ns)  # a replaced key file is read again
    present = {name.lower() for name in _header_names(raw)}
    headers = [name.encode() for name in SIGNED_HEADERS if name.lower() in present or name == "From"]
    try:
        signature = dkim.sign(raw, selector.encode(), domain.encode(), key, canonicalize=(b"relaxed", b"relaxed"),
                              include_headers=headers)
    except dkim.DKIMException:  # this message's headers, not the key (checked at start): send it as it is
        log.exception("DKIM: the message cannot be signed; it goes unsigned")
        return raw
    return signature + raw


def _header_names(raw: bytes) -> list[str]:
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return [line.split(b":", 1)[0].decode("ascii", "replace").strip()
            for line in re.split(rb"\r?\n", head) if line and line[:1] not in (b" ", b"\t") and b":" in line]
