"""dpMode 2 set by a governance vote: the round verifies bit for bit, tampering fails."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fedledger.audit.verify import verify_round_from_chain
from fedledger.chain.datatypes import DP_DISTRIBUTED
from fedledger.fl.dp_accountant import with_privacy
from fedledger.fl.serialization import apply_aggregate
from fedledger.secagg.quantize import decode_sum
from fedledger.secagg.vectors import decode_vector, encode_vector
from fedledger.store import FilesystemBlobStore
from tests.support.audit import AUDIT_CONFIG, AuditWorld, Publication, govern, run_round

DDP = with_privacy(
    AUDIT_CONFIG,
    mode=DP_DISTRIBUTED,
    noise_multiplier=1.0,
    clip_norm=1.0,
    delta=1e-5,
    epsilon_budget=50.0,
)


def _govern_ddp(world: AuditWorld, store: FilesystemBlobStore) -> None:
    run_round(world, store)  # earns the voter its tokens
    govern(world, world.participants[0], DDP, "turn on distributed DP (dpMode 2)", store)


def _audit(world: AuditWorld, store: FilesystemBlobStore, rid: int):  # type: ignore[no-untyped-def]
    return verify_round_from_chain(world.backend, world.deployment, str(store.root), rid)


def test_a_distributed_dp_round_set_by_governance_finalizes_and_verifies_bit_for_bit(
    world: AuditWorld, store: FilesystemBlobStore
) -> None:
    _govern_ddp(world, store)
    run = run_round(world, store, seed=1)
    assert world.c.round_log.get_round(run.round_id).config.dp_mode == DP_DISTRIBUTED

    report = _audit(world, store, run.round_id)

    assert report.ok, report.failed
    assert report.check("model_update").passed
    assert "dpMode 2" in str(report.check("aggregate_in_range").expected)
    assert world.c.round_log.epsilon_spent_micros() == DDP.epsilon_cost_micros


def test_a_tampered_distributed_dp_aggregate_fails_the_audit(
    world: AuditWorld, store: FilesystemBlobStore
) -> None:
    _govern_ddp(world, store)

    def bump(pub: Publication) -> Publication:
        agg = np.array(decode_vector(pub.aggregate_blob))
        agg[5] += np.uint32(1)
        return replace(pub, aggregate_blob=encode_vector(agg))

    run = run_round(world, store, seed=1, tamper=bump)
    report = _audit(world, store, run.round_id)

    assert set(report.failed) == {"aggregate_recomputed", "model_update"}


def test_a_mode_2_aggregate_decoded_as_a_quantized_one_fails_model_update(
    world: AuditWorld, store: FilesystemBlobStore
) -> None:
    _govern_ddp(world, store)
    old_model = world.models[world.c.round_log.latest_model_hash()]

    def misdecode(pub: Publication) -> Publication:
        agg = decode_vector(pub.aggregate_blob)
        params = replace(DDP.secagg_params(), ddp=None)
        weight = sum(100 + 10 * i for i in range(len(pub.survivors)))
        wrong = decode_sum(agg, len(pub.survivors), params, total_weight=weight)
        return replace(pub, new_model=apply_aggregate(old_model, wrong))

    run = run_round(world, store, seed=1, tamper=misdecode)
    report = _audit(world, store, run.round_id)

    assert report.failed == ["model_update"]
