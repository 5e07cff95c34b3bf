"""A retried request is done once: an account's `Idempotency-Key` is recorded in the same
transaction as the command it came with.

A caller announces the key with `under_key(...)` before giving a command; the first save the
command makes (the ticket, the directory; for a new ticket, the batch that numbers it) carries
the key's record along, so either both are stored or neither is. A second request with the key
finds the record: the same request gets the first answer back, another one is refused. Keys are
events like any other, so they are kept as long as the log (at least the day a client may
retry in).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from domain.errors import DuplicateError, InvalidInputError

NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/idempotency-key")
MAX_KEY = 200
MAX_ANSWER = 256 * 1024      # bytes of an answer kept to be given again


class RequestReplayed(DuplicateError):
    """Raised when a command is given under a key another request has already recorded."""

    def __init__(self, message: str = "同一 Idempotency-Key 的请求已执行或正在执行") -> None:
        super().__init__(message)


def request_id(login: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"{login}\n{key}")


def check_key(key: str) -> str:
    """A key is 1–200 visible ASCII characters (what a client's UUID or ULID is)."""
    if not (0 < len(key) <= MAX_KEY and key.isascii() and key.isprintable() and " " not in key):
        raise InvalidInputError("Idempotency-Key 须为 1–200 个可见 ASCII 字符（建议使用 UUID）")
    return key


class KeyedRequest(Aggregate):
    """One account's request under one key: what it was (a fingerprint of its method, path and
    body), what it did (`outcome`, e.g. the ticket it opened) and the answer it got."""

    @staticmethod
    def create_id(login: str, key: str) -> UUID:
        return request_id(login, key)

    @event("Received")
    def __init__(self, login: str, key: str, fingerprint: str, timestamp: datetime,
                 outcome: dict | None = None) -> None:
        self.login, self.key, self.fingerprint = login, key, fingerprint
        self.received_at = timestamp
        self.outcome = dict(outcome or {})
        self.answer: dict | None = None

    @event("Answered")
    def record_answer(self, status: int, body: str, timestamp: datetime) -> None:
        self.answer = {"status": status, "body": body}


@dataclass
class PendingKey:
    """A key announced for the command about to be given; `saved` once its record is stored."""

    login: str
    key: str
    fingerprint: str
    outcome: dict = field(default_factory=dict)
    saved: bool = False

    def record(self, timestamp: datetime) -> KeyedRequest:
        return KeyedRequest(login=self.login, key=self.key, fingerprint=self.fingerprint,
                            timestamp=timestamp, outcome=self.outcome)


_pending: ContextVar[PendingKey | None] = ContextVar("pending_idempotency_key", default=None)


def pending_key() -> PendingKey | None:
    """The key announced in this context and not yet stored, if any."""
    pending = _pending.get()
    return pending if pending is not None and not pending.saved else None


class Idempotency:
    """Mixed into XiaohaoApp: look a key up, announce one for a command, keep its answer."""

    def keyed_request(self, login: str, key: str) -> KeyedRequest | None:
        try:
            return self.repository.get(request_id(login, check_key(key)))
        except AggregateNotFoundError:
            return None

    @contextmanager
    def under_key(self, login: str, key: str, fingerprint: str) -> Iterator[PendingKey]:
        """Within the block, the first save a command makes stores the key's record too."""
        pending = PendingKey(login, check_key(key), fingerprint)
        token = _pending.set(pending)
        try:
            yield pending
        finally:
            _pending.reset(token)

    def keep_answer(self, pending: PendingKey, status: int, body: str) -> None:
        """Keep the answer a keyed request got, to give it again to a retry. A request whose
        command stored nothing (an upload) is recorded here with its answer; if a twin got
        there first, the twin's record stands."""
        if len(body.encode()) > MAX_ANSWER:
            body = ""
        if pending.saved:
            request = self.repository.get(request_id(pending.login, pending.key))
        else:
            request = pending.record(self.now())
        request.record_answer(status=status, body=body, timestamp=self.now())
        try:
            self.save(request)
        except IntegrityError:
            pass

    def _with_pending_key(self, aggregates: tuple[Any, ...]) -> tuple[Any, ...]:
        """`aggregates` and, if a key is announced and not yet stored, its record."""
        pending = pending_key()
        if pending is None:
            return aggregates
        return (*aggregates, pending.record(self.now()))

    def _after_save(self) -> None:
        pending = pending_key()
        if pending is not None:
            pending.saved = True

    def _replayed(self) -> RequestReplayed | None:
        """When a save conflicted: the error to raise if the conflict was the announced key
        (a twin of this request got there first), else None."""
        pending = pending_key()
        if pending is None or self.keyed_request(pending.login, pending.key) is None:
            return None
        return RequestReplayed()
