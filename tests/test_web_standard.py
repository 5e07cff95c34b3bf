"""达标评估 (#14): the office downloads the year's template, uploads it filled, and reads what was
taken; a bad workbook comes back with every problem and records nothing; the auditor reads."""

from __future__ import annotations

import hashlib
import io

from openpyxl import load_workbook

from domain.school_figures import FIGURES
from tests.test_figures_import import filled
from tests.test_school_figures import GOOD
from tests.web_client import Browser, page


def test_the_office_downloads_the_template_and_uploads_it_filled(web_app):
    web, app = web_app
    office = Browser(web, "office")
    template = office.get("/standard/template?year=2019")
    assert template.status_code == 200
    assert "filename*=UTF-8''2019-2020" in template.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(template.content))["学校数据"]
    assert sheet["A1"].value == "2019-2020学年学校办学条件数据" and sheet["A3"].value == "TA-P01"
    workbook = filled(app)
    done = office.post("/standard/import", {"year": "2019"},
                       files={"file": ("学校数据.xlsx", workbook, "application/octet-stream")})
    assert done.status_code == 303 and done.headers["location"] == "/standard?year=2019"
    doc = page(office.get("/standard?year=2019"))
    assert "已导入 2 行数据" in doc.text
    data = next(c for c in doc.select("section.card") if "已导入的数据" in c.h2.text)
    assert "甲镇中心小学" in data.table.text
    shortfalls = {li.text.split("·")[1].strip(): li for li in doc.select("#shortfalls li")}
    room = shortfalls["R4 生均教学及辅助用房面积：生均教学及辅助用房面积 3.9㎡，标准 4.5㎡，"
                      "差 0.6㎡ × 1,234 人 ≈ 740㎡；达标需要 教学及辅助用房面积 740.4㎡"]
    assert room.text.startswith("甲镇中心小学（小学）")
    number = room.a.text
    assert room.a["href"] == f"/tickets/{number}"
    ticket = page(office.get(f"/tickets/{number}"))
    assert "自查自评" in ticket.text and "甲镇中心小学生均教学及辅助用房面积未达标" in ticket.text
    assert doc.select_one("#verdict h2").text == "全县结论：未达标"
    failing = [li.text for li in doc.select("#evaluation ul.failing-schools li")]
    assert failing and all(f.startswith("乙镇中学（初中）：") for f in failing)
    assert "新登记问题" in doc.text
    history = doc.select_one("#history tbody tr")
    assert "导入 学校数据.xlsx" in history.text
    assert history.select_one("code")["title"] == hashlib.sha256(workbook).hexdigest()
    again = office.post("/standard/import", {"year": "2019"},
                        files={"file": ("学校数据.xlsx", workbook, "application/octet-stream")})
    assert again.status_code == 303
    assert "已导入过" in page(office.get("/standard?year=2019")).text
    assert len(app.school_figures(2019)["imports"]) == 1


def test_a_bad_workbook_comes_back_with_every_problem(web_app):
    web, app = web_app
    bad = filled(app, lambda s: (setattr(s["L3"], "value", "约三百"),
                                 setattr(s["A4"], "value", "XX-1")))
    response = Browser(web, "office").post(
        "/standard/import", {"year": "2019-2020"},
        files={"file": ("bad.xlsx", bad, "application/octet-stream")})
    assert response.status_code == 400
    problems = [li.text for li in page(response).select("#problems li")]
    assert problems == ["学校数据 第3行 L列（体育运动场馆面积）：应为数字，现为“约三百”",
                        "学校数据 第4行：未知的学校代码 XX-1"]
    assert app.school_figures(2019)["rows"] == {}
    not_excel = Browser(web, "office").post(
        "/standard/import", {"year": "2019"},
        files={"file": ("a.xlsx", b"PK no", "application/octet-stream")})
    assert not_excel.status_code == 400 and "无法读取该文件" in not_excel.text


def test_the_auditor_reads_and_may_not_import(web_app):
    web, app = web_app
    auditor = Browser(web, "audit")
    doc = page(auditor.get("/standard"))
    assert not doc.select("a[href^='/standard/template']")
    assert not doc.select("form[action^='/standard']")
    assert auditor.get("/standard/report").status_code == 200
    assert auditor.get("/standard/template").status_code == 403


