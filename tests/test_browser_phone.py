"""Every role's main pages in a real browser at 390 × 844 (a phone) and 1366 × 900 (#15 §3):
no sideways scrolling of the page (an emulated phone widens its layout when a page is too wide,
so `scrollWidth` is what tells), every row's action (a button, a form's summary) inside the
screen, not pushed off its right edge; and axe-core (GB/T 37668 holds government sites to
accessibility) finds no serious or critical violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from domain.application import SYSTEM
from domain.periods import iso_week
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import PASSWORD, START, assign_to_school_a, issue_signed, open_at_school_a
from tests.test_browser import PHONE, signed_in

pytestmark = pytest.mark.slow
SERIOUS = {"serious", "critical"}
WIDE = {"viewport": {"width": 1366, "height": 900}}
PAGES = {
    "office": ["/", "/queues", "/tickets", "/tickets/{n}", "/tickets/{n}/file",
               "/tickets/{n}/supervise", "/tickets/new", "/checks", "/rechecks", "/bulletins",
               "/bulletins/{week}", "/outbox", "/ledger", "/directory", "/standard",
               "/standard/rules", "/audit", "/tokens", "/account"],
    "insp": ["/", "/tickets", "/tickets/{n}", "/checks", "/rechecks", "/bulletins/{week}",
             "/standard"],
    "school_a": ["/", "/tickets", "/tickets/{n}", "/bulletins/{week}", "/standard/mine",
                 "/ledger"],
    "town_a": ["/", "/tickets", "/tickets/{n}", "/bulletins/{week}", "/ledger"],
    "leader_a": ["/", "/tickets", "/tickets/{n}", "/bulletins/{week}", "/standard"],
    "audit": ["/", "/tickets", "/outbox", "/audit", "/bulletins", "/bulletins/{week}"],
}
# Each row's actions that lie beyond the screen's right edge or have no size at all.
OFF_SCREEN = """(width) => [...document.querySelectorAll('tbody tr')]
    .flatMap(row => [...row.querySelectorAll('button, summary, input[type=submit]')])
    .filter(a => a.offsetParent !== null)
    .filter(a => { const r = a.getBoundingClientRect(); return r.right > width || !r.width; })
    .map(a => a.textContent.trim() || a.outerHTML.slice(0, 60))"""


@pytest.fixture
def county(live_server):
    """Work on every page: an overdue ticket with a photo's worth of steps, the week's check
    list and the signed bulletin, a town's account."""
    base, app, tmp_path = live_server
    number = open_at_school_a(app, title="教学楼外墙瓷砖脱落，存在安全隐患，需尽快维修加固")
    assign_to_school_a(app, number)
    other = open_at_school_a(app, title="图书室藏书不足")
    app.assign(other, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=1))
    app.register_account(SYSTEM, login="town_a", name="甲镇", roles=["unit"], unit_id="TA",
                         password=PASSWORD)
    read = ReadModels(app, tmp_path / "cycle.sqlite3")
    issue(app, read, "checklist", iso_week(START), warn_days=3)
    app.clock.set(app.clock.now() + timedelta(days=4, hours=7))
    issue_signed(app, read, iso_week(START))
    return base, app, {"n": other, "week": iso_week(START)}


@pytest.mark.parametrize("device", [PHONE, WIDE], ids=["phone", "desktop"])
def test_each_roles_pages_fit_the_screen_reach_every_action_and_are_accessible(
        county, chromium, device):
    base, _, names = county
    width = device["viewport"]["width"]
    axe = Axe()
    wrong = {}
    for login, urls in PAGES.items():
        page = signed_in(chromium, base, login, device)
        for url in urls:
            answer = page.goto(url.format(**names))
            assert answer.ok, (login, url, answer.status)
            problems = []
            if (scrolled := page.evaluate("document.documentElement.scrollWidth")) > width:
                problems.append(f"page {scrolled} px wide")
            if off := page.evaluate(OFF_SCREEN, width):
                problems.append(f"actions off screen: {off[:3]}")
            problems += [f"axe {v['id']} ({v['impact']}) × {len(v['nodes'])}"
                         for v in axe.run(page).response["violations"] if v["impact"] in SERIOUS]
            if problems:
                wrong[(login, url)] = problems
        page.context.close()
    assert not wrong, "\n".join(f"{login} {url}: {'; '.join(p)}"
                                 for (login, url), p in wrong.items())
