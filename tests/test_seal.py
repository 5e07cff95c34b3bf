"""The seal's rules (domain/seal.py): RFC 9162's tree, proofs and their checks, checkpoint
signatures in Ed25519 and SM2, against published vectors and an independent implementation."""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.seal import (
    Frontier,
    Suite,
    consistency_proof,
    inclusion_proof,
    leaf_bytes,
    root_of,
    sm2_public_key,
    statement,
    verify_consistency,
    verify_inclusion,
    verify_signature,
)
from xiaohao.adapters.seal_keys import Ed25519Key, Sm2Key, new_ed25519, new_sm2

SHA = Suite("sha256")
# RFC 6962's test leaves and the roots of their first n (certificate-transparency's vectors).
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
          "606162636465666768696a6b6c6d6e6f"]
ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]


def leaf_hashes(n: int, suite: Suite = SHA) -> list[bytes]:
    return [suite.leaf(i.to_bytes(4, "big")) for i in range(n)]


def mth(suite: Suite, leaves: list[bytes]) -> bytes:
    """RFC 9162's definition, recursively, as the reference for the incremental tree."""
    if not leaves:
        return suite.empty()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return suite.node(mth(suite, leaves[:k]), mth(suite, leaves[k:]))


@pytest.mark.parametrize("n", range(1, 9))
def test_the_roots_of_rfc_6962s_test_vectors(n):
    hashes = [SHA.leaf(bytes.fromhex(x)) for x in LEAVES[:n]]
    assert root_of(SHA, hashes).hex() == ROOTS[n - 1]


def test_the_empty_tree_and_sm3_abc():
    assert root_of(SHA, []) == hashlib.sha256(b"").digest()
    assert Suite("sm3").digest(b"abc").hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    with pytest.raises(ValueError):
        Suite("md5")


@pytest.mark.parametrize("suite", [SHA, Suite("sm3")])
def test_the_frontier_grows_into_the_same_root_and_survives_storing(suite):
    hashes = leaf_hashes(70, suite)
    frontier = Frontier(suite)
    for n, h in enumerate(hashes, 1):
        frontier.append(h)
        assert frontier.root() == mth(suite, hashes[:n])
        again = Frontier.from_bytes(suite, n, frontier.to_bytes())
        assert again.root() == frontier.root()
    with pytest.raises(ValueError):
        Frontier(suite, 3, [suite.empty()])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 80).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_inclusion_proof_checks_and_a_wrong_one_does_not(case):
    n, index = case
    hashes = leaf_hashes(n)
    root = root_of(SHA, hashes)
    proof = inclusion_proof(SHA, index, hashes)
    assert verify_inclusion(SHA, index, n, hashes[index], proof, root)
    assert not verify_inclusion(SHA, index, n, SHA.leaf(b"other"), proof, root)
    assert not verify_inclusion(SHA, n, n, hashes[index], proof, root)
    if proof:
        bent = [proof[0][::-1], *proof[1:]]
        assert not verify_inclusion(SHA, index, n, hashes[index], bent, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 80).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_every_consistency_proof_checks_and_a_rewritten_prefix_does_not(case):
    first, second = case
    hashes = leaf_hashes(second)
    proof = consistency_proof(SHA, first, hashes)
    old, new = root_of(SHA, hashes[:first]), root_of(SHA, hashes)
    assert verify_consistency(SHA, first, second, old, new, proof)
    rewritten = [SHA.leaf(b"x"), *hashes[1:first]]
    assert not verify_consistency(SHA, first, second, root_of(SHA, rewritten), new, proof)


def test_a_leaf_is_every_stored_field_of_the_notification():
    origin = UUID(int=7)
    base = leaf_bytes(5, origin, 2, "domain.ticket:Ticket.Opened", b'{"a":1}')
    assert base[:8] == (5).to_bytes(8, "big") and base[8:24] == origin.bytes
    for other in (leaf_bytes(6, origin, 2, "domain.ticket:Ticket.Opened", b'{"a":1}'),
                  leaf_bytes(5, UUID(int=8), 2, "domain.ticket:Ticket.Opened", b'{"a":1}'),
                  leaf_bytes(5, origin, 3, "domain.ticket:Ticket.Opened", b'{"a":1}'),
                  leaf_bytes(5, origin, 2, "domain.ticket:Ticket.Closed", b'{"a":1}'),
                  leaf_bytes(5, origin, 2, "domain.ticket:Ticket.Opened", b'{"a":2}')):
        assert other != base


@pytest.mark.parametrize("make, load", [(new_ed25519, Ed25519Key), (new_sm2, Sm2Key)])
def test_checkpoint_signatures_verify_only_for_their_statement_and_key(make, load):
    key = load(make())
    signed = statement("SS", "sha256", 1355, b"\xab" * 32, "2019-08-23T16:00:00+08:00")
    signature = key.sign(signed)
    assert verify_signature(key.algorithm, key.public_key, signed, signature)
    assert not verify_signature(key.algorithm, key.public_key, signed.replace(b"1355", b"1356"),
                                signature)
    assert not verify_signature(key.algorithm, load(make()).public_key, signed, signature)


def test_sm2_is_checked_by_hand_as_gmssl_checks_it():
    from gmssl.sm2 import CryptSM2

    key = Sm2Key(new_sm2())
    message = statement("SS", "sm3", 9, b"\x01" * 32, "2019-08-23T16:00:00+08:00")
    signature = key.sign(message)
    other = CryptSM2(private_key="", public_key=key.public_key.hex())
    assert other.verify_with_sm3(signature.hex(), message)
    d = int(new_sm2().strip(), 16)
    assert len(sm2_public_key(d)) == 64
