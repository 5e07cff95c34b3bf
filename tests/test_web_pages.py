"""The pages in-process: each one drawn for the right people, read with an HTML parser."""

from __future__ import annotations

from tests.conftest import assign_to_school_a, open_at_school_a, tickets_at_both_schools
from tests.web_client import Browser, page


def test_signing_in_and_out(web_app):
    web, app = web_app
    anonymous = Browser(web)
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"
    office = Browser(web, "office")
    home = office.get("/")
    assert home.status_code == 200
    assert page(home).select_one("header .who span").text.startswith("office（创建办）")
    out = office.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert office.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_the_form_again_in_chinese(web_app):
    web, _ = web_app
    browser = Browser(web)
    form = browser.get("/login")
    token = page(form).select_one('input[name="csrf_token"]')["value"]
    response = browser.client.post("/login", data={"login": "office", "password": "nope-nope",
                                                   "csrf_token": token})
    assert response.status_code == 400
    assert page(response).select_one(".error").text == "账号或密码错误"


def test_the_dashboard_counts_lights_for_what_one_may_see(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    open_at_school_a(app, unit_id="TB-J01", title="乙镇中学问题")
    board = page(Browser(web, "office").get("/"))
    lights = {li["class"][0]: int(li.strong.text) for li in board.select(".lights li")}
    assert sum(lights.values()) == 1     # the one without a deadline shows no light (#11)
    assert "另有 1 项不亮灯" in board.select_one(".lights + .hint").text
    mine = {li["class"][0]: int(li.strong.text) for li in
            page(Browser(web, "school_a").get("/")).select(".lights li")}
    assert sum(mine.values()) == 1


def test_the_ticket_list_filters_and_returns_a_fragment_to_htmx(web_app):
    web, app = web_app
    first = open_at_school_a(app)
    open_at_school_a(app, title="音乐教室器材不足", category="功能教室")
    office = Browser(web, "office")
    full = page(office.get("/tickets?q=音乐教室"))
    numbers = [a.text for a in full.select("table.tickets tbody td a")]
    assert len(numbers) == 1 and numbers[0] != first
    fragment = office.get("/tickets?q=音乐教室", headers={"HX-Request": "true"})
    assert "HX-Request" in fragment.headers["vary"]
    assert page(fragment).select_one("header") is None        # the fragment alone
    assert len(page(fragment).select("table.tickets tbody tr")) == 1


def test_a_unit_sees_only_the_tickets_it_answers_for(web_app):
    web, app = web_app
    mine, other = tickets_at_both_schools(app)
    school_a = Browser(web, "school_a")
    listed = [a.text for a in page(school_a.get("/tickets")).select("table.tickets tbody td a")]
    assert listed == [mine]
    assert school_a.get(f"/tickets/{mine}").status_code == 200
    refused = school_a.get(f"/tickets/{other}")
    assert refused.status_code == 403
    assert "不在您的查看范围内" in page(refused).select_one(".error").text


def test_the_whole_life_of_a_ticket_through_forms(web_app, clock):
    web, app = web_app
    inspector, office, school = Browser(web, "insp"), Browser(web, "office"), Browser(web, "school_a")
    # The inspector logs a finding with a photo.
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 200
    response = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "厕所蹲位不足", "description": "男厕少 4 个蹲位",
        "category": "校舍用房", "severity": "一般", "source": "周检查", "indicator_id": ""},
        files=[("evidence", ("../../现场.jpg", jpeg, "image/jpeg"))])
    assert response.status_code == 303, response.text
    number = response.headers["location"].rsplit("/", 1)[1]
    detail = page(office.get(f"/tickets/{number}"))
    assert detail.select_one(".files small").text.startswith("现场.jpg")
    # The office assigns; the school rectifies; the inspector passes it; the office closes.
    steps = [
        (office, "assign", {"lead_unit_id": "TA-P01", "person_id": "HA", "deadline": "2026-11-20"}),
        (school, "rectify", {"measures": "新建蹲位 4 个"}),
        (inspector, "reinspect", {"passed": "1", "findings": "已整改到位"}),
        (office, "close", {"note": "同意销号"}),
    ]
    for browser, command, data in steps:
        version = page(browser.get(f"/tickets/{number}")).select_one(
            f'form[action$="/{command}"] input[name="expected_version"]')["value"]
        response = browser.post(f"/tickets/{number}/{command}", data | {"expected_version": version})
        assert response.status_code == 303, (command, response.text)
    assert app.ticket(number)["state"] == "closed"
    timeline = [li.strong.text for li in page(office.get(f"/tickets/{number}")).select(".timeline li")]
    assert timeline == ["登记问题", "交办", "提交整改", "复查", "销号"]


