"""Decode what the chain returns: custom-error revert data and event logs, across all artifacts."""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3._utils.events import get_event_data

from fedledger.chain.artifacts import all_artifacts
from fedledger.chain.datatypes import DecodedEvent
from fedledger.errors import ContractRevert

__all__ = ["abi_type", "decode_log", "decode_revert", "extract_revert_data", "normalize"]

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
_HEX_DATA = re.compile(r"0x[0-9a-fA-F]{8,}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def abi_type(item: dict[str, Any]) -> str:
    """The canonical ABI type string of an input, expanding tuples."""
    t = str(item["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + t[5:]
    return t


@cache
def _errors() -> dict[bytes, tuple[str, list[dict[str, Any]]]]:
    table: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
    for art in all_artifacts():
        for item in art.abi:
            if item["type"] == "error":
                table[function_abi_to_4byte_selector(item)] = (item["name"], item["inputs"])  # type: ignore[arg-type]
    return table


@cache
def _codec() -> Any:
    """One ABI codec for every log (building a Web3 per log costs more than decoding it)."""
    return Web3().codec


@cache
def _events() -> dict[bytes, list[dict[str, Any]]]:
    table: dict[bytes, list[dict[str, Any]]] = {}
    for art in all_artifacts():
        for item in art.abi:
            if item["type"] == "event":
                bucket = table.setdefault(event_abi_to_log_topic(item), [])  # type: ignore[arg-type]
                if item not in bucket:
                    bucket.append(item)
    return table


def event_topic(name: str) -> bytes:
    """topic0 of the event called `name` in the committed artifacts (KeyError if none)."""
    for topic, items in _events().items():
        if any(item["name"] == name for item in items):
            return topic
    raise KeyError(name)


def normalize(value: Any, *, hex_bytes: bool = False) -> Any:
    """Plain Python values: dicts, lists, ints, EIP-55 addresses, bytes (or 0x-hex)."""
    if isinstance(value, bytes):
        return "0x" + value.hex() if hex_bytes else bytes(value)
    if isinstance(value, str) and _ADDRESS.fullmatch(value):
        return to_checksum_address(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): normalize(v, hex_bytes=hex_bytes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v, hex_bytes=hex_bytes) for v in value]
    return value


def decode_revert(data: bytes, *, contract: str = "") -> ContractRevert:
    """Turn revert data into a ContractRevert carrying the custom error's name and arguments.

    bytes/bytes32 arguments are shown as 0x-hex strings, addresses EIP-55.
    """
    selector, body = data[:4], data[4:]
    if not data:
        return ContractRevert("EmptyRevert", {}, contract=contract)
    if selector == _ERROR_STRING:
        return ContractRevert(
            "Error", {"message": abi_decode(["string"], body)[0]}, contract=contract
        )
    if selector == _PANIC:
        return ContractRevert(
            "Panic", {"code": abi_decode(["uint256"], body)[0]}, contract=contract
        )
    known = _errors().get(selector)
    if known is None:
        return ContractRevert("UnknownError", {"data": "0x" + data.hex()}, contract=contract)
    name, inputs = known
    values = abi_decode([abi_type(i) for i in inputs], body)
    args = {
        i["name"] or f"arg{n}": normalize(v, hex_bytes=True)
        for n, (i, v) in enumerate(zip(inputs, values, strict=True))
    }
    return ContractRevert(name, args, contract=contract)


def extract_revert_data(exc: BaseException) -> bytes | None:
    """Revert data from a web3 (JSON-RPC) or eth-tester exception, or None if there is none."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        data = getattr(current, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if isinstance(data, dict) and isinstance(data.get("data"), str):
            return bytes.fromhex(data["data"][2:])
        for arg in current.args:
            if isinstance(arg, bytes):
                return bytes(arg)
            if isinstance(arg, str):
                # eth-tester: "execution reverted: b'\\xee...'"
                marker = arg.find("b'")
                if marker == -1:
                    marker = arg.find('b"')
                if "revert" in arg and marker != -1:
                    try:
                        raw = ast.literal_eval(arg[marker:])
                    except (ValueError, SyntaxError):
                        raw = None
                    if isinstance(raw, bytes):
                        return raw
                if "revert" in arg and (m := _HEX_DATA.search(arg)):
                    return bytes.fromhex(m.group(0)[2:])
            if isinstance(arg, dict) and isinstance(arg.get("data"), str):
                return bytes.fromhex(arg["data"][2:])
        current = current.__cause__ or current.__context__
    return None


def decode_log(log: Any) -> DecodedEvent | None:
    """Decode one log with whichever of our event ABIs matches it, or None."""
    topics = log["topics"]
    if not topics:
        return None
    for event_abi in _events().get(bytes(topics[0]), []):
        indexed = sum(1 for i in event_abi["inputs"] if i.get("indexed"))
        if indexed != len(topics) - 1:
            continue
        try:
            decoded = get_event_data(_codec(), event_abi, log)
        except Exception:  # a same-signature event with different indexing
            continue
        return DecodedEvent(
            name=decoded["event"],
            args=normalize(dict(decoded["args"])),
            address=to_checksum_address(log["address"]),
            block_number=int(log["blockNumber"]),
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            log_index=int(log["logIndex"]),
        )
    return None
