"""The server stays responsive while a command waits (#4 review: async routes that did blocking
work held up every other request)."""

from __future__ import annotations

import threading
import time

import httpx
from bs4 import BeautifulSoup

from tests.conftest import PASSWORD


def test_a_waiting_command_does_not_hold_up_other_requests(live_server):
    base, app, _ = live_server
    with httpx.Client(base_url=base) as client:
        form = BeautifulSoup(client.get("/login").text, "html.parser")
        token = form.select_one('input[name="csrf_token"]')["value"]
        client.post("/login", data={"login": "insp", "password": PASSWORD, "csrf_token": token})
        token = BeautifulSoup(client.get("/tickets/new").text, "html.parser").select_one(
            'meta[name="csrf-token"]')["content"]
        app._numbering.acquire()          # as if another thread were saving a long batch
        try:
            opening = threading.Thread(target=client.post, args=("/tickets/new",), kwargs={
                "data": {"csrf_token": token, "unit_id": "TA-P01", "title": "等待编号",
                         "category": "校舍用房", "severity": "一般", "source": "周检查"}})
            opening.start()
            time.sleep(0.3)                   # the post is now waiting for a number
            started = time.perf_counter()
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            assert time.perf_counter() - started < 1.0
        finally:
            app._numbering.release()
        opening.join(timeout=10)
    assert app.ticket("SS-2026-0001")["title"] == "等待编号"
