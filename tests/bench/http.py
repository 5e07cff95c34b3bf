"""http: the ticket-list page under a mix of URLs while another client writes, against Datasette's
table page showing the same rows of the same read database; and a conditional GET's 304.

Setup (not timed): tests/history.py writes about 5 × N events (N tickets, default 100,000) into
an SQLite store; the read models catch up; the cycle issues what fell due (today's reminders,
this week's bulletin) and sends what the history's last week tells (a few hundred notices), as
a server that has been running would have; an office account reads, an inspector's API token
writes. `xiaohao serve` and Datasette (installed in a scratch venv of its own, facet
suggestions off, the word index configured) both run on core 0, wrk on core 1.

The mix (MIX): towns, states, lights, sorts, later pages and a text search, 50 rows a page.
Each of our URLs is paired with the Datasette URL showing the same rows in the same order
(filters as columns, a light as `_where`, later pages by Datasette's own `_next` links, the
search through the word index); before timing, every pair is fetched and its ticket numbers
compared, or the benchmark stops.

Timed, while a client opens WRITES_PER_S tickets a second through our API:
- the mix at 8 connections, ours and Datasette interleaved, ROUNDS × SECONDS each, medians:
  ratio = ours ÷ Datasette req/s, target ≥ 3 (aim 5); our p99 ≤ 100 ms;
- the mix at 50 connections, ours: p99 ≤ 2 × (50 ÷ req/s);
- each URL of the mix alone, ours and Datasette, URL_SECONDS each: its ratio (reported).
Both servers share core 0, so each of these runs starts SETTLE_S after the one before: requests
wrk cut off at the end of a run go on in the server that took them.
Then with no writes: revalidating the first URL of the mix with its ETag (If-None-Match, 304)
against /about (200), interleaved: ratio ≥ 0.5.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx

from domain.application import SYSTEM
from domain.clock import beijing_date
from domain.lights import Light, light_params, light_where
from projections.readmodels import ReadModels
from tests.bench.common import db_mb, history_store, load_summary, verdict
from tests.bench.loadgen import answering, cores, require_wrk, serving, session_cookie, wrk
from tests.bench.peers import peer_bin
from xiaohao import wiring

TARGET = 3.0
AIM = 5.0
P99_LIMIT_MS = 100.0
CONDITIONAL_TARGET = 0.5
ROUNDS = 3
SECONDS = 8
URL_SECONDS = 3
SETTLE_S = 3.0               # before each run: Datasette's cut-off queries end within its 1 s limit
FEW, MANY = 8, 50            # connections
WRITES_PER_S = 5
DATASETTE = "0.65.5"
PASSWORD = "bench-password"
SEARCH = "学生数超过"         # in titles, in no school's or town's name
FINDING = {"title": "四年级3个班学生数超过45人", "unit_id": "T01-P01", "category": "class_size",
           "description": "压测期间登记的问题。", "severity": "serious",
           "source": "weekly_check", "indicator_id": "gov_class_size"}

# Our list's query string -> what Datasette is told for the same rows. Later pages are sorted
# by number: Datasette pages by its own `_next` links, which break ties unlike an offset does.
MIX: list[dict[str, str]] = [
    {"town": "T01", "sort": "deadline"},
    {"town": "T05", "state": "assigned", "sort": "deadline"},
    {"state": "closed", "sort": "opened"},
    {"light": "red"},
    {"town": "T03", "light": "red"},
    {"state": "assigned", "sort": "number", "page": "3"},
    {"q": SEARCH, "sort": "number"},
    {"town": "T02", "light": "none", "sort": "number", "page": "2"},
    {"sort": "number", "desc": "1"},
    {"severity": "serious", "sort": "deadline"},
    {"town": "T07", "sort": "number", "desc": "1", "page": "2"},
    {"sort": "number", "page": "20"},
]
COLUMNS = {"town": "town_id", "state": "state", "severity": "severity"}
SORT_COLUMNS = {"deadline": "deadline", "number": "number", "opened": "opened_at",
                "light": "deadline"}    # with one light chosen, the light order is the deadline's


def run(tickets: int) -> dict:
    require_wrk()
    datasette = peer_bin("datasette", DATASETTE, "datasette")
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings, app, written, setup_s = history_store(Path(tmp), 5 * tickets)
        app.register_account(SYSTEM, login="bench", name="压测", roles=["office"],
                             unit_id="D05", password=PASSWORD)
        app.register_account(SYSTEM, login="writer", name="压测督查员", roles=["inspector"],
                             unit_id="D03", password=PASSWORD)
        token = app.issue_api_token("writer", "压测")
        today = beijing_date(app.now())
        read = ReadModels(app, settings.read_db)
        read.runner.catch_up()
        cycle = wiring.cycle(settings, app, read)
        cycle.tick()          # what fell due is issued and told, as on a server that has been
        while cycle.sender.send_due().delivered:      # running (200 at a call)
            pass
        cycle.stop()
        app.close()
        with serving(settings.var_dir) as ours, \
                datasette_serving(datasette, settings.read_db, Path(tmp)) as theirs:
            cookie = {"Cookie": session_cookie(ours, "bench", PASSWORD)}
            pairs = paired_urls(ours, theirs, token, today, settings.warn_days,
                                settings.read_db.stem)
            our_paths = [p for p, _ in pairs]
            their_paths = [p for _, p in pairs]
            for base, paths, headers in ((ours, our_paths, cookie), (theirs, their_paths, {})):
                wrk(base, 2, headers, connections=FEW, paths=paths)       # warm-up
            with writing(ours, token) as writes:
                mix = {"ours": [], "datasette": []}
                for i in range(ROUNDS):
                    for side in (["ours", "datasette"] if i % 2 == 0 else
                                 ["datasette", "ours"]):
                        base, paths, headers = ((ours, our_paths, cookie) if side == "ours"
                                                else (theirs, their_paths, {}))
                        mix[side].append(wrk(base, SECONDS, headers, connections=FEW,
                                             paths=paths, settle=SETTLE_S))
                crowd = wrk(ours, SECONDS, cookie, connections=MANY, paths=our_paths,
                            settle=SETTLE_S)
                per_url = [alone(ours, our_path, cookie, theirs, their_path)
                           for our_path, their_path in pairs]
            conditional = revalidation(ours, our_paths[0], cookie)
        sizes = {"read_db_mb": db_mb(settings.read_db)}
    ours_mix, theirs_mix = load_summary(mix["ours"]), load_summary(mix["datasette"])
    ratio = ours_mix["req_per_s"] / theirs_mix["req_per_s"]
    crowd_limit_ms = 2 * MANY / crowd.requests_per_s * 1000
    errors = ours_mix["errors"] + theirs_mix["errors"] + crowd.errors + conditional["errors"]
    checks = {"ratio": ratio >= TARGET, "p99_at_8": ours_mix["p99_ms"] <= P99_LIMIT_MS,
              "p99_at_50": crowd.p99_ms <= crowd_limit_ms,
              "conditional": conditional["ratio"] >= CONDITIONAL_TARGET,
              "no_errors": errors == 0, "writes": writes["failed"] == 0}
    return verdict("http", ratio, TARGET, all(checks.values()), checks=checks, aim=AIM,
                   ratio_of="median req/s of our list page ÷ Datasette's table page, the same "
                            f"rows, on a mix of {len(MIX)} URLs at {FEW} connections while "
                            f"{WRITES_PER_S} tickets/s are opened",
                   p99_limit_ms=P99_LIMIT_MS, tickets=written, rounds=ROUNDS, seconds=SECONDS,
                   setup_s=round(setup_s, 1), datasette=DATASETTE, writes=writes,
                   ours=ours_mix, datasette_mix=theirs_mix,
                   at_50={**crowd.as_dict(), "p99_limit_ms": round(crowd_limit_ms, 1)},
                   per_url=per_url, conditional=conditional, **sizes)


def alone(ours: str, our_path: str, cookie: dict, theirs: str, their_path: str) -> dict:
    """One URL of the mix on its own, ours and Datasette's."""
    mine = wrk(ours, URL_SECONDS, cookie, connections=FEW, paths=[our_path], settle=SETTLE_S)
    other = wrk(theirs, URL_SECONDS, connections=FEW, paths=[their_path], settle=SETTLE_S)
    return {"ours": our_path, "ratio": round(mine.requests_per_s / other.requests_per_s, 2),
            "req_per_s": round(mine.requests_per_s, 1), "p99_ms": round(mine.p99_ms, 1),
            "datasette_req_per_s": round(other.requests_per_s, 1)}


