"""Helpers for the delivery tests: an SMTP sink that counts sessions and can hold a message mid-DATA,
a Celery worker in a subprocess, and waiting on real conditions with a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller

from tests.smtp_sink import SinkHandler, free_port

ROOT = Path(__file__).resolve().parent.parent


class DeliverySinkHandler(SinkHandler):
    """SinkHandler that also counts SMTP sessions (EHLO/HELO) and can hold messages at DATA.

    `hold_after(n)`: once n messages are in, the next DATA waits, `held` is set, and the message is
    kept only if `release()` comes before the client goes away (a killed client cancels it).
    """

    def __init__(self):
        super().__init__()
        self.sessions = 0
        self.held = threading.Event()
        self._hold_after: int | None = None
        self._gate: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.received:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        with self.received:
            self.sessions += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_DATA(self, server, session, envelope):
        if self._hold_after is not None and len(self.messages) >= self._hold_after:
            if self._gate is None:
                self._loop, self._gate = asyncio.get_running_loop(), asyncio.Event()
            self.held.set()
            await self._gate.wait()
        return await super().handle_DATA(server, session, envelope)

    def hold_after(self, count: int) -> None:
        self._hold_after = count

    def release(self) -> None:
        self._hold_after = None
        if self._gate is not None:
            self._loop.call_soon_threadsafe(self._gate.set)

    def message_ids(self) -> list[str]:
        with self.received:
            return [str(m["Message-ID"]) for m in self.messages]


class DeliverySink:
    """A sink on its own port (a chosen one, to bring a server 'back' where clients expect it)."""

    def __init__(self, port: int | None = None):
        self.handler = DeliverySinkHandler()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def start(self) -> DeliverySink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release()
        self.controller.stop()


def wait_until(condition: Callable[[], object], *, timeout: float = 20.0, what: str = "the condition",
               interval: float = 0.02):
    """Poll `condition` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last saw {result!r}")
        time.sleep(interval)  # the poll interval of a wait on a real condition, not a synchronisation


def wait_for_port(proc, port: int, what: str, *, timeout: float = 15.0, log=lambda: "") -> None:
    """Wait until the server `proc` answers on loopback `port`; fail at once, with its output (`log()`), if it
    exits first, and after `timeout` seconds if it never answers."""

    def answering() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}: {log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    wait_until(answering, timeout=timeout, what=f"{what} to answer on port {port}")


def unacked_for(broker, queue: str) -> list[str]:
    """Delivery tags of messages from `queue` that a worker took and never acknowledged (kombu's
    Redis transport keeps them in the `unacked` hash until they are acked or restored)."""
    return [tag.decode() for tag, entry in broker.hgetall("unacked").items() if json.loads(entry)[2] == queue]


def forget_queue(broker, queue: str) -> None:
    """Remove a test queue from Redis: its list, kombu's bindings, and unacknowledged messages of it,
    which another worker on this database would otherwise restore long after the test."""
    tags = unacked_for(broker, queue)
    if tags:
        broker.hdel("unacked", *tags)
        broker.zrem("unacked_index", *tags)
    broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@contextmanager
def worker_process(env: dict[str, str], *, logfile: Path, queue: str):
    """`celery -A worker worker --pool=solo -Q queue` as a subprocess of its own session; SIGTERM on exit.

    Yields the Popen; kill it with os.killpg(proc.pid, signal.SIGKILL) to lose it mid-task.
    """
    cmd = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool=solo", "-Q", queue,
           "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO",
           "-n", f"{queue}-{uuid4().hex[:6]}@%h"]
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "INSTANCE_PATH")}
    with logfile.open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**full_env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
