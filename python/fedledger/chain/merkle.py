"""OpenZeppelin's standard Merkle tree (as JS @openzeppelin/merkle-tree builds it), roster tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

__all__ = [
    "ROSTER_LEAF_TYPES",
    "MemberProof",
    "MerkleTreeError",
    "RosterTree",
    "StandardMerkleTree",
    "hash_pair",
    "process_proof",
    "roster_leaf",
    "standard_leaf",
]

ROSTER_LEAF_TYPES = ("uint256", "address", "bytes32")  # (index, account, bundleHash)


class MerkleTreeError(ValueError):
    """A tree was asked for something it cannot give (no leaves, unknown value, bad input)."""


@dataclass(frozen=True)
class MemberProof:
    """A roster member's entry in round `round_id`: what commit, claim and slash take."""

    round_id: int
    index: int
    bundle_hash: bytes
    proof: tuple[bytes, ...]

    def to_abi(self) -> tuple[int, int, bytes, list[bytes]]:
        """The `RewardClaim` tuple (round, index, bundleHash, proof)."""
        if len(self.bundle_hash) != 32:
            raise MerkleTreeError(f"bundle_hash: expected 32 bytes, got {len(self.bundle_hash)}")
        return (self.round_id, self.index, bytes(self.bundle_hash), list(self.proof))


def standard_leaf(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """keccak256(bytes.concat(keccak256(abi.encode(values)))): OZ's double-hashed leaf."""
    return keccak(keccak(abi_encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """keccak256 of the two nodes in ascending order (OZ `Hashes.commutativeKeccak256`)."""
    return keccak(a + b) if a <= b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to from `leaf` (what `MerkleProof.processProof` computes)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@dataclass(frozen=True)
class StandardMerkleTree:
    """`StandardMerkleTree.of(values, types)` of @openzeppelin/merkle-tree, leaves sorted.

    `tree` is the flat array of the JS library (root at 0, children of i at 2i+1 and 2i+2, leaves
    at the end in ascending order of hash, the smallest last); `leaf_positions[k]` is where the
    k-th value's leaf sits in it.
    """

    types: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    tree: tuple[bytes, ...]
    leaf_positions: tuple[int, ...]

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], types: Sequence[str]) -> StandardMerkleTree:
        """Build the tree of `values` (each encoded with `types`)."""
        if not values:
            raise MerkleTreeError("a Merkle tree needs at least one leaf")
        leaves = [standard_leaf(types, v) for v in values]
        order = sorted(range(len(leaves)), key=lambda k: leaves[k])
        size = 2 * len(leaves) - 1
        tree: list[bytes] = [b""] * size
        positions = [0] * len(leaves)
        for rank, k in enumerate(order):
            positions[k] = size - 1 - rank
            tree[size - 1 - rank] = leaves[k]
        for i in range(size - 1 - len(leaves), -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(
            types=tuple(types),
            values=tuple(tuple(v) for v in values),
            tree=tuple(tree),
            leaf_positions=tuple(positions),
        )

    @property
    def root(self) -> bytes:
        """The root (the single leaf itself for a one-leaf tree)."""
        return self.tree[0]

    def leaf(self, k: int) -> bytes:
        """The leaf hash of the k-th value."""
        return self.tree[self._position(k)]

    def proof(self, k: int) -> list[bytes]:
        """Sibling hashes from the k-th value's leaf up to the root (`getProof(k)`)."""
        i = self._position(k)
        proof: list[bytes] = []
        while i > 0:
            proof.append(self.tree[i + 1 if i % 2 == 1 else i - 1])
            i = (i - 1) // 2
        return proof

    def _position(self, k: int) -> int:
        if not 0 <= k < len(self.values):
            raise MerkleTreeError(f"value index {k} is outside 0..{len(self.values) - 1}")
        return self.leaf_positions[k]


def roster_leaf(index: int, account: str, bundle_hash: bytes) -> bytes:
    """The roster leaf RoundLog checks: keccak256(bytes.concat(keccak256(abi.encode(i, a, h))))."""
    return standard_leaf(ROSTER_LEAF_TYPES, (index, to_checksum_address(account), bundle_hash))


@dataclass(frozen=True)
class RosterTree:
    """The roster commitment: member i = (i, address, bundle hash), members ascending by address."""

    members: tuple[str, ...]
    bundle_hashes: tuple[bytes, ...]
    tree: StandardMerkleTree
    _index: dict[str, int] = field(repr=False, compare=False)

    @classmethod
    def build(cls, entries: Sequence[tuple[str, bytes]]) -> RosterTree:
        """Tree of (account, bundle hash) pairs; indexes follow ascending address order."""
        ordered = sorted(
            ((to_checksum_address(a), bytes(h)) for a, h in entries), key=lambda e: int(e[0], 16)
        )
        for k in range(1, len(ordered)):
            if ordered[k][0] == ordered[k - 1][0]:
                raise MerkleTreeError(f"roster lists {ordered[k][0]} twice")
        for a, h in ordered:
            if len(h) != 32:
                raise MerkleTreeError(f"bundle hash of {a}: expected 32 bytes, got {len(h)}")
        values = [(i, a, h) for i, (a, h) in enumerate(ordered)]
        return cls(
            members=tuple(a for a, _ in ordered),
            bundle_hashes=tuple(h for _, h in ordered),
            tree=StandardMerkleTree.of(values, ROSTER_LEAF_TYPES),
            _index={a: i for i, (a, _) in enumerate(ordered)},
        )

    @property
    def root(self) -> bytes:
        """What postRoster takes."""
        return self.tree.root

    @property
    def count(self) -> int:
        """Number of members."""
        return len(self.members)

    def index_of(self, account: str) -> int:
        """The member's roster index (MerkleTreeError when it is not a member)."""
        wanted = to_checksum_address(account)
        if wanted not in self._index:
            raise MerkleTreeError(f"{wanted} is not in the roster")
        return self._index[wanted]

    def proof(self, account: str) -> tuple[int, bytes, list[bytes]]:
        """(index, bundle hash, proof) that `commit` and `claim` take for `account`."""
        i = self.index_of(account)
        return i, self.bundle_hashes[i], self.tree.proof(i)

    def member(self, round_id: int, account: str) -> MemberProof:
        """`account`'s roster entry of round `round_id` as RoundLog's calls take it."""
        i, bundle_hash, proof = self.proof(account)
        return MemberProof(round_id, i, bundle_hash, tuple(proof))