def paired_urls(ours: str, theirs: str, token: str, today, warn_days: int,
                database: str) -> list[tuple[str, str]]:
    """Each URL of MIX with Datasette's for the same rows, checked through our API: the same
    sort keys in the same order, and the same tickets but where keys tie at a page's edge
    (we break ties by number, Datasette by rowid). A page empty on both sides (a history too
    small for it) is left out of the mix."""
    pairs = []
    with httpx.Client(timeout=60) as client:
        for query in MIX:
            our_path = "/tickets?" + urlencode(query)
            mine = client.get(f"{ours}/api/v1{our_path}",
                              headers={"Authorization": f"Bearer {token}"}).json()["items"]
            their_query = _datasette_query(query, today, warn_days)
            other, there = [], True
            for _ in range(int(query.get("page", "1")) - 1):   # later pages by its own links
                following = client.get(f"{theirs}/{database}/tickets.json?"
                                       + urlencode(their_query)).json()["next"]
                there = there and following is not None
                their_query = their_query | {"_next": following or ""}
            if there:
                other = client.get(f"{theirs}/{database}/tickets.json?" + urlencode(their_query)
                                   + "&_shape=objects").json()["rows"]
            if not mine and not other:
                continue
            key = SORT_COLUMNS[query.get("sort", "light")]
            keys = [r[key] for r in mine]
            edges = {keys[0], keys[-1]} if keys else set()
            if (keys != [r[key] for r in other]
                    or {r["number"] for r in mine if r[key] not in edges}
                    != {r["number"] for r in other if r[key] not in edges}):
                raise RuntimeError(f"{our_path} and {their_query} show different tickets")
            pairs.append((our_path, f"/{database}/tickets?" + urlencode(their_query)))
    return pairs


