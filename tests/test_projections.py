"""Read models follow the log exactly: compared with the aggregates, and with a rebuild."""

from __future__ import annotations

import json

import pytest

from domain.visibility import EVERYTHING
from projections.readmodels import ReadModels
from tests.scenario import run_scenario


def dump(read: ReadModels) -> dict[str, list[tuple]]:
    """Every row of every read-model table, in a stable order."""
    tables = [t for t in read.db.table_names()
              if not t.startswith(("_", "tickets_fts_", "sqlite_"))]   # FTS's, SQLite's own
    return {t: sorted(read.db.execute(f"SELECT * FROM [{t}]").fetchall(), key=repr)
            for t in tables}


@pytest.fixture
def read(app, tmp_path):
    models = ReadModels(app, tmp_path / "read.sqlite3")
    yield models
    models.close()


def test_incremental_equals_rebuilt_after_a_long_random_history(app, clock, read, tmp_path):
    # Catch up every few commands, as a running server does...
    run_scenario(app, clock, seed=7, steps=400,
                 after_step=lambda step: step % 7 == 0 and read.runner.catch_up())
    read.runner.catch_up()
    incremental = dump(read)
    # ...and replay everything into a fresh database: row for row the same.
    rebuilt = ReadModels(app, tmp_path / "rebuilt.sqlite3")
    rebuilt.runner.catch_up()
    assert dump(rebuilt) == incremental
    # Rebuilding in place gives the same again.
    read.rebuild()
    assert dump(read) == incremental
    assert len(incremental["tickets"]) > 20


def test_ticket_rows_agree_with_the_aggregates(app, clock, read):
    numbers = run_scenario(app, clock, seed=11, steps=300)
    db = read.fresh()
    for number in numbers:
        ticket = app.ticket(number)
        [row] = db["tickets"].rows_where("number = ?", [number])
        assert row["state"] == ticket["state"]
        assert row["version"] == ticket["version"]
        assert (row["returns"], row["reopens"]) == (ticket["returns"], ticket["reopens"])
        assert row["deadline"] == (ticket["deadline"].isoformat() if ticket["deadline"] else None)
        assert row["lead_unit_id"] == ticket["lead_unit_id"]
        assert json.loads(row["co_unit_ids"]) == ticket["co_unit_ids"]
        assert json.loads(row["leader_ids"]) == ticket["leader_ids"]
        assert row["pending_deadline"] == (ticket["pending_extension"] or {}).get("new_deadline")
        history = app.ticket_history(number)
        timeline = db.execute("SELECT version, event, by_login FROM timeline WHERE ticket_id = "
                              "(SELECT id FROM tickets WHERE number = ?) ORDER BY version",
                              (number,)).fetchall()
        assert timeline == [(h["version"], h["event"], h["by"]["login"]) for h in history]


def test_status_reports_position_head_and_lag(app, read):
    head = app.recorder.max_notification_id()
    assert {s.lag for s in read.status()} == {head}
    read.runner.catch_up()
    assert {(s.position, s.lag, s.error) for s in read.status()} == {(head, 0, None)}


def test_the_directory_read_model_matches_the_directory(app, read):
    db = read.fresh()
    directory = app.directory()
    assert {r[0] for r in db.execute("SELECT code FROM units")} == set(directory.units)
    assert {r[0] for r in db.execute("SELECT id FROM people")} == set(directory.people)
    assert db.execute("SELECT leader_id, unit_id, end FROM baobao ORDER BY leader_id").fetchall() \
        == [("L1", "TA", None), ("L2", "TB", None)]
    app.disable_account("office", "school_b", reason="调离")
    assert read.fresh().execute(
        "SELECT disabled FROM accounts WHERE login = 'school_b'").fetchone() == (1,)
    columns = [c[1] for c in db.execute("PRAGMA table_info(accounts)")]
    assert "password_hash" not in columns


def insert_raw(app, topic: str, state: bytes) -> int:
    """Put an event straight into the store, as a newer version of the software might."""
    import uuid

    from eventsourcing.persistence import StoredEvent

    app.recorder.insert_events([StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                                            topic=topic, state=state)])
    return app.recorder.max_notification_id()


