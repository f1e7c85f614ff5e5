"""Read decoded events of a contract over a block range (the auditor's indexer builds on this)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fedledger.chain.abi import decode_log
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent
from fedledger.errors import ChainError

__all__ = ["fetch_events"]


def fetch_events(
    backend: ChainBackend,
    address: str,
    *,
    from_block: int = 0,
    to_block: int | str = "latest",
    names: Iterable[str] | None = None,
    topics: Sequence[bytes | None] | None = None,
    chunk: int = 5_000,
) -> list[DecodedEvent]:
    """Decoded events emitted by `address` in [from_block, to_block], in chain order.

    `names` filters by event name; `topics` (topic0, then the indexed arguments, None = any)
    lets the node filter. Large ranges are fetched in `chunk`-block pieces, since many RPC
    nodes cap eth_getLogs ranges.
    """
    wanted = set(names) if names is not None else None
    last = backend.block_number if to_block == "latest" else int(to_block)
    out: list[DecodedEvent] = []
    start = int(from_block)
    while start <= last:
        end = min(last, start + chunk - 1)
        try:
            logs = backend.get_logs(address, start, end, topics)
        except Exception as exc:
            raise ChainError(f"eth_getLogs {start}..{end} for {address} failed: {exc}") from None
        for log in logs:
            event = decode_log(log)
            if event is not None and (wanted is None or event.name in wanted):
                out.append(event)
        start = end + 1
    out.sort(key=lambda e: (e.block_number, e.log_index))
    return out
