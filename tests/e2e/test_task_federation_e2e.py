"""A task string runs as real processes: `coordinator run --task` and `node run` on anvil."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anvil
@pytest.mark.slow
def test_the_hospital_task_runs_on_a_coordinator_and_five_node_processes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable, str(ROOT / "scripts" / "run_federation.py"),
            "--nodes", "5", "--rounds", "1", "--timeout", "400", "--work-dir", str(tmp_path),
            "--task", "examples.hospital.task:task",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=500, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = json.loads(proc.stdout)["rounds"]
    assert row["outcome"] == "finalized" and row["survivors"] == 5
    assert row["verification"]["ok"], row["verification"]
    assert row["accuracy"] > 0.8
    info = json.loads((tmp_path / "coordinator" / "coordinator.json").read_text())
    assert info["model"]["task"] == "examples.hospital.task:task"
