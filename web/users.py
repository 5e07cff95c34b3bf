"""Who is signed in, and which tickets that person may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from domain.application import XiaohaoApp
from domain.errors import OutOfScopeError, UnknownReferenceError
from domain.values import Role
from projections.queries import Scope, ticket_row

SEE_EVERYTHING = frozenset({Role.OFFICE.value, Role.INSPECTOR.value, Role.AUDITOR.value})


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

    def scope(self, app: XiaohaoApp) -> Scope | None:
        """None when the user sees every ticket; otherwise what their roles open to them."""
        if self.roles & SEE_EVERYTHING:
            return None
        units: frozenset[str] = frozenset()
        leader = None
        if Role.LEADER.value in self.roles and self.person_id:
            units = app.directory().baobao_scope(self.person_id, app.today())
            leader = self.person_id
        responsible = self.unit_id if Role.UNIT.value in self.roles else None
        return Scope(units=units, leader=leader, responsible=responsible)

    def visible_ticket(self, app: XiaohaoApp, db: Database, number: str,
                       warn_days: int) -> dict:
        """The ticket's read-model row, or 404 / 403 as a DomainError: the one check every
        page, file and API call about one ticket makes."""
        ticket = ticket_row(db, number, app.today(), warn_days)
        if ticket is None:
            raise UnknownReferenceError(f"未找到问题 {number[:40]}")
        if not self.may_see(app, ticket):
            raise OutOfScopeError(f"问题 {number} 不在您的查看范围内")
        return ticket

    def may_see(self, app: XiaohaoApp, ticket: dict) -> bool:
        """The same rule as `scope`, for one ticket row of the read model."""
        scope = self.scope(app)
        if scope is None:
            return True
        units = {ticket["lead_unit_id"], *ticket["co_unit_ids"]}
        return bool(
            (scope.responsible and scope.responsible in units)
            or (scope.leader and scope.leader in ticket["leader_ids"])
            or ({ticket["town_id"], ticket["unit_id"], *units} & scope.units))
