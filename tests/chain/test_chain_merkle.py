"""The OpenZeppelin standard Merkle tree and the roster tree, against vectors computed elsewhere."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from fedledger.chain.merkle import (
    MerkleTreeError,
    RosterTree,
    StandardMerkleTree,
    process_proof,
    roster_leaf,
)

# A dump of @openzeppelin/merkle-tree's StandardMerkleTree.of(values, ["address", "uint256"])
# (format "standard-v1"), produced by the JS library: the whole tree and each value's treeIndex.
_JS_ACCOUNT = "0x80d628ff4AC2aFf620C3474663F1e559234bbE0c"
_JS_TREE = [
    "0fecce441c7468f17e3fe4a5f211b77a15b27c9ab3d33317df385dfbe5487034",
    "636ab2686ee3036244cf3d6b5574e051e4b20a3577b008975dbcca6dde2897d2",
    "d90245da324d7908326a3d56a9659741551a4603c397bf4dd373976bd85660e7",
    "36fb17c97ec80bb961ff0adff1af4a2a34847ecc40653c162e327117a76e3ec9",
    "1867c4ebd455913e429523a5c2d4b3a79f58068b5a25af911956245ed03a659d",
]
_JS_TREE_INDEX = [4, 3, 2]


def test_tree_equals_the_js_library_dump_node_for_node() -> None:
    tree = StandardMerkleTree.of([(_JS_ACCOUNT, k) for k in range(3)], ["address", "uint256"])

    assert [n.hex() for n in tree.tree] == _JS_TREE
    assert list(tree.leaf_positions) == _JS_TREE_INDEX


def test_every_proof_leads_from_its_leaf_to_the_js_root() -> None:
    tree = StandardMerkleTree.of([(_JS_ACCOUNT, k) for k in range(3)], ["address", "uint256"])

    for k in range(3):
        assert process_proof(tree.leaf(k), tree.proof(k)) == bytes.fromhex(_JS_TREE[0])


def test_roster_leaf_is_the_double_keccak_of_the_abi_encoded_triple() -> None:
    account, bundle = "0x" + "11" * 20, b"\x22" * 32
    # abi.encode(uint256 7, address, bytes32) by hand: three 32-byte words.
    encoded = (7).to_bytes(32, "big") + bytes(12) + b"\x11" * 20 + bundle

    assert roster_leaf(7, account, bundle) == keccak(keccak(encoded))
    assert encoded == abi_encode(["uint256", "address", "bytes32"], [7, account, bundle])


def test_two_member_roster_root_is_the_sorted_pair_hash_of_its_leaves() -> None:
    low, high = "0x" + "01" * 20, "0x" + "f0" * 20
    roster = RosterTree.build([(high, b"\xbb" * 32), (low, b"\xaa" * 32)])
    a, b = roster_leaf(0, low, b"\xaa" * 32), roster_leaf(1, high, b"\xbb" * 32)

    assert roster.members[0].lower() == low
    assert roster.root == keccak(min(a, b) + max(a, b))
    assert roster.proof(high) == (1, b"\xbb" * 32, [a])


def test_one_member_roster_root_is_its_leaf_and_its_proof_is_empty() -> None:
    roster = RosterTree.build([("0x" + "33" * 20, b"\x44" * 32)])

    assert roster.root == roster_leaf(0, "0x" + "33" * 20, b"\x44" * 32)
    assert roster.proof("0x" + "33" * 20)[2] == []


def test_proofs_of_a_large_roster_have_depth_ceil_log2_n() -> None:
    entries = [(f"0x{k + 1:040x}", keccak(k.to_bytes(4, "big"))) for k in range(1000)]
    roster = RosterTree.build(entries)

    for account, bundle in entries[::97]:
        index, given, proof = roster.proof(account)
        assert given == bundle
        assert len(proof) in (9, 10)
        assert process_proof(roster_leaf(index, account, bundle), proof) == roster.root


def test_a_non_member_has_no_proof() -> None:
    roster = RosterTree.build([("0x" + "33" * 20, b"\x44" * 32)])

    with pytest.raises(MerkleTreeError, match="not in the roster"):
        roster.proof("0x" + "55" * 20)


def test_duplicate_members_are_refused() -> None:
    with pytest.raises(MerkleTreeError, match="twice"):
        RosterTree.build([("0x" + "33" * 20, b"\x44" * 32), ("0x" + "33" * 20, b"\x45" * 32)])


def test_an_empty_tree_is_refused() -> None:
    with pytest.raises(MerkleTreeError, match="at least one leaf"):
        StandardMerkleTree.of([], ["address"])
