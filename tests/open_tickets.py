"""Run as a process: open COUNT tickets as the inspector once GO exists; print their numbers.

Used by the numbering tests to race two processes on one store. Settings come from XIAOHAO_*.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from domain.clock import ManualClock, at_beijing
from tests.conftest import START, open_at_school_a
from xiaohao.settings import Settings


def main(count: int, go: Path) -> None:
    app = Settings().build_app(clock=ManualClock(at_beijing(START, 10)))
    while not go.exists():
        time.sleep(0.005)
    for _ in range(count):
        print(open_at_school_a(app), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
