"""The directory through the API (#12): the office writes it (units, where a school is,
people, heads, 包保) as a bureau's personnel sync would; everyone reads it, and phones and
e-mails only those who may read 组织机构."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from domain.application import SYSTEM

PROBLEM = "application/problem+json"


@pytest.fixture
def api(web_app):
    web, app = web_app
    app.update_person(SYSTEM, "HA", email="ha@example.com", phone="0537-4000001")
    return TestClient(web, raise_server_exceptions=False), app, \
        lambda login: {"Authorization": f"Bearer {app.issue_api_token(login, '同步')}"}


def test_a_personnel_sync_writes_the_directory(api):
    client, app, token = api
    office = token("office")
    steps = [
        ("post", "/api/v1/directory/units", {"code": "TA-P02", "name": "甲镇第二小学",
                                             "kind": "school", "parent": "TA",
                                             "level": "primary"}, 201),
        ("post", "/api/v1/directory/units/TA-P02/location",
         {"latitude": 35.6521, "longitude": 117.2734}, 200),
        ("post", "/api/v1/directory/people", {"person_id": "HA2", "name": "王校长", "title": "校长",
                                              "unit_id": "TA-P02"}, 201),
        ("patch", "/api/v1/directory/people/HA2", {"phone": "0537-4000002", "notify": "daily"},
         200),
        ("post", "/api/v1/directory/heads", {"unit_id": "TA-P02", "person_id": "HA2",
                                             "on": "2026-11-02"}, 200),
        ("post", "/api/v1/directory/baobao", {"leader_id": "L2", "unit_id": "TA-P02",
                                              "on": "2026-11-02"}, 200),
        ("post", "/api/v1/directory/baobao/end", {"leader_id": "L2", "unit_id": "TA-P02",
                                                  "on": "2026-11-20"}, 200),
    ]
    answers = []
    for method, url, body, status in steps:
        response = client.request(method, url, headers=office, json=body)
        assert response.status_code == status, (url, response.text)
        answers.append(response.json())
    assert answers[1]["latitude"] == 35.6521
    assert answers[3] | {"phone": "0537-4000002", "notify": "daily", "title": "校长"} == answers[3]
    assert answers[5] == {"unit_id": "TA-P02", "day": "2026-11-02", "head": "HA2",
                          "leaders": ["L1", "L2"]}     # the town's 包保 covers the school too
    assert answers[6]["leaders"] == ["L1"]
    directory = app.directory()
    assert directory.units["TA-P02"]["kind"] == "school"
    assert app.responsible_on("TA-P02", date(2026, 11, 10)) == {
        "unit_id": "TA-P02", "day": "2026-11-10", "head": "HA2", "leaders": ["L1", "L2"]}


@pytest.mark.parametrize("method, url, body, status", [
    ("post", "/api/v1/directory/units", {"code": "TA", "name": "重复", "kind": "town",
                                         "parent": "SS"}, 409),
    ("post", "/api/v1/directory/units", {"code": "TA-P03", "name": "无学段", "kind": "school",
                                         "parent": "TA"}, 400),
    ("post", "/api/v1/directory/units", {"code": "X1", "name": "无上级", "kind": "town",
                                         "parent": "NOPE"}, 404),
    ("post", "/api/v1/directory/units/TA-P01/location", {"latitude": 135, "longitude": 117}, 400),
    ("post", "/api/v1/directory/people", {"person_id": "HX", "name": "坏邮箱", "unit_id": "TA",
                                          "email": "not-an-address"}, 400),
    ("patch", "/api/v1/directory/people/NOBODY", {"title": "校长"}, 404),
    ("patch", "/api/v1/directory/people/HA", {"salary": 1}, 422),
    ("post", "/api/v1/directory/heads", {"unit_id": "TA", "person_id": "HA", "on": "9999-01-01"},
     400),
    ("post", "/api/v1/directory/baobao/end", {"leader_id": "L2", "unit_id": "TA",
                                              "on": "2026-11-20"}, 404),
])
def test_refused_directory_input_changes_nothing(api, method, url, body, status):
    client, app, token = api
    office = token("office")
    before = app.recorder.max_notification_id()
    response = client.request(method, url, headers=office, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM and response.json()["detail"]
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("login", ["insp", "school_a", "leader_a", "audit"])
def test_only_the_office_writes_the_directory(api, login):
    client, app, token = api
    response = client.post("/api/v1/directory/people", headers=token(login), json={
        "person_id": "HX", "name": "越权", "unit_id": "TA"})
    assert response.status_code == 403 and response.headers["content-type"] == PROBLEM
    assert "HX" not in app.directory().people


@pytest.mark.parametrize("login, sees_contacts", [
    ("office", True), ("audit", True), ("insp", False), ("school_a", False),
    ("leader_a", False)])
def test_phones_and_emails_only_for_those_who_may_read_the_directory_page(api, login,
                                                                         sees_contacts):
    client, _, token = api
    people = client.get("/api/v1/directory/people?unit=TA-P01", headers=token(login)).json()
    head = next(p for p in people if p["id"] == "HA")
    assert head["name"] == "甲校长"
    if sees_contacts:
        assert (head["email"], head["phone"]) == ("ha@example.com", "0537-4000001")
    else:
        assert head.get("email") is None and head.get("phone") is None
        everyone = client.get("/api/v1/directory/people", headers=token(login)).text
        assert "ha@example.com" not in everyone and "0537-4000001" not in everyone
