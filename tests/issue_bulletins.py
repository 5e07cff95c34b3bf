"""Run as a process: once GO exists, issue the bulletins of WEEKS (comma-separated) in order,
printing `week issued|existing number` per line. Used to race two schedulers on one store.
Settings come from XIAOHAO_*; the clock stands four weeks after the small county's start."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from domain.clock import ManualClock, at_beijing
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import START
from xiaohao.settings import Settings


def main(weeks: list[str], go: Path, read_db: Path) -> None:
    settings = Settings()
    app = settings.build_app(clock=ManualClock(at_beijing(START + timedelta(weeks=4), 17)))
    read = ReadModels(app, read_db)
    while not go.exists():
        time.sleep(0.002)
    for week in weeks:
        run, issued = issue(app, read, "bulletin", week, warn_days=3)
        print(week, "issued" if issued else "existing", run["number"], flush=True)


if __name__ == "__main__":
    main(sys.argv[1].split(","), Path(sys.argv[2]), Path(sys.argv[3]))
