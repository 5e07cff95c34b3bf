"""Every route × every role × in or out of scope: exactly the allowed set gets through.

The table below is the rule book. A route added to the app without a line here, or without an
`allow(...)`/`public` rule of its own, fails the first test."""

from __future__ import annotations

import pytest

from domain.cycle import run_id
from domain.delivery import delivery_id
from projections.readmodels import ReadModels
from tests.conftest import assign_to_school_a, issue_signed
from tests.web_client import Browser, jpeg_photo

LOGINS = ["office", "insp", "school_a", "school_b", "leader_a", "leader_b", "audit"]
EVERYONE = set(LOGINS)
OUT_OF_SCOPE = {"school_b", "leader_b"}     # the ticket is school A's, in leader A's town
READERS = {"office", "audit", "insp", "leader_a", "leader_b"}     # the 自评报告 (#14)
JPEG = jpeg_photo()

# (method, path) -> (who may, whether the ticket's scope applies, form data, success status)
MATRIX = {
    ("GET", "/login"): (None, False, None, 200),
    ("GET", "/healthz"): (None, False, None, 200),
    ("GET", "/about"): (None, False, None, 200),
    ("POST", "/login"): (None, False, None, 403),      # without the form's token: refused
    ("POST", "/logout"): (EVERYONE, False, {}, 303),
    ("GET", "/password"): (EVERYONE, False, None, 200),
    ("POST", "/password"): (EVERYONE, False, {"current": "wrong"}, 400),
    ("GET", "/"): (EVERYONE, False, None, 200),
    ("GET", "/queues"): (EVERYONE, False, None, 200),
    ("GET", "/tickets"): (EVERYONE, False, None, 200),
    ("GET", "/tickets/new"): ({"office", "insp"}, False, None, 200),
    ("POST", "/tickets/new"): ({"office", "insp"}, False, {
        "unit_id": "TA-P01", "title": "新问题", "category": "校舍用房", "severity": "一般",
        "source": "周检查"}, 303),
    ("GET", "/tickets/{number}"): (EVERYONE, True, None, 200),
    ("GET", "/tickets/{number}/file"): (EVERYONE, True, None, 200),
    ("GET", "/tickets/{number}/supervise"): (EVERYONE, True, None, 400),     # not overdue
    ("POST", "/tickets/bulk-assign"): ({"office"}, False, {"deadline": "2026-11-30"}, 400),
    ("POST", "/tickets/{number}/{command}"): (EVERYONE - {"audit"}, True, {"text": "已阅"}, 303),
    ("GET", "/tickets/{number}/evidence/{sha256}"): (EVERYONE, True, None, 200),
    ("GET", "/tickets/{number}/evidence/{sha256}/thumb"): (EVERYONE, True, None, 200),
    ("GET", "/checks"): (EVERYONE - {"school_a", "school_b"}, False, None, 200),
    ("POST", "/checks/{week}/{number}"): ({"office", "insp"}, False,
                                          {"result": "visit", "note": "巡查"}, 303),
    ("GET", "/rechecks"): (EVERYONE - {"school_a", "school_b"}, False, None, 200),
    ("POST", "/rechecks/{month}/{number}/{command}"): ({"office", "insp"}, False,
                                                       {"note": "巩固"}, 404),   # comment: none
    ("GET", "/bulletins"): (EVERYONE, False, None, 200),
    ("GET", "/bulletins/{week}"): (EVERYONE, False, None, 200),
    ("POST", "/bulletins/{week}"): ({"office"}, False, {"then": "save"}, 400),   # signed
    ("GET", "/outbox"): ({"office", "audit"}, False, None, 200),
    ("GET", "/outbox/{delivery}"): ({"office", "audit"}, False, None, 200),
    ("GET", "/outbox/{delivery}/html"): ({"office", "audit"}, False, None, 200),
    ("POST", "/outbox/{delivery}/retry"): ({"office"}, False, {}, 400),   # not failed: refused
    ("GET", "/audit"): ({"office", "audit"}, False, None, 200),
    ("POST", "/audit/verify"): ({"office", "audit"}, False, {}, 303),
    ("GET", "/audit/export"): ({"office", "audit"}, False, None, 200),
    ("GET", "/audit/verify_seal.py"): ({"office", "audit"}, False, None, 200),
    ("GET", "/standard"): (READERS, False, None, 200),
    ("GET", "/standard/template"): ({"office"}, False, None, 200),
    ("POST", "/standard/import"): ({"office"}, False, {}, 400),     # no workbook: refused
    ("GET", "/standard/report"): (READERS, False, None, 200),
    ("POST", "/standard/checklist"): ({"office"}, False, {"item": "veto_key_schools",
                                                          "mark": "met"}, 303),
    ("GET", "/standard/rules"): (READERS, False, None, 200),
    ("POST", "/standard/rules/correct"): ({"office"}, False, {
        "indicator": "gov_special_ed_funding", "level": "all", "value": "6000",
        "reason": "核对原文", "source": "教督〔2017〕6号"}, 303),
    ("POST", "/standard/rules/overlay"): ({"office"}, False, {"name": "shandong", "on": "1",
                                                              "reason": "按省定标准"}, 303),
    ("GET", "/standard/mine"): ({"school_a", "school_b"}, False, None, 200),
    ("POST", "/standard/mine"): ({"school_a", "school_b"}, False, {"part": "primary"}, 400),
    ("GET", "/ledger"): (EVERYONE, False, None, 200),
    ("GET", "/ledger/export"): ({"office", "insp", "audit"}, False, None, 200),
    ("GET", "/directory"): ({"office", "audit"}, False, None, 200),
    ("POST", "/directory/accounts"): ({"office"}, False, {
        "login": "newcomer", "name": "新账号", "role": "inspector", "password": "long-enough"}, 303),
    ("POST", "/directory/{what}"): ({"office"}, False, {
        "leader_id": "L2", "unit_id": "TA", "on": "2026-11-02"}, 303),
    ("POST", "/directory/accounts/{login}/{change}"): ({"office"}, False,
                                                      {"password": "reset-password"}, 303),
    ("GET", "/account"): (EVERYONE, False, None, 200),
    ("POST", "/account/notify"): (EVERYONE, False, {"mode": "daily"}, {   # only with a person
        "school_a": 303, "school_b": 303, "leader_a": 303, "leader_b": 303, "*": 400}),
    ("GET", "/tokens"): (EVERYONE, False, None, 200),
    ("POST", "/tokens"): (EVERYONE, False, {"label": "对接"}, 201),
    ("POST", "/tokens/{token_id}/revoke"): (EVERYONE, False, {}, 404),   # not one of theirs
    ("GET", "/docs"): (None, False, None, 200),
    ("GET", "/api/v1/openapi.json"): (None, False, None, 200),
    # The JSON API: a bearer token each; the domain still refuses what a role may not do.
    ("GET", "/api/v1/tickets"): (EVERYONE, False, None, 200),
    ("GET", "/api/v1/tickets/{number}"): (EVERYONE, True, None, 200),
    ("POST", "/api/v1/tickets"): ({"office", "insp"}, False, {
        "title": "接口登记", "unit_id": "TA-P01", "category": "buildings"}, 201),
    # Every command of the catalogue: its roles get through, the domain decides the rest.
    ("POST", "/api/v1/tickets/{number}/assign"): ({"office"}, True, {
        "lead_unit_id": "TA-P01", "deadline": "2026-11-30"}, 409),
    ("POST", "/api/v1/tickets/{number}/reassign"): ({"office"}, True, {
        "lead_unit_id": "TA-P01", "reason": "改由学校牵头"}, 200),
    ("POST", "/api/v1/tickets/{number}/rectify"): ({"school_a", "school_b"}, True, {
        "measures": "已整改"}, 200),
    ("POST", "/api/v1/tickets/{number}/request_extension"): ({"school_a", "school_b"}, True, {
        "new_deadline": "2026-12-31", "reason": "工程未完"}, 200),
    ("POST", "/api/v1/tickets/{number}/extend_deadline"): ({"office"}, True, {
        "new_deadline": "2026-12-31", "reason": "同意延期"}, 200),
    ("POST", "/api/v1/tickets/{number}/refuse_extension"): ({"office"}, True, {
        "reason": "不同意"}, 409),                    # nothing asked: refused
    ("POST", "/api/v1/tickets/{number}/reinspect"): ({"insp"}, True, {"passed": True}, 409),
    ("POST", "/api/v1/tickets/{number}/close"): ({"office"}, True, {}, 409),
    ("POST", "/api/v1/tickets/{number}/reopen"): ({"office", "insp"}, True, {
        "findings": "反弹"}, 409),
    ("POST", "/api/v1/tickets/{number}/check_progress"): ({"office", "insp"}, True, {
        "note": "巡查"}, 200),
    ("POST", "/api/v1/tickets/{number}/give_instruction"): ({"leader_a", "leader_b"}, True, {
        "text": "抓紧整改"}, 200),
    ("POST", "/api/v1/tickets/{number}/comment"): (EVERYONE - {"audit"}, True, {
        "text": "已阅"}, 200),
    ("POST", "/api/v1/tickets/{number}/cancel"): ({"office"}, True, {"reason": "重复登记"}, 200),
    ("POST", "/api/v1/tickets/{number}/acknowledge"): ({"school_a", "school_b"}, True, {}, 200),
    ("POST", "/api/v1/tickets/{number}/chase"): ({"office"}, True, {"note": "请签收"}, 200),
    ("POST", "/api/v1/tickets/{number}/hold"): ({"office", "insp"}, True, {
        "note": "回查巩固"}, 409),                   # not closed: refused
    ("POST", "/api/v1/tickets/{number}/add_evidence"): (
        {"office", "insp", "school_a", "school_b"}, True, {"evidence": []}, 400),
    ("POST", "/api/v1/tickets/{number}/reply_instruction"): (
        {"office", "school_a", "school_b"}, True, {"instruction": 1, "text": "已落实"}, 409),   # no 批示 yet
    ("POST", "/api/v1/evidence"): ({"office", "insp", "school_a", "school_b"}, False, "file", 201),
    ("GET", "/api/v1/directory/units"): (EVERYONE, False, None, 200),
    ("GET", "/api/v1/directory/people"): (EVERYONE, False, None, 200),
    ("GET", "/api/v1/directory/baobao"): (EVERYONE, False, None, 200),
    # The office keeps the directory through the API too (a bureau's personnel sync).
    ("POST", "/api/v1/directory/units"): ({"office"}, False, {
        "code": "TA-P09", "name": "甲镇新小学", "kind": "school", "parent": "TA",
        "level": "primary"}, 201),
    ("POST", "/api/v1/directory/units/{code}/location"): ({"office"}, False, {
        "latitude": 35.65, "longitude": 117.27}, 200),
    ("POST", "/api/v1/directory/people"): ({"office"}, False, {
        "person_id": "NEW1", "name": "新人", "unit_id": "TA"}, 201),
    ("PATCH", "/api/v1/directory/people/{person_id}"): ({"office"}, False, {"title": "副校长"}, 200),
    ("POST", "/api/v1/directory/heads"): ({"office"}, False, {
        "unit_id": "TA", "person_id": "HA", "on": "2026-11-02"}, 200),
    ("POST", "/api/v1/directory/baobao"): ({"office"}, False, {
        "leader_id": "L2", "unit_id": "TA", "on": "2026-11-02"}, 200),
    ("POST", "/api/v1/directory/baobao/end"): ({"office"}, False, {
        "leader_id": "L1", "unit_id": "TA", "on": "2026-11-03"}, 200),
    # Every list a page shows, read as the page reads it.
    ("GET", "/api/v1/checks"): (EVERYONE - {"school_a", "school_b"}, False, None, 200),
    ("GET", "/api/v1/rechecks"): (EVERYONE - {"school_a", "school_b"}, False, None, 200),
    ("GET", "/api/v1/figures"): (EVERYONE, False, None, 200),
    ("GET", "/api/v1/standard"): (READERS, False, None, 200),
    ("GET", "/api/v1/bulletins"): (EVERYONE, False, None, 200),
    ("GET", "/api/v1/bulletins/{week}"): (EVERYONE, False, None, 200),
    ("GET", "/api/v1/outbox"): ({"office", "audit"}, False, None, 200),
}


