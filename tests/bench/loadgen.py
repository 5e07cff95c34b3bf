"""For the HTTP benchmarks: `xiaohao serve` in its own process on one core, and wrk on the
other, bounded in time; wrk's figures read back as numbers (see ../shared BENCHMARKS.md)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from bs4 import BeautifulSoup

REPO_ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 50
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int          # socket errors and non-2xx/3xx answers

    def as_dict(self) -> dict:
        return {"req_per_s": round(self.requests_per_s, 1), "p50_ms": round(self.p50_ms, 2),
                "p99_ms": round(self.p99_ms, 2), "requests": self.requests,
                "errors": self.errors}


def cores() -> tuple[list[str], list[str]]:
    """taskset prefixes: the server on core 0, the load on core 1 (none with one core)."""
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        return [], []
    return ["taskset", "-c", "0"], ["taskset", "-c", "1"]


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("the HTTP benchmarks need wrk: apt-get install -y wrk")
    return wrk


@contextmanager
def serving(var_dir: Path, env: dict[str, str] | None = None):
    """`xiaohao serve` over var_dir (with settings `env` besides) on a free loopback port, on
    core 0; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | (env or {}) | {"XIAOHAO_VAR_DIR": str(var_dir)}
    server_core, _ = cores()
    xiaohao = Path(sys.executable).with_name("xiaohao")
    process = subprocess.Popen([*server_core, str(xiaohao), "serve", "--port", str(port)],
                               cwd=REPO_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with answering(process, f"http://127.0.0.1:{port}", "/healthz") as base:
        yield base


@contextmanager
def answering(process: subprocess.Popen, base: str, probe: str):
    """`process` (its stderr piped) once `base + probe` answers 200, for at most a minute;
    yields `base`, and stops the process when the block ends."""
    try:
        for _ in range(600):
            try:
                if httpx.get(base + probe, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{process.args[:3]} did not start: "
                               f"{process.stderr.read().decode()}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def session_cookie(base: str, login: str, password: str) -> str:
    with httpx.Client(base_url=base) as client:
        form = BeautifulSoup(client.get("/login").text, "html.parser")
        token = form.select_one('input[name="csrf_token"]')["value"]
        response = client.post("/login", data={"login": login, "password": password,
                                               "csrf_token": token})
        if response.status_code != 303:
            raise RuntimeError(f"could not sign in as {login}: {response.status_code}")
        client.get("/")     # the session as a browser keeps it after its first page
        return f"xiaohao_session={client.cookies['xiaohao_session']}"


def wrk(url: str, seconds: float, headers: dict[str, str] | None = None,
        body: str | None = None, *, connections: int = CONNECTIONS,
        paths: list[str] | None = None, settle: float = 0.0) -> Load:
    """One bounded wrk run at `connections` connections: a POST with `body` when given, or GETs
    of `paths` in turn (a mix) on `url`'s server when given, else GETs of `url`; `settle`
    seconds first, for what a run before it left running to finish (requests wrk cut off go
    on in the server that took them, on the core this one runs on).
    XIAOHAO_BENCH_SECONDS shortens every run (the smoke test proves the benchmark works)."""
    seconds = min(seconds, float(os.environ.get("XIAOHAO_BENCH_SECONDS", seconds)))
    time.sleep(min(settle, seconds))
    _, load_core = cores()
    command = [*load_core, require_wrk(), "-t1", f"-c{connections}", f"-d{seconds:.0f}s",
               "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_script(body, paths))
    try:
        out = subprocess.run([*command, "-s", script.name, url], capture_output=True,
                             text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(script.name)
    return _parse(out)


def _script(body: str | None, paths: list[str] | None) -> str:
    if body is not None:
        return 'wrk.method = "POST"\nwrk.body = [==[' + body + ']==]\n'
    if paths:
        listed = ",\n".join("[==[" + p + "]==]" for p in paths)
        return ("paths = {" + listed + "}\ni = 0\nrequest = function()\n"
                "  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n")
    return "-- GET\n"


def _parse(out: str) -> Load:
    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * UNITS[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    requests = int(re.search(r"(\d+) requests in", out)[1])
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(rps, latency("50"), latency("99"), requests,
                errors + (int(non_2xx[1]) if non_2xx else 0))
