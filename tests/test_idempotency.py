"""Idempotency-Key: a retried API request is done once, its key stored in the same transaction
as the command, its first answer given again."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from domain.errors import DomainError
from tests.conftest import assign_to_school_a, open_at_school_a
from tests.test_api import JPEG, token_for
from web.idempotency import _fingerprint

FINDING = {"title": "消防通道堵塞", "unit_id": "TA-P01", "category": "buildings"}


def count_tickets(app) -> int:
    """Tickets opened, read from the log itself."""
    return sum(n.topic.endswith("Ticket.Opened")
               for n in app.recorder.select_notifications(start=1, limit=100_000))


def test_a_retried_open_returns_the_first_answer_and_opens_one_ticket(web_app):
    web, app = web_app
    api, office = TestClient(web), token_for(web, "insp")
    keyed = office | {"Idempotency-Key": "0b0e-open-1"}
    first = api.post("/api/v1/tickets", headers=keyed, json=FINDING)
    again = api.post("/api/v1/tickets", headers=keyed, json=FINDING)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_tickets(app) == 1
    other = api.post("/api/v1/tickets", headers=office | {"Idempotency-Key": "0b0e-open-2"},
                     json=FINDING)
    assert other.json()["number"] != first.json()["number"] and count_tickets(app) == 2


def test_the_same_key_with_another_body_is_a_422_and_does_nothing(web_app):
    web, app = web_app
    api, inspector = TestClient(web), token_for(web, "insp")
    keyed = inspector | {"Idempotency-Key": "k-1"}
    assert api.post("/api/v1/tickets", headers=keyed, json=FINDING).status_code == 201
    changed = api.post("/api/v1/tickets", headers=keyed, json=FINDING | {"title": "另一个问题"})
    assert changed.status_code == 422
    assert changed.headers["content-type"] == "application/problem+json"
    assert "另一个请求" in changed.json()["detail"]
    assert count_tickets(app) == 1


def test_keys_are_per_account(web_app):
    web, app = web_app
    api = TestClient(web)
    for login in ("insp", "office"):
        answer = api.post("/api/v1/tickets", json=FINDING,
                          headers=token_for(web, login) | {"Idempotency-Key": "shared"})
        assert answer.status_code == 201 and "idempotent-replayed" not in answer.headers
    assert count_tickets(app) == 2


def test_a_retried_command_is_recorded_once(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    api, inspector = TestClient(web), token_for(web, "insp")
    keyed = inspector | {"Idempotency-Key": "comment-1"}
    first = api.post(f"/api/v1/tickets/{number}/comment", headers=keyed, json={"text": "请尽快"})
    again = api.post(f"/api/v1/tickets/{number}/comment", headers=keyed, json={"text": "请尽快"})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert [e["event"] for e in app.ticket_history(number)].count("Commented") == 1


def test_an_upload_retried_gives_the_same_reference(web_app):
    web, _ = web_app
    api, inspector = TestClient(web), token_for(web, "insp")
    keyed = inspector | {"Idempotency-Key": "photo-1"}
    sent = [api.post("/api/v1/evidence", headers=keyed,
                     files={"file": ("现场.jpg", JPEG, "image/jpeg")}) for _ in range(2)]
    assert [s.status_code for s in sent] == [201, 201]
    assert sent[0].json() == sent[1].json()     # a new boundary each time, the same request


def test_a_refused_request_stores_no_key_and_may_be_sent_again(web_app):
    web, app = web_app
    api, inspector = TestClient(web), token_for(web, "insp")
    keyed = inspector | {"Idempotency-Key": "fix-and-retry"}
    refused = api.post("/api/v1/tickets", headers=keyed, json=FINDING | {"unit_id": "NOPE"})
    assert refused.status_code == 404
    assert app.keyed_request("insp", "fix-and-retry") is None
    assert api.post("/api/v1/tickets", headers=keyed, json=FINDING | {"unit_id": "NOPE"}
                    ).status_code == 404


@pytest.mark.parametrize("key", ["", "x" * 201, "有中文", "a b"])
def test_a_malformed_key_is_a_400(web_app, key):
    web, app = web_app
    answer = TestClient(web).post("/api/v1/tickets", json=FINDING, headers=token_for(
        web, "insp") | {"Idempotency-Key": key.encode()})
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["detail"]
    assert count_tickets(app) == 0


def test_a_key_stored_whose_answer_was_lost_opens_nothing_twice(web_app):
    """The server committed the ticket with its key, then died before keeping the answer (the
    first half is done here as the route does it): the retry opens nothing and says which
    ticket the first request opened."""
    web, app = web_app
    body = json.dumps(FINDING, ensure_ascii=False).encode()
    headers = {"content-type": "application/json"}
    scope = {"method": "POST", "path": "/api/v1/tickets", "query_string": b""}
    fingerprint = _fingerprint(scope, {b"content-type": b"application/json"}, body)
    with app.under_key("insp", "lost-answer", fingerprint) as pending:
        number = open_at_school_a(app)
    assert pending.saved
    assert app.keyed_request("insp", "lost-answer").outcome == {"number": number}
    retry = TestClient(web).post("/api/v1/tickets", content=body, headers=headers | token_for(
        web, "insp") | {"Idempotency-Key": "lost-answer"})
    assert retry.status_code == 409, retry.text
    assert retry.json()["outcome"] == {"number": number} and number in retry.json()["detail"]
    assert count_tickets(app) == 1


def test_a_command_under_a_key_records_what_it_did(app):
    number = open_at_school_a(app)
    with app.under_key("office", "assign-1", fingerprint="f"):
        assign_to_school_a(app, number)
    assert app.keyed_request("office", "assign-1").outcome == {"number": number, "version": 2}


def test_concurrent_twins_open_one_ticket(web_app):
    web, app = web_app
    inspector = token_for(web, "insp") | {"Idempotency-Key": "twins"}
    start = threading.Barrier(8)

    def send(_):
        api = TestClient(web)     # its own connection; the app is already running
        start.wait()
        return api.post("/api/v1/tickets", headers=inspector, json=FINDING)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert count_tickets(app) == 1
    numbers = {a.json()["number"] for a in answers if a.status_code == 201}
    assert len(numbers) == 1
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]


def test_in_the_domain_a_twin_under_the_same_key_is_refused(app):
    """On every store: the key's record and the ticket are one transaction, so a second
    command under a key already stored records nothing."""
    with app.under_key("insp", "domain-twin", "f1"):
        open_at_school_a(app)
    with pytest.raises(DomainError), app.under_key("insp", "domain-twin", "f1"):
        open_at_school_a(app)
    number = open_at_school_a(app)       # without a key, as before
    with pytest.raises(DomainError), app.under_key("insp", "domain-twin", "f1"):
        app.comment(number, "insp", text="不会记录")
    assert "Commented" not in [e["event"] for e in app.ticket_history(number)]


def test_twins_opening_at_once_in_the_domain_open_one_ticket(app):
    """Twins may wait for their number together, in one batch: only the first is saved."""
    start = threading.Barrier(6)

    def open_once(_):
        start.wait()
        try:
            with app.under_key("insp", "batched", "f"):
                return open_at_school_a(app)
        except DomainError as error:
            return error

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(open_once, range(6)))
    numbers = [o for o in outcomes if isinstance(o, str)]
    assert len(numbers) == 1 and count_tickets(app) == 1, outcomes
    assert app.keyed_request("insp", "batched").outcome == {"number": numbers[0]}