@pytest.mark.parametrize(("topic", "state"), [
    ("domain.ticket:Ticket.Escalated", b'{"timestamp": null}'),       # a topic we do not know
    ("domain.ticket:Ticket.Commented", b"\xff not json"),              # state we cannot decode
])
def test_an_unknown_event_stops_only_the_projections_that_follow_it(app, read, topic, state):
    from tests.conftest import assign_to_school_a, open_at_school_a

    number = open_at_school_a(app)
    bad = insert_raw(app, topic, state)
    assign_to_school_a(app, number)                                   # after the bad one
    app.disable_account("office", "school_b", reason="调离")           # a directory event
    read.runner.catch_up()
    status = {s.name: s for s in read.status()}
    for name in ("tickets", "timeline"):
        assert status[name].position == bad - 1
        assert f"通知 {bad}" in status[name].error
    assert status["directory"].error is None and status["directory"].lag == 0
    assert read.db.execute("SELECT state FROM tickets WHERE number = ?",
                           (number,)).fetchone() == ("opened",)        # stopped, not skipped
    assert read.db.execute("SELECT disabled FROM accounts WHERE login = 'school_b'"
                           ).fetchone() == (1,)
    read.runner.catch_up()                                            # still stopped: no skip
    assert {s.name: s.position for s in read.status()}["tickets"] == bad - 1


def test_a_restarted_runner_goes_on_from_its_positions(app, clock, tmp_path):
    run_scenario(app, clock, seed=3, steps=60)
    first = ReadModels(app, tmp_path / "r.sqlite3")
    first.runner.catch_up()
    first.close()
    run_scenario(app, clock, seed=4, steps=60)
    again = ReadModels(app, tmp_path / "r.sqlite3")
    assert again.runner.catch_up() < app.recorder.max_notification_id()   # only the new ones
    fresh = ReadModels(app, tmp_path / "fresh.sqlite3")
    fresh.runner.catch_up()
    assert dump(again) == dump(fresh)


def test_directory_views_answer_as_of_any_day(app, read):
    from datetime import date

    from domain.application import SYSTEM
    from projections.directory_views import baobao_map, heads_on, people, unit_tree

    app.end_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=date(2027, 3, 1))
    app.assign_baobao(SYSTEM, leader_id="L2", unit_id="TA", on=date(2027, 3, 1))
    app.appoint_head(SYSTEM, unit_id="TA-P01", person_id="HA", on=date(2026, 9, 1))
    db = read.fresh()
    [county] = unit_tree(db)
    assert county["code"] == "SS"
    assert [c["code"] for c in county["children"]] == ["EDU", "TA", "TB"]
    assert [c["code"] for c in county["children"][1]["children"]] == ["TA-P01"]
    assert [(m["leader_id"], [u["code"] for u in m["units"]])
            for m in baobao_map(db, date(2027, 2, 1))] == [("L1", ["TA"]), ("L2", ["TB"])]
    assert [(m["leader_id"], [u["code"] for u in m["units"]])
            for m in baobao_map(db, date(2027, 3, 1))] == [("L2", ["TA", "TB"])]
    for day in (date(2026, 12, 1), date(2027, 3, 1)):   # the directory aggregate agrees
        assert heads_on(db, day).get("TA-P01") == app.responsible_on("TA-P01", day)["head"]
    assert [p["id"] for p in people(db, "TA-P01")] == ["HA"]
    assert people(db, "TA-P01")[0]["unit_name"] == "甲镇中心小学"


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_another_process_follows_the_log(store, tmp_path, clock, request):
    """A second application on the same store (as another web process) keeps its own read
    models up to date by following the log."""
    import threading
    import time

    from tests.conftest import open_at_school_a, seed_small_county, settings_for

    schema = request.getfixturevalue("pg_schema") if store == "postgres" else ""
    settings = settings_for(store, tmp_path, schema)
    writer = settings.build_app(clock=clock)
    seed_small_county(writer)
    follower = ReadModels(settings.build_app(clock=clock), tmp_path / "follower.sqlite3")
    stopping = threading.Event()
    thread = threading.Thread(target=follower.runner.follow, args=(stopping, 0.02))
    thread.start()
    try:
        number = open_at_school_a(writer)
        deadline = time.monotonic() + 10
        seen = None
        while seen is None and time.monotonic() < deadline:
            seen = follower.db.execute("SELECT state FROM tickets WHERE number = ?",
                                       (number,)).fetchone()
            time.sleep(0.01)
        assert seen == ("opened",)
    finally:
        stopping.set()
        thread.join()


