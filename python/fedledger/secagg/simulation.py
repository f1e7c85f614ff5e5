"""simulate_round: the whole protocol in-process for n participants, with chosen dropouts."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from eth_account import Account

from fedledger.encoding import sha256
from fedledger.errors import ConfigError, ProtocolError
from fedledger.secagg.client import SecAggClient, TooFewSharers
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.crypto import shamir
from fedledger.secagg.encoding import encode_input
from fedledger.secagg.engine import Engine
from fedledger.secagg.holdings import Holdings
from fedledger.secagg.messages import EncryptedShare, Roster, UnmaskResponse
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.quantize import local_rng, quantize
from fedledger.secagg.server import AggregationResult, SecAggServer
from fedledger.secagg.transcript import PublicTranscript

__all__ = ["DEFAULT_CONTRACT", "SimulationResult", "simulate_round"]

DEFAULT_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
_DROP_STAGES = (ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK)


@dataclass
class SimulationResult:
    """Everything a simulated round produced."""

    result: AggregationResult
    transcript: PublicTranscript
    addresses: list[str]
    """Participant addresses in the order of `updates` (not roster order)."""
    quantized: dict[str, np.ndarray] = field(default_factory=dict)
    """Each participant's quantized input x_u (those that reached stage 3)."""
    clients: dict[str, SecAggClient] = field(default_factory=dict)


def _default_model(d: int) -> bytes:
    from fedledger.fl.serialization import model_to_bytes

    return model_to_bytes({"weight": np.zeros(d, dtype=np.float32)})


class _Dropout:
    """Which participants go silent at which stage (silent at one stage, silent after it)."""

    def __init__(self, dropout: Mapping[str, Collection[int]] | None) -> None:
        self.by_stage = {k: set(v) for k, v in (dropout or {}).items()}
        for stage in self.by_stage:
            if stage not in _DROP_STAGES:
                raise ConfigError(f"dropout stage must be one of {_DROP_STAGES}, got {stage!r}")

    def active(self, stage: str, i: int) -> bool:
        """Whether participant i still sends `stage`'s message."""
        upto = _DROP_STAGES[: _DROP_STAGES.index(stage) + 1]
        return all(i not in self.by_stage.get(s, ()) for s in upto)


@dataclass
class _MaskedStage:
    """What stage 3 left: the on-chain commitments, the blobs, and each quantized input."""

    commitments: dict[str, Commitment] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    quantized: dict[str, np.ndarray] = field(default_factory=dict)


def _keys(
    server: SecAggServer, clients: Sequence[SecAggClient], dropout: _Dropout, seed: bytes
) -> tuple[Roster, MutableMapping[str, list[EncryptedShare]]]:
    """Stages 1 and 2: advertise keys, then share them; the roster and each one's inbox."""
    for i, c in enumerate(clients):
        bundle = c.advertise_keys()
        if dropout.active(ADVERTISE_KEYS, i):
            server.add_bundle(bundle)
    roster = server.close_advertise_keys()
    for i, c in enumerate(clients):
        if dropout.active(SHARE_KEYS, i):
            server.add_shares(c.share_keys(roster, seed))
    return roster, server.close_share_keys()


def _masked_input(
    server: SecAggServer,
    clients: Sequence[SecAggClient],
    updates: Sequence[tuple[np.ndarray, int]],
    inbox: Mapping[str, Sequence[EncryptedShare]],
    *,
    dropout: _Dropout,
    params: SecAggParams,
    rng: np.random.Generator,
) -> _MaskedStage:
    """Stage 3: quantize, mask, commit and upload; the "chain" is the commitments dict."""
    out = _MaskedStage()
    for i, c in enumerate(clients):
        if not dropout.active(MASKED_INPUT, i) or c.address not in inbox:
            continue
        delta, examples = updates[i]
        if params.ddp is None:
            x = quantize(delta, examples, params, rng=rng)
        else:  # dpMode 2: noise from each client's own ChaCha20 stream (never a shared rng)
            assert c.roster is not None
            x = encode_input(delta, examples, params, ctx=c.ctx, participants=len(c.roster))
        try:
            msg = c.masked_input(x, inbox[c.address])
        except TooFewSharers:
            continue  # a refusing client goes silent
        out.quantized[c.address] = x
        out.commitments[c.address] = Commitment(msg.masked_hash, msg.seed_commitment, int(x[0]))
        out.blobs[msg.masked_hash.hex()] = msg.vector
        server.add_masked_input(
            c.address, msg.vector, out.commitments[c.address], dropouts=msg.dropouts
        )
    return out


def _garble(
    ctx: RoundContext,
    inbox: MutableMapping[str, list[EncryptedShare]],
    pairs: Sequence[tuple[Any, Any]],
) -> None:
    """Replace each (sender account, recipient account) ciphertext by random bytes of the
    same length, signed by the sender (a cheating sender signs its garbage: 4.6)."""
    for account, to in pairs:
        sender, recipient = account.address, to.address
        inbox[recipient] = [
            EncryptedShare(sender, recipient, os.urandom(len(e.ciphertext))).signed(
                ctx, account.key
            )
            if e.sender == sender
            else e
            for e in inbox.get(recipient, [])
        ]


