"""The `xiaohao` command: set up stores, build the demo, manage accounts, script tickets, serve."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

# typer 0.29 vendors click; its exception base is only reachable here.
from typer._click.exceptions import ClickException

from domain.application import SYSTEM, XiaohaoApp
from domain.clock import ManualClock, at_beijing, beijing
from domain.commands import COMMANDS, VERDICTS
from domain.errors import DomainError
from domain.periods import moment_label, parse_day
from domain.ticket import EVENT_LABELS
from domain.values import Role
from xiaohao.audit_cli import audit_cli
from xiaohao.settings import Settings

cli = typer.Typer(help="xiaohao 问题销号系统", no_args_is_help=True, add_completion=False)
user_cli = typer.Typer(help="账号管理", no_args_is_help=True)
ticket_cli = typer.Typer(help="问题单（脚本用）", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
cli.add_typer(ticket_cli, name="ticket")
projections_cli = typer.Typer(help="读模型（投影）", no_args_is_help=True)
cli.add_typer(projections_cli, name="projections")
bulletin_cli = typer.Typer(help="周通报", no_args_is_help=True)
cli.add_typer(bulletin_cli, name="bulletin")
evidence_cli = typer.Typer(help="证据文件", no_args_is_help=True)
cli.add_typer(evidence_cli, name="evidence")
cli.add_typer(audit_cli, name="audit")
Week = Annotated[str, typer.Option("--week", help="ISO 周，如 2026-W48")]

As = Annotated[str, typer.Option("--as", help="以哪个账号操作")]
Number = Annotated[str, typer.Argument(help="问题编号，如 SS-2019-0001")]


def _app(settings: Settings | None = None) -> XiaohaoApp:
    return (settings or Settings()).build_app()


def _day(raw: str | None, field: str) -> date | None:
    return None if raw is None else parse_day(raw, field)


def _new_password(password: str | None) -> str:
    return password or typer.prompt("密码", hide_input=True, confirmation_prompt=True)


@cli.command()
def init(
    login: Annotated[str, typer.Option(help="第一个创建办账号")] = "office",
    name: Annotated[str, typer.Option(help="账号姓名")] = "创建办",
    password: Annotated[str | None, typer.Option(help="不给则提示输入")] = None,
) -> None:
    """Create the stores, the county's directory root and the first office account."""
    settings = Settings()
    app = _app(settings)
    digest = app.hash_password(_new_password(password))   # refuse a bad password before writing
    app.start_directory(settings.county_name)
    app.register_account(SYSTEM, login=login, name=name, roles=["office"], password_hash=digest)
    typer.echo(f"已建立 {settings.county_name} 的事件库和创建办账号 {login}")


@cli.command()
def demo(reset: Annotated[bool, typer.Option(help="先清空 var/ 中的事件库")] = False) -> None:
    """Build the demo county (directory, work plan, starting ledger, eight simulated weeks)."""
    from xiaohao.demo import DEMO_PASSWORD, START, build_demo, demo_accounts

    settings = Settings()
    if reset and settings.store == "sqlite" and settings.var_dir.exists():
        shutil.rmtree(settings.var_dir)
    clock = ManualClock(at_beijing(START))
    app = settings.build_app(clock=clock)
    if app.recorder.max_notification_id():
        raise DomainError("事件库不是空的：加 --reset 重建演示数据")
    typer.echo("正在建立演示县：泗水县目录、附件2工作任务、问题台账、八周历史（含周通报）和学校数据……")
    from xiaohao import wiring

    cycle = wiring.cycle(settings, app)
    counts = build_demo(app, clock, wiring.evidence(settings), cycle)
    cycle.read.close()
    settings.pin_clock(clock.now())
    typer.echo(f"完成：{counts['units']} 个单位，{counts['tickets']} 个问题，"
               f"{counts['steps']} 步历史；导入 2018-2019 学年学校数据，自查自评登记 "
               f"{counts['self_assessed']} 个问题；演示时间停在 {clock.now():%Y-%m-%d %H:%M}（北京时间）")
    typer.echo(f"演示账号（密码均为 {DEMO_PASSWORD}）：" +
               "，".join(f"{k}（{v}）" for k, v in demo_accounts().items()))


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
) -> None:
    """Serve the web app."""
    import uvicorn

    from xiaohao import wiring

    settings = Settings()
    settings.check_nodes()
    typer.echo(f"xiaohao 正在 http://{host or settings.host}:{port or settings.port}/ 提供服务")
    # X-Forwarded-For is read by the app, from XIAOHAO_TRUSTED_PROXIES only (web/proxies.py).
    uvicorn.run(wiring.web(settings), host=host or settings.host,
                port=port or settings.port, log_level="warning", proxy_headers=False)


