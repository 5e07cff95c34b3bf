"""Making a backup while the server takes writes: the event store up to one log position, the
evidence files that the events up to it name, the keys under var/, and a manifest."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from xiaohao import wiring
from xiaohao.backups.archive import KEPT_FILES, BackupWriter, evidence_part, key_part
from xiaohao.backups.stores import event_store
from xiaohao.evidence_upkeep import named_evidence
from xiaohao.settings import Settings


@dataclass
class Made:
    """What a backup holds."""

    path: Path
    log_position: int
    evidence_files: int
    evidence_bytes: int
    missing_evidence: list[str]


def make_backup(settings: Settings, target: Path) -> Made:
    events = event_store(settings)
    events.check_source()
    facts = events.facts()
    app = settings.build_app()
    try:
        with BackupWriter(target) as out, tempfile.TemporaryDirectory() as scratch:
            dump = Path(scratch) / events.part
            position = events.dump(app, dump)
            out.add_file(events.part, dump)
            dump.unlink()
            for name in KEPT_FILES:
                if (settings.var_dir / name).is_file():
                    out.add_file(key_part(name), settings.var_dir / name)
            store = wiring.evidence(settings)
            kept, size, missing = 0, 0, []
            for digest in sorted(named_evidence(app, position)):
                data = _read(store.path(digest))
                if data is None or hashlib.sha256(data).hexdigest() != digest:
                    missing.append(digest)
                    continue
                out.add_bytes(evidence_part(digest), data)
                kept, size = kept + 1, size + len(data)
            out.finish({
                "product": "xiaohao", "version": version("xiaohao"),
                "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "store": settings.store, "county_code": settings.county_code,
                "county_name": settings.county_name, "log_position": position,
                "session_key_in_settings": bool(settings.secret_key),
                "missing_evidence": missing,
                **({"postgres": facts} if facts else {}),
            })
    finally:
        app.close()
    return Made(target, position, kept, size, missing)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
