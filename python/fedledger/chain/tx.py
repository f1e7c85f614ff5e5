"""Sign transactions locally, send them raw, wait, and turn reverts into ContractRevert."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.abi import decode_log, decode_revert, extract_revert_data
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent, TxResult
from fedledger.errors import ChainError

__all__ = [
    "SignedTx",
    "call",
    "deploy_contract",
    "fund",
    "get_receipt",
    "latest_base_fee",
    "revert_of",
    "send_signed",
    "send_transaction",
    "sign_transaction",
    "tx_result",
    "wait_receipt",
]

_PRIORITY_FEE = 10**9  # 1 gwei tip: enough on devnets; the fee cap follows the base fee
_LARGE_TX = 15_000_000  # gas limits above this are checked against the block's gas limit


def _fail(exc: Exception, *, contract: str, action: str) -> ChainError:
    data = extract_revert_data(exc)
    if data is not None:
        return decode_revert(data, contract=contract)
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ChainError(f"{action} failed: {text}")


def call(
    backend: ChainBackend, *, to: str, data: bytes, contract: str = "", sender: str | None = None
) -> bytes:
    """eth_call; a revert raises the decoded ContractRevert."""
    tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex()}
    if sender:
        tx["from"] = sender
    try:
        return bytes(backend.w3.eth.call(tx))  # type: ignore[arg-type]
    except Exception as exc:
        raise _fail(exc, contract=contract, action=f"call to {contract or to}") from None


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction not yet sent: its raw bytes, hash, nonce and what it calls."""

    sender: str
    nonce: int
    tx_hash: str
    raw: bytes
    gas: int
    call: dict[str, Any]
    """The eth_call form (from, to, data, value), replayed to recover a revert's data."""
    what: str
    """Which call this is, for errors and gas reports (e.g. "RoundLog.commit")."""
    contract: str = ""


def _block_gas_limit(backend: ChainBackend) -> int:
    try:
        return int(backend.w3.eth.get_block("latest")["gasLimit"])
    except Exception as exc:
        raise ChainError(f"cannot read the latest block: {exc}") from None


