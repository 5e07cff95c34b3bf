"""The web's defences: CSRF, session expiry, headers, escaping, uploads, stale versions."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner

from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser, page


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    response = office.post(f"/tickets/{number}/comment", {"text": "无令牌"}, csrf=False)
    assert response.status_code == 403
    assert "CSRF" in page(response).select_one(".error").text
    wrong = office.post(f"/tickets/{number}/comment", {"text": "错令牌", "csrf_token": "x"},
                        csrf=False)
    assert wrong.status_code == 403
    assert app.ticket(number)["version"] == 1


def test_htmx_sends_the_token_as_a_header(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    office.get("/")
    response = office.client.post(f"/tickets/{number}/comment", data={"text": "头部令牌"},
                                  headers={"HX-Request": "true", "X-CSRF-Token": office.token})
    assert response.status_code == 200
    assert page(response).select_one("article#ticket .flash").text == "已留言"   # redrawn
    assert not page(office.get("/")).select("#messages .flash")   # nothing left for later
    assert app.ticket(number)["version"] == 2


def test_the_login_form_itself_needs_its_token(web_app):
    web, _ = web_app
    browser = Browser(web)
    response = browser.client.post("/login", data={"login": "office", "password": "x" * 8})
    assert response.status_code == 403


def expired_cookie(web, session: dict, age_seconds: int) -> str:
    """A session cookie signed `age_seconds` ago with the app's own key."""
    import base64
    import json

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    secret = web.state.config.session_secret
    data = base64.b64encode(json.dumps(session).encode())
    return Then(secret).sign(data).decode()


def test_a_session_idle_longer_than_the_timeout_goes_back_to_login(web_app):
    web, app = web_app
    office = Browser(web, "office")
    office.get("/")
    stamp = app.session_stamp("office")
    for age, status in [(29 * 60, 200), (31 * 60, 303)]:
        browser = Browser(web)
        browser.client.cookies.set("xiaohao_session", expired_cookie(
            web, {"login": "office", "stamp": stamp, "csrf": "t"}, age))
        response = browser.client.get("/tickets", follow_redirects=False)
        assert response.status_code == status, age
    assert response.headers["location"] == "/login?next=%2Ftickets"


def test_changing_the_password_ends_other_sessions(web_app):
    web, app = web_app
    phone, desk = Browser(web, "insp"), Browser(web, "insp")
    response = desk.post("/password", {"current": "correct-horse", "new": "battery-staple",
                                       "again": "battery-staple"})
    assert response.status_code == 303
    assert desk.get("/").status_code == 200
    assert phone.client.get("/", follow_redirects=False).status_code == 303


def test_a_disabled_account_is_signed_out_at_its_next_request(web_app):
    web, app = web_app
    school = Browser(web, "school_a")
    app.disable_account("office", "school_a", "调离")
    assert school.client.get("/", follow_redirects=False).status_code == 303


def test_every_page_carries_the_security_headers(web_app):
    web, _ = web_app
    response = Browser(web).get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = Browser(web, "office").client.cookies.jar
    assert any(c.name == "xiaohao_session" for c in cookie)


def test_what_a_signed_in_user_is_answered_is_private_and_revalidated(web_app):
    # #12: pages, fragments, the API and exports said nothing of caching, so a shared cache
    # could keep them and a browser could show them again without asking.
    web, app = web_app
    office = Browser(web, "office")
    token = app.issue_api_token("office", "测试")
    answers = [office.get("/"), office.get("/tickets", headers={"HX-Request": "true"}),
               office.get("/ledger/export?format=csv"),
               office.client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}),
               office.client.get("/nowhere")]
    for response in answers:
        assert response.headers["cache-control"] == "private, no-cache", response.url
    assert "private" not in office.get("/static/app.css").headers.get("cache-control", "")


