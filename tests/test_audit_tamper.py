"""The sealed log catches every way of rewriting it (#13): on a real SQLite file and on
PostgreSQL rows, an intruder with the database changes one byte, deletes, swaps, inserts,
cuts the tail across a checkpoint, or rewrites a suffix and re-seals it with the stolen key;
`xiaohao audit verify` names what happened, and where, every time. An untouched store
verifies clean, by the command and by the offline verifier of its export."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from domain.checkpoints import CHECKPOINT_TOPIC
from domain.clock import ManualClock, at_beijing
from domain.seal import statement
from tests.conftest import PG, START, require_postgres, seed_small_county, settings_for
from tests.scenario import run_scenario
from tests.test_cycle import maildir, with_contacts
from tests.test_numbering_and_restart import env_for
from xiaohao import audit, wiring

XIAOHAO = Path(sys.executable).with_name("xiaohao")
SEALED = re.compile(r"存证：第 (\d+) 条 · ([0-9a-f]{64})")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """A month of random work with the cycle ticking (and sealing) after every step, on an
    SQLite file and in a PostgreSQL schema: the originals each case copies."""
    built = {}

    def build(store: str) -> Path:
        if store in built:
            return built[store]
        home = tmp_path_factory.mktemp(f"sealed-{store}")
        schema = ""
        if store == "postgres":
            schema = "xh_sealed_" + home.name.replace("-", "_")[-20:]
            with psycopg.connect(**PG, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                conn.execute(f"CREATE SCHEMA {schema}")
        clock = ManualClock(at_beijing(START, 9))
        settings = settings_for(store, home, schema)
        app = settings.build_app(clock=clock)
        seed_small_county(app)
        with_contacts(app)
        cycle = wiring.cycle(settings, app)
        run_scenario(app, clock, seed=5, steps=90, after_step=lambda _: cycle.tick())
        settings.sealer(app).follow()
        app.close()
        built[store] = home, schema
        return built[store]

    yield build
    with psycopg.connect(**PG, autocommit=True) as conn:
        for _, schema in built.values():
            if schema:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@dataclass
class Copy:
    """One case's own copy of the county, and the rows of its store as an intruder sees them."""

    settings: object
    conn: object
    table: str
    id: str
    mark: str

    def rows(self, sql: str, *args):
        return self.conn.execute(sql.replace("?", self.mark), args).fetchall()

    def run(self, sql: str, *args) -> None:
        self.conn.execute(sql.replace("?", self.mark), args)
        self.conn.commit()

    def ids(self) -> list[int]:
        return [r[0] for r in self.rows(f"SELECT {self.id} FROM {self.table} ORDER BY {self.id}")]

    def plain_ids(self) -> list[int]:
        """The events that are not checkpoints (whose state the verifier itself decodes)."""
        return [r[0] for r in self.rows(f"SELECT {self.id} FROM {self.table} WHERE topic <> ? "
                                        f"ORDER BY {self.id}", CHECKPOINT_TOPIC)]

    def drop_seal(self) -> None:
        schema = self.table.rpartition(".")[0]
        for table in ("xiaohao_seal_leaves", "xiaohao_seal_head"):
            self.run(f"DELETE FROM {schema + '.' if schema else ''}{table}")

    def shift(self, after: int, by: int) -> None:
        """Renumber every event after `after` by `by`, as one would to make room or close a
        gap (through a far-off range, so no two rows ever share an id)."""
        far = 10**9
        self.run(f"UPDATE {self.table} SET {self.id} = {self.id} + {far} WHERE {self.id} > ?",
                 after)
        self.run(f"UPDATE {self.table} SET {self.id} = {self.id} - {far} + ? WHERE {self.id} > ?",
                 by, far)

    def verify(self, given=()):
        app = self.settings.build_app()
        try:
            return audit.verify(app, self.settings.seal_leaves(), self.settings.seal_suite,
                                self.settings.seal_key(), list(given))
        finally:
            app.close()


