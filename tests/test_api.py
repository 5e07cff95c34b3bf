"""The JSON API: bearer tokens, the same scope as the pages, problem+json errors, 409 on a
stale version."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from domain.commands import COMMANDS
from tests.conftest import open_at_school_a, tickets_at_both_schools
from tests.web_client import Browser, page

JPEG = b"\xff\xd8\xff\xe0" + b"\x03" * 64


def token_for(web, login: str) -> dict:
    browser = Browser(web, login)
    response = browser.post("/tokens", {"label": "测试对接"})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {page(response).select_one('#new-token').text}"}


def test_a_token_opens_assigns_rectifies_reinspects_and_closes(web_app):
    web, app = web_app
    api = TestClient(web)
    inspector, office, school = (token_for(web, n) for n in ("insp", "office", "school_a"))
    photo = api.post("/api/v1/evidence", headers=inspector,
                     files={"file": ("../现场.jpg", JPEG, "image/jpeg")})
    assert photo.status_code == 201 and photo.json()["name"] == "现场.jpg"
    opened = api.post("/api/v1/tickets", headers=inspector, json={
        "title": "消防通道堵塞", "unit_id": "TA-P01", "category": "buildings",
        "evidence": [photo.json()["ref"]]})
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    assert opened.headers["location"] == f"/api/v1/tickets/{number}"
    ticket = api.get(opened.headers["location"], headers=inspector).json()
    assert ticket["evidence_before"][0]["sha256"] == photo.json()["sha256"]
    steps = [
        (office, "assign", {"lead_unit_id": "TA-P01", "deadline": "2026-11-20"}),
        (school, "rectify", {"measures": "已清理"}),
        (inspector, "reinspect", {"passed": True}),
        (office, "close", {"note": "销号"}),
    ]
    for headers, command, body in steps:
        version = api.get(f"/api/v1/tickets/{number}", headers=headers).json()["version"]
        response = api.post(f"/api/v1/tickets/{number}/{command}", headers=headers,
                            json=body | {"expected_version": version})
        assert response.status_code == 200, (command, response.text)
    ticket = api.get(f"/api/v1/tickets/{number}", headers=office).json()
    assert ticket["state"] == "closed"
    assert [e["event"] for e in ticket["timeline"]] == [
        "Opened", "Assigned", "Rectified", "ReInspected", "Closed"]


def test_a_stale_version_answers_409_as_a_problem(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    app.comment(number, "insp", text="抢先")
    response = TestClient(web).post(f"/api/v1/tickets/{number}/assign",
                                    headers=token_for(web, "office"), json={
        "lead_unit_id": "TA-P01", "deadline": "2026-11-20", "expected_version": 1})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "已被他人修改" in response.json()["detail"]
    assert app.ticket(number)["state"] == "opened"


def test_errors_are_problems(web_app):
    web, app = web_app
    api = TestClient(web)
    anonymous = api.get("/api/v1/tickets")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/api/v1/tickets", headers={"Authorization": "Bearer xh_office_00_00"}).status_code == 401
    office = token_for(web, "office")
    invalid = api.post("/api/v1/tickets", headers=office, json={"title": "缺字段"})
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.json()["errors"]} >= {"body.unit_id", "body.category"}
    bad_photo = api.post("/api/v1/evidence", headers=office,
                         files={"file": ("x.svg", b"<svg onload=alert(1)>", "image/svg+xml")})
    assert bad_photo.status_code == 400 and "不是 jpg" in bad_photo.json()["detail"]
    unknown = api.get("/api/v1/tickets/SS-2026-9999", headers=office)
    assert unknown.status_code == 404 and unknown.json()["title"] == "未找到"
    forged = api.post("/api/v1/tickets", headers=office, json={
        "title": "引用未上传的文件", "unit_id": "TA-P01", "category": "buildings",
        "evidence": ["a" * 64]})
    assert forged.status_code == 400 and "证据引用无效" in forged.json()["detail"]


def test_nobody_can_name_a_file_someone_else_uploaded(web_app):
    # #4 review: a hash alone let a user attach (and then download) another unit's evidence.
    web, app = web_app
    api = TestClient(web)
    inspector, school_b = token_for(web, "insp"), token_for(web, "school_b")
    photo = api.post("/api/v1/evidence", headers=inspector,
                     files={"file": ("a.jpg", JPEG, "image/jpeg")}).json()
    mine = open_at_school_a(app, unit_id="TB-J01")
    app.assign(mine, "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 30))
    stolen = api.post(f"/api/v1/tickets/{mine}/rectify", headers=school_b, json={
        "measures": "借用别人的照片", "evidence": [photo["ref"]]})
    assert stolen.status_code == 400 and "不属于当前用户" in stolen.json()["detail"]
    assert app.ticket(mine)["state"] == "assigned"


def test_the_api_sees_what_the_pages_see(web_app):
    web, app = web_app
    mine, other = tickets_at_both_schools(app)
    api = TestClient(web)
    school = token_for(web, "school_a")
    listed = api.get("/api/v1/tickets", headers=school).json()
    assert [t["number"] for t in listed["items"]] == [mine] and listed["total"] == 1
    assert api.get(f"/api/v1/tickets/{other}", headers=school).status_code == 403
    refused = api.post(f"/api/v1/tickets/{other}/rectify", headers=school, json={"measures": "x"})
    assert refused.status_code == 403
    units = api.get("/api/v1/directory/units", headers=school).json()
    assert units[0]["code"] == "SS"


def test_a_revoked_token_stops_at_once(web_app):
    web, _ = web_app
    browser = Browser(web, "insp")
    headers = token_for(web, "insp")
    api = TestClient(web)
    assert api.get("/api/v1/tickets", headers=headers).status_code == 200
    token_id = headers["Authorization"].rsplit("_", 2)[1]
    assert browser.post(f"/tokens/{token_id}/revoke").status_code == 303
    assert api.get("/api/v1/tickets", headers=headers).status_code == 401


def test_the_docs_are_served_from_our_own_files(web_app):
    web, _ = web_app
    api = TestClient(web)
    docs = page(api.get("/docs"))
    assert [s["src"] for s in docs.select("script")] == [
        "/static/swagger/swagger-ui-bundle.js", "/static/docs.js"]
    schema = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/tickets/{number}/assign" in schema["paths"]
    assert not [p for p in schema["paths"] if not p.startswith("/api/v1/")]


def test_the_api_takes_every_field_the_catalogue_names_and_refuses_others(web_app):
    """The bodies are made from the command catalogue: 包保领导 chosen at opening are kept
    (#10: the generated body once dropped them), and a field no command takes is refused by
    name instead of being ignored."""
    web, app = web_app
    api, inspector = TestClient(web), token_for(web, "insp")
    opened = api.post("/api/v1/tickets", headers=inspector, json={
        "title": "围墙破损", "unit_id": "TA-P01", "category": "safety", "leader_ids": ["L2"]})
    assert opened.status_code == 201, opened.text
    assert app.ticket(opened.json()["number"])["leader_ids"] == ["L2"]
    refused = api.post("/api/v1/tickets", headers=inspector, json={
        "title": "围墙破损", "unit_id": "TA-P01", "category": "safety", "leaders": ["L2"]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.leaders"
    routes = {path for path in web.openapi()["paths"] if path.startswith("/api/v1/tickets/{number}/")}
    assert routes == {f"/api/v1/tickets/{{number}}/{name}" for name in COMMANDS}


def test_the_openapi_document_tells_the_truth(web_app):
    """#12: every status an API route answers is documented, as the problem+json body it is;
    the bearer scheme lets Swagger UI's Authorize work; every POST names Idempotency-Key."""
    web, _ = web_app
    document = TestClient(web).get("/api/v1/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"title", "status", "detail"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            must = {"401", "403", "422"} | ({"400", "409", "413"} if method == "post" else set())
            assert must <= set(responses), (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    assert list(response["content"]) == ["application/problem+json"]
                    assert response["description"].isascii() is False   # said in Chinese
            keys = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
            assert len(keys) == (method == "post"), (method, path)
    opened = document["paths"]["/api/v1/tickets"]["post"]["responses"]["201"]
    assert "api_assign" in opened["links"]
    number = document["paths"]["/api/v1/tickets/{number}"]["get"]["parameters"][0]
    assert number["schema"]["examples"] == ["SS-2019-0031"]      # a number of the demo county


def test_a_day_the_api_takes_lies_within_the_years_a_page_takes(web_app):
    """A deadline in 9999 went through the API (pydantic takes any date) though no page takes
    it: it is now refused as the pages refuse it, in Chinese, and records nothing."""
    web, app = web_app
    number = open_at_school_a(app)
    refused = TestClient(web).post(f"/api/v1/tickets/{number}/assign",
                                   headers=token_for(web, "office"),
                                   json={"lead_unit_id": "TA-P01", "deadline": "9999-12-31"})
    assert refused.status_code == 400 and "超出可用的年份" in refused.json()["detail"]
    assert app.ticket(number)["state"] == "opened"
