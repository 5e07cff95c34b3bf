"""Run as a process: seal this store's log in small transactions, then checkpoint it, saying
"go" when it starts. The crash test kills it with SIGKILL at random moments."""

from __future__ import annotations

from domain.checkpoints import Sealer
from xiaohao.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    app = settings.build_app()
    sealer = Sealer(app, settings.seal_leaves(), settings.seal_key(), settings.seal_suite,
                    batch=300)
    print("go", flush=True)
    sealer.checkpoint("测试")
    print("done", flush=True)
