"""The auditor streams masked vectors: it keeps no masked blob's bytes, reads survivors' blobs
one at a time for the recomputation, and its engine does not change the verdict."""

from __future__ import annotations

from fedledger.audit.blobs import open_blob_source
from fedledger.audit.transcript import SourceVectors, assemble_round
from fedledger.audit.verify import verify_round_from_chain
from fedledger.secagg.engine import ProcessEngine
from tests.support.audit import run_round


def test_assembled_round_keeps_masked_blob_status_but_not_bytes(world, store):
    run = run_round(world, store, drop_before_commit=(1,))

    assembled = assemble_round(
        world.c, world.deployment, open_blob_source(store.root), run.round_id
    )

    masked = {r: f for r, f in assembled.blobs.items() if r.startswith("masked:")}
    assert masked and all(f.ok and f.data is None for f in masked.values())
    assert set(assembled.masked_faults.values()) == {""}
    assert assembled.transcript is not None
    vectors = assembled.transcript.masked_vectors
    assert isinstance(vectors, SourceVectors)
    survivor = run.survivors[0]
    assert vectors[run.commitments[survivor].masked_hash.hex()] == store.get(
        run.commitments[survivor].masked_hash.hex()
    )


def test_audit_on_a_process_pool_passes_an_honest_round(world, store):
    run = run_round(world, store, drop_before_commit=(1,))
    engine = ProcessEngine(2)
    try:
        report = verify_round_from_chain(
            world.backend, world.deployment, str(store.root), run.round_id, engine=engine
        )
    finally:
        engine.close()

    assert report.ok, report.failed
