"""A flood of sign-ins does not take the server's memory (#12): 32 clients guessing at once took
it from 187 MiB to 2,086 MiB, one 64 MiB argon2 check each. Now at most
XIAOHAO_SIGN_IN_CONCURRENCY checks run at once, and a signed-in page still answers."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx
import psutil
import pytest

from tests.conftest import PASSWORD, loopback_port, seed_small_county, settings_for
from tests.web_client import page
from web.sign_in_gate import GateFull, HashGate

ROOT = Path(__file__).resolve().parent.parent
ARGON2_MIB = 64
GATE = 2
CLIENTS = 32
FLOOD_SECONDS = 4
MARGIN_MIB = 96     # allocator slack, the flood's sockets and request objects


def test_a_password_check_waits_for_a_turn_or_is_refused():
    gate = HashGate(1, wait_seconds=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> str:
        holding.set()
        release.wait(5)
        return "done"

    async def story() -> None:
        async with anyio.create_task_group() as group:
            results = []

            async def first() -> None:
                results.append(await gate.run(hold))

            group.start_soon(first)
            await anyio.to_thread.run_sync(holding.wait)
            with pytest.raises(GateFull):          # the one turn is taken
                await gate.run(lambda: "second")
            release.set()
        assert results == ["done"]
        assert await gate.run(lambda: "third") == "third"   # the turn was given back

    anyio.run(story)


def sign_in(client: httpx.Client, login: str, password: str, source: str) -> httpx.Response:
    token = page(client.get("/login")).select_one('input[name="csrf_token"]')["value"]
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token},
                       headers={"X-Forwarded-For": source}, timeout=30)


def guess_until(base: str, stop: threading.Event, statuses: list[int]) -> None:
    """One flooding client: wrong passwords for real and made-up logins, each from another
    address (through the trusted proxy), so that no per-source limit spares the hashing."""
    with httpx.Client(base_url=base) as client:
        token = page(client.get("/login")).select_one('input[name="csrf_token"]')["value"]
        while not stop.is_set():
            login = random.choice(["office", "insp", "school_a", f"nobody{random.randrange(999)}"])
            source = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"
            try:
                response = client.post("/login", data={"login": login, "password": "guess-guess",
                                                       "csrf_token": token},
                                       headers={"X-Forwarded-For": source}, timeout=30)
                statuses.append(response.status_code)
            except httpx.HTTPError:
                statuses.append(0)


@pytest.fixture
def server(tmp_path):
    """`xiaohao serve` in its own process, argon2 at its production memory cost, behind a
    trusted proxy on loopback; yields (base URL, its process)."""
    settings = settings_for("sqlite", tmp_path, argon2_memory_kib=ARGON2_MIB * 1024)
    app = settings.build_app()
    seed_small_county(app)
    app.close()
    port = loopback_port()
    env = os.environ | {
        "XIAOHAO_STORE": "sqlite", "XIAOHAO_VAR_DIR": str(settings.var_dir),
        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": str(ARGON2_MIB * 1024),
        "XIAOHAO_SCHEDULER": "false", "XIAOHAO_TRUSTED_PROXIES": "127.0.0.1",
        "XIAOHAO_SIGN_IN_CONCURRENCY": str(GATE)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from xiaohao.cli import main; main()", "serve", "--port",
         str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_a_login_flood_keeps_memory_bounded_and_pages_answering(server):
    base, process = server
    with httpx.Client(base_url=base) as office:
        assert sign_in(office, "office", PASSWORD, "192.0.2.1").status_code == 303
        for n in range(4):     # the first checks, the templates and the pages warmed up
            sign_in(httpx.Client(base_url=base), "insp", "guess-guess", f"192.0.2.{n + 2}")
            assert office.get("/").status_code == 200
        baseline = process.memory_info().rss
        stop, statuses = threading.Event(), []
        flood = [threading.Thread(target=guess_until, args=(base, stop, statuses))
                 for _ in range(CLIENTS)]
        for client in flood:
            client.start()
        peak, pages = baseline, []
        ends = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < ends:
            peak = max(peak, process.memory_info().rss)
            if len(pages) < 5:
                pages.append(office.get("/", timeout=30).status_code)
            time.sleep(0.05)
        stop.set()
        for client in flood:
            client.join(timeout=60)
    mib = 2**20
    print(f"login flood: baseline {baseline / mib:.0f} MiB, peak {peak / mib:.0f} MiB, "
          f"{len(statuses)} attempts, statuses {sorted(set(statuses))}")
    assert pages and set(pages) == {200}                  # a signed-in page still answers
    assert set(statuses) <= {400, 503}, sorted(set(statuses))
    assert statuses.count(400) > CLIENTS                   # the flood did reach the checks
    assert peak - baseline < (ARGON2_MIB * GATE + MARGIN_MIB) * mib
