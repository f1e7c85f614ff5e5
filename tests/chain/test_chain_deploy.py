"""Deployment record (save/load/attach), backend errors, and devnet persistence."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from fedledger.chain import Deployment, EmbeddedChain, connect, derive_accounts
from fedledger.chain.devnet import devnet_start, devnet_status, devnet_stop, free_port
from fedledger.errors import ChainError, ConfigError
from tests.support.chain import World


def test_record_round_trips_and_refuses_overwrite_without_force(
    world: World, tmp_path: Path
) -> None:
    path = world.deployment.save(tmp_path / "deployment.json")
    assert Deployment.load(path) == world.deployment
    doc = json.loads(path.read_bytes())
    assert doc["chainId"] == world.backend.chain_id
    assert set(doc["contracts"]) == set(doc["artifacts"])
    with pytest.raises(ConfigError, match="exists; pass --force"):
        world.deployment.save(path)
    world.deployment.save(path, force=True)


def test_attach_fails_in_one_line_on_a_chain_without_deployment(world: World) -> None:
    empty = EmbeddedChain()
    record = replace(world.deployment, chain_id=empty.chain_id)
    with pytest.raises(
        ChainError, match=r"^no fedledger deployment at 0x[0-9a-fA-F]{40} \(\w+\) on chain \d+$"
    ):
        record.attach(empty)


def test_attach_fails_on_chain_id_mismatch(world: World) -> None:
    record = replace(world.deployment, chain_id=world.backend.chain_id + 1)
    with pytest.raises(ChainError, match="deployment is for chain"):
        record.attach(world.backend)


def test_load_names_a_missing_or_malformed_record(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no deployment record at"):
        Deployment.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="unsupported version"):
        Deployment.load(tmp_path / "bad.json")


@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://127.0.0.1:8545", "http://", "http://127.0.0.1:99999"]
)
def test_connect_rejects_malformed_rpc_url_in_one_line(url: str) -> None:
    with pytest.raises(ChainError, match="malformed RPC URL") as info:
        connect(url)
    assert "\n" not in str(info.value)


def test_connect_reports_dead_rpc_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match=f"no Ethereum node answers at {url}") as info:
        connect(url)
    assert "\n" not in str(info.value)


def test_derive_accounts_is_deterministic_and_seed_dependent() -> None:
    a = [x.address for x in derive_accounts(b"s1", 3)]
    assert a == [x.address for x in derive_accounts(b"s1", 3)]
    assert len(set(a)) == 3
    assert not set(a) & {x.address for x in derive_accounts(b"s2", 3)}


@pytest.mark.anvil
def test_devnet_keeps_contracts_and_history_across_restart(tmp_path: Path) -> None:
    from fedledger.chain import deploy_all

    port = free_port()
    status = devnet_start(port=port, state_dir=tmp_path)
    try:
        assert status.chain_id == 31337
        backend = connect(status.url)
        funded = backend.funded_accounts()
        record = deploy_all(backend, deployer=funded[0], aggregator=funded[1].address)
        record.attach(backend).registry.register(funded[3].address, sender=funded[0])
        height = backend.block_number
        tip = backend.w3.eth.get_block(height)["hash"]
    finally:
        assert devnet_stop(state_dir=tmp_path)
    assert not devnet_status(state_dir=tmp_path).running
    status = devnet_start(port=port, state_dir=tmp_path)
    try:
        backend = connect(status.url)
        contracts = record.attach(backend)
        assert contracts.registry.is_registered(backend.funded_accounts()[3].address)
        # The devnet mines an empty block every second, so the chain may have grown between
        # reading `height` and the stop, and after the restart: what must hold is that the
        # history up to `height` is the same chain, block for block.
        assert backend.block_number >= height
        assert backend.w3.eth.get_block(height)["hash"] == tip
        assert (devnet_status(state_dir=tmp_path).block_number or 0) >= height
    finally:
        devnet_stop(state_dir=tmp_path)
    assert not devnet_stop(state_dir=tmp_path)  # already stopped
