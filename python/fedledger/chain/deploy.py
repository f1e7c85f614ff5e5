"""Deploy and wire every contract; the deployment record (save/load/attach)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.types import Nonce
from web3.utils.address import get_create_address

from fedledger.chain.abi import abi_type
from fedledger.chain.artifacts import CONTRACT_NAMES, load_artifact
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import (
    DEFAULT_GOVERNANCE,
    DEFAULT_ROUND_CONFIG,
    GovernanceSettings,
    RoundConfig,
)
from fedledger.chain.governor import GovernorClient, TimelockClient
from fedledger.chain.params import RoundParamsClient
from fedledger.chain.registry import RegistryClient
from fedledger.chain.reward_token import RewardTokenClient
from fedledger.chain.round_log import RoundLogClient
from fedledger.chain.tx import deploy_contract
from fedledger.encoding import canonical_json
from fedledger.errors import ChainError, ConfigError

__all__ = ["Contracts", "Deployment", "deploy_all"]

RECORD_VERSION = 1
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Contracts:
    """Typed clients for one deployment."""

    registry: RegistryClient
    params: RoundParamsClient
    round_log: RoundLogClient
    token: RewardTokenClient
    governor: GovernorClient
    timelock: TimelockClient


@dataclass(frozen=True)
class Deployment:
    """Where fedledger lives on a chain: the record `fedledger deploy` writes."""

    chain_id: int
    rpc_url: str | None
    addresses: dict[str, str]  # contract name -> address
    deploy_block: int
    artifact_hashes: dict[str, str]  # contract name -> sha256 of its artifact file
    deployer: str = ""
    aggregator: str = ""
    registrar: str = ""
    guardian: str = ""  # holds CANCELLER_ROLE on the timelock (replaceable by governance)
    round_config: dict[str, int] = field(default_factory=dict)
    governance: dict[str, int] = field(default_factory=dict)
    slash_recipient: str = ZERO_ADDRESS
    genesis: dict[str, int] = field(default_factory=dict)  # address -> token units minted at deploy

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object."""
        return {
            "version": RECORD_VERSION,
            "chainId": self.chain_id,
            "rpcUrl": self.rpc_url,
            "contracts": dict(sorted(self.addresses.items())),
            "deployBlock": self.deploy_block,
            "artifacts": dict(sorted(self.artifact_hashes.items())),
            "deployer": self.deployer,
            "aggregator": self.aggregator,
            "registrar": self.registrar,
            "guardian": self.guardian,
            "roundConfig": self.round_config,
            "governance": self.governance,
            "slashRecipient": self.slash_recipient,
            "genesis": dict(sorted(self.genesis.items())),
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes of the record (docs/protocol.md section 1)."""
        return canonical_json(self.to_json())

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the record; refuses to replace an existing file unless `force`."""
        target = Path(path)
        if target.exists() and not force:
            raise ConfigError(f"deployment record {target} exists; pass --force to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.to_bytes() + b"\n")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """Read a record written by `save`."""
        target = Path(path)
        try:
            doc = json.loads(target.read_bytes())
            if doc.get("version") != RECORD_VERSION:
                raise ConfigError(
                    f"deployment record {target}: unsupported version {doc.get('version')!r}"
                )
            return cls(
                chain_id=int(doc["chainId"]),
                rpc_url=doc.get("rpcUrl"),
                addresses={k: to_checksum_address(v) for k, v in doc["contracts"].items()},
                deploy_block=int(doc["deployBlock"]),
                artifact_hashes=dict(doc["artifacts"]),
                deployer=doc.get("deployer", ""),
                aggregator=doc.get("aggregator", ""),
                registrar=doc.get("registrar", ""),
                guardian=doc.get("guardian", ""),
                round_config=dict(doc.get("roundConfig", {})),
                governance=dict(doc.get("governance", {})),
                slash_recipient=to_checksum_address(doc.get("slashRecipient", ZERO_ADDRESS)),
                genesis={to_checksum_address(a): int(v) for a, v in doc.get("genesis", {}).items()},
            )
        except FileNotFoundError:
            raise ConfigError(f"no deployment record at {target}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"deployment record {target} is malformed ({exc})") from None

    def attach(self, backend: ChainBackend) -> Contracts:
        """Clients for this deployment; checks the chain id and that code exists at each address."""
        if backend.chain_id != self.chain_id:
            raise ChainError(
                f"deployment is for chain {self.chain_id}, but the node is chain {backend.chain_id}"
            )
        missing = [n for n in CONTRACT_NAMES if n not in self.addresses]
        if missing:
            raise ConfigError(f"deployment record lacks addresses for {', '.join(missing)}")
        for name in CONTRACT_NAMES:
            address = self.addresses[name]
            try:
                code = backend.w3.eth.get_code(to_checksum_address(address))
            except Exception as exc:
                raise ChainError(f"cannot read code at {address}: {exc}") from None
            if len(code) == 0:
                raise ChainError(
                    f"no fedledger deployment at {address} ({name}) on chain {backend.chain_id}"
                )
        a = self.addresses
        return Contracts(
            registry=RegistryClient(backend, a["ParticipantRegistry"]),
            params=RoundParamsClient(backend, a["RoundParams"]),
            round_log=RoundLogClient(backend, a["RoundLog"]),
            token=RewardTokenClient(backend, a["RewardToken"]),
            governor=GovernorClient(backend, a["FedGovernor"]),
            timelock=TimelockClient(backend, a["TimelockController"]),
        )


def _creation_code(name: str, *args: Any) -> bytes:
    art = load_artifact(name)
    ctor = next((i for i in art.abi if i["type"] == "constructor"), None)
    code = bytes.fromhex(art.bytecode[2:])
    if ctor is None:
        return code
    return code + abi_encode([abi_type(i) for i in ctor["inputs"]], list(args))


def deploy_all(
    backend: ChainBackend,
    *,
    deployer: LocalAccount,
    aggregator: str,
    registrar: str | None = None,
    guardian: str | None = None,
    params: RoundConfig = DEFAULT_ROUND_CONFIG,
    governance: GovernanceSettings = DEFAULT_GOVERNANCE,
    slash_recipient: str = ZERO_ADDRESS,
    genesis: Mapping[str, int] | None = None,
) -> Deployment:
    """Deploy every contract and wire it for good (docs/governance.md, table of powers).

    RoundLog is deployed last at an address computed in advance, so that the token's minter and
    the registry's slasher can be fixed to it in their constructors: no role anywhere can mint or
    slash. The timelock owns RoundParams and RoundLog (aggregator changes, delayed) and is the
    registry's admin (registrars, weight caps); the governor is the timelock's proposer and a
    canceller, the guardian (default: deployer) its other canceller; anyone may execute; the
    deployer keeps no other role. `slash_recipient` receives slashed stake (zero address:
    burned). `genesis` mints token units to addresses in the token's constructor, self-delegated
    (bootstraps stake and voting power).
    """
    me = deployer.address
    aggregator = to_checksum_address(aggregator)
    registrar = to_checksum_address(registrar or me)
    guardian = to_checksum_address(guardian or me)
    g = governance
    start_block = backend.block_number + 1
    allocations: dict[str, int] = {
        str(to_checksum_address(a)): int(v) for a, v in (genesis or {}).items()
    }
    holders = sorted(allocations)

    def create(name: str, *args: Any) -> str:
        result = deploy_contract(backend, deployer, bytecode=_creation_code(name, *args), name=name)
        assert result.contract_address is not None
        return result.contract_address

    # Six creations in a row from `me`: RoundLog is the sixth.
    backend.forget_nonce(me)
    first_nonce = int(backend.w3.eth.get_transaction_count(me, "pending"))
    expected_log = to_checksum_address(get_create_address(me, Nonce(first_nonce + 5)))
    token = create("RewardToken", expected_log, holders, [allocations[h] for h in holders])
    timelock = create("TimelockController", g.timelock_delay, [], [ZERO_ADDRESS], me)
    governor = create(
        "FedGovernor",
        token,
        timelock,
        g.voting_delay,
        g.voting_period,
        g.proposal_threshold,
        g.quorum_percent,
    )
    params_addr = create(
        "RoundParams", timelock, params.as_tuple(), to_checksum_address(slash_recipient)
    )
    registry = create("ParticipantRegistry", timelock, registrar, token, params_addr, expected_log)
    round_log = create("RoundLog", timelock, aggregator, registry, params_addr, token)
    if round_log != expected_log:
        raise ChainError(
            f"RoundLog landed at {round_log}, not at {expected_log} where the token and registry "
            "expect it (did another transaction from the deployer key interleave?)"
        )
    timelock_c = TimelockClient(backend, timelock)
    timelock_c.grant_role("PROPOSER_ROLE", governor, sender=deployer)
    timelock_c.grant_role("CANCELLER_ROLE", governor, sender=deployer)
    timelock_c.grant_role("CANCELLER_ROLE", guardian, sender=deployer)
    timelock_c.renounce_role("DEFAULT_ADMIN_ROLE", sender=deployer)

    addresses = {
        "ParticipantRegistry": registry,
        "RoundParams": params_addr,
        "RoundLog": round_log,
        "RewardToken": token,
        "FedGovernor": governor,
        "TimelockController": timelock,
    }
    return Deployment(
        chain_id=backend.chain_id,
        rpc_url=backend.rpc_url,
        addresses=addresses,
        deploy_block=start_block,
        artifact_hashes={n: load_artifact(n).sha256 for n in CONTRACT_NAMES},
        deployer=me,
        aggregator=aggregator,
        registrar=registrar,
        guardian=guardian,
        round_config=params.to_json(),
        governance=g.to_json(),
        slash_recipient=to_checksum_address(slash_recipient),
        genesis=allocations,
    )
