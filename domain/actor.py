"""Who is acting: the account, in which role, for which units."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.values import Role


@dataclass(frozen=True)
class Actor:
    """An authenticated account acting in one role; `scope` holds the unit ids it answers for."""

    login: str
    name: str
    role: Role
    unit_id: str | None = None
    person_id: str | None = None
    scope: frozenset[str] = field(default_factory=frozenset)

    def stamp(self) -> dict:
        """What an event records of its actor, so an auditor can replay who did what in which role."""
        return {
            "login": self.login,
            "name": self.name,
            "role": self.role.value,
            "unit_id": self.unit_id,
        }