@pytest.fixture
def web_store() -> str:
    """The matrix walks hundreds of cases: the in-memory store keeps it quick (the other web
    tests run on an SQLite file)."""
    return "memory"


def app_routes(web) -> list[tuple[str, str, object]]:
    """(method, path, endpoint's dependant or None) of every route, routers included; the
    static files are the one mount, and carry no secrets."""
    found, pending = [], list(web.routes)
    while pending:
        route = pending.pop()
        if hasattr(route, "original_router"):
            pending += route.original_router.routes
        elif route.path == "/static":
            continue
        else:
            for method in (route.methods or {"GET"}) - {"HEAD"}:
                found.append((method, route.path, getattr(route, "dependant", None)))
    return found


def rule_of(dependant) -> object:
    for dependency in dependant.dependencies:
        if hasattr(dependency.call, "roles"):
            return dependency.call
        inner = rule_of(dependency)
        if inner is not None:
            return inner
    return None


def test_every_route_has_a_rule_and_a_line_in_the_matrix(web_app):
    web, _ = web_app
    routes = app_routes(web)
    assert {(m, p) for m, p, _ in routes} == set(MATRIX)
    for method, path, dependant in routes:
        assert dependant is not None and rule_of(dependant) is not None, \
            f"{method} {path} has no allow()/public rule"