def latest_base_fee(backend: ChainBackend) -> int:
    """The latest block's base fee (0 before London)."""
    try:
        return int(backend.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    except Exception as exc:
        raise ChainError(f"cannot read the latest block: {exc}") from None


def sign_transaction(
    backend: ChainBackend,
    sender: LocalAccount,
    *,
    to: str | None,
    data: bytes,
    value: int = 0,
    gas: int | None = None,
    contract: str = "",
    what: str = "",
    base_fee: int | None = None,
) -> SignedTx:
    """Estimate gas (unless given), reserve `sender`'s next nonce and sign an EIP-1559 tx.

    The estimate surfaces a revert with its data before anything is sent. `base_fee`
    (default: read from the latest block) sets the fee cap at twice it plus the tip.
    """
    w3 = backend.w3
    call: dict[str, Any] = {"from": sender.address, "data": "0x" + data.hex(), "value": value}
    if to is not None:
        call["to"] = to_checksum_address(to)
    what = what or contract or "transaction"
    if gas is None:
        try:
            estimate = int(w3.eth.estimate_gas(call))  # type: ignore[arg-type]
        except Exception as exc:
            raise _fail(exc, contract=contract, action=f"gas estimate for {what}") from None
        gas = estimate + estimate // 4 + 10_000  # head-room for state changing between blocks
        if gas > _LARGE_TX:
            # The head-room must not push a transaction that fits over the block's limit.
            gas = max(estimate, min(gas, _block_gas_limit(backend)))
    if base_fee is None:
        base_fee = latest_base_fee(backend)
    tx = {
        **{k: v for k, v in call.items() if k != "from"},
        "chainId": backend.chain_id,
        "gas": gas,
        "maxFeePerGas": 2 * base_fee + _PRIORITY_FEE,
        "maxPriorityFeePerGas": _PRIORITY_FEE,
        "type": 2,
        "nonce": backend.next_nonce(sender.address),
    }
    signed = sender.sign_transaction(tx)
    return SignedTx(
        sender=sender.address,
        nonce=int(tx["nonce"]),
        tx_hash="0x" + bytes(signed.hash).hex(),
        raw=bytes(signed.raw_transaction),
        gas=gas,
        call=call,
        what=what,
        contract=contract,
    )


def send_signed(backend: ChainBackend, tx: SignedTx) -> None:
    """eth_sendRawTransaction; a refusal forgets the sender's cached nonce and raises."""
    try:
        backend.w3.eth.send_raw_transaction(tx.raw)
    except Exception as exc:
        backend.forget_nonce(tx.sender)
        raise _fail(exc, contract=tx.contract, action=f"sending {tx.what}") from None


def revert_of(backend: ChainBackend, tx: SignedTx, block_number: int) -> ChainError:
    """Why a mined `tx` reverted: its call replayed on the parent block's state, decoded."""
    try:
        replay: Any = {**tx.call, "gas": tx.gas}
        backend.w3.eth.call(replay, block_number - 1)
    except Exception as exc:
        return _fail(exc, contract=tx.contract, action=tx.what)
    return ChainError(f"{tx.what} {tx.tx_hash} reverted on chain (no reason recovered)")


def tx_result(backend: ChainBackend, tx: SignedTx, receipt: Any) -> TxResult:
    """The TxResult of a mined receipt; a failed one raises its decoded revert."""
    if receipt["status"] != 1:
        raise revert_of(backend, tx, int(receipt["blockNumber"]))
    events: list[DecodedEvent] = []
    for log in receipt["logs"]:
        decoded = decode_log(log)
        if decoded is not None:
            events.append(decoded)
    created = receipt.get("contractAddress")
    return TxResult(
        tx_hash=tx.tx_hash,
        gas_used=int(receipt["gasUsed"]),
        block_number=int(receipt["blockNumber"]),
        events=tuple(events),
        contract_address=to_checksum_address(created) if created else None,
    )


def send_transaction(
    backend: ChainBackend,
    sender: LocalAccount,
    *,
    to: str | None,
    data: bytes,
    value: int = 0,
    gas: int | None = None,
    contract: str = "",
) -> TxResult:
    """Sign with `sender`'s key, send raw, wait for the receipt; reverts raise ContractRevert.

    Gas is estimated first, which also surfaces a revert with its data before anything is sent.
    """
    tx = sign_transaction(
        backend, sender, to=to, data=data, value=value, gas=gas, contract=contract
    )
    send_signed(backend, tx)
    receipt = wait_receipt(backend, tx.tx_hash, timeout=120.0)
    if receipt is None:
        raise ChainError(f"no receipt for {tx.what} {tx.tx_hash} within 120 s")
    return tx_result(backend, tx, receipt)


def get_receipt(backend: ChainBackend, tx_hash: str) -> Any:
    """The receipt of `tx_hash`, or None while it is not mined."""
    try:
        return backend.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except Exception as exc:
        if type(exc).__name__ == "TransactionNotFound":
            return None
        raise ChainError(f"reading the receipt of {tx_hash} failed: {exc}") from None


def wait_receipt(backend: ChainBackend, tx_hash: str, *, timeout: float) -> Any:
    """Poll for a receipt, 5 ms apart at first (a devnet mines in milliseconds; web3's own
    wait sleeps 0.1 s between polls), backing off to 0.25 s; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        receipt = get_receipt(backend, tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(0.25, pause * 2)


def deploy_contract(
    backend: ChainBackend, sender: LocalAccount, *, bytecode: bytes, name: str
) -> TxResult:
    """Send a contract-creation transaction; the result carries `contract_address`."""
    result = send_transaction(backend, sender, to=None, data=bytecode, contract=name)
    if not result.contract_address:
        raise ChainError(f"deploying {name} produced no contract address")
    return result


def fund(
    backend: ChainBackend, funder: LocalAccount, addresses: Sequence[str], amount_wei: int
) -> list[TxResult]:
    """Send `amount_wei` from `funder` to each address; returns the TxResults."""
    return [
        send_transaction(backend, funder, to=a, data=b"", value=amount_wei, gas=21_000)
        for a in addresses
    ]
