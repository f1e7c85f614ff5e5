"""Five hospitals train a breast-cancer risk model together; no patient record leaves a hospital.

Start from the repository root with one command:

    fedledger demo --task examples.hospital.task:task --participants 5 --rounds 3

Each hospital holds a different share of the Wisconsin breast cancer records (scikit-learn's
copy stands in for the hospitals' own tables), standardises them with its own statistics, and
trains `RiskNet` with its own loop (Adam, class-weighted binary cross-entropy). fedledger only
sees the model's weights: it masks each hospital's update, commits it on chain and audits
every round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from torch import nn

from fedledger.fl.task import EvalResult, FitConfig, TaskContext
from fedledger.fl.torch_task import TorchTask

HOSPITALS = 5
# Share of the records each hospital holds: unequal, as in real consortia.
SHARES = (0.35, 0.25, 0.18, 0.12, 0.10)


class RiskNet(nn.Module):
    """30 tumour measurements -> logit of malignancy."""

    def __init__(self, n_features: int = 30, hidden: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, hidden // 2),
            nn.GELU(),
        )
        self.head = nn.Linear(hidden // 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)


@dataclass(frozen=True)
class Records:
    """One hospital's standardised records: features (float32) and labels (1 = malignant)."""

    X: torch.Tensor
    y: torch.Tensor


def _standardise(X: np.ndarray) -> torch.Tensor:
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    return torch.from_numpy(((X - mean) / std).astype(np.float32))


def _records(X: np.ndarray, y: np.ndarray) -> Records:
    # The scikit-learn target is 0 = malignant; hospitals code malignant as 1.
    return Records(_standardise(X), torch.from_numpy((1 - y).astype(np.float32)))


def _split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data = load_breast_cancer()
    return train_test_split(
        data.data, data.target, test_size=0.2, random_state=seed, stratify=data.target
    )


class HospitalTask(TorchTask):
    """The consortium's agreed task: the model, each hospital's records, training, evaluation."""

    def __init__(self, epochs: int = 3, lr: float = 3e-3, batch_size: int = 16) -> None:
        self.epochs, self.lr, self.batch_size = epochs, lr, batch_size

    def build_model(self, ctx: TaskContext) -> nn.Module:
        return RiskNet()

    def load_data(self, ctx: TaskContext) -> Records:
        X, _, y, _ = _split(ctx.seed)
        order = np.random.default_rng(ctx.seed).permutation(len(y))
        n = max(1, ctx.n_participants)
        shares = np.asarray(SHARES if n == HOSPITALS else [1.0 / n] * n)
        cuts = (np.cumsum(shares)[:-1] * len(y)).astype(int)
        mine = np.split(order, cuts)[ctx.participant or 0]
        return _records(X[mine], y[mine])

    def load_test_data(self, ctx: TaskContext) -> Records:
        _, X_test, _, y_test = _split(ctx.seed)
        return _records(X_test, y_test)

    def train(
        self, module: nn.Module, data: Any, config: FitConfig
    ) -> tuple[int, dict[str, float]]:
        # The consortium fixed the optimiser settings in the task; a node may only ask for
        # fewer or more epochs (`fedledger node run --epochs`).
        epochs = int(config.get("epochs", self.epochs))
        lr, batch = self.lr, self.batch_size
        # Malignant cases are the minority: weigh them up.
        positives = float(data.y.sum())
        pos_weight = torch.tensor((len(data.y) - positives) / max(positives, 1.0))
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        opt = torch.optim.Adam(module.parameters(), lr=lr)
        total, seen = 0.0, 0
        for _ in range(epochs):
            for idx in torch.randperm(len(data.y)).split(batch):
                opt.zero_grad()
                loss = loss_fn(module(data.X[idx]), data.y[idx])
                loss.backward()
                opt.step()
                total, seen = total + loss.item() * len(idx), seen + len(idx)
        return len(data.y), {"train_loss": total / max(seen, 1)}

    def test(self, module: nn.Module, data: Any) -> EvalResult:
        logits = module(data.X)
        loss = float(nn.functional.binary_cross_entropy_with_logits(logits, data.y))
        predicted = (logits > 0).to(torch.float32)
        malignant = data.y == 1
        return EvalResult(
            loss=loss,
            num_examples=len(data.y),
            metrics={
                "accuracy": float((predicted == data.y).to(torch.float32).mean()),
                "sensitivity": float(predicted[malignant].mean()),
            },
        )


task = HospitalTask()