def test_the_weekly_check_list_is_actionable_in_place(web_app, clock):
    web, app = web_app
    waiting = open_at_school_a(app)
    assign_to_school_a(app, waiting)
    done = open_at_school_a(app, title="已整改的问题")
    assign_to_school_a(app, done)
    clock.advance(days=7)                     # next Monday: both are on the list
    app.rectify(done, "school_a", measures="已分班")
    inspector = Browser(web, "insp")
    week = "2026-W46"
    rows = page(inspector.get(f"/checks?week={week}")).select("table.checks tbody tr")
    assert [r["id"] for r in rows] == [f"check-{waiting}", f"check-{done}"]
    # A visit recorded through htmx redraws the row alone.
    response = inspector.post(f"/checks/{week}/{waiting}", {"result": "visit", "note": "进度正常"},
                              htmx=True)
    assert response.status_code == 200
    assert page(response).select_one("tr")["id"] == f"check-{waiting}"
    # A re-inspection as a plain form: back to the list, where both now count as checked.
    response = inspector.post(f"/checks/{week}/{done}", {"result": "pass", "note": "到位"})
    assert response.status_code == 303
    assert app.ticket(done)["state"] == "verified"
    listing = page(inspector.get(f"/checks?week={week}"))
    assert listing.select_one("#checked-count").text == "2"
    # A school may not see the list; a leader of another town sees none of it.
    assert Browser(web, "school_a").get(f"/checks?week={week}").status_code == 403
    assert not page(Browser(web, "leader_b").get(f"/checks?week={week}")).select(
        "table.checks tbody tr")


def test_the_monthly_recheck_list_names_last_months_closed_tickets(web_app, clock):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="已整改")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    clock.advance(days=30)                    # December: November's closings come back
    office = Browser(web, "office")
    rows = page(office.get("/rechecks?month=2026-12")).select("table.rechecks tbody tr")
    assert [r.td.text for r in rows] == [number]
    response = office.post(f"/tickets/{number}/reopen", {"findings": "回查发现反弹"})
    assert response.status_code == 303 and app.ticket(number)["state"] == "assigned"
    assert office.get("/rechecks?month=2026-13").status_code == 400


def test_photos_get_thumbnails_and_show_when_and_where_they_were_taken(web_app):
    import io

    from PIL import Image

    from tests.web_client import jpeg_photo

    web, app = web_app
    inspector = Browser(web, "insp")
    photo = jpeg_photo((1600, 1200), taken_at="2026:11:02 08:41:07", gps=(35.664, 117.251))
    response = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "教室照明不足", "category": "功能教室", "severity": "一般",
        "source": "周检查"}, files=[("evidence", ("classroom.jpg", photo, "image/jpeg")),
                                   ("evidence", ("report.pdf", b"%PDF-1.4 test", "application/pdf"))])
    number = response.headers["location"].rsplit("/", 1)[1]
    detail = page(inspector.get(f"/tickets/{number}"))
    image = detail.select_one(".files img")
    small = inspector.get(image["src"])
    assert small.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(small.content)).size) == 320
    facts = [s.text for s in detail.select(".files .exif")]
    assert facts == ["拍摄于 2026-11-02 08:41:07", "GPS 35.66400, 117.25100"]
    pdf_link = detail.select(".files li")[1].a
    assert pdf_link.text == "report.pdf" and not detail.select(".files li")[1].img
    assert inspector.get(pdf_link["href"] + "/thumb").status_code == 404


