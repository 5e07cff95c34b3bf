"""Login accounts: who may sign in, with which roles, for which unit."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/account")
LOCK_AFTER = 5                      # failed logins in a row lock the account...
LOCK_FOR = timedelta(minutes=15)    # ...for this long


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
        self.failed_logins = 0
        self.locked_until: datetime | None = None
        self.tokens: dict[str, dict] = {}
        self.sign_outs = 0

    def locked_at(self, moment: datetime) -> bool:
        return self.locked_until is not None and moment < self.locked_until

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
        self.failed_logins = 0
        self.locked_until = None

    def fail_login(self, reason: str, source: str, timestamp: datetime) -> None:
        """Record a refused attempt. `reason` is "password", "locked" or "disabled"; only a
        wrong password counts towards the lock, and a lock that has run out counts from one."""
        failures, locked_until = self.failed_logins, self.locked_until
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
        self.failed_logins = failures
        self.locked_until = locked_until

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
