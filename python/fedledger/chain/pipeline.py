"""Send many transactions without waiting for each receipt: explicit nonces, a bounded window.

`TxPipeline.submit` signs a transaction with the sender's next nonce (reserved from the
backend's per-account nonce cache, so one account can have several in flight), sends it and
returns a `PendingTx` at once. At most `window` transactions are in flight: a submit beyond
that first collects the oldest receipts. `flush()` collects the rest. A mined transaction
that reverted becomes a `PipelinedRevert`: a ContractRevert naming the account, the call,
the nonce and the decoded custom error.

Crash safety. With a `journal` file, every signed transaction is appended (raw bytes, hash,
sender, nonce, call) *before* it is sent, and the file is emptied once every journaled
transaction has a receipt. After a crash, `recover()` reads the journal back and for each
entry: a receipt by hash means it was mined; a higher mined nonce of its sender means the
nonce was used by another transaction (reported, never resent); otherwise the very same
signed bytes are sent again. Resending the same bytes is safe: one nonce can be mined once,
and a node that still has the transaction answers "already known" (chain.retry treats that
as success). Without a journal no nonce is reused either: `next_nonce` starts from the
node's pending count, which counts transactions still waiting in its pool; a transaction the
node lost is then simply absent (a participant restarted mid-round is a dropout anyway).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import TxResult
from fedledger.chain.tx import (
    SignedTx,
    get_receipt,
    latest_base_fee,
    send_signed,
    sign_transaction,
    tx_result,
    wait_receipt,
)
from fedledger.errors import ChainError, ConfigError, ContractRevert

__all__ = ["PendingTx", "PipelinedRevert", "Recovered", "TxPipeline", "recover"]

DEFAULT_WINDOW = 256
"""In-flight transactions before a submit waits for receipts (a few blocks' worth of commits)."""


class PipelinedRevert(ContractRevert):
    """A pipelined transaction was mined and reverted: which account, which call, and why."""

    def __init__(self, tx: SignedTx, cause: ChainError) -> None:
        revert = cause if isinstance(cause, ContractRevert) else None
        super().__init__(
            revert.name if revert else "Reverted",
            revert.args_ if revert else {"detail": str(cause)},
            contract=tx.contract,
        )
        self.account = tx.sender
        self.call = tx.what
        self.nonce = tx.nonce
        self.tx_hash = tx.tx_hash
        self.reason = str(cause)
        Exception.__init__(
            self,
            f"{tx.what} from {tx.sender} (nonce {tx.nonce}, tx {tx.tx_hash}) reverted: {cause}",
        )


@dataclass
class PendingTx:
    """A sent transaction; `result()` gives its TxResult once mined (waiting if need be)."""

    tx: SignedTx
    pipeline: TxPipeline
    _result: TxResult | None = None
    _error: ChainError | None = None
    _done: bool = False

    @property
    def done(self) -> bool:
        """Whether the receipt has been collected."""
        return self._done

    def result(self) -> TxResult:
        """The mined TxResult; raises PipelinedRevert (or ChainError when no receipt came)."""
        if not self._done:
            self.pipeline.collect(self)
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def _settle(self, result: TxResult | None, error: ChainError | None) -> None:
        self._result, self._error, self._done = result, error, True


@dataclass
class TxPipeline:
    """Send transactions back to back on one backend, at most `window` awaiting receipts."""

    backend: ChainBackend
    window: int = DEFAULT_WINDOW
    journal: Path | None = None
    """Write-ahead file of signed transactions (see the module docstring); None: none kept."""
    receipt_timeout: float = 120.0
    """Seconds to wait for one receipt before giving up with a ChainError."""
    fee_refresh: int = 64
    """Re-read the base fee every this many submits (twice it caps the fee)."""
    estimate_once: bool = False
    """Estimate the gas of each call (`what`) once and reuse that limit (with its head-room)
    for later sends of the same call: saves an EVM run per transaction when many accounts
    send the same call. A revert then shows at the receipt (PipelinedRevert), not at submit."""
    _limits: dict[str, int] = field(default_factory=dict)
    _in_flight: deque[PendingTx] = field(default_factory=deque)
    _base_fee: int | None = None
    _since_fee: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ConfigError(f"TxPipeline.window: must be >= 1, got {self.window}")
        if self.journal is not None:
            self.journal = Path(self.journal)
            self.journal.parent.mkdir(parents=True, exist_ok=True)

    @property
    def in_flight(self) -> int:
        """Transactions sent whose receipts have not been collected."""
        return len(self._in_flight)

    def _fee(self) -> int:
        if self._base_fee is None or self._since_fee >= self.fee_refresh:
            self._base_fee, self._since_fee = latest_base_fee(self.backend), 0
        self._since_fee += 1
        return self._base_fee

    def submit(
        self,
        sender: LocalAccount,
        *,
        to: str | None,
        data: bytes,
        value: int = 0,
        gas: int | None = None,
        contract: str = "",
        what: str = "",
    ) -> PendingTx:
        """Sign (next nonce of `sender`) and send; returns before the receipt.

        A revert found by the gas estimate raises here, before anything is sent.
        """
        while len(self._in_flight) >= self.window:
            self.collect(self._in_flight[0])
        key = what or contract
        if gas is None and self.estimate_once and key:
            gas = self._limits.get(key)
        tx = sign_transaction(
            self.backend,
            sender,
            to=to,
            data=data,
            value=value,
            gas=gas,
            contract=contract,
            what=what,
            base_fee=self._fee(),
        )
        if self.estimate_once and key:
            self._limits.setdefault(key, tx.gas)
        self._write_ahead(tx)
        send_signed(self.backend, tx)
        pending = PendingTx(tx, self)
        self._in_flight.append(pending)
        if self.backend.mines_on_send:
            # Mined already; eth-tester finds a receipt by scanning blocks back from the head,
            # so it is cheapest now, before later transactions bury it.
            self.collect(pending)
        return pending

    def collect(self, pending: PendingTx) -> None:
        """Wait for `pending`'s receipt (and every older one) and settle them."""
        while self._in_flight and not pending.done:
            head = self._in_flight[0]
            receipt = self._wait_receipt(head.tx)
            self._in_flight.popleft()
            if receipt is None:
                head._settle(
                    None,
                    ChainError(
                        f"no receipt for {head.tx.what} from {head.tx.sender} (nonce "
                        f"{head.tx.nonce}, tx {head.tx.tx_hash}) within "
                        f"{self.receipt_timeout:.0f} s; it stays in the journal, if one is kept"
                    ),
                )
                continue
            try:
                head._settle(tx_result(self.backend, head.tx, receipt), None)
            except ChainError as exc:
                head._settle(None, PipelinedRevert(head.tx, exc))
        if not self._in_flight:
            self._clear_journal()

    def flush(self) -> list[PendingTx]:
        """Collect every receipt still outstanding; returns the settled transactions."""
        settled = list(self._in_flight)
        if settled:
            self.collect(settled[-1])
        return settled

    def _wait_receipt(self, tx: SignedTx) -> Any:
        return wait_receipt(self.backend, tx.tx_hash, timeout=self.receipt_timeout)

    # -- the write-ahead journal ---------------------------------------------------------
    def _write_ahead(self, tx: SignedTx) -> None:
        if self.journal is None:
            return
        line = json.dumps(_journal_entry(tx), sort_keys=True)
        with self.journal.open("a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _clear_journal(self) -> None:
        if self.journal is not None and self.journal.exists():
            self.journal.write_text("")


def _journal_entry(tx: SignedTx) -> dict[str, Any]:
    return {
        "sender": tx.sender,
        "nonce": tx.nonce,
        "hash": tx.tx_hash,
        "raw": "0x" + tx.raw.hex(),
        "gas": tx.gas,
        "call": tx.call,
        "what": tx.what,
        "contract": tx.contract,
    }


def _read_journal(path: Path) -> Iterator[SignedTx]:
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            yield SignedTx(
                sender=to_checksum_address(e["sender"]),
                nonce=int(e["nonce"]),
                tx_hash=str(e["hash"]),
                raw=bytes.fromhex(str(e["raw"])[2:]),
                gas=int(e["gas"]),
                call=dict(e["call"]),
                what=str(e["what"]),
                contract=str(e.get("contract", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            # A torn last line is a transaction never sent (it is written before sending).
            raise ChainError(f"tx journal {path} line {n} is unreadable: {exc}") from None


@dataclass(frozen=True)
class Recovered:
    """What `recover` found for each journaled transaction, by hash."""

    mined: tuple[str, ...]
    resent: tuple[str, ...]
    superseded: tuple[str, ...]
    """Transactions whose nonce another transaction of the same sender used."""


def recover(pipeline: TxPipeline) -> tuple[Recovered, list[PendingTx]]:
    """After a restart: re-find the journal's transactions by hash or nonce, resend the rest.

    Resent and mined ones come back as PendingTx in the pipeline (collect them as usual);
    superseded ones are only reported.
    """
    if pipeline.journal is None or not pipeline.journal.exists():
        return Recovered((), (), ()), []
    w3 = pipeline.backend.w3
    mined: list[str] = []
    resent: list[str] = []
    superseded: list[str] = []
    pendings: list[PendingTx] = []
    latest: dict[str, int] = {}
    for tx in _read_journal(pipeline.journal):
        if tx.sender not in latest:
            latest[tx.sender] = int(w3.eth.get_transaction_count(tx.sender, "latest"))  # type: ignore[arg-type]
        if get_receipt(pipeline.backend, tx.tx_hash) is not None:
            mined.append(tx.tx_hash)
        elif latest[tx.sender] > tx.nonce:
            superseded.append(tx.tx_hash)
            continue
        else:
            send_signed(pipeline.backend, tx)
            resent.append(tx.tx_hash)
        pending = PendingTx(tx, pipeline)
        pipeline._in_flight.append(pending)
        pendings.append(pending)
    for sender in latest:
        pipeline.backend.forget_nonce(sender)  # the next nonce follows what is now pending
    if not pendings:
        pipeline._clear_journal()
    return Recovered(tuple(mined), tuple(resent), tuple(superseded)), pendings
