"""A short memory for reference data (accounts, the directory) that changes rarely."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any
from uuid import UUID

MAX_ENTRIES = 10_000


class RecentReads:
    """Keeps what was read for `ttl` seconds, so a command does not ask the store whether an
    account or the directory changed since the last command a moment ago. This process's own
    changes are forgotten at once; another process's show within `ttl` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[UUID, tuple[float, Any]] = {}

    def get(self, key: UUID, read: Callable[[], Any]) -> Any:
        now = monotonic()
        entry = self.entries.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
        value = read()
        self.entries[key] = (now, value)
        return value

    def forget(self, key: UUID) -> None:
        self.entries.pop(key, None)
