"""达标评估 (#14): the office downloads the year's template, uploads it filled, and reads what was
taken; a bad workbook comes back with every problem and records nothing; the auditor reads."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.test_figures_import import filled
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
    assert "甲镇中心小学" in doc.select_one("#evaluation + section table").text
    shortfalls = [li.text for li in doc.select("#evaluation ol.shortfalls li")]
    assert "甲镇中心小学（小学）：生均教学及辅助用房面积 3.9㎡，标准 4.5㎡，差 0.6㎡ × 1,234 人 ≈ 740㎡" \
        in shortfalls
    assert "未达标" in doc.select_one("#evaluation h2").text
    failing = [li.text for li in doc.select("#evaluation ul.failing-schools li")]
    assert failing and all(f.startswith("乙镇中学（初中）：") for f in failing)
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
    assert "下载" not in doc.text and not doc.select("form[action='/standard/import']")
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
