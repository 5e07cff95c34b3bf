"""The API does what its OpenAPI document says (#12): schemathesis generates requests for every
operation from the document the server serves, and a stateful run opens tickets and then acts
on them through the document's links, against a real server over the demo county. No answer
may be a server error, fall outside the statuses documented for its operation, or differ from
the documented body or content type.

Examples are bounded and derandomized, so the run is the same each time and stays short."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.clock import ManualClock, at_beijing
from tests.conftest import served, settings_for

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
EXAMPLES = {"office": 15, "t03-p01": 8}      # per operation: the office may do most
BOUNDED = dict(derandomize=True, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))
# A new ticket the stateful run opens, so that its links have a ticket to act on: the
# stateless run already sends generated bodies to POST /api/v1/tickets.
NEW_TICKET = {"title": "缺少音乐专用教室1间", "unit_id": "T03-P01", "category": "special_rooms",
              "indicator_id": "gov_music_art_rooms"}


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo county (its eight weeks, bulletins and outbox included) served on a loopback
    port; yields its base URL and an API token for the office and for a school."""
    from xiaohao import wiring
    from xiaohao.demo import START, build_demo

    settings = settings_for("sqlite", tmp_path_factory.mktemp("schemathesis"))
    clock = ManualClock(at_beijing(START))
    app = settings.build_app(clock=clock)
    cycle = wiring.cycle(settings, app)
    build_demo(app, clock, wiring.evidence(settings), cycle)
    cycle.read.close()
    tokens = {login: app.issue_api_token(login, "schemathesis") for login in EXAMPLES}
    with served(settings, app) as base:
        yield base, tokens
    app.close()


def _schema(base: str, token: str):
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    schema.config.update(base_url=base, headers={"Authorization": f"Bearer {token}"})
    return schema


@pytest.mark.parametrize("login", sorted(EXAMPLES))
def test_every_operation_answers_as_documented(demo_api, login):
    base, tokens = demo_api
    failures = {}
    for result in _schema(base, tokens[login]).get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES[login], **BOUNDED)
        @given(case=operation.as_strategy())
        def answers_as_documented(case):
            case.call_and_validate(checks=CHECKS)

        try:
            answers_as_documented()
        except Exception as error:     # every operation is tried; all failures are reported
            failures[operation.label] = str(error)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_opening_a_ticket_and_acting_on_it_answers_as_documented(demo_api):
    base, tokens = demo_api
    seen: set[tuple[str, int]] = set()

    class Office(_schema(base, tokens["office"]).as_state_machine()):
        def before_call(self, case):
            if case.operation.label == "POST /api/v1/tickets":
                case.body = dict(NEW_TICKET)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            seen.add((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Office.run(settings=settings(max_examples=40, stateful_step_count=6, **BOUNDED))
    # The run did open tickets and followed their links to commands on them.
    assert ("POST /api/v1/tickets", 201) in seen
    assert any(label.startswith("POST /api/v1/tickets/{number}/") for label, _ in seen)
