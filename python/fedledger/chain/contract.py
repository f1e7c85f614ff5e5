"""The base of the typed contract clients: encode, transact, call, decode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.abi import normalize
from fedledger.chain.artifacts import load_artifact
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import TxResult
from fedledger.chain.tx import _fail, send_transaction

if TYPE_CHECKING:
    from fedledger.chain.pipeline import PendingTx, TxPipeline

__all__ = ["ContractClient"]


class ContractClient:
    """A deployed contract of kind `CONTRACT` at `address`; subclasses add typed methods."""

    CONTRACT = ""

    def __init__(self, backend: ChainBackend, address: str) -> None:
        self.backend = backend
        self.address = to_checksum_address(address)
        self.artifact = load_artifact(self.CONTRACT)
        self.contract = backend.w3.eth.contract(address=self.address, abi=self.artifact.abi)

    def encode(self, fn: str, *args: Any) -> bytes:
        """ABI-encoded calldata of `fn(*args)`."""
        return bytes.fromhex(self.contract.encode_abi(fn, list(args))[2:])

    def transact(
        self, fn: str, *args: Any, sender: LocalAccount, gas: int | None = None
    ) -> TxResult:
        """Send `fn(*args)` from `sender`; a revert raises ContractRevert."""
        return send_transaction(
            self.backend,
            sender,
            to=self.address,
            data=self.encode(fn, *args),
            gas=gas,
            contract=self.CONTRACT,
        )

    def send_pipelined(
        self,
        pipeline: TxPipeline,
        fn: str,
        *args: Any,
        sender: LocalAccount,
        gas: int | None = None,
    ) -> PendingTx:
        """Send `fn(*args)` through `pipeline` without waiting; the receipt comes later."""
        return pipeline.submit(
            sender,
            to=self.address,
            data=self.encode(fn, *args),
            gas=gas,
            contract=self.CONTRACT,
            what=f"{self.CONTRACT}.{fn}",
        )

    def estimate_pending(self, fn: str, *args: Any, sender: str) -> int:
        """Gas for `fn(*args)` from `sender` on the pending block, with send_transaction's
        head-room; a revert raises ContractRevert."""
        tx = {"from": sender, "to": self.address, "data": "0x" + self.encode(fn, *args).hex()}
        # eth-tester estimates on the pending block already (and refuses the argument).
        block = "pending" if self.backend.rpc_url else None
        try:
            estimate = int(self.backend.w3.eth.estimate_gas(tx, block))  # type: ignore[arg-type]
        except Exception as exc:
            raise _fail(exc, contract=self.CONTRACT, action=f"gas estimate for {fn}") from None
        return estimate + estimate // 4 + 10_000

    def view(self, fn: str, *args: Any, sender: str | None = None) -> Any:
        """Call a view function; returns web3's decoded output.

        With the backend's view cache on, the call is made at the head block and its result
        shared with every other reader of that block (chain.view_cache).
        """
        options = {"from": sender} if sender else {}
        cache = getattr(self.backend, "view_cache", None)
        key = (self.address, fn, args, sender)
        if cache is None or not _hashable(key):
            return self._call(fn, args, options, None)  # web3's default block: latest
        head = self.backend.head()
        found = cache.get(head, key)
        if found is not cache.MISS:
            return found
        value = self._call(fn, args, options, head[0])
        cache.put(head, key, value)
        return value

    def _call(self, fn: str, args: tuple[Any, ...], options: dict[str, Any], block: Any) -> Any:
        try:
            call = self.contract.functions[fn](*args).call
            return call(options, block_identifier=block)  # type: ignore[arg-type]
        except Exception as exc:
            raise _fail(exc, contract=self.CONTRACT, action=f"{self.CONTRACT}.{fn}") from None

    def has_role(self, role: str | bytes, account: str) -> bool:
        """AccessControl.hasRole, where the contract has it; `role` may be a constant's name."""
        role_id = self.view(role) if isinstance(role, str) else role
        return bool(self.view("hasRole", role_id, to_checksum_address(account)))

    def grant_role(self, role: str | bytes, account: str, *, sender: LocalAccount) -> TxResult:
        """AccessControl.grantRole (sender must hold the role's admin role)."""
        role_id = self.view(role) if isinstance(role, str) else role
        return self.transact("grantRole", role_id, to_checksum_address(account), sender=sender)

    def renounce_role(self, role: str | bytes, *, sender: LocalAccount) -> TxResult:
        """AccessControl.renounceRole for the sender itself."""
        role_id = self.view(role) if isinstance(role, str) else role
        return self.transact("renounceRole", role_id, sender.address, sender=sender)


def _hashable(key: tuple[Any, ...]) -> bool:
    try:
        hash(key)
    except TypeError:  # a list argument (a proof): not cached
        return False
    return True


def plain(value: Any) -> Any:
    """Decoded web3 output as plain Python values (see abi.normalize)."""
    return normalize(value)