def indexes(read: ReadModels) -> list[tuple]:
    return sorted(read.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                  "AND sql IS NOT NULL").fetchall())


def test_a_long_catch_up_without_query_indexes_ends_the_same(app, clock, tmp_path,
                                                               monkeypatch):
    import projections.runner

    run_scenario(app, clock, seed=9, steps=300)
    steady = ReadModels(app, tmp_path / "steady.sqlite3")
    steady.runner.catch_up()
    # A catch-up from far behind drops the query indexes and the word index, and builds
    # them again once it has caught up: same rows, same indexes, search works.
    monkeypatch.setattr(projections.runner, "BULK_LAG", 10)
    bulk = ReadModels(app, tmp_path / "bulk.sqlite3")
    bulk.runner.batch_size = 50
    bulk.runner.catch_up(stop=app.recorder.max_notification_id() // 2)
    assert "tickets_number" not in {name for name, _ in indexes(bulk)}   # still in bulk
    assert all(s.bulk for s in bulk.status())
    bulk.runner.catch_up()
    assert dump(bulk) == dump(steady)
    assert indexes(bulk) == indexes(steady)
    assert not any(p.bulk for p in bulk.runner.projections.values())
    assert not any(s.bulk for s in bulk.status())


# Regression tests from the review of the read models (#3).

def test_rebuilding_one_projection_never_moves_the_others_back(app, clock, tmp_path):
    run_scenario(app, clock, seed=12, steps=120)
    read = ReadModels(app, tmp_path / "r.sqlite3")
    read.runner.batch_size = 10
    read.runner.catch_up(stop=app.recorder.max_notification_id() // 2)
    run_scenario(app, clock, seed=13, steps=60)          # the others now trail the head
    before = {s.name: s.position for s in read.status()}
    read.rebuild(["tickets"])
    fresh = ReadModels(app, tmp_path / "fresh.sqlite3")
    fresh.runner.catch_up()
    assert dump(read) == dump(fresh)
    assert all(s.position >= before[s.name] for s in read.status())


def test_same_day_directory_changes_are_kept(app, read):
    from datetime import date

    from domain.application import SYSTEM
    from projections.directory_views import baobao_map, heads_on

    day = date(2026, 11, 2)
    app.appoint_head(SYSTEM, unit_id="TA-P01", person_id="HA", on=day)
    app.appoint_head(SYSTEM, unit_id="TA-P01", person_id="HB", on=day)     # same day again
    app.end_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=day)
    app.assign_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=day)
    db = read.fresh()
    assert {s.error for s in read.status()} == {None}
    assert heads_on(db, day)["TA-P01"] == app.responsible_on("TA-P01", day)["head"] == "HB"
    assert [m["leader_id"] for m in baobao_map(db, day)] == ["L1", "L2"]


def test_a_failing_row_stops_only_its_projection_at_that_event(app, read):
    """A decodable event the projection cannot place (its ticket was never opened)."""
    import uuid

    from eventsourcing.persistence import StoredEvent

    from tests.conftest import open_at_school_a

    number = open_at_school_a(app)
    state = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-02T01:00:00+00:00"},' \
            b'"text":"x","by":{"login":"office","name":"o","role":"office","unit_id":null}}'
    app.recorder.insert_events([StoredEvent(originator_id=uuid.uuid4(), originator_version=2,
                                            topic="domain.ticket:Ticket.Commented", state=state)])
    bad = app.recorder.max_notification_id()
    app.comment(number, "office", text="之后的留言")
    read.runner.catch_up()
    status = {s.name: s for s in read.status()}
    assert status["tickets"].position == bad - 1 and "尚未登记" in status["tickets"].error
    assert status["weekly"].position == bad - 1 and "尚未登记" in status["weekly"].error
    assert status["directory"].error is None


