"""Keeping the evidence store to what the log names: a file is stored when it is uploaded,
before the command that names it is recorded (or refused), so files that no event names are
removed once they are older than `SWEEP_AFTER` — longer than an API upload's `ref` may wait to
be named, so nothing about to be named is taken. Run daily by the cycle and by
`xiaohao evidence sweep`."""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from domain.application import XiaohaoApp
from web.routes.api_tickets import REF_MAX_AGE
from xiaohao.adapters.evidence import EvidenceFiles

SWEEP_AFTER = timedelta(seconds=REF_MAX_AGE) + timedelta(hours=1)
BATCH = 500
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Swept:
    files: int
    bytes: int


def sweep_evidence(app: XiaohaoApp, store: EvidenceFiles, now: float | None = None) -> Swept:
    """Remove the files stored before `now` − SWEEP_AFTER (real time: files' times are) that
    no event names, reading the log to its end after listing them, so a file named meanwhile
    stays; a file stored again meanwhile stays too."""
    cutoff = (time.time() if now is None else now) - SWEEP_AFTER.total_seconds()
    old = store.kept_before(cutoff)
    if not old:
        return Swept(0, 0)
    unnamed = old - named_evidence(app, app.recorder.max_notification_id() or 0)
    freed = [store.remove(digest, unless_stored_since=cutoff) for digest in sorted(unnamed)]
    return Swept(sum(1 for size in freed if size), sum(freed))


def named_evidence(app: XiaohaoApp, position: int) -> set[str]:
    """The sha256 of every evidence file that an event up to `position` names."""
    mapper = app.mapper
    plain = mapper.cipher is None and mapper.compressor is None
    named: set[str] = set()
    start = 1
    while start <= position:
        batch = app.recorder.select_notifications(start, BATCH, stop=position)
        if not batch:
            break
        for notification in batch:
            if plain and b'"sha256"' not in notification.state:
                continue                    # cheap: most events name no file
            _collect(mapper.to_domain_event(notification).__dict__, named)
        start = batch[-1].id + 1
    return named


def _collect(value, named: set[str]) -> None:
    """Evidence is kept in events as a mapping with its "sha256", wherever the event holds it."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        digest = value.get("sha256")
        if isinstance(digest, str) and SHA256.fullmatch(digest):
            named.add(digest)
        for item in value.values():
            _collect(item, named)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, named)
