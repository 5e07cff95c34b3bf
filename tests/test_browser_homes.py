"""Every role's home in a real browser (#11), on a desktop and on a 390-px phone: the office's
queues with 催办 one click away, a school's to-do with 签收, a leader's 包保 towns and 批示, and
a town's own and its schools' tickets. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date

import pytest

from domain.application import SYSTEM
from tests.conftest import PASSWORD, assign_to_school_a, open_at_school_a
from tests.test_browser import DESKTOP, PHONE, shot, signed_in

pytestmark = pytest.mark.slow


def a_week_of_work(app, clock) -> dict[str, str]:
    """A ticket in each queue: new, asking for more time, waiting for re-inspection, not yet
    signed for, returned; a leader's 批示 answered; and one of the town's schools' own."""
    app.register_account(SYSTEM, login="town_a", name="甲镇账号", roles=["unit"], unit_id="TA",
                         password_hash=app.hash_password(PASSWORD))
    tickets = {"new": open_at_school_a(app, title="新发现：厕所蹲位不足")}
    tickets["late"] = open_at_school_a(app, title="音乐教室器材不足")
    app.assign(tickets["late"], "office", lead_unit_id="TA-P01", co_unit_ids=["TA"],
               deadline=date(2026, 11, 3), note="请本周内配齐")
    tickets["asking"] = open_at_school_a(app, title="操场跑道破损")
    assign_to_school_a(app, tickets["asking"])
    app.acknowledge(tickets["asking"], "school_a")
    app.request_extension(tickets["asking"], "school_a", new_deadline=date(2026, 12, 31),
                          reason="需等工程队进场")
    tickets["waiting"] = open_at_school_a(app, title="四年级两个班超员")
    assign_to_school_a(app, tickets["waiting"])
    app.rectify(tickets["waiting"], "school_a", measures="已分班")
    app.give_instruction(tickets["late"], "leader_a", text="务必本月配齐器材")
    app.reply_instruction(tickets["late"], "office", instruction=1, text="已督促学校采购")
    tickets["schools"] = open_at_school_a(app, title="学校图书室藏书不足")
    app.assign(tickets["schools"], "office", lead_unit_id="TA-P01", deadline=date(2026, 11, 30))
    clock.advance(days=7)                      # next Monday: on the week's check list
    return tickets


@pytest.mark.parametrize("device, name", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_each_roles_home(live_server, chromium, clock, device, name):
    base, app, _ = live_server
    tickets = a_week_of_work(app, clock)

    # The office: four queues above the county's figures; 催办 is one click.
    office = signed_in(chromium, base, "office", device)
    for queue in ("new", "extensions", "reinspection", "unacknowledged"):
        assert office.locator(f"#queue-{queue} .count").is_visible()
    assert office.locator("#queue-unacknowledged .unsigned").first.inner_text() != ""
    shot(office, f"home-office-{name}")
    box = office.locator("#queue-unacknowledged button.chase").first.bounding_box()
    assert box and box["x"] + box["width"] <= device["viewport"]["width"]
    office.locator("#queue-unacknowledged button.chase").first.click()
    office.wait_for_url(f"{base}/tickets/**")
    assert "已催办" in office.locator("main").inner_text()
    office.goto("/")
    assert "已催办 1 次" in office.locator("#queue-unacknowledged").inner_text()

    # A school: what is its to do, red first; 签收 in one click.
    school = signed_in(chromium, base, "school_a", device)
    first = school.locator("#queue-to_rectify .queue-rows > li").first
    assert tickets["late"] in first.inner_text() and "逾期" in first.inner_text()
    shot(school, f"home-school-{name}")
    school.locator(f'#queue-to_acknowledge form[action="/tickets/{tickets["late"]}/acknowledge"] '
                   "button").click()
    school.wait_for_url(f"{base}/tickets/{tickets['late']}*")
    assert "已签收" in school.locator(".acknowledgements").inner_text()
    assert "务必本月配齐器材" in school.locator("#instructions").inner_text()
    assert "请本周内配齐" in school.locator("#dealings").inner_text()
    shot(school, f"ticket-dealings-{name}")

    # A leader: the 包保 town with its rank and trend, and the 批示 with its reply.
    leader = signed_in(chromium, base, "leader_a", device)
    assert "甲镇" in leader.locator("#home-baobao").inner_text()
    assert "已督促学校采购" in leader.locator("#queue-given").inner_text()
    text = leader.locator("main").inner_text()
    assert text.index("我的包保单位") < text.index("红黄绿灯")
    shot(leader, f"home-leader-{name}")

    # A town: its own to-do, its schools' tickets read-only, its ledger and check list.
    town = signed_in(chromium, base, "town_a", device)
    assert tickets["schools"] in town.locator("#queue-schools").inner_text()
    assert town.locator("#queue-schools form").count() == 0
    assert town.locator("#home-town a", has_text="Excel").count() == 1
    shot(town, f"home-town-{name}")
    town.goto("/checks")
    assert town.locator("table.checks tbody tr").count() >= 1
    town.goto(f"/tickets/{tickets['schools']}")
    assert "您没有可执行的操作" in town.locator("#actions").inner_text()

    # Nothing is wider than the screen.
    for page in (office, school, leader, town):
        page.goto("/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= device["viewport"]["width"], (page.url, width)
