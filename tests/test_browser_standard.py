"""达标评估 in a real browser (#14), on a desktop and on a 390-px phone: the office downloads the
year's template, fills it, uploads it, reads the county's verdict and follows a shortfall to the
ticket it opened; then marks a checklist item and sees its ticket."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.test_browser import DESKTOP, PHONE, open_menu, shot, signed_in
from tests.test_school_figures import GOOD
from xiaohao.adapters.figures_workbook import SHEET

pytestmark = pytest.mark.slow


def fill(path: str) -> bytes:
    """The downloaded template with every school's row filled with GOOD figures."""
    book = load_workbook(path)
    for row in book[SHEET].iter_rows(min_row=3):
        for i, value in enumerate(GOOD.values(), start=3):
            row[i].value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("device, name", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_the_office_loads_a_years_figures_and_follows_a_shortfall_to_its_ticket(
        live_server, chromium, device, name, tmp_path):
    base, app, _ = live_server
    page = signed_in(chromium, base, "office", device)
    open_menu(page)
    page.click("header nav a[href='/standard']")
    page.wait_for_url("**/standard")
    with page.expect_download() as download:
        page.click("a[href^='/standard/template']")
    template = tmp_path / "模板.xlsx"
    download.value.save_as(template)
    page.set_input_files("input[name=file]", files=[{
        "name": "学校数据.xlsx", "buffer": fill(str(template)),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.click("form[action='/standard/import'] button")
    page.wait_for_url("**/standard?year=*")
    assert "已导入 2 行数据；新登记问题" in page.locator("#messages, .flash, main").first.inner_text()
    assert page.locator("#verdict h2").inner_text() == "全县结论：未达标"
    assert page.evaluate("document.documentElement.scrollWidth") <= device["viewport"]["width"]
    shot(page, f"standard-{name}")

    shortfall = page.locator("#shortfalls li", has_text="生均教学及辅助用房面积 3.9㎡").filter(
        has_text="甲镇中心小学")
    number = shortfall.locator("a").inner_text()
    shortfall.locator("a").click()
    page.wait_for_url(f"**/tickets/{number}")
    ticket = page.locator("main").inner_text()
    assert "甲镇中心小学生均教学及辅助用房面积未达标" in ticket and "自查自评" in ticket
    assert "差 0.6㎡ × 1,234 人 ≈ 740㎡" in ticket
    shot(page, f"standard-ticket-{name}")

    page.go_back()
    item = page.locator("#item-gov_teacher_rotation_rate")
    item.locator("summary").click()
    item.locator("input[name=value]").fill("8")
    item.locator("input[name=evidence]").fill("2019年交流轮岗名单")
    item.locator("button").click()
    page.wait_for_url("**/standard?year=*#checklist")
    item = page.locator("#item-gov_teacher_rotation_rate")
    assert "未达标（8%）" in item.inner_text()
    assert item.locator("a[href^='/tickets/']").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= device["viewport"]["width"]
