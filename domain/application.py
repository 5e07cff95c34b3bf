"""XiaohaoApp: the whole write API. Every method is get -> command -> save and returns plain data."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Transcoding
from eventsourcing.utils import Environment

from domain.account import Account, account_id, password_problem
from domain.actor import SYSTEM, SYSTEM_ACTOR, Actor
from domain.api_tokens import ApiTokens
from domain.assessing import AssessmentCommands
from domain.clock import Clock, SystemClock, beijing_date
from domain.commands import command as catalogue_command
from domain.cycle import DocumentSerials, check_number_pattern
from domain.cycle_commands import CycleCommands
from domain.directory import Directory, directory_id
from domain.errors import (
    AccountDisabledError,
    DomainError,
    DuplicateError,
    InvalidInputError,
    NotPermittedError,
    StaleVersionError,
    UnknownReferenceError,
)
from domain.idempotency import Idempotency
from domain.numbering import TicketCounter
from domain.recent import RecentReads
from domain.school_year import FiguresCommands, SchoolYearFigures
from domain.signing_in import FailuresInMemory, SigningIn, SourceFailures
from domain.ticketing import TicketCommands
from domain.values import Role, clean_text, require_id
from domain.visibility import sight_of

LOGIN_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{1,39}")


def _roles_of(account: Account) -> str:
    """An account's roles as a refusal names them ("督查员", "责任单位、包保领导"): the role
    says why, a login would not."""
    return "、".join(Role(r).label for r in account.roles) or "该账号"


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class XiaohaoApp(TicketCommands, CycleCommands, FiguresCommands, AssessmentCommands, SigningIn,
                 ApiTokens, Idempotency, Application):
    """The 问题销号 application of one county."""

    name = "xiaohao"
    snapshotting_intervals = {TicketCounter: 1000, Directory: 100, SchoolYearFigures: 20,
                              DocumentSerials: 100}

    def __init__(
        self, env: dict[str, str] | None = None, *, clock: Clock | None = None,
        county_code: str = "SS", password_hasher: PasswordHasher | None = None,
        reference_ttl: float = 1.0, photo_distance_m: int = 1000,
        source_failures: SourceFailures | None = None, cv_weighted: bool = True,
        bulletin_number_pattern: str = "创办通〔{year}〕{serial}号",
    ) -> None:
        self.clock = clock or SystemClock()
        self.recent = RecentReads(reference_ttl)
        self._get_lock = threading.Lock()
        self._numbering = threading.Lock()   # see TicketCommands.open_ticket
        self._waiting_lock = threading.Lock()
        self._waiting: list = []
        self.county_code = county_code
        self.photo_distance_m = photo_distance_m   # see domain/evidence_checks.py
        self.cv_weighted = cv_weighted   # 差异系数 weighted by enrolment, else plain (#14)
        # a bulletin's 文号 (#15)
        self.bulletin_number_pattern = check_number_pattern(bulletin_number_pattern)
        self.hasher = password_hasher or PasswordHasher()
        # Shared by every node when the store is a database (xiaohao/adapters/counters.py).
        self.source_failures = source_failures or FailuresInMemory()
        super().__init__(env)

    def construct_env(self, name: str, env: dict[str, str] | None = None) -> Environment:
        # Settings is the one source of configuration, so unlike the library's default
        # the process environment is not read here.
        values = {"IS_SNAPSHOTTING_ENABLED": "y", **(env or {})}
        return Environment(name, values)

    def register_transcodings(self, transcoder: Any) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- plumbing --------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return beijing_date(self.clock.now())

    def _save(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.recent.forget(aggregate.id)
        try:
            self.save(*self._with_pending_key(aggregates))
        except IntegrityError:
            raise self._replayed() or StaleVersionError("数据已被他人同时修改，请刷新后重试") from None
        self._after_save()

    def _get(self, aggregate_id: UUID, missing: str) -> Any:
        """A private copy of an aggregate, or `missing` as an UnknownReferenceError.

        The repository fast-forwards its cached aggregate in place and then copies it; two
        threads doing that at once can copy a dict while it grows. Gets are serialised here
        so that every copy is taken from a cached aggregate nobody is changing."""
        try:
            with self._get_lock:
                return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise UnknownReferenceError(missing) from None

    def directory(self) -> Directory:
        """A copy of the directory read at most `reference_ttl` seconds ago, shared by readers:
        never mutate it."""
        key = directory_id(self.county_code)
        return self.recent.get(key, lambda: self._get(key, "目录尚未建立，请先运行 xiaohao init"))

    def _account(self, login: str) -> Account:
        key = account_id(require_id(login, "账号"))
        return self.recent.get(key, lambda: self._get(key, f"未知的账号：{login}"))

    # -- who is acting ---------------------------------------------------------------------

    def actor(self, login: str, command: str) -> Actor:
        """The account acting in the first of its roles that may perform the command."""
        if login == SYSTEM:
            return SYSTEM_ACTOR
        account = self._account(login)
        if account.disabled:
            raise AccountDisabledError(f"账号 {login} 已停用")
        spec = catalogue_command(command)
        role = next((Role(r) for r in account.roles if Role(r) in spec.roles), None)
        if role is None:
            raise NotPermittedError(f"{_roles_of(account)}无权{spec.label}")
        # Only a leader's acting sight needs the directory (its 包保); a unit acts on what it
        # leads or shares, whatever a town's account may read.
        directory = self.directory() if role is Role.LEADER else None
        sight = sight_of([role], account.unit_id, account.person_id, directory, self.today())
        return Actor(account.login, account.name, role, account.unit_id, account.person_id, sight)

    def _require_keeper_of(self, by: str, account: Account) -> Actor:
        """The office keeps every account but an auditor's: an auditor checks the office, so
        only the operator (the `xiaohao` command on the server, acting as system) may reset,
        disable or enable one."""
        actor = self._require_office(by)
        if Role.AUDITOR.value in account.roles and actor.login != SYSTEM:
            raise NotPermittedError("审计账号只能由运维人员在服务器上用 xiaohao 命令重设密码、"
                                    "停用或启用，创建办无权操作")
        return actor

    def _require_office(self, login: str, doing: str = "维护组织机构和账号") -> Actor:
        """The office acting (or the system); anyone else is told what they may not do."""
        if login == SYSTEM:
            return SYSTEM_ACTOR
        account = self._account(login)
        if account.disabled or Role.OFFICE.value not in account.roles:
            raise NotPermittedError(f"{_roles_of(account)}无权{doing}")
        return Actor(account.login, account.name, Role.OFFICE, account.unit_id,
                     account.person_id)

    # -- directory -------------------------------------------------------------------------

    def start_directory(self, county_name: str) -> None:
        """Create the county's directory with the county itself as the root unit (idempotent)."""
        try:
            self.directory()
            return
        except UnknownReferenceError:
            pass
        directory = Directory(
            county_code=self.county_code, county_name=county_name, timestamp=self.now()
        )
        directory.add_unit(
            code=self.county_code, name=county_name, kind="county", parent=None, level=None,
            at=self.now(),
        )
        self._save(directory)

    def _edit_directory(self, by: str, method: str, **kwargs: Any) -> None:
        self._require_office(by)
        directory = self._get(directory_id(self.county_code), "目录尚未建立")
        getattr(directory, method)(at=self.now(), **kwargs)
        self._save(directory)

    def add_unit(self, by: str, *, code: str, name: str, kind: str, parent: str,
                 level: str | None = None) -> None:
        self._edit_directory(by, "add_unit", code=code, name=name, kind=kind, parent=parent,
                             level=level)

    def register_person(self, by: str, *, person_id: str, name: str, title: str, unit_id: str,
                        email: str = "", phone: str = "") -> None:
        self._edit_directory(by, "register_person", person_id=person_id, name=name, title=title,
                             unit_id=unit_id, email=email, phone=phone)

    def update_person(self, by: str, person_id: str, **changes: str) -> None:
        self._edit_directory(by, "update_person", person_id=person_id, changes=changes)

    def locate_unit(self, by: str, *, code: str, latitude: float, longitude: float) -> None:
        self._edit_directory(by, "locate_unit", code=code, latitude=latitude,
                             longitude=longitude)

    def choose_notification(self, by: str, mode: str, person_id: str | None = None) -> None:
        """How a person is told (NOTIFY_MODES): an account chooses for its own person, the
        office for anyone."""
        account = self._account(by)
        if person_id in (None, account.person_id):
            if account.disabled or account.person_id is None:
                raise NotPermittedError("此账号未关联人员，无法设置通知方式")
            person_id = account.person_id
        else:
            self._require_office(by)
        directory = self._get(directory_id(self.county_code), "目录尚未建立")
        directory.update_person(person_id=person_id, changes={"notify": mode}, at=self.now())
        self._save(directory)

    def appoint_head(self, by: str, *, unit_id: str, person_id: str, on: date) -> None:
        self._edit_directory(by, "appoint_head", unit_id=unit_id, person_id=person_id, on=on)

    def assign_baobao(self, by: str, *, leader_id: str, unit_id: str, on: date) -> None:
        self._edit_directory(by, "assign_baobao", leader_id=leader_id, unit_id=unit_id, on=on)

    def end_baobao(self, by: str, *, leader_id: str, unit_id: str, on: date) -> None:
        self._edit_directory(by, "end_baobao", leader_id=leader_id, unit_id=unit_id, on=on)

    def responsible_on(self, unit_id: str, day: date) -> dict:
        """Who answered for a unit on a past day: its head and its 包保 leaders."""
        directory = self.directory()
        directory.unit(unit_id)
        return directory.responsible_on(unit_id, day)

    # -- accounts --------------------------------------------------------------------------

    def hash_password(self, password: str) -> str:
        problem = password_problem(password)
        if problem:
            raise InvalidInputError(problem)
        return self.hasher.hash(password)

    def register_account(
        self, by: str, *, login: str, name: str, roles: Iterable[str], password: str = "",
        unit_id: str | None = None, person_id: str | None = None, password_hash: str = "",
    ) -> None:
        """Create a login. `password_hash` lets an import or the demo reuse one hash."""
        actor = self._require_office(by)
        login = require_id(login, "登录名").strip().casefold()
        if not LOGIN_PATTERN.fullmatch(login) or login == SYSTEM:
            raise InvalidInputError("登录名须为 2–40 位小写字母、数字或 . _ -，且不能是 system")
        roles = [Role.parse(r).value for r in dict.fromkeys(roles)]
        if not roles:
            raise InvalidInputError("账号至少要有一个角色")
        directory = self.directory()
        if unit_id is not None:
            directory.unit(unit_id)
        if person_id is not None:
            directory.person(person_id)
        if Role.UNIT.value in roles and unit_id is None:
            raise InvalidInputError("责任单位账号必须指定所属单位")
        if Role.LEADER.value in roles and person_id is None:
            raise InvalidInputError("包保领导账号必须关联人员")
        if account_id(login) in self.repository:
            raise DuplicateError(f"登录名 {login} 已被使用")
        account = Account(
            login=login, name=clean_text(name, "姓名", limit=50), roles=roles, unit_id=unit_id,
            person_id=person_id, password_hash=password_hash or self.hash_password(password),
            by=actor.login, timestamp=self.now(),
        )
        self._save(account)

    def account(self, login: str) -> dict:
        account = self._account(login)
        return {
            "login": account.login, "name": account.name, "roles": list(account.roles),
            "unit_id": account.unit_id, "person_id": account.person_id,
            "disabled": account.disabled,
        }

    def verify_password(self, login: str, password: str) -> bool:
        """True when the login exists, is enabled and the password matches its hash."""
        if not isinstance(login, str) or not isinstance(password, str):
            return False
        try:
            account = self._account(login.strip().casefold())
            return not account.disabled and self.hasher.verify(account.password_hash, password)
        except (DomainError, VerificationError, InvalidHashError):
            return False

    def change_password(self, by: str, login: str, new_password: str) -> None:
        """An enabled account changes its own password; the office may change anyone's but an
        auditor's. Either way the account's API tokens are revoked: whoever held the old
        password may have issued them."""
        account = self._get(account_id(require_id(login, "账号")), f"未知的账号：{login}")
        if by != account.login:
            self._require_keeper_of(by, account)
        elif account.disabled:
            raise AccountDisabledError(f"账号 {login} 已停用")
        now = self.now()
        account.change_password(self.hash_password(new_password), by=by, timestamp=now)
        self._revoke_every_token(account, by=by, timestamp=now)
        self._save(account)

    def disable_account(self, by: str, login: str, reason: str) -> None:
        """Disable an account and revoke its API tokens (enabling it again does not bring
        them back)."""
        account = self._get(account_id(require_id(login, "账号")), f"未知的账号：{login}")
        self._require_keeper_of(by, account)
        if account.disabled:
            raise InvalidInputError(f"账号 {login} 已是停用状态")
        now = self.now()
        account.disable(clean_text(reason, "停用原因", limit=500), by=by, timestamp=now)
        self._revoke_every_token(account, by=by, timestamp=now)
        self._save(account)

    def enable_account(self, by: str, login: str) -> None:
        account = self._get(account_id(require_id(login, "账号")), f"未知的账号：{login}")
        self._require_keeper_of(by, account)
        if not account.disabled:
            raise InvalidInputError(f"账号 {login} 未停用")
        account.enable(by=by, timestamp=self.now())
        self._save(account)
