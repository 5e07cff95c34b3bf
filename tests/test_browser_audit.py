"""An auditor's question in a real browser (#13), on a desktop and on a 390-px phone: the
dashboard as of a past Friday, a ticket followed from it as it stood then, the ledger of that
instant downloaded, and the message its leader got that week read."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from domain.application import SYSTEM
from domain.clock import at_beijing
from projections.readmodels import ReadModels
from tests.conftest import START, issue_signed, open_at_school_a, settings_for
from tests.test_browser import DESKTOP, PHONE, open_menu, shot, signed_in
from xiaohao import wiring

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("device, name", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_an_auditor_asks_what_the_county_looked_like_last_friday(live_server, chromium, clock,
                                                                  device, name):
    base, app, tmp_path = live_server
    app.update_person(SYSTEM, "L1", email="l1@example.cn")
    clock.set(at_beijing(START, 9))
    late = open_at_school_a(app, title="音乐教室器材不足")
    app.assign(late, "office", lead_unit_id="TA-P01", co_unit_ids=["TA"], person_id="HA",
               deadline=date(2026, 11, 4), note="请本周内配齐")
    clock.set(at_beijing(START + timedelta(days=4), 16))       # Friday: the bulletin goes out
    read = ReadModels(app, tmp_path / "cycle.sqlite3")
    issue_signed(app, read, "2026-W45")
    wiring.sender(settings_for("sqlite", tmp_path), app, read).send_due()
    clock.set(at_beijing(START + timedelta(days=8), 10))        # since then: fixed
    app.rectify(late, "school_a", measures="已采购器材")
    read.close()

    page = signed_in(chromium, base, "audit", device)
    page.goto("/audit")
    page.fill("input[name=as_of]", "2026-11-06T17:00")
    page.click("text=查看当时的工作台")
    page.wait_for_url("**/?as_of=2026-11-06T17*")
    band = page.locator(".history-band")
    assert band.inner_text().startswith("历史视图：2026-11-06 17:00，只读")
    assert "全县累计（截至2026-11-06 17:00）" in page.locator("main").inner_text()
    shot(page, f"asof-dashboard-{name}")

    page.click(f"main a[href^='/tickets/{late}']")
    page.wait_for_url(f"**/tickets/{late}?as_of=*")
    ticket = page.locator("main").inner_text()
    assert "整改中" in ticket and "已采购器材" not in ticket
    assert page.locator("form[method=post] button.primary").count() == 0
    told = page.locator("#told").inner_text()
    assert "列入第1期周通报（逾期未整改）" in told and "发送给陈领导" in told
    shot(page, f"asof-ticket-{name}")

    open_menu(page)
    page.click("nav a[href^='/ledger']")
    page.wait_for_url("**/ledger?as_of=*")
    with page.expect_download() as download:
        page.click("a[href*='format=csv'][href*='of=county']")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["泗水县问题销号台账（历史视图：2026-11-06 17:00）"]
    state = rows[1].index("整改状态")
    assert [r[state] for r in rows[2:] if r[1] == late] == ["整改中"]

    page.goto(f"/tickets/{late}?as_of=2026-11-06T17:00")
    page.click("#told li:has-text('发送给陈领导') a")
    page.wait_for_url("**/outbox/*")
    message = page.locator("main").inner_text()
    assert late in message and "已送达" in message and "投递记录" in message
    shot(page, f"asof-leader-mail-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= device["viewport"]["width"] + 1
