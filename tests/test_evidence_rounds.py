"""Evidence that can be trusted (#11): kept round by round on the ticket page, the current
rectification's photos told apart from failed ones, 整改前 photos added by the unit from the
page and the API, doubtful photos (EXIF time before the finding, GPS far from the school)
flagged on the page, in the 复查 form and in the record but never refused, and schools located
on the directory page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.application import SYSTEM
from tests.conftest import assign_to_school_a, open_at_school_a
from tests.test_api import token_for
from tests.web_client import Browser, jpeg_photo, page

SCHOOL = (35.65, 117.27)                 # where 甲镇中心小学 is said to be
FAR = (35.75, 117.27)                    # 11.1 km north of it
EARLY = "2026:10:27 10:00:00"            # before the finding (2026-11-02)


def stored(web, name: str, **exif) -> dict:
    """A real JPEG put into the web's evidence store, as a form upload would."""
    return web.state.config.evidence.store(jpeg_photo(**exif), name).as_dict()


def rounds_of(browser: Browser, number: str) -> list[tuple[str, list[str]]]:
    """Each round's title and the names of its files, as the ticket page shows them."""
    return [(r.select_one("h3").contents[0].strip(),
             [i["alt"] for i in r.select(".files img")])
            for r in page(browser.get(f"/tickets/{number}")).select("#evidence .round")]


def test_each_round_is_kept_and_the_current_one_is_told_apart(web_app):
    web, app = web_app
    number = open_at_school_a(app, evidence=[stored(web, "发现.jpg", size=(40, 30))])
    assign_to_school_a(app, number)
    app.check_progress(number, "insp", note="周检查：正在分班",
                       evidence=[stored(web, "检查.jpg", size=(41, 30))])
    app.rectify(number, "school_a", measures="分班", evidence=[stored(web, "整改1.jpg", size=(42, 30))])
    app.reinspect(number, "insp", passed=False, findings="仍超员",
                  evidence=[stored(web, "复查1.jpg", size=(43, 30))])
    app.rectify(number, "school_a", measures="再分班", evidence=[stored(web, "整改2.jpg", size=(44, 30))])
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    app.reopen(number, "insp", findings="月回查发现反弹")
    app.rectify(number, "school_a", measures="三次分班",
                evidence=[stored(web, "整改3.jpg", size=(45, 30))])
    office = Browser(web, "office")
    assert rounds_of(office, number) == [
        ("整改前照片", ["发现.jpg"]),
        ("检查进度", ["检查.jpg"]),
        ("第1次整改（复查未通过，已退回）", ["整改1.jpg", "复查1.jpg"]),
        ("第2次整改（回查发现问题，已重新整改）", ["整改2.jpg"]),
        ("当前整改照片（第3次整改，待复查）", ["整改3.jpg"]),
    ]
    ticket_page = page(office.get(f"/tickets/{number}"))
    assert ticket_page.select_one(".round.current h3").text.startswith("当前整改照片")
    assert len(ticket_page.select(".round.ended")) == 2
    for img in ticket_page.select("#evidence .files img"):     # every round's photos are served
        assert office.get(img["src"]).headers["content-type"] == "image/jpeg", img["alt"]
    # A file no round of this ticket holds is not served through it.
    other = open_at_school_a(app)
    first_photo = ticket_page.select_one("#evidence img")["src"].split("/")[-2]
    assert office.get(f"/tickets/{other}/evidence/{first_photo}").status_code == 404


def test_the_closed_ticket_shows_its_fix_and_its_recheck_photos(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="分班", evidence=[stored(web, "整改.jpg")])
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    app.hold(number, "insp", note="巩固良好", evidence=[stored(web, "回查.jpg", size=(50, 40))])
    assert rounds_of(Browser(web, "school_a"), number) == [
        ("整改前照片", []),
        ("当前整改照片（第1次整改，已销号）", ["整改.jpg"]),
        ("回查巩固", ["回查.jpg"]),
    ]


