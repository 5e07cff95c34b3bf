"""Login accounts: who may sign in, with which roles, for which unit."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/account")


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

    @event("PasswordChanged")
    def change_password(self, password_hash: str, by: str, timestamp: datetime) -> None:
        self.password_hash = password_hash

    @event("Disabled")
    def disable(self, reason: str, by: str, timestamp: datetime) -> None:
        self.disabled = True

    @event("Enabled")
    def enable(self, by: str, timestamp: datetime) -> None:
        self.disabled = False

    @event("RolesChanged")
    def change_roles(
        self, roles: list[str], unit_id: str | None, by: str, timestamp: datetime
    ) -> None:
        self.roles = list(roles)
        self.unit_id = unit_id
