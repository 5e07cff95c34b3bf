"""Finding things (#15 §4): the list is searched by a school's or a town's name as well as by
the ticket's words; 我登记的 and 我负责的; newest first; the unit filter is a picker grouped by
town, and a person picker carries each person's unit so the page can narrow it."""

from __future__ import annotations

from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser, page


def numbers(browser: Browser, query: str) -> list[str]:
    return [a.text for a in page(browser.get(f"/tickets?{query}")).select("table.tickets td a")
            if a.text.startswith("SS-")]


def test_search_finds_a_schools_and_a_towns_tickets_by_name(web_app):
    web, app = web_app
    mine = open_at_school_a(app, title="操场跑道破损")
    other = open_at_school_a(app, unit_id="TB-J01", title="围墙开裂")
    office = Browser(web, "office")
    assert numbers(office, "q=甲镇中心小学") == [mine]
    assert numbers(office, "q=乙镇") == [other]                # a town's name
    assert numbers(office, "q=跑道") == [mine]                 # a ticket's words, as before
    assert set(numbers(office, "q=甲镇")) == {mine}            # 甲镇 and its school
    token = app.issue_api_token("office", "测试")
    found = office.client.get("/api/v1/tickets?q=乙镇中学",
                              headers={"Authorization": f"Bearer {token}"}).json()
    assert [t["number"] for t in found["items"]] == [other]


def test_mine_and_newest_first(web_app, clock):
    from datetime import timedelta

    web, app = web_app
    first = open_at_school_a(app, title="第一个")
    clock.set(clock.now() + timedelta(hours=1))
    second = app.open_ticket("office", title="第二个", description="", unit_id="TA-P01",
                             category="大班额", severity="一般", source="周检查")
    assign_to_school_a(app, first)
    inspector, school = Browser(web, "insp"), Browser(web, "school_a")
    assert numbers(inspector, "mine=opened") == [first]                 # 我登记的
    assert numbers(school, "mine=responsible") == [first]               # 我负责的
    assert numbers(Browser(web, "office"), "sort=newest") == [second, first]
    form = page(inspector.get("/tickets")).select_one("select[name=mine]")
    assert [o.text for o in form.select("option")] == ["全部", "我登记的"]
    refused = Browser(web, "leader_a").get("/tickets?mine=opened")
    assert refused.status_code == 400 and "“我的”可选" in refused.text


def test_pickers_are_grouped_by_town_and_people_carry_their_unit(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    unit = page(office.get("/tickets")).select_one("select[name=unit]")
    assert unit.has_attr("data-search")
    groups = {g["label"]: [o.text for o in g.select("option")] for g in unit.select("optgroup")}
    assert groups["甲镇"] == ["甲镇", "甲镇中心小学"] and groups["乙镇"] == ["乙镇", "乙镇中学"]
    assert "县教育体育局" in groups["县直部门及县属学校"]
    ticket = page(office.get(f"/tickets/{number}"))
    person = ticket.select_one("select[name=person_id]")
    assert person["data-narrow-by"] == "lead_unit_id"
    assert person.select_one("option[value=HA]")["data-unit"] == "TA-P01"
