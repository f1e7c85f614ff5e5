"""Chain backends behind one small interface: embedded eth-tester and any JSON-RPC node."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3

from fedledger.chain.accounts import TEST_MNEMONIC, mnemonic_accounts
from fedledger.chain.retry import RetryingHTTPProvider
from fedledger.chain.view_cache import ViewCache
from fedledger.errors import ChainError

__all__ = ["ChainBackend", "EmbeddedChain", "RpcChain", "connect"]


class ChainBackend(ABC):
    """A chain to talk to: a Web3 instance plus the test-chain controls fedledger needs."""

    w3: Web3
    rpc_url: str | None
    mines_on_send: bool = False
    """Whether a transaction is mined inside its send call (eth-tester's auto-mining)."""

    def __init__(self) -> None:
        self._nonce_lock = threading.Lock()
        self._nonces: dict[str, int] = {}

    @property
    def chain_id(self) -> int:
        """The chain id (EIP-155)."""
        return int(self.w3.eth.chain_id)

    @property
    def block_number(self) -> int:
        """The latest block number."""
        return int(self.w3.eth.block_number)

    def timestamp(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    view_cache: ViewCache | None = None
    """Where ContractClient.view keeps results of the head block (None: every view is an
    eth_call). Worth it where many readers share one backend (a simulation)."""

    def enable_view_cache(self) -> ViewCache:
        """Share view results of the head block between this backend's readers (idempotent)."""
        if self.view_cache is None:
            self.view_cache = ViewCache()
        return self.view_cache

    def head(self) -> tuple[int, bytes]:
        """(number, hash) of the latest block."""
        block = self.w3.eth.get_block("latest")
        return int(block["number"]), bytes(block["hash"])

    def block_hash(self, number: int) -> bytes | None:
        """Hash of canonical block `number`; None when there is none (yet, or any more)."""
        try:
            return bytes(self.w3.eth.get_block(number)["hash"])
        except Exception:  # not mined, or gone with a revert to an older snapshot
            return None

    @abstractmethod
    def funded_accounts(self) -> list[LocalAccount]:
        """Accounts with ether on this chain, with their private keys (test chains only)."""

    @abstractmethod
    def advance_time(self, seconds: int) -> None:
        """Move chain time forward by `seconds` and mine a block."""

    @abstractmethod
    def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` empty blocks."""

    @abstractmethod
    def snapshot(self) -> Any:
        """Remember the chain state (test chains only)."""

    @abstractmethod
    def revert(self, snapshot_id: Any) -> None:
        """Go back to a snapshot; forgets cached nonces."""

    def get_logs(
        self,
        address: str | Sequence[str],
        from_block: int,
        to_block: int,
        topics: Sequence[bytes | None] | None = None,
    ) -> list[Any]:
        """eth_getLogs of one contract (or several) over [from_block, to_block], web3-formatted;
        `topics` (topic0, then the indexed arguments, None = any) filters as eth_getLogs does."""
        query: dict[str, Any] = {
            "address": _checksummed(address),
            "fromBlock": from_block,
            "toBlock": to_block,
        }
        if topics is not None:
            query["topics"] = [None if t is None else "0x" + t.hex() for t in topics]
        return list(self.w3.eth.get_logs(query))  # type: ignore[arg-type]

    def next_nonce(self, address: str) -> int:
        """Reserve the next nonce of `address` (cached, so many txs in a row need no round trip)."""
        with self._nonce_lock:
            if address not in self._nonces:
                self._nonces[address] = int(
                    self.w3.eth.get_transaction_count(to_checksum_address(address), "pending")
                )
            nonce = self._nonces[address]
            self._nonces[address] = nonce + 1
            return nonce

    def forget_nonce(self, address: str) -> None:
        """Drop the cached nonce of `address` (after a send failed before reaching the chain)."""
        with self._nonce_lock:
            self._nonces.pop(address, None)

    def _forget_all_nonces(self) -> None:
        with self._nonce_lock:
            self._nonces.clear()


class EmbeddedChain(ChainBackend):
    """In-process eth-tester (py-evm); every transaction is mined at once."""

    mines_on_send = True

    def __init__(self) -> None:
        super().__init__()
        from eth_tester import EthereumTester
        from web3 import EthereumTesterProvider

        from fedledger.chain.pyevm_calls import WarmCallBackend

        # eth_call on the called block's state kept warm: the same answers, a few times faster.
        self.tester = EthereumTester(backend=WarmCallBackend())
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self.rpc_url = None
        # A call without "from" makes web3's eth-tester middleware ask eth_accounts each time.
        self.w3.eth.default_account = self.funded_accounts()[0].address

    def get_logs(
        self,
        address: str | Sequence[str],
        from_block: int,
        to_block: int,
        topics: Sequence[bytes | None] | None = None,
    ) -> list[Any]:
        """Logs read from py-evm's blocks and receipts directly, in the form web3 gives.

        eth-tester's own eth_getLogs looks every transaction's receipt up by scanning the
        chain back from its head: quadratic in the chain's length, minutes for one round
        of a few hundred members. This reads each block of the range once.
        """
        from eth_utils import to_canonical_address
        from hexbytes import HexBytes
        from web3.datastructures import AttributeDict

        chain = self.tester.backend.chain
        want = {
            to_canonical_address(a) for a in ([address] if isinstance(address, str) else address)
        }
        head = int(chain.get_canonical_head().block_number)
        out: list[Any] = []
        for number in range(max(0, int(from_block)), min(int(to_block), head) + 1):
            block = chain.get_canonical_block_by_number(number)
            receipts = block.get_receipts(chain.chaindb)
            for tx_index, (tx, receipt) in enumerate(
                zip(block.transactions, receipts, strict=True)
            ):
                for log_index, log in enumerate(receipt.logs):  # per receipt, as eth-tester
                    if log.address not in want or not _topics_match(log.topics, topics):
                        continue
                    out.append(
                        AttributeDict(
                            {
                                "address": to_checksum_address(log.address),
                                "topics": [HexBytes(t.to_bytes(32, "big")) for t in log.topics],
                                "data": HexBytes(log.data),
                                "blockNumber": number,
                                "blockHash": HexBytes(block.hash),
                                "transactionHash": HexBytes(tx.hash),
                                "transactionIndex": tx_index,
                                "logIndex": log_index,
                                "removed": False,
                            }
                        )
                    )
        return out

    @property
    def block_number(self) -> int:
        """The latest block number (py-evm's canonical head, read directly)."""
        return int(self.tester.backend.chain.get_canonical_head().block_number)

    def head(self) -> tuple[int, bytes]:
        """(number, hash) of the latest block, read from py-evm directly."""
        header = self.tester.backend.chain.get_canonical_head()
        return int(header.block_number), bytes(header.hash)

    def block_hash(self, number: int) -> bytes | None:
        """Hash of canonical block `number`, read from py-evm directly (None: not mined)."""
        chain = self.tester.backend.chain
        if not 0 <= number <= chain.get_canonical_head().block_number:
            return None
        return bytes(chain.get_canonical_block_header_by_number(number).hash)

    def funded_accounts(self) -> list[LocalAccount]:
        """eth-tester's ten default keys (each funded with 1,000,000 ether)."""
        keys = self.tester.backend.account_keys
        return [Account.from_key(k.to_bytes() if hasattr(k, "to_bytes") else k) for k in keys]

    def advance_time(self, seconds: int) -> None:
        """Mine a block `seconds` after the latest one."""
        self.tester.time_travel(self.timestamp() + int(seconds))

    def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` empty blocks."""
        self.tester.mine_blocks(blocks)

    def snapshot(self) -> Any:
        """eth-tester snapshot id."""
        return self.tester.take_snapshot()

    def revert(self, snapshot_id: Any) -> None:
        """Revert to a snapshot."""
        self.tester.revert_to_snapshot(snapshot_id)
        self._forget_all_nonces()


class RpcChain(ChainBackend):
    """Any Ethereum JSON-RPC node (anvil, geth); test-chain controls use anvil's evm_* methods."""

    def __init__(self, url: str, *, mnemonic: str = TEST_MNEMONIC, timeout: float = 30.0) -> None:
        super().__init__()
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ChainError(f"malformed RPC URL {url!r}: expected http(s)://host:port")
        try:
            _ = parsed.port
        except ValueError:
            raise ChainError(f"malformed RPC URL {url!r}: bad port") from None
        self.rpc_url = url
        self.mnemonic = mnemonic
        self.w3 = Web3(RetryingHTTPProvider(url, request_kwargs={"timeout": timeout}))
        try:
            self._chain_id = int(self.w3.eth.chain_id)
        except Exception as exc:
            raise ChainError(f"no Ethereum node answers at {url} ({type(exc).__name__})") from None

    @property
    def chain_id(self) -> int:
        """The chain id (asked once, at connect)."""
        return self._chain_id

    def funded_accounts(self) -> list[LocalAccount]:
        """The first ten accounts of the node's development mnemonic (anvil's default)."""
        return mnemonic_accounts(self.mnemonic, 10)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"{method} failed on {self.rpc_url}: {response['error']}")
        return response.get("result")

    def advance_time(self, seconds: int) -> None:
        """evm_increaseTime then evm_mine."""
        self._rpc("evm_increaseTime", [int(seconds)])
        self._rpc("evm_mine", [])

    def mine(self, blocks: int = 1) -> None:
        """anvil_mine (falls back to repeated evm_mine)."""
        try:
            self._rpc("anvil_mine", [hex(blocks)])
        except ChainError:
            for _ in range(blocks):
                self._rpc("evm_mine", [])

    def snapshot(self) -> Any:
        """evm_snapshot id."""
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        """evm_revert to a snapshot."""
        if not self._rpc("evm_revert", [snapshot_id]):
            raise ChainError(f"evm_revert({snapshot_id}) refused by {self.rpc_url}")
        self._forget_all_nonces()


def connect(rpc_url: str | None = None) -> ChainBackend:
    """An RpcChain for `rpc_url`, or a fresh EmbeddedChain when it is None."""
    if rpc_url is None:
        return EmbeddedChain()
    return RpcChain(rpc_url)


def _topics_match(have: Sequence[int], want: Sequence[bytes | None] | None) -> bool:
    """eth_getLogs topic filtering: position i must equal want[i] unless want[i] is None."""
    if want is None:
        return True
    if len(want) > len(have):
        return False
    return all(t is None or have[i].to_bytes(32, "big") == t for i, t in enumerate(want))


def _checksummed(address: str | Sequence[str]) -> str | list[str]:
    """eth_getLogs' address filter: one checksummed address, or a list of them."""
    if isinstance(address, str):
        return to_checksum_address(address)
    return [to_checksum_address(a) for a in address]
