"""http: the ticket-list page (filtered, page 1) at 50 connections against a minimal page of
the same app through the same base template (/about), with 100,000 tickets.

Setup (not timed): tests/history.py writes about 5 × N events (N tickets) into an SQLite store,
the read models are caught up, and an office account is added. `xiaohao serve` runs on core 0,
wrk on core 1. The two pages alternate, ROUNDS times each, for SECONDS each; medians.
Target: ours ≥ 0.5 × the baseline's requests/s, p99 ≤ 150 ms, and no errors.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from domain.application import SYSTEM
from projections.readmodels import ReadModels
from tests.bench.common import db_mb, history_store, median, verdict
from tests.bench.loadgen import CONNECTIONS, require_wrk, serving, session_cookie, wrk

TARGET = 0.5
P99_LIMIT_MS = 150.0
ROUNDS = 3
SECONDS = 8
PAGE = "/tickets?state=assigned&town=T01"
PASSWORD = "bench-password"


def run(tickets: int) -> dict:
    require_wrk()
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings, app, written, setup_s = history_store(Path(tmp), 5 * tickets)
        app.register_account(SYSTEM, login="bench", name="压测", roles=["office"],
                             unit_id="D05", password=PASSWORD)
        read = ReadModels(app, settings.read_db)
        read.runner.catch_up()
        read.close()
        app.close()
        with serving(settings.var_dir) as base:
            cookie = {"Cookie": session_cookie(base, "bench", PASSWORD)}
            for url in (base + "/about", base + PAGE):     # warm-up, not counted
                wrk(url, 2, cookie)
            runs: dict[str, list] = {"baseline": [], "ours": []}
            for i in range(ROUNDS):
                for side in (["baseline", "ours"] if i % 2 == 0 else ["ours", "baseline"]):
                    url = base + ("/about" if side == "baseline" else PAGE)
                    runs[side].append(wrk(url, SECONDS, cookie))
        sizes = {"read_db_mb": db_mb(settings.read_db)}
    ours = _summary(runs["ours"])
    base_ = _summary(runs["baseline"])
    ratio = ours["req_per_s"] / base_["req_per_s"]
    errors = ours["errors"] + base_["errors"]
    return verdict("http", ratio, TARGET,
                   ratio >= TARGET and ours["p99_ms"] <= P99_LIMIT_MS and errors == 0,
                   ratio_of="median req/s of the ticket list / median req/s of /about",
                   p99_limit_ms=P99_LIMIT_MS, page=PAGE, tickets=written,
                   connections=CONNECTIONS, rounds=ROUNDS, seconds=SECONDS,
                   setup_s=round(setup_s, 1), ours=ours, baseline=base_, **sizes)


def _summary(loads: list) -> dict:
    return {"req_per_s": round(median([x.requests_per_s for x in loads]), 1),
            "p50_ms": round(median([x.p50_ms for x in loads]), 2),
            "p99_ms": round(median([x.p99_ms for x in loads]), 2),
            "errors": sum(x.errors for x in loads),
            "runs": [x.as_dict() for x in loads]}
