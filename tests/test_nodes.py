"""Several nodes on one store (#16 §1): with XIAOHAO_NODES above one, a node refuses to start
with a key it would make for itself, or on a store only its own machine can reach; given the
shared keys and PostgreSQL, it starts."""

from __future__ import annotations

from tests.conftest import PG
from tests.test_cli import assert_one_line_error, run  # noqa: F401  (the CLI in a process)


def test_more_than_one_node_refuses_keys_it_would_make_for_itself(run, tmp_path):  # noqa: F811
    run.env["XIAOHAO_NODES"] = "2"
    for command in (["serve"], ["scheduler", "--once"]):
        refused = run(*command, ok=False)
        assert_one_line_error(refused)
        assert refused.returncode != 0
        for named in ("XIAOHAO_NODES=2", "XIAOHAO_SECRET_KEY", "XIAOHAO_SEAL_KEY_FILE",
                      "XIAOHAO_EVIDENCE_DIR", "XIAOHAO_STORE=postgres"):
            assert named in refused.err, refused.err
    assert not (tmp_path / "var" / "secret.key").exists()
    assert not (tmp_path / "var" / "seal.key").exists()


def test_given_the_shared_keys_and_postgresql_a_node_starts(run, tmp_path, pg_schema):  # noqa: F811
    key = tmp_path / "shared" / "seal.key"
    run.env.update({"XIAOHAO_STORE": "postgres", "XIAOHAO_POSTGRES_DBNAME": PG["dbname"],
                    "XIAOHAO_POSTGRES_SCHEMA": pg_schema, "XIAOHAO_SEAL_KEY_FILE": str(key),
                    "XIAOHAO_SECRET_KEY": "the-same-on-every-node-" + "x" * 24,
                    "XIAOHAO_EVIDENCE_DIR": str(tmp_path / "shared" / "evidence")})
    run("init", "--password", "office-pass-1")
    run.env["XIAOHAO_NODES"] = "2"
    assert run("scheduler", "--once").returncode == 0


def test_what_one_node_records_the_next_page_from_another_shows(tmp_path, pg_schema, clock):
    """Two web nodes on one PostgreSQL schema, each with its own read models and var/: a
    comment recorded through node A is on the ticket's page node B draws next, at once (a
    node catches its read models up to the log's head before a page reads them); a photo
    uploaded through A is downloaded through B (the evidence folder they share)."""
    from fastapi.testclient import TestClient

    from tests.conftest import open_at_school_a, seed_small_county
    from tests.web_client import Browser, jpeg_photo, page
    from xiaohao import wiring

    a, b = two_nodes(tmp_path, pg_schema)
    app_a, app_b = a.build_app(clock=clock), b.build_app(clock=clock)
    seed_small_county(app_a)
    number = open_at_school_a(app_a)
    web_a = wiring.web(a, app=app_a, follow=False)
    web_b = wiring.web(b, app=app_b, follow=False)
    with TestClient(web_a), TestClient(web_b):
        writer, reader = Browser(web_a, "insp"), Browser(web_b, "office")
        for said in ("第一次现场查看：积水未排除", "第二次现场查看：已排除"):
            answer = writer.post(f"/tickets/{number}/comment", {"text": said})
            assert answer.status_code == 303, answer.text
            shown = page(reader.get(f"/tickets/{number}")).text
            assert said in shown
        photo = jpeg_photo()
        opened = writer.post("/tickets/new", {
            "unit_id": "TA-P01", "title": "操场积水", "category": "体育场馆", "severity": "一般",
            "source": "周检查"}, files=[("evidence", ("water.jpg", photo, "image/jpeg"))])
        other = opened.headers["location"].rsplit("/", 1)[1]
        sha = app_b.ticket(other)["evidence_before"][0]["sha256"]
        download = reader.get(f"/tickets/{other}/evidence/{sha}")
        assert download.status_code == 200 and download.content == photo
    assert a.read_db != b.read_db and a.read_db.exists() and b.read_db.exists()
    app_a.close()
    app_b.close()


def test_a_node_is_woken_by_another_nodes_write(tmp_path, pg_schema, clock):
    """On PostgreSQL a node's read models are told of new events (NOTIFY): with its own look
    every 30 s, another node's write is in them within a second or two."""
    import time

    from projections.store import open_read_db
    from tests.conftest import open_at_school_a, seed_small_county, settings_for
    from web.readside import ReadSide

    writer_settings = settings_for("postgres", tmp_path / "a", pg_schema)
    reader_settings = settings_for("postgres", tmp_path / "b", pg_schema)
    writer = writer_settings.build_app(clock=clock)
    seed_small_county(writer)
    reader = reader_settings.build_app(clock=clock)
    reads = ReadSide(reader, reader_settings.read_db, wakeups=reader_settings.wakeups(reader),
                     follow_seconds=30)
    reads.models.runner.catch_up()
    reads.start_following()
    try:
        time.sleep(0.5)                         # the follower is waiting for word
        number = open_at_school_a(writer)
        written = time.monotonic()
        db = open_read_db(reader_settings.read_db)       # as it stands, nothing caught up
        while not db.execute("SELECT 1 FROM tickets WHERE number = ?", (number,)).fetchone():
            assert time.monotonic() - written < 5, "not woken by the write"
            time.sleep(0.02)
    finally:
        reads.close()
        writer.close()
        reader.close()