def test_no_page_has_inline_script(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    for url in ["/", "/tickets", f"/tickets/{number}", "/tickets/new", "/password"]:
        html = page(office.get(url))
        assert all(s.get("src") for s in html.select("script")), url
        assert not html.select("[style]") and not html.select("style"), url


def test_a_finding_with_script_renders_escaped(web_app):
    web, app = web_app
    number = open_at_school_a(app, title="<script>alert(1)</script>",
                              description="<img src=x onerror=alert(2)>")
    office = Browser(web, "office")
    for url in [f"/tickets/{number}", "/tickets"]:
        html = office.get(url)
        parsed = page(html)
        assert not [s for s in parsed.select("script") if not s.get("src")], url
        assert not parsed.select("img[onerror]"), url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text


@pytest.mark.parametrize("name, content, message", [
    ("photo.jpg", b"GIF89a" + b"\x00" * 100, "不是 jpg/png/webp/heic/pdf"),
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "不是 jpg/png/webp/heic/pdf"),
    ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (1024 * 1024 + 1), "超过 1 MB"),
    # #12: a right-to-left override makes "现场\u202egpj.exe" read as 现场exe.jpg.
    ("现场\u202egpj.exe", b"\xff\xd8\xff" + b"\x00" * 100, "不可见的控制字符"),
    ("现场\u2066.jpg", b"\xff\xd8\xff" + b"\x00" * 100, "不可见的控制字符"),
])
def test_a_bad_upload_is_refused_and_nothing_is_recorded(web_app, name, content, message):
    web, app = web_app
    web.state.config.evidence.limit_bytes = 2**20
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    school = Browser(web, "school_a")
    response = school.post(f"/tickets/{number}/rectify", {"measures": "已整改"},
                           files=[("evidence", (name, content, "image/jpeg"))])
    assert response.status_code == 400
    assert message in page(response).select_one(".error").text
    assert app.ticket(number)["state"] == "assigned"
    evidence = web.state.config.evidence.folder
    assert not evidence.exists() or not any(p.is_file() for p in evidence.rglob("*"))


def test_a_stale_version_answers_409_with_a_clear_message(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    app.comment(number, "insp", text="先到一步")
    response = office.post(f"/tickets/{number}/comment", {"text": "晚了", "expected_version": "1"})
    assert response.status_code == 409
    assert "已被他人修改" in page(response).select_one(".error").text
    htmx = office.post(f"/tickets/{number}/comment", {"text": "晚了", "expected_version": "1"},
                       htmx=True)
    assert htmx.status_code == 409      # said in the form just sent, drawn again (#11)
    assert "已被他人修改" in page(htmx).select_one("#act-comment .error").text


def test_evidence_is_served_only_to_those_who_may_see_the_ticket(web_app):
    web, app = web_app
    office, inspector = Browser(web, "office"), Browser(web, "insp")
    jpeg = b"\xff\xd8\xff\xe0" + b"\x01" * 64
    response = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "围墙破损", "category": "校舍用房", "severity": "一般",
        "source": "周检查"}, files=[("evidence", ("wall.jpg", jpeg, "image/jpeg"))])
    number = response.headers["location"].rsplit("/", 1)[1]
    assign_to_school_a(app, number)
    url = page(office.get(f"/tickets/{number}")).select_one(".files a")["href"]
    assert office.get(url).content == jpeg
    assert Browser(web, "school_a").get(url).status_code == 200
    assert Browser(web, "school_b").get(url).status_code == 403
    assert office.get(url.replace(url.rsplit("/", 1)[1], "0" * 64)).status_code == 404
    assert office.get(f"/tickets/{number}/evidence/..%2F..%2Fsecret.key").status_code == 404


def test_a_copied_cookie_dies_at_sign_out(web_app):
    # #4 review: signing out must end the session everywhere, not only in this browser.
    web, _ = web_app
    browser = Browser(web, "school_a")
    copied = browser.client.cookies["xiaohao_session"]
    assert browser.post("/logout").status_code == 303
    thief = Browser(web)
    thief.client.cookies.set("xiaohao_session", copied)
    assert thief.client.get("/", follow_redirects=False).status_code == 303


