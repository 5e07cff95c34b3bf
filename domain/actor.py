"""Who is acting: the account, in which role, seeing which tickets."""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import Role
from domain.visibility import Sight, sight_of


@dataclass(frozen=True)
class Actor:
    """An authenticated account acting in one role. `sight` is what that role sees (a leader's
    with the units their 包保 covers that day); left out, it is worked out from the role alone."""

    login: str
    name: str
    role: Role
    unit_id: str | None = None
    person_id: str | None = None
    sight: Sight | None = None

    def __post_init__(self) -> None:
        if self.sight is None:
            object.__setattr__(self, "sight", sight_of(
                [self.role], self.unit_id, self.person_id, directory=None, day=None))

    def stamp(self) -> dict:
        """What an event records of its actor, so an auditor can replay who did what in which role."""
        return {
            "login": self.login,
            "name": self.name,
            "role": self.role.value,
            "unit_id": self.unit_id,
        }


SYSTEM = "system"
# The operator's command line, and the system itself (a judgement's tickets, the cycle).
SYSTEM_ACTOR = Actor(login=SYSTEM, name="系统", role=Role.OFFICE)
