"""Backups that restore (#12): a backup taken while tickets are opened and acted on restores
into an empty var/ (and an empty PostgreSQL database) with every ticket acknowledged before it
began, identical, and every evidence file matching its hash; a damaged backup, or a target
that is not empty, restores nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from tests.conftest import PG, open_at_school_a, require_postgres, seed_small_county, settings_for
from xiaohao import wiring
from xiaohao.backups import BackupError, make_backup, restore_backup
from xiaohao.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
XIAOHAO = [sys.executable, "-c", "from xiaohao.cli import main; main()"]


def xiaohao(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """The `xiaohao` command in a process of its own, configured as `settings` is."""
    env = os.environ | {
        "XIAOHAO_STORE": settings.store, "XIAOHAO_VAR_DIR": str(settings.var_dir),
        "XIAOHAO_POSTGRES_DBNAME": settings.postgres_dbname,
        "XIAOHAO_POSTGRES_SCHEMA": settings.postgres_schema,
        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": "8192"}
    return subprocess.run([*XIAOHAO, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def photo(*seed: int) -> bytes:
    """A small PNG of its own colour, so that each one is a file of its own."""
    out = io.BytesIO()
    Image.new("RGB", (2, 2), tuple(s % 256 for s in seed[:3])).save(
        out, "PNG", pnginfo=_text(seed))
    return out.getvalue()


def _text(seed):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("seed", repr(seed))
    return info


def digests(value) -> set[str]:
    """Every sha256 a ticket's history names."""
    if isinstance(value, dict):
        found = {value["sha256"]} if isinstance(value.get("sha256"), str) else set()
        return found.union(*(digests(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(digests(v) for v in value))
    return set()


class Load:
    """Worker threads that open tickets with a photo, assign, rectify with a photo and now and
    then pass and close them, until stopped; each command's return is noted with the moment."""

    def __init__(self, settings: Settings, workers: int = 4) -> None:
        self.app = settings.build_app()
        self.evidence = wiring.evidence(settings)
        self.acks: list[tuple[float, str, int]] = []
        self.unnamed: list[str] = []
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(w,)) for w in range(workers)]

    def _ack(self, number: str, version: int) -> None:
        self.acks.append((time.monotonic(), number, version))

    def _work(self, worker: int) -> None:
        app, deadline = self.app, self.app.today() + timedelta(days=30)
        try:
            for i in range(1, 100_000):
                if self.stopping.is_set():
                    return
                before = self.evidence.store(photo(worker, i, 1, 7), "整改前.png")
                number = open_at_school_a(app, evidence=[before])
                self._ack(number, 1)
                self._ack(number, app.assign(number, "office", lead_unit_id="TA-P01",
                                             deadline=deadline))
                after = self.evidence.store(photo(worker, i, 2, 9), "整改后.png")
                self._ack(number, app.rectify(number, "school_a", measures="已分班",
                                              evidence=[after]))
                if i % 3 == 0:
                    self._ack(number, app.reinspect(number, "insp", passed=True))
                    self._ack(number, app.close_ticket(number, "office"))
                if i % 4 == 0:     # uploaded, never named by a command
                    self.unnamed.append(self.evidence.store(photo(worker, i, 3, 5), "x.png").sha256)
        except BaseException as error:       # noqa: BLE001 - reported by the test
            self.errors.append(error)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def wait_for(self, count: int) -> None:
        while len(self.acks) < count and not self.errors:
            time.sleep(0.01)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()
        assert not self.errors, self.errors


