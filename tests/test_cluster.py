"""Two `xiaohao serve` nodes on one PostgreSQL schema behind a real nginx, round robin (#16 §5):
through the balancer people sign in, open and act on tickets and read them back, whichever
node answers; the sign-in lock holds across the nodes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from tests.conftest import (
    PASSWORD,
    loopback_port,
    open_at_school_a,
    seed_small_county,
    settings_for,
)
from tests.test_cycle import with_contacts
from tests.test_scheduler_leading import TAKEOVER, Scheduler, assign_some, wait_until_all_delivered
from xiaohao.cluster import nginx_prepared

pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
if not Path(NGINX).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs nginx (.ci/run installs it)")
    pytest.skip("no nginx here: `apt-get install -y nginx-light`", allow_module_level=True)


def wait_for(url: str, process: subprocess.Popen, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        assert process.poll() is None, f"{process.args} stopped"
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.1)


@contextmanager
def started(tmp_path: Path, schema: str, *, schedulers: bool = False):
    """The small county on PostgreSQL, two `xiaohao serve` nodes (each running a scheduler
    too, when `schedulers`) and nginx in front: (balancer URL, app, the nodes)."""
    shared = {"secret_key": "the-same-on-every-node-" + "x" * 24,
              "seal_key_file": tmp_path / "seal.key", "evidence_dir": tmp_path / "evidence"}
    settings = settings_for("postgres", tmp_path / "seed", schema, **shared)
    app = settings.build_app()
    seed_small_county(app)
    with_contacts(app)
    env = os.environ | {
        "XIAOHAO_STORE": "postgres", "XIAOHAO_POSTGRES_DBNAME": settings.postgres_dbname,
        "XIAOHAO_POSTGRES_SCHEMA": schema, "XIAOHAO_NODES": "2",
        "XIAOHAO_SECRET_KEY": shared["secret_key"],
        "XIAOHAO_SEAL_KEY_FILE": str(shared["seal_key_file"]),
        "XIAOHAO_EVIDENCE_DIR": str(shared["evidence_dir"]),
        "XIAOHAO_SCHEDULER": str(schedulers).lower(), "XIAOHAO_SCHEDULER_TICK_SECONDS": "1",
        "XIAOHAO_SCHEDULER_CONTEND_SECONDS": "1", "XIAOHAO_TRUSTED_PROXIES": "127.0.0.1",
        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": "8192"}
    ports = [loopback_port() for _ in range(3)]
    nodes = [Scheduler(env | {"XIAOHAO_VAR_DIR": str(tmp_path / f"node{i}")}, "serve",
                       "--port", str(port)) for i, port in enumerate(ports[:2])]
    prefix = tmp_path / "nginx"
    config = nginx_prepared(prefix, f"127.0.0.1:{ports[2]}", [f"127.0.0.1:{p}" for p in ports[:2]])
    balancer = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
                                stderr=subprocess.DEVNULL)
    try:
        for port, node in zip(ports, nodes, strict=False):
            wait_for(f"http://127.0.0.1:{port}/healthz", node.process)
        wait_for(f"http://127.0.0.1:{ports[2]}/healthz", balancer)
        yield f"http://127.0.0.1:{ports[2]}", app, nodes
    finally:
        balancer.terminate()
        balancer.wait(timeout=30)
        for node in nodes:
            node.stop()
        app.close()


@pytest.fixture
def cluster(tmp_path, pg_schema):
    with started(tmp_path, pg_schema) as (base, app, _):
        yield base, app


class Person:
    """One person's browser session through the balancer, noting which node answered."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.nodes: set[str] = set()
        self.token = ""

    def get(self, url: str) -> httpx.Response:
        answer = self.client.get(url)
        self.nodes.add(answer.headers.get("x-xiaohao-node", ""))
        meta = BeautifulSoup(answer.text, "html.parser").select_one('meta[name="csrf-token"]')
        if meta:
            self.token = meta["content"]
        return answer

    def post(self, url: str, data: dict) -> httpx.Response:
        if not self.token:
            self.get("/login" if url == "/login" else "/")
        answer = self.client.post(url, data=data | {"csrf_token": self.token})
        self.nodes.add(answer.headers.get("x-xiaohao-node", ""))
        return answer

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        answer = self.post("/login", {"login": login, "password": password})
        if answer.status_code == 303:
            self.get("/")                  # a new session: its own form token
        return answer


