"""Requests any signed-in user can make that used to end in a 500 (#12, part 1): a page number
past what SQLite can count, a week or month whose end or neighbour is past the calendar, and
search text with a NUL byte. Each is refused in Chinese (400) or answered, never a 500."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import open_at_school_a
from tests.web_client import Browser

HUGE = "99999999999999999999"


@pytest.mark.parametrize("url", [
    "/checks?week=9999-W52", "/checks?week=0001-W01", "/checks?week=1999-W52",
    "/rechecks?month=9999-12", "/rechecks?month=0001-01", f"/tickets?page={HUGE}",
    "/tickets?page=100001",
])
def test_a_period_or_page_out_of_range_is_a_chinese_400(web_app, url):
    web, _ = web_app
    response = Browser(web, "office").get(url)
    assert response.status_code == 400
    assert "年份" in response.text or "页码" in response.text or "输入有误" in response.text


def test_the_api_refuses_a_page_past_the_last_possible_one_in_chinese(web_app):
    web, app = web_app
    from fastapi.testclient import TestClient

    token = app.issue_api_token("office", "测试")
    secret = token["token"] if isinstance(token, dict) else token
    client = TestClient(web, raise_server_exceptions=False)
    for page in (HUGE, "100001"):
        response = client.get(f"/api/v1/tickets?page={page}",
                              headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "页码须在 1 到 100000 之间" in response.json()["detail"]


@pytest.mark.parametrize("q", ["a\x00b", '"', "\x00", "班\x00超过"])
def test_search_text_with_nul_or_quotes_is_answered(web_app, q):
    web, app = web_app
    open_at_school_a(app)               # a ticket to search among, so the word index is asked
    response = Browser(web, "office").get("/tickets", params={"q": q})
    assert response.status_code in (200, 400)


def test_lists_in_commands_are_taken_once_each_and_capped(memory_app):
    """A command's lists (co-responsible units, leaders, files) are de-duplicated in the order
    given, and a list longer than a county could mean is refused, recording nothing (#12)."""
    from domain.errors import InvalidInputError
    from domain.ticketing import MAX_FILES
    from tests.conftest import open_at_school_a

    app = memory_app
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["TA", "EDU", "TA"],
               leader_ids=["L1", "L1", "L2"], deadline=date(2026, 11, 30))
    ticket = app.ticket(number)
    assert (ticket["co_unit_ids"], ticket["leader_ids"]) == (["TA", "EDU"], ["L1", "L2"])
    photo = {"sha256": "b" * 64, "name": "x.jpg", "content_type": "image/jpeg", "size": 9}
    app.add_evidence(number, "office", evidence=[photo, photo | {"name": "again.jpg"}])
    assert len(app.ticket(number)["evidence_before"]) == 1
    many = [photo | {"sha256": f"{i:064x}"} for i in range(MAX_FILES + 1)]
    version = app.ticket(number)["version"]
    with pytest.raises(InvalidInputError, match=f"最多 {MAX_FILES} 个文件"):
        app.add_evidence(number, "office", evidence=many)
    with pytest.raises(InvalidInputError, match="包保领导最多"):
        app.reassign(number, "office", lead_unit_id="TA-P01", reason="x",
                     leader_ids=[f"P{i}" for i in range(11)])
    assert app.ticket(number)["version"] == version
