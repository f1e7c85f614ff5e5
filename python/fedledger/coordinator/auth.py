"""The coordinator's side of signed envelopes: verify them, cache registrations, refuse replays."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address

from fedledger.protocol.envelope import (
    AuthError,
    SignedEnvelope,
    envelope_typed_data,
    payload_hash,
)

__all__ = ["EnvelopeVerifier", "RegistrationCache", "ReplayGuard"]


class RegistrationCache:
    """`ParticipantRegistry.isRegistered`, asked once per (round, address) and remembered."""

    def __init__(self, lookup: Callable[[str], bool]) -> None:
        self._lookup = lookup
        self._lock = threading.Lock()
        self._round = -1
        self._known: dict[str, bool] = {}

    def is_registered(self, address: str, round_id: int) -> bool:
        """Whether `address` is registered, as seen the first time it was asked in `round_id`."""
        with self._lock:
            if round_id != self._round:
                self._round, self._known = round_id, {}
            if address in self._known:
                return self._known[address]
        answer = bool(self._lookup(address))
        with self._lock:
            if round_id == self._round:
                self._known[address] = answer
        return answer


class EnvelopeVerifier:
    """Checks envelopes against this deployment (chain id, RoundLog) and the registry."""

    def __init__(self, *, chain_id: int, contract: str, registrations: RegistrationCache) -> None:
        self.chain_id = chain_id
        self.contract = to_checksum_address(contract)
        self.registrations = registrations

    def verify(self, env: SignedEnvelope, *, round_id: int, stage: str, participant: Any) -> str:
        """Return the signer, or raise AuthError naming the first field that is wrong.

        `participant` is the address the payload names as its author; it must be the signer.
        """
        if env.chain_id != self.chain_id:
            raise AuthError(
                403,
                "envelope.chainId",
                f"signed for chain {env.chain_id}, this coordinator serves chain {self.chain_id} "
                "(wrong chain)",
            )
        if env.contract != self.contract:
            raise AuthError(
                403,
                "envelope.contract",
                f"signed for RoundLog {env.contract}, this coordinator serves {self.contract}",
            )
        if env.stage != stage:
            raise AuthError(
                422,
                "envelope.stage",
                f"signed for stage {env.stage!r}, this endpoint takes {stage!r}",
            )
        if env.round_id != round_id:
            raise AuthError(
                409,
                "envelope.round",
                f"signed for round {env.round_id}, not round {round_id} (replayed or stale)",
            )
        typed = envelope_typed_data(
            chain_id=self.chain_id,
            contract=self.contract,
            round_id=round_id,
            stage=stage,
            signer=env.signer,
            digest=payload_hash(env.payload),
        )
        try:
            recovered = Account.recover_message(
                encode_typed_data(full_message=typed), signature=env.signature
            )
        except Exception:  # eth-keys raises several types for malformed signatures
            recovered = None
        if recovered != env.signer:
            raise AuthError(
                403,
                "envelope.signature",
                f"does not recover to signer {env.signer} (forged, or signed over other content)",
            )
        if not isinstance(participant, str) or not is_address(participant):
            raise AuthError(422, "payload.participant", f"not an Ethereum address: {participant!r}")
        if to_checksum_address(participant) != env.signer:
            raise AuthError(
                403,
                "envelope.signer",
                f"{env.signer} signed a message on behalf of {participant}; only one's own writes",
            )
        if not self.registrations.is_registered(env.signer, round_id):
            raise AuthError(
                403, "envelope.signer", f"{env.signer} is not registered in ParticipantRegistry"
            )
        return env.signer


class ReplayGuard:
    """Remembers accepted (round, stage, signer) writes: a replay gets the first answer back.

    A different payload for a (round, stage, signer) that already has one is a conflict.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[int, str, str], tuple[bytes, Any]] = {}

    def __len__(self) -> int:
        """How many accepted writes are remembered (bounded: the last three rounds' only)."""
        with self._lock:
            return len(self._seen)

    def rounds(self) -> set[int]:
        """The rounds whose writes are remembered."""
        with self._lock:
            return {k[0] for k in self._seen}

    def previous(self, env: SignedEnvelope) -> Any | None:
        """The stored answer for an identical earlier write, None if this is the first."""
        key = (env.round_id, env.stage, env.signer)
        with self._lock:
            hit = self._seen.get(key)
        if hit is None:
            return None
        digest, answer = hit
        if digest != payload_hash(env.payload):
            raise AuthError(
                409,
                "envelope.payload",
                f"{env.signer} already sent another {env.stage} message in round {env.round_id}",
            )
        return answer

    def remember(self, env: SignedEnvelope, answer: Any) -> None:
        """Record an accepted write and the answer it got."""
        with self._lock:
            self._seen[(env.round_id, env.stage, env.signer)] = (payload_hash(env.payload), answer)
            # Keep only the last few rounds: replays of older rounds fail on the round check.
            stale = [k for k in self._seen if k[0] < env.round_id - 2]
            for k in stale:
                del self._seen[k]
