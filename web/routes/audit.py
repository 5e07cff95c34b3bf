"""审计 (the auditor's and the office's): the sealed log's state, its checkpoints with the
documents that printed them, its verifications, "verify now" with its progress, and the export
with its offline verifier."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

import domain.seal
from domain.clock import BEIJING
from domain.cycle import KINDS
from domain.delivery import KINDS as MESSAGE_KINDS
from domain.values import Role
from projections.runs import outbox_recipients
from projections.seal import checkpoint_count, checkpoints, verifications
from web.deps import App, Config, PostedForm, ReadDb, allow
from web.templating import render
from web.users import User

router = APIRouter()
AUDIT_READERS = (Role.OFFICE, Role.AUDITOR)
Auditor = Annotated[User, Depends(allow(*AUDIT_READERS))]


class Checking:
    """The one verification a web process runs at a time, and how far it has come."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running, self.done, self.total, self.result, self.by = False, 0, 0, None, ""

    def start(self, app, audit, by: str) -> bool:
        with self.lock:
            if self.running:
                return False
            self.running, self.done, self.total, self.result, self.by = True, 0, 0, None, by
        threading.Thread(target=self._run, args=(app, audit, by), daemon=True).start()
        return True

    def _run(self, app, audit, by: str) -> None:
        def progress(done: int, total: int) -> None:
            self.done, self.total = done, total

        try:
            self.result = audit.verify(app, by, progress)
        except Exception as error:   # said on the page; the next start tries again
            self.result = {"ok": False, "problems": [f"校验未能完成：{error}"], "events": 0,
                           "sealed": 0, "checkpoints": 0}
        finally:
            self.running = False


def _checking(request: Request) -> Checking:
    state = request.app.state
    if not hasattr(state, "seal_checking"):
        state.seal_checking = Checking()
    return state.seal_checking


def _context(request: Request, app, db, config) -> dict:
    return {"seal": config.seal, "sealed": config.seal_audit.sealed(),
            "events": app.recorder.max_notification_id() or 0,
            "checkpoints": checkpoints(db), "checkpoint_count": checkpoint_count(db),
            "verifications": verifications(db), "checking": _checking(request),
            "run_kinds": KINDS, "message_kinds": MESSAGE_KINDS,
            "recipients": [(r["key"], f"{r['name']}（{r['role']}）")
                           for r in outbox_recipients(db)]}


@router.get("/audit")
def audit_page(request: Request, app: App, db: ReadDb, config: Config, user: Auditor):
    """日志存证与校验."""
    return render(request, "audit.html", _context(request, app, db, config),
                  fragment="_audit_check.html")


@router.post("/audit/verify")
def audit_verify(request: Request, app: App, db: ReadDb, config: Config, user: Auditor,
                 form: PostedForm):
    """校验 now, in the background; the page shows its progress."""
    _checking(request).start(app, config.seal_audit, user.login)
    if request.headers.get("HX-Request") == "true":
        return render(request, "audit.html", _context(request, app, db, config),
                      fragment="_audit_check.html")
    return RedirectResponse("/audit#check", status_code=303)


@router.get("/audit/export")
def audit_export(app: App, config: Config, user: Auditor):
    """The whole log with its checkpoints and key, as JSON lines (check it with
    verify_seal.py)."""
    name = f"xiaohao-audit-{app.county_code}-{datetime.now(BEIJING):%Y%m%d-%H%M}.jsonl"
    return StreamingResponse(config.seal_audit.export_lines(app), media_type="application/jsonl",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/audit/verify_seal.py")
def audit_verifier(user: Auditor):
    """The offline verifier: one file, Python's standard library and `cryptography`."""
    return FileResponse(Path(domain.seal.__file__), media_type="text/x-python",
                        filename="verify_seal.py")
