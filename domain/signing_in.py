"""Signing in and out (mixed into XiaohaoApp): every attempt is an event on the account, and
five wrong passwords in a row lock it for fifteen minutes."""

from __future__ import annotations

import hashlib

from argon2.exceptions import InvalidHashError, VerificationError

from domain.account import Account, account_id
from domain.clock import beijing
from domain.errors import (
    AccountDisabledError,
    AccountLockedError,
    DomainError,
    NotPermittedError,
    StaleVersionError,
)

WRONG = "账号或密码错误"
SOURCE_LIMIT = 100
ATTEMPTS = 3       # a login racing another attempt on the same account is tried again


class SigningIn:
    """Check passwords at the door and keep the record of who came and went."""

    _dummy_hash: str | None = None

    def log_in(self, login: str, password: str, source: str = "") -> dict:
        """The account as plain data when the password is right; otherwise a DomainError whose
        message may be shown as it is. A wrong password always gets the same answer, so the
        answer never tells whether a login exists, is disabled or is locked."""
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
        for attempt in range(ATTEMPTS):
            try:
                account = self._get(account_id(login), WRONG) if login else None
            except DomainError:
                account = None
            if account is None:
                self._waste_a_check(password)   # the same time whether the login exists or not
                raise NotPermittedError(WRONG)
            try:
                return self._try_password(account, password, source, record_success)
            except StaleVersionError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _try_password(self, account: Account, password: str, source: str,
                      record_success: bool) -> dict:
        """The password is checked first: only someone who knows it learns that the account
        is locked or disabled."""
        now = self.now()
        right = self._password_matches(account.password_hash, password)
        refusal = ("disabled" if account.disabled else "locked" if account.locked_at(now)
                   else None if right else "password")
        if refusal is not None:
            account.fail_login(reason=refusal, source=source, timestamp=now)
            self._save(account)
            if not right:
                raise NotPermittedError(WRONG)
            if refusal == "disabled":
                raise AccountDisabledError(f"账号 {account.login} 已停用，请联系创建办")
            raise self._locked(account)
        if record_success:
            account.record_login(source=source, timestamp=now)
            self._save(account)
        return self.account(account.login)

    @staticmethod
    def _locked(account: Account) -> AccountLockedError:
        until = beijing(account.locked_until)
        return AccountLockedError(f"连续多次密码错误，账号已锁定，请于 {until:%H:%M} 后再试")

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
