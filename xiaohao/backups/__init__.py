"""Backups that restore: `make_backup` while the server takes writes, `restore_backup` into an
empty var/ (and an empty PostgreSQL schema)."""

from xiaohao.backups.archive import BackupError
from xiaohao.backups.make import Made, make_backup
from xiaohao.backups.restore import Restored, restore_backup

__all__ = ["BackupError", "Made", "Restored", "make_backup", "restore_backup"]
