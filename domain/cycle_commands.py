"""Issuing the cycle's runs: one command per (kind, period), however often it is tried."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError

from domain.clock import beijing_date
from domain.cycle import KINDS, CycleRun, bulletin_number, period_start, run_id
from domain.errors import InvalidInputError


class CycleCommands:
    """Mixed into XiaohaoApp (which provides `_get`, `_require_office`, `directory`, `now`)."""

    def campaign_start(self):
        """The day the county's campaign started here: the day its directory was created."""
        return beijing_date(self.directory().created_on)

    def issue_run(self, by: str, kind: str, period: str, content: dict,
                  position: int) -> tuple[dict, bool]:
        """Record what a period's run issued. Returns the run and whether this call issued
        it: a period already issued (by anyone, in any process) is returned as it was, and
        `content` is dropped."""
        actor = self._require_office(by)
        start = period_start(kind, period)
        if start > beijing_date(self.now()):
            raise InvalidInputError(f"{KINDS[kind]}的周期 {period} 尚未开始，不能提前发布")
        first = self.campaign_start()
        if kind == "bulletin" and bulletin_number(first, period) < 1:
            raise InvalidInputError(f"{period} 早于创建工作开始（{first}），没有这一期周通报")
        existing = self.cycle_run(kind, period)
        if existing is not None:
            return existing, False
        number = bulletin_number(first, period) if kind == "bulletin" else 0
        run = CycleRun(county_code=self.county_code, kind=kind, period=period, number=number,
                       content=content, position=position, by=actor.login,
                       timestamp=self.now())
        try:
            self.save(run)
        except IntegrityError:   # another scheduler issued it first
            return self.cycle_run(kind, period), False
        return run.as_dict(), True

    def cycle_run(self, kind: str, period: str) -> dict | None:
        """A period's run as issued, or None while it has not been."""
        period_start(kind, period)
        key = run_id(self.county_code, kind, period)
        if key not in self.repository:
            return None
        return self._get(key, f"{KINDS[kind]} {period} 不存在").as_dict()