@pytest.fixture
def ticket(web_app):
    """School A's ticket, assigned, with one photo."""
    web, app = web_app
    inspector = Browser(web, "insp")
    response = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "操场积水", "category": "体育场馆", "severity": "一般",
        "source": "周检查"}, files=[("evidence", ("water.jpg", JPEG, "image/jpeg"))])
    number = response.headers["location"].rsplit("/", 1)[1]
    assign_to_school_a(app, number)
    # The account whose password the office resets in the matrix (not one of LOGINS).
    app.register_account("office", login="target", name="目标账号", roles=["inspector"],
                         password="target-password")
    # The week's bulletin, with a digest queued for leader A.
    issue_signed(app, ReadModels(app, ":memory:"), "2026-W45")
    return number, app.ticket(number)["evidence_before"][0]["sha256"]


@pytest.mark.parametrize("method, path", sorted(MATRIX))
def test_the_matrix(web_app, ticket, method, path):
    """One route, every login and nobody: the statuses are exactly the rule's."""
    web, app = web_app
    allowed, scoped, data, success = MATRIX[(method, path)]
    number, sha = ticket
    url = path.format(number=number, command="comment", sha256=sha, week="2026-W45",
                      month="2026-11",
                      login="target", change="password", token_id="00000000",
                      code="TA-P01", person_id="HA",
                      what="baobao", delivery=delivery_id(run_id("SS", "bulletin", "2026-W45"),
                                                          "leader-L1"))
    api = path.startswith("/api/v1/") and path != "/api/v1/openapi.json"
    wrong = []
    for login in [*LOGINS, None]:
        if allowed is None:
            expected = success
        elif login is None:
            expected = 401 if api else 303
        elif login not in allowed or (scoped and login in OUT_OF_SCOPE):
            expected = 403
        elif isinstance(success, dict):
            expected = success.get(login, success.get("*"))
        else:
            expected = success
        response = (call_api if api else call_page)(web, app, method, url, login, data)
        if response.status_code != expected:
            wrong.append((login, expected, response.status_code, response.text[:200]))
        elif login is None and expected == 303:
            assert response.headers["location"].startswith("/login?next=")
    assert not wrong, f"{method} {url}: (login, expected, got, body) {wrong}"


def call_page(web, app, method: str, url: str, login: str | None, data):
    browser = Browser(web, login) if login else Browser(web)
    if method == "GET":
        return browser.client.get(url, follow_redirects=False)
    browser.get("/login" if login is None else "/password")
    return browser.post(url, data, csrf=data is not None)


def call_api(web, app, method: str, url: str, login: str | None, data):
    from fastapi.testclient import TestClient

    headers = {"Authorization": f"Bearer {app.issue_api_token(login, '矩阵')}"} if login else {}
    client = TestClient(web, raise_server_exceptions=False)
    if method == "GET":
        return client.get(url, headers=headers)
    if data == "file":
        return client.post(url, headers=headers, files={"file": ("a.jpg", JPEG, "image/jpeg")})
    return client.request(method, url, headers=headers, json=data)