@user_cli.command("add")
def user_add(
    login: str,
    name: Annotated[str, typer.Option(help="姓名或单位名")],
    role: Annotated[list[str], typer.Option(help="inspector/office/unit/leader/auditor，可多次")],
    unit: Annotated[str | None, typer.Option(help="所属单位编码")] = None,
    person: Annotated[str | None, typer.Option(help="关联人员编号")] = None,
    password: Annotated[str | None, typer.Option(help="不给则提示输入")] = None,
    by: As = SYSTEM,
) -> None:
    """Add a login account."""
    app = _app()
    unit_id = app.directory().find_unit(unit)["code"] if unit else None
    app.register_account(by, login=login, name=name, roles=role, unit_id=unit_id,
                         person_id=person, password=_new_password(password))
    typer.echo(f"已添加账号 {app.account(login)['login']}")


@user_cli.command("disable")
def user_disable(login: str, reason: Annotated[str, typer.Option(help="停用原因")],
                 by: As = SYSTEM) -> None:
    """Disable an account (its history stays)."""
    _app().disable_account(by, login, reason)
    typer.echo(f"已停用账号 {login}")


@user_cli.command("passwd")
def user_passwd(login: str, password: Annotated[str | None, typer.Option()] = None,
                by: As = SYSTEM) -> None:
    """Set a new password."""
    _app().change_password(by, login, _new_password(password))
    typer.echo(f"已修改账号 {login} 的密码")


@ticket_cli.command("open")
def ticket_open(
    by: As,
    title: Annotated[str, typer.Option()],
    unit: Annotated[str, typer.Option(help="问题所在学校或单位（编码或名称）")],
    category: Annotated[str, typer.Option(help="类别，如 大班额")],
    severity: Annotated[str, typer.Option(help="一般/较重/严重")] = "一般",
    source: Annotated[str, typer.Option(help="周检查/月回查/自查自评/工作方案/临时督查")] = "周检查",
    description: Annotated[str, typer.Option()] = "",
    indicator: Annotated[str | None, typer.Option(help="指标 id，见 domain/data/indicators.yaml")] = None,
    deadline: Annotated[str | None, typer.Option(help="完成时限 YYYY-MM-DD")] = None,
    evidence: Annotated[list[Path] | None, typer.Option(help="现场照片或文件，可多次")] = None,
) -> None:
    """Open a ticket; prints its number."""
    settings = Settings()
    app = _app(settings)
    unit_id = app.directory().find_unit(unit)["code"]
    number = app.open_ticket(
        by, title=title, description=description, unit_id=unit_id, category=category,
        severity=severity, source=source, indicator_id=indicator,
        deadline=_day(deadline, "完成时限"), evidence=_files(evidence, settings))
    typer.echo(number)


