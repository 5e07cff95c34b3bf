"""api_open: opening tickets through the JSON API at 50 connections.

Setup (not timed): the demo county's directory in a fresh SQLite store and an inspector with an
API token. `xiaohao serve` runs on core 0, wrk on core 1, posting one finding per request for
SECONDS (ROUNDS runs after a short warm-up; the median counts). Each answer (201) names the new
ticket once it is numbered and saved; the server's follower catches the read models up.
Target: at least 300 requests/s with no error; ratio = median req/s / 300. Every ticket the
server acknowledged must be in the store afterwards, numbered without gaps.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from domain.application import SYSTEM
from tests.bench.common import median, verdict
from tests.bench.loadgen import CONNECTIONS, require_wrk, serving, wrk
from tests.conftest import settings_for
from xiaohao.county import build_directory

TARGET_RPS = 300.0
ROUNDS = 3
SECONDS = 8
FINDING = {"title": "四年级3个班学生数超过45人", "unit_id": "T01-P01", "category": "class_size",
           "description": "周检查发现该校四年级共6个班，其中3个班学生数超过45人。",
           "severity": "serious", "source": "weekly_check", "indicator_id": "gov_class_size"}


def run(tickets: int) -> dict:
    require_wrk()
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings = settings_for("sqlite", Path(tmp))
        app = settings.build_app()
        build_directory(app)
        app.register_account(SYSTEM, login="bench", name="压测督查员", roles=["inspector"],
                             unit_id="D03", password="bench-password")
        token = app.issue_api_token("bench", "压测")
        app.close()
        with serving(settings.var_dir) as base:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            body = json.dumps(FINDING, ensure_ascii=False)
            warm_up = wrk(f"{base}/api/v1/tickets", 2, headers, body=body)   # not counted
            loads = [wrk(f"{base}/api/v1/tickets", SECONDS, headers, body=body)
                     for _ in range(ROUNDS)]
        app = settings.build_app()
        numbers = sorted(int(e.number.rsplit("-", 1)[1]) for e in _opened(app))
        app.close()
    acknowledged = warm_up.requests + sum(x.requests for x in loads)
    errors = warm_up.errors + sum(x.errors for x in loads)
    rps = median([x.requests_per_s for x in loads])
    complete = numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= acknowledged
    return verdict("api_open", rps / TARGET_RPS, 1.0,
                   rps >= TARGET_RPS and errors == 0 and complete,
                   ratio_of="median req/s / 300", req_per_s=round(rps, 1), errors=errors,
                   connections=CONNECTIONS, rounds=ROUNDS, seconds=SECONDS,
                   acknowledged=acknowledged, stored=len(numbers), numbers_without_gaps=complete,
                   p50_ms=round(median([x.p50_ms for x in loads]), 2),
                   p99_ms=round(median([x.p99_ms for x in loads]), 2),
                   runs=[x.as_dict() for x in loads])


def _opened(app):
    for notification in app.recorder.select_notifications(start=1, limit=10**7):
        if notification.topic.endswith("Ticket.Opened"):
            yield app.mapper.to_domain_event(notification)
