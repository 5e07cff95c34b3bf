"""Accessibility (#15; GB/T 37668 holds government sites to it): axe-core, run in the real
browser, finds no serious or critical violation on each role's main pages, on a desktop and on
a 390-px phone."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import assign_to_school_a, open_at_school_a
from tests.test_browser import DESKTOP, PHONE, signed_in

pytestmark = pytest.mark.slow
SERIOUS = {"serious", "critical"}
PAGES = {"office": ["/", "/tickets", "/tickets/{n}", "/checks", "/bulletins", "/standard",
                    "/ledger", "/directory"],
         "school_a": ["/", "/tickets", "/tickets/{n}", "/standard/mine"],
         "leader_a": ["/", "/tickets", "/standard"]}


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_serious_accessibility_violation_on_each_roles_main_pages(live_server, chromium,
                                                                       device):
    base, app, _ = live_server
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    axe = Axe()
    found = {}
    for login, urls in PAGES.items():
        page = signed_in(chromium, base, login, device)
        for url in urls:
            page.goto(url.format(n=number))
            result = axe.run(page)
            bad = [(v["id"], v["impact"], len(v["nodes"]))
                   for v in result.response["violations"] if v["impact"] in SERIOUS]
            if bad:
                found[(login, url)] = bad
    assert not found, found
