"""What a request may send, before anything reads it (#12): a stranger's body is never read,
each kind of body has its ceiling, and a form's text must be UTF-8 (web/bodies.py)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.web_client import Browser, jpeg_photo, page

BIG = 200 * 2**20     # what the probe sent: 200 MB of JSON without a token


def first_answer(base: str, head: str, sent: bytes = b"{") -> tuple[str, float]:
    """Send a request's head and only the first bytes of its body, then wait for the status
    line: a server that reads the body first never answers (the socket times out)."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        started = time.monotonic()
        connection.sendall(head.encode() + b"\r\n" + sent)
        status = connection.recv(200).split(b"\r\n", 1)[0].decode()
        return status, time.monotonic() - started


def head(method: str, path: str, content_type: str, length: int, *extra: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}",
             f"Content-Length: {length}", *extra]
    return "\r\n".join(lines) + "\r\n"


def test_a_strangers_body_is_not_read_before_the_answer(live_server):
    base, app, _ = live_server
    for path in ("/api/v1/tickets", "/api/v1/evidence", "/api/v1/directory/people"):
        status, took = first_answer(base, head("POST", path, "application/json", BIG))
        assert status == "HTTP/1.1 401 Unauthorized" and took < 2, path
    status, _ = first_answer(base, head("POST", "/api/v1/tickets", "application/json", BIG,
                                        "Authorization: Bearer xh_office_made_up"))
    assert status == "HTTP/1.1 401 Unauthorized"
    # A page's form without a session goes to sign in, its body unread.
    status, _ = first_answer(base, head("POST", "/tickets/new", "multipart/form-data; boundary=b",
                                        BIG))
    assert status == "HTTP/1.1 303 See Other"


def test_a_token_that_verifies_is_let_in_and_then_held_to_json_size(live_server):
    base, app, _ = live_server
    token = app.issue_api_token("office", "测试")
    status, _ = first_answer(base, head("POST", "/api/v1/tickets", "application/json", BIG,
                                        f"Authorization: Bearer {token}"))
    assert status == "HTTP/1.1 413 Request Entity Too Large"


def test_each_kind_of_body_has_its_ceiling(web_app):
    web, app = web_app
    token = app.issue_api_token("office", "测试")
    api = Browser(web).client
    api.headers["Authorization"] = f"Bearer {token}"
    office = Browser(web, "office")
    office.get("/")
    before = app.recorder.max_notification_id()
    too_much_json = api.post("/api/v1/tickets", content=b'{"title": "' + b"x" * 2**20 + b'"}',
                             headers={"Content-Type": "application/json"})
    assert too_much_json.status_code == 413
    assert too_much_json.headers["content-type"] == "application/problem+json"
    assert "请求内容过大" in too_much_json.json()["detail"]
    # The API's upload carries one file: two files' worth is refused while it streams in.
    limit = web.state.config.evidence.limit_bytes
    two_files = api.post("/api/v1/evidence", files=[
        ("file", ("a.jpg", b"\xff\xd8\xff" + b"0" * limit, "image/jpeg")),
        ("file", ("b.jpg", b"\xff\xd8\xff" + b"1" * limit, "image/jpeg"))])
    assert two_files.status_code == 413
    # A plain form past 1 MiB, sent chunked (no Content-Length), is cut off as it streams.

    def chunks():
        yield b"title=" + b"x" * 2**19
        yield b"x" * 2**20

    chunked = office.client.post("/tickets/new", content=chunks(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": office.token})
    assert chunked.status_code == 413
    assert "请求内容过大" in page(chunked).text
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("body", [
    b"title=%E6%A0%A1%FF%FE&unit_id=TA-P01",          # percent-escaped bytes that are no UTF-8
    "title=校舍&description=".encode() + b"\xc3\x28",  # a raw byte sequence that is none either
])
def test_a_form_whose_text_is_not_utf8_is_refused_in_chinese(web_app, body):
    web, app = web_app
    office = Browser(web, "office")
    office.get("/")
    before = app.recorder.max_notification_id()
    response = office.client.post("/tickets/new", content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": office.token})
    assert response.status_code == 400
    assert "表单内容不是有效的 UTF-8 文本" in page(response).text
    assert app.recorder.max_notification_id() == before


def test_a_form_with_files_whose_text_is_not_utf8_is_refused(web_app):
    web, app = web_app
    office = Browser(web, "office")
    before = app.recorder.max_notification_id()
    photo = jpeg_photo()
    response = office.post("/tickets/new", {"title": "音乐教室".encode("gbk"), "unit_id": "TA-P01",
                                            "category": "special_rooms"},
                           files=[("evidence", ("现场.jpg", photo, "image/jpeg"))])
    assert response.status_code == 400
    assert "表单内容不是有效的 UTF-8 文本" in page(response).text
    assert app.recorder.max_notification_id() == before
    # The same form in UTF-8, its photo's bytes anything at all, is taken.
    taken = office.post("/tickets/new", {"title": "音乐教室器材不足", "unit_id": "TA-P01",
                                         "category": "special_rooms"},
                        files=[("evidence", ("现场.jpg", photo, "image/jpeg"))])
    assert taken.status_code == 303
    assert app.recorder.max_notification_id() > before
