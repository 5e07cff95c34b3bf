"""The bulletin's draft → 签发 in a real browser (#15 §1), on a 390-px phone and a desktop, and
the signed bulletin printed by Chromium: A4 pages, every table within the paper."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from domain.periods import iso_week
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import START, open_at_school_a
from tests.test_browser import DESKTOP, PHONE, signed_in

pytestmark = pytest.mark.slow
WEEK = iso_week(START)


def drafted(live_server) -> None:
    """An overdue item at school A, and the week's draft at Friday 16:00."""
    base, app, tmp_path = live_server
    number = open_at_school_a(app, title="音乐教室器材不足，需补充钢琴两台")
    app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
               deadline=START + timedelta(days=1))
    app.clock.set(app.clock.now() + timedelta(days=4, hours=7))
    issue(app, ReadModels(app, tmp_path / "cycle.sqlite3"), "bulletin", WEEK, warn_days=3)


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in
            re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)]


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_office_previews_edits_and_signs_the_draft(live_server, chromium, device):
    drafted(live_server)
    base, app, _ = live_server
    office = signed_in(chromium, base, "office", device)
    office.on("dialog", lambda dialog: dialog.accept())        # 签发 asks first
    office.goto("/bulletins")
    assert office.locator("text=草稿待签发").is_visible()
    office.click("text=第 1 期")
    width = device["viewport"]["width"]
    assert office.evaluate("document.documentElement.scrollWidth") <= width
    assert office.locator(".draft-mark").is_visible()
    criticism = office.locator("#criticism")
    assert "甲镇：逾期未整改问题 1 项" in criticism.input_value()
    office.fill("#praise", "乙镇：主动排查，问题清零。")
    office.click("button:text-is('保存草稿')")
    assert office.locator("text=草稿已保存，尚未签发").is_visible()
    assert office.locator(".bulletin").inner_text().count("乙镇：主动排查，问题清零。") == 1
    office.click("button:text-is('签发')")
    assert office.locator("text=第1期周通报已签发（泗创办通〔2026〕1号）").is_visible()
    assert office.locator(".doc-number").inner_text() == "泗创办通〔2026〕1号"
    assert not office.locator("form.sign-form").count()
    assert office.evaluate("document.documentElement.scrollWidth") <= width
    item = office.locator("#overdue td.title").first               # a card on a phone
    assert item.is_visible() and "钢琴两台" in item.inner_text()

    leader = signed_in(chromium, base, "leader_a", device)          # now it is published
    leader.goto("/bulletins")
    leader.click("text=第 1 期")
    assert "泗创办通〔2026〕1号" in leader.locator(".bulletin header").inner_text()
    assert leader.evaluate("document.documentElement.scrollWidth") <= width


def test_the_signed_bulletin_prints_on_a4_within_the_paper(live_server, chromium):
    drafted(live_server)
    base, app, _ = live_server
    app.sign_bulletin("office", WEEK)
    page = signed_in(chromium, base, "office", DESKTOP)
    page.goto(f"/bulletins/{WEEK}")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 627, "height": 900})    # A4 less the page's margins
    assert not page.locator("header.top").is_visible()
    overflowing = page.evaluate("""() => [...document.querySelectorAll('.bulletin table, .bulletin figure')]
        .filter(e => e.scrollWidth > document.querySelector('.bulletin').clientWidth + 1)
        .map(e => e.id || e.tagName)""")
    assert overflowing == []
    pdf = page.pdf(prefer_css_page_size=True)
    pages = pdf_pages(pdf)
    assert pages and all(abs(w - 595) < 2 and abs(h - 842) < 2 for w, h in pages)    # A4
    assert 1 <= len(pages) <= 4
