"""Peers a benchmark compares with, each installed into a scratch venv of its own under /tmp
(kept between runs, by version), never into the project's environment (../shared BENCHMARKS.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PEERS = Path(os.environ.get("XIAOHAO_BENCH_PEERS", "/tmp/xiaohao-bench-peers"))


def peer_bin(package: str, version: str, command: str) -> Path:
    """The path of `command` from `package==version`, installed on first use."""
    venv = PEERS / f"{package}-{version}"
    program = venv / "bin" / command
    if not program.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet",
                        f"{package}=={version}"], check=True)
    return program
