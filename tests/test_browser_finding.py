"""The pickers in a real browser (#15 §4), on a desktop and on a 390-px phone: typing in a unit
picker's box keeps only the matching schools and towns, and the person picker shows only the
people of the unit chosen to lead."""

from __future__ import annotations

import pytest

from tests.conftest import open_at_school_a
from tests.test_browser import DESKTOP, PHONE, signed_in

pytestmark = pytest.mark.slow

VISIBLE = "s => [...s.options].filter(o => !o.hidden && o.value).map(o => o.text)"


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_office_finds_a_school_by_typing_and_sees_only_its_people(live_server, chromium,
                                                                       device):
    base, app, _ = live_server
    number = open_at_school_a(app)
    page = signed_in(chromium, base, "office", device)
    page.goto(f"/tickets/{number}")
    action = page.locator("details.action", has=page.locator("summary:text-is('交办')"))
    action.locator("summary").click()
    lead = action.locator("select[name=lead_unit_id]")
    action.locator("input.picker-search").first.fill("乙镇")
    assert lead.evaluate(VISIBLE) == ["乙镇", "乙镇中学"]
    lead.select_option("TB-J01")
    people = action.locator("select[name=person_id]").evaluate(VISIBLE)
    assert people and all("乙" in name for name in people), people
    assert page.evaluate("document.documentElement.scrollWidth") <= device["viewport"]["width"]

    page.goto("/tickets")
    more = page.locator("details.more-filters > summary")
    if more.is_visible():              # on a phone the filters fold away behind one line
        more.click()
    page.locator("form.filters input.picker-search").fill("甲镇中心")
    assert page.locator("select[name=unit]").evaluate(VISIBLE) == ["甲镇中心小学"]


def test_the_list_is_a_card_per_ticket_on_a_phone_and_its_filters_fold(live_server, chromium):
    base, app, _ = live_server
    open_at_school_a(app, title="操场跑道破损需要维修")
    phone = signed_in(chromium, base, "office", PHONE)
    phone.goto("/tickets")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    title = phone.locator("table.tickets td.c-title").first
    assert title.is_visible() and title.inner_text() == "操场跑道破损需要维修"
    assert not phone.locator("select[name=town]").is_visible()        # folded away
    phone.locator("details.more-filters > summary").click()
    assert phone.locator("select[name=town]").is_visible()
    desktop = signed_in(chromium, base, "office", DESKTOP)
    desktop.goto("/tickets")
    assert desktop.locator("select[name=town]").is_visible()
    assert not desktop.locator("details.more-filters > summary").is_visible()


def test_a_tickets_file_prints_on_a4_with_every_step(live_server, chromium):
    """一问题一档 (#15 §2): the file as Chromium prints it: A4 pages, every step there."""
    import re

    from tests.conftest import assign_to_school_a

    base, app, _ = live_server
    number = open_at_school_a(app, title="围墙开裂需要加固")
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="已请施工队加固围墙")
    page = signed_in(chromium, base, "office", DESKTOP)
    page.goto(f"/tickets/{number}")
    page.click("a:text-is('问题档案（一问题一档，可打印）')")
    page.wait_for_url(f"**/tickets/{number}/file")
    text = page.locator("main").inner_text()
    assert "问题档案（一问题一档）" in text and "可执行的操作" not in text
    assert "已请施工队加固围墙" in text and "交办" in text and "提交整改" in text
    assert page.locator("details.event-details[open]").count() >= 2     # every step expanded
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes and all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes)
    assert 1 <= len(re.findall(rb"/Type /Page\b", pdf)) <= 4


def test_an_overdue_ticket_has_a_supervision_notice_to_print(web_app, clock):
    """督办单 (#15 §2): for an overdue item only, to its lead unit, in a document's words."""
    from datetime import date, timedelta

    from tests.web_client import Browser, page

    web, app = web_app
    number = open_at_school_a(app, title="围墙开裂需要加固")
    app.assign(number, "office", lead_unit_id="TA-P01", deadline=date(2026, 11, 3))
    office = Browser(web, "office")
    assert office.get(f"/tickets/{number}/supervise").status_code == 400     # not overdue yet
    clock.set(clock.now() + timedelta(days=4))
    doc = page(office.get(f"/tickets/{number}/supervise"))
    text = doc.select_one("article.supervise").get_text(" ")
    assert "督　办　单" in text and text.count("甲镇中心小学") >= 1
    assert "完成时限为 2026年11月3日" in text and "已逾期" in text
    assert doc.select_one(f"a[href='/tickets/{number}']")
    assert page(office.get(f"/tickets/{number}")).select_one(
        f"a[href='/tickets/{number}/supervise']")


def test_the_header_folds_behind_one_button_on_a_phone(live_server, chromium):
    base, _, _ = live_server
    phone = signed_in(chromium, base, "office", PHONE)
    nav = phone.locator("header nav")
    assert not nav.is_visible() and phone.locator("header .who").is_hidden()
    phone.click("header .menu-toggle")
    assert nav.is_visible() and phone.locator("header .menu-toggle").get_attribute(
        "aria-expanded") == "true"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    desktop = signed_in(chromium, base, "office", DESKTOP)
    assert desktop.locator("header nav").is_visible()
    assert not desktop.locator("header .menu-toggle").is_visible()
