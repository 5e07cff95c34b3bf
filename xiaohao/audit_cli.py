"""`xiaohao audit`: the sealed log from the command line (README, Audit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from domain.application import SYSTEM
from domain.errors import InvalidInputError
from xiaohao import audit
from xiaohao.settings import Settings

audit_cli = typer.Typer(help="审计：日志封存、校验、证明与导出", no_args_is_help=True)


class _Opened:
    """The application and the seal of these settings, closed after use."""

    def __enter__(self):
        self.settings = Settings()
        self.app = self.settings.build_app()
        self.leaves = self.settings.seal_leaves()
        return self

    def __exit__(self, *exc) -> None:
        self.app.close()


@audit_cli.command("verify")
def verify(checkpoint: Annotated[list[str] | None, typer.Option(
        "--checkpoint", "-c",
        help="从通报或邮件抄下的存证，写作 条数:根哈希（至少前 16 位），可给多个")] = None) -> None:
    """Recompute the tree from the store and check the seal's leaves, every recorded
    checkpoint and those given; exit 1 on any failure."""
    try:
        given = [audit.Given.parse(c) for c in checkpoint or []]
    except ValueError as error:
        raise InvalidInputError(str(error)) from None
    with _Opened() as o:
        key = o.settings.seal_key()
        with typer.progressbar(length=o.app.recorder.max_notification_id() or 0,
                               label="校验", file=sys.stderr) as bar:
            seen = {"done": 0}

            def progress(done: int, _total: int) -> None:
                bar.update(done - seen["done"])
                seen["done"] = done

            started = o.app.now()
            report = audit.verify(o.app, o.leaves, o.settings.seal_suite, key, given,
                                  progress)
        audit.record(o.app, SYSTEM, report, len(given), started)
    typer.echo(f"库中事件 {report.events} 条，已封存 {report.sealed} 条，"
               f"存证 {report.checkpoints} 个，外部存证 {len(given)} 个")
    if report.events > report.sealed and report.ok:
        typer.echo(f"最后 {report.events - report.sealed} 条事件尚未封存，自下一个存证起受保护")
    for problem in report.problems:
        typer.echo(f"不符：{problem}")
    typer.echo("校验通过" if report.ok else "校验未通过")
    if not report.ok:
        raise typer.Exit(1)


@audit_cli.command("checkpoint")
def checkpoint() -> None:
    """Seal what is new and record a checkpoint now (the cycle does so at every run and
    daily)."""
    with _Opened() as o:
        made = o.settings.sealer(o.app).checkpoint("手动")
    typer.echo(f"存证：第 {made['size']} 条 · {made['root']}（{made['at']}）")


@audit_cli.command("prove")
def prove(event: Annotated[int | None, typer.Option(help="事件编号（日志中的通知号）")] = None,
          size: Annotated[int | None, typer.Option(help="树的大小（默认：已封存的全部）")] = None,
          first: Annotated[int | None, typer.Option("--from", help="较早存证的条数")] = None,
          second: Annotated[int | None, typer.Option("--to", help="较晚存证的条数")] = None,
          ) -> None:
    """An inclusion proof for one event (--event), or a consistency proof between two
    checkpoints (--from, --to), as JSON."""
    with _Opened() as o:
        suite = o.settings.seal_suite
        try:
            if event is not None:
                proof = audit.inclusion(o.leaves, suite, event, size or o.leaves.head().size)
            elif first is not None and second is not None:
                proof = audit.consistency(o.leaves, suite, first, second)
            else:
                raise InvalidInputError("请给出 --event，或同时给出 --from 与 --to")
        except ValueError as error:
            raise InvalidInputError(str(error)) from None
    typer.echo(json.dumps(proof, indent=2))


@audit_cli.command("export")
def export(target: Annotated[Path, typer.Argument(help="导出文件，如 audit.jsonl")]) -> None:
    """The whole log, its checkpoints and the public key as JSON lines, with verify_seal.py
    beside it (python3 verify_seal.py FILE checks it offline)."""
    if not target.parent.is_dir():
        raise InvalidInputError(f"目录不存在：{target.parent}")
    with _Opened() as o:
        count = audit.export(o.app, o.settings.seal_suite, o.settings.seal_key(), target)
    typer.echo(f"已导出 {count} 条事件到 {target}；离线校验：python3 "
               f"{target.parent / 'verify_seal.py'} {target}")
