"""The Merkle tree is RFC 6962's: reference vectors, the recursive definition, proofs, shard composition."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from voteaudit.publish import merkle

# Leaves and roots from the Certificate Transparency reference test data (RFC 6962 trees).
CT_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
             bytes(range(0x60, 0x70))]


def mth(data: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, literally."""
    if len(data) == 1:
        return merkle.leaf_hash(data[0])
    k = 1
    while k * 2 < len(data):
        k *= 2
    return merkle.node_hash(mth(data[:k]), mth(data[k:]))


def test_reference_vectors():
    assert merkle.root([]).hex() == hashlib.sha256(b"").hexdigest()
    assert merkle.root([merkle.leaf_hash(b"")]).hex() == \
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.root([merkle.leaf_hash(x) for x in CT_LEAVES]).hex() == \
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@given(st.integers(1, 70), st.sampled_from([1, 2, 4, 8, 16]))
def test_tree_proofs_and_shards(n, shard):
    data = [i.to_bytes(2, "big") for i in range(n)]
    leaves = [merkle.leaf_hash(d) for d in data]
    tree = merkle.levels(leaves)
    root = tree[-1][0]
    assert root == mth(data)
    shards = [leaves[a:a + shard] for a in range(0, n, shard)]
    top = merkle.levels([merkle.root(s) for s in shards])
    assert top[-1][0] == root
    for i in range(n):
        k = i // shard
        audit = merkle.path(merkle.levels(shards[k]), i - k * shard) + merkle.path(top, k)
        assert audit == merkle.path(tree, i)
        assert merkle.verify_inclusion(leaves[i], i, n, audit, root)
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), i, n, audit, root)
        if n > 1:
            assert not merkle.verify_inclusion(leaves[i], (i + 1) % n, n, audit, root)