def test_a_county_that_counts_the_cv_plain_says_so(tmp_path, clock):
    from fastapi.testclient import TestClient

    from tests.conftest import seed_small_county, settings_for
    from xiaohao import wiring

    settings = settings_for("sqlite", tmp_path, cv_weighting="plain")
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    web = wiring.web(settings, app=app, follow=False)
    with TestClient(web):
        office = Browser(web, "office")
        office.post("/standard/import", {"year": "2019"},
                    files={"file": ("x.xlsx", filled(app), "application/octet-stream")})
        assert "按本县设置不加权计算" in page(office.get("/standard?year=2019")).text
    app.close()


def _imported(web, app) -> Browser:
    office = Browser(web, "office")
    office.post("/standard/import", {"year": "2019"},
                files={"file": ("学校数据.xlsx", filled(app), "application/octet-stream")})
    return office


def test_the_office_marks_the_checklist_and_a_failing_item_opens_a_ticket(web_app):
    web, app = web_app
    office = _imported(web, app)
    bad = office.post("/standard/checklist", {"year": "2019", "item": "gov_special_ed_funding",
                                              "value": "很多"})
    assert bad.status_code == 400 and "数值应为数字" in page(bad).select_one("#problems").text
    row = page(bad).select_one("#item-gov_special_ed_funding")
    assert row.select_one("details").has_attr("open") and "数值应为数字" in row.text
    assert row.select_one("input[name=value]")["value"] == "很多"   # what was typed stays
    done = office.post("/standard/checklist", {
        "year": "2019", "item": "gov_special_ed_funding", "value": "5200",
        "evidence": "2019年教育经费决算表", "note": "特教学校1所"})
    assert done.status_code == 303 and done.headers["location"].endswith("#checklist")
    doc = page(office.get("/standard?year=2019"))
    row = doc.select_one("#item-gov_special_ed_funding")
    assert "未达标（5,200元）" in row.text and "2019年教育经费决算表" in row.text
    number = row.select_one("a[href^='/tickets/']").text
    ticket = page(office.get(f"/tickets/{number}"))
    assert "现为 5,200元，标准不低于 6,000元" in ticket.text
    timeline = ticket.select_one(".timeline, #timeline").text
    assert "经费保障" in timeline and "自查自评" in timeline and "funding" not in timeline
    assert doc.select_one("#judgements tbody tr td:nth-of-type(2)").text.startswith("评估项目")
    assert office.post("/standard/checklist", {"year": "2019", "item": "veto_key_schools",
                                               "mark": "maybe"}).status_code == 400


def test_a_corrected_value_is_shown_beside_the_national_one_and_the_old_verdict_stays(web_app):
    web, app = web_app
    office = _imported(web, app)
    refused = office.post("/standard/rules/correct", {"indicator": "res_teaching_aux_area",
                                                      "level": "primary", "value": "3.5"})
    assert refused.status_code == 400 and "请填写更正理由" in refused.text
    assert office.post("/standard/rules/correct", {
        "indicator": "res_teaching_aux_area", "level": "primary", "value": "3.5",
        "reason": "按省定标准", "source": "鲁教督字〔2017〕3号"}).status_code == 303
    assert "低于国家标准的要求" in office.get("/standard/rules").text       # warned
    rules = page(office.get("/standard/rules"))
    row = rules.select_one("#rule-res_teaching_aux_area")
    assert "小学≥ 4.5㎡/生；初中≥ 5.8㎡/生" in row.text and "小学≥ 3.5㎡/生；初中≥ 5.8㎡/生" in row.text
    assert "鲁教督字〔2017〕3号" in rules.select_one("#corrections").text
    history = page(office.get("/standard?year=2019")).select("#judgements tbody tr")
    assert len(history) == 2
    assert "1 项经更正" in history[0].text and "国家标准" in history[1].text
    assert office.post("/standard/rules/overlay", {"name": "shandong", "on": "1",
                                                   "reason": "按山东省标准"}).status_code == 303
    assert "已启用" in page(office.get("/standard/rules")).select_one("#overlays").text
    auditor = Browser(web, "audit")
    assert not page(auditor.get("/standard/rules")).select("form[action^='/standard/rules']")


