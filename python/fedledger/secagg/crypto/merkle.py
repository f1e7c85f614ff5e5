"""A sender's share ciphertexts as a Merkle tree, so one signature covers all of them (4.6).

leaf = sha256(0x00 || recipient (20 bytes) || sha256(ciphertext)), node = sha256(0x01 || left ||
right). Leaves in the sender's order; each level pairs nodes (0, 1), (2, 3), ...; an odd last
node moves up unchanged. A proof of leaf `index` among `count` is its siblings bottom-up,
skipping the levels where its node had none. The prefixes keep a leaf from passing as a node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fedledger.secagg.crypto.kdf import address_bytes

__all__ = ["MAX_DEPTH", "InvalidPath", "build", "leaf", "proof", "root_from_proof"]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MAX_DEPTH = 64  # more leaves than 2^64 cannot occur; a longer path is malformed


class InvalidPath(ValueError):
    """A Merkle proof whose shape does not fit its index and leaf count."""


def leaf(recipient: str, ciphertext: bytes) -> bytes:
    """The leaf of one share: its recipient and its ciphertext's hash."""
    digest = hashlib.sha256(ciphertext).digest()
    return hashlib.sha256(LEAF_PREFIX + address_bytes(recipient) + digest).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def build(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first and the one-node root level last."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        up = [_node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            up.append(below[-1])
        levels.append(up)
    return levels


def proof(levels: Sequence[Sequence[bytes]], index: int) -> tuple[bytes, ...]:
    """The siblings of leaf `index`, bottom-up (see the module docstring)."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index //= 2
    return tuple(path)


def root_from_proof(leaf_hash: bytes, index: int, count: int, path: Sequence[bytes]) -> bytes:
    """The root that `path` proves leaf `index` of `count` under; InvalidPath if misshapen."""
    if not 0 <= index < count:
        raise InvalidPath(f"leaf index {index} is not below the leaf count {count}")
    node, used = leaf_hash, 0
    while count > 1:
        if index % 2 == 0 and index + 1 == count:
            pass  # the odd last node moves up unchanged
        else:
            if used == len(path):
                raise InvalidPath(f"proof has {len(path)} hashes, too few for {index} of {count}")
            sibling = path[used]
            used += 1
            node = _node(node, sibling) if index % 2 == 0 else _node(sibling, node)
        index, count = index // 2, (count + 1) // 2
    if used != len(path):
        raise InvalidPath(f"proof has {len(path)} hashes, {used} expected")
    return node