def test_guessing_the_current_password_locks_the_account(web_app):
    # #4 review: the change-password form counts wrong guesses like the login form.
    web, app = web_app
    browser = Browser(web, "insp")
    for _ in range(5):
        wrong = browser.post("/password", {"current": "guess-guess", "new": "battery-staple",
                                           "again": "battery-staple"})
        assert wrong.status_code == 400
    locked = browser.post("/password", {"current": "correct-horse", "new": "battery-staple",
                                        "again": "battery-staple"})
    # #12: while locked, the right password is answered as a wrong one is, and not taken.
    assert locked.status_code == 400
    assert page(locked).select_one(".error").text == page(wrong).select_one(".error").text
    with pytest.raises(Exception, match="账号或密码错误"):
        app.log_in("insp", "correct-horse", source="testclient")
    assert app.verify_password("insp", "correct-horse")


def test_a_body_over_the_limit_is_refused_before_it_is_read(web_app):
    # #4 review: the whole multipart body was spooled to disk before any check.
    web, _ = web_app
    limit = 20 * 20 * 2**20 + 2**20               # 20 files of 20 MB and the form's text
    browser = Browser(web)
    response = browser.client.post("/login", content=b"x" * 16,
                                   headers={"Content-Length": str(limit + 1)})
    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY"


def test_a_crash_is_a_chinese_500_with_the_security_headers(web_app):
    # #4 review: the catch-all handler answered without CSP and frame denial.
    web, app = web_app
    office = Browser(web, "office")
    app.recorder = None           # the event store is gone: the next page cannot be drawn
    response = office.client.get("/tickets")
    assert response.status_code == 500
    assert "系统出现错误" in page(response).select_one(".error").text
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_the_session_key_is_made_once_and_kept(tmp_path):
    from tests.conftest import settings_for

    settings = settings_for("memory", tmp_path)
    first = settings.session_secret()
    assert len(first) > 40 and settings.session_secret() == first
    assert (settings.var_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in settings.var_dir.iterdir()] == ["secret.key"]


@pytest.mark.parametrize("change, words", [
    ({"title": ""}, "问题标题"),
    ({"title": "太长" * 3000}, "问题标题"),
    ({"unit_id": "NOPE-01"}, "NOPE-01"),
    ({"category": "火星"}, "火星"),
    ({"deadline": "明天"}, "完成时限"),
    ({"deadline": "2020-01-01"}, "早于"),
    ({"indicator_id": "not_an_indicator"}, "指标"),
])
def test_a_careless_finding_is_refused_in_chinese_and_records_nothing(web_app, change, words):
    web, app = web_app
    before = app.recorder.max_notification_id()
    inspector = Browser(web, "insp")
    after_sign_in = app.recorder.max_notification_id()
    response = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "围墙破损", "category": "校舍用房", "severity": "一般",
        "source": "周检查"} | change)
    assert response.status_code in (400, 404)
    assert words in page(response).select_one(".error").text
    assert app.recorder.max_notification_id() == after_sign_in > before   # only the sign-in


@pytest.mark.parametrize("command, data, words", [
    ("comment", {"text": ""}, "留言"),
    ("assign", {"lead_unit_id": "TA-P01", "deadline": "2026-02-30"}, "完成时限"),
    ("assign", {"lead_unit_id": "NOPE", "deadline": "2026-11-30"}, "NOPE"),
    ("reinspect", {"passed": "maybe"}, "复查结论"),
    ("cancel", {"reason": "x" * 10000}, "撤销"),
    ("teleport", {}, "没有这个操作"),
])
def test_a_careless_action_is_refused_in_chinese_and_changes_nothing(web_app, command, data,
                                                                     words):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    response = office.post(f"/tickets/{number}/{command}", data)
    assert response.status_code in (400, 403, 404, 409), response.status_code
    assert words in page(response).select_one(".error").text
    assert app.ticket(number)["version"] == 1
