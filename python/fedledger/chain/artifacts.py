"""Load the committed contract artifacts (ABI, bytecode) shipped inside the package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fedledger.encoding import sha256_hex
from fedledger.errors import ConfigError

__all__ = ["CONTRACT_NAMES", "Artifact", "all_artifacts", "load_artifact"]

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

CONTRACT_NAMES = (
    "ParticipantRegistry",
    "RoundParams",
    "RoundLog",
    "RewardToken",
    "FedGovernor",
    "TimelockController",
)


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    sha256: str  # of the artifact file's bytes (recorded in deployments)


@cache
def load_artifact(name: str) -> Artifact:
    """The artifact of contract `name` (see CONTRACT_NAMES)."""
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no artifact for contract {name!r} at {path}") from None
    doc = json.loads(raw)
    return Artifact(
        name=name,
        abi=doc["abi"],
        bytecode=doc["bytecode"],
        deployed_bytecode=doc["deployedBytecode"],
        sha256=sha256_hex(raw),
    )


def all_artifacts() -> list[Artifact]:
    """Every shipped artifact, in CONTRACT_NAMES order."""
    return [load_artifact(n) for n in CONTRACT_NAMES]
