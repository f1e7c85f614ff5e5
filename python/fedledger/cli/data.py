"""`fedledger data`: split a bundled dataset or a CSV file into per-participant partition files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fedledger.cli.common import echo_json
from fedledger.errors import ConfigError

if TYPE_CHECKING:
    from fedledger.fl.datasets import Dataset
    from fedledger.fl.partition import Partition

data_app = typer.Typer(help="Datasets and partition files for participants.", no_args_is_help=True)


def _partition(data: Dataset, participants: int, alpha: float, seed: int) -> Partition:
    from fedledger.fl.partition import dirichlet_partition, iid_partition

    n = len(data.train.y)
    if alpha == 0:
        return iid_partition(n, participants, seed=seed)
    return dirichlet_partition(data.train.y, participants, alpha=alpha, seed=seed)


def _from_csv(
    csv_file: Path, label: str | None, test_fraction: float, seed: int, out: Path
) -> tuple[Dataset, dict[str, Any]]:
    """The CSV's standardised split; writes test.npz and scaler.json next to the partitions."""
    from fedledger.fl.tabular import read_csv_table, split_table, write_test_file

    if label is None:
        raise ConfigError("--label: required with --csv (the column holding the class)")
    data, scaler = split_table(
        read_csv_table(csv_file, label=label), test_fraction=test_fraction, seed=seed
    )
    test = write_test_file(data, out)
    (out / "scaler.json").write_text(json.dumps(scaler, indent=2) + "\n")
    return data, {
        "test": str(test),
        "scaler": str(out / "scaler.json"),
        "classes": scaler["classes"],
    }


@data_app.command("split")
def split(
    out: Path = typer.Option(..., "--out", help="Folder for participant-<i>.npz files."),
    participants: int = typer.Option(..., "--participants", help="Number of partitions."),
    dataset: str = typer.Option("digits", help="digits, breast_cancer or wine (without --csv)."),
    csv_file: Path | None = typer.Option(
        None, "--csv", help="Split this CSV file instead: numeric features and a label column."
    ),
    label: str | None = typer.Option(None, "--label", help="The CSV's label column."),
    test_fraction: float = typer.Option(
        0.2, help="Share of the CSV rows held out for the coordinator's test.npz."
    ),
    alpha: float = typer.Option(
        0.5, help="Dirichlet label-skew alpha (smaller: more skew); 0 for an IID split."
    ),
    seed: int = typer.Option(0, help="Seed of the test split and the partition."),
) -> None:
    """Write one partition file per participant (training split only; the test split stays out).

    With --csv, also test.npz (the held-out split) and scaler.json (the training split's
    mean and standard deviation per feature, and the class names).
    """
    from fedledger.fl.datasets import load_dataset
    from fedledger.fl.partition import write_partition_files

    if participants < 1:
        raise ConfigError("--participants: must be >= 1")
    if alpha < 0:
        raise ConfigError("--alpha: must be >= 0 (0 means IID)")
    extra: dict[str, Any] = {}
    if csv_file is not None:
        out.mkdir(parents=True, exist_ok=True)
        data, extra = _from_csv(csv_file, label, test_fraction, seed, out)
    else:
        data = load_dataset(dataset, seed=seed)
    part = _partition(data, participants, alpha, seed)
    paths = write_partition_files(data, part, out)
    echo_json(
        {
            "dataset": data.name,
            "scheme": part.scheme,
            "files": [str(p) for p in paths],
            "sizes": [len(p) for p in part.parts],
            **extra,
        }
    )


def register(app: typer.Typer) -> None:
    """Attach `fedledger data` to the root app."""
    app.add_typer(data_app, name="data")
