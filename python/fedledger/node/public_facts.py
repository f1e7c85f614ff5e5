"""Who survived, as a participant computes it from the chain and the blob store.

The aggregator's word is never taken for a neighbour whose secrets we hold shares of.
A survivor answers an unmask request only when it agrees with these facts for every
neighbour whose secrets it holds shares of (what it reveals is only about them): the
neighbour committed on chain (UpdateCommitted), its committed blob is in the store, hashes
to its name and decodes as a vector of the round's length, and no committer's signed
local-dropout report names it. For anyone else the request's word is taken: nothing is
revealed about them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from functools import lru_cache

from fedledger.encoding import sha256
from fedledger.errors import FedledgerError
from fedledger.secagg.client import Partition, SecAggClient
from fedledger.secagg.messages import LocalDropouts, UnmaskRequest
from fedledger.secagg.params import RoundContext
from fedledger.secagg.vectors import decode_vector
from fedledger.store.base import BlobStore

__all__ = ["blob_checker", "public_facts", "reported_dropouts"]


@lru_cache(maxsize=1 << 14)
def _signer(report: LocalDropouts, ctx: RoundContext) -> str | None:
    """report.signer(ctx), once per report in this process (both are frozen values): every
    participant of a simulation checks every other's report."""
    return report.signer(ctx)


def reported_dropouts(
    client: SecAggClient,
    reports: Iterable[LocalDropouts],
    committed: Mapping[str, bytes],
    *,
    among: Collection[str] | None = None,
) -> set[str]:
    """Members named by a valid report: signed by a committer, for its committed blob.

    A report that fails (unsigned, foreign, for another vector) is ignored: it cannot make
    anyone a dropout, whoever relayed it. With `among`, only those members are looked for
    (a report naming none of them is not checked: it cannot change the answer).
    """
    wanted = None if among is None else frozenset(among)
    out: set[str] = set()
    for report in reports:
        if wanted is not None and wanted.isdisjoint(report.dropouts):
            continue
        if committed.get(report.sender) != report.masked_hash:
            continue
        if _signer(report, client.ctx) != report.sender:
            continue
        out.update(report.dropouts if wanted is None else wanted.intersection(report.dropouts))
    return out


def blob_checker(
    store: BlobStore, committed: Mapping[str, bytes], length: int
) -> Callable[[str], bool]:
    """blob_ok(a): a's committed blob is in the store, hashes to its name and is well-formed."""

    def blob_ok(address: str) -> bool:
        masked_hash = committed.get(address)
        if masked_hash is None:
            return False
        try:
            blob = store.get(masked_hash.hex())
            if sha256(blob) != masked_hash:
                return False
            decode_vector(blob, length=length)
        except (FedledgerError, OSError):
            return False
        return True

    return blob_ok


def public_facts(
    client: SecAggClient,
    request: UnmaskRequest,
    *,
    committed: Mapping[str, bytes],
    blob_ok: Callable[[str], bool],
    reports: Iterable[LocalDropouts],
) -> Partition:
    """The partition `client.unmask(request, facts)` must agree with.

    Neighbours it masked with are classified from public facts; everyone else keeps the
    request's classification (the response reveals nothing about them). Members the
    request puts in neither list are taken as unshared; a neighbour whose shares we hold
    cannot be one (client.unmask refuses that on its own).
    """
    roster = client.roster
    assert roster is not None
    mine = client.masked_with
    # Only these members are classified from public facts, so only their exclusion matters.
    judged = mine | {client.address}
    excluded = reported_dropouts(client, reports, committed, among=judged)
    listed = set(request.survivors) | set(request.dropped)
    excluded |= judged - listed  # unshared, by the request
    public = client.public_partition(
        committed, lambda a: a not in mine or blob_ok(a), excluded=excluded, only=judged
    )
    survivors = set(public.survivors) | (set(request.survivors) - judged)
    return Partition(frozenset(survivors), frozenset(roster.addresses) - survivors)
