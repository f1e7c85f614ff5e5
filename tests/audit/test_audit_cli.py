"""`fedledger audit verify` on anvil + an HTTP blob store: exit 0 when clean, 1 with details."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from fedledger.audit.blobs import open_blob_source
from fedledger.chain import RpcChain
from fedledger.chain.devnet import free_port, spawn_anvil
from fedledger.cli.app import app
from fedledger.fl.serialization import model_from_bytes, model_to_bytes
from fedledger.store import FilesystemBlobStore
from fedledger.store.http import blob_router
from tests.support.audit import (
    AuditWorld,
    Publication,
    build_world,
    run_round,
    serve_in_thread,
)

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def anvil_world() -> Iterator[AuditWorld]:
    port = free_port()
    proc = spawn_anvil(port)
    try:
        yield build_world(backend=RpcChain(f"http://127.0.0.1:{port}"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def http_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FilesystemBlobStore, str]]:
    store = FilesystemBlobStore(tmp_path_factory.mktemp("http-blobs"), fsync=False)
    blob_app = FastAPI()
    blob_app.include_router(blob_router(store))
    with serve_in_thread(blob_app, free_port()) as url:
        yield store, url


def nudge(pub: Publication) -> Publication:
    state = model_from_bytes(pub.new_model)
    state["weight"] = state["weight"] * np.float32(1.01)
    pub.new_model = model_to_bytes(state)
    return pub


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_cli_exits_0_for_a_clean_round_and_1_naming_the_failed_check(
    anvil_world, http_store, tmp_path
):
    store, url = http_store
    record = tmp_path / "deployment.json"
    anvil_world.deployment.save(record)
    clean = run_round(anvil_world, store, drop_before_commit=(3,))
    bad = run_round(anvil_world, store, tamper=nudge, seed=5)
    common = ["--deployment", str(record), "--store", url]

    code, out = invoke(*common, "--round", str(clean.round_id))
    assert code == 0, out
    assert "OK" in out

    code, out = invoke(*common, "--round", str(bad.round_id))
    assert code == 1
    assert "✗ model_update" in out and "expected:" in out and "found:" in out

    code, out = invoke(*common, "--all", "--json")
    assert code == 1
    assert '"ok": true' in out and '"ok": false' in out


def test_http_source_reports_an_altered_blob_as_a_mismatch(anvil_world, http_store):
    store, url = http_store
    name = store.put(b"original bytes")
    store.path_for(name).write_bytes(b"altered bytes")
    fetch = open_blob_source(url).fetch(name)
    assert fetch.status == "mismatch" and not fetch.ok


@pytest.mark.parametrize("selection", [["--all", "--round", "1"], []])
def test_cli_needs_exactly_one_round_selection(tmp_path: Path, selection: list[str]):
    args = [
        "audit",
        "verify",
        "--deployment",
        str(tmp_path / "none.json"),
        "--store",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, [*args, *selection])
    assert result.exit_code != 0
    assert "exactly one of --round R or --all" in str(result.exception)


@pytest.mark.adversarial
def test_cli_names_the_aggregator_from_a_published_receipt_of_a_censored_participant(
    anvil_world, http_store, tmp_path
):
    from eth_account import Account

    from fedledger.protocol.receipts import issue_receipt, message_digest, save_receipt
    from fedledger.secagg.constants import ADVERTISE_KEYS

    store, url = http_store
    record = tmp_path / "deployment.json"
    anvil_world.deployment.save(record)
    run = run_round(anvil_world, store, seed=7)
    censored = Account.create()  # its bundle was accepted (receipted), then left out
    receipt = issue_receipt(
        anvil_world.aggregator,
        chain_id=anvil_world.deployment.chain_id,
        contract=anvil_world.c.round_log.address,
        round_id=run.round_id,
        stage=ADVERTISE_KEYS,
        participant=censored.address,
        digest=message_digest({"bundle": "its signed key bundle"}),
    )
    path = save_receipt(receipt, tmp_path / "receipts")
    common = ["--deployment", str(record), "--store", url, "--round", str(run.round_id)]

    assert invoke(*common)[0] == 0
    code, out = invoke(*common, "--receipt", str(path))

    assert code == 1
    assert "✗ receipts_honoured" in out and "censorship" in out
    assert censored.address in out
