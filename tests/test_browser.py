"""The whole life of a ticket in a real browser (the system Chromium, driven by Playwright):
an inspector on a phone, the office, the school, then the Excel ledger; and a school that
types another school's ticket into the address bar. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import PASSWORD, issue_signed
from tests.web_client import jpeg_photo

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

pytestmark = pytest.mark.slow
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs /usr/bin/chromium (.ci/run installs it)")
    pytest.skip("no /usr/bin/chromium here: `apt-get install -y chromium fonts-noto-cjk`",
                allow_module_level=True)


def signed_in(chromium, base: str, login: str, device: dict):
    page = chromium.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai",
                                accept_downloads=True, **device).new_page()
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def open_menu(page) -> None:
    """On a phone the header's links fold behind 菜单: open it (a desktop shows them)."""
    toggle = page.locator("header .menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def act(page, command_label: str, fill: dict[str, str], *, files: dict | None = None) -> None:
    """Open one action of the ticket page, fill it in and send it (htmx swaps the ticket)."""
    action = page.locator("details.action", has=page.locator(f"summary:text-is('{command_label}')"))
    action.locator("summary").click()
    for selector, value in fill.items():
        field = action.locator(selector)
        if field.get_attribute("type") == "radio":
            field.check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    for selector, payload in (files or {}).items():
        action.locator(selector).set_input_files(payload)
    with page.expect_response(lambda r: r.request.method == "POST"):
        action.locator("button[type=submit]").click()


def test_a_ticket_from_finding_to_the_excel_ledger(live_server, chromium):
    base, app, tmp = live_server
    photo = {"name": "现场.jpg", "mimeType": "image/jpeg",
             "buffer": jpeg_photo(taken_at="2026:11:02 08:30:00", gps=(35.66, 117.25))}
    # An inspector on a phone logs the finding with a photo.
    phone = signed_in(chromium, base, "insp", PHONE)
    shot(phone, "phone-dashboard")
    open_menu(phone)
    phone.click("text=登记问题")
    phone.select_option("select[name=unit_id]", "TA-P01")
    phone.fill("input[name=title]", "音乐教室器材不足")
    phone.fill("textarea[name=description]", "音乐教室缺少电子琴 6 台")
    phone.select_option("select[name=category]", "special_rooms")
    phone.set_input_files("input[name=evidence]", photo)
    shot(phone, "phone-new-ticket")
    phone.click("button:text-is('登记')")
    phone.wait_for_selector("article#ticket")
    number = next(word for word in phone.locator("article#ticket h1").inner_text().split()
                  if word[-4:].isdigit())                # no light before it: no deadline yet
    assert phone.locator("article#ticket h1 .dot").count() == 0      # not a blank badge (#11)
    assert phone.locator(".files img").count() == 1
    shot(phone, "phone-ticket")
    # The office assigns it on a desktop.
    office = signed_in(chromium, base, "office", DESKTOP)
    office.goto(f"/tickets/{number}")
    act(office, "交办", {"select[name=lead_unit_id]": "TA-P01", "input[name=deadline]": "2026-11-20"})
    office.wait_for_selector(".state:has-text('整改中')")
    # The school rectifies with a photo; the inspector passes it; the office closes it.
    school = signed_in(chromium, base, "school_a", DESKTOP)
    school.goto(f"/tickets/{number}")
    act(school, "提交整改", {"textarea[name=measures]": "已购置电子琴 6 台"},
        files={"input[name=evidence]": photo | {"name": "整改后.jpg"}})
    school.wait_for_selector(".state:has-text('待复查')")
    shot(school, "ticket-rectified")
    phone.goto(f"/tickets/{number}")
    act(phone, "复查", {"input[name=passed][value='1']": "", "textarea[name=findings]": "到位"})
    phone.wait_for_selector(".state:has-text('复查通过')")
    office.goto(f"/tickets/{number}")
    act(office, "销号", {"textarea[name=note]": "同意销号"})
    office.wait_for_selector(".state:has-text('已销号')")
    shot(office, "ticket-closed")
    # The Excel ledger lists it as 已销号.
    office.goto("/ledger")
    shot(office, "ledger")
    with office.expect_download() as download:
        office.click("a:text-is('下载 Excel（总表 + 各镇街分表）')")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = list(book["全县台账"].iter_rows(min_row=3, values_only=True))
    state = [c.value for c in book["全县台账"][2]].index("整改状态")
    assert [(r[1], r[state]) for r in rows] == [(number, "已销号")]
    for url, name in [("/", "dashboard"), ("/tickets", "tickets"), ("/checks", "checks"),
                      ("/rechecks", "rechecks"), ("/directory", "directory")]:
        office.goto(url)
        shot(office, name)
    # A school that types another school's ticket into the address bar is refused.
    other = signed_in(chromium, base, "school_b", PHONE)
    response = other.goto(f"/tickets/{number}")
    assert response.status == 403
    assert "不在您的查看范围内" in other.locator(".error").inner_text()
    shot(other, "phone-403")


def test_the_filters_update_the_list_in_place_and_the_url(live_server, chromium):
    from playwright.sync_api import expect

    base, app, _ = live_server
    for title in ["音乐教室器材不足", "厕所蹲位不足", "操场跑道破损"]:
        app.open_ticket("insp", title=title, description="", unit_id="TA-P01", category="校舍用房",
                        severity="一般", source="周检查")
    office = signed_in(chromium, base, "office", DESKTOP)
    office.goto("/tickets")
    assert office.locator("table.tickets tbody tr").count() == 3
    office.fill("#q", "厕所")
    expect(office.locator("table.tickets tbody tr")).to_have_count(1)   # swapped by htmx
    assert "q=%E5%8E%95%E6%89%80" in office.url            # the link can be shared
    assert office.locator("header.top").count() == 1     # swapped in place, not reloaded twice


def test_a_bulletin_prints_as_a_tongbao_on_a4(live_server, chromium):
    """The 周通报 page in the browser, then as printed: the site's header and links drop away,
    the masthead and the serif text stay, and Chromium lays it out on A4 pages (#5)."""
    from datetime import timedelta

    from domain.periods import iso_week
    from projections.readmodels import ReadModels
    from tests.conftest import START, open_at_school_a

    base, app, tmp_path = live_server
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
               deadline=START + timedelta(days=1))
    app.clock.set(app.clock.now() + timedelta(days=4, hours=7))   # Friday 16:00
    issue_signed(app, ReadModels(app, tmp_path / "cycle.sqlite3"), iso_week(START))
    page = signed_in(chromium, base, "leader_a", DESKTOP)
    open_menu(page)
    page.click("nav a:text-is('周通报')")
    page.click("text=第 1 期")
    masthead = page.locator(".bulletin header h1")
    assert masthead.inner_text().replace(" ", "") == "周通报"
    assert page.locator("header.top").is_visible()
    assert number in page.locator(".bulletin").inner_text()
    shot(page, "bulletin")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert masthead.is_visible()
    font = page.locator(".bulletin p").first.evaluate("e => getComputedStyle(e).fontFamily")
    assert "serif" in font and ("FangSong" in font or "仿宋" in font)
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "bulletin.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 1
    phone = signed_in(chromium, base, "leader_a", PHONE)     # a phone scrolls the wide
    phone.goto(page.url)                                      # tables, not the page (#11)
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_swagger_ui_authorize_takes_a_token_and_a_call_answers(live_server, chromium):
    # #12: the OpenAPI document declares the bearer scheme, so /docs's Authorize works.
    base, app, _ = live_server
    token = app.issue_api_token("office", "接口调试")
    page = chromium.new_context(base_url=base, **DESKTOP).new_page()
    page.goto("/docs")
    page.click("button.authorize")
    page.fill(".modal-ux input", token)
    page.click(".modal-ux .auth-btn-wrapper button.authorize")
    page.click(".modal-ux button.btn-done")
    operation = page.locator("#operations-tickets-api_list")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert '"total"' in operation.locator(".live-responses-table .microlight").first.inner_text()
