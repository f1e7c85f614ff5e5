"""The examples start with their one documented command and every round they run is verified."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _demo(task: str, participants: int, out: Path) -> dict[str, object]:
    # From the repository root, as the examples' READMEs say: the task module is found there.
    argv = [sys.executable, "-c", "from fedledger.cli.app import main; main()", "demo",
            "--task", task, "--participants", str(participants), "--rounds", "3",
            "--json-out", str(out)]  # fmt: skip
    proc = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "COLUMNS": "160"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("task", "participants", "min_accuracy"),
    [
        ("examples.hospital.task:task", 5, 0.85),
        ("examples.flower_client.client:client_fn", 6, 0.6),
    ],
)
def test_the_example_runs_three_rounds_each_finalized_and_verified(
    task: str, participants: int, min_accuracy: float, tmp_path: Path
) -> None:
    doc = _demo(task, participants, tmp_path / "demo.json")

    rounds = doc["rounds"]
    assert isinstance(rounds, list) and [r["round_id"] for r in rounds] == [1, 2, 3]
    for row in rounds:
        assert row["outcome"] == "finalized", row
        assert row["verified"] is True, row["failed_checks"]
        assert row["accuracy"] >= min_accuracy
    assert doc["allVerified"] is True
    assert doc["config"]["task"] == task  # type: ignore[index]