def test_a_unit_adds_photos_of_the_problem_from_the_page(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    school = Browser(web, "school_a")
    form = page(school.get(f"/tickets/{number}")).select_one(
        f"form[action='/tickets/{number}/add_evidence']")
    assert form["enctype"] == "multipart/form-data"
    assert form.select_one("input[type=file][name=evidence]")
    # None chosen: refused in Chinese, nothing recorded.
    refused = school.post(f"/tickets/{number}/add_evidence", {"note": "补拍"})
    assert refused.status_code == 400
    assert "请选择" in page(refused).select_one(".error").text
    assert app.ticket(number)["evidence_before"] == []
    done = school.post(f"/tickets/{number}/add_evidence", {"note": "补拍两处"}, htmx=True, files=[
        ("evidence", ("教室全景.jpg", jpeg_photo((60, 40)), "image/jpeg")),
        ("evidence", ("门牌.jpg", jpeg_photo((61, 40)), "image/jpeg"))])
    assert done.status_code == 200
    assert "已补充整改前照片" in done.text
    before = page(done).select_one("#evidence .round-before")
    assert [i["alt"] for i in before.select("img")] == ["教室全景.jpg", "门牌.jpg"]
    assert "补拍两处" in before.text
    assert "补充整改前照片 2 份：补拍两处" in [s.text for s in page(done).select(".timeline .summary")]


def test_a_unit_adds_photos_of_the_problem_through_the_api(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    api, school = TestClient(web), token_for(web, "school_a")
    upload = api.post("/api/v1/evidence", headers=school,
                      files={"file": ("走廊.jpg", jpeg_photo(taken_at=EARLY), "image/jpeg")})
    assert upload.status_code == 201, upload.text
    assert upload.json()["taken_at"] == "2026-10-27 10:00:00"    # measured, not claimed
    response = api.post(f"/api/v1/tickets/{number}/add_evidence", headers=school,
                        json={"evidence": [upload.json()["ref"]], "note": "补拍"})
    assert response.status_code == 200, response.text
    assert [e["name"] for e in response.json()["evidence_before"]] == ["走廊.jpg"]
    # A before photo may well be older than the finding: only a fix's photos are doubted.
    assert app.ticket_history(number)[-1]["details"]["evidence"][0]["taken_at"] == \
        "2026-10-27 10:00:00"
    empty = api.post(f"/api/v1/tickets/{number}/add_evidence", headers=school, json={"evidence": []})
    assert empty.status_code == 400 and "请选择" in empty.json()["detail"]


def test_doubtful_photos_are_flagged_on_the_page_and_in_the_record_not_refused(web_app, clock):
    web, app = web_app
    app.locate_unit(SYSTEM, code="TA-P01", latitude=SCHOOL[0], longitude=SCHOOL[1])
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    school = Browser(web, "school_a")
    school.get(f"/tickets/{number}")
    response = school.post(f"/tickets/{number}/rectify", {"measures": "分班"}, files=[
        ("evidence", ("早拍.jpg", jpeg_photo(taken_at=EARLY), "image/jpeg")),
        ("evidence", ("远处.jpg", jpeg_photo((64, 48), taken_at="2026:11:02 15:00:00", gps=FAR),
                      "image/jpeg")),
        ("evidence", ("正常.jpg", jpeg_photo((65, 48), gps=SCHOOL), "image/jpeg"))])
    assert response.status_code == 303               # taken, not refused
    assert app.ticket(number)["state"] == "rectified"
    # The record: the flags with the rectification, and its line in the history.
    recorded = app.ticket_history(number)[-1]["details"]["flags"]
    assert [(f["name"], f["reason"][:4]) for f in recorded] == [("早拍.jpg", "拍摄时间"),
                                                                 ("远处.jpg", "拍摄地点")]
    inspector = Browser(web, "insp")
    ticket_page = page(inspector.get(f"/tickets/{number}"))
    notes = {li.img["alt"]: [s.text for s in li.select(".photo-flag")]
             for li in ticket_page.select(".round.current .files li")}
    assert notes["早拍.jpg"] == ["⚠ 拍摄时间 2026-10-27 10:00 早于发现问题的日期 2026-11-02"]
    assert notes["远处.jpg"] == ["⚠ 拍摄地点距学校约 11.1 公里，超过 1 公里"]
    assert notes["正常.jpg"] == []
    assert "⚠ 2 处存疑" in ticket_page.select_one(".round.current h3").text
    # The inspector sees the doubts where the verdict is given.
    verdict = ticket_page.select_one(f"form[action='/tickets/{number}/reinspect']")
    assert [li.text for li in verdict.select(".photo-flags li")] == [
        f"{f['name']}：{f['reason']}" for f in recorded]
    line = [s.text for s in ticket_page.select(".timeline .summary")][-1]
    assert line.startswith("分班（⚠ 照片存疑：早拍.jpg 拍摄时间") and "11.1 公里" in line
    # Next week's list offers 复查通过 on the row, so it says the doubts there too (#11).
    clock.advance(days=7)
    row = page(inspector.get("/checks")).select_one(f"#check-{number}")
    doubts = [s.text for s in row.select(".photo-flag")]
    assert len(doubts) == 2 and "早拍.jpg" in doubts[0] and "远处.jpg" in doubts[1]
    assert row.select_one(".photo-flag a")["href"] == f"/tickets/{number}#evidence"
    # A failed re-inspection keeps the doubts with the round they belong to.
    inspector.post(f"/tickets/{number}/reinspect", {"passed": "0", "findings": "照片存疑，重拍"})
    ticket_page = page(inspector.get(f"/tickets/{number}"))
    assert not ticket_page.select(".round.current")
    ended = ticket_page.select_one(".round.ended")
    assert ended.h3.text.startswith("第1次整改（复查未通过，已退回）")
    assert len(ended.select(".photo-flag")) == 2


def test_a_photo_sent_through_the_api_is_flagged_too(web_app):
    web, app = web_app
    app.locate_unit(SYSTEM, code="TA-P01", latitude=SCHOOL[0], longitude=SCHOOL[1])
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    api, school = TestClient(web), token_for(web, "school_a")
    upload = api.post("/api/v1/evidence", headers=school,
                      files={"file": ("远处.jpg", jpeg_photo(gps=FAR), "image/jpeg")}).json()
    assert upload["gps"] == [35.75, 117.27]
    response = api.post(f"/api/v1/tickets/{number}/rectify", headers=school,
                        json={"measures": "分班", "evidence": [upload["ref"]]})
    assert response.status_code == 200, response.text
    timeline = api.get(f"/api/v1/tickets/{number}", headers=school).json()["timeline"]
    assert "拍摄地点距学校约 11.1 公里" in timeline[-1]["summary"]


def test_no_flag_without_the_school_located(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="分班",
                evidence=[stored(web, "远处.jpg", gps=FAR, taken_at="2026:11:02 15:00:00")])
    assert app.ticket(number)["photo_flags"] == []
    assert not page(Browser(web, "insp").get(f"/tickets/{number}")).select(".photo-flag")


def test_the_office_locates_schools_on_the_directory_page(web_app):
    web, app = web_app
    office = Browser(web, "office")
    form = page(office.get("/directory")).select_one("form#locations")
    assert "1 公里" in form.text
    done = office.post("/directory/location", {"code": "TA-P01", "latitude": " 35.6521 ",
                                               "longitude": "117.2734"})
    assert done.status_code == 303 and done.headers["location"] == "/directory#locations"
    assert app.directory().units["TA-P01"]["location"] == [35.6521, 117.2734]
    listing = page(office.get("/directory"))
    assert "📍 35.6521, 117.2734" in listing.select_one(".tree").text
    # said beside the form the office used, far down the page, not in the top banner (#11)
    assert listing.select_one("form#locations .flash").text == "已录入学校位置（经纬度）"


def test_bad_coordinates_are_refused_in_chinese_and_change_nothing(web_app):
    web, app = web_app
    office = Browser(web, "office")
    office.get("/directory")
    cases = [
        ({"code": "TA-P01", "latitude": "", "longitude": "117.27"}, "请填写纬度"),
        ({"code": "TA-P01", "latitude": "北纬35度", "longitude": "117.27"}, "纬度应为十进制度数"),
        ({"code": "TA-P01", "latitude": "35.65", "longitude": "nan"}, "经度应为十进制度数"),
        ({"code": "TA-P01", "latitude": "117.27", "longitude": "35.65"}, "纬度须在 -90 到 90 之间"),
        ({"code": "NOPE", "latitude": "35.65", "longitude": "117.27"}, "未知的单位"),
    ]
    for form, message in cases:
        response = office.post("/directory/location", form)
        assert response.status_code in (400, 404), (form, response.status_code)
        assert message in page(response).text, (form, page(response).text[:300])
    assert "location" not in app.directory().units["TA-P01"]


def test_many_schools_are_located_from_a_pasted_list(web_app):
    web, app = web_app
    office = Browser(web, "office")
    office.get("/directory")
    # One line that cannot be read refuses the whole list.
    refused = office.post("/directory/locations", {"rows": "TA-P01,35.65,117.27\nTB-J01，35.70"})
    assert refused.status_code == 400 and "第2行应为 单位编码,纬度,经度 三项" in page(refused).text
    assert "location" not in app.directory().units["TA-P01"]
    pasted = "TA-P01\t35.65\t117.27\n\nTB-J01，35.70，117.31\nNOPE,35.1,117.1\n"
    done = office.post("/directory/locations", {"rows": pasted})
    assert done.status_code == 303
    assert app.directory().units["TA-P01"]["location"] == [35.65, 117.27]
    assert app.directory().units["TB-J01"]["location"] == [35.70, 117.31]
    notice = page(office.get(done.headers["location"])).select_one("form#locations-many .flash").text
    assert "已录入 2 个单位的位置" in notice and "第4行 NOPE：未知的单位" in notice


def test_the_unit_tree_in_the_api_says_where_schools_are(web_app):
    web, app = web_app
    app.locate_unit(SYSTEM, code="TA-P01", latitude=35.65, longitude=117.27)
    [county] = TestClient(web).get("/api/v1/directory/units", headers=token_for(web, "office")
                                   ).json()
    school = county["children"][1]["children"][0]
    assert (school["code"], school["latitude"], school["longitude"]) == ("TA-P01", 35.65, 117.27)


def test_a_photo_whose_exif_no_moment_could_have_is_kept_without_it(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    school = Browser(web, "school_a")
    school.get(f"/tickets/{number}")
    response = school.post(f"/tickets/{number}/add_evidence", {}, files=[
        ("evidence", ("旧相机.jpg", jpeg_photo(taken_at="0000:00:00 00:00:00"), "image/jpeg"))])
    assert response.status_code == 303
    [kept] = app.ticket(number)["evidence_before"]
    assert kept["name"] == "旧相机.jpg" and "taken_at" not in kept
