"""cluster: two web nodes on PostgreSQL behind nginx against one node on SQLite, on the list
page's mix; and how far another node's read models trail the log at 200 commands a second.

Setup (not timed): tests/history.py writes the same history (about 5 × N events, N tickets,
default 20,000) into an SQLite store and into a fresh PostgreSQL schema (the `test` database);
each node's read models (the SQLite node's, and each PostgreSQL node's own) are caught up
before it starts; an office account reads.

Throughput, the cluster's overhead rather than its scaling, which two cores cannot show: the
one SQLite node, or both PostgreSQL nodes, run on core 0; nginx (round robin, as
xiaohao/deploy/nginx.conf) and wrk on core 1. The http benchmark's mix of list URLs at 8
connections, no writes, one and two alternately, ROUNDS × SECONDS each, medians:
ratio = the cluster's req/s ÷ the one node's, target ≥ 0.9.

Lag: tests/bench/lag.py's load (tickets through whole lives at 200 commands/s) written to
PostgreSQL by this process, followed by another process as a web node follows (woken by
NOTIFY): p99 of the time from a command's return to that node's read models holding it
≤ 100 ms, every command seen, the rate held.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx

from domain.application import SYSTEM
from projections.readmodels import ReadModels
from tests.bench.common import load_summary, verdict
from tests.bench.http import MIX, PASSWORD
from tests.bench.lag import measure
from tests.bench.loadgen import answering, cores, require_wrk, serving, session_cookie, wrk
from tests.conftest import PG, fresh_schema, loopback_port, settings_for
from tests.history import build_history
from xiaohao.cluster import Layout, nginx_prepared

TARGET = 0.9
LAG_LIMIT_MS = 100.0
LAG_TICKETS = 700          # 4,200 commands, about 21 s at 200 a second (fewer for fewer tickets)
ROUNDS = 3
SECONDS = 8
CONNECTIONS = 8
NODES = 2
PATHS = ["/tickets?" + urlencode(query) for query in MIX]


def run(tickets: int) -> dict:
    require_wrk()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("the cluster benchmark needs nginx: apt-get install -y nginx-light")
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp, \
            fresh_schema("bench") as schema:
        root = Path(tmp)
        one = settings_for("sqlite", root / "one")
        written = _history(one, tickets)
        layout = Layout(root / "cluster")
        shared = layout.environment(NODES) | {
            "XIAOHAO_STORE": "postgres", "XIAOHAO_POSTGRES_DBNAME": PG["dbname"],
            "XIAOHAO_POSTGRES_SCHEMA": schema, "XIAOHAO_SCHEDULER": "false"}
        nodes = [settings_for("postgres", layout.own(f"node{i}"), schema)
                 for i in range(1, NODES + 1)]
        started = time.perf_counter()
        _history(nodes[0], tickets)
        for node in nodes[1:]:
            _caught_up(node)
        setup_s = time.perf_counter() - started
        with serving(one.var_dir) as single, ExitStack() as stack:
            bases = [stack.enter_context(serving(node.var_dir, shared)) for node in nodes]
            balancer = stack.enter_context(_nginx(root / "nginx", bases, nginx))
            cookies = {"one": {"Cookie": session_cookie(single, "bench", PASSWORD)},
                       "cluster": {"Cookie": session_cookie(balancer, "bench", PASSWORD)}}
            targets = {"one": single, "cluster": balancer}
            for side, base in targets.items():            # warm-up, not counted
                wrk(base, 2, cookies[side], connections=CONNECTIONS, paths=PATHS)
            runs: dict[str, list] = {"one": [], "cluster": []}
            for i in range(ROUNDS):
                for side in (["one", "cluster"] if i % 2 == 0 else ["cluster", "one"]):
                    runs[side].append(wrk(targets[side], SECONDS, cookies[side],
                                          connections=CONNECTIONS, paths=PATHS))
            answered_by = _answering_nodes(balancer, cookies["cluster"])
    with fresh_schema("bench") as schema:
        lag = measure(min(LAG_TICKETS, tickets), schema)
    ones, clusters = load_summary(runs["one"]), load_summary(runs["cluster"])
    ratio = clusters["req_per_s"] / ones["req_per_s"]
    errors = ones["errors"] + clusters["errors"]
    checks = {"ratio": ratio >= TARGET, "lag_p99": lag["p99_s"] * 1000 <= LAG_LIMIT_MS,
              "lag_rate_held": lag["rate_held"], "no_errors": errors == 0,
              "both_nodes_answered": len(answered_by) == NODES}
    return verdict("cluster", ratio, TARGET, all(checks.values()), checks=checks,
                   ratio_of=f"median req/s of {NODES} PostgreSQL nodes behind nginx ÷ one "
                            f"SQLite node, the http mix of {len(PATHS)} list URLs at "
                            f"{CONNECTIONS} connections, the nodes on core 0",
                   lag_limit_ms=LAG_LIMIT_MS, tickets=written, rounds=ROUNDS, seconds=SECONDS,
                   setup_s=round(setup_s, 1), one=ones, cluster=clusters,
                   answered_by=sorted(answered_by), lag=lag)


def _history(settings, tickets: int) -> int:
    """The benchmark's history written into `settings`' store, an office account added, the
    read models caught up; the tickets written."""
    app = settings.build_app()
    written = build_history(app, 5 * tickets)
    app.register_account(SYSTEM, login="bench", name="压测", roles=["office"], unit_id="D05",
                         password=PASSWORD)
    app.close()
    _caught_up(settings)
    return written


def _caught_up(settings) -> None:
    app = settings.build_app()
    read = ReadModels(app, settings.read_db)
    read.runner.catch_up()
    read.close()
    app.close()


@contextmanager
def _nginx(prefix: Path, bases: list[str], nginx: str):
    """nginx on core 1 in front of the nodes at `bases`; yields its base URL."""
    port = loopback_port()
    config = nginx_prepared(prefix, f"127.0.0.1:{port}",
                            [base.removeprefix("http://") for base in bases])
    _, load_core = cores()
    process = subprocess.Popen([*load_core, nginx, "-p", str(prefix), "-c", str(config),
                                "-g", "daemon off;"], stderr=subprocess.PIPE)
    with answering(process, f"http://127.0.0.1:{port}", "/healthz") as base:
        yield base


def _answering_nodes(base: str, cookie: dict) -> set[str]:
    """Which nodes answered a few list pages through the balancer (X-Xiaohao-Node)."""
    with httpx.Client(timeout=30) as client:
        return {client.get(base + PATHS[0], headers=cookie).headers.get("x-xiaohao-node", "")
                for _ in range(4)}