def _datasette_query(query: dict[str, str], today, warn_days: int) -> dict[str, str]:
    asked = {COLUMNS[k]: v for k, v in query.items() if k in COLUMNS}
    if "light" in query:
        where = light_where(Light(query["light"]), "state", "deadline")
        for name, value in light_params(today, warn_days).items():
            where = where.replace(f":{name}", f"'{value}'")
        asked["_where"] = where
    if "q" in query:
        asked["_search"] = query["q"]
    column = SORT_COLUMNS[query.get("sort", "light")]
    asked["_sort_desc" if query.get("desc") else "_sort"] = column
    return asked | {"_size": "50"}


@contextmanager
def datasette_serving(datasette: Path, database: Path, tmp: Path):
    """Datasette on the read database (read only), on core 0, facet suggestions off, the
    tickets' word index configured as the table's search."""
    metadata = tmp / "datasette.json"
    metadata.write_text(json.dumps({"databases": {database.stem: {"tables": {"tickets": {
        "fts_table": "tickets_fts", "fts_pk": "seq"}}}}}))
    from tests.conftest import loopback_port

    port = loopback_port()
    server_core, _ = cores()
    process = subprocess.Popen(
        [*server_core, str(datasette), "serve", str(database), "--port", str(port),
         "--metadata", str(metadata), "--setting", "suggest_facets", "off",
         "--setting", "default_facet_size", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with answering(process, f"http://127.0.0.1:{port}", "/-/versions.json") as base:
        yield base


@contextmanager
def writing(base: str, token: str):
    """Another client opening WRITES_PER_S tickets a second through the API, until the block
    ends; yields its tally (filled in when it ends)."""
    tally = {"per_s": WRITES_PER_S, "sent": 0, "failed": 0}
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {token}"}

    def write() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            started = time.monotonic()
            while not stop.is_set():
                response = client.post("/api/v1/tickets", json=FINDING)
                tally["sent"] += 1
                tally["failed"] += response.status_code != 201
                stop.wait(max(0.0, started + tally["sent"] / WRITES_PER_S - time.monotonic()))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield tally
    finally:
        stop.set()
        writer.join()


def revalidation(base: str, path: str, cookie: dict) -> dict:
    """A 304 for `path` with its ETag against /about, interleaved, no writes running."""
    with httpx.Client(timeout=30) as client:
        first = client.get(base + path, headers=cookie)
        etag = first.headers.get("ETag")
        again = client.get(base + path, headers=cookie | {"If-None-Match": etag or "-"})
    if etag is None or again.status_code != 304:
        return {"ratio": 0.0, "errors": 0, "etag": etag, "status": again.status_code}
    runs = {"revalidate": [], "about": []}
    for i in range(ROUNDS):
        for side in (["revalidate", "about"] if i % 2 == 0 else ["about", "revalidate"]):
            if side == "about":
                runs[side].append(wrk(base + "/about", SECONDS, cookie, connections=FEW))
            else:
                runs[side].append(wrk(base + path, SECONDS, cookie | {"If-None-Match": etag},
                                      connections=FEW))
    revalidate, about = load_summary(runs["revalidate"]), load_summary(runs["about"])
    return {"ratio": round(revalidate["req_per_s"] / about["req_per_s"], 3),
            "errors": revalidate["errors"] + about["errors"], "etag": etag,
            "revalidate": revalidate, "about": about}