def test_people_work_through_the_balancer_whichever_node_answers(cluster):
    base, app = cluster
    inspector, office = Person(base), Person(base)
    assert inspector.sign_in("insp").status_code == 303
    assert office.sign_in("office").status_code == 303
    opened = inspector.post("/tickets/new", {
        "unit_id": "TA-P01", "title": "实验室通风橱损坏", "category": "功能教室",
        "severity": "一般", "source": "周检查"})
    assert opened.status_code == 303, opened.text
    number = opened.headers["location"].rsplit("/", 1)[1]
    assigned = office.post(f"/tickets/{number}/assign", {
        "lead_unit_id": "TA-P01", "person_id": "HA", "deadline": "2027-06-30"})
    assert assigned.status_code == 303, assigned.text
    for _ in range(6):          # round robin: each read lands on one node or the other
        shown = office.get(f"/tickets/{number}").text
        assert "实验室通风橱损坏" in shown and "甲校长" in shown
    assert len(office.nodes | inspector.nodes) == 2, office.nodes
    assert app.ticket(number)["lead_unit_id"] == "TA-P01"


def test_the_sign_in_lock_holds_across_the_nodes(cluster):
    base, app = cluster
    number = open_at_school_a(app)
    guesser = Person(base)
    for _ in range(5):                       # five wrong guesses, spread over both nodes
        assert guesser.sign_in("school_a", "wrong-password").status_code == 400
    assert len(guesser.nodes) == 2
    for _ in range(2):                       # locked for this source on either node
        refused = guesser.sign_in("school_a")
        assert refused.status_code == 400 and "账号或密码错误" in refused.text
    other = Person(base)                     # another account is not locked
    assert other.sign_in("school_b").status_code == 303
    assert other.get(f"/tickets/{number}").status_code == 403    # and sees only its own


def test_a_node_killed_leaves_the_other_serving_and_leading(tmp_path, pg_schema):
    """Both nodes run a scheduler: one leads. Kill the leading node with SIGKILL while work
    is being told: the balancer sends everyone to the other, whose scheduler leads within
    15 s and delivers every message once."""
    with started(tmp_path, pg_schema, schedulers=True) as (base, app, nodes):
        deadline = time.monotonic() + 30
        while not any(n.led_at() for n in nodes):
            assert time.monotonic() < deadline, "no node leads"
            time.sleep(0.05)
        leader, other = sorted(nodes, key=lambda n: n.led_at() is None)
        office = Person(base)
        assert office.sign_in("office").status_code == 303
        assign_some(app, 15)
        leader.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        leader.process.wait(timeout=10)
        assign_some(app, 15)
        for _ in range(4):          # the balancer passes over the dead node
            assert office.get("/tickets").status_code == 200
        took_over = other.wait_to_lead(after=killed)
        assert took_over - killed <= TAKEOVER, f"took {took_over - killed:.1f} s"
        deliveries = wait_until_all_delivered(app, at_least=30, within=60)
        for d in deliveries:
            steps = [type(e).__name__ for e in app.events.get(d.id)]
            assert steps.count("Delivered") == 1 and steps.count("Attempted") <= 2, steps


def test_xiaohao_cluster_starts_the_nodes_a_scheduler_and_nginx_and_stops_them(tmp_path,
                                                                               pg_schema):
    """`make cluster`'s command: the store made and a first office account, two nodes, a
    scheduler and nginx from the operator's settings; work through the balancer; SIGTERM stops
    every part."""
    import psutil

    port = loopback_port()
    env = os.environ | {"XIAOHAO_STORE": "postgres", "XIAOHAO_POSTGRES_DBNAME": "test",
                        "XIAOHAO_POSTGRES_SCHEMA": pg_schema + "_c",
                        "XIAOHAO_VAR_DIR": str(tmp_path / "var"),
                        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": "8192"}
    runner = Scheduler(env, "cluster", "--port", str(port), "--password", PASSWORD,
                       "--nginx", NGINX)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", runner.process)
        office = Person(f"http://127.0.0.1:{port}")
        assert office.sign_in("office").status_code == 303
        for _ in range(4):
            assert office.get("/").status_code == 200
        assert len(office.nodes) == 2
        children = psutil.Process(runner.process.pid).children()
        assert len(children) == 4              # two nodes, the scheduler, nginx
    finally:
        runner.stop()
        import psycopg

        from tests.conftest import PG

        with psycopg.connect(**PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {pg_schema}_c CASCADE")
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert (tmp_path / "var" / "cluster" / "shared" / "secret.key").exists()
