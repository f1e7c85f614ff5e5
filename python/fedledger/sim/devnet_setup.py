"""Prepare a devnet federation: deploy, fund + register participants, write keys and partitions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from fedledger.chain import RoundConfig, deploy_all, derive_accounts, fund
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG
from fedledger.errors import ConfigError

__all__ = [
    "DEVNET_KEY_SEED",
    "PreparedFederation",
    "devnet_participants",
    "prepare_federation",
    "round_config_for",
    "write_key_file",
]

DEVNET_KEY_SEED = "fedledger-devnet"
"""Public seed of the devnet participant keys (`fedledger node run --key-index N`)."""


def devnet_participants(n: int, *, seed: str = DEVNET_KEY_SEED) -> list[LocalAccount]:
    """The first `n` devnet participant accounts (never use them for value)."""
    return derive_accounts(seed.encode(), n)


def round_config_for(n: int, *, window: int = 3600) -> RoundConfig:
    """Round parameters suited to `n` participants: k neighbours, majority threshold t of k.

    One participant may drop in any round and the round still has t shares per secret.
    """
    if n < 3:
        raise ConfigError(f"a federation needs at least 3 participants, got {n}")
    k = min(n - 1, 6 if n <= 20 else 10)
    t = k // 2 + 1
    return DEFAULT_ROUND_CONFIG.replace(
        neighbours=k,
        threshold=t,
        min_participants=max(2, min(n - 1, (n + 1) // 2)),
        commit_window=window,
        unmask_window=window,
        slash_bps=0,  # devnet federations run without stake, so nothing to slash
    )


def write_key_file(path: Path, account: LocalAccount) -> Path:
    """Write the 0x-hex private key, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("0x" + bytes(account.key).hex() + "\n")
    return path


@dataclass(frozen=True)
class PreparedFederation:
    """Files a multi-process run hands to its processes."""

    deployment_path: Path
    aggregator_key: Path
    participants: tuple[str, ...]
    key_files: tuple[Path, ...]
    partition_files: tuple[Path, ...]
    round_config: RoundConfig
    setup_gas: int


def prepare_federation(
    backend: ChainBackend,
    work_dir: Path,
    *,
    nodes: int,
    dataset: str = "digits",
    alpha: float = 0.5,
    seed: int = 0,
    round_config: RoundConfig | None = None,
) -> PreparedFederation:
    """Deploy (deployer = funded[0], aggregator = funded[1]), fund + register `nodes` participants,
    write their key files and Dirichlet(`alpha`) partition files under `work_dir`."""
    from fedledger.fl.datasets import load_dataset
    from fedledger.fl.partition import dirichlet_partition, write_partition_files

    funded = backend.funded_accounts()
    if len(funded) < 2:
        raise ConfigError("the chain must offer two funded accounts (deployer, aggregator)")
    deployer, aggregator = funded[0], funded[1]
    config = round_config or round_config_for(nodes)
    deployment = deploy_all(
        backend, deployer=deployer, aggregator=aggregator.address, params=config
    )
    deployment_path = deployment.save(work_dir / "deployment.json", force=True)
    contracts = deployment.attach(backend)
    people = devnet_participants(nodes)
    gas = sum(r.gas_used for r in fund(backend, deployer, [p.address for p in people], 10**19))
    for p in people:
        gas += contracts.registry.register(p.address, sender=deployer).gas_used
    keys = tuple(
        write_key_file(work_dir / "keys" / f"participant-{i}.key", p) for i, p in enumerate(people)
    )
    agg_key = write_key_file(work_dir / "keys" / "aggregator.key", aggregator)
    data = load_dataset(dataset, seed=seed)
    partition = dirichlet_partition(data.train.y, nodes, alpha=alpha, seed=seed)
    files = tuple(write_partition_files(data, partition, work_dir / "partitions"))
    return PreparedFederation(
        deployment_path=deployment_path,
        aggregator_key=agg_key,
        participants=tuple(p.address for p in people),
        key_files=keys,
        partition_files=files,
        round_config=config,
        setup_gas=gas,
    )
