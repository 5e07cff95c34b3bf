"""The seal's rules: a Merkle tree over the stored log in the style of Certificate Transparency
(RFC 9162, section 2.1), the checkpoints signed over it, and the proofs that tie an event or an
earlier checkpoint to a later one.

This file is also the offline verifier. It needs only Python's standard library and, for
Ed25519 signatures, the `cryptography` package (SM2 signatures are checked here by hand, so
that the one file is all an auditor needs). `xiaohao audit export FILE` writes the log with its
checkpoints as JSON lines and this file beside it; `python3 verify_seal.py FILE` checks it.

- A leaf is one stored notification, in log order: its id, originator id, originator version,
  topic and the exact stored bytes of its state (`leaf_bytes`). Its index is its place in that
  order, not its id (PostgreSQL's ids may have gaps).
- Leaf hash = H(0x00 || leaf), node hash = H(0x01 || left || right), H being SHA-256 (or SM3
  with the 国密 setting); the tree over n leaves splits at the largest power of two below n.
- A checkpoint says: this county's log had `size` events with this root at this time. Its
  statement (`statement`) is signed with Ed25519 (or SM2).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

HASHES = ("sha256", "sm3")
SIGNATURES = ("ed25519", "sm2")
EXPORT_FORMAT = "xiaohao-seal-export/1"
STATEMENT_HEAD = "xiaohao-checkpoint/1"


@dataclass(frozen=True)
class Suite:
    """The hash a tree is built with."""

    name: str = "sha256"

    def __post_init__(self) -> None:
        if self.name not in HASHES:
            raise ValueError(f"unknown hash {self.name!r}: one of {', '.join(HASHES)}")

    def _new(self, data: bytes):
        # hashlib's named constructor skips `new`'s lookup, which sealing feels at every leaf
        made = getattr(hashlib, self.name, None)
        return made(data) if made else hashlib.new(self.name, data)

    def digest(self, data: bytes) -> bytes:
        return self._new(data).digest()

    def leaf(self, data: bytes) -> bytes:
        return self._new(b"\x00" + data).digest()

    def node(self, left: bytes, right: bytes) -> bytes:
        return self._new(b"\x01" + left + right).digest()

    def empty(self) -> bytes:
        return self._new(b"").digest()


_ID, _VERSION = struct.Struct(">Q"), struct.Struct(">QH")


def leaf_bytes(notification_id: int, originator_id: UUID | bytes, version: int, topic: str,
               state: bytes) -> bytes:
    """A stored notification as one leaf: id (8 bytes), originator (16, from its UUID or its
    bytes), version (8), the topic's length (2) and UTF-8, then the state's stored bytes, all
    big-endian."""
    name = topic.encode()
    originator = originator_id if isinstance(originator_id, bytes) else originator_id.bytes
    return (_ID.pack(notification_id) + originator + _VERSION.pack(version, len(name)) + name
            + bytes(state))


class Frontier:
    """The roots of the perfect subtrees a tree of `size` leaves is made of, left to right:
    all a tree needs to grow by one leaf and to give its root, without its earlier leaves."""

    def __init__(self, suite: Suite, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        if len(peaks) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves has {bin(size).count('1')} peaks, "
                             f"not {len(peaks)}")
        self.suite, self.size, self.peaks = suite, size, list(peaks)

    def append(self, leaf_hash: bytes) -> None:
        node = self.suite.node
        peaks = self.peaks
        peaks.append(leaf_hash)
        size = self.size
        while size & 1:            # each carry merges the two rightmost perfect subtrees
            right = peaks.pop()
            peaks[-1] = node(peaks[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.peaks:
            return self.suite.empty()
        root = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            root = self.suite.node(peak, root)
        return root

    def copy(self) -> Frontier:
        return Frontier(self.suite, self.size, self.peaks)

    def to_bytes(self) -> bytes:
        return b"".join(self.peaks)

    @classmethod
    def from_bytes(cls, suite: Suite, size: int, data: bytes) -> Frontier:
        width = len(suite.empty())
        return cls(suite, size, [data[i:i + width] for i in range(0, len(data), width)])


def root_of(suite: Suite, leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 over the leaves' hashes."""
    frontier = Frontier(suite)
    for leaf_hash in leaf_hashes:
        frontier.append(leaf_hash)
    return frontier.root()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(suite: Suite, index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree over `leaf_hashes`."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaf_hashes)}")
    if len(leaf_hashes) == 1:
        return []
    k = _split(len(leaf_hashes))
    if index < k:
        return inclusion_proof(suite, index, leaf_hashes[:k]) + [
            root_of(suite, leaf_hashes[k:])]
    return inclusion_proof(suite, index - k, leaf_hashes[k:]) + [
        root_of(suite, leaf_hashes[:k])]


def consistency_proof(suite: Suite, first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first `first` leaves is a prefix of this one."""
    if not 0 < first <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from {first} to {len(leaf_hashes)}")

    def subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
        if m == len(leaves):
            return [] if whole else [root_of(suite, leaves)]
        k = _split(len(leaves))
        if m <= k:
            return subproof(m, leaves[:k], whole) + [root_of(suite, leaves[k:])]
        return subproof(m - k, leaves[k:], False) + [root_of(suite, leaves[:k])]

    return subproof(first, leaf_hashes, True)


def verify_inclusion(suite: Suite, index: int, size: int, leaf_hash: bytes,
                     proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = suite.node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = suite.node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(suite: Suite, first: int, second: int, first_root: bytes,
                       second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:        # first is a power of two: its root is a node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = suite.node(c, fr), suite.node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = suite.node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


# --- checkpoints -------------------------------------------------------------------------

def statement(county: str, hash_name: str, size: int, root: bytes, at: str) -> bytes:
    """What a checkpoint's signature covers: the county, the hash, the tree size, its root and
    the time (ISO 8601), one per line."""
    return (f"{STATEMENT_HEAD}\ncounty {county}\nhash {hash_name}\nsize {size}\n"
            f"root {root.hex()}\nat {at}\n").encode()


def fingerprint(public_key: bytes) -> str:
    """A public key's short name: the first 128 bits of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def verify_signature(algorithm: str, public_key: bytes, message: bytes,
                     signature: bytes) -> bool:
    """An Ed25519 signature (raw 32-byte key) or an SM2 one (64-byte x||y key, r||s, SM3 over
    Z||M with the default user id)."""
    if algorithm == "ed25519":
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True
    if algorithm == "sm2":
        return sm2_verify(public_key, message, signature)
    raise ValueError(f"unknown signature {algorithm!r}: one of {', '.join(SIGNATURES)}")


