"""The Task API: import strings, the bridge to model bytes and updates, built-in and torch tasks."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from fedledger.fl.builtin import BuiltinTask
from fedledger.fl.datasets import load_dataset
from fedledger.fl.models import build_model, module_to_bytes
from fedledger.fl.task import EvalResult, FitConfig, FitResult, Task, TaskContext, TaskError
from fedledger.fl.task_bridge import (
    TaskMismatch,
    TaskRunner,
    check_layout,
    fit_config,
    initial_model,
    local_update,
    make_task_evaluator,
    weights_to_model,
)
from fedledger.fl.task_loader import builtin_task_string, load_task
from fedledger.fl.torch_task import TorchTask
from fedledger.fl.train import TrainConfig, derive_seed, train_local


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


class Fixed(Task):
    """A task with one 2x2 tensor; fit adds `step` to every weight."""

    def __init__(self, step: float = 1.0, count: Any = 3, shape: tuple[int, ...] = (2, 2)):
        self.step, self.count, self.shape = step, count, shape

    def initial_weights(self, ctx: TaskContext) -> dict[str, np.ndarray]:
        return {"w": np.full(self.shape, float(ctx.seed), dtype=np.float32)}

    def load_data(self, ctx: TaskContext) -> Any:
        return ctx.participant

    def fit(self, weights: dict[str, np.ndarray], data: Any, config: FitConfig) -> FitResult:
        return FitResult({"w": weights["w"] + self.step}, self.count, {"train_loss": 0.5})

    def evaluate(self, weights: dict[str, np.ndarray], data: Any) -> EvalResult:
        return EvalResult(float(weights["w"].sum()), 1, {"accuracy": 0.25})


# -- import strings ---------------------------------------------------------------------------


def test_a_builtin_task_string_resolves_to_the_builtin_task() -> None:
    task = load_task(builtin_task_string("mlp", "digits"))

    assert isinstance(task, BuiltinTask)
    assert (task.model, task.dataset) == ("mlp", "digits")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon_here", "expected an import string 'package.module:attribute'"),
        ("a.b:c:d", "expected an import string"),
        (
            "fedledger_no_such_module_xyz:task",
            "cannot import module 'fedledger_no_such_module_xyz'",
        ),
        ("fedledger.fl.builtin:nope", "module 'fedledger.fl.builtin' has no attribute 'nope'"),
        ("fedledger.fl.builtin:MODEL_NAMES", "tuple is not a fedledger Task"),
    ],
)
def test_a_bad_task_string_is_a_task_error_naming_it(spec: str, message: str) -> None:
    with pytest.raises(TaskError, match=message) as err:
        load_task(spec)
    assert spec in str(err.value) and "\n" not in str(err.value)


def test_an_import_that_raises_inside_the_task_module_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _module(tmp_path, monkeypatch, "task_raises_on_import", "raise RuntimeError('boom')\n")

    with pytest.raises(TaskError, match="RuntimeError: boom"):
        load_task(f"{name}:task")


def test_a_task_subclass_and_a_zero_argument_factory_are_instantiated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _module(
        tmp_path,
        monkeypatch,
        "task_kinds",
        """
        from fedledger.fl.builtin import BuiltinTask

        class Mine(BuiltinTask):
            def __init__(self):
                super().__init__("logreg", "wine")

        def make():
            return BuiltinTask("mlp", "wine")

        def not_a_task():
            return 42
        """,
    )

    assert load_task(f"{name}:Mine").model == "logreg"  # type: ignore[attr-defined]
    assert load_task(f"{name}:make").model == "mlp"  # type: ignore[attr-defined]
    with pytest.raises(TaskError, match="the factory returned int, not a fedledger Task"):
        load_task(f"{name}:not_a_task")


def test_the_current_directory_is_searched_for_the_task_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "task_in_cwd.py").write_text(
        "from fedledger.fl.builtin import wine_logreg as task\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", [p for p in __import__("sys").path if p != str(tmp_path)])

    assert isinstance(load_task("task_in_cwd:task"), BuiltinTask)


# -- the bridge -------------------------------------------------------------------------------


def test_the_update_is_the_trained_weights_minus_the_global_ones() -> None:
    task = Fixed(step=0.5, count=7)
    model = initial_model(task, TaskContext(seed=2), name="fixed")

    update = local_update(task, model, None, fit_config(1, 0), name="fixed")

    assert update.weight == 7
    np.testing.assert_array_equal(update.delta, np.full(4, 0.5, dtype=np.float32))
    assert update.train_loss == 0.5


@pytest.mark.parametrize("count", [0, -1, 2.5, True, None])
def test_a_fit_without_a_positive_integer_example_count_is_refused(count: Any) -> None:
    task = Fixed(count=count)
    model = initial_model(task, TaskContext(), name="fixed")

    with pytest.raises(TaskError, match="num_examples"):
        local_update(task, model, None, fit_config(1, 0), name="fixed")


def test_a_fit_returning_another_layout_is_a_task_mismatch() -> None:
    model = initial_model(Fixed(shape=(2, 2)), TaskContext(), name="fixed")

    class Grows(Fixed):
        def fit(self, weights: Any, data: Any, config: FitConfig) -> FitResult:
            return FitResult({"w": np.zeros((3, 2), np.float32)}, 1)

    with pytest.raises(TaskMismatch, match=r"tensor 'w' is \(3, 2\) here but \(2, 2\)"):
        local_update(Grows(), model, None, fit_config(1, 0), name="grows")


def test_integer_weights_are_refused_and_float64_is_cast() -> None:
    with pytest.raises(TaskError, match="tensor 'n' has dtype int64"):
        weights_to_model({"n": np.arange(3)}, what="t")
    same = weights_to_model({"w": np.ones(2, np.float64)}, what="t")
    assert same == weights_to_model({"w": np.ones(2, np.float32)}, what="t")


def test_check_layout_names_missing_and_unexpected_tensors() -> None:
    a = weights_to_model({"w": np.zeros(2, np.float32)}, what="a")
    b = weights_to_model({"v": np.zeros(2, np.float32)}, what="b")

    check_layout(a, a, task="t")
    with pytest.raises(
        TaskMismatch, match=r"tensors missing here \['v'\].*published model \['w'\]"
    ):
        check_layout(a, b, task="t")


def test_the_runner_refuses_a_published_model_of_another_layout() -> None:
    runner = TaskRunner(Fixed(shape=(2, 2)), name="mine:task", ctx=TaskContext(participant=0))
    theirs = initial_model(Fixed(shape=(3,)), TaskContext(), name="theirs")

    with pytest.raises(TaskMismatch, match="task 'mine:task' does not match the federation's"):
        runner.update(theirs, round_id=1, seed=0)


def test_the_evaluator_reports_accuracy_and_loss_and_none_without_test_data() -> None:
    task = Fixed()
    model = initial_model(task, TaskContext(seed=1), name="fixed")
    evaluator = make_task_evaluator(task, "test", name="fixed")

    assert evaluator is not None and evaluator(model) == (0.25, 4.0)
    assert make_task_evaluator(task, None, name="fixed") is None


# -- built-in tasks ---------------------------------------------------------------------------


def test_the_builtin_task_trains_bit_for_bit_like_train_local() -> None:
    task = BuiltinTask("mlp", "wine", train=TrainConfig(epochs=2))
    ctx = TaskContext(participant=1, n_participants=3, seed=4)
    model = initial_model(task, ctx, name="wine_mlp")
    data = task.load_data(ctx)
    seed = derive_seed(4, 0, 1)

    mine = local_update(task, model, data, fit_config(1, seed), name="wine_mlp")
    module = build_model("mlp", n_features=13, n_classes=3, seed=4)
    assert module_to_bytes(module) == model
    ref = train_local(module, model, data.X, data.y, config=TrainConfig(epochs=2), seed=seed)

    np.testing.assert_array_equal(mine.delta, ref.delta)
    assert (mine.weight, mine.train_loss) == (ref.weight, ref.train_loss)


def test_builtin_participants_get_disjoint_shares_of_the_training_split() -> None:
    task = BuiltinTask("logreg", "wine")
    ctx = TaskContext(n_participants=4, seed=0, partition="iid", min_size=1)

    sizes = [len(task.load_data(dataclasses.replace(ctx, participant=i))) for i in range(4)]

    assert sum(sizes) == len(load_dataset("wine", seed=0).train)
    assert max(sizes) - min(sizes) <= 1


def test_node_settings_in_the_fit_config_override_the_builtin_training() -> None:
    task = BuiltinTask("logreg", "wine")
    ctx = TaskContext(participant=0, n_participants=2, seed=0)
    model, data = initial_model(task, ctx, name="t"), task.load_data(ctx)

    one = local_update(task, model, data, fit_config(1, 0, epochs=1), name="t")
    five = local_update(task, model, data, fit_config(1, 0), name="t")

    assert not np.array_equal(one.delta, five.delta)


# -- torch tasks ------------------------------------------------------------------------------


class Tiny(TorchTask):
    def build_model(self, ctx: TaskContext) -> nn.Module:
        return nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))

    def load_data(self, ctx: TaskContext) -> Any:
        g = torch.Generator().manual_seed(ctx.participant or 0)
        return torch.randn(20, 3, generator=g), torch.randint(0, 2, (20,), generator=g)

    def train(
        self, module: nn.Module, data: Any, config: FitConfig
    ) -> tuple[int, dict[str, float]]:
        X, y = data
        opt = torch.optim.SGD(module.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(module(X), y)
            loss.backward()
            opt.step()
        return len(y), {"train_loss": loss.item()}

    def test(self, module: nn.Module, data: Any) -> EvalResult:
        X, y = data
        logits = module(X)
        acc = float((logits.argmax(1) == y).float().mean())
        return EvalResult(float(nn.functional.cross_entropy(logits, y)), len(y), {"accuracy": acc})


def test_a_torch_task_is_seeded_by_the_fit_config_and_leaves_the_global_rng_alone() -> None:
    task = Tiny()
    ctx = TaskContext(participant=1, seed=3)
    model = initial_model(task, ctx, name="tiny")
    assert model == initial_model(Tiny(), ctx, name="tiny")
    data = task.load_data(ctx)
    before = torch.random.get_rng_state()

    a = local_update(task, model, data, fit_config(1, 11), name="tiny")
    b = local_update(task, model, data, fit_config(1, 11), name="tiny")
    c = local_update(task, model, data, fit_config(1, 12), name="tiny")

    assert torch.equal(torch.random.get_rng_state(), before)
    np.testing.assert_array_equal(a.delta, b.delta)
    assert not np.array_equal(a.delta, c.delta)  # dropout masks follow the seed
    assert a.weight == 20


def test_a_torch_task_evaluates_in_eval_mode() -> None:
    task = Tiny()
    ctx = TaskContext(participant=0)
    model = initial_model(task, ctx, name="tiny")
    evaluator = make_task_evaluator(task, task.load_data(ctx), name="tiny")
    assert evaluator is not None

    assert evaluator(model) == evaluator(model)  # no dropout at evaluation


def test_the_task_api_is_importable_from_the_package_root() -> None:
    import fedledger

    assert fedledger.Task is Task and fedledger.TorchTask is TorchTask
    assert fedledger.TaskContext is TaskContext and fedledger.FitResult is FitResult