@pytest.fixture(params=["sqlite", "postgres"])
def copy(request, county, tmp_path):
    if request.param == "postgres":
        require_postgres()
    home, schema = county(request.param)
    shutil.copytree(home / "var", tmp_path / "var")
    if request.param == "sqlite":
        settings = settings_for("sqlite", tmp_path)
        conn = sqlite3.connect(settings.event_db)
        yield Copy(settings, conn, "stored_events", "rowid", "?")
        conn.close()
        return
    mine = f"xh_{tmp_path.name[-12:].replace('-', '_')}"
    with psycopg.connect(**PG, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {mine} CASCADE")
        conn.execute(f"CREATE SCHEMA {mine}")
        for (table,) in conn.execute("SELECT table_name FROM information_schema.tables "
                                     "WHERE table_schema = %s", (schema,)).fetchall():
            conn.execute(f"CREATE TABLE {mine}.{table} (LIKE {schema}.{table} INCLUDING ALL)")
            conn.execute(f"INSERT INTO {mine}.{table} SELECT * FROM {schema}.{table}")
    settings = settings_for("postgres", tmp_path, mine)
    conn = psycopg.connect(**PG)
    (events,) = conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                             "table_schema = %s AND table_name LIKE '%%events'", (mine,)).fetchone()
    table = f"{mine}.{events}"
    yield Copy(settings, conn, table, "notification_id", "%s")
    conn.close()
    with psycopg.connect(**PG, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {mine} CASCADE")


def printed_checkpoints(settings) -> list[audit.Given]:
    """The 存证 lines of the digests in the Maildir: copies the office cannot reach."""
    found = set()
    for message in maildir(settings):
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                found |= set(SEALED.findall(part.get_content()))
    return [audit.Given(int(size), root) for size, root in sorted(found, key=lambda f: int(f[0]))]


def test_an_untouched_store_verifies_with_its_checkpoints_and_the_digests(copy):
    given = printed_checkpoints(copy.settings)
    assert len(given) >= 4, "every bulletin and digest prints its checkpoint"
    report = copy.verify(given)
    assert report.ok, report.problems
    assert report.checkpoints >= 10 and report.sealed == report.events == len(copy.ids())


def test_one_byte_changed_in_an_events_state(copy):
    target = copy.plain_ids()[len(copy.ids()) // 3]
    index = copy.ids().index(target)
    (state,) = copy.rows(f"SELECT state FROM {copy.table} WHERE {copy.id} = ?", target)[0]
    changed = bytes(state).replace(b'"', b"'", 1)
    copy.run(f"UPDATE {copy.table} SET state = ? WHERE {copy.id} = ?", changed, target)
    (problem,) = copy.verify().problems[:1]
    assert "事件被篡改" in problem and f"事件 #{target} " in problem
    assert f"第 {index + 1} 条" in problem


def test_an_event_deleted(copy):
    target = copy.ids()[len(copy.ids()) // 4]
    copy.run(f"DELETE FROM {copy.table} WHERE {copy.id} = ?", target)
    problem = copy.verify().problems[0]
    assert "事件被删除" in problem and f"#{target} " in problem


def test_an_event_deleted_and_the_gap_closed(copy):
    target = copy.ids()[len(copy.ids()) // 4]
    copy.run(f"DELETE FROM {copy.table} WHERE {copy.id} = ?", target)
    copy.shift(target, -1)
    problem = copy.verify().problems[0]
    assert "事件被删除" in problem and f"#{target} " in problem and "前移" in problem


def test_two_events_swapped(copy):
    a, b = copy.ids()[len(copy.ids()) // 2], copy.ids()[len(copy.ids()) // 2 + 5]
    copy.run(f"UPDATE {copy.table} SET {copy.id} = -1 WHERE {copy.id} = ?", a)
    copy.run(f"UPDATE {copy.table} SET {copy.id} = ? WHERE {copy.id} = ?", a, b)
    copy.run(f"UPDATE {copy.table} SET {copy.id} = ? WHERE {copy.id} = -1", b)
    problem = copy.verify().problems[0]
    assert "事件顺序被调换" in problem and f"事件 #{a} " in problem and f"原是事件 #{b}" in problem


def test_an_event_inserted(copy):
    at = len(copy.ids()) // 5
    after = copy.ids()[at]
    columns = "originator_id, originator_version, topic, state"
    (row,) = copy.rows(f"SELECT {columns} FROM {copy.table} WHERE {copy.id} = ?", after)
    copy.shift(after, 1)
    forged = (row[0], 10_000, row[2], bytes(row[3]))
    copy.run(f"INSERT INTO {copy.table} ({copy.id}, {columns}) VALUES (?, ?, ?, ?, ?)",
             after + 1, *forged)
    problem = copy.verify().problems[0]
    assert "事件被插入" in problem and f"第 {at + 2} 条" in problem


def test_the_tail_cut_across_a_checkpoint(copy):
    ids = copy.ids()
    given = printed_checkpoints(copy.settings)
    last = given[-1].size
    cut = ids[last - 10]
    copy.run(f"DELETE FROM {copy.table} WHERE {copy.id} > ?", cut)
    problems = copy.verify(given).problems
    assert "日志被截断" in problems[0] and f"第 {last - 8} 条" in problems[0]
    assert f"给出的存证（第 {last} 条）多于库中现有的 {last - 9} 条事件" in problems[-1]


def test_a_suffix_rewritten_and_resealed_with_the_stolen_key(copy):
    """The intruder has the database and var/seal.key: the store, the seal's leaves and every
    recorded checkpoint agree with each other again, and only a copy from outside tells."""
    given = printed_checkpoints(copy.settings)
    early, late = given[1], given[-1]
    target = next(i for i in copy.plain_ids() if i > copy.ids()[(early.size + late.size) // 2])
    (state,) = copy.rows(f"SELECT state FROM {copy.table} WHERE {copy.id} = ?", target)[0]
    copy.run(f"UPDATE {copy.table} SET state = ? WHERE {copy.id} = ?",
             bytes(state).replace(b'"', b"'", 1), target)
    reseal(copy)
    assert copy.verify().ok, "without a copy from outside the rewrite is invisible"
    report = copy.verify([early, late])
    assert len(report.problems) == 1, report.problems
    (problem,) = report.problems
    assert f"第 {early.size + 1} 至第 {late.size} 条之间被改写" in problem and "密钥须视为泄露" in problem


def reseal(copy: Copy) -> None:
    """What an intruder with the stolen key does: drop the seal, re-sign every checkpoint
    over the rewritten log, in log order, and seal it again."""
    copy.drop_seal()
    key = copy.settings.seal_key()
    suite = copy.settings.seal_suite
    app = copy.settings.build_app()
    try:
        for nid, raw in copy.rows(f"SELECT {copy.id}, state FROM {copy.table} WHERE topic = ? "
                                  f"ORDER BY {copy.id}", CHECKPOINT_TOPIC):
            state = json.loads(bytes(raw))
            sealer = copy.settings.sealer(app)
            sealer.follow()
            rows = sealer.store.leaves(0, state["size"])
            root = audit.seal_rules.root_of(suite, [bytes(h) for _, _, h in rows])
            if root.hex() == state["root"]:
                continue            # before the rewrite: left as it was
            state["root"] = root.hex()
            state["signature"] = key.sign(statement(
                state["county_code"], state["hash"], state["size"], root, state["at"])).hex()
            copy.drop_seal()
            copy.run(f"UPDATE {copy.table} SET state = ? WHERE {copy.id} = ?",
                     json.dumps(state).encode(), nid)
        copy.settings.sealer(app).follow()
    finally:
        app.close()


def test_the_export_verifies_offline_and_fails_when_a_line_is_edited(copy, tmp_path):
    target = tmp_path / "audit.jsonl"
    done = subprocess.run([XIAOHAO, "audit", "export", str(target)], capture_output=True,
                          text=True, env=env_for(copy.settings))
    assert done.returncode == 0, done.stderr
    verifier = tmp_path / "verify_seal.py"
    offline = [sys.executable, "-I", str(verifier), str(target)]
    good = subprocess.run(offline, capture_output=True, text=True, cwd=tmp_path)
    assert good.returncode == 0 and "verified" in good.stdout, good.stdout + good.stderr
    lines = target.read_text().splitlines()
    event = json.loads(lines[-40])
    event["event"]["originator_version"] += 1
    lines[-40] = json.dumps(event)
    target.write_text("\n".join(lines) + "\n")
    bad = subprocess.run(offline, capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "FAILED" in bad.stdout


def test_the_guomi_seal_sm3_and_sm2_verifies_online_and_offline(tmp_path, clock):
    """With XIAOHAO_SEAL_ALGORITHMS=sm3-sm2 the tree is SM3 and checkpoints are SM2-signed;
    the command and the offline verifier check both, and catch an edit."""
    settings = settings_for("sqlite", tmp_path, seal_algorithms="sm3-sm2")
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    run_scenario(app, clock, seed=9, steps=12)
    made = settings.sealer(app).checkpoint("测试")
    app.close()
    assert made["hash"] == "sm3" and made["signature_algorithm"] == "sm2"
    assert (settings.var_dir / "seal-sm2.key").stat().st_mode & 0o777 == 0o600
    env = env_for(settings)
    mixed = subprocess.run([XIAOHAO, "audit", "verify"], capture_output=True, text=True, env=env)
    assert mixed.returncode == 2 and "日志已按 SM3 封存" in mixed.stderr
    env["XIAOHAO_SEAL_ALGORITHMS"] = "sm3-sm2"
    verified = subprocess.run([XIAOHAO, "audit", "verify", "-c", f"{made['size']}:{made['root']}"],
                              capture_output=True, text=True, env=env)
    assert verified.returncode == 0 and "校验通过" in verified.stdout, verified.stdout
    target = tmp_path / "gm.jsonl"
    subprocess.run([XIAOHAO, "audit", "export", str(target)], check=True, env=env,
                   capture_output=True)
    assert json.loads(target.read_text().splitlines()[0])["seal"]["signature"] == "sm2"
    offline = [sys.executable, "-I", str(tmp_path / "verify_seal.py"), str(target)]
    assert subprocess.run(offline, capture_output=True).returncode == 0
    edited = target.read_text().replace('"originator_version": 3', '"originator_version": 4', 1)
    target.write_text(edited)
    assert subprocess.run(offline, capture_output=True).returncode == 1