def test_the_deployment_example_is_settings_a_node_starts_with():
    """xiaohao/deploy/xiaohao.env, the README's example of what every node shares, is read
    by Settings as it stands and passes the several-nodes check."""
    from pathlib import Path

    import xiaohao
    from xiaohao.settings import Settings

    example = Path(xiaohao.__file__).parent / "deploy" / "xiaohao.env"
    settings = Settings(_env_file=example)
    settings.check_nodes()
    assert (settings.nodes, settings.store, settings.county_name) == (2, "postgres", "泗水县")
    assert str(settings.evidence_root) == "/srv/xiaohao-shared/evidence"


class Silence:
    """Wakeups that never come: the follower looks only every follow_seconds."""

    def wait(self, seconds, stopping):
        stopping.wait(seconds)
        return False

    def close(self):
        pass


def test_a_told_node_draws_what_it_holds_but_waits_for_a_position_asked(tmp_path, pg_schema,
                                                                       clock):
    """Where the follower is told of every write, a page does not look at the log's head: it
    shows what the node holds, unless it is asked for a position (the user's own last write,
    web/positions.py), which it catches up to first. A command always reads the head."""
    import time

    from tests.conftest import open_at_school_a, seed_small_county, settings_for
    from web.readside import ReadSide

    writer_settings = settings_for("postgres", tmp_path / "a", pg_schema)
    reader_settings = settings_for("postgres", tmp_path / "b", pg_schema)
    writer = writer_settings.build_app(clock=clock)
    seed_small_county(writer)
    reader = reader_settings.build_app(clock=clock)
    reads = ReadSide(reader, reader_settings.read_db, wakeups=Silence(), follow_seconds=60)
    reads.start_following()
    try:
        while reads.position is None or reads.position < reads.head():
            time.sleep(0.05)                     # the follower's first look, then 60 s asleep

        def shows(number: str, at_least: int | None) -> bool:
            db, _ = reads.lend(at_least)
            try:
                return bool(db.execute("SELECT 1 FROM tickets WHERE number = ?",
                                       (number,)).fetchone())
            finally:
                reads.give_back(db)

        first = open_at_school_a(writer)
        assert not shows(first, 0)                               # trusts its follower
        assert shows(first, writer.recorder.max_notification_id())   # the user's own write
        second = open_at_school_a(writer)
        assert shows(second, None)                               # a command: the head
    finally:
        reads.close()
        writer.close()
        reader.close()


def test_a_write_answered_by_one_node_is_on_the_next_page_from_the_other(tmp_path, pg_schema,
                                                                         clock):
    """Two following nodes on one schema and one person's browser (one cookie jar): the answer
    to each write carries the log's position after it, and the other node's next page, asked
    at once, shows the write."""
    import httpx

    from tests.conftest import PASSWORD, open_at_school_a, seed_small_county, served
    from web.positions import POSITION_COOKIE, POSITION_HEADER

    a, b = two_nodes(tmp_path, pg_schema)
    app_a, app_b = a.build_app(clock=clock), b.build_app(clock=clock)
    seed_small_county(app_a)
    number = open_at_school_a(app_a)
    with served(a, app_a) as node_a, served(b, app_b) as node_b, httpx.Client() as browser:
        token = sign_in_by_http(browser, node_a, "insp", PASSWORD)
        for i in range(10):
            said = f"第{i + 1}次现场查看"
            answer = browser.post(f"{node_a}/tickets/{number}/comment",
                                  data={"text": said, "csrf_token": token})
            assert answer.status_code == 303
            position = int(answer.headers[POSITION_HEADER])
            assert position == app_a.recorder.max_notification_id()
            assert browser.cookies[POSITION_COOKIE] == str(position)
            assert said in browser.get(f"{node_b}/tickets/{number}").text
    app_a.close()
    app_b.close()


def sign_in_by_http(client, base: str, login: str, password: str) -> str:
    """Signs `client` in at `base`; returns the session's form token."""
    from tests.web_client import csrf_of

    token = csrf_of(client.get(f"{base}/login"))
    answer = client.post(f"{base}/login", data={"login": login, "password": password,
                                                "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get(f"{base}/"))


def two_nodes(tmp_path, schema: str):
    """Two nodes' settings on one schema: the keys and evidence folder shared, a var/ each."""
    from tests.conftest import settings_for

    shared = {"secret_key": "the-same-on-every-node-" + "x" * 24,
              "seal_key_file": tmp_path / "seal.key", "nodes": 2,
              "evidence_dir": tmp_path / "shared-evidence"}
    return (settings_for("postgres", tmp_path / name, schema, **shared) for name in "ab")
