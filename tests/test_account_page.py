"""我的账号 (#11): who one is, and how one is told — 即时通知 or 每日汇总, chosen by the person
themself; an account with no person of the directory is told so, and changes nothing."""

from __future__ import annotations

from tests.web_client import Browser, page


def test_a_head_chooses_a_daily_digest_for_themself(web_app):
    web, app = web_app
    school = Browser(web, "school_a")
    shown = page(school.get("/account"))
    assert "甲校长" in shown.select_one("#notify").get_text()
    assert shown.select_one("input[name=mode][value=immediate]").has_attr("checked")
    answer = school.post("/account/notify", {"mode": "daily"})
    assert answer.status_code == 303 and answer.headers["location"] == "/account#notify"
    assert app.directory().people["HA"]["notify"] == "daily"
    shown = page(school.get("/account"))
    # Said beside the form the page lands at, not at the top of a phone's long page (#11)
    assert "通知方式已改为：每日汇总" in shown.select_one("#notify [data-feedback]").get_text()
    assert shown.select_one("input[name=mode][value=daily]").has_attr("checked")


def test_a_mode_that_is_not_one_is_refused_in_chinese_and_changes_nothing(web_app):
    web, app = web_app
    answer = Browser(web, "leader_a").post("/account/notify", {"mode": "weekly"})
    assert answer.status_code == 400 and "通知方式只能是" in page(answer).get_text()
    assert app.directory().people["L1"].get("notify") is None


def test_an_account_without_a_person_is_told_it_receives_nothing(web_app):
    web, app = web_app
    office = Browser(web, "office")
    assert "未关联组织机构中的人员" in page(office.get("/account")).get_text()
    answer = office.post("/account/notify", {"mode": "daily"})
    assert answer.status_code == 400 and "未关联人员" in page(answer).get_text()
