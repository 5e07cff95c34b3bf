"""The event store's part of a backup: a consistent copy taken while writers go on, the log
position that copy ends at, and putting it back into an empty store.

SQLite is copied with its online backup API; PostgreSQL with pg_dump of the store's schema,
run inside a snapshot this module exports, so the position it reads is exactly the dump's."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

from domain.application import XiaohaoApp
from xiaohao.backups.archive import EVENTS_POSTGRES, EVENTS_SQLITE, BackupError
from xiaohao.settings import Settings


class SqliteEvents:
    """The event store as one SQLite file under var/."""

    part = EVENTS_SQLITE

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check_source(self) -> None:
        if not self.settings.event_db.is_file():
            raise BackupError(f"找不到事件库 {self.settings.event_db}（XIAOHAO_VAR_DIR 是否正确？）")

    def facts(self) -> dict:
        return {}

    def dump(self, app: XiaohaoApp, into: Path) -> int:
        """Copy the store into `into` in one step (a read snapshot: writers are not blocked in
        WAL mode), check the copy, and return the last notification id in it."""
        source = sqlite3.connect(self.settings.event_db, timeout=30)
        copy = sqlite3.connect(into)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")       # one self-contained file
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("事件库副本未通过 SQLite 完整性检查")
            table = app.recorder.events_table_name
            return copy.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0] or 0
        finally:
            copy.close()
            source.close()

    def place(self, scratch: Path) -> Path:
        return self.settings.event_db

    def check_target(self, manifest: dict) -> None:
        """An empty var/ (checked by the caller) is an empty SQLite store."""

    def load(self, dump: Path) -> None:
        """The file is already in place."""


class PostgresEvents:
    """The event store as the tables of one schema in a PostgreSQL database."""

    part = EVENTS_POSTGRES

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema = settings.postgres_schema or "public"

    def _connect(self, **options):
        import psycopg

        return psycopg.connect(**self.settings.postgres_connect(), **options)

    def _client_env(self) -> dict[str, str]:
        s = self.settings
        env = os.environ | {"PGHOST": s.postgres_host, "PGPORT": str(s.postgres_port),
                            "PGUSER": s.postgres_user, "PGDATABASE": s.postgres_dbname}
        if s.postgres_password:
            env["PGPASSWORD"] = s.postgres_password
        return env

    def check_source(self) -> None:
        """The versions are checked by `facts`, which a backup asks for next."""

    def facts(self) -> dict:
        """The schema and the versions of pg_dump and the server; refused when pg_dump is
        older than the server (it could not read the server's catalogue)."""
        client = _major(_client_version("pg_dump"))
        with self._connect(autocommit=True) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
        if client < _major(server):
            raise BackupError(f"pg_dump 的版本（{client}）低于数据库服务器（{server}）：请安装与服务器"
                              f"相同或更新版本的 PostgreSQL 客户端（postgresql-client-{_major(server)}）")
        return {"schema": self.schema, "pg_dump": _client_version("pg_dump"), "server": server}

    def dump(self, app: XiaohaoApp, into: Path) -> int:
        import psycopg
        from psycopg import sql

        with self._connect() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            table = sql.Identifier(self.schema, app.recorder.events_table_name)
            position = conn.execute(sql.SQL("SELECT max(notification_id) FROM {}").format(table)
                                    ).fetchone()[0] or 0
            _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--schema={self.schema}",
                  "--no-owner", "--no-privileges", f"--file={into}"], self._client_env(), "pg_dump")
            conn.rollback()
        return position

    def place(self, scratch: Path) -> Path:
        return scratch / self.part

    def check_target(self, manifest: dict) -> None:
        """Refuse unless the backup's schema is the one configured and it is empty here (the
        schema's name is written into the store's own functions, so it cannot change)."""
        dumped = manifest.get("postgres", {})
        if dumped.get("schema") != self.schema:
            raise BackupError(f"备份来自模式 {dumped.get('schema')!r}，而当前配置的模式是 "
                              f"{self.schema!r}：请设置 XIAOHAO_POSTGRES_SCHEMA={dumped.get('schema')}"
                              "，并恢复到一个空的数据库")
        made_by = _major(dumped.get("pg_dump", "0"))
        if _major(_client_version("pg_restore")) < made_by:
            raise BackupError(f"pg_restore 的版本低于制作备份的 pg_dump（{made_by}），无法读取该备份")
        if self._objects_in_schema():
            raise BackupError(f"数据库 {self.settings.postgres_dbname} 的模式 {self.schema} 不是空的："
                              "恢复只写入空的数据库（或空的模式），不覆盖已有的数据")

    def _objects_in_schema(self) -> int:
        with self._connect(autocommit=True) as conn:
            return conn.execute(
                "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                "        WHERE n.nspname = %(s)s)"
                " + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                "    WHERE n.nspname = %(s)s)"
                " + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                "    WHERE n.nspname = %(s)s)", {"s": self.schema}).fetchone()[0]

    def _schema_exists(self) -> bool:
        with self._connect(autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                [self.schema]).fetchone() is not None

    def load(self, dump: Path) -> None:
        """pg_restore in one transaction: it restores all of the dump or nothing. An empty
        schema that already exists (`public`, or one made for the restore) is kept."""
        env = self._client_env()
        contents = _run(["pg_restore", "--list", str(dump)], env, "pg_restore")
        if self._schema_exists():
            contents = "\n".join(line for line in contents.splitlines()
                                 if not re.search(rf" SCHEMA - {re.escape(self.schema)} ", line))
        listing = dump.with_suffix(".list")
        listing.write_text(contents)
        _run(["pg_restore", "--single-transaction", "--exit-on-error", "--no-owner",
              "--no-privileges", f"--use-list={listing}", f"--dbname={self.settings.postgres_dbname}",
              str(dump)], env, "pg_restore")


def event_store(settings: Settings) -> SqliteEvents | PostgresEvents:
    if settings.store == "sqlite":
        return SqliteEvents(settings)
    if settings.store == "postgres":
        return PostgresEvents(settings)
    raise BackupError("内存事件库（XIAOHAO_STORE=memory）没有可备份或恢复的内容")


def _client_version(program: str) -> str:
    """"15.20" from "pg_dump (PostgreSQL) 15.20 (Debian ...)"."""
    found = re.search(r"\d+(\.\d+)*", _run([program, "--version"], None, program))
    return found.group(0) if found else "0"


def _major(version: str) -> int:
    return int(version.split(".")[0])


def _run(command: list[str], env: dict[str, str] | None, program: str) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"找不到 {program}：请安装 PostgreSQL 客户端（如 postgresql-client）") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["（无输出）"])[-1]
        raise BackupError(f"{program} 失败：{last}")
    return done.stdout
