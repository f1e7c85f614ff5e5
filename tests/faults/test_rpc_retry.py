"""The JSON-RPC retry layer against a real flaky endpoint: a proxy in front of anvil.

Reads ride through dropped connections, 5xx, 429 and timeouts; a signed transaction whose
answer was lost is found by hash instead of being sent again; a lost evm_mine is not repeated.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_typing import HexStr

from fedledger.chain.backend import RpcChain
from fedledger.chain.devnet import devnet_start, devnet_stop
from fedledger.chain.retry import RetryingHTTPProvider, RetryPolicy, is_idempotent
from fedledger.chain.tx import send_transaction
from fedledger.errors import ChainError, ConfigError
from fedledger.sim.federation import free_port

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    state = Path(tempfile.mkdtemp(prefix="fedledger-rpc-retry-"))
    status = devnet_start(port=free_port(), state_dir=state)
    try:
        yield str(status.url)
    finally:
        devnet_stop(state_dir=state)


def _method(body: bytes) -> str:
    try:
        return str(json.loads(body).get("method", ""))
    except ValueError:
        return ""


def _first_n(n: int, action: str, method: str | None = None) -> Callable[[str, str, bytes], str]:
    """A rule applying `action` to the first `n` requests (of `method`, if given)."""
    seen = {"n": 0}

    def rule(_m: str, _p: str, body: bytes) -> str:
        if method is not None and _method(body) != method:
            return "pass"
        seen["n"] += 1
        return action if seen["n"] <= n else "pass"

    return rule


def _provider(chain: RpcChain) -> RetryingHTTPProvider:
    provider = chain.w3.provider
    assert isinstance(provider, RetryingHTTPProvider)
    return provider


def test_reads_ride_through_drops_5xx_rate_limits_and_timeouts(
    anvil_url: str, flaky_proxy: Callable[..., Any], figure: Callable[[dict[str, Any]], None]
) -> None:
    faults = iter(["drop", "status:503", "status:429", "delay:2.0", "status:502", "lose"])

    def rule(_m: str, _p: str, body: bytes) -> str:
        return next(faults, "pass") if _method(body) == "eth_blockNumber" else "pass"

    proxy = flaky_proxy(anvil_url, rule)
    chain = RpcChain(proxy.url, timeout=1.0)
    direct = RpcChain(anvil_url)

    number = chain.block_number

    assert number == direct.block_number
    assert _provider(chain).stats["retries"] == 6
    assert proxy.stats["drop"] == 1 and proxy.stats["lose"] == 1 and proxy.stats["status"] == 3
    figure({"scenario": "rpc read through 6 faults", "retries": _provider(chain).stats["retries"]})


def test_lost_send_answer_is_found_by_hash_and_not_sent_again(
    anvil_url: str, flaky_proxy: Callable[..., Any]
) -> None:
    proxy = flaky_proxy(anvil_url, _first_n(1, "lose", "eth_sendRawTransaction"))
    chain = RpcChain(proxy.url)
    direct = RpcChain(anvil_url)
    sender, to = chain.funded_accounts()[3], chain.funded_accounts()[4].address
    nonce_before = direct.w3.eth.get_transaction_count(sender.address)

    result = send_transaction(chain, sender, to=to, data=b"", value=7)

    sends = [e for e in proxy.log if _method(e[3]) == "eth_sendRawTransaction"]
    assert len(sends) == 1  # reached anvil once, never resent
    assert _provider(chain).stats["known"] == 1 and _provider(chain).stats["resends"] == 0
    assert direct.w3.eth.get_transaction_count(sender.address) == nonce_before + 1
    assert direct.w3.eth.get_transaction(HexStr(result.tx_hash))["nonce"] == nonce_before


def test_send_dropped_before_the_node_saw_it_is_resent_once(
    anvil_url: str, flaky_proxy: Callable[..., Any]
) -> None:
    proxy = flaky_proxy(anvil_url, _first_n(1, "drop", "eth_sendRawTransaction"))
    chain = RpcChain(proxy.url)
    direct = RpcChain(anvil_url)
    sender, to = chain.funded_accounts()[5], chain.funded_accounts()[6].address
    nonce_before = direct.w3.eth.get_transaction_count(sender.address)

    send_transaction(chain, sender, to=to, data=b"", value=7)

    sends = [e for e in proxy.log if _method(e[3]) == "eth_sendRawTransaction"]
    assert [e[0] for e in sends] == ["drop", "pass"]
    assert (
        sends[0][3] != b""
        and json.loads(sends[0][3])["params"] == json.loads(sends[1][3])["params"]
    )  # the same signed bytes
    assert _provider(chain).stats["resends"] == 1
    assert direct.w3.eth.get_transaction_count(sender.address) == nonce_before + 1


def test_state_changing_call_with_a_lost_answer_is_not_repeated(
    anvil_url: str, flaky_proxy: Callable[..., Any]
) -> None:
    proxy = flaky_proxy(anvil_url, _first_n(1, "lose", "evm_mine"))
    chain = RpcChain(proxy.url)
    direct = RpcChain(anvil_url)
    before = direct.block_number

    with pytest.raises(ChainError, match=r"evm_mine .* not retried because it changes state"):
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    assert direct.block_number == before + 1  # it did run, once
    assert sum(1 for e in proxy.log if _method(e[3]) == "evm_mine") == 1


def test_gives_up_after_the_attempt_budget_naming_the_method(
    anvil_url: str, flaky_proxy: Callable[..., Any]
) -> None:
    proxy = flaky_proxy(anvil_url)
    chain = RpcChain(proxy.url)
    chain.w3.provider = RetryingHTTPProvider(
        proxy.url, policy=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
    )
    proxy.rule = lambda _m, _p, _b: "status:503"

    with pytest.raises(ChainError, match=r"eth_blockNumber .* failed 3 times; last: HTTP 503"):
        _ = chain.block_number

    assert proxy.stats["status"] == 3


def test_an_endpoint_that_never_answered_fails_at_once() -> None:
    provider = RetryingHTTPProvider(f"http://127.0.0.1:{free_port()}")

    with pytest.raises(ChainError, match=r"no Ethereum node answers at http://127\.0\.0\.1"):
        provider.make_request("eth_chainId", [])  # type: ignore[arg-type]

    assert provider.stats["retries"] == 0


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.2, max_delay=4.0)

    lows = [policy.delay(n, rng=lambda: 0.0) for n in range(8)]
    highs = [policy.delay(n, rng=lambda: 1.0) for n in range(8)]

    assert highs == [min(4.0, 0.2 * 2**n) for n in range(8)]
    assert lows == [h / 2 for h in highs]
    with pytest.raises(ConfigError, match="attempts"):
        RetryPolicy(attempts=0)


def test_only_reads_count_as_idempotent() -> None:
    assert is_idempotent("eth_getTransactionReceipt") and is_idempotent("eth_call")
    for method in ("eth_sendRawTransaction", "eth_sendTransaction", "evm_mine", "anvil_mine"):
        assert not is_idempotent(method)
