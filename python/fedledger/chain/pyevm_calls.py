"""eth-tester's py-evm backend with eth_call on one VM state per mined block, kept warm.

eth-tester answers every eth_call by building a VM for the block twice (once for the
sender's nonce, once to run the call), each a fresh state whose set-up (the system
contracts) and trie reads start cold. Here the state of the block last called at is kept
and every call runs on it between a snapshot and a revert, exactly as eth-tester runs one
call on its fresh state; a call at another block (a new head, a revert to a snapshot)
builds the state of that block. What a call returns does not change, only its cost.
"""

from __future__ import annotations

import contextlib
from typing import Any

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_tester.backends.pyevm.main import (
    EVMSpoofTransaction,
    PyEVMBackend,
    _get_block_by_number,
)
from eth_tester.exceptions import TransactionFailed

__all__ = ["WarmCallBackend"]


class WarmCallBackend(PyEVMBackend):
    """PyEVMBackend whose `call` at a mined block reuses that block's VM state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._warm: tuple[bytes, Any] | None = None  # (block hash, its VM state)
        self.states_built = 0
        """States built for calls (tests count them)."""

    def _state_at(self, block_number: Any) -> Any:
        block = _get_block_by_number(self.chain, block_number)
        if self._warm is None or self._warm[0] != block.hash:
            self._warm = (block.hash, self.chain.get_vm(at_header=block.header).state)
            self.states_built += 1
        return self._warm[1]

    def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
        """eth_call as PyEVMBackend.call, on the kept state of the block called at."""
        if block_number == "pending":
            return bytes(super().call(transaction, block_number))
        state = self._state_at(block_number)
        defaulted = dict(transaction)
        if "gas" not in defaulted:
            defaulted["gas"] = self._max_available_gas()
        if "nonce" not in defaulted:
            defaulted["nonce"] = state.get_nonce(transaction["from"])
        unsigned = self._get_normalized_and_unsigned_evm_transaction(defaulted, block_number)
        evm_transaction = EVMSpoofTransaction(unsigned, from_=transaction["from"])
        snapshot = state.snapshot()
        try:
            computation = state.apply_transaction(evm_transaction)
        finally:
            state.revert(snapshot)
        if computation.is_error:
            raise TransactionFailed(self._error_message(computation._error))
        return bytes(computation.output)

    def _error_message(self, error: Any) -> Any:
        """PyEVMBackend.call's message: an Error(string) revert's reason, else the error."""
        if self.is_eip838_error(error):
            with contextlib.suppress(DecodingError):
                return abi.decode(["string"], error.args[0][4:])[0]
        return str(error)
