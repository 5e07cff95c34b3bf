"""Signing in and out (mixed into XiaohaoApp): every attempt that reaches an account is an
event on it; five wrong passwords in a row from one source lock the account for that source
for fifteen minutes; a source that fails too often, whatever logins it names, is refused for
the rest of a window without a password check."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Protocol

from argon2.exceptions import InvalidHashError, VerificationError

from domain.account import Account, account_id
from domain.errors import (
    AccountDisabledError,
    DomainError,
    NotPermittedError,
    StaleVersionError,
)

WRONG = "账号或密码错误"
TOO_MANY = "尝试过于频繁，请稍后再试"
SOURCE_LIMIT = 100
ATTEMPTS = 3       # a login racing another attempt on the same account is tried again
SOURCE_FAILURES = 30          # failed attempts from one source, over every login...
SOURCE_WINDOW_SECONDS = 900   # ...in one window of a quarter of an hour


class TooManyAttemptsError(NotPermittedError):
    """Raised when a source has failed too often in this window; no password was checked."""


class SourceFailures(Protocol):
    """Failed sign-ins counted per source and window, kept where every web node sees them."""

    def count(self, source: str, window: int) -> int: ...

    def add(self, source: str, window: int) -> None:
        """One more failure from `source` in `window`; earlier windows may be forgotten."""


class FailuresInMemory:
    """SourceFailures for one process (the in-memory store, which no other node shares)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def count(self, source: str, window: int) -> int:
        return self._counts.get((source, window), 0)

    def add(self, source: str, window: int) -> None:
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            self._counts[(source, window)] = self._counts.get((source, window), 0) + 1


def window_of(moment: datetime) -> int:
    return int(moment.timestamp()) // SOURCE_WINDOW_SECONDS


class SigningIn:
    """Check passwords at the door and keep the record of who came and went."""

    _dummy_hash: str | None = None

    source_failures: SourceFailures

    def log_in(self, login: str, password: str, source: str = "") -> dict:
        """The account as plain data when the password is right; otherwise a DomainError whose
        message may be shown as it is. A wrong password always gets the same answer, and so
        does the right one while this source is locked out, so the answer never tells whether
        a login exists or is locked, nor whether a guess made during a lock was right."""
        return self._attempt(login, password, source, record_success=True)

    def confirm_password(self, login: str, password: str, source: str = "") -> None:
        """Check a signed-in user's current password (before changing it) under the same
        rules as signing in: a wrong one counts towards the lock and is on the record."""
        self._attempt(login, password, source, record_success=False)

    def log_out(self, login: str, source: str = "") -> None:
        """Sign out: every session of the account ends (the session stamp changes)."""
        for attempt in range(ATTEMPTS):
            account = self._get(account_id(login), WRONG)
            account.record_logout(source=str(source)[:SOURCE_LIMIT], timestamp=self.now())
            try:
                self._save(account)
                return
            except StaleVersionError:
                if attempt == ATTEMPTS - 1:
                    raise

    def session_stamp(self, login: str) -> str:
        """Changes when the password changes and at every sign-out, so that sessions opened
        before either end (a copied cookie dies with them)."""
        account = self._account(login)
        seed = f"{account.password_hash}:{account.sign_outs}"
        return hashlib.sha256(seed.encode()).hexdigest()[:16]

    def _attempt(self, login: str, password: str, source: str, record_success: bool) -> dict:
        login = login.strip().casefold() if isinstance(login, str) else ""
        source = str(source)[:SOURCE_LIMIT]
        window = window_of(self.now())
        if self.source_failures.count(source, window) >= SOURCE_FAILURES:
            raise TooManyAttemptsError(TOO_MANY)
        for attempt in range(ATTEMPTS):
            try:
                account = self._get(account_id(login), WRONG) if login else None
            except DomainError:
                account = None
            if account is None:
                self._waste_a_check(password)   # the same time whether the login exists or not
                self.source_failures.add(source, window)
                raise NotPermittedError(WRONG)
            try:
                return self._try_password(account, password, source, record_success)
            except StaleVersionError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _try_password(self, account: Account, password: str, source: str,
                      record_success: bool) -> dict:
        """The password is checked first, also while locked (the same work either way): only
        someone who knows it learns that the account is disabled. A lock is never named: the
        right password during one is refused as a wrong one is, and recorded as a failure."""
        now = self.now()
        right = self._password_matches(account.password_hash, password)
        refusal = ("disabled" if account.disabled else "locked" if account.locked_for(source, now)
                   else None if right else "password")
        if refusal is not None:
            account.fail_login(reason=refusal, source=source, timestamp=now)
            self._save(account)
            self.source_failures.add(source, window_of(now))
            if right and refusal == "disabled":
                raise AccountDisabledError(f"账号 {account.login} 已停用，请联系创建办")
            raise NotPermittedError(WRONG)
        if record_success:
            account.record_login(source=source, timestamp=now)
            self._save(account)
        return self.account(account.login)

    def _password_matches(self, password_hash: str, password: str) -> bool:
        if not isinstance(password, str) or not password or len(password) > 256:
            return False
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _waste_a_check(self, password: str) -> None:
        if SigningIn._dummy_hash is None:
            SigningIn._dummy_hash = self.hasher.hash("not-a-real-password")
        self._password_matches(SigningIn._dummy_hash, password if isinstance(password, str) else "")
