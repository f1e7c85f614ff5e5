"""Pydantic request/response schemas of the coordinator's HTTP API (the wire contract)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

__all__ = [
    "Accepted",
    "EnvelopeIn",
    "InfoPublic",
    "RosterPublic",
    "SharesPublic",
    "UnmaskRequestPublic",
]


class EnvelopeIn(BaseModel):
    """A participant write: `payload` signed (EIP-712) for chain, RoundLog, round and stage."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    payload: dict[str, Any]
    chain_id: StrictInt = Field(alias="chainId")
    contract: StrictStr = Field(max_length=64)
    round: StrictInt = Field(ge=0)
    stage: StrictStr = Field(max_length=64)
    signer: StrictStr = Field(max_length=64)
    signature: StrictStr = Field(max_length=200)

    def wire(self) -> dict[str, Any]:
        """The JSON object form SignedEnvelope.from_json reads."""
        return self.model_dump(by_alias=True)


class Accepted(BaseModel):
    """A write was accepted (or was an exact replay of an accepted one)."""

    accepted: bool = True
    round: int
    stage: str
    signer: str
    replayed: bool = False
    receipt: dict[str, Any] | None = None
    """The aggregator's signed receipt (docs/protocol.md 8.3): keep it, it proves acceptance."""


class InfoPublic(BaseModel):
    """Who this coordinator is: nodes compare it with their own deployment record."""

    service: str = "fedledger-coordinator"
    api_version: int = Field(1, alias="apiVersion")
    chain_id: int = Field(alias="chainId")
    round_log: str = Field(alias="roundLog")
    aggregator: str
    deployment: dict[str, Any]
    model: dict[str, Any]
    genesis_model_hash: str = Field(alias="genesisModelHash")
    current_round: int = Field(alias="currentRound")
    rounds_planned: int = Field(alias="roundsPlanned")
    """Rounds the service opens on its own (0: opened by someone else)."""

    model_config = ConfigDict(populate_by_name=True)


class RosterPublic(BaseModel):
    """The fixed roster of a round (the canonical roster document) and the graph seed."""

    round: int
    roster_hash: str = Field(alias="rosterHash")
    seed: str
    roster: dict[str, Any]

    model_config = ConfigDict(populate_by_name=True)


class SharesPublic(BaseModel):
    """The encrypted shares addressed to one participant."""

    round: int
    recipient: str
    shares: list[dict[str, Any]]


class UnmaskRequestPublic(BaseModel):
    """Whose secrets a survivor must reveal."""

    round: int
    survivors: list[str]
    dropped: list[str]


class DropoutReportsPublic(BaseModel):
    """Every committer's signed local-dropout report (protocol.messages wire form)."""

    round: int
    data: list[dict[str, Any]]
    count: int
