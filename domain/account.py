"""Login accounts: who may sign in, with which roles, for which unit."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/account")
LOCK_AFTER = 5                      # wrong passwords in a row from one source lock the account...
LOCK_FOR = timedelta(minutes=15)    # ...for that source, this long


# A password: at least 8 characters of at least two kinds (letters, digits, other signs), so
# "12345678" or "password" is refused (等保 asks for a complexity rule; docs/SECURITY.md).
MIN_PASSWORD = 8
MAX_PASSWORD = 256
PASSWORD_RULE = f"至少 {MIN_PASSWORD} 位，含字母、数字、符号中的至少两类"


def password_problem(password: object) -> str | None:
    """Why a new password is refused, or None when it may be used."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return f"密码{PASSWORD_RULE}"
    if len(password) > MAX_PASSWORD:
        return "密码过长"
    kinds = {"letter" if ch.isalpha() else "digit" if ch.isdigit() else "sign" for ch in password}
    if len(kinds) < 2:
        return f"密码太简单：须{PASSWORD_RULE}"
    return None


@lru_cache(maxsize=4096)
def account_id(login: str) -> UUID:
    return uuid5(ACCOUNT_NAMESPACE, login.casefold())


class Account(Aggregate):
    """One person's login. The password is kept only as an argon2 hash."""

    @staticmethod
    def create_id(login: str) -> UUID:
        return account_id(login)

    @event("Registered")
    def __init__(
        self, login: str, name: str, roles: list[str], unit_id: str | None,
        person_id: str | None, password_hash: str, by: str, timestamp: datetime,
    ) -> None:
        self.login = login
        self.name = name
        self.roles = list(roles)
        self.unit_id = unit_id
        self.person_id = person_id
        self.password_hash = password_hash
        self.disabled = False
        # Per source: wrong passwords in a row, the lock they set, and when the entry is
        # forgotten (a quiet quarter of an hour, or the lock's end).
        self.failures: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.sign_outs = 0

    def locked_for(self, source: str, moment: datetime) -> bool:
        """A lock binds only the source whose guesses set it: a stranger elsewhere cannot
        lock the account's owner out."""
        until = self._failures_from(source, moment)[1]
        return until is not None and moment < until

    def _failures_from(self, source: str, moment: datetime) -> tuple[int, datetime | None]:
        entry = self.failures.get(source)
        if entry is None or moment >= entry["forget_at"]:
            return 0, None
        return entry["count"], entry["locked_until"]

    @event("PasswordChanged")
    def change_password(self, password_hash: str, by: str, timestamp: datetime) -> None:
        self.password_hash = password_hash

    @event("Disabled")
    def disable(self, reason: str, by: str, timestamp: datetime) -> None:
        self.disabled = True

    @event("Enabled")
    def enable(self, by: str, timestamp: datetime) -> None:
        self.disabled = False

    # -- signing in: every attempt is on the record ------------------------------------------

    @event("LoggedIn")
    def record_login(self, source: str, timestamp: datetime) -> None:
        self.failures = {s: f for s, f in self.failures.items() if s != source}

    def fail_login(self, reason: str, source: str, timestamp: datetime) -> None:
        """Record a refused attempt. `reason` is "password", "locked" or "disabled"; only a
        wrong password counts towards the source's lock, and a lock that has run out (or
        guesses a quarter of an hour old) count from one."""
        failures, locked_until = self._failures_from(source, timestamp)
        if reason == "password":
            if locked_until is not None and timestamp >= locked_until:
                failures, locked_until = 0, None
            failures += 1
            if failures >= LOCK_AFTER:
                locked_until = timestamp + LOCK_FOR
        self._record_failed_login(reason=reason, source=source, failures=failures,
                                  locked_until=locked_until, timestamp=timestamp)

    @event("LoginFailed")
    def _record_failed_login(self, reason: str, source: str, failures: int,
                             locked_until: datetime | None, timestamp: datetime) -> None:
        kept = {s: f for s, f in self.failures.items() if f["forget_at"] > timestamp}
        forget_at = max(locked_until or timestamp, timestamp + LOCK_FOR)
        self.failures = kept | {source: {"count": failures, "locked_until": locked_until,
                                         "forget_at": forget_at}}

    @event("LoggedOut")
    def record_logout(self, source: str, timestamp: datetime) -> None:
        self.sign_outs += 1

    # -- API tokens: only a digest is kept; the token itself is shown once -------------------

    @event("ApiTokenIssued")
    def issue_token(self, token_id: str, digest: str, label: str, by: str,
                    timestamp: datetime) -> None:
        self.tokens = {**self.tokens,
                       token_id: {"digest": digest, "label": label,
                                  "issued_at": timestamp.isoformat()}}

    @event("ApiTokenRevoked")
    def revoke_token(self, token_id: str, by: str, timestamp: datetime) -> None:
        self.tokens = {k: v for k, v in self.tokens.items() if k != token_id}
