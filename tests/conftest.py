"""Shared fixtures: a manual clock, the application on every store, a small county."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import pytest

from domain.application import SYSTEM, XiaohaoApp
from domain.clock import ManualClock, at_beijing
from xiaohao.settings import Settings

PASSWORD = "correct-horse"
START = date(2026, 11, 2)   # a Monday
PG = dict(host="127.0.0.1", port=5432, dbname="test", user="postgres")


def postgres_available() -> bool:
    try:
        with psycopg.connect(**PG, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """On CI the PostgreSQL tests must run; elsewhere they skip with the reason."""
    if postgres_available():
        return
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required under CI but is not reachable")
    pytest.skip("no PostgreSQL at 127.0.0.1:5432 (start it to run the scale-out tests)")


@contextmanager
def fresh_schema(prefix: str = "xh") -> Iterator[str]:
    """A fresh schema in the `test` database (PostgreSQL required), dropped afterwards."""
    require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**PG, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(**PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema in the `test` database, dropped afterwards."""
    with fresh_schema() as schema:
        yield schema


def settings_for(store: str, tmp_path: Path, schema: str = "", **overrides) -> Settings:
    """Settings as production builds them, with a fast password hash for tests."""
    return Settings(**{
        "store": store, "var_dir": tmp_path / "var", "postgres_dbname": PG["dbname"],
        "postgres_schema": schema, "argon2_time_cost": 1, "argon2_memory_kib": 8192,
        "scheduler": False, "_env_file": None, **overrides})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at_beijing(START, 9))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else ""
    return settings_for(request.param, tmp_path, schema)


@pytest.fixture
def app(store_settings: Settings, clock: ManualClock) -> Iterator[XiaohaoApp]:
    application = store_settings.build_app(clock=clock)
    seed_small_county(application)
    yield application
    application.close()


@pytest.fixture
def memory_app(tmp_path: Path, clock: ManualClock) -> XiaohaoApp:
    """The small county on the in-memory store, for the large tables of cases."""
    application = settings_for("memory", tmp_path).build_app(clock=clock)
    seed_small_county(application)
    return application


def seed_small_county(app: XiaohaoApp) -> None:
    """Two towns with a school each, a bureau, a leader for town A, and one account per role."""
    app.start_directory("测试县")
    add = app.add_unit
    add(SYSTEM, code="EDU", name="县教育体育局", kind="department", parent="SS")
    add(SYSTEM, code="TA", name="甲镇", kind="town", parent="SS")
    add(SYSTEM, code="TB", name="乙镇", kind="town", parent="SS")
    add(SYSTEM, code="TA-P01", name="甲镇中心小学", kind="school", parent="TA", level="primary")
    add(SYSTEM, code="TB-J01", name="乙镇中学", kind="school", parent="TB", level="junior")
    person = app.register_person
    person(SYSTEM, person_id="L1", name="陈领导", title="副县长", unit_id="SS")
    person(SYSTEM, person_id="L2", name="范领导", title="副县长", unit_id="SS")
    person(SYSTEM, person_id="HA", name="甲校长", title="校长", unit_id="TA-P01")
    person(SYSTEM, person_id="HB", name="乙校长", title="校长", unit_id="TB-J01")
    app.assign_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=START)
    app.assign_baobao(SYSTEM, leader_id="L2", unit_id="TB", on=START)
    digest = app.hash_password(PASSWORD)
    for login, roles, unit, person_id in [
        ("office", ["office"], "EDU", None), ("insp", ["inspector"], "EDU", None),
        ("school_a", ["unit"], "TA-P01", "HA"), ("school_b", ["unit"], "TB-J01", "HB"),
        ("leader_a", ["leader"], None, "L1"), ("leader_b", ["leader"], None, "L2"),
        ("audit", ["auditor"], None, None),
    ]:
        app.register_account(SYSTEM, login=login, name=login, roles=roles, unit_id=unit,
                             person_id=person_id, password_hash=digest)


def open_at_school_a(app: XiaohaoApp, **overrides) -> str:
    fields = dict(title="四年级2个班超过45人", description="周检查发现", unit_id="TA-P01",
                  category="大班额", severity="较重", source="周检查",
                  indicator_id="gov_class_size")
    return app.open_ticket("insp", **(fields | overrides))


def tickets_at_both_schools(app: XiaohaoApp) -> tuple[str, str]:
    """School A's assigned ticket and school B's: (A's number, B's number)."""
    mine = open_at_school_a(app)
    assign_to_school_a(app, mine)
    other = open_at_school_a(app, unit_id="TB-J01")
    app.assign(other, "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 30))
    return mine, other


def assign_to_school_a(app: XiaohaoApp, number: str) -> int:
    return app.assign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["TA"],
                      person_id="HA", deadline=date(2026, 11, 30))


@pytest.fixture
def web_app(tmp_path: Path, clock: ManualClock, web_store: str):
    """The web app over the small county, its lifespan running; yields (web, application).
    Make sessions with tests.web_client.Browser(web, login)."""
    from fastapi.testclient import TestClient

    from xiaohao import wiring

    settings = settings_for(web_store, tmp_path)
    application = settings.build_app(clock=clock)
    seed_small_county(application)
    web = wiring.web(settings, app=application, follow=False)
    with TestClient(web):
        yield web, application
    application.close()


@pytest.fixture
def web_store() -> str:
    """The event store under the web tests: an SQLite file, as `serve` runs by default."""
    return "sqlite"


def loopback_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(settings: Settings, app: XiaohaoApp, port: int | None = None) -> Iterator[str]:
    """The web app of `settings` over `app`, served by uvicorn on a loopback port in a thread
    of this process; yields its base URL."""
    import threading
    import time

    import uvicorn

    from xiaohao import wiring

    port = port or loopback_port()
    server = uvicorn.Server(uvicorn.Config(wiring.web(settings, app=app), host="127.0.0.1",
                                           port=port, log_level="warning",
                                           proxy_headers=False))   # as `xiaohao serve`
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(tmp_path, clock):
    """The web app served on a loopback port, over an SQLite store of the small county;
    yields (base URL, application, tmp_path)."""
    settings = settings_for("sqlite", tmp_path)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with served(settings, app) as base:
        yield base, app, tmp_path
    app.close()


@pytest.fixture
def chromium():
    """The system Chromium, headless, driven by Playwright (the browser test modules skip, or
    fail under CI, when /usr/bin/chromium is missing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def issue_signed(app: XiaohaoApp, read, week: str, *, seal=None, base_url: str = "") -> dict:
    """The week's bulletin as the cycle drafts it and the office then signs it as it stands
    (with a checkpoint when a `seal` is given): the signed run."""
    from scheduler.runs import issue

    issue(app, read, "bulletin", week, warn_days=3, base_url=base_url)
    return app.sign_bulletin(SYSTEM, week, stamp=seal.stamp if seal else None)