@pytest.fixture
def empty_database():
    """A new, empty PostgreSQL database, dropped afterwards."""
    require_postgres()
    name = f"xh_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**PG, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(**PG, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def source_and_target(store: str, tmp_path: Path, request) -> tuple[Settings, Settings]:
    """Settings of a live store and of an empty place to restore it (for PostgreSQL, a schema
    of the `test` database and a new database holding nothing)."""
    if store == "postgres":
        schema = request.getfixturevalue("pg_schema")
        database = request.getfixturevalue("empty_database")
        return (settings_for("postgres", tmp_path / "live", schema),
                settings_for("postgres", tmp_path / "elsewhere", schema, postgres_dbname=database))
    return settings_for("sqlite", tmp_path / "live"), settings_for("sqlite", tmp_path / "elsewhere")


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_backup_taken_under_load_restores_every_acknowledged_ticket(store, tmp_path, request):
    live, elsewhere = source_and_target(store, tmp_path, request)
    seed_small_county(live.build_app())
    live.session_secret()                                   # var/secret.key, as `serve` makes it
    load = Load(live)
    load.start()
    try:
        load.wait_for(60)
        began = time.monotonic()
        made = xiaohao(live, "backup", str(tmp_path / "nightly.xhbak"))
        ended = time.monotonic()
        load.wait_for(len(load.acks) + 20)                 # writes go on after the snapshot
    finally:
        load.stop()
    assert made.returncode == 0, made.stderr
    assert any(began < at < ended for at, _, _ in load.acks), "no write overlapped the backup"
    assert os.stat(tmp_path / "nightly.xhbak").st_mode & 0o777 == 0o600

    restored = xiaohao(elsewhere, "restore", str(tmp_path / "nightly.xhbak"))
    assert restored.returncode == 0, restored.stderr
    assert "读模型已重建" in restored.stdout

    app, source = elsewhere.build_app(), load.app
    acknowledged: dict[str, int] = {}
    for at, number, version in load.acks:
        if at < began:
            acknowledged[number] = max(version, acknowledged.get(number, 0))
    identical = 0
    for number, version in acknowledged.items():
        mine, history = app.ticket(number), app.ticket_history(number)
        assert mine["version"] >= version
        assert history == source.ticket_history(number)[:len(history)]
        if mine["version"] == source.ticket(number)["version"]:
            assert mine == source.ticket(number)
            identical += 1
    assert identical > 0
    # The restored log ends where the backup's snapshot did, before the writes that came after.
    head = app.recorder.max_notification_id()
    assert 0 < head < source.recorder.max_notification_id()
    # The read models were rebuilt from the restored log: one row per ticket in it, as it is.
    with sqlite3.connect(elsewhere.read_db) as read:
        rows = dict(read.execute("SELECT number, version FROM tickets"))
    assert set(acknowledged) <= set(rows)
    assert all(app.ticket(number)["version"] == version for number, version in rows.items())
    # Every file the restored tickets name is there, and is what its name says.
    named = set().union(*(digests(app.ticket_history(number)) for number in rows))
    files = wiring.evidence(elsewhere)
    assert named and all(hashlib.sha256(files.path(d).read_bytes()).hexdigest() == d
                         for d in named)
    assert not any(files.path(d).exists() for d in set(load.unnamed) - named)
    assert (elsewhere.var_dir / "secret.key").read_text() == live.session_secret()
    # The restored store takes new work: its counters and (on PostgreSQL) its sequence go on.
    number = open_at_school_a(app)
    assert app.ticket(number)["version"] == 1 and app.recorder.max_notification_id() > head
    app.close()


@pytest.fixture
def small_store(tmp_path) -> Settings:
    """A small county with one ticket carrying a photo, and a session key."""
    settings = settings_for("sqlite", tmp_path / "live")
    app = settings.build_app()
    seed_small_county(app)
    open_at_school_a(app, evidence=[wiring.evidence(settings).store(photo(1, 2, 3), "a.png")])
    app.close()
    settings.session_secret()
    return settings


