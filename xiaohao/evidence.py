"""Evidence files: recognised by their content, stored once under their sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from domain.errors import InvalidInputError
from domain.values import Evidence

MAX_BYTES = 20 * 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The content type by magic bytes, or None when it is not an accepted kind."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def store_file(path: Path, evidence_dir: Path, max_bytes: int = MAX_BYTES) -> Evidence:
    """Check a file by content and size, copy it into the evidence store, return its reference."""
    if path.stat().st_size > max_bytes:
        raise InvalidInputError(f"文件 {path.name} 超过 {max_bytes // (1024 * 1024)} MB")
    return store_bytes(path.read_bytes(), path.name, evidence_dir, max_bytes)


def store_bytes(data: bytes, name: str, evidence_dir: Path, max_bytes: int = MAX_BYTES) -> Evidence:
    """The same for an upload: `name` is kept as a label only (its folders are dropped), the
    file itself is stored under its sha256."""
    label = PureWindowsPath(PurePosixPath(name or "").name).name.strip() or "未命名文件"
    if len(data) > max_bytes:
        raise InvalidInputError(f"文件 {label} 超过 {max_bytes // (1024 * 1024)} MB")
    content_type = sniff(data[:16])
    if content_type is None:
        raise InvalidInputError(f"文件 {label} 不是 jpg/png/webp/heic/pdf")
    digest = hashlib.sha256(data).hexdigest()
    target = evidence_path(evidence_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)     # never a half-written file under the final name
    return Evidence(sha256=digest, name=label[:255], content_type=content_type, size=len(data))


def evidence_path(evidence_dir: Path, digest: str) -> Path:
    return evidence_dir / digest[:2] / digest
