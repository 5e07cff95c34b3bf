"""The cycle's runs as the scheduler and `xiaohao bulletin issue` both perform them: catch the
read models up, build the content, and issue it as the period's one run."""

from __future__ import annotations

from domain.application import SYSTEM, XiaohaoApp
from domain.errors import DomainError
from projections.bulletin import bulletin_content
from projections.readmodels import ReadModels


def issue_bulletin(app: XiaohaoApp, read: ReadModels, week: str,
                   by: str = SYSTEM) -> tuple[dict, bool]:
    """The bulletin of `week`, issued now unless it already was; and whether this call did."""
    existing = app.cycle_run("bulletin", week)
    if existing is not None:
        return existing, False
    db = read.fresh()
    statuses = read.status()
    broken = [s.name for s in statuses if s.error]
    if broken:
        raise DomainError(f"读模型 {'、'.join(broken)} 出错停止，周通报的数字会不准，暂不发布；"
                          "请先运行 xiaohao projections status 查看")
    content = bulletin_content(db, week, app.now())
    return app.issue_run(by, "bulletin", week, content, min(s.position for s in statuses))
