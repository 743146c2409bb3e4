"""A Merkle tree over the published records, as in Certificate Transparency (RFC 6962 / RFC 9162 §2.1).

    leaf hash = SHA-256(0x00 || canonical record bytes)
    node hash = SHA-256(0x01 || left || right)
    MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n; MTH of one leaf = its hash

Records are the leaves in leaf order (unit id, source, copy). The tree is built bottom-up: pair
neighbours, promote an odd last node unchanged — this gives the same root as the recursive definition.
Shards of ``2**j`` consecutive leaves starting at a multiple of ``2**j`` are nodes of that tree, so a
record's audit path is its path inside its shard (computable from the shard's own records) followed by
the shard's path in the whole tree (published once per shard): a standard RFC 9162 inclusion proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_sha = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def levels(hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over ``hashes`` (level 0 = the given hashes, last = [root])."""
    out = [list(hashes)]
    while len(out[-1]) > 1:
        cur = out[-1]
        nxt = [node_hash(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])
        out.append(nxt)
    return out


def root(hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (or subtree roots); SHA-256 of nothing for an empty tree."""
    if not hashes:
        return _sha(b"").digest()
    return levels(hashes)[-1][0]


def path(tree: list[list[bytes]], index: int) -> list[bytes]:
    """Audit path of position ``index`` at level 0 of ``tree`` (as returned by :func:`levels`)."""
    out = []
    for level in tree[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            out.append(level[sibling])
        index //= 2
    return out


def verify_inclusion(leaf: bytes, index: int, size: int, audit: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``audit`` prove leaf hash ``leaf`` at ``index`` in a tree of ``size``?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in audit:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root
