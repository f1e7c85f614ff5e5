"""Tasks and CSV data through the CLI: `data split --csv`, and bad input as one line + exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from fedledger.cli.app import app
from fedledger.fl.partition import load_participant_data


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", "from fedledger.cli.app import main; main()", *args]
    # Wide COLUMNS: rich would otherwise wrap the one error line at 80 columns.
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=300, check=False, env=env, cwd=cwd
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _write_csv(path: Path, rows: int = 60) -> Path:
    lines = ["radius,texture,diagnosis"]
    lines += [f"{10 + i % 7},{(i * 3) % 11},{'M' if i % 3 == 0 else 'B'}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_data_split_of_a_csv_writes_partitions_a_test_file_and_the_scaler(tmp_path: Path) -> None:
    csv_file = _write_csv(tmp_path / "records.csv")
    out = tmp_path / "parts"

    result = CliRunner().invoke(
        app,
        ["data", "split", "--csv", str(csv_file), "--label", "diagnosis", "--out", str(out),
         "--participants", "3", "--alpha", "0"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    parts = [load_participant_data(f) for f in doc["files"]]
    test = load_participant_data(doc["test"])
    assert sum(len(p) for p in parts) == 48 and len(test) == 12
    assert {p.dataset for p in parts} == {"records"} and parts[0].X.shape[1] == 2
    scaler = json.loads((out / "scaler.json").read_text())
    assert scaler["features"] == ["radius", "texture"] and scaler["classes"] == ["B", "M"]
    assert doc["classes"] == ["B", "M"]


def test_a_csv_without_the_label_column_is_one_line_and_exit_1(tmp_path: Path) -> None:
    csv_file = _write_csv(tmp_path / "records.csv")

    line = _one_line_error(
        _cli("data", "split", "--csv", str(csv_file), "--label", "outcome",
             "--out", str(tmp_path / "parts"), "--participants", "2")
    )  # fmt: skip

    assert "no label column 'outcome' (columns: radius, texture, diagnosis)" in line


def test_a_task_string_that_does_not_import_is_one_line_and_exit_1(tmp_path: Path) -> None:
    line = _one_line_error(_cli("demo", "--task", "no_such_package.tasks:mine", cwd=tmp_path))

    assert "task 'no_such_package.tasks:mine': cannot import module 'no_such_package.tasks'" in line


def test_a_task_string_naming_a_missing_attribute_is_one_line_and_exit_1(tmp_path: Path) -> None:
    line = _one_line_error(_cli("demo", "--task", "fedledger.fl.builtin:resnet", cwd=tmp_path))

    assert "module 'fedledger.fl.builtin' has no attribute 'resnet'" in line


def test_the_coordinator_publishes_the_task_with_its_genesis_model(tmp_path: Path) -> None:
    from fedledger.cli.coordinator import _task_setup
    from fedledger.fl.serialization import model_from_bytes

    spec, genesis, evaluate = _task_setup(
        "fedledger.fl.builtin:wine_logreg", "mlp", "digits", 0, None
    )

    assert spec.to_json()["task"] == "fedledger.fl.builtin:wine_logreg"
    assert {k: v.shape for k, v in model_from_bytes(genesis).items()} == {
        "linear.bias": (3,),
        "linear.weight": (3, 13),
    }
    assert evaluate is not None and 0.0 <= evaluate(genesis)[0] <= 1.0


def test_the_coordinator_s_builtin_shorthand_names_the_builtin_task() -> None:
    from fedledger.cli.coordinator import _task_setup

    spec, _, _ = _task_setup(None, "logreg", "wine", 0, None)

    assert (spec.model, spec.dataset, spec.n_features, spec.n_classes) == ("logreg", "wine", 13, 3)
    assert spec.task == "fedledger.fl.builtin:wine_logreg"
