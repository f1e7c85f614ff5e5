"""The multi-process run: anvil, coordinator and 5 node processes finish 2 verified rounds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anvil
@pytest.mark.slow
def test_five_nodes_two_rounds_on_anvil_finish_and_verify(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable, str(ROOT / "scripts" / "run_federation.py"),
            "--nodes", "5", "--rounds", "2", "--timeout", "400", "--work-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=500, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    for r in summary["rounds"]:
        assert r["outcome"] == "finalized"
        assert r["survivors"] == 5
        assert r["verification"]["ok"], r["verification"]
        assert r["gas"]["finalize"] > 0
        assert 0.0 < r["accuracy"] <= 1.0
    assert summary["verified"] is True
    # every process it started is gone: anvil's pid file was removed and nothing holds the logs
    assert not (tmp_path / "anvil" / "anvil.pid").exists()