def test_a_backup_is_one_file_for_its_owner_only_and_restores_whole(small_store, tmp_path):
    made = make_backup(small_store, tmp_path / "b.xhbak")
    assert os.stat(made.path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xhbak")] == []
    with tarfile.open(made.path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["store"] == "sqlite" and manifest["county_code"] == "SS"
    assert manifest["log_position"] == made.log_position > 0
    assert {p["name"] for p in manifest["parts"]} >= {"events.sqlite3", "keys/secret.key"}
    assert made.evidence_files == 1 and made.missing_evidence == []

    elsewhere = settings_for("sqlite", tmp_path / "elsewhere")
    restore_backup(elsewhere, made.path)
    before, after = small_store.build_app(), elsewhere.build_app()
    assert after.ticket("SS-2026-0001") == before.ticket("SS-2026-0001")
    assert elsewhere.session_secret() == small_store.session_secret()
    for path in [elsewhere.var_dir, *elsewhere.var_dir.rglob("*")]:
        if path != elsewhere.read_db:
            assert path.stat().st_mode & 0o077 == 0, path


def test_a_backup_says_which_named_files_it_could_not_hold(small_store, tmp_path):
    digest = small_store.build_app().ticket("SS-2026-0001")["evidence_before"][0]["sha256"]
    wiring.evidence(small_store).path(digest).unlink()
    made = xiaohao(small_store, "backup", str(tmp_path / "b.xhbak"))
    assert made.returncode == 1 and digest in made.stderr       # cron mails it; the file is kept
    elsewhere = settings_for("sqlite", tmp_path / "elsewhere")
    restored = xiaohao(elsewhere, "restore", str(tmp_path / "b.xhbak"))
    assert restored.returncode == 0 and "已缺少 1 个证据文件" in restored.stderr
    assert elsewhere.build_app().ticket("SS-2026-0001") == small_store.build_app().ticket(
        "SS-2026-0001")


def test_a_backup_never_overwrites_a_file(small_store, tmp_path):
    target = tmp_path / "b.xhbak"
    target.write_text("an older backup")
    with pytest.raises(BackupError, match="文件已存在"):
        make_backup(small_store, target)
    assert target.read_text() == "an older backup"


def test_a_backup_into_a_folder_that_is_not_there_is_refused(small_store, tmp_path):
    with pytest.raises(BackupError, match="备份文件所在的目录不存在"):
        make_backup(small_store, tmp_path / "no such folder" / "b.xhbak")


def _flip_byte_in(member_prefix: str):
    def damage(path: Path) -> None:
        with tarfile.open(path) as tar:
            member = next(m for m in tar if m.name.startswith(member_prefix))
        with path.open("r+b") as out:
            out.seek(member.offset_data + member.size // 2)
            byte = out.read(1)
            out.seek(-1, io.SEEK_CUR)
            out.write(bytes([byte[0] ^ 0x01]))
    return damage


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _drop_evidence(path: Path) -> None:
    rewritten = path.with_suffix(".new")
    with tarfile.open(path) as old, tarfile.open(rewritten, "w") as new:
        for member in old:
            if not member.name.startswith("evidence/"):
                new.addfile(member, old.extractfile(member))
    rewritten.replace(path)


@pytest.mark.parametrize("damage", [_flip_byte_in("evidence/"), _flip_byte_in("events."),
                                    _flip_byte_in("keys/"), _truncate, _drop_evidence],
                         ids=["evidence", "events", "key", "truncated", "part missing"])
def test_a_damaged_backup_is_refused_and_restores_nothing(small_store, tmp_path, damage):
    made = make_backup(small_store, tmp_path / "b.xhbak")
    damage(made.path)
    elsewhere = settings_for("sqlite", tmp_path / "elsewhere")
    with pytest.raises(BackupError, match="备份文件已损坏或不完整，未恢复任何内容"):
        restore_backup(elsewhere, made.path)
    assert not elsewhere.var_dir.exists()


def test_the_command_refuses_a_damaged_backup_in_one_line(small_store, tmp_path):
    made = make_backup(small_store, tmp_path / "b.xhbak")
    _flip_byte_in("events.")(made.path)
    elsewhere = settings_for("sqlite", tmp_path / "elsewhere")
    refused = xiaohao(elsewhere, "restore", str(made.path))
    assert refused.returncode == 2
    assert refused.stderr.startswith("xiaohao: 错误：备份文件已损坏或不完整，未恢复任何内容：events.sqlite3")
    assert not elsewhere.var_dir.exists()


def test_a_restore_into_a_var_that_is_not_empty_is_refused(small_store, tmp_path):
    made = make_backup(small_store, tmp_path / "b.xhbak")
    elsewhere = settings_for("sqlite", tmp_path / "elsewhere")
    elsewhere.var_dir.mkdir(parents=True)
    (elsewhere.var_dir / "notes.txt").write_text("mine")
    with pytest.raises(BackupError, match="不是空的"):
        restore_backup(elsewhere, made.path)
    assert [p.name for p in elsewhere.var_dir.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("store, overrides, says", [("sqlite", {"county_code": "QF"}, "县代码 SS"),
                                                   ("postgres", {}, "sqlite 事件库的备份")])
def test_a_backup_of_another_county_or_store_is_refused(small_store, tmp_path, store, overrides,
                                                        says):
    made = make_backup(small_store, tmp_path / "b.xhbak")
    elsewhere = settings_for(store, tmp_path / "elsewhere", **overrides)
    with pytest.raises(BackupError, match=says):
        restore_backup(elsewhere, made.path)
    assert not elsewhere.var_dir.exists()


@pytest.mark.postgres
def test_a_restore_into_a_postgres_schema_that_is_not_empty_is_refused(pg_schema, tmp_path):
    live = settings_for("postgres", tmp_path / "live", pg_schema)
    app = live.build_app()
    seed_small_county(app)
    app.close()
    made = make_backup(live, tmp_path / "b.xhbak")
    assert made.log_position > 0
    same_schema = settings_for("postgres", tmp_path / "elsewhere", pg_schema)
    with pytest.raises(BackupError, match=f"模式 {pg_schema} 不是空的"):
        restore_backup(same_schema, made.path)
    assert not same_schema.var_dir.exists()
    assert same_schema.build_app().recorder.max_notification_id() == made.log_position
