"""Run as a process: catch this store's read models up, saying "go" when it starts, "at N"
after each batch it commits and "done" at the end.

The crash tests kill it with SIGKILL at random moments. Settings come from XIAOHAO_*.
"""

from __future__ import annotations

from projections.readmodels import ReadModels
from xiaohao.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    read = ReadModels(settings.build_app(), settings.read_db)
    print("go", flush=True)
    read.runner.catch_up(progress=lambda position, head: print("at", position, flush=True))
    print("done", flush=True)
