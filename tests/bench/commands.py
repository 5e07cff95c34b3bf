"""commands: tickets through open → assign → rectify → reinspect(pass) → close, against bare
eventsourcing doing get + one event + save, both on SQLite files, interleaved in chunks.

Each side's unit of work is one get + command + save: for us one XiaohaoApp method call (which
also reads the account, the directory and, for open, the year's counter), for the baseline a
repository.get, one event on a minimal aggregate and a save. ratio = our commands/s divided by
the baseline's saves/s, both the median over chunks; target 0.8.

A third side runs our commands with the seal at work, as the scheduler does it in the same
process: a thread follows the log into the seal every FOLLOW_EVERY seconds and signs a
checkpoint every tenth time. seal_ratio = its commands/s ÷ ours without a seal (medians over
chunks); target 0.95 (within 5%). Both must hold for "pass".
"""

from __future__ import annotations

import tempfile
import threading
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from time import perf_counter
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from domain.checkpoints import CHECKPOINT_TOPIC
from domain.clock import ManualClock, beijing_date
from domain.numbering import counter_id
from tests.bench.common import (
    DESCRIPTION,
    INSPECTOR,
    OFFICE,
    SCHOOL,
    START,
    TITLE,
    UNIT_LOGIN,
    YEAR,
    build_tiny_county,
    median,
    percentile,
    verdict,
)
from xiaohao.settings import Settings

TARGET = 0.8
SEAL_TARGET = 0.95
FOLLOW_EVERY = 0.5
CHUNKS = 10     # chunks per side, run A B A B … so machine noise hits both sides alike
WAVE = 100      # tickets taken through their life together; keeps the working set in the cache


class Note(Aggregate):
    """The baseline: the least an event-sourced aggregate can be."""

    @event("Created")
    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text

    @event("Noted")
    def note(self, title: str, text: str) -> None:
        self.text = text


class Ours:
    """XiaohaoApp built the way production builds it, on its own SQLite file."""

    def __init__(self, var_dir: Path) -> None:
        self.settings = Settings(store="sqlite", var_dir=var_dir, argon2_time_cost=1,
                                 argon2_memory_kib=8192)
        self.clock = ManualClock(START)
        self.app = self.settings.build_app(clock=self.clock)
        build_tiny_county(self.app)   # setup, not timed

    def events(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def wave(self, tickets: int, latencies: dict[str, list[float]]) -> None:
        """Take `tickets` new tickets through their whole life, timing each command."""
        app, clock = self.app, self.clock
        deadline = beijing_date(clock.now()) + timedelta(days=30)
        numbers = []
        for _ in range(tickets):
            clock.advance(seconds=1)
            t = perf_counter()
            numbers.append(app.open_ticket(
                INSPECTOR, title=TITLE, description=DESCRIPTION, unit_id=SCHOOL,
                category="class_size", severity="serious", source="weekly_check",
                deadline=deadline,
            ))
            latencies["open"].append(perf_counter() - t)
        steps = {
            "assign": lambda n: app.assign(n, OFFICE, lead_unit_id=SCHOOL, note="请按期整改到位"),
            "rectify": lambda n: app.rectify(n, UNIT_LOGIN, measures="已调剂教室，分设两个新班"),
            "reinspect": lambda n: app.reinspect(n, INSPECTOR, passed=True, findings="已整改到位"),
            "close": lambda n: app.close_ticket(n, OFFICE, note="同意销号"),
        }
        for name, step in steps.items():
            for number in numbers:
                clock.advance(seconds=1)
                t = perf_counter()
                step(number)
                latencies[name].append(perf_counter() - t)

    def check(self, tickets: int) -> None:
        """Fail loudly if the run did not do what it claims."""
        last = self.app.ticket(f"SS-{YEAR}-{tickets:04d}")
        assert last["state"] == "closed", last
        assert self.app.repository.get(counter_id("SS", YEAR)).last == tickets


class Sealed(Ours):
    """Ours, on its own file, with the seal following the log in a thread of this process."""

    def __init__(self, var_dir: Path) -> None:
        super().__init__(var_dir)
        self.sealer = self.settings.sealer(self.app)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._seal, daemon=True)
        self.thread.start()

    def _seal(self) -> None:
        ticks = 0
        while not self.stopping.wait(FOLLOW_EVERY):
            ticks += 1
            if ticks % 10:
                self.sealer.follow()
            else:
                self.sealer.checkpoint("基准")

    def close(self) -> int:
        """Stop sealing, seal the rest; returns how many checkpoints were signed."""
        self.stopping.set()
        self.thread.join()
        self.sealer.follow()
        assert self.sealer.store.head().size == self.events()
        return len(self.app.recorder.select_notifications(start=1, limit=10**9,
                                                          topics=[CHECKPOINT_TOPIC]))


