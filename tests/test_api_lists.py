"""Every list a page shows can be read as data under /api/v1, by the same readers, with the
same sight and the same periods as the page (#12)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from domain.application import SYSTEM
from projections.readmodels import ReadModels
from tests.conftest import PASSWORD, issue_signed, open_at_school_a, tickets_at_both_schools
from tests.web_client import Browser, page

PROBLEM = "application/problem+json"


@pytest.fixture
def api(web_app):
    """(client, application, headers for a login)."""
    web, app = web_app
    app.register_account(SYSTEM, login="town_a", name="甲镇", roles=["unit"], unit_id="TA",
                         password=PASSWORD)
    return TestClient(web, raise_server_exceptions=False), app, \
        lambda login: {"Authorization": f"Bearer {app.issue_api_token(login, '测试')}"}


def test_list_items_give_arrays_as_arrays(api):
    """The list gave co_unit_ids and leader_ids as JSON text ('["TA"]') while the single
    ticket gave arrays (#12)."""
    client, app, token = api
    mine, _ = tickets_at_both_schools(app)
    item = next(t for t in client.get("/api/v1/tickets", headers=token("office")).json()["items"]
                if t["number"] == mine)
    one = client.get(f"/api/v1/tickets/{mine}", headers=token("office")).json()
    assert item["co_unit_ids"] == one["co_unit_ids"] == ["TA"]
    assert item["leader_ids"] == one["leader_ids"] == ["L1"]
    assert item["evidence_before"] == one["evidence_before"] == []


def test_the_check_list_reads_as_its_page_does(api, web_app, clock):
    client, app, token = api
    mine, other = tickets_at_both_schools(app)
    clock.set(clock.now().replace(day=9))       # the next Monday's list holds them
    app.check_progress(mine, "insp", note="到校查看")
    week = client.get("/api/v1/checks", headers=token("insp")).json()
    assert week["week"] == "2026-W46" and week["total"] == 2 and week["checked"] == 1
    assert {i["number"]: i["checked"] for i in week["items"]} == {mine: True, other: False}
    # A town's account reads its own and its schools' rows; a school's account not at all.
    town = client.get("/api/v1/checks?week=2026-W46", headers=token("town_a")).json()
    assert [i["number"] for i in town["items"]] == [mine]
    page_rows = page(Browser(web_app[0], "town_a").get("/checks?week=2026-W46"))
    assert mine in page_rows.text and other not in page_rows.text
    refused = client.get("/api/v1/checks", headers=token("school_a"))
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("url", ["/api/v1/checks?week=9999-W52", "/api/v1/checks?week=0001-W01",
                                 "/api/v1/checks?week=2026-45", "/api/v1/rechecks?month=9999-12",
                                 "/api/v1/rechecks?month=2026-13", "/api/v1/figures?week=W45",
                                 "/api/v1/bulletins/2026-W99"])
def test_a_bad_period_is_a_chinese_400(api, url):
    client, _, token = api
    response = client.get(url, headers=token("office"))
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    assert response.json()["detail"]


def test_the_recheck_list_holds_last_months_closings(api, clock):
    client, app, token = api
    mine, _ = tickets_at_both_schools(app)
    app.rectify(mine, "school_a", measures="已分班")
    app.reinspect(mine, "insp", passed=True)
    app.close_ticket(mine, "office")
    clock.set(clock.now().replace(month=12, day=3))
    month = client.get("/api/v1/rechecks", headers=token("insp")).json()
    assert month["month"] == "2026-12" and month["pending"] == 1
    assert [(i["number"], i["outcome"], i["carried"]) for i in month["items"]] == [
        (mine, "pending", False)]
    assert client.get("/api/v1/rechecks", headers=token("school_a")).status_code == 403
    leader_b = client.get("/api/v1/rechecks", headers=token("leader_b")).json()
    assert leader_b["items"] == []      # school A's ticket is not in leader B's towns


def test_the_weeks_figures_are_the_homes(api):
    client, app, token = api
    tickets_at_both_schools(app)
    figures = client.get("/api/v1/figures", headers=token("school_b")).json()
    assert figures["week"] == "2026-W45" and figures["county"]["found"] == 2
    assert {t["town_id"]: t["found"] for t in figures["towns"]} == {"TA": 1, "TB": 1}


def test_a_bulletin_names_only_the_tickets_one_sees(api, clock):
    client, app, token = api
    mine, other = (open_at_school_a(app, unit_id=unit) for unit in ("TA-P01", "TB-J01"))
    for number, unit in ((mine, "TA-P01"), (other, "TB-J01")):    # due in the week after
        app.assign(number, "office", lead_unit_id=unit, deadline=date(2026, 11, 12))
    clock.set(clock.now().replace(day=6, hour=16))
    issue_signed(app, ReadModels(app, ":memory:"), "2026-W45")
    archive = client.get("/api/v1/bulletins", headers=token("school_a")).json()
    assert [(b["period"], b["number"]) for b in archive] == [("2026-W45", 1)]

    def named(login: str) -> set[str]:
        c = client.get("/api/v1/bulletins/2026-W45", headers=token(login)).json()["content"]
        return {i["number"] for part in ("overdue", "due_next_week") for i in c[part]["items"]}

    assert named("office") == {mine, other}
    assert named("school_a") == {mine}
    missing = client.get("/api/v1/bulletins/2026-W44", headers=token("office"))
    assert missing.status_code == 404 and "尚未发布" in missing.json()["detail"]


def test_the_outbox_is_for_those_who_may_read_its_page(api, clock):
    client, app, token = api
    tickets_at_both_schools(app)
    clock.set(clock.now().replace(day=6, hour=16))
    issue_signed(app, ReadModels(app, ":memory:"), "2026-W45")
    for login in ("office", "audit"):
        box = client.get("/api/v1/outbox", headers=token(login)).json()
        assert box["items"] and sum(box["counts"].values()) == len(box["items"])
    for login in ("insp", "school_a", "leader_a"):
        assert client.get("/api/v1/outbox", headers=token(login)).status_code == 403
    unknown = client.get("/api/v1/outbox?state=lost", headers=token("office"))
    assert unknown.status_code == 400 and "queued" in unknown.json()["detail"]


def test_every_ticket_command_of_the_issue_has_a_route(web_app):
    """Request, grant and refuse an extension, reassign, cancel, reopen, comment, 批示, check
    progress, acknowledge: each is a POST on the ticket."""
    web, _ = web_app
    paths = TestClient(web).get("/api/v1/openapi.json").json()["paths"]
    for command in ("request_extension", "extend_deadline", "refuse_extension", "reassign",
                    "cancel", "reopen", "comment", "give_instruction", "reply_instruction",
                    "check_progress", "acknowledge"):
        assert "post" in paths[f"/api/v1/tickets/{{number}}/{command}"], command


def test_a_command_answers_the_ticket_with_its_record(api):
    client, app, token = api
    mine, _ = tickets_at_both_schools(app)
    answer = client.post(f"/api/v1/tickets/{mine}/acknowledge", headers=token("school_a"),
                         json={"note": "收到"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["co_unit_ids"] == ["TA"]
    assert [s["event"] for s in answer.json()["timeline"]][-1] == "Acknowledged"
