"""`fedledger devnet start` + `fedledger deploy --rpc` + restart, via the console script."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

FEDLEDGER = str(Path(sys.executable).parent / "fedledger")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([FEDLEDGER, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_deploy_without_rpc_prints_an_embedded_deployment() -> None:
    record = json.loads(_run("deploy").stdout)
    assert record["rpcUrl"] is None
    assert set(record["contracts"]) >= {"RoundLog", "ParticipantRegistry", "RoundParams"}


@pytest.mark.parametrize("url", ["notaurl", "http://127.0.0.1:1"])
def test_deploy_with_bad_rpc_prints_one_error_line(url: str) -> None:
    proc = _run("deploy", "--rpc", url, ok=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr


@pytest.mark.anvil
def test_devnet_start_deploy_stop_start_keeps_contracts(tmp_path: Path) -> None:
    port, state = str(_free_port()), str(tmp_path / "state")
    out = tmp_path / "deployment.json"
    _run("devnet", "start", "--port", port, "--state-dir", state)
    try:
        assert "chain id 31337" in _run("devnet", "status", "--state-dir", state).stdout
        url = f"http://127.0.0.1:{port}"
        _run("deploy", "--rpc", url, "--out", str(out))
        refused = _run("deploy", "--rpc", url, "--out", str(out), ok=False)
        assert refused.returncode == 1 and "--force" in refused.stderr
        assert "devnet stopped" in _run("devnet", "stop", "--state-dir", state).stdout
        assert _run("devnet", "status", "--state-dir", state, ok=False).returncode == 1
        _run("devnet", "start", "--port", port, "--state-dir", state)
        check = (
            "import sys; from fedledger.chain import Deployment, connect; "
            "c = Deployment.load(sys.argv[1]).attach(connect(sys.argv[2])); "
            "print(c.params.config().neighbours, c.round_log.current_round())"
        )
        answer = subprocess.run(
            [sys.executable, "-c", check, str(out), url], capture_output=True, text=True, timeout=60
        )
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.split() == ["6", "0"]
    finally:
        _run("devnet", "stop", "--state-dir", state, ok=False)
