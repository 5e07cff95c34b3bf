"""The backup file: a plain tar of named parts and a manifest that gives each part's sha256
and size. It is written aside and linked into place only when whole, and read back twice on
restore: once to check every part against the manifest (nothing written), once to extract."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from domain.errors import DomainError
from xiaohao.settings import CLOCK_FILE, SEAL_KEY_FILE, SEAL_SM2_KEY_FILE, SECRET_KEY_FILE

MANIFEST = "manifest.json"
FORMAT = "xiaohao-backup/1"
EVENTS_SQLITE = "events.sqlite3"
EVENTS_POSTGRES = "events.pgdump"
# Files under var/ that a restored system needs and cannot make again: the key that signs
# sessions (without it everyone is signed out), the keys that sign the seal's checkpoints
# (without them the printed checkpoints name a key the system no longer has) and the demo's
# clock (without it the demo's weeks would jump to today). The read models are not among
# them: they are rebuilt.
KEPT_FILES = (SECRET_KEY_FILE, SEAL_KEY_FILE, SEAL_SM2_KEY_FILE, CLOCK_FILE)
# The only names a part may have: a restore writes nothing whose name is not one of these.
PART_NAME = re.compile("|".join([re.escape(EVENTS_SQLITE), re.escape(EVENTS_POSTGRES),
                                 *(re.escape(f"keys/{name}") for name in KEPT_FILES),
                                 r"evidence/[0-9a-f]{64}"]))
CHUNK = 1 << 20


class BackupError(DomainError):
    """Raised when a backup cannot be made, or a backup file cannot be restored as it is."""


def evidence_part(digest: str) -> str:
    return f"evidence/{digest}"


def key_part(file_name: str) -> str:
    return f"keys/{file_name}"


class _Hashing(io.RawIOBase):
    """A reader that hashes and counts what passes through it."""

    def __init__(self, source: BinaryIO) -> None:
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


class BackupWriter:
    """Writes parts into a new backup file that appears under its name, created 0600, only
    once the manifest is written; an unfinished one leaves nothing behind."""

    def __init__(self, target: Path) -> None:
        self.target = target
        if target.exists():
            raise BackupError(f"文件已存在：{target}（不覆盖已有的备份，请换一个文件名）")
        if not target.parent.is_dir():
            raise BackupError(f"备份文件所在的目录不存在：{target.parent}")
        handle, aside = tempfile.mkstemp(dir=target.parent, prefix=".xhbak-")   # 0600
        self.aside = Path(aside)
        self.out = os.fdopen(handle, "wb")
        self.tar = tarfile.open(fileobj=self.out, mode="w", format=tarfile.PAX_FORMAT)
        self.parts: list[dict] = []

    def add(self, name: str, source: BinaryIO, size: int) -> None:
        reader = _Hashing(source)
        self.tar.addfile(_member(name, size), reader)      # exactly `size` bytes, or an error
        self.parts.append({"name": name, "sha256": reader.digest.hexdigest(), "size": size})

    def add_file(self, name: str, path: Path) -> None:
        with path.open("rb") as source:
            self.add(name, source, os.fstat(source.fileno()).st_size)

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add(name, io.BytesIO(data), len(data))

    def finish(self, manifest: dict) -> None:
        text = json.dumps({"format": FORMAT, **manifest, "parts": self.parts},
                          ensure_ascii=False, indent=2).encode()
        self.tar.addfile(_member(MANIFEST, len(text)), io.BytesIO(text))
        self.tar.close()
        self.out.flush()
        os.fsync(self.out.fileno())
        self.out.close()
        try:
            os.link(self.aside, self.target)
        except FileExistsError:
            raise BackupError(f"文件已存在：{self.target}（不覆盖已有的备份）") from None
        finally:
            self.aside.unlink()

    def abandon(self) -> None:
        self.tar.close()
        self.out.close()
        self.aside.unlink(missing_ok=True)

    def __enter__(self) -> BackupWriter:
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None:
            self.abandon()


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    return info


def verify(path: Path) -> dict:
    """The manifest of a backup file, once every part in it has been read and matched the
    manifest's sha256 and size, and nothing is missing or extra; BackupError otherwise."""
    with _readable():
        return _verified(path)


