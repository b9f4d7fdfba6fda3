"""Wrong credentials at any door (the service's and the relay's HTTP, the browser's login,
the relay's SSH): one throttle, one comparison of secrets.

``FailedLogins``: wrong credentials from one address wait twice as long each time, and the
credential of a waiting address is checked only after its wait; at most ``MOST_WAITING``
attempts of an address wait at once, the rest are turned away unheard (no queue of hours) with
``TooManyAttempts``: neither right nor wrong, so the door answers "try again later" (429 with
Retry-After), never "invalid", and a right credential sent during a flood is not called wrong.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

FIRST_DELAY = 0.05
MOST_DELAY = 10.0
REMEMBERED_ADDRESSES = 10_000
# Attempts of a failing address that may wait their turn; more are refused unheard, so that a
# flood of wrong tokens queues seconds, not hours, before that address is heard again.
MOST_WAITING = 4


class TooManyAttempts(Exception):
    """An address has ``MOST_WAITING`` attempts waiting already: this one was not judged."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(math.ceil(retry_after), 1)  # whole seconds, as Retry-After
        super().__init__(
            "too many wrong credentials from this address; this one was not checked: "
            f"try again in {self.retry_after} s"
        )

    @property
    def headers(self) -> dict[str, str]:
        """The header every door's 429 carries: when to try again."""
        return {"Retry-After": str(self.retry_after)}


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a credential as sent (any bytes) with the secret."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


class FailedLogins:
    """Wrong credentials per address: each one makes that address wait twice as long."""

    def __init__(self, first: float = FIRST_DELAY, most: float = MOST_DELAY) -> None:
        self.first = first
        self.most = most
        self._count: dict[str, int] = {}
        self._until: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    def _fail(self, addr: str) -> None:
        count = self._count.pop(addr, 0) + 1
        self._count[addr] = count  # re-inserted: the dict stays ordered by last failure
        self._until[addr] = time.monotonic() + min(self.first * 2 ** (count - 1), self.most)
        while len(self._count) > REMEMBERED_ADDRESSES:  # a scan from many addresses
            oldest = next(iter(self._count))
            self._count.pop(oldest)
            self._until.pop(oldest, None)
            self._locks.pop(oldest, None)

    def _forget(self, addr: str) -> None:
        self._count.pop(addr, None)
        self._until.pop(addr, None)
        self._locks.pop(addr, None)

    async def check(self, addr: str, valid: Callable[[], bool | Awaitable[bool]]) -> bool:
        """Whether the credential is valid, checked only once this address's wait is over;
        ``TooManyAttempts`` when this address's queue of waiting attempts is full."""
        if addr not in self._count:
            return await self._judge(addr, valid)
        if self._waiting.get(addr, 0) >= MOST_WAITING:
            # The queue ahead ends no sooner than this address's wait plus one more per attempt.
            ahead = self._until.get(addr, 0.0) - time.monotonic()
            raise TooManyAttempts(ahead + self.first * MOST_WAITING)
        self._waiting[addr] = self._waiting.get(addr, 0) + 1
        try:
            lock = self._locks.setdefault(addr, asyncio.Lock())
            async with lock:  # the attempts of a failing address are judged one at a time
                wait = self._until.get(addr, 0.0) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                return await self._judge(addr, valid)
        finally:
            left = self._waiting.pop(addr, 1) - 1
            if left > 0:
                self._waiting[addr] = left

    async def _judge(self, addr: str, valid: Callable[[], bool | Awaitable[bool]]) -> bool:
        verdict = valid()
        ok = await verdict if not isinstance(verdict, bool) else verdict
        if ok:
            self._forget(addr)
        else:
            self._fail(addr)
        return ok


def client_address(scope: Any) -> str:
    """The caller's address in an ASGI scope (its own key at the throttle)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