# SM2 (GB/T 32918) on its recommended curve, enough to check a signature.
SM2_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
SM2_A = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC", 16)
SM2_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
SM2_G = (int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16),
         int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16))
SM2_USER_ID = b"1234567812345678"


def _ec_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % SM2_P == 0:
        return None
    if p1 == p2:
        slope = (3 * x1 * x1 + SM2_A) * pow(2 * y1, -1, SM2_P) % SM2_P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, SM2_P) % SM2_P
    x3 = (slope * slope - x1 - x2) % SM2_P
    return x3, (slope * (x1 - x3) - y1) % SM2_P


def _ec_mul(k: int, point):
    result = None
    while k:
        if k & 1:
            result = _ec_add(result, point)
        point = _ec_add(point, point)
        k >>= 1
    return result


def sm2_public_key(private: int) -> bytes:
    """The public key (x || y, 64 bytes) of an SM2 private key."""
    x, y = _ec_mul(private, SM2_G)
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def sm2_digest(public_key: bytes, message: bytes) -> int:
    """e = SM3(Z || M), Z = SM3(ENTL || ID || a || b || Gx || Gy || Px || Py)."""
    def b32(n: int) -> bytes:
        return n.to_bytes(32, "big")

    z = hashlib.new("sm3", struct.pack(">H", len(SM2_USER_ID) * 8) + SM2_USER_ID + b32(SM2_A)
                    + b32(SM2_B) + b32(SM2_G[0]) + b32(SM2_G[1]) + public_key).digest()
    return int.from_bytes(hashlib.new("sm3", z + message).digest(), "big")


def sm2_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 64 or len(signature) != 64:
        return False
    point = (int.from_bytes(public_key[:32], "big"), int.from_bytes(public_key[32:], "big"))
    if (point[1] ** 2 - point[0] ** 3 - SM2_A * point[0] - SM2_B) % SM2_P:
        return False                                # not on the curve
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < SM2_N and 0 < s < SM2_N):
        return False
    t = (r + s) % SM2_N
    if t == 0:
        return False
    total = _ec_add(_ec_mul(s, SM2_G), _ec_mul(t, point))
    return total is not None and (sm2_digest(public_key, message) + total[0]) % SM2_N == r


# --- the offline verifier ----------------------------------------------------------------

def verify_export(lines: Iterable[str], say: Callable[[str], None] = print) -> bool:
    """Check an export (its header, its checkpoints, then its events, a JSON object a line):
    the events in order, every checkpoint's root equal to the tree of that many events and
    its signature good under the export's key."""
    header: dict = {}
    frontier = None
    checkpoints: dict[int, list[dict]] = {}
    roots: dict[int, bytes] = {}
    last_id = 0
    ok = True
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        if "seal" in record:
            header = record["seal"]
            if header.get("format") != EXPORT_FORMAT:
                say(f"line {number}: not a {EXPORT_FORMAT} export")
                return False
            suite = Suite(header["hash"])
            frontier = Frontier(suite)
        elif "event" in record:
            if frontier is None:
                say(f"line {number}: an event before the export's header")
                return False
            e = record["event"]
            if e["id"] <= last_id:
                say(f"line {number}: event {e['id']} is out of order (after {last_id})")
                ok = False
            last_id = e["id"]
            frontier.append(frontier.suite.leaf(leaf_bytes(
                e["id"], UUID(e["originator_id"]), e["originator_version"], e["topic"],
                base64.b64decode(e["state"]))))
            if frontier.size in checkpoints:
                roots[frontier.size] = frontier.root()
        elif "checkpoint" in record:
            if last_id:
                say(f"line {number}: a checkpoint after the events")
                return False
            checkpoints.setdefault(record["checkpoint"]["size"], []).append(record["checkpoint"])
    if frontier is None:
        say("no header: not an export")
        return False
    key = bytes.fromhex(header["public_key"])
    for size in sorted(checkpoints):
        for c in checkpoints[size]:
            root = bytes.fromhex(c["root"])
            signed = statement(header["county"], header["hash"], size, root, c["at"])
            if c["key"] != fingerprint(key):
                say(f"checkpoint {size}: signed with key {c['key']}, not the export's")
                ok = False
            elif not verify_signature(header["signature"], key, signed,
                                      bytes.fromhex(c["signature"])):
                say(f"checkpoint {size}: the signature does not verify")
                ok = False
            elif roots.get(size, frontier.suite.empty() if size == 0 else None) != root:
                say(f"checkpoint {size}: the first {size} events do not give its root")
                ok = False
    say(f"{frontier.size} events, {sum(map(len, checkpoints.values()))} checkpoints: "
        + ("verified" if ok else "FAILED"))
    return ok


def main(argv: Sequence[str] = tuple(sys.argv[1:])) -> int:
    if len(argv) != 1:
        print("usage: python3 verify_seal.py EXPORT.jsonl", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as lines:
        return 0 if verify_export(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
