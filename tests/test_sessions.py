"""Sessions slide, and a form sent after the session ended comes back to its page (#12).

The session cookie's age is its itsdangerous timestamp: a cookie "signed N seconds ago" is a
request made N seconds after the last renewal."""

from __future__ import annotations

import base64
import json
import time

from itsdangerous import TimestampSigner

from tests.conftest import PASSWORD, open_at_school_a
from tests.web_client import Browser, page

COOKIE = "xiaohao_session"


def signed_ago(web, cookie: str, seconds: int) -> str:
    """The same session, signed `seconds` ago with the app's key."""
    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    signer = TimestampSigner(web.state.config.session_secret)
    return Then(web.state.config.session_secret).sign(signer.unsign(cookie)).decode()


def age_of(web, cookie: str) -> float:
    _, at = TimestampSigner(web.state.config.session_secret).unsign(cookie, return_timestamp=True)
    return time.time() - at.timestamp()


def session_of(web, cookie: str) -> dict:
    data = TimestampSigner(web.state.config.session_secret).unsign(cookie)
    return json.loads(base64.b64decode(data))


def test_reading_pages_keeps_an_active_user_signed_in(web_app):
    # #12: only a change renewed the cookie, so a reader was signed out 30 minutes after
    # their last change however busy they were.
    web, _ = web_app
    reader = Browser(web, "office")
    cookie = reader.client.cookies[COOKIE]
    for _ in range(3):                                  # a page every 25 minutes, 75 in all
        reader.client.cookies.set(COOKIE, signed_ago(web, cookie, 25 * 60))
        response = reader.client.get("/tickets", follow_redirects=False)
        assert response.status_code == 200
        cookie = response.cookies[COOKIE]               # renewed: the idle time starts again
        assert age_of(web, cookie) < 5
        assert session_of(web, cookie)["login"] == "office"


def test_a_fresh_cookie_is_not_sent_again(web_app):
    web, _ = web_app
    reader = Browser(web, "office")
    assert reader.client.get("/tickets").status_code == 200
    assert COOKIE not in reader.client.get("/tickets").cookies     # under a minute old


def test_idle_past_the_timeout_still_signs_out(web_app):
    web, _ = web_app
    reader = Browser(web, "office")
    reader.client.cookies.set(COOKIE, signed_ago(web, reader.client.cookies[COOKIE], 31 * 60))
    assert reader.client.get("/tickets", follow_redirects=False).status_code == 303


def expire(web, browser: Browser) -> None:
    """Age the browser's cookie past the idle timeout, in place (the same domain and path)."""
    [cookie] = [c for c in browser.client.cookies.jar if c.name == COOKIE]
    cookie.value = signed_ago(web, cookie.value, 31 * 60)


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page(web_app):
    # #12: the way back was the POST's own URL, which answered 405 after signing in.
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    office.get(f"/tickets/{number}")
    expire(web, office)
    sent = office.client.post(
        f"/tickets/{number}/comment", data={"text": "请尽快整改", "csrf_token": office.token},
        headers={"Referer": f"http://testserver/tickets/{number}?tab=record"},
        follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/login?next=%2Ftickets%2F{number}%3Ftab%3Drecord"
    form = page(office.client.get(sent.headers["location"])).select_one("form")
    back = office.client.post("/login", follow_redirects=False, data={
        "login": "office", "password": PASSWORD, "next": form.select_one('[name="next"]')["value"],
        "csrf_token": form.select_one('[name="csrf_token"]')["value"]})
    assert back.headers["location"] == f"/tickets/{number}?tab=record"
    assert office.client.get(back.headers["location"]).status_code == 200
    assert app.ticket(number)["version"] == 1        # nothing was done by the lost form


def test_htmx_is_sent_to_sign_in_and_back_to_its_page(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    office.get(f"/tickets/{number}")
    expire(web, office)
    sent = office.client.post(f"/tickets/{number}/comment", data={"text": "x"}, headers={
        "HX-Request": "true", "HX-Current-URL": f"http://testserver/tickets/{number}"})
    assert sent.headers["HX-Redirect"] == f"/login?next=%2Ftickets%2F{number}"


def test_a_foreign_or_missing_referer_comes_back_home(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    expire(web, office)
    for headers in [{"Referer": "https://evil.example/tickets/1"}, {}]:
        sent = office.client.post(f"/tickets/{number}/comment", data={"text": "x"},
                                  headers=headers, follow_redirects=False)
        assert sent.headers["location"] == "/login?next=%2F"
