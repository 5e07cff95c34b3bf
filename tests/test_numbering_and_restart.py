"""Ticket numbers under two racing processes, and a store that outlives its process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG, assign_to_school_a, open_at_school_a, seed_small_county, settings_for

ROOT = Path(__file__).resolve().parent.parent
PER_PROCESS = 60


def env_for(settings) -> dict[str, str]:
    return os.environ | {
        "XIAOHAO_STORE": settings.store, "XIAOHAO_VAR_DIR": str(settings.var_dir),
        "XIAOHAO_POSTGRES_DBNAME": PG["dbname"], "XIAOHAO_POSTGRES_SCHEMA": settings.postgres_schema,
        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": "8192",
    }


@pytest.fixture(params=["sqlite", "postgres"])
def durable_settings(request, tmp_path):
    schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else ""
    return settings_for(request.param, tmp_path, schema)


@pytest.mark.slow
def test_two_processes_never_share_or_lose_a_number(durable_settings, tmp_path):
    app = durable_settings.build_app()
    seed_small_county(app)
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-m", "tests.open_tickets", str(PER_PROCESS), str(go)],
                               cwd=ROOT, env=env_for(durable_settings), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    go.touch()
    outputs = [racer.communicate(timeout=300) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], [err for _, err in outputs]
    numbers = [line for out, _ in outputs for line in out.split()]
    expected = {f"SS-2026-{i:04d}" for i in range(1, 2 * PER_PROCESS + 1)}
    assert len(numbers) == 2 * PER_PROCESS and set(numbers) == expected   # no duplicate, no gap
    fresh = durable_settings.build_app()
    assert all(fresh.ticket(n)["title"] for n in expected)                 # none lost


def test_everything_is_still_there_after_a_restart(durable_settings, clock):
    app = durable_settings.build_app(clock=clock)
    seed_small_county(app)
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    before = (app.ticket(number), app.ticket_history(number))
    app.close()
    # A new process sees the same ticket, history and next number (numbers survive a rebuild).
    again = durable_settings.build_app(clock=clock)
    assert (again.ticket(number), again.ticket_history(number)) == before
    assert again.verify_password("office", "correct-horse")
    assert open_at_school_a(again) == "SS-2026-0002"


def test_threads_opening_at_once_share_commits_but_never_numbers(durable_settings, clock):
    # Findings waiting for a number are saved together (one commit for many); still every
    # ticket gets its own number, none is lost, and a failing one fails only its own caller.
    import threading

    from domain.errors import InvalidInputError

    app = durable_settings.build_app(clock=clock)
    seed_small_county(app)
    numbers, errors = [], []

    def open_many(worker: int) -> None:
        for i in range(25):
            try:
                title = "" if (worker, i) == (3, 7) else f"线程 {worker} 的第 {i} 个问题"
                numbers.append(open_at_school_a(app, title=title))
            except InvalidInputError as error:
                errors.append(error)

    threads = [threading.Thread(target=open_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 200))
    assert {app.ticket(n)["number"] for n in numbers} == set(numbers)
    app.close()
