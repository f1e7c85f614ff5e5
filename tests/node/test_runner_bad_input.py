"""`fedledger node run` with bad input: one line naming the problem, exit code 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fedledger.chain import deploy_all
from fedledger.chain.accounts import derive_accounts
from fedledger.chain.backend import RpcChain
from fedledger.sim.devnet_setup import write_key_file
from fedledger.sim.federation import free_port

pytestmark = pytest.mark.anvil


def _node(devnet, *extra: str, **override: str) -> subprocess.CompletedProcess[str]:
    args = {
        "--coordinator": devnet.coordinator,
        "--rpc": devnet.rpc,
        "--deployment": str(devnet.prepared.deployment_path),
        "--partition": str(devnet.prepared.partition_files[0]),
        "--key-file": str(devnet.prepared.key_files[0]),
        "--retries": "0",
    }
    args.update({f"--{k.replace('_', '-')}": v for k, v in override.items()})
    argv = [sys.executable, "-c", "from fedledger.cli.app import main; main()", "node", "run"]
    for k, v in args.items():
        argv += [k, v]
    # Wide COLUMNS: rich (cli.app) would otherwise wrap the one line at 80 columns.
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        [*argv, *extra], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_missing_partition_is_one_line(devnet, tmp_path: Path) -> None:
    line = _one_line_error(_node(devnet, partition=str(tmp_path / "nope.npz")))
    assert "partition file" in line and "not found" in line


def test_malformed_partition_is_one_line(devnet, tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not an npz file")
    line = _one_line_error(_node(devnet, partition=str(bad)))
    assert "not a readable .npz file" in line


def test_dead_rpc_is_one_line(devnet) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    line = _one_line_error(_node(devnet, rpc=dead))
    assert f"no Ethereum node answers at {dead}" in line


def test_dead_coordinator_is_one_line(devnet) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    line = _one_line_error(_node(devnet, coordinator=dead))
    assert f"coordinator at {dead} unreachable" in line


def test_unregistered_key_is_one_line(devnet, tmp_path: Path) -> None:
    stranger = derive_accounts(b"not registered anywhere", 1)[0]
    key = write_key_file(tmp_path / "stranger.key", stranger)
    line = _one_line_error(_node(devnet, key_file=str(key)))
    assert f"account {stranger.address} is not registered in ParticipantRegistry" in line


def test_wrong_coordinator_is_one_line(devnet, tmp_path: Path) -> None:
    # A second deployment on the same chain: the node's record no longer matches the coordinator.
    backend = RpcChain(devnet.rpc)
    funded = backend.funded_accounts()
    other = deploy_all(backend, deployer=funded[3], aggregator=funded[3].address)
    record = other.save(tmp_path / "other-deployment.json")
    line = _one_line_error(_node(devnet, deployment=str(record)))
    assert line.startswith("error: wrong coordinator:")
    assert other.addresses["RoundLog"] in line


def test_corrupt_key_file_is_one_line(devnet, tmp_path: Path) -> None:
    key = tmp_path / "bad.key"
    key.write_text("0xnothex\n")
    line = _one_line_error(_node(devnet, key_file=str(key)))
    assert "not a 32-byte hex private key" in line


def test_unknown_drop_stage_is_one_line(devnet) -> None:
    line = _one_line_error(_node(devnet, "--drop-at", "lunch"))
    assert "--drop-at: 'lunch' is not one of" in line


def test_a_task_whose_model_does_not_match_the_published_one_is_one_line(devnet) -> None:
    # The coordinator publishes logreg on wine; the node brings the digits MLP.
    line = _one_line_error(_node(devnet, task="fedledger.fl.builtin:digits_mlp"))
    assert line.startswith(
        "error: task 'fedledger.fl.builtin:digits_mlp' does not match the federation's "
        "published model"
    )


def test_a_task_string_that_does_not_import_is_one_line_before_any_network(devnet) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    line = _one_line_error(_node(devnet, task="nowhere.to_be:found", rpc=dead))
    assert "task 'nowhere.to_be:found': cannot import module 'nowhere.to_be'" in line
