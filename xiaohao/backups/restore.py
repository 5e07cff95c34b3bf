"""Restoring a backup into an empty var/ (and, for PostgreSQL, an empty schema): every part is
checked against the manifest before anything is written, a restore that fails halfway takes
back what it wrote, and the read models are rebuilt from the restored log at the end."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xiaohao import wiring
from xiaohao.backups.archive import BackupError, extract, verify
from xiaohao.backups.stores import event_store
from xiaohao.settings import Settings


@dataclass
class Restored:
    """What a restore put back."""

    made_at: str
    log_position: int
    evidence_files: int
    missing_evidence: list[str]
    session_key_in_settings: bool


def restore_backup(settings: Settings, source: Path) -> Restored:
    events = event_store(settings)
    var = settings.var_dir
    if var.exists() and any(var.iterdir()):
        raise BackupError(f"{var} 不是空的：恢复只写入空的目录（请换一个目录，或先移走其中的文件）")
    if not source.is_file():
        raise BackupError(f"找不到备份文件：{source}")
    manifest = verify(source)
    _check_fits(manifest, settings)
    events.check_target(manifest)
    made = not var.exists()
    evidence = wiring.evidence(settings)
    try:
        var.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:

            def place(name: str) -> Path:
                if name == events.part:
                    return events.place(Path(scratch))
                kind, _, rest = name.partition("/")
                return evidence.path(rest) if kind == "evidence" else var / rest

            extract(source, manifest, place)
            events.load(events.place(Path(scratch)))
    except BaseException:
        _take_back(var, made)
        raise
    _rebuild_read_models(settings, manifest["log_position"])
    return Restored(manifest["made_at"], manifest["log_position"],
                    sum(p["name"].startswith("evidence/") for p in manifest["parts"]),
                    manifest.get("missing_evidence", []),
                    manifest.get("session_key_in_settings", False))


def _check_fits(manifest: dict, settings: Settings) -> None:
    if manifest["store"] != settings.store:
        raise BackupError(f"这是 {manifest['store']} 事件库的备份，而当前配置的事件库是 "
                          f"{settings.store}（XIAOHAO_STORE）")
    if manifest["county_code"] != settings.county_code:
        raise BackupError(f"这是县代码 {manifest['county_code']}（{manifest.get('county_name', '')}）"
                          f"的备份，而当前配置的县代码是 {settings.county_code}（XIAOHAO_COUNTY_CODE）")


def _take_back(var: Path, made: bool) -> None:
    """var/ was empty before: empty it again (and remove it if the restore made it)."""
    if made:
        shutil.rmtree(var, ignore_errors=True)
        return
    for entry in var.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _rebuild_read_models(settings: Settings, position: int) -> None:
    """Replay the restored log into fresh read models, after checking it ends where the
    backup said it did."""
    app = settings.build_app()
    try:
        head = app.recorder.max_notification_id() or 0
        if head != position:
            raise BackupError(f"恢复后的事件日志末端是 {head}，而备份清单记录的是 {position}")
        read = wiring.read_models(settings, app)
        read.runner.catch_up()
        read.close()
    finally:
        app.close()