def _verified(path: Path) -> dict:
    seen: dict[str, dict] = {}
    manifest: dict | None = None
    for member, data in _members(path):
        if member.name in seen or (member.name == MANIFEST and manifest is not None):
            raise _damaged(f"{member.name} 出现了两次")
        if member.name == MANIFEST:
            manifest = _parse_manifest(data.read())
        else:
            reader = _Hashing(data)
            while reader.read(CHUNK):
                pass
            seen[member.name] = {"sha256": reader.digest.hexdigest(), "size": reader.size}
    if manifest is None:
        raise _damaged("没有清单 manifest.json")
    listed = {part["name"]: part for part in manifest["parts"]}
    for name, found in seen.items():
        part = listed.get(name)
        if part is None:
            raise _damaged(f"清单中没有 {name}")
        if (part["sha256"], part["size"]) != (found["sha256"], found["size"]):
            raise _damaged(f"{name} 与清单中的 sha256 不符")
        if name.startswith("evidence/") and found["sha256"] != name.removeprefix("evidence/"):
            raise _damaged(f"{name} 的内容与其 sha256 名称不符")
    absent = sorted(set(listed) - set(seen))
    if absent:
        raise _damaged(f"缺少 {'、'.join(absent[:5])}")
    return manifest


def extract(path: Path, manifest: dict, place: Callable[[str], Path]) -> None:
    """Write every part to where `place` puts it (0600, folders 0700), hashing again as it
    goes, so a file changed since `verify` is still refused."""
    with _readable():
        _extract(path, manifest, place)


def _extract(path: Path, manifest: dict, place: Callable[[str], Path]) -> None:
    listed = {part["name"]: part for part in manifest["parts"]}
    for member, data in _members(path):
        if member.name == MANIFEST:
            continue
        target = place(member.name)
        _folder(target.parent)
        reader = _Hashing(data)
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            while chunk := reader.read(CHUNK):
                out.write(chunk)
        if reader.digest.hexdigest() != listed[member.name]["sha256"]:
            raise _damaged(f"{member.name} 在恢复过程中发生了变化")


def _folder(path: Path) -> None:
    """Make a folder and its missing parents 0700 (mkdir's `parents` would make them 0755)."""
    if not path.is_dir():
        _folder(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)


def _members(path: Path):
    """Each regular member of a backup file with a reader of its data."""
    with tarfile.open(path, mode="r:") as tar:
        for member in tar:
            if not member.isfile() or not (member.name == MANIFEST or
                                           PART_NAME.fullmatch(member.name)):
                raise _damaged(f"含有不应有的条目 {member.name!r}")
            yield member, tar.extractfile(member)


@contextmanager
def _readable() -> Iterator[None]:
    """A tar that cannot be read (cut short, a header damaged) is a damaged backup."""
    try:
        yield
    except (tarfile.TarError, EOFError, UnicodeDecodeError) as error:
        raise _damaged(f"无法读取（{error}）") from None


def _parse_manifest(text: bytes) -> dict:
    try:
        manifest = json.loads(text)
        parts = manifest["parts"]
        for part in parts:
            if not PART_NAME.fullmatch(part["name"]) or not isinstance(part["size"], int):
                raise ValueError(part["name"])
            if not re.fullmatch(r"[0-9a-f]{64}", part["sha256"]):
                raise ValueError(part["sha256"])
        int(manifest["log_position"])
    except (ValueError, KeyError, TypeError) as error:
        raise _damaged(f"清单无法读取（{error}）") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不认识的备份格式：{manifest.get('format')!r}（本版本读取 {FORMAT}）")
    return manifest


def _damaged(why: str) -> BackupError:
    return BackupError(f"备份文件已损坏或不完整，未恢复任何内容：{why}")
