"""One Settings object: every configurable value, read from XIAOHAO_* variables or a .env file."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.application import XiaohaoApp
from domain.clock import Clock, ShiftedClock, SystemClock

CLOCK_FILE = "clock.json"
SECRET_KEY_FILE = "secret.key"
SEAL_KEY_FILE, SEAL_SM2_KEY_FILE = "seal.key", "seal-sm2.key"


def made_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, made by `make` when it does not exist yet. Written aside, then linked
    into place: of processes starting together one wins, and none ever reads a half-written
    (or empty) file. Only its owner may read it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, aside = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        with os.fdopen(handle, "wb") as out:
            out.write(make())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(aside)
    return path.read_bytes()


class Settings(BaseSettings):
    """Where events live, which county this is, and how the server listens."""

    model_config = SettingsConfigDict(env_prefix="XIAOHAO_", env_file=".env", extra="ignore")

    store: Literal["memory", "sqlite", "postgres"] = "sqlite"
    var_dir: Path = Path("var")
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "xiaohao"
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_schema: str = ""
    county_code: str = "SS"
    county_name: str = "泗水县"
    cache_size: int = 2000
    reference_ttl_seconds: float = 1.0
    host: str = "127.0.0.1"
    port: int = 8000
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # Password checks at once (each takes argon2_memory_kib), and how long a sign-in waits
    # for a turn before it is refused (登录人数过多).
    sign_in_concurrency: int = Field(default=2, ge=1, le=32)
    sign_in_wait_seconds: float = Field(default=3, gt=0, le=60)
    # Pages drawn at once (web/turns.py); the others wait their turn. Unset: one per core the
    # process may run on.
    pages_at_once: int | None = Field(default=None, ge=1, le=64)
    # Proxies whose X-Forwarded-For is believed (comma list of IPs or CIDRs); from any other
    # peer the header is ignored and the peer is the source.
    trusted_proxies: str = ""
    # How many nodes (web processes or schedulers, on one store) serve this county. With more
    # than one, every key must be configured, the same on each: none may be made for itself.
    nodes: int = Field(default=1, ge=1, le=64)
    # The web: session cookies are signed with `secret_key` (var/secret.key is made on first
    # use when it is empty) and end after `session_idle_minutes` without a request.
    secret_key: str = ""
    session_idle_minutes: int = 30
    secure_cookies: bool = False        # true when served over HTTPS
    warn_days: int = Field(default=3, ge=0, le=60)   # a deadline this close: a yellow light
    # 差异系数: weighted by enrolment (the Ministry's 2012 method) unless the county says plain
    cv_weighting: Literal["weighted", "plain"] = "weighted"
    # A rectification photo taken farther than this from its school is flagged (when the
    # directory has the school's coordinates): domain/evidence_checks.py.
    photo_distance_m: int = Field(default=1000, ge=50, le=100_000)
    upload_limit_mb: int = 20           # each evidence file
    # Where evidence files live: var/evidence unless given; with several nodes, a folder every
    # node mounts (NFS or the like), so a photo uploaded through one is downloaded from another.
    evidence_dir: Path | None = None
    # What one account may upload in a Beijing day, over pages and the API.
    upload_quota_mb_per_day: int = Field(default=500, ge=1, le=100_000)
    # The cycle, Beijing time: weekly runs as "DAY HH:MM", the others "HH:MM".
    scheduler: bool = True              # `serve` runs the scheduler; false when it runs alone
    checklist_at: str = "mon 08:00"
    bulletin_at: str = "fri 16:00"
    recheck_at: str = "09:00"           # on the first working day of each month
    reminders_at: str = "08:30"         # on every working day
    missed_runs_days: int = Field(default=35, ge=1, le=400)   # made up at start, no older
    # A bulletin is a draft until the office signs it (签发), numbered from this pattern with
    # a serial per year (the seed county's, as county_name is). Left unsigned for
    # `bulletin_sign_within_hours`, it is signed as it stands when `bulletin_auto_sign` says
    # so; otherwise the office is reminded.
    bulletin_number_pattern: str = "泗创办通〔{year}〕{serial}号"
    bulletin_sign_within_hours: float = Field(default=2, gt=0, le=24 * 14)
    bulletin_auto_sign: bool = False
    scheduler_tick_seconds: float = Field(default=30, gt=0)
    # How often a node's read models look for new events when nothing wakes them (on
    # PostgreSQL a NOTIFY wakes them at once; this is the fallback).
    read_follow_seconds: float = Field(default=0.5, gt=0, le=60)
    # Schedulers on one store (several `serve` nodes, or `xiaohao scheduler` twice): one leads;
    # the others try for the lead this often, and one takes over when the leader dies.
    scheduler_contend_seconds: float = Field(default=5, gt=0, le=60)
    # Where digests go: a Maildir under var/outbox (shown as 发件箱), SMTP, or a webhook.
    mail_channel: Literal["outbox", "smtp", "webhook"] = "outbox"
    mail_from: str = "xiaohao@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_ca_file: str = ""              # a CA certificate to trust besides the system's
    webhook_url: str = Field(default="", validate_default=True)
    webhook_format: Literal["json", "wecom", "dingtalk"] = "json"
    delivery_timeout_seconds: float = Field(default=10, gt=0)
    delivery_max_failures: int = Field(default=5, ge=1, le=50)
    delivery_backoff_seconds: float = Field(default=60, ge=0)   # doubled after each failure
    # Where the system is reached from a reader's mail: links to a ticket are this + /tickets/N.
    base_url: str = Field(default="http://127.0.0.1:8000", validate_default=True)
    # A ticket event older than this is not told (a first start does not tell old history).
    notice_max_age_days: int = Field(default=7, ge=1, le=60)
    # The sealed log (README, Audit): its hash and signature, and the signing key's file
    # (made on first use under var/ when empty; keep it as secret as the store).
    seal_algorithms: Literal["sha256-ed25519", "sm3-sm2"] = "sha256-ed25519"
    seal_key_file: Path | None = None

    @field_validator("checklist_at", "bulletin_at")
    @classmethod
    def _weekly(cls, value: str) -> str:
        from scheduler.schedule import weekly

        weekly(value)
        return value.strip().lower()

    @field_validator("bulletin_number_pattern")
    @classmethod
    def _document_number(cls, value: str) -> str:
        from domain.cycle import check_number_pattern
        from domain.errors import DomainError

        try:
            return check_number_pattern(value.strip())
        except DomainError as error:
            raise ValueError(str(error)) from None

    @field_validator("recheck_at", "reminders_at")
    @classmethod
    def _daily(cls, value: str) -> str:
        from scheduler.schedule import daily

        daily(value)
        return value.strip()

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("mail_channel") == "webhook" and not value.startswith(("http://",
                                                                               "https://")):
            raise ValueError("邮件渠道为 webhook 时须给出 http:// 或 https:// 开头的地址")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        from web.proxies import networks

        networks(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("XIAOHAO_BASE_URL 须以 http:// 或 https:// 开头，"
                             "如 https://xiaohao.sishui.gov.cn")
        return value.rstrip("/")

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    def schedule(self):
        from scheduler.schedule import Schedule

        return Schedule(self.checklist_at, self.bulletin_at, self.recheck_at, self.reminders_at)

    @property
    def evidence_root(self) -> Path:
        """Where evidence files are kept: `evidence_dir` when given (a folder every node
        reaches), else var/evidence."""
        return self.evidence_dir or self.var_dir / "evidence"

    @property
    def event_db(self) -> Path:
        return self.var_dir / "events.sqlite3"

    @property
    def read_db(self) -> Path:
        """This process's read models; every process keeps its own."""
        return self.var_dir / "read.sqlite3"

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing environment for the chosen store."""
        env = {"AGGREGATE_CACHE_MAXSIZE": str(self.cache_size)}
        if self.store == "sqlite":
            self.var_dir.mkdir(parents=True, exist_ok=True)
            env |= {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(self.event_db), "SQLITE_LOCK_TIMEOUT": "30"}
        elif self.store == "postgres":
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_HOST": self.postgres_host, "POSTGRES_PORT": str(self.postgres_port),
                "POSTGRES_DBNAME": self.postgres_dbname, "POSTGRES_USER": self.postgres_user,
                "POSTGRES_PASSWORD": self.postgres_password,
                "POSTGRES_SCHEMA": self.postgres_schema, "CREATE_TABLE": "y",
            }
        return env

    def check_nodes(self) -> None:
        """With more than one node, refuse to start with a key a node would make for itself
        (each would sign sessions and checkpoints its own way), evidence kept where only one
        node finds it, or on a store only one machine can reach."""
        if self.nodes == 1:
            return
        missing = [name for name, given in (("XIAOHAO_SECRET_KEY", self.secret_key),
                                            ("XIAOHAO_SEAL_KEY_FILE", self.seal_key_file),
                                            ("XIAOHAO_EVIDENCE_DIR", self.evidence_dir))
                   if not given]
        if self.store != "postgres":
            missing.append("XIAOHAO_STORE=postgres")
        if missing:
            from domain.errors import InvalidInputError

            raise InvalidInputError(
                f"XIAOHAO_NODES={self.nodes}：多个节点须共用同一 PostgreSQL 库、同一组密钥和"
                f"同一证据文件目录，不能由节点自行生成；请设置 {'、'.join(missing)}")

    def session_secret(self) -> str:
        """The key that signs session cookies: the setting, or one kept under var/."""
        if self.secret_key:
            return self.secret_key
        return made_once(self.var_dir / SECRET_KEY_FILE,
                         lambda: secrets.token_urlsafe(48).encode()).decode().strip()

    @property
    def seal_suite(self):
        from domain.seal import Suite

        return Suite(self.seal_algorithms.split("-")[0])

    def seal_key(self):
        """The key that signs checkpoints: XIAOHAO_SEAL_KEY_FILE, or one made under var/."""
        from xiaohao.adapters import seal_keys

        if self.seal_algorithms == "sm3-sm2":
            path = self.seal_key_file or self.var_dir / SEAL_SM2_KEY_FILE
            return seal_keys.Sm2Key(made_once(path, seal_keys.new_sm2))
        path = self.seal_key_file or self.var_dir / SEAL_KEY_FILE
        return seal_keys.Ed25519Key(made_once(path, seal_keys.new_ed25519))

    def seal_leaves(self):
        """Where the seal keeps its leaves: the event store's own database."""
        from xiaohao.adapters.seal_store import SealInMemory, SealInPostgres, SealInSqlite

        if self.store == "sqlite":
            return SealInSqlite(self.event_db)
        if self.store == "postgres":
            return SealInPostgres(self.postgres_connect(), self.postgres_schema)
        return SealInMemory()

    def sealer(self, app: XiaohaoApp):
        from domain.checkpoints import Sealer
        from xiaohao.adapters.seal_store import StoredInSqlite

        stored = StoredInSqlite(self.event_db, app.recorder.events_table_name) \
            if self.store == "sqlite" else None
        return Sealer(app, self.seal_leaves(), self.seal_key(), self.seal_suite, stored=stored)

    def clock(self) -> Clock:
        """Real time, unless the demo left a clock file that moves "now" into the demo's weeks."""
        path = self.var_dir / CLOCK_FILE
        if path.exists():
            offset = json.loads(path.read_text())["offset_seconds"]
            return ShiftedClock(timedelta(seconds=offset))
        return SystemClock()

    def pin_clock(self, now: datetime) -> None:
        """Make `now` the present for later runs (the demo ends its simulated weeks here)."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        offset = (now - datetime.now(UTC)).total_seconds()
        (self.var_dir / CLOCK_FILE).write_text(json.dumps({"offset_seconds": offset}))

    def build_app(self, clock: Clock | None = None) -> XiaohaoApp:
        hasher = PasswordHasher(time_cost=self.argon2_time_cost,
                                memory_cost=self.argon2_memory_kib)
        with self._schema_lock():
            return XiaohaoApp(env=self.event_store_env(), clock=clock or self.clock(),
                              county_code=self.county_code, password_hasher=hasher,
                              reference_ttl=self.reference_ttl_seconds,
                              photo_distance_m=self.photo_distance_m,
                              source_failures=self.source_failures(),
                              cv_weighted=self.cv_weighting == "weighted",
                              bulletin_number_pattern=self.bulletin_number_pattern)

    def source_failures(self):
        """Where failed sign-ins are counted per source: the event store's database, so that
        every web node on it refuses the same source (the domain's own, in memory, for the
        memory store)."""
        from xiaohao.adapters.counters import SignInFailures

        counts = self.shared_counts()
        return SignInFailures(counts) if counts else None

    def upload_quota(self):
        """Each account's uploads per day, counted where every web node sees them."""
        from xiaohao.adapters.counters import CountsInMemory, DailyUploads

        return DailyUploads(self.shared_counts() or CountsInMemory(),
                            self.upload_quota_mb_per_day * 2**20)

    def wakeups(self, app):
        """What wakes a node's read models when events are stored: PostgreSQL's NOTIFY (the
        trigger installed on first use); None on SQLite and in memory, where they poll."""
        if self.store != "postgres":
            return None
        from xiaohao.adapters.wakeups import PostgresWakeups

        wakeups = PostgresWakeups(self.postgres_connect(), self.postgres_schema,
                                  app.recorder.events_table_name)
        wakeups.install()
        return wakeups

    def leadership(self):
        """Which scheduler on this store leads: a PostgreSQL advisory lock named for the
        schema and county, or a lock file beside the SQLite event store (None in memory)."""
        from xiaohao.adapters.leading import LeadInFile, LeadInPostgres

        if self.store == "postgres":
            return LeadInPostgres(self.postgres_connect(),
                                  f"xiaohao-scheduler:{self.postgres_schema}:{self.county_code}")
        if self.store == "sqlite":
            return LeadInFile(self.var_dir / "scheduler.lock")
        return None

    def shared_counts(self):
        """The counts table in the event store's database; None for the memory store."""
        from xiaohao.adapters.counters import CountsInPostgres, CountsInSqlite

        if self.store == "sqlite":
            return CountsInSqlite(self.event_db)
        if self.store == "postgres":
            return CountsInPostgres(self.postgres_connect(), self.postgres_schema)
        return None

    def postgres_connect(self) -> dict:
        """psycopg.connect's arguments for the event store's database."""
        return dict(host=self.postgres_host, port=self.postgres_port,
                    dbname=self.postgres_dbname, user=self.postgres_user,
                    password=self.postgres_password or None)

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Serialise table creation when several processes start at once on one PostgreSQL
        (concurrent CREATE ... IF NOT EXISTS fails with "tuple concurrently updated")."""
        if self.store != "postgres":
            yield
            return
        import psycopg

        with psycopg.connect(**self.postgres_connect(), autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('xiaohao-create-tables'))")
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext('xiaohao-create-tables'))")
