"""Evidence files: recognised by their content, stored once under their sha256, under a folder
(var/evidence by default). `EvidenceFiles` is what the web's EvidenceStore asks for."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
from datetime import datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import ExifTags, Image, ImageOps

from domain.errors import InvalidInputError
from domain.values import Evidence

SHA256 = re.compile("[0-9a-f]{64}")


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


# Characters that print nothing yet change what a name seems to say: controls, and format
# characters such as the direction marks and overrides (U+200E, U+202E, U+2066…).
INVISIBLE = frozenset({"Cc", "Cf"})


def store_file(path: Path, evidence_dir: Path, max_bytes: int) -> Evidence:
    """Check a file by content and size, copy it into the evidence store, return its reference."""
    if path.stat().st_size > max_bytes:
        raise InvalidInputError(f"文件 {path.name} 超过 {max_bytes // (1024 * 1024)} MB")
    return store_bytes(path.read_bytes(), path.name, evidence_dir, max_bytes)


def store_bytes(data: bytes, name: str, evidence_dir: Path, max_bytes: int) -> Evidence:
    """The same for an upload: `name` is kept as a label only (its folders are dropped), the
    file itself is stored under its sha256. A photo's reference carries when and where it says
    it was taken, so that the ticket can flag a doubtful one (domain/evidence_checks.py)."""
    label = PureWindowsPath(PurePosixPath(name or "").name).name.strip() or "未命名文件"
    if any(unicodedata.category(ch) in INVISIBLE for ch in label):
        raise InvalidInputError("文件名含有不可见的控制字符（如改变文字方向的字符，可让 .exe "
                                "看似 .jpg），请改名后再上传")
    if len(data) > max_bytes:
        raise InvalidInputError(f"文件 {label} 超过 {max_bytes // (1024 * 1024)} MB")
    content_type = sniff(data[:16])
    if content_type is None:
        raise InvalidInputError(f"文件 {label} 不是 jpg/png/webp/heic/pdf")
    digest = hashlib.sha256(data).hexdigest()
    target = evidence_path(evidence_dir, digest)
    try:
        os.utime(target)    # kept already: its sweep's grace starts again from this upload
    except FileNotFoundError:
        _write_whole(target, data)
    facts = photo_facts(evidence_dir, digest) if content_type.startswith("image/") else {}
    return Evidence(sha256=digest, name=label[:255], content_type=content_type, size=len(data),
                    **facts)


def _write_whole(target: Path, data: bytes) -> None:
    """Write through a temporary file of its own, then rename: never a half-written file under
    the final name, and writers of the same file at once do not trip over each other."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def evidence_path(evidence_dir: Path, digest: str) -> Path:
    return evidence_dir / digest[:2] / digest


THUMB_SIZE = (320, 320)


@lru_cache(maxsize=1)
def _heif() -> None:
    """Teach Pillow to open HEIC photos (registered once, when a photo is first opened)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def thumbnail(evidence_dir: Path, digest: str) -> Path | None:
    """A small JPEG of a stored photo (HEIC included), made once and kept beside the
    originals; None when the file is not a picture Pillow can read (a PDF, a broken or an
    enormous image)."""
    target = evidence_dir / "thumbs" / f"{digest}.jpg"
    if target.exists():
        return target
    _heif()
    try:
        with Image.open(evidence_path(evidence_dir, digest)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
        _write_whole(target, out.getvalue())
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return target


@lru_cache(maxsize=4096)
def photo_facts(evidence_dir: Path, digest: str) -> dict:
    """When and where a photo says it was taken (EXIF), when it says so: {"taken_at":
    "YYYY-MM-DD HH:MM:SS", "gps": (latitude, longitude)}; empty for files without such data.
    A value no real moment or place could have (a camera's "0000:00:00", a latitude of 300) is
    left out rather than refused: the photo is kept, only the fact is unknown."""
    facts: dict = {}
    _heif()
    try:
        with Image.open(evidence_path(evidence_dir, digest)) as image:
            exif = image.getexif()
    except (OSError, ValueError, Image.DecompressionBombError):
        return facts
    taken = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) or exif.get(
        ExifTags.Base.DateTime)
    if isinstance(taken, str):
        try:
            moment = datetime.strptime(taken.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
            facts["taken_at"] = moment.isoformat(sep=" ")
        except ValueError:
            pass
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        latitude = _degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef])
        longitude = _degrees(gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef])
        if abs(latitude) <= 90 and abs(longitude) <= 180:
            facts["gps"] = (round(latitude, 6), round(longitude, 6))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        pass
    return facts


def _degrees(value, ref: str) -> float:
    degrees, minutes, seconds = (float(v) for v in value)
    sign = -1 if ref in ("S", "W") else 1
    return sign * (degrees + minutes / 60 + seconds / 3600)


class EvidenceFiles:
    """The evidence store under one folder, taking files up to `limit_bytes`."""

    def __init__(self, folder: Path, limit_bytes: int) -> None:
        self.folder, self.limit_bytes = folder, limit_bytes

    def store(self, data: bytes, name: str) -> Evidence:
        return store_bytes(data, name, self.folder, self.limit_bytes)

    def store_file(self, path: Path) -> Evidence:
        return store_file(path, self.folder, self.limit_bytes)

    def path(self, sha256: str) -> Path:
        return evidence_path(self.folder, sha256)

    def thumbnail(self, sha256: str) -> Path | None:
        return thumbnail(self.folder, sha256)

    def facts(self, sha256: str) -> dict:
        return photo_facts(self.folder, sha256)

    def kept_before(self, moment: float) -> set[str]:
        """The files last stored before `moment` (a POSIX time; storing a file again touches
        it), by their sha256."""
        return {path.name for path in self.folder.glob("[0-9a-f][0-9a-f]/*")
                if SHA256.fullmatch(path.name) and path.stat().st_mtime < moment}

    def remove(self, sha256: str, unless_stored_since: float) -> int:
        """Remove a file and its thumbnail, unless it was stored again since the moment given
        (someone is about to name it); the bytes freed."""
        path = self.path(sha256)
        try:
            stat = path.stat()
            if stat.st_mtime >= unless_stored_since:
                return 0
            path.unlink()
        except FileNotFoundError:
            return 0
        (self.folder / "thumbs" / f"{sha256}.jpg").unlink(missing_ok=True)
        return stat.st_size
