"""Tests for fedledger.fl.train and fedledger.fl.fedavg."""

from __future__ import annotations

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.fl.datasets import Dataset
from fedledger.fl.fedavg import (
    fedavg_aggregate,
    run_centralised,
    run_fedavg,
    run_plain_fedavg,
)
from fedledger.fl.models import build_model, load_model_bytes, module_to_bytes
from fedledger.fl.partition import iid_partition
from fedledger.fl.serialization import apply_aggregate, flatten_model
from fedledger.fl.train import LocalUpdate, TrainConfig, derive_seed, evaluate, train_local


def test_local_training_improves_accuracy_on_digits(digits: Dataset) -> None:
    module = build_model("mlp", n_features=64, n_classes=10, seed=0)
    initial = module_to_bytes(module)
    before, _ = evaluate(module, digits.test.X, digits.test.y)
    update = train_local(
        module, initial, digits.train.X, digits.train.y, config=TrainConfig(epochs=3), seed=1
    )
    after, _ = evaluate(module, digits.test.X, digits.test.y)
    assert before < 0.3
    assert after > 0.9
    assert update.weight == len(digits.train)


def test_update_is_the_flat_weight_delta(digits: Dataset) -> None:
    module = build_model("logreg", n_features=64, n_classes=10, seed=0)
    initial = module_to_bytes(module)
    update = train_local(
        module, initial, digits.train.X[:100], digits.train.y[:100], config=TrainConfig(), seed=0
    )
    expected = flatten_model(module_to_bytes(module)) - flatten_model(initial)
    assert update.delta.dtype == np.float32
    np.testing.assert_array_equal(update.delta, expected)
    assert np.abs(update.delta).max() > 0


def test_local_training_is_deterministic_given_the_seed(digits: Dataset) -> None:
    X, y = digits.train.X[:200], digits.train.y[:200]
    module = build_model("cnn", n_features=64, n_classes=10, seed=0)
    initial = module_to_bytes(module)
    cfg = TrainConfig(epochs=1)
    a = train_local(module, initial, X, y, config=cfg, seed=5)
    b = train_local(module, initial, X, y, config=cfg, seed=5)
    c = train_local(module, initial, X, y, config=cfg, seed=6)
    assert a.delta.tobytes() == b.delta.tobytes()
    assert a.delta.tobytes() != c.delta.tobytes()


def test_adam_optimizer_trains(digits: Dataset) -> None:
    module = build_model("logreg", n_features=64, n_classes=10, seed=0)
    cfg = TrainConfig(optimizer="adam", lr=0.01, epochs=2)
    train_local(module, module_to_bytes(module), digits.train.X, digits.train.y, config=cfg, seed=0)
    assert evaluate(module, digits.test.X, digits.test.y)[0] > 0.85


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"), ({"optimizer": "rmsprop"}, "optimizer")],
)
def test_bad_train_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**kwargs)  # type: ignore[arg-type]


def test_training_rejects_mismatched_labels(digits: Dataset) -> None:
    module = build_model("logreg", n_features=64, n_classes=10, seed=0)
    with pytest.raises(ConfigError, match="one label per row"):
        train_local(
            module,
            module_to_bytes(module),
            digits.train.X[:10],
            digits.train.y[:9],
            config=TrainConfig(),
            seed=0,
        )


def test_derive_seed_separates_rounds_and_participants() -> None:
    seeds = {derive_seed(0, r, u) for r in range(5) for u in range(20)}
    assert len(seeds) == 100
    assert derive_seed(3, 1, 2) == derive_seed(3, 1, 2)


def test_fedavg_aggregate_is_the_weighted_float64_sum() -> None:
    rng = np.random.default_rng(0)
    updates = [
        LocalUpdate(delta=rng.standard_normal(6).astype(np.float32), weight=w, train_loss=0.0)
        for w in (3, 5)
    ]
    agg = fedavg_aggregate(0, updates)
    assert agg.total_weight == 8
    expected = 3 * updates[0].delta.astype(np.float64) + 5 * updates[1].delta.astype(np.float64)
    np.testing.assert_array_equal(agg.weighted_sum, expected)


def test_fedavg_of_one_participant_equals_its_local_model(digits: Dataset) -> None:
    module = build_model("mlp", n_features=64, n_classes=10, seed=0)
    initial = module_to_bytes(module)
    upd = train_local(
        module, initial, digits.train.X[:64], digits.train.y[:64], config=TrainConfig(), seed=0
    )
    local = flatten_model(module_to_bytes(module))
    new = flatten_model(apply_aggregate(initial, fedavg_aggregate(0, [upd])))
    # old + (w*delta)/w is old + delta up to one float32 rounding.
    np.testing.assert_allclose(new, local, rtol=0, atol=1e-6)


def test_plain_fedavg_learns_and_is_reproducible(digits: Dataset) -> None:
    part = iid_partition(len(digits.train), 4, seed=0)
    cfg = TrainConfig(epochs=1)
    kwargs = dict(dataset=digits, partition=part, model_name="logreg", rounds=3, train_config=cfg)
    a = run_plain_fedavg(seed=0, **kwargs)  # type: ignore[arg-type]
    b = run_plain_fedavg(seed=0, **kwargs)  # type: ignore[arg-type]
    assert a.final_model == b.final_model
    assert [m.round for m in a.history] == [0, 1, 2]
    assert a.history[-1].total_weight == len(digits.train)
    assert a.final_accuracy > 0.9
    module = build_model("logreg", n_features=64, n_classes=10, seed=0)
    load_model_bytes(module, a.final_model)
    assert evaluate(module, digits.test.X, digits.test.y)[0] == a.final_accuracy


def test_run_fedavg_uses_the_given_aggregator(digits: Dataset) -> None:
    part = iid_partition(len(digits.train), 3, seed=0)
    seen: list[tuple[int, int]] = []

    def spy(round_index: int, updates: list[LocalUpdate]):  # type: ignore[no-untyped-def]
        seen.append((round_index, len(updates)))
        return fedavg_aggregate(round_index, updates)

    run_fedavg(
        dataset=digits,
        partition=part,
        model_name="logreg",
        rounds=2,
        train_config=TrainConfig(epochs=1),
        seed=0,
        aggregate=spy,
    )
    assert seen == [(0, 3), (1, 3)]


def test_centralised_training_reaches_high_accuracy(digits: Dataset) -> None:
    res = run_centralised(
        dataset=digits, model_name="mlp", epochs=5, train_config=TrainConfig(), seed=0
    )
    assert res.accuracy > 0.93
    assert res.epochs == 5
