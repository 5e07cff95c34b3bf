"""Feedback where the user is looking (#11), in a real browser on a desktop and a 390-px phone:
the message appears next to the form just used and is in view without scrolling, with htmx
and without JavaScript; a row of 周检查 redraws itself and the week's count; 批量交办 goes with
its default choice; and every photo of the demo loads. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import assign_to_school_a, open_at_school_a
from tests.test_browser import DESKTOP, PHONE, shot, signed_in

pytestmark = pytest.mark.slow
DEVICES = {"desktop": DESKTOP, "phone": PHONE}
NO_SCRIPT = {"java_script_enabled": False}


def in_view(locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_visible()
    expect(locator).to_be_in_viewport()


def assign_form(page):
    action = page.locator("details#act-assign")
    if not action.evaluate("e => e.open"):
        action.locator("summary").click()
    return action


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("script", [True, False], ids=["htmx", "no-js"])
def test_the_ticket_page_says_it_beside_the_form(live_server, chromium, device, script):
    base, app, _ = live_server
    number = open_at_school_a(app, description="周检查发现：" + "四年级两个班超员。" * 40)
    for n in range(6):     # a long record above the actions
        app.comment(number, "insp", text=f"第{n + 1}次跟进")
    page = signed_in(chromium, base, "office", DEVICES[device] | ({} if script else NO_SCRIPT))
    page.goto(f"/tickets/{number}")
    # Refused: a deadline before the finding. The reason is inside the form, in view, and
    # the form is as it was sent.
    form = assign_form(page)
    form.locator("select[name=lead_unit_id]").select_option("TA-P01")
    form.locator("input[name=deadline]").fill("2026-10-01")
    form.locator("textarea[name=note]").fill("请按期整改")
    with page.expect_response(lambda r: r.request.method == "POST"):
        form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    reason = page.locator("details#act-assign form .error[role=alert]")
    in_view(reason)
    assert "早于发现日期" in reason.inner_text()
    assert page.locator("details#act-assign textarea[name=note]").input_value() == "请按期整改"
    assert page.locator("#messages .error").count() == 0
    shot(page, f"feedback-ticket-refused-{device}-{'htmx' if script else 'nojs'}")
    # Done: said at the head of the actions, in view.
    form = assign_form(page)
    form.locator("input[name=deadline]").fill("2026-11-30")
    with page.expect_response(lambda r: r.request.method == "POST"):
        form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    notice = page.locator("#actions [data-feedback]")
    in_view(notice)
    assert notice.inner_text() == "已交办" and app.ticket(number)["state"] == "assigned"
    shot(page, f"feedback-ticket-done-{device}-{'htmx' if script else 'nojs'}")


@pytest.mark.parametrize("device", DEVICES)
def test_a_check_redraws_its_row_and_the_weeks_count(live_server, chromium, device):
    base, app, _ = live_server
    numbers = []
    for n in range(14):
        numbers.append(open_at_school_a(app, title=f"问题{n + 1:02d}", unit_id=("TA-P01", "TB-J01")[n % 2]))
        assign_to_school_a(app, numbers[-1]) if n % 2 == 0 else app.assign(
            numbers[-1], "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 30))
    app.rectify(numbers[-2], "school_a", measures="已整改")
    app.clock.set(app.clock.now() + timedelta(days=7))        # W46: all fourteen on the list
    page = signed_in(chromium, base, "insp", DEVICES[device])
    page.goto("/checks")
    assert page.locator("#checked-count").inner_text() == "0"
    # The last row of the list: a visit recorded in place.
    row = page.locator(f"#check-{numbers[-1]}")
    row.locator("input[name=note]").fill("进度正常")
    with page.expect_response(lambda r: r.request.method == "POST"):
        row.locator("button[value=visit]").click()
    said = page.locator(f"#check-{numbers[-1]} [data-feedback]")
    in_view(said)
    assert said.inner_text() == "已记录检查"
    assert page.locator(f"#check-{numbers[-1]} form").count() == 0
    assert page.locator("#checked-count").inner_text() == "1"       # the page's count, in place
    assert page.locator("header.top").count() == 1
    # Re-inspected by someone else meanwhile: the stale 复查通过 is refused, and the row comes
    # back as the ticket is now, with no live buttons.
    waiting = numbers[-2]
    app.reinspect(waiting, "insp", passed=True, findings="另一位检查人员已复查")
    row = page.locator(f"#check-{waiting}")
    row.locator("input[name=note]").fill("到位")
    with page.expect_response(lambda r: r.request.method == "POST"):
        row.locator("button[value=pass]").click()
    reason = page.locator(f"#check-{waiting} .error")
    in_view(reason)
    assert "现为复查通过" in page.locator(f"#check-{waiting}").inner_text()
    assert page.locator(f"#check-{waiting} button").count() == 0
    shot(page, f"feedback-checks-{device}")


def test_a_check_without_javascript_lands_back_at_its_row(live_server, chromium):
    base, app, _ = live_server
    numbers = [open_at_school_a(app, title=f"问题{n + 1:02d}") for n in range(14)]
    for number in numbers:
        assign_to_school_a(app, number)
    app.clock.set(app.clock.now() + timedelta(days=7))
    page = signed_in(chromium, base, "insp", PHONE | NO_SCRIPT)
    page.goto("/checks")
    row = page.locator(f"#check-{numbers[-1]}")
    row.locator("input[name=note]").fill("进度正常")
    row.locator("button[value=visit]").click()
    page.wait_for_url(f"**/checks?week=2026-W46#check-{numbers[-1]}")
    in_view(page.locator(f"#check-{numbers[-1]} [data-feedback]"))
    assert page.locator("#checked-count").inner_text() == "1"
    shot(page, "feedback-checks-phone-nojs")


@pytest.mark.parametrize("device", DEVICES)
def test_bulk_assign_goes_with_its_default_choice(live_server, chromium, device):
    base, app, _ = live_server
    dated = [open_at_school_a(app, deadline=date(2026, 11, 27)) for _ in range(2)]
    page = signed_in(chromium, base, "office", DEVICES[device])
    page.goto("/tickets")
    for number in dated:
        page.check(f"input[name=numbers][value='{number}']")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click("#bulk-assign button[type=submit]")      # no deadline, each to its own unit
    page.wait_for_load_state()
    said = page.locator("#bulk-assign [data-feedback]")
    in_view(said)
    assert said.inner_text() == "已交办 2 项"
    assert all(app.ticket(n)["lead_unit_id"] == "TA-P01" for n in dated)
    shot(page, f"feedback-bulk-assign-{device}")


@pytest.fixture
def demo_server(tmp_path):
    """The demo county, built as `xiaohao demo` builds it, served on a loopback port."""

    from domain.clock import ManualClock, at_beijing
    from tests.conftest import served, settings_for
    from xiaohao import wiring
    from xiaohao.demo import START, build_demo

    settings = settings_for("sqlite", tmp_path)
    clock = ManualClock(at_beijing(START))
    app = settings.build_app(clock=clock)
    build_demo(app, clock, wiring.evidence(settings))
    with served(settings, app) as base:
        yield base, app
    app.close()


def test_every_photo_of_the_demo_loads(demo_server, chromium):
    """#11: the demo's 整改后 photos were reported as broken images; every photo of every
    round on every ticket page loads, for the office and for a school."""
    from xiaohao.demo import DEMO_PASSWORD

    base, app = demo_server
    failed, seen, shown_on = [], 0, {}
    for login in ("office", "t01-p01"):
        page = chromium.new_context(base_url=base, **DESKTOP).new_page()
        page.on("response", lambda r: failed.append((r.status, r.url))
                if "/evidence/" in r.url and r.status >= 400 else None)
        page.goto("/login")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        numbers: set[str] = set()
        for n in range(1, 20):            # every page of the list (50 a page)
            page.goto(f"/tickets?page={n}")
            shown = set(page.locator("table.tickets td a").all_inner_texts())
            if not shown - numbers:
                break
            numbers |= shown
        for number in sorted(numbers):
            page.goto(f"/tickets/{number}")
            for image in page.locator(".files img").all():
                image.scroll_into_view_if_needed()
                image.evaluate("e => e.complete || new Promise(done => e.onload = e.onerror = done)")
                assert image.evaluate("e => e.naturalWidth") > 0, (login, number)
                shown_on.setdefault(image.get_attribute("src").split("/")[-2], set()).add(number)
                seen += 1
    assert not failed
    assert seen >= 15        # the demo's rectifications, failed and current, have photos
    assert all(len(tickets) == 1 for tickets in shown_on.values())   # no two share a photo


def test_a_recheck_is_recorded_in_its_row_on_a_phone(live_server, chromium):
    from tests.web_client import jpeg_photo

    base, app, _ = live_server
    numbers = []
    for n in range(8):
        number = open_at_school_a(app, title=f"回查{n + 1}")
        assign_to_school_a(app, number)
        app.rectify(number, "school_a", measures="已整改")
        app.reinspect(number, "insp", passed=True)
        app.close_ticket(number, "office")
        numbers.append(number)
    app.clock.set(app.clock.now() + timedelta(days=30))        # December's list
    page = signed_in(chromium, base, "insp", PHONE)
    page.goto("/rechecks")
    row = page.locator(f"#recheck-{numbers[-1]}")
    hold = row.locator("form[action$='/hold']")
    hold.locator("input[name=note]").fill("现场查看，整改成果保持")
    hold.locator("input[type=file]").set_input_files(
        {"name": "回查.jpg", "mimeType": "image/jpeg", "buffer": jpeg_photo()})
    with page.expect_response(lambda r: r.request.method == "POST"):
        hold.locator("button").click()
    said = page.locator(f"#recheck-{numbers[-1]} [data-feedback]")
    in_view(said)
    assert said.inner_text() == "已记录回查：整改成果巩固"
    assert page.locator(f"#recheck-{numbers[-1]} form").count() == 0
    assert page.locator("#recheck-counts strong.held").inner_text() == "1"
    assert page.locator("#recheck-counts strong.pending").inner_text() == "7"
    assert app.ticket(numbers[-1])["evidence_after"] or app.ticket(numbers[-1])["held_on"]
    shot(page, "feedback-rechecks-phone")


def test_an_error_only_the_page_could_be_told_lands_beside_the_form(live_server, chromium):
    """An expired page (CSRF refused) is answered to the page's message area; the browser puts
    it at the head of the form that was sent instead (static/app.js)."""
    base, app, _ = live_server
    numbers = [open_at_school_a(app, title=f"问题{n + 1:02d}") for n in range(14)]
    for number in numbers:
        assign_to_school_a(app, number)
    app.clock.set(app.clock.now() + timedelta(days=7))
    page = signed_in(chromium, base, "insp", PHONE)
    page.goto("/checks")
    page.evaluate("""() => {
        document.querySelector('meta[name=csrf-token]').content = 'expired';
        document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'expired');
    }""")
    row = page.locator(f"#check-{numbers[-1]}")
    row.locator("input[name=note]").fill("进度正常")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 403):
        row.locator("button[value=visit]").click()
    reason = row.locator("form > .error[role=alert]")
    in_view(reason)
    assert "CSRF" in reason.inner_text()
    assert page.locator("#messages .error").count() == 0
    assert row.locator("input[name=note]").input_value() == "进度正常"
