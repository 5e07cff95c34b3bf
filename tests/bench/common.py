"""Pieces shared by the benchmarks: a tiny county, the ticket each bench opens, and statistics."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.application import SYSTEM, XiaohaoApp

# A fixed "now" (a Monday morning in Beijing), so ticket numbers are predictable: SS-2026-0001…
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
YEAR = 2026

OFFICE, INSPECTOR, UNIT_LOGIN = "office", "inspector1", "t01-p01"
TOWN, SCHOOL = "T01", "T01-P01"
PASSWORD = "bench-password"

# What an inspector would type when opening a ticket (a realistic amount of Chinese text).
TITLE = "四年级3个班学生数超过45人"
DESCRIPTION = "周检查发现该校四年级共6个班，其中3个班学生数超过45人，最多的一个班52人，需分流整改。"


def build_tiny_county(app: XiaohaoApp, password_hash: str = "") -> None:
    """The smallest directory a ticket's whole life needs: a town with one school, a 包保 leader,
    and an office, an inspector and a school account. Uses the application's own commands."""
    app.start_directory("泗水县")
    app.add_unit(SYSTEM, code=TOWN, name="泉林镇", kind="town", parent="SS")
    app.add_unit(SYSTEM, code=SCHOOL, name="泉林镇中心小学", kind="school", parent=TOWN,
                 level="primary")
    app.register_person(SYSTEM, person_id="H-T01-P01", name="王建国", title="校长",
                        unit_id=SCHOOL)
    app.register_person(SYSTEM, person_id="L1", name="陈兴成", title="县委常委、常务副县长",
                        unit_id="SS")
    app.assign_baobao(SYSTEM, leader_id="L1", unit_id=TOWN, on=START.date())
    digest = password_hash or app.hash_password(PASSWORD)
    app.register_account(SYSTEM, login=OFFICE, name="创建办", roles=["office"], unit_id="SS",
                         password_hash=digest)
    app.register_account(SYSTEM, login=INSPECTOR, name="督查员一", roles=["inspector"],
                         unit_id="SS", password_hash=digest)
    app.register_account(SYSTEM, login=UNIT_LOGIN, name="泉林镇中心小学", roles=["unit"],
                         unit_id=SCHOOL, person_id="H-T01-P01", password_hash=digest)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def db_mb(path: Path) -> float:
    """An SQLite database's size on disk in MB, its -wal and -shm files included."""
    files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def load_summary(loads: list) -> dict:
    """Medians of several wrk runs (tests/bench/loadgen.Load), their errors, and each run."""
    return {"req_per_s": round(median([x.requests_per_s for x in loads]), 1),
            "p50_ms": round(median([x.p50_ms for x in loads]), 2),
            "p99_ms": round(median([x.p99_ms for x in loads]), 2),
            "errors": sum(x.errors for x in loads),
            "runs": [x.as_dict() for x in loads]}


def verdict(bench: str, ratio: float, target: float, passed: bool, **figures: Any) -> dict:
    """The one JSON object a benchmark prints last: bench, ratio, target, pass, then figures."""
    return {"bench": bench, "ratio": round(ratio, 3), "target": target, "pass": bool(passed),
            **figures}


def history_store(var_dir, events: int, units: int = 0):
    """Setup shared by the read-side benchmarks (not timed in their verdicts): an SQLite store
    under var_dir holding about `events` events of tests/history.py. Returns
    (settings, app, tickets written, seconds it took)."""
    from time import perf_counter

    from tests.conftest import settings_for
    from tests.history import build_history

    settings = settings_for("sqlite", var_dir)
    app = settings.build_app()
    started = perf_counter()
    written = build_history(app, events, units=units)
    return settings, app, written, perf_counter() - started
