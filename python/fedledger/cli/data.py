"""`fedledger data`: split a bundled dataset into per-participant partition files."""

from __future__ import annotations

from pathlib import Path

import typer

from fedledger.cli.common import echo_json
from fedledger.errors import ConfigError

data_app = typer.Typer(help="Datasets and partition files for participants.", no_args_is_help=True)


@data_app.command("split")
def split(
    out: Path = typer.Option(..., "--out", help="Folder for participant-<i>.npz files."),
    participants: int = typer.Option(..., "--participants", help="Number of partitions."),
    dataset: str = typer.Option("digits", help="digits, breast_cancer or wine."),
    alpha: float = typer.Option(
        0.5, help="Dirichlet label-skew alpha (smaller: more skew); 0 for an IID split."
    ),
    seed: int = typer.Option(0, help="Seed of the test split and the partition."),
) -> None:
    """Write one partition file per participant (training split only; the test split stays out)."""
    from fedledger.fl.datasets import load_dataset
    from fedledger.fl.partition import dirichlet_partition, iid_partition, write_partition_files

    if participants < 1:
        raise ConfigError("--participants: must be >= 1")
    if alpha < 0:
        raise ConfigError("--alpha: must be >= 0 (0 means IID)")
    data = load_dataset(dataset, seed=seed)
    n = len(data.train.y)
    part = (
        iid_partition(n, participants, seed=seed)
        if alpha == 0
        else dirichlet_partition(data.train.y, participants, alpha=alpha, seed=seed)
    )
    paths = write_partition_files(data, part, out)
    echo_json(
        {
            "dataset": dataset,
            "scheme": part.scheme,
            "files": [str(p) for p in paths],
            "sizes": [len(p) for p in part.parts],
        }
    )


def register(app: typer.Typer) -> None:
    """Attach `fedledger data` to the root app."""
    app.add_typer(data_app, name="data")
