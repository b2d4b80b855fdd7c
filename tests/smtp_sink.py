"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives and can be told to refuse."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinkHandler:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # stage -> SMTP answer, e.g. {"RCPT": "451 4.3.0 Try again later"} or {"DATA": "554 5.6.0 Rejected"};
        # a list of answers is used up one per attempt.
        self.fail: dict[str, str | list[str]] = {}
        self.received = threading.Condition()

    def _failure(self, stage: str) -> str | None:
        answer = self.fail.get(stage)
        if isinstance(answer, list):
            return answer.pop(0) if answer else None
        return answer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if answer := self._failure("RCPT"):
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if answer := self._failure("DATA"):
            return answer
        with self.received:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Block until at least `count` messages arrived; fail the test with what did arrive."""
        with self.received:
            if not self.received.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} messages at the SMTP sink, got {len(self.messages)}: "
                                     f"{[m['Subject'] for m in self.messages]}")
            return list(self.messages)

    def reset(self) -> None:
        with self.received:
            self.messages.clear()
            self.envelopes.clear()
            self.fail.clear()


class SMTPSink:
    """Start and stop the server; `url` is what SMTP_URL takes."""

    def __init__(self):
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def start(self) -> SMTPSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
