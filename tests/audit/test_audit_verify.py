"""verify_round_from_chain on real rounds: honest ones pass; each tampering fails its check."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fedledger.audit.verify import CHECKS as CHAIN_CHECKS
from fedledger.audit.verify import AuditReport, verify_round_from_chain
from fedledger.encoding import canonical_json, from_canonical_json, sha256
from fedledger.fl.serialization import model_from_bytes, model_to_bytes
from fedledger.secagg import decode_vector, encode_vector
from fedledger.secagg.checks import check_names
from fedledger.secagg.crypto.keys import KeyPair
from fedledger.secagg.verify import CHECKS as SECAGG_CHECKS
from fedledger.store import FilesystemBlobStore
from tests.support.audit import Publication, RoundRun, run_round


def audit(world, run: RoundRun) -> AuditReport:
    return verify_round_from_chain(
        world.backend, world.deployment, str(run.store.root), run.round_id
    )


def edit_reveal(blob: bytes, fn) -> bytes:
    doc = from_canonical_json(blob)
    fn(doc)
    return canonical_json(doc)


def test_honest_round_with_a_dropout_passes_every_named_check(world, store):
    run = run_round(world, store, drop_before_commit=(1,))
    report = audit(world, run)
    assert report.ok, report.failed
    assert [c.name for c in report.checks] == check_names((*CHAIN_CHECKS, *SECAGG_CHECKS))
    assert run.dropped == [world.participants[1].address]


def test_two_rounds_in_a_row_both_pass_and_chain_their_models(world, store):
    first = run_round(world, store)
    second = run_round(world, store, seed=1)
    assert audit(world, first).ok
    report = audit(world, second)
    assert report.ok, report.failed
    assert report.check("model_chain").expected == "0x" + sha256(first.publication.new_model).hex()


def test_masked_blob_altered_in_the_store_fails_survivor_commitments(world, store):
    run = run_round(world, store)
    victim = run.survivors[0]
    path = store.path_for(run.commitments[victim].masked_hash.hex())
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))

    report = audit(world, run)

    assert not report.ok
    assert "survivor_commitments" in report.failed
    assert victim in report.check("survivor_commitments").found
    assert "mismatch" in report.check("blobs_available").found[f"masked:{victim}"]
    assert report.check("roster_hash").passed and report.check("self_mask_seeds").passed


def test_aggregate_off_by_one_in_one_coordinate_fails_aggregate_recomputed(world, store):
    def bump(pub: Publication) -> Publication:
        agg = np.array(decode_vector(pub.aggregate_blob))
        agg[3] += np.uint32(1)
        pub.aggregate_blob = encode_vector(agg)
        return pub

    run = run_round(world, store, tamper=bump)
    report = audit(world, run)

    assert set(report.failed) == {"aggregate_recomputed", "model_update"}
    check = report.check("aggregate_recomputed")
    assert check.expected == "0x" + sha256(run.publication.aggregate_blob).hex()
    assert check.found == "0x" + sha256(run.honest.aggregate_blob).hex()
    assert "1 coordinate(s), first 3" in check.detail


def test_aggregate_weight_element_off_by_one_fails_aggregate_recomputed_not_total_weight(
    world, store
):
    # W comes from the chain (protocol 4.9): element 0 is never decoded, so a wrong one is a
    # wrong aggregate (the recomputation catches it), not a wrong total weight.
    def heavier(pub: Publication) -> Publication:
        agg = np.array(decode_vector(pub.aggregate_blob))
        agg[0] += np.uint32(1)
        pub.aggregate_blob = encode_vector(agg)
        return pub

    run = run_round(world, store, tamper=heavier)
    report = audit(world, run)

    assert set(report.failed) == {"aggregate_recomputed", "model_update"}
    check = report.check("total_weight")
    assert check.found["aggregate[0]"] == check.expected + 1


def test_reveal_with_a_wrong_self_mask_seed_fails_self_mask_seeds(world, store):
    target = world.participants[2].address

    def wrong_seed(pub: Publication) -> Publication:
        pub.reveal_blob = edit_reveal(
            pub.reveal_blob,
            lambda d: d["selfMaskSeeds"].__setitem__(target, "0x" + os.urandom(32).hex()),
        )
        return pub

    run = run_round(world, store, tamper=wrong_seed)
    report = audit(world, run)

    assert "self_mask_seeds" in report.failed
    assert list(report.check("self_mask_seeds").found) == [target]
    assert report.check("reveal_hash").passed and report.check("survivor_commitments").passed


def test_dropped_participants_mask_key_swapped_fails_dropped_mask_keys(world, store):
    dropped = world.participants[1].address

    def swap_key(pub: Publication) -> Publication:
        other = KeyPair.generate().private
        pub.reveal_blob = edit_reveal(
            pub.reveal_blob, lambda d: d["maskKeys"].__setitem__(dropped, "0x" + other.hex())
        )
        return pub

    run = run_round(world, store, drop_before_commit=(1,), tamper=swap_key)
    report = audit(world, run)

    assert "dropped_mask_keys" in report.failed
    assert list(report.check("dropped_mask_keys").found) == [dropped]
    assert report.check("self_mask_seeds").passed


def test_survivor_silently_omitted_fails_committed_updates_included(world, store):
    hidden = world.participants[3].address
    run = run_round(world, store, hide_from_aggregate=(3,))
    assert hidden not in run.survivors and hidden in run.commitments

    report = audit(world, run)

    # The round is self-consistent (hidden's mask key was revealed as if it dropped out),
    # so only the chain shows that a committed update with its blob was left out.
    assert report.failed == ["committed_updates_included"]
    check = report.check("committed_updates_included")
    assert hidden in check.expected and hidden not in check.found


def test_new_model_not_old_plus_aggregate_fails_model_update(world, store):
    def nudge(pub: Publication) -> Publication:
        state = model_from_bytes(pub.new_model)
        state["bias"] = state["bias"] + np.float32(1e-3)
        pub.new_model = model_to_bytes(state)
        return pub

    run = run_round(world, store, tamper=nudge)
    report = audit(world, run)

    assert report.failed == ["model_update"]
    assert report.check("model_update").expected == "0x" + sha256(run.publication.new_model).hex()
    assert report.check("model_update").found == "0x" + sha256(run.honest.new_model).hex()


def test_missing_reveal_blob_is_a_named_failure_not_a_crash(world, store):
    run = run_round(world, store)
    store.path_for(sha256(run.publication.reveal_blob).hex()).unlink()

    report = audit(world, run)

    assert "blobs_available" in report.failed and "reveal_hash" in report.failed
    assert report.check("blobs_available").found["reveal"].startswith("missing")


def test_report_is_plain_json(world, store):
    run = run_round(world, store)
    doc = audit(world, run).model_dump(mode="json")
    assert canonical_json(doc)  # serialisable without custom encoders
    assert doc["ok"] is True and doc["round"] == run.round_id


def test_unknown_round_raises_a_chain_error(world, store):
    from fedledger.errors import ChainError

    with pytest.raises(ChainError, match="RoundLogUnknownRound"):
        verify_round_from_chain(world.backend, world.deployment, str(store.root), 99)


def test_failed_round_reports_the_reason_and_passes_chain_checks(world, store: FilesystemBlobStore):
    log = world.c.round_log
    rid = int(
        log.open_round(next(iter(world.models)), sender=world.aggregator)
        .named("RoundOpened")[0]
        .args["round"]
    )
    log.fail_round(rid, "too_few_participants", sender=world.aggregator)

    report = verify_round_from_chain(world.backend, world.deployment, str(store.root), rid)

    assert report.ok and report.stage == "failed"
    assert report.failure_reason == "too_few_participants"
