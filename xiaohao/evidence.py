"""Evidence files: recognised by their content, stored once under their sha256."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

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
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidInputError(f"文件 {path.name} 超过 {max_bytes // (1024 * 1024)} MB")
    data = path.read_bytes()
    content_type = sniff(data[:16])
    if content_type is None:
        raise InvalidInputError(f"文件 {path.name} 不是 jpg/png/webp/heic/pdf")
    digest = hashlib.sha256(data).hexdigest()
    target = evidence_dir / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return Evidence(sha256=digest, name=path.name, content_type=content_type, size=size)
