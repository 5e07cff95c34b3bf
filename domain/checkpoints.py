"""Sealing the log: a follower that hashes every stored notification, in log order, into the
Merkle tree of domain/seal.py and keeps each leaf's hash where a verifier can compare it, and
checkpoints (the tree's size and root, signed) recorded as events of their own.

The leaves and the tree's frontier are kept by a `SealLeaves` (xiaohao/adapters/seal_store.py,
in the event store's own database); each batch of leaves is added in one transaction that also
moves the frontier, and only if nobody else moved it first, so a sealer killed at any moment, or
two sealing at once, leave the same leaves a fresh seal would. Checkpoints are signed by a
`SealKey` (xiaohao/adapters/seal_keys.py) kept under var/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from domain.clock import beijing
from domain.errors import DomainError
from domain.seal import Frontier, Suite, fingerprint, leaf_bytes, statement

CHECKPOINT_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/checkpoint")
CHECKPOINT_TOPIC = "domain.checkpoints:Checkpoint.Recorded"
DAILY = timedelta(days=1)
BATCH = 2000


class Checkpoint(Aggregate):
    """The log of `county_code` had `size` events whose tree has `root`, at `at`: signed."""

    @staticmethod
    def create_id(county_code: str, size: int) -> UUID:
        return checkpoint_id(county_code, size)

    @event("Recorded")
    def __init__(self, county_code: str, size: int, root: str, at: str, hash: str,
                 signature_algorithm: str, key: str, signature: str, reason: str,
                 timestamp: datetime) -> None:
        self.county_code, self.size, self.root, self.at = county_code, size, root, at
        self.hash, self.signature_algorithm = hash, signature_algorithm
        self.key, self.signature, self.reason = key, signature, reason

    def as_dict(self) -> dict:
        return {"size": self.size, "root": self.root, "at": self.at, "hash": self.hash,
                "signature_algorithm": self.signature_algorithm, "key": self.key,
                "signature": self.signature, "reason": self.reason}


def require_same_hash(head: SealHead, suite: Suite) -> None:
    """A seal is built with one hash: a setting changed under an existing seal is refused."""
    if head.size and head.hash != suite.name:
        raise DomainError(f"日志已按 {head.hash.upper()} 封存，而 XIAOHAO_SEAL_ALGORITHMS 设为 "
                          f"{suite.name.upper()}：封存算法不能中途更改，请改回原设置")


class Verification(Aggregate):
    """One check of the log against its seal (`xiaohao audit verify` or the audit page): who
    ran it, over how much, and what it found."""

    @event("Completed")
    def __init__(self, by: str, ok: bool, events: int, sealed: int, checkpoints: int,
                 given: int, problems: list[str], started_at: datetime,
                 timestamp: datetime) -> None:
        self.by, self.ok, self.problems = by, ok, problems
        self.events, self.sealed, self.checkpoints, self.given = events, sealed, checkpoints, given
        self.started_at = started_at


def checkpoint_id(county_code: str, size: int) -> UUID:
    return uuid5(CHECKPOINT_NAMESPACE, f"{county_code}:{size}")


@dataclass(frozen=True)
class SealHead:
    """How far the seal has come: leaves so far, the last notification id sealed, the tree's
    frontier (its peaks, concatenated), the last checkpoint's size and time, and the hash the
    tree is built with."""

    size: int = 0
    last_id: int = 0
    frontier: bytes = b""
    checkpoint_size: int = 0
    checkpoint_at: str = ""
    hash: str = ""


class SealLeaves(Protocol):
    def head(self) -> SealHead: ...

    def append(self, before: SealHead, rows: list[tuple[int, int, bytes]],
               after: SealHead) -> bool:
        """Add (leaf index, notification id, leaf hash) rows and move the head from `before`
        to `after`, all or nothing, unless the head is no longer `before`; say whether."""

    def mark_checkpoint(self, size: int, at: str) -> None:
        """Remember the last checkpoint (never moving it back)."""

    def leaves(self, start: int, limit: int) -> list[tuple[int, int, bytes]]:
        """Rows from leaf index `start`, in order."""


class SealKey(Protocol):
    algorithm: str           # ed25519 or sm2
    public_key: bytes

    def sign(self, message: bytes) -> bytes: ...


# Sealing is pure Python work that holds the GIL: in a process that also serves commands it
# steps aside this often, so that a command waits for a few leaves, not for a whole batch.
YIELD_EVERY = 64

# Stored notifications from `start` to `stop` (ids), at most `limit`, in log order: (id,
# originator id as UUID or 16 bytes, version, topic, state as stored).
StoredRows = Callable[[int, int, int], Sequence[tuple]]


def from_recorder(recorder) -> StoredRows:
    """The stored rows as the event store's recorder reads them."""
    def rows(start: int, stop: int, limit: int) -> list[tuple]:
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                for n in recorder.select_notifications(start=start, limit=limit, stop=stop)]
    return rows


