"""A low-order key and garbage share ciphertexts from a real node process on anvil: the honest
node processes never exit with an error, the round finalizes, and the full audit passes but
for the check that names the garbage-share sender (its own signed ciphertexts prove it)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

NODES = 5
EVIL = 0


def _start_with_evil_node(fed: Any, kind: str) -> None:
    """fed.start(), with node EVIL running tests.support.evil_node as `kind` (same options
    as Federation.start_node)."""
    fed.start_chain()
    fed.deploy()
    fed.start_coordinator(rounds=0)
    for i in range(NODES):
        if i != EVIL:
            fed.start_node(i)
    p = fed.prepared
    argv = [
        sys.executable, "-c", "from tests.support.evil_node import main; main()", kind,
        "node", "run", "--quiet",
        "--coordinator", fed.proxy.url,
        "--rpc", fed.rpc,
        "--deployment", str(p.deployment_path),
        "--partition", str(p.partition_files[EVIL]),
        "--key-file", str(p.key_files[EVIL]),
        "--rounds", str(fed.rounds),
        "--retries", str(fed.retries),
        "--poll-interval", "0.1",
    ]  # fmt: skip
    fed.node_procs[EVIL] = fed.group.start(f"node-{EVIL}-{kind}", argv)
    fed.wait_for(
        lambda: sum(1 for e in fed.proxy.log if e[2] == "/v1/info") >= NODES,
        "every node through pre-flight",
        300,
    )
    fed.group.stop(fed.coordinator)
    fed.starts["coordinator"] = 0
    fed.start_coordinator()


def _honest_nodes_finish_cleanly(fed: Any) -> None:
    for i, started in fed.node_procs.items():
        if i == EVIL:
            continue
        fed.wait_for(lambda s=started: s.proc.poll() is not None, f"node {i} done", 150)
        assert started.proc.returncode == 0, started.tail(5)


@pytest.mark.anvil
@pytest.mark.slow
@pytest.mark.adversarial
@pytest.mark.parametrize("kind", ["low_order_key", "garbage_shares"])
def test_a_malicious_node_process_stops_nothing(federation: Callable[..., Any], kind: str) -> None:
    fed = federation(nodes=NODES, rounds=1, window=20, stage_timeout=12.0)
    _start_with_evil_node(fed, kind)
    evil = fed.addresses[EVIL]

    fed.wait_for(lambda: fed.round_over(1), "round 1 over", 240)
    report = fed.report(1)

    assert report["outcome"] == "finalized", report
    assert evil not in report["survivors"]
    if kind == "low_order_key":
        assert report["excludedBundles"] == {evil: "maskKey: low-order X25519 public key (u = 0)"}
        assert evil not in report["roster"]
    else:
        assert evil in report["roster"]
    audit = fed.audit(1)
    if kind == "low_order_key":
        assert audit.ok, audit.failed
    else:
        assert audit.failed == ["share_accusations"], audit.failed
        assert set(audit.check("share_accusations").found) == {evil}
    _honest_nodes_finish_cleanly(fed)
