"""Sign transactions locally, send them raw, wait, and turn reverts into ContractRevert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.abi import decode_log, decode_revert, extract_revert_data
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent, TxResult
from fedledger.errors import ChainError

__all__ = ["call", "deploy_contract", "fund", "send_transaction"]

_PRIORITY_FEE = 10**9  # 1 gwei tip: enough on devnets; the fee cap follows the base fee


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
    w3 = backend.w3
    base: dict[str, Any] = {"from": sender.address, "data": "0x" + data.hex(), "value": value}
    if to is not None:
        base["to"] = to_checksum_address(to)
    what = f"{contract or 'transaction'}"
    if gas is None:
        try:
            estimate = int(w3.eth.estimate_gas(base))  # type: ignore[arg-type]
        except Exception as exc:
            raise _fail(exc, contract=contract, action=f"gas estimate for {what}") from None
        gas = estimate + estimate // 4 + 10_000  # head-room for state changing between blocks
    try:
        base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    except Exception as exc:
        raise ChainError(f"cannot read the latest block: {exc}") from None
    tx = {
        **{k: v for k, v in base.items() if k != "from"},
        "chainId": backend.chain_id,
        "gas": gas,
        "maxFeePerGas": 2 * base_fee + _PRIORITY_FEE,
        "maxPriorityFeePerGas": _PRIORITY_FEE,
        "type": 2,
    }
    tx["nonce"] = backend.next_nonce(sender.address)
    signed = sender.sign_transaction(tx)
    try:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except Exception as exc:
        backend.forget_nonce(sender.address)
        raise _fail(exc, contract=contract, action=f"sending {what}") from None
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    except Exception as exc:
        raise ChainError(f"no receipt for {what} {tx_hash.to_0x_hex()}: {exc}") from None
    if receipt["status"] != 1:
        # Replay against the parent block's state to recover the revert data.
        try:
            replay: Any = {**base, "gas": gas}
            w3.eth.call(replay, receipt["blockNumber"] - 1)
        except Exception as exc:
            raise _fail(exc, contract=contract, action=what) from None
        raise ChainError(f"{what} {tx_hash.to_0x_hex()} reverted on chain (no reason recovered)")
    events: list[DecodedEvent] = []
    for log in receipt["logs"]:
        decoded = decode_log(log)
        if decoded is not None:
            events.append(decoded)
    created = receipt.get("contractAddress")
    return TxResult(
        tx_hash=tx_hash.to_0x_hex(),
        gas_used=int(receipt["gasUsed"]),
        block_number=int(receipt["blockNumber"]),
        events=tuple(events),
        contract_address=to_checksum_address(created) if created else None,
    )


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