class Baseline:
    """A plain eventsourcing Application with the same store settings, on its own file."""

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.app = Application(env={**env, "SQLITE_DBNAME": str(var_dir / "baseline.sqlite3")})

    def events(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def wave(self, tickets: int, latencies: dict[str, list[float]]) -> None:
        """Six saves per ticket, like our six events: create, then five get + event + save."""
        app = self.app
        ids: list[UUID] = []
        for _ in range(tickets):
            t = perf_counter()
            note = Note(TITLE, DESCRIPTION)
            app.save(note)
            latencies["create"].append(perf_counter() - t)
            ids.append(note.id)
        for step in range(5):
            for note_id in ids:
                t = perf_counter()
                note = app.repository.get(note_id)
                note.note(TITLE, f"第{step + 1}次记录")
                app.save(note)
                latencies["get_event_save"].append(perf_counter() - t)


def run_chunk(side: Ours | Baseline, tickets: int) -> dict:
    """Run one chunk of `tickets` tickets on one side; returns its counts, time and latencies."""
    latencies: dict[str, list[float]] = defaultdict(list)
    before = side.events()
    started = perf_counter()
    for done in range(0, tickets, WAVE):
        side.wave(min(WAVE, tickets - done), latencies)
    seconds = perf_counter() - started
    return {"seconds": seconds, "ops": sum(map(len, latencies.values())),
            "events": side.events() - before, "latencies": latencies}


def summary(chunks: list[dict], unit: str) -> dict:
    """Medians over chunks of throughput, and latency percentiles over every operation."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    for chunk in chunks:
        for kind, values in chunk["latencies"].items():
            by_kind[kind].extend(values)
    latencies = [x for values in by_kind.values() for x in values]
    return {
        unit: sum(c["ops"] for c in chunks),
        "events": sum(c["events"] for c in chunks),
        "seconds": round(sum(c["seconds"] for c in chunks), 2),
        f"{unit}_per_s": round(median([c["ops"] / c["seconds"] for c in chunks]), 1),
        "events_per_s": round(median([c["events"] / c["seconds"] for c in chunks]), 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "p50_ms_by_kind": {k: round(percentile(v, 50) * 1000, 3) for k, v in by_kind.items()},
    }


def run(tickets: int) -> dict:
    chunks = min(CHUNKS, tickets)
    sizes = [tickets // chunks + (1 if i < tickets % chunks else 0) for i in range(chunks)]
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        ours = Ours(Path(tmp))
        baseline = Baseline(Path(tmp), ours.settings.event_store_env())
        sealed = Sealed(Path(tmp) / "sealed")
        ours_chunks, base_chunks, sealed_chunks = [], [], []
        for i, size in enumerate(sizes):   # A B C, B C A, C A B …
            sides = [(ours, ours_chunks), (baseline, base_chunks), (sealed, sealed_chunks)]
            for side, chunks_of_side in sides[i % 3:] + sides[:i % 3]:
                chunks_of_side.append(run_chunk(side, size))
        ours.check(tickets)
        sealed.check(tickets)
        checkpoints = sealed.close()
        cache = ours.settings.cache_size
        for side in (ours, baseline, sealed):
            side.app.close()
    ours_sum = summary(ours_chunks, "commands")
    base_sum = summary(base_chunks, "saves")
    sealed_sum = summary(sealed_chunks, "commands")
    ratio = ours_sum["commands_per_s"] / base_sum["saves_per_s"]
    seal_ratio = sealed_sum["commands_per_s"] / ours_sum["commands_per_s"]
    return verdict(
        "commands", ratio, TARGET, ratio >= TARGET and seal_ratio >= SEAL_TARGET,
        seal_ratio=round(seal_ratio, 3), seal_target=SEAL_TARGET, tickets=tickets,
        chunks=chunks, events_per_command=round(ours_sum["events"] / ours_sum["commands"], 3),
        aggregate_cache=cache, ours=ours_sum, baseline=base_sum,
        sealed=sealed_sum | {"checkpoints": checkpoints},
    )