def test_a_stopped_long_catch_up_still_leaves_its_rows_searchable(app, clock, tmp_path,
                                                                    monkeypatch):
    import projections.runner
    from tests.conftest import open_at_school_a

    monkeypatch.setattr(projections.runner, "BULK_LAG", 10)
    for _ in range(5):
        open_at_school_a(app, title="缺少音乐教室")
    bad = insert_raw(app, "domain.ticket:Ticket.Escalated", b"{}")
    read = ReadModels(app, tmp_path / "r.sqlite3")
    read.runner.catch_up()
    assert {s.name: s.position for s in read.status()}["tickets"] == bad - 1
    from datetime import date

    from projections.queries import TicketFilter, list_tickets

    found = list_tickets(read.db, TicketFilter(sight=EVERYTHING, text="音乐教室"), date(2026, 11, 2), 3)
    assert found.total == 5
    assert "tickets_number" in {name for name, _ in indexes(read)}


def test_a_projection_that_breaks_half_way_through_an_event_keeps_nothing_of_it(app, tmp_path):
    """The runner finds the failing event and keeps the rows before it, none of its own."""
    from projections.base import Projection
    from tests.conftest import open_at_school_a

    class Fragile(Projection):
        name, topics, tables = "fragile", ("domain.ticket:Ticket.",), ("fragile",)

        def create_tables(self, db):
            db["fragile"].create({"n": int}, pk="n")

        def apply(self, conn, items):
            for item in items:
                conn.execute("INSERT INTO fragile VALUES (?)", (item.n,))
                if item.name == "Commented":
                    raise RuntimeError("boom")

    number = open_at_school_a(app)
    opened = app.recorder.max_notification_id()
    app.comment(number, "office", text="留言")
    commented = app.recorder.max_notification_id()
    read = ReadModels(app, tmp_path / "f.sqlite3", [Fragile()])
    read.runner.catch_up()
    [status] = read.status()
    assert status.position == commented - 1
    assert f"通知 {commented}" in status.error and "RuntimeError: boom" in status.error
    assert [r[0] for r in read.db.execute("SELECT n FROM fragile")] == [opened]


def test_two_followers_of_one_read_database_never_apply_an_event_twice(app, clock, tmp_path):
    # Two processes may follow one read database (a server and a rebuild by hand, say). Each
    # reads a batch, then takes the write lock: it must apply only what the other has not.
    import threading

    run_scenario(app, clock, seed=21, steps=250)
    followers = [ReadModels(app, tmp_path / "shared.sqlite3") for _ in range(2)]
    for i, follower in enumerate(followers):
        follower.runner.batch_size = 7 + 6 * i
    threads = [threading.Thread(target=f.runner.catch_up) for f in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [s for s in followers[0].status() if s.error or s.lag]
    fresh = ReadModels(app, tmp_path / "fresh.sqlite3")
    fresh.runner.catch_up()
    assert dump(followers[0]) == dump(fresh)


def test_statistics_are_gathered_when_missing_and_again_when_the_log_has_grown(
        app, tmp_path, monkeypatch):
    """SQLite's planner is told the tables' shapes (ANALYZE) once there are none, and again
    only once the read models have grown by a quarter and STATISTICS_EVERY events."""
    from projections import readmodels
    from tests.conftest import open_at_school_a

    read = ReadModels(app, tmp_path / "read.sqlite3")
    read.runner.catch_up()
    assert read.keep_statistics()                          # none yet
    assert read.db["sqlite_stat1"].count > 0
    assert not read.keep_statistics()
    monkeypatch.setattr(readmodels, "STATISTICS_EVERY", 3)
    gathered_at = read.runner.status()[0].position
    open_at_school_a(app)
    read.runner.catch_up()
    assert not read.keep_statistics()                      # grown by less than a quarter
    while app.recorder.max_notification_id() - gathered_at < gathered_at // 4:
        open_at_school_a(app)
    read.runner.catch_up()
    grown = read.runner.status()[0].position
    assert read.keep_statistics() and not read.keep_statistics()
    again = ReadModels(app, tmp_path / "read.sqlite3")     # another process: kept statistics
    assert not again.keep_statistics()
    assert again._statistics_at == grown
    read.close()
    again.close()