def test_the_report_prints_on_a4_and_the_api_gives_the_same(web_app):
    web, app = web_app
    office = _imported(web, app)
    report = office.get("/standard/report?year=2019")
    assert "filename*=UTF-8''2019-2020" in report.headers["content-disposition"]
    book = load_workbook(io.BytesIO(report.content))
    assert book.sheetnames == ["结论", "未达标项", "各镇汇总", "差异系数", "评估项目"]
    short = book["未达标项"]
    assert short.print_title_rows == "$2:$2" and short.page_setup.orientation == "landscape"
    assert short["A1"].value.startswith("测试县义务教育优质均衡发展2019-2020学年自评报告")
    rows = list(short.iter_rows(min_row=3, values_only=True))
    cvs = list(book["差异系数"].iter_rows(min_row=3, values_only=True))
    assert len(cvs) == 14 and all(isinstance(c[3], float) for c in cvs)   # numbers, not text
    token = app.issue_api_token("audit", "测试")
    answer = office.client.get("/api/v1/standard?year=2019",
                               headers={"Authorization": f"Bearer {token}"}).json()
    assert answer["verdict"]["county"] == "unmet"
    assert [s["ticket"] for s in answer["shortfalls"]] == [r[7] for r in rows]
    assert answer["judgements"][0]["opened"] == len(rows)
    app.mark_item("office", 2019, "veto_key_schools", mark="met", note="=HYPERLINK(\"x\")")
    typed = load_workbook(io.BytesIO(office.get("/standard/report?year=2019").content))["评估项目"]
    note = next(c for c in typed["H"] if str(c.value).startswith("=HYPERLINK"))
    assert note.data_type == "s"                       # typed text stays text


def test_a_school_enters_its_own_figures(web_app):
    web, app = web_app
    school = Browser(web, "school_a")
    form = page(school.get("/standard/mine?year=2019"))
    assert form.select_one("h1").text.startswith("本校数据 甲镇中心小学")
    fields = {f.name: str(v) for f, v in zip(FIGURES, GOOD.values(), strict=True)}
    bad = school.post("/standard/mine", {"year": "2019", "part": "primary",
                                         **fields, "sports_area": "约三百"})
    assert bad.status_code == 400
    assert "本校填报（体育运动场馆面积）：应为数字，现为“约三百”" in page(bad).select_one("#problems").text
    assert page(bad).select_one("input[name=sports_area]")["value"] == "约三百"
    assert school.post("/standard/mine", {"year": "2019", "part": "primary",
                                          **fields}).status_code == 303
    doc = page(school.get("/standard/mine?year=2019"))
    mine = doc.select_one("#shortfalls").text
    assert "生均教学及辅助用房面积 3.9㎡" in mine and "达标需要 教学及辅助用房面积 740.4㎡" in mine
    assert "待创建办交办后可查看" in mine and not doc.select("#shortfalls a")   # not assigned yet
    assert page(bad).select_one("input[name=enrolment]")["value"] == "1234"
    assert app.school_figures(2019)["rows"][("TA-P01", "primary")]["enrolment"] == 1234
    town = Browser(web, "office")
    assert town.get("/standard/mine").status_code == 403


def test_a_leader_reads_the_report_and_follows_only_the_tickets_it_may_see(web_app):
    web, app = web_app
    _imported(web, app)
    leader = Browser(web, "leader_a")                   # 包保 甲镇
    doc = page(leader.get("/standard?year=2019"))
    assert doc.select_one("header nav a[href='/standard']")
    assert not doc.select("form[action^='/standard']")
    items = {li.text.split("·")[0].strip(): li for li in doc.select("#shortfalls li")}
    assert next(li for k, li in items.items() if k.startswith("甲镇中心小学")).a
    assert not next(li for k, li in items.items() if k.startswith("乙镇中学")).a
