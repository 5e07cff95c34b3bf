"""A bound on password checks running at once. Each argon2 check takes its memory cost (64 MiB
by default), also for a login that does not exist, so a flood of sign-ins must not run them
all together: a request waits briefly for a turn, without holding a worker thread, and is
refused if none comes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
BUSY = "登录人数过多，请稍后再试"
POLL_SECONDS = 0.02


class GateFull(Exception):
    """Raised when no turn to check a password came within the wait."""


class HashGate:
    """At most `size` password checks at once; a turn is waited for at most `wait_seconds`."""

    def __init__(self, size: int, wait_seconds: float) -> None:
        # A thread semaphore, polled: it serves every event loop (each test client has its own).
        self._turns = threading.BoundedSemaphore(size)
        self.wait_seconds = wait_seconds

    async def run(self, work: Callable[[], T]) -> T:
        """`work` in the thread pool once a turn is free; GateFull if none came in time."""
        deadline = time.monotonic() + self.wait_seconds
        while not self._turns.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise GateFull()
            await anyio.sleep(POLL_SECONDS)
        try:
            return await run_in_threadpool(work)
        finally:
            self._turns.release()
