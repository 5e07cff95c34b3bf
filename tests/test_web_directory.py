"""组织机构: the office keeps accounts; the auditor reads; nobody else comes in."""

from __future__ import annotations

import pytest

from domain.errors import NotPermittedError
from tests.web_client import Browser, page


def test_the_office_opens_disables_and_resets_accounts(web_app):
    web, app = web_app
    office = Browser(web, "office")
    listing = page(office.get("/directory"))
    assert "甲镇中心小学" in listing.select_one(".tree").text
    assert "陈领导" in listing.text          # the 包保 map names the leader
    response = office.post("/directory/accounts", {
        "login": "school_a2", "name": "甲镇中心小学（教务）", "role": "unit", "unit_id": "TA-P01",
        "password": "first-password"})
    assert response.status_code == 303
    newcomer = Browser(web, "school_a2", "first-password")
    assert newcomer.get("/").status_code == 200
    disabled = office.post("/directory/accounts/school_a2/disable", {"reason": "调离"})
    assert disabled.status_code == 303
    assert disabled.headers["location"] == "/directory#account-school_a2"     # its row (#11)
    assert newcomer.client.get("/", follow_redirects=False).status_code == 303
    row = page(office.get("/directory")).select_one("#account-school_a2")
    assert "已停用" in row.text and row.select_one(".flash").text == "账号 school_a2 已停用"
    assert office.post("/directory/accounts/school_a2/enable").status_code == 303
    assert office.post("/directory/accounts/school_a2/password",
                       {"password": "second-password"}).status_code == 303
    assert app.log_in("school_a2", "second-password")["login"] == "school_a2"


def test_bad_account_input_is_refused_in_chinese_and_changes_nothing(web_app):
    web, app = web_app
    office = Browser(web, "office")
    response = office.post("/directory/accounts", {"login": "x", "name": "太短", "role": "unit",
                                                   "password": "long-enough"})
    assert response.status_code == 400
    assert "登录名" in page(response).select_one(".error").text
    duplicate = office.post("/directory/accounts", {"login": "insp", "name": "重复", "role":
                                                    "inspector", "password": "long-enough"})
    assert duplicate.status_code == 409
    with pytest.raises(NotPermittedError):
        app.log_in("x", "long-enough")


def test_the_auditor_reads_sign_ins_but_changes_nothing(web_app):
    web, app = web_app
    auditor = Browser(web, "audit")
    listing = page(auditor.get("/directory"))
    assert not listing.select("form[action^='/directory/accounts']")
    assert [td.text for td in listing.select("table")[-1].select("tbody tr td:nth-of-type(2)")][0] \
        == "audit"
    assert auditor.post("/directory/accounts/insp/disable", {"reason": "x"}).status_code == 403
    assert Browser(web, "school_a").get("/directory").status_code == 403


def test_the_accounts_table_names_each_locked_source(web_app):
    # #12: a lock binds one source; the office sees which, and that others still sign in.
    web, app = web_app
    for _ in range(5):
        with pytest.raises(NotPermittedError):
            app.log_in("insp", "wrong-password", source="203.0.113.5")
    row = page(Browser(web, "office").get("/directory")).select_one("#account-insp")
    assert "对 203.0.113.5 锁定至" in row.text and "其他地址仍可登录" in row.text
    assert "锁定" not in page(Browser(web, "office").get("/directory")).select_one(
        "#account-school_a").text


def test_the_office_keeps_units_people_heads_and_baobao(web_app, clock):
    from datetime import date

    web, app = web_app
    office = Browser(web, "office")
    steps = [
        ("unit", {"code": "TA-P02", "name": "甲镇第二小学", "kind": "school", "parent": "TA",
                  "level": "primary"}),
        ("person", {"person_id": "HA2", "name": "甲二校长", "title": "校长", "unit_id": "TA-P02"}),
        ("head", {"unit_id": "TA-P02", "person_id": "HA2", "on": "2026-11-02"}),
        ("baobao-end", {"leader_id": "L1", "unit_id": "TA", "on": "2026-11-10"}),
        ("baobao", {"leader_id": "L2", "unit_id": "TA", "on": "2026-11-10"}),
    ]
    for what, data in steps:
        response = office.post(f"/directory/{what}", data)
        assert response.status_code == 303, (what, response.text[:300])
        at = response.headers["location"].split("#")[1]          # back at its form (#11)
        assert page(office.get("/directory")).select_one(f"form#{at} .flash"), what
    assert app.directory().town_of("TA-P02") == "TA"
    assert app.responsible_on("TA-P02", date(2026, 11, 3))["head"] == "HA2"
    assert app.directory().baobao_scope("L2", date(2026, 11, 10)) >= {"TA", "TA-P02"}
    assert "TA" in app.directory().baobao_scope("L1", date(2026, 11, 9))   # history kept
    bad = office.post("/directory/head", {"unit_id": "TA-P02", "person_id": "HA2", "on": "昨天"})
    assert bad.status_code == 400 and "日期" in page(bad).select_one(".error").text
    unknown = office.post("/directory/unit", {"code": "X1", "name": "无上级", "kind": "school",
                                              "parent": "NOPE"})
    assert unknown.status_code in (400, 404)
