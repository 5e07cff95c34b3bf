"""Checking the sealed log against the store (`xiaohao audit verify`), proofs for one event or
between two checkpoints (`prove`), and the export an auditor checks offline (`export`).

`verify` reads every stored notification once, in log order, beside the leaves the seal kept:
a leaf the store no longer gives names the first altered, missing, inserted or reordered event.
Every recorded checkpoint, and every one given from outside (as printed in a bulletin or a
digest), must equal the root of the tree the store's events give now and, when recorded, carry
a good signature; when only a checkpoint can tell (the leaves rewritten along with the events),
the report names the range of events between the last checkpoint that holds and the first that
does not."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from domain import seal as seal_rules
from domain.checkpoints import (
    CHECKPOINT_TOPIC,
    SealKey,
    SealLeaves,
    Verification,
    require_same_hash,
)
from domain.seal import EXPORT_FORMAT, Frontier, Suite, fingerprint, leaf_bytes, statement

BATCH = 5000
NEAR = 2000          # how far a moved event is looked for on each side of where it was
MIN_PREFIX = 16      # hex digits of a root given from outside


@dataclass
class Report:
    events: int = 0
    sealed: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Given:
    """A checkpoint copied from outside the system: SIZE:ROOT (ROOT's first 16 hex or more)."""

    size: int
    root: str

    @classmethod
    def parse(cls, text: str) -> Given:
        size, _, root = text.strip().partition(":")
        root = root.strip().lower().rstrip("…").rstrip(".")
        if not size.strip().isdigit() or len(root) < MIN_PREFIX or len(root) > 64 \
                or any(c not in "0123456789abcdef" for c in root):
            raise ValueError(f"存证应写作 条数:根哈希（至少前 {MIN_PREFIX} 位），如 1355:ab12cd34ef56…，"
                             f"而不是 {text[:80]!r}")
        return cls(int(size), root)


def _notifications(app) -> Iterator:
    recorder = app.recorder
    top = recorder.max_notification_id() or 0
    last = 0
    while last < top:
        batch = recorder.select_notifications(start=last + 1, limit=BATCH, stop=top)
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _leaf(suite: Suite, n) -> bytes:
    return suite.leaf(leaf_bytes(n.id, n.originator_id, n.originator_version, n.topic, n.state))


def recorded_checkpoints(app) -> list[dict]:
    """Every checkpoint event in the store, as recorded (decoded from the log itself)."""
    recorder = app.recorder
    top = recorder.max_notification_id() or 0
    found, last = [], 0
    while last < top:
        batch = recorder.select_notifications(start=last + 1, limit=BATCH, stop=top,
                                              topics=[CHECKPOINT_TOPIC])
        if not batch:
            break
        for n in batch:
            event = app.mapper.to_domain_event(n)
            found.append({"notification_id": n.id, "size": event.size, "root": event.root,
                          "at": event.at, "hash": event.hash, "key": event.key,
                          "signature_algorithm": event.signature_algorithm,
                          "signature": event.signature, "reason": event.reason,
                          "county_code": event.county_code})
        last = batch[-1].id
    return found


def verify(app, leaves: SealLeaves, suite: Suite, key: SealKey, given: list[Given] = (),
           progress: Callable[[int, int], None] = lambda done, total: None) -> Report:
    report = Report()
    checkpoints = recorded_checkpoints(app)
    wanted = {c["size"] for c in checkpoints} | {g.size for g in given}
    roots: dict[int, bytes] = {0: suite.empty()} if 0 in wanted else {}
    frontier = Frontier(suite)
    head = leaves.head()
    require_same_hash(head, suite)
    report.sealed = head.size
    total = app.recorder.max_notification_id() or 0
    kept: list = []              # the stored rows of the current batch
    first_wrong = None
    for n in _notifications(app):
        i = frontier.size
        leaf = _leaf(suite, n)
        if first_wrong is None and i < head.size:
            if not kept or i - kept[0][0] >= len(kept):
                kept = leaves.leaves(i, BATCH)
            if not kept or not kept[0][0] <= i < kept[0][0] + len(kept):
                report.problems.append(f"封存记录缺失：第 {i + 1} 条起的叶子哈希不在封存表中")
                first_wrong = False
            else:
                stored = kept[i - kept[0][0]]
                if stored[1] != n.id or bytes(stored[2]) != leaf:
                    first_wrong = (i, n, stored)
        frontier.append(leaf)
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
        if frontier.size % BATCH == 0:
            progress(n.id, total)
    report.events = frontier.size
    if first_wrong:
        report.problems.append(_explain(app, leaves, suite, *first_wrong))
    elif report.events < head.size:
        gone = leaves.leaves(report.events, 1)[0]
        report.problems.append(
            f"日志被截断：封存的第 {report.events + 1} 条（事件 #{gone[1]}）起，共 "
            f"{head.size - report.events} 条事件已不在库中")
    report.problems += _check_checkpoints(checkpoints, given, roots, report.events, suite,
                                          key, app)
    report.checkpoints = len(checkpoints)
    progress(total, total)
    return report


def _explain(app, leaves: SealLeaves, suite: Suite, index: int, n, stored) -> str:
    """What the first leaf that differs says happened to the log there."""
    where = f"第 {index + 1} 条（位置 {index}）"
    sealed_id = stored[1]
    nearby = leaves.leaves(max(index - NEAR, 0), 2 * NEAR + 1)
    sealed = {j: (nid, bytes(h)) for j, nid, h in nearby}
    around = "封存时此处前后的事件为 " + "、".join(
        f"#{sealed[j][0]}" for j in range(index - 1, index + 2) if j in sealed)

    def was(event, j: int) -> bool:
        """Would `event`, under the id sealed at leaf j, be the leaf sealed there?"""
        return j in sealed and sealed[j][1] == suite.leaf(leaf_bytes(
            sealed[j][0], event.originator_id, event.originator_version, event.topic,
            event.state))

    following = [m for m in app.recorder.select_notifications(start=n.id, limit=2)
                 if m.id > n.id]
    if n.id > sealed_id:
        return f"事件被删除：{where}事件 #{sealed_id} 已不在库中（现在该处是 #{n.id}）；{around}"
    if n.id < sealed_id:
        return f"事件被插入：{where}事件 #{n.id} 封存时并不存在（封存时该处是 #{sealed_id}）；{around}"
    if following and was(following[0], index):
        return (f"事件被插入：{where}出现了封存时没有的事件（现编号 #{n.id}），其后的事件编号依次后移；"
                f"{around}")
    if was(n, index + 1):
        return (f"事件被删除：封存时{where}的事件 #{sealed_id} 已不在库中，其后的事件编号依次前移；"
                f"{around}")
    for j in sorted(sealed, key=lambda j: abs(j - index)):
        if j != index and was(n, j):
            return (f"事件顺序被调换：{where}事件 #{n.id} 现在的内容原是事件 #{sealed[j][0]}"
                    f"（第 {j + 1} 条）的；{around}")
    return f"事件被篡改：{where}事件 #{n.id} 的存储内容与封存时不同；{around}"


def _check_checkpoints(checkpoints: list[dict], given: list[Given], roots: dict[int, bytes],
                       events: int, suite: Suite, key: SealKey, app) -> list[str]:
    problems, holding = [], []
    for c in checkpoints:
        label = f"第 {c['size']} 条的存证（{c['at']}，{c['reason']}）"
        signed = statement(c["county_code"], c["hash"], c["size"], bytes.fromhex(c["root"]),
                           c["at"])
        if c["key"] != fingerprint(key.public_key) or c["county_code"] != app.county_code:
            problems.append(f"{label}由另一把密钥（{c['key']}）或为另一个县签署")
        elif c["hash"] != suite.name or c["signature_algorithm"] != key.algorithm:
            problems.append(f"{label}使用的算法（{c['hash']}、{c['signature_algorithm']}）"
                            "与本系统不符")
        elif not seal_rules.verify_signature(key.algorithm, key.public_key, signed,
                                             bytes.fromhex(c["signature"])):
            problems.append(f"{label}的签名无效")
        elif roots.get(c["size"]) != bytes.fromhex(c["root"]):
            problems.append(f"{label}与库中前 {c['size']} 条事件不符")
        else:
            holding.append(c["size"])
    good_given = []
    for g in given:
        root = roots.get(g.size)
        if root is not None and root.hex().startswith(g.root):
            good_given.append(g.size)
    for g in given:
        if g.size in good_given:
            continue
        if g.size not in roots:
            problems.append(f"给出的存证（第 {g.size} 条）多于库中现有的 {events} 条事件："
                            "日志被截断")
            continue
        below = [s for s in good_given if s < g.size]
        since = max(below, default=0)
        problems.append(
            f"给出的存证（第 {g.size} 条 · {g.root}…）与库中前 {g.size} 条事件不符："
            f"日志在第 {since + 1} 至第 {g.size} 条之间被改写"
            + ("（此前没有相符的外部存证）" if not below else f"（第 {since} 条的存证仍相符）")
            + ("；库中记录的存证与日志一致，说明改写者重算了封存并用签名密钥重新签署，密钥须视为泄露"
               if holding and not problems else "（也请核对存证是否抄错）"))
    return problems


def inclusion(leaves: SealLeaves, suite: Suite, notification_id: int, size: int) -> dict:
    """The audit path of one event in the tree of `size` leaves (from the seal's leaves)."""
    rows = _rows(leaves, size)
    index = next((i for i, nid, _ in rows if nid == notification_id), None)
    if index is None:
        raise ValueError(f"事件 #{notification_id} 不在前 {size} 条封存的事件中")
    hashes = [bytes(h) for _, _, h in rows]
    return {"notification_id": notification_id, "leaf_index": index, "tree_size": size,
            "leaf_hash": hashes[index].hex(), "root": seal_rules.root_of(suite, hashes).hex(),
            "path": [h.hex() for h in seal_rules.inclusion_proof(suite, index, hashes)],
            "hash": suite.name}


def consistency(leaves: SealLeaves, suite: Suite, first: int, second: int) -> dict:
    """That the tree of `first` leaves is the beginning of the tree of `second`."""
    hashes = [bytes(h) for _, _, h in _rows(leaves, second)]
    return {"first": first, "second": second,
            "first_root": seal_rules.root_of(suite, hashes[:first]).hex(),
            "second_root": seal_rules.root_of(suite, hashes).hex(),
            "path": [h.hex() for h in seal_rules.consistency_proof(suite, first, hashes)],
            "hash": suite.name}


def _rows(leaves: SealLeaves, size: int) -> list:
    if size < 1 or size > leaves.head().size:
        raise ValueError(f"封存的事件只有 {leaves.head().size} 条，没有第 {size} 条")
    rows: list = []
    while len(rows) < size:
        rows += leaves.leaves(len(rows), min(BATCH * 10, size - len(rows)))
    return rows


def export_lines(app, suite: Suite, key: SealKey) -> Iterator[str]:
    """The whole log with its checkpoints and the public key, as JSON lines: a header, every
    checkpoint, every event with its stored state in base64."""
    yield json.dumps({"seal": {
        "format": EXPORT_FORMAT, "county": app.county_code, "hash": suite.name,
        "signature": key.algorithm, "public_key": key.public_key.hex(),
        "fingerprint": fingerprint(key.public_key)}}) + "\n"
    for c in recorded_checkpoints(app):
        yield json.dumps({"checkpoint": c}, ensure_ascii=False) + "\n"
    for n in _notifications(app):
        yield json.dumps({"event": {
            "id": n.id, "originator_id": str(n.originator_id),
            "originator_version": n.originator_version, "topic": n.topic,
            "state": base64.b64encode(n.state).decode()}}) + "\n"


def export(app, suite: Suite, key: SealKey, target: Path) -> int:
    """The export in `target`, and the offline verifier (domain/seal.py) beside it as
    verify_seal.py. Returns how many events."""
    count = -1
    with target.open("w", encoding="utf-8") as out:
        for line in export_lines(app, suite, key):
            out.write(line)
            count += line.startswith('{"event"')
    shutil.copyfile(seal_rules.__file__, target.parent / "verify_seal.py")
    return count + 1


def record(app, by: str, report: Report, given: int, started_at) -> None:
    """The verification as an event, so that who checked the log, and what they found, is in
    the log too."""
    app.save(Verification(by=by, ok=report.ok, events=report.events, sealed=report.sealed,
                          checkpoints=report.checkpoints, given=given,
                          problems=report.problems, started_at=started_at,
                          timestamp=app.now()))


class SealAudit:
    """The audit page's part of the seal (web/config.py `SealAudit`), over one store's seal."""

    def __init__(self, leaves: SealLeaves, suite: Suite, key: SealKey) -> None:
        self.leaves, self.suite, self.key = leaves, suite, key

    def sealed(self) -> int:
        return self.leaves.head().size

    def verify(self, app, by: str, progress: Callable[[int, int], None]) -> dict:
        started = app.now()
        report = verify(app, self.leaves, self.suite, self.key, progress=progress)
        record(app, by, report, 0, started)
        return {"ok": report.ok, "events": report.events, "sealed": report.sealed,
                "checkpoints": report.checkpoints, "problems": report.problems}

    def export_lines(self, app) -> Iterator[str]:
        return export_lines(app, self.suite, self.key)
