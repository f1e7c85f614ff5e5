"""The neighbour graph: a seeded shuffle of the roster placed on a ring, circulant k-regular."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fedledger.errors import ConfigError
from fedledger.secagg.crypto.kdf import GRAPH_INFO
from fedledger.secagg.crypto.prg import prg_key

__all__ = ["NeighbourGraph", "build_graph", "effective_degree", "seeded_permutation"]


def effective_degree(n: int, k: int) -> int:
    """Degree every participant gets: n-1 if k >= n-1; else k, or k+1 when n and k are both odd."""
    if n < 2:
        raise ConfigError(f"a round needs at least 2 participants, got {n}")
    if k < 1:
        raise ConfigError(f"neighbours must be >= 1, got {k}")
    if k >= n - 1:
        return n - 1
    if k % 2 == 1 and n % 2 == 1:  # n*k odd: no k-regular graph exists, round k up
        return min(k + 1, n - 1)
    return k


def seeded_permutation(n: int, seed: bytes) -> list[int]:
    """Fisher-Yates over [0, n) driven by AES-256-CTR(HKDF(seed, GRAPH_INFO)) as uint64 LE words.

    For i = n-1 down to 1: draw words r until r < 2^64 - (2^64 mod (i+1)) (rejection
    sampling, so j is exactly uniform), j = r mod (i+1), swap a[i] and a[j].
    """
    if len(seed) != 32:
        raise ConfigError(f"round seed must be 32 bytes, got {len(seed)}")
    stream = Cipher(algorithms.AES(prg_key(seed, GRAPH_INFO)), modes.CTR(bytes(16))).encryptor()
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        bound = i + 1
        limit = (1 << 64) - ((1 << 64) % bound)
        while True:
            r = int.from_bytes(stream.update(bytes(8)), "little")
            if r < limit:
                break
        j = r % bound
        order[i], order[j] = order[j], order[i]
    return order


@dataclass(frozen=True)
class NeighbourGraph:
    """Undirected graph over roster indices 0..n-1 (roster sorted by address ascending)."""

    n: int
    degree: int
    ring: tuple[int, ...]
    """ring[p] is the roster index placed at ring position p."""
    adjacency: tuple[tuple[int, ...], ...]
    """adjacency[i] lists the neighbours of roster index i, ascending."""

    def neighbours(self, index: int) -> tuple[int, ...]:
        """Roster indices adjacent to `index`, ascending."""
        return self.adjacency[index]

    def are_neighbours(self, a: int, b: int) -> bool:
        """Whether roster indices a and b share an edge."""
        return b in self.adjacency[a]

    def digest(self) -> str:
        """sha256 hex of the edge list 'i-j,' (i < j, ascending), for reports."""
        h = hashlib.sha256()
        for i, adj in enumerate(self.adjacency):
            for j in adj:
                if i < j:
                    h.update(f"{i}-{j},".encode())
        return h.hexdigest()


def build_graph(n: int, k: int, seed: bytes) -> NeighbourGraph:
    """The round's graph: complete when k >= n-1, else a circulant over a seeded shuffle.

    A graph is a pure function of (n, k, seed) and immutable, so it is built once per
    process: a simulation's n members (and its coordinator and verifier) each ask for the
    same one, O(n k) work apiece.
    """
    if isinstance(seed, bytes) and type(n) is int and type(k) is int:
        return _cached_graph(n, k, seed)
    return _build_graph(n, k, seed)


@lru_cache(maxsize=16)
def _cached_graph(n: int, k: int, seed: bytes) -> NeighbourGraph:
    return _build_graph(n, k, seed)


def _build_graph(n: int, k: int, seed: bytes) -> NeighbourGraph:
    degree = effective_degree(n, k)
    if degree == n - 1:
        ring = tuple(range(n))
        adjacency = tuple(tuple(j for j in range(n) if j != i) for i in range(n))
        return NeighbourGraph(n=n, degree=degree, ring=ring, adjacency=adjacency)
    ring = tuple(seeded_permutation(n, seed))
    offsets = list(range(1, degree // 2 + 1))
    adj: list[set[int]] = [set() for _ in range(n)]
    for p, i in enumerate(ring):
        for o in offsets:
            adj[i].add(ring[(p + o) % n])
            adj[i].add(ring[(p - o) % n])
        if degree % 2 == 1:  # only when n is even: the antipode completes the odd degree
            adj[i].add(ring[(p + n // 2) % n])
    adjacency = tuple(tuple(sorted(a)) for a in adj)
    return NeighbourGraph(n=n, degree=degree, ring=ring, adjacency=adjacency)