def printed(checkpoint: dict) -> dict:
    """What a document prints of a checkpoint: enough to find it and check it."""
    return {k: checkpoint[k] for k in ("size", "root", "at", "hash")}


class Sealer:
    """Follows the log into the seal; records checkpoints. `stored` reads the log's rows
    (the recorder by default; an adapter may read the same rows faster)."""

    def __init__(self, app, leaves: SealLeaves, key: SealKey, suite: Suite,
                 batch: int = BATCH, stored: StoredRows | None = None) -> None:
        self.app, self.store, self.key, self.suite = app, leaves, key, suite
        self.batch = batch          # notifications sealed per transaction
        self.stored = stored or from_recorder(app.recorder)

    def follow(self) -> int:
        """Seal every notification stored since the last call; returns how many."""
        head = self.store.head()
        require_same_hash(head, self.suite)
        top = self.app.recorder.max_notification_id() or 0
        frontier = Frontier.from_bytes(self.suite, head.size, head.frontier)
        sealed = 0
        leaf, append = self.suite.leaf, frontier.append
        while head.last_id < top:
            batch = self.stored(head.last_id + 1, top, self.batch)
            if not batch:
                break
            rows = []
            for i, row in enumerate(batch, start=1):
                hashed = leaf(leaf_bytes(*row))
                rows.append((frontier.size, row[0], hashed))
                append(hashed)
                if not i % YIELD_EVERY:
                    time.sleep(0)       # let the process's other threads (its commands) run
            after = replace(head, size=frontier.size, last_id=batch[-1][0],
                            frontier=frontier.to_bytes(), hash=self.suite.name)
            if not self.store.append(head, rows, after):
                return sealed        # another sealer went ahead; the next call goes on from it
            head, sealed = after, sealed + len(rows)
        return sealed

    def checkpoint(self, reason: str) -> dict:
        """Seal what is new, then record a checkpoint of the whole log (unless the last one
        already covers it); returns it."""
        self.follow()
        head = self.store.head()
        if head.size and head.size == head.checkpoint_size:
            return self.recorded(head.size)
        root = Frontier.from_bytes(self.suite, head.size, head.frontier).root()
        now = self.app.now()
        at = beijing(now).isoformat(timespec="seconds")
        county = self.app.county_code
        signature = self.key.sign(statement(county, self.suite.name, head.size, root, at))
        checkpoint = Checkpoint(
            county_code=county, size=head.size, root=root.hex(), at=at, hash=self.suite.name,
            signature_algorithm=self.key.algorithm, key=fingerprint(self.key.public_key),
            signature=signature.hex(), reason=reason, timestamp=now)
        try:
            self.app.save(checkpoint)
        except IntegrityError:       # another sealer checkpointed this size first
            return self.recorded(head.size)
        self.store.mark_checkpoint(head.size, at)
        return checkpoint.as_dict()

    def stamp(self, reason: str) -> dict:
        """A checkpoint as a document prints it (its footer's 存证 line)."""
        return printed(self.checkpoint(reason))

    def checkpoint_if_due(self, reason: str = "每日") -> dict | None:
        """A checkpoint when the last is a day old and something besides it has been
        recorded since (a quiet day needs none)."""
        self.follow()
        head = self.store.head()
        if head.size <= head.checkpoint_size + 1:
            return None
        if head.checkpoint_at and \
                datetime.fromisoformat(head.checkpoint_at) > self.app.now() - DAILY:
            return None
        return self.checkpoint(reason)

    def recorded(self, size: int) -> dict:
        return self.app.repository.get(checkpoint_id(self.app.county_code, size)).as_dict()
