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
    page.locator("form.filters input.picker-search").fill("甲镇中心")
    assert page.locator("select[name=unit]").evaluate(VISIBLE) == ["甲镇中心小学"]
