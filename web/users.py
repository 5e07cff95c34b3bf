"""Who is signed in, and which tickets that person sees (by domain/visibility.py's rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from domain.application import XiaohaoApp
from domain.errors import OutOfScopeError, UnknownReferenceError
from domain.values import Role
from domain.visibility import Sight, sight_of
from projections.queries import ticket_row


@dataclass(frozen=True)
class User:
    login: str
    name: str
    roles: frozenset[str]
    unit_id: str | None
    person_id: str | None

    @classmethod
    def of(cls, account: dict) -> User:
        return cls(account["login"], account["name"], frozenset(account["roles"]),
                   account["unit_id"], account["person_id"])

    def has(self, *roles: Role) -> bool:
        return any(r.value in self.roles for r in roles)

    @property
    def role_labels(self) -> str:
        return "、".join(Role(r).label for r in sorted(self.roles))

    def sight(self, app: XiaohaoApp) -> Sight:
        """What the user sees today."""
        directory = app.directory() if self.has(Role.LEADER, Role.UNIT) else None
        return sight_of(self.roles, self.unit_id, self.person_id, directory, app.today())

    def visible_ticket(self, app: XiaohaoApp, db: Database, number: str,
                       warn_days: int, day: date | None = None) -> dict:
        """The ticket's read-model row with its light on `day` (today unless given), or 404 /
        403 as a DomainError: the one check every page, file and API call about one ticket
        makes."""
        ticket = ticket_row(db, number, day or app.today(), warn_days)
        if ticket is None:
            raise UnknownReferenceError(f"未找到问题 {number[:40]}")
        if not self.sight(app).sees(ticket):
            raise OutOfScopeError(f"问题 {number} 不在您的查看范围内")
        return ticket
