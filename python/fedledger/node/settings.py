"""Settings of a participant node process (pydantic-settings, env prefix FEDLEDGER_NODE_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK

__all__ = ["DROP_STAGES", "NodeSettings"]

# Where a node can be told to vanish (fault tests): it stops answering *before* that stage.
DROP_STAGES = (ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK, "after_commit")
"""Stage names, plus "after_commit": commit on chain and upload, then never tell the coordinator."""


class NodeSettings(BaseSettings):
    """Everything `fedledger node run` needs; every field can also come from the environment."""

    model_config = SettingsConfigDict(env_prefix="FEDLEDGER_NODE_", extra="forbid")

    coordinator: str
    """Base URL of the coordinator service, e.g. http://127.0.0.1:8600."""
    rpc: str
    """JSON-RPC URL of the chain the deployment lives on."""
    deployment: Path
    """Deployment record written by `fedledger deploy --out` (must match the coordinator's)."""
    partition: Path | None = None
    """This participant's data file: a partition (.npz written by fl.partition) for built-in
    tasks; passed to other tasks as their `TaskContext.data`."""
    task: str | None = None
    """Task import string `package.module:attribute`; default: the task the coordinator
    publishes. Refused when its model layout differs from the published genesis model."""
    participant_index: int | None = Field(default=None, ge=0)
    """This participant's index, for tasks that split their data themselves (default: the
    partition file's, else 0)."""
    participants: int | None = Field(default=None, ge=1)
    """How many participants such a task splits its data among (default: the partition's)."""
    key_file: Path | None = None
    """The participant's key: an Ethereum keystore v3 file, or a 0x-hex line (devnets only)."""
    password_file: Path | None = None
    """File holding the keystore's password (else $FEDLEDGER_KEY_PASSWORD, else a prompt)."""
    key_index: int | None = Field(default=None, ge=0)
    """Use participant key number N derived from the public test seed (devnets only)."""
    key_seed: str = "fedledger-devnet"
    """Seed of the test participant keys (with key_index)."""
    rounds: int = Field(default=1, ge=1)
    """Take part in this many rounds, then exit."""
    poll_interval: float = Field(default=0.2, gt=0)
    """Seconds between status polls when the coordinator refused a message as too early, or
    when it does not hold long-polls (the fallback)."""
    long_poll: float = Field(default=20.0, gt=0, le=30)
    """Longest wait of one long-poll for the next stage (kept below http_timeout)."""
    deadline_margin: float = Field(default=60.0, ge=0)
    """Give up (exit 1) on a round this many seconds after its last on-chain deadline (the
    unmask deadline) passed on chain while the coordinator still has it open."""
    http_timeout: float = Field(default=30.0, gt=0)
    """Timeout of one HTTP request to the coordinator."""
    retries: int = Field(default=10, ge=0)
    """Retries of a request that failed transiently (connection error, 502/503/504); the
    default backoff (0.2 s doubling, capped at 5 s) rides out a ~35 s coordinator restart."""
    drop_at: str | None = None
    """Fault injection: vanish before this stage (advertise_keys|share_keys|masked_input|unmask),
    or after_commit (committed on chain, coordinator never told)."""
    drop_round: int | None = Field(default=None, ge=0)
    """Fault injection: the round (1-based count of rounds this node saw) in which to drop."""
    verify: Literal["full", "own", "off"] = "full"
    """Before training on a round's model, verify the rounds it came from: `full` runs every
    check of the auditor (docs/protocol.md 6), `own` the cheap subset that protects this node
    (its own commitment included, the new model = old model + the published aggregate), `off`
    only checks the model blob against the on-chain hash. A refused model: the node sits the
    round out and says why (docs/operations.md)."""
    receipts: Path | None = None
    """Folder where the aggregator's signed receipts are saved (censorship evidence)."""
    epochs: int = Field(default=1, ge=1)
    """Local training epochs per round."""
    lr: float = Field(default=0.05, gt=0)
    """Local learning rate."""
    batch_size: int = Field(default=32, ge=1)
    """Local mini-batch size."""
    seed: int = 0
    """Base seed of local training (the round and partition index are mixed in)."""
