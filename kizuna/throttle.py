"""Failed-login throttling per account and per client address: in memory (demo) or in Redis."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds
    locked: bool = False


class MemoryStore:
    """Counters with expiry for one process (the demo runs a single process)."""

    def __init__(self):
        self._data: dict[str, tuple[int, float, float]] = {}  # key -> (failures, last_failure, expires)
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[int, float]:
        with self._lock:
            failures, last, expires = self._data.get(key, (0, 0.0, 0.0))
            if expires and expires < time.time():
                self._data.pop(key, None)
                return 0, 0.0
            return failures, last

    def hit(self, key: str, window: int) -> int:
        now = time.time()
        with self._lock:
            failures, _, expires = self._data.get(key, (0, 0.0, 0.0))
            if expires and expires < now:
                failures = 0
            self._data[key] = (failures + 1, now, now + window)
            return failures + 1

    def reset(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisStore:
    """The same counters in Redis, shared by every web process."""

    def __init__(self, url: str):
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> tuple[int, float]:
        failures, last = self.redis.hmget(key, "n", "t")
        return int(failures or 0), float(last or 0)

    def hit(self, key: str, window: int) -> int:
        pipe = self.redis.pipeline()
        pipe.hincrby(key, "n", 1)
        pipe.hset(key, "t", time.time())
        pipe.expire(key, window)
        return int(pipe.execute()[0])

    def reset(self, key: str) -> None:
        self.redis.delete(key)


class LoginThrottle:
    """Slow down after a few failures (a growing wait), lock after many, for a while.

    Each attempt is checked against two keys: the account (an attacker spreading addresses) and the
    client address (one address trying many accounts), with a higher limit for the address.
    """

    def __init__(self, store, *, free: int = 3, lock_after: int = 10, ip_lock_after: int = 50,
                 lock_seconds: int = 900, window: int = 900):
        self.store, self.free, self.lock_after = store, free, lock_after
        self.ip_lock_after, self.lock_seconds, self.window = ip_lock_after, lock_seconds, window

    def _keys(self, email: str, ip: str | None):
        yield f"kizuna:login:acct:{email.strip().lower()}", self.lock_after
        if ip:
            yield f"kizuna:login:ip:{ip}", self.ip_lock_after

    def check(self, email: str, ip: str | None) -> Verdict:
        now = time.time()
        worst = Verdict(True)
        for key, lock_after in self._keys(email, ip):
            failures, last = self.store.get(key)
            if failures >= lock_after:
                wait = math.ceil(last + self.lock_seconds - now)
                if wait > 0:
                    return Verdict(False, wait, locked=True)
            elif failures >= self.free:
                # 1 s after the 4th failure, 2 s after the 5th, 4 s, … up to the lock.
                wait = math.ceil(last + 2 ** (failures - self.free) - now)
                if wait > worst.retry_after:
                    worst = Verdict(False, wait)
        return worst

    def failed(self, email: str, ip: str | None) -> int:
        """Count a failure; return the account's failure count."""
        counts = [self.store.hit(key, max(self.window, self.lock_seconds)) for key, _ in self._keys(email, ip)]
        return counts[0]

    def succeeded(self, email: str) -> None:
        self.store.reset(next(self._keys(email, None))[0])
