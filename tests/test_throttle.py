"""The per-source sign-in throttle is kept in the event store's database, so two web nodes on
one store refuse the same source (#12)."""

from __future__ import annotations

import pytest

from domain.errors import NotPermittedError
from domain.signing_in import SOURCE_FAILURES, SOURCE_WINDOW_SECONDS, TooManyAttemptsError
from tests.conftest import PASSWORD, seed_small_county, settings_for


def fail_from(app, source: str, times: int) -> None:
    for n in range(times):
        with pytest.raises(NotPermittedError) as refused:
            app.log_in(f"nobody{n}", "guess-guess", source=source)
        assert not isinstance(refused.value, TooManyAttemptsError)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_nodes(request, tmp_path, clock):
    schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else ""
    settings = settings_for(request.param, tmp_path, schema)
    first = settings.build_app(clock=clock)
    seed_small_county(first)
    second = settings.build_app(clock=clock)
    yield first, second
    first.close()
    second.close()


def test_a_source_refused_on_one_node_is_refused_on_the_other(two_nodes, clock):
    first, second = two_nodes
    fail_from(first, "10.6.6.6", SOURCE_FAILURES - 1)
    fail_from(second, "10.6.6.6", 1)
    for node in (first, second):
        with pytest.raises(TooManyAttemptsError):
            node.log_in("office", PASSWORD, source="10.6.6.6")
    assert second.log_in("office", PASSWORD, source="10.0.0.7")["login"] == "office"
    clock.advance(seconds=SOURCE_WINDOW_SECONDS)
    assert first.log_in("office", PASSWORD, source="10.6.6.6")["login"] == "office"


def test_old_windows_are_forgotten(two_nodes, clock):
    first, _ = two_nodes
    counts = first.source_failures
    fail_from(first, "10.6.6.6", 3)
    clock.advance(seconds=SOURCE_WINDOW_SECONDS)
    fail_from(first, "10.7.7.7", 1)
    window = int(clock.now().timestamp()) // SOURCE_WINDOW_SECONDS
    assert counts.count("10.6.6.6", window - 1) == 0     # gone, not merely outside the window
    assert counts.count("10.7.7.7", window) == 1