def test_the_office_assigns_several_tickets_at_once(web_app):
    web, app = web_app
    first, second = open_at_school_a(app), open_at_school_a(app, unit_id="TB-J01")
    done = open_at_school_a(app)
    assign_to_school_a(app, done)
    office = Browser(web, "office")
    listing = page(office.get("/tickets"))
    boxes = {b["value"] for b in listing.select('input[name="numbers"][form="bulk-assign"]')}
    assert boxes == {first, second}                      # only tickets waiting to be assigned
    response = office.client.post("/tickets/bulk-assign", data={
        "csrf_token": office.token, "numbers": [first, second, done], "deadline": "2026-11-25"},
        follow_redirects=False)
    assert response.status_code == 303
    assert app.ticket(first)["lead_unit_id"] == "TA-P01"     # each to where its problem is
    assert app.ticket(second)["lead_unit_id"] == "TB-J01"
    assert response.headers["location"] == "/tickets?state=opened#bulk-assign"
    notice = page(office.get("/tickets?state=opened")).select_one("#bulk-assign .flash").text
    assert notice.startswith("已交办 2 项；未能交办 1 项：" + done)
    assert not page(Browser(web, "insp").get("/tickets")).select('input[name="numbers"]')


def test_a_stopped_projection_neither_slows_pages_nor_marks_them_behind(web_app):
    # #4 review: one projection stopped by an error made every request wait for the lock.
    from tests.test_projections import insert_raw

    web, app = web_app
    reads = web.state.reads
    insert_raw(app, "domain.ticket:Ticket.FromTheFuture", b"{}")
    office = Browser(web, "office")
    assert not page(office.get("/")).select(".notice")
    assert [s.name for s in reads.models.status() if s.error] == ["dealings", "tickets", "timeline", "weekly"]
    assert reads._seen == app.recorder.max_notification_id() and reads.catch_up() is False


def test_the_timeline_reads_names_not_codes(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    lines = [s.text for s in page(Browser(web, "office").get(f"/tickets/{number}")).select(
        ".timeline .summary")]
    assert lines[1] == "牵头单位 甲镇中心小学，配合单位 甲镇，完成时限 2026-11-30"


def test_an_iphone_heic_photo_gets_a_thumbnail(web_app):
    import io

    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 160, 60)).save(out, format="HEIF")
    web, app = web_app
    inspector = Browser(web, "insp")
    response = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "宿舍床铺不足", "category": "校舍用房", "severity": "一般",
        "source": "周检查"}, files=[("evidence", ("IMG_0001.HEIC", out.getvalue(), "image/heic"))])
    number = response.headers["location"].rsplit("/", 1)[1]
    image = page(inspector.get(f"/tickets/{number}")).select_one(".files img")
    small = inspector.get(image["src"])
    assert small.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(small.content)).size == (320, 240)


def test_pages_say_so_while_the_read_models_catch_up(web_app, monkeypatch):
    from web import readside

    web, app = web_app
    office = Browser(web, "office")
    assert not page(office.get("/")).select(".notice")
    monkeypatch.setattr(readside, "FRESH_LIMIT", 3)    # as if a long rebuild were running
    for i in range(3):
        open_at_school_a(app, title=f"第 {i} 个问题")
    notice = page(office.get("/tickets")).select_one(".notice")
    assert notice is not None and "追赶中" in notice.text
    web.state.reads.follow_once()                          # the follower gets there
    assert not page(office.get("/tickets")).select(".notice")
