"""Flower clients run unchanged: fit gets the global parameters, its result becomes the update."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from flwr.app import Context
from flwr.client import ClientApp, NumPyClient

from fedledger.fl.flower import FlowerTask, to_parameters, to_weights
from fedledger.fl.task import TaskContext, TaskError
from fedledger.fl.task_bridge import (
    fit_config,
    initial_model,
    local_update,
    make_task_evaluator,
    weights_of,
)
from fedledger.fl.task_loader import load_task


class Recording(NumPyClient):  # type: ignore[misc]
    """Adds 1 to every parameter; remembers what fit and evaluate were given."""

    def __init__(self, partition: int = 0, partitions: int = 1) -> None:
        self.partition, self.partitions = partition, partitions
        self.seen: list[tuple[list[np.ndarray], dict[str, Any]]] = []

    def get_parameters(self, config: dict[str, Any]) -> list[np.ndarray]:
        return [np.zeros((2, 3), np.float32), np.arange(4, dtype=np.float32)]

    def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> Any:
        self.seen.append(([p.copy() for p in parameters], dict(config)))
        return [p + 1 for p in parameters], 10 + self.partition, {"train_loss": 0.1, "raw": b"x"}

    def evaluate(self, parameters: list[np.ndarray], config: dict[str, Any]) -> Any:
        return float(parameters[1].sum()), 5, {"accuracy": 0.75}


def test_parameters_keep_their_list_order_past_ten_tensors() -> None:
    params = [np.full(1, i, np.float32) for i in range(12)]

    assert [int(p[0]) for p in to_parameters(to_weights(params, what="t"))] == list(range(12))


def test_fit_gets_the_global_parameters_and_its_result_becomes_the_update() -> None:
    client = Recording()
    task = FlowerTask(client=client)
    model = initial_model(task, TaskContext(), name="flower")
    global_params = to_parameters(weights_of(model))
    global_params[1][:] = [4, 3, 2, 1]  # a "later round" model
    later = initial_model(
        FlowerTask(client=client, initial_parameters=global_params), TaskContext(), name="f"
    )

    update = local_update(task, later, client, fit_config(2, 99, epochs=3), name="flower")

    ((received, config),) = client.seen
    np.testing.assert_array_equal(received[1], [4, 3, 2, 1])
    assert config == {"round": 2, "seed": 99, "epochs": 3}
    np.testing.assert_array_equal(update.delta, np.ones(10, np.float32))
    assert update.weight == 10 and update.train_loss == pytest.approx(0.1)


class TorchRandom(NumPyClient):  # type: ignore[misc]
    """Draws its initial model and its "training" from torch's global RNG, as Flower's
    quickstart does (nn.Linear init, DataLoader shuffling)."""

    def get_parameters(self, config: dict[str, Any]) -> list[np.ndarray]:
        return [torch.rand(5).numpy()]

    def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> Any:
        return [parameters[0] + torch.rand(5).numpy()], 1, {}


def _seeded_run(seed: int) -> tuple[np.ndarray, np.ndarray]:
    client = TorchRandom()
    task = FlowerTask(client=client)
    model = initial_model(task, TaskContext(seed=seed), name="flower")
    update = local_update(task, model, client, fit_config(1, seed + 7), name="flower")
    return weights_of(model)["param_0000"], update.delta


def test_a_client_drawing_from_torch_s_global_rng_is_reproducible_from_the_seed() -> None:
    torch.manual_seed(1234)
    first, again, other = _seeded_run(3), _seeded_run(3), _seeded_run(4)
    after = torch.rand(1)

    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0]) and not np.array_equal(first[1], other[1])
    # The seeding happens inside a fork: the caller's global RNG stream is untouched.
    torch.manual_seed(1234)
    assert torch.equal(after, torch.rand(1))


def test_evaluate_feeds_the_reported_accuracy_and_loss() -> None:
    client = Recording()
    task = FlowerTask(client=client)
    model = initial_model(task, TaskContext(), name="flower")

    evaluator = make_task_evaluator(task, task.load_test_data(TaskContext()), name="flower")

    assert evaluator is not None and evaluator(model) == (0.75, 6.0)


def test_client_fn_gets_each_participant_s_partition_id_and_the_count() -> None:
    made: list[Context] = []

    def client_fn(context: Context) -> Any:
        made.append(context)
        cfg = context.node_config
        return Recording(int(cfg["partition-id"]), int(cfg["num-partitions"])).to_client()

    task = FlowerTask(client_fn=client_fn)
    clients = [task.load_data(TaskContext(participant=i, n_participants=3)) for i in range(3)]

    assert [(c.partition, c.partitions) for c in clients] == [(0, 3), (1, 3), (2, 3)]
    assert all(isinstance(c, Recording) for c in clients)  # unwrapped from .to_client()


def test_a_client_returning_the_wrong_shape_of_result_is_a_task_error() -> None:
    class Bad(Recording):
        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> Any:
            return parameters, 3

    task = FlowerTask(client=Bad())
    model = initial_model(task, TaskContext(), name="bad")

    with pytest.raises(TaskError, match=r"must return \(parameters, num_examples, metrics\)"):
        local_update(task, model, task.client, fit_config(1, 0), name="bad")


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_flower_code_named_by_an_import_string_is_wrapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _module(
        tmp_path,
        monkeypatch,
        "flower_code_for_fedledger",
        """
        import numpy as np
        from flwr.client import ClientApp, NumPyClient

        class C(NumPyClient):
            def get_parameters(self, config):
                return [np.zeros(2, np.float32)]

        client = C()

        def client_fn(context):
            return C().to_client()

        app = ClientApp(client_fn=client_fn)
        """,
    )

    assert isinstance(load_task(f"{name}:client"), FlowerTask)
    fn_task = load_task(f"{name}:client_fn")
    assert isinstance(fn_task, FlowerTask) and fn_task.client_fn is not None
    with pytest.raises(
        TaskError, match="a Flower ClientApp cannot be run as is; name the client_fn"
    ):
        load_task(f"{name}:app")


def test_a_client_app_object_is_refused_by_name() -> None:
    from fedledger.fl.flower import flower_task_from

    with pytest.raises(TaskError, match="ClientApp"):
        flower_task_from(
            "m:app", ClientApp(client_fn=lambda c: Recording().to_client()), client_fn_like=False
        )