@ticket_cli.command("assign")
def ticket_assign(
    number: Number, by: As,
    lead: Annotated[str, typer.Option(help="牵头单位（编码或名称）")],
    co: Annotated[list[str] | None, typer.Option(help="责任单位，可多次")] = None,
    person: Annotated[str | None, typer.Option(help="责任人编号")] = None,
    leader: Annotated[list[str] | None, typer.Option(help="包保领导人员编号，可多次")] = None,
    deadline: Annotated[str | None, typer.Option(help="完成时限 YYYY-MM-DD")] = None,
    note: Annotated[str, typer.Option()] = "",
    expected_version: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Assign a ticket to its responsible units."""
    app = _app()
    directory = app.directory()
    version = app.assign(
        number, by, lead_unit_id=directory.find_unit(lead)["code"],
        co_unit_ids=[directory.find_unit(u)["code"] for u in co or []], person_id=person,
        leader_ids=leader or [], deadline=_day(deadline, "完成时限"), note=note,
        expected_version=expected_version)
    typer.echo(f"{number} {COMMANDS['assign'].done}（版本 {version}）")


@ticket_cli.command("rectify")
def ticket_rectify(
    number: Number, by: As, measures: Annotated[str, typer.Option(help="整改措施")],
    completed_on: Annotated[str | None, typer.Option(help="完成日期，默认今天")] = None,
    evidence: Annotated[list[Path] | None, typer.Option(help="整改后照片或文件，可多次")] = None,
    expected_version: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Submit the rectification with its evidence."""
    settings = Settings()
    version = _app(settings).rectify(
        number, by, measures=measures, completed_on=_day(completed_on, "完成日期"),
        evidence=_files(evidence, settings), expected_version=expected_version)
    typer.echo(f"{number} {COMMANDS['rectify'].done}（版本 {version}）")


@ticket_cli.command("reinspect")
def ticket_reinspect(
    number: Number, by: As,
    passed: Annotated[bool, typer.Option("--pass/--fail", help="复查是否通过")],
    findings: Annotated[str, typer.Option(help="复查意见（不通过时必填）")] = "",
    expected_version: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Record a re-inspection: a fail returns the ticket to the unit."""
    version = _app().reinspect(number, by, passed=passed, findings=findings,
                               expected_version=expected_version)
    verdict = VERDICTS["pass"] if passed else f"复查未通过，已{VERDICTS['fail']}"
    typer.echo(f"{number} {verdict}（版本 {version}）")


@ticket_cli.command("close")
def ticket_close(number: Number, by: As, note: Annotated[str, typer.Option()] = "",
                 expected_version: Annotated[int | None, typer.Option()] = None) -> None:
    """Cross the ticket off (销号) after a passed re-inspection."""
    version = _app().close_ticket(number, by, note=note, expected_version=expected_version)
    typer.echo(f"{number} {COMMANDS['close'].done}（版本 {version}）")


@ticket_cli.command("show")
def ticket_show(number: Number,
                as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """Show a ticket and its whole history."""
    app = _app()
    ticket, history = app.ticket(number), app.ticket_history(number)
    if as_json:
        typer.echo(json.dumps({"ticket": ticket, "history": history}, ensure_ascii=False,
                              default=str, indent=2))
        return
    typer.echo(f"{ticket['number']}  {ticket['title']}  [{ticket['state_label']}]")
    typer.echo(f"  单位 {ticket['unit_id']}  牵头 {ticket['lead_unit_id'] or '-'}  "
               f"时限 {ticket['deadline'] or '-'}  退回 {ticket['returns']} 次")
    for step in history:
        who, what = step["by"], EVENT_LABELS[step["event"]]
        if step["event"] == "ReInspected":
            what += "通过" if step["details"]["passed"] else "未通过（退回）"
        typer.echo(f"  {step['at']:%Y-%m-%d %H:%M}  {what}  {who['name']}（{Role(who['role']).label}）")


def _read_models(settings: Settings | None = None):
    from xiaohao import wiring

    settings = settings or Settings()
    return wiring.read_models(settings, _app(settings))


@projections_cli.command("status")
def projections_status() -> None:
    """Each projection's position, the log head and the lag."""
    read = _read_models()
    typer.echo(f"{'投影':<12}{'位置':>10}{'日志末端':>10}{'落后':>8}  状态")
    for status in read.status():
        state = status.error or ("已追上" if status.lag == 0 else
                                 "批量追赶中（查询索引稍后重建）" if status.bulk else "追赶中")
        typer.echo(f"{status.name:<12}{status.position:>10}{status.head:>10}{status.lag:>8}  {state}")


@projections_cli.command("follow")
def projections_follow(
    poll: Annotated[float, typer.Option(help="轮询间隔（秒）", min=0.01, max=60)] = 0.2,
) -> None:
    """Keep this process's read models caught up with the event store until stopped."""
    import signal
    import threading

    read = _read_models()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    typer.echo("正在跟随事件日志（Ctrl-C 停止）……")
    try:
        read.runner.follow(stopping, poll)
    except KeyboardInterrupt:
        pass
    typer.echo("已停止")


@projections_cli.command("rebuild")
def projections_rebuild(
    names: Annotated[list[str] | None, typer.Argument(help="投影名；不给则全部重建")] = None,
) -> None:
    """Drop the named projections (all by default) and replay the log into them."""
    read = _read_models()
    unknown = set(names or []) - set(read.runner.projections)
    if unknown:
        raise DomainError(f"没有这个投影：{'、'.join(sorted(unknown))}；"
                          f"可选：{'、'.join(read.runner.projections)}")
    head = read.runner.app.recorder.max_notification_id() or 0
    with typer.progressbar(length=max(head, 1), label="重建中") as bar:
        done = {"position": 0}

        def progress(position: int, _head: int) -> None:
            bar.update(position - done["position"])
            done["position"] = position

        read.rebuild(names or [], progress=progress)
    typer.echo(f"已重建：{'、'.join(names or read.runner.projections)}（{head} 条事件）")


@bulletin_cli.command("issue")
def bulletin_issue(week: Week) -> None:
    """Fix the week's figures in a draft now (the same command the scheduler runs on Friday);
    a week already drafted or signed is left as it is. The office signs it on the page, or
    `xiaohao bulletin sign`."""
    from scheduler.runs import issue

    settings = Settings()
    read = _read_models(settings)
    app = read.runner.app
    run, issued = issue(app, read, "bulletin", week, warn_days=settings.warn_days,
                        base_url=settings.base_url)
    when = f"{beijing(run['issued_at']):%Y-%m-%d %H:%M}"
    state = "草稿待签发" if run["draft"] else f"已签发（{run['document_number'] or '未编文号'}）"
    typer.echo(f"已生成 周通报 第{run['number']}期（{week}）草稿，待创建办签发" if issued else
               f"周通报 第{run['number']}期（{week}）已于 {when} 生成，{state}，未重复生成")
    due = settings.schedule().bulletin_due(week)
    if issued and run["issued_at"] < due:
        typer.echo(f"注意：本期早于预定时间 {moment_label(due)} 生成，数字截至生成时；"
                   "到时不会再生成")


@bulletin_cli.command("sign")
def bulletin_sign(week: Week, by: Annotated[str, typer.Option(
        help="签发人：创建办的账号（登录名），如 office")]) -> None:
    """签发 the week's draft as it stands, in the name of an office account (with a checkpoint
    of the log), and send its digests: for an operator acting for the office."""
    from xiaohao import wiring

    settings = Settings()
    read = _read_models(settings)
    app = read.runner.app
    run = app.sign_bulletin(by, week, stamp=settings.sealer(app).stamp)
    typer.echo(f"已签发 周通报 第{run['number']}期（{week}），文号 {run['document_number']}")
    sent = wiring.sender(settings, app, read).send_due()
    typer.echo(f"发送：成功 {sent.delivered} 封，失败 {sent.failed} 封")


@cli.command()
def scheduler(once: Annotated[bool, typer.Option(help="只执行一次：补发到期任务并发送")] = False,
              ) -> None:
    """Run the cycle alone (when `serve` runs with XIAOHAO_SCHEDULER=false, scaled out)."""
    import signal
    import threading

    from xiaohao import wiring

    settings = Settings()
    settings.check_nodes()
    cycle = wiring.cycle(settings, _app(settings))
    if once:
        if not cycle.leads():
            typer.echo("另一个周期任务进程正在主持，本次未执行")
            return
        for run in cycle.tick():
            typer.echo(f"已执行 {run['kind']} {run['period']}")
        return
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    cycle.start()
    typer.echo(f"周期任务已启动（每 {settings.scheduler_tick_seconds:g} 秒检查一次，Ctrl-C 停止）")
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    cycle.stop()
    typer.echo("已停止")


@cli.command()
def cluster(
    nodes: Annotated[int, typer.Option(min=1, max=16, help="web 节点数")] = 2,
    port: Annotated[int, typer.Option(min=1, max=65000, help="nginx 监听的端口；节点用其后的端口")] = 8080,
    password: Annotated[str | None, typer.Option(help="事件库为空时建立的创建办账号 office 的密码")] = None,
    nginx: Annotated[str, typer.Option(help="nginx 程序")] = "nginx",
) -> None:
    """A local cluster on PostgreSQL: web nodes, one scheduler and nginx in front, from these
    settings and the keys they share (made under var/cluster/shared); Ctrl-C stops them all."""
    import signal
    import threading

    from xiaohao.cluster import ensure_schema, run_cluster

    settings = Settings()
    ensure_schema(settings)
    app = _app(settings)
    if not app.recorder.max_notification_id():
        digest = app.hash_password(_new_password(password))
        app.start_directory(settings.county_name)
        app.register_account(SYSTEM, login="office", name="创建办", roles=["office"],
                             password_hash=digest)
        typer.echo(f"已建立 {settings.county_name} 的事件库和创建办账号 office")
    app.close()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        run_cluster(settings, nodes, port, nginx, typer.echo, stopping)
    except KeyboardInterrupt:
        pass
    typer.echo("集群已停止")


@bulletin_cli.command("show")
def bulletin_show(week: Week) -> None:
    """A week's bulletin as issued, as JSON."""
    run = _app().cycle_run("bulletin", week)
    if run is None:
        raise DomainError(f"{week} 的周通报尚未发布")
    typer.echo(json.dumps(run, ensure_ascii=False, indent=2,
                          default=lambda moment: moment.isoformat()))     # its datetimes


@cli.command()
def backup(file: Annotated[Path, typer.Argument(help="备份文件，如 /backup/xiaohao-2026-11-02.xhbak")]
           ) -> None:
    """Back up the event store, the evidence files it names and the keys (server may run)."""
    from xiaohao.backups import make_backup

    made = make_backup(Settings(), file)
    typer.echo(f"已备份到 {made.path}（仅所有者可读，请当作密钥保管）：事件日志至第 {made.log_position} 条，"
               f"证据文件 {made.evidence_files} 个（{made.evidence_bytes / 2**20:.1f} MB）")
    if made.missing_evidence:
        typer.echo(f"警告：事件中提到的 {len(made.missing_evidence)} 个证据文件在证据库中找不到或已损坏，"
                   f"未能备份：{'、'.join(made.missing_evidence[:10])}", err=True)
        sys.exit(1)


@cli.command()
def restore(file: Annotated[Path, typer.Argument(help="xiaohao backup 制作的备份文件")]) -> None:
    """Restore a backup into an empty var/ (and an empty PostgreSQL schema), then rebuild the
    read models."""
    from xiaohao.backups import restore_backup

    settings = Settings()
    done = restore_backup(settings, file)
    typer.echo(f"已从 {file}（制作于 {done.made_at}）恢复到 {settings.var_dir}：事件日志至第 "
               f"{done.log_position} 条，证据文件 {done.evidence_files} 个；读模型已重建")
    if done.session_key_in_settings:
        typer.echo("注意：备份时会话密钥来自 XIAOHAO_SECRET_KEY，不在备份中；请在此设置同一个值，"
                   "否则所有用户需重新登录", err=True)
    if done.missing_evidence:
        typer.echo(f"注意：备份时已缺少 {len(done.missing_evidence)} 个证据文件", err=True)


@evidence_cli.command("sweep")
def evidence_sweep() -> None:
    """Remove uploaded files that no recorded command names, a day after they were stored."""
    from xiaohao import wiring
    from xiaohao.evidence_upkeep import SWEEP_AFTER, sweep_evidence

    settings = Settings()
    app = settings.build_app()
    try:
        swept = sweep_evidence(app, wiring.evidence(settings))
    finally:
        app.close()
    hours = SWEEP_AFTER.total_seconds() / 3600
    typer.echo(f"已删除 {swept.files} 个上传后超过 {hours:.0f} 小时仍未被任何记录引用的证据文件"
               f"（{swept.bytes / 2**20:.1f} MB）" if swept.files else
               f"没有需要删除的证据文件（未被引用的文件上传 {hours:.0f} 小时后才删除）")


def _files(paths: list[Path] | None, settings: Settings) -> list:
    from xiaohao import wiring

    for path in paths or []:
        if not path.is_file():
            raise DomainError(f"找不到文件：{path}")
    store = wiring.evidence(settings)
    return [store.store_file(p) for p in paths or []]


def _fail(message: str) -> None:
    print(f"xiaohao: 错误：{message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    """Entry point: any bad input ends in one readable line on stderr and exit status 2.
    Whatever it makes (the stores, read models, evidence, the outbox, keys, backups) is its
    owner's alone: files 0600, folders 0700."""
    os.umask(0o077)
    args = sys.argv[1:]
    if any(any(0xDC80 <= ord(ch) <= 0xDCFF for ch in arg) for arg in args):
        _fail("命令行参数含有无效的 UTF-8 字节")
    try:
        status = cli(args=args, prog_name="xiaohao", standalone_mode=False)
    except DomainError as error:
        _fail(error.message)
    except ValidationError as error:
        problem = error.errors()[0]
        _fail(f"配置项 XIAOHAO_{str(problem['loc'][0]).upper()} 无效：{problem['msg']}")
    except OSError as error:
        _fail(f"无法访问文件或目录：{error}")
    except typer.Abort:
        _fail("已取消")
    except ClickException as error:
        _fail(error.format_message())
    if isinstance(status, int) and status:
        sys.exit(status)     # a command's own failure (typer.Exit), such as audit verify's