def _public_transcript(
    ctx: RoundContext,
    *,
    seed: bytes,
    params: SecAggParams,
    min_participants: int,
    roster: Roster,
    masked: _MaskedStage,
    result: AggregationResult,
    old_model: bytes,
) -> PublicTranscript:
    """Stage 5: the model update and everything an auditor would read from chain and store."""
    from fedledger.fl.serialization import apply_aggregate

    new_model = apply_aggregate(old_model, result.decoded)
    return PublicTranscript(
        chain_id=ctx.chain_id,
        contract=ctx.contract,
        round_id=ctx.round_id,
        seed=seed,
        params=params,
        min_participants=min_participants,
        roster=roster.to_bytes(),
        roster_hash=roster.hash(),
        commitments=masked.commitments,
        masked_vectors={name: blob for name, blob in masked.blobs.items()},
        reveal=result.reveal_blob,
        reveal_hash=result.reveal_hash,
        survivors=list(result.survivors),
        aggregate=result.aggregate_blob,
        aggregate_hash=sha256(result.aggregate_blob),
        old_model=old_model,
        old_model_hash=sha256(old_model),
        new_model=new_model,
        new_model_hash=sha256(new_model),
    )


def simulate_round(
    updates: Sequence[tuple[np.ndarray, int]],
    *,
    params: SecAggParams,
    dropout: Mapping[str, Collection[int]] | None = None,
    bad_shares: Collection[int] = (),
    garbage_shares: Collection[tuple[int, int]] = (),
    seed: bytes | None = None,
    ctx: RoundContext | None = None,
    accounts: Sequence[Any] | None = None,
    min_participants: int = 1,
    old_model: bytes | None = None,
    rng: np.random.Generator | None = None,
    blobs: Callable[[bytes], bytes] | None = None,
    engine: Engine | None = None,
    holdings: Holdings | None = None,
) -> SimulationResult:
    """Run stages 1-5 for len(updates) participants and return the result and public transcript.

    `updates[i]` is participant i's (delta, example count). `dropout` maps a stage name
    (advertise_keys, share_keys, masked_input, unmask) to the indices that go silent
    instead of sending that stage's message. `bad_shares` lists indices whose stage-4
    shares are corrupted (the server must blame them). `garbage_shares` lists (sender,
    recipient) index pairs whose stage-2 ciphertext is replaced by random bytes (signed by
    the sender): the recipient drops the sender and publishes a provable accusation, and
    the round still gives the exact sum and verifies (the reveal carries each committer's
    signed local-dropout report). A client that refuses to mask (TooFewSharers) goes
    silent. RoundAborted propagates. `blobs`, `engine` and `holdings` go to
    the SecAggServer (a blob reader by hash, so that it keeps no vectors; where the
    unmask step's mask regeneration runs; where the relayed shares are kept).
    """
    n = len(updates)
    if n < 2:
        raise ConfigError(f"simulate_round needs at least 2 participants, got {n}")
    silent = _Dropout(dropout)
    ctx = ctx or RoundContext(31337, DEFAULT_CONTRACT, 1)
    seed = seed if seed is not None else os.urandom(32)
    accounts = list(accounts) if accounts is not None else [Account.create() for _ in range(n)]
    if len(accounts) != n:
        raise ConfigError(f"{len(accounts)} accounts for {n} updates")
    d = int(np.asarray(updates[0][0]).size)
    length = d + 1
    old_model = old_model if old_model is not None else _default_model(d)

    server = SecAggServer(
        ctx,
        params,
        seed=seed,
        vector_length=length,
        min_survivors=min_participants,
        blobs=blobs,
        engine=engine,
        holdings=holdings,
    )
    clients = [SecAggClient(ctx, params, acct, vector_length=length) for acct in accounts]
    addresses = [c.address for c in clients]
    by_address = dict(zip(addresses, range(n), strict=True))

    roster, inbox = _keys(server, clients, silent, seed)
    _garble(ctx, inbox, [(accounts[s], accounts[r]) for s, r in garbage_shares])
    masked = _masked_input(
        server, clients, updates, inbox, dropout=silent, params=params, rng=rng or local_rng()
    )
    request = server.close_masked_input()

    # Stage 4: unmask.
    for address in request.survivors:
        i = by_address[address]
        if not silent.active(UNMASK, i):
            continue
        response = clients[i].unmask(request)
        if i in bad_shares:
            # A cheater signs its own garbage: the signature makes it evidence.
            response = _corrupt(response).signed(ctx, accounts[i].key)
        server.add_unmask(response)
    result = server.close_unmask()

    transcript = _public_transcript(
        ctx,
        seed=seed,
        params=params,
        min_participants=min_participants,
        roster=roster,
        masked=masked,
        result=result,
        old_model=old_model,
    )
    return SimulationResult(
        result=result,
        transcript=transcript,
        addresses=addresses,
        quantized=masked.quantized,
        clients={c.address: c for c in clients},
    )


def _corrupt(response: UnmaskResponse) -> UnmaskResponse:
    """Shift every share by one field element (what a cheating responder might send)."""

    def shift(raw: bytes) -> bytes:
        return shamir.share_to_bytes((shamir.share_from_bytes(raw) + 1) % shamir.PRIME)

    try:
        return UnmaskResponse(
            response.sender,
            {a: shift(v) for a, v in response.self_mask_shares.items()},
            {a: shift(v) for a, v in response.mask_key_shares.items()},
        )
    except ProtocolError:  # pragma: no cover - shifting keeps lengths valid
        raise
