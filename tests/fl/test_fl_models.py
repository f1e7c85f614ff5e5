"""Tests for fedledger.fl.models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedledger.errors import ConfigError
from fedledger.fl.models import (
    MODEL_NAMES,
    build_model,
    load_model_bytes,
    load_numpy_state,
    module_to_bytes,
    state_to_numpy,
)
from fedledger.fl.serialization import model_from_bytes


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_gives_identical_model_bytes(name: str) -> None:
    a = build_model(name, n_features=64, n_classes=10, seed=7)
    b = build_model(name, n_features=64, n_classes=10, seed=7)
    c = build_model(name, n_features=64, n_classes=10, seed=8)
    assert module_to_bytes(a) == module_to_bytes(b)
    assert module_to_bytes(a) != module_to_bytes(c)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_map_flat_features_to_class_logits(name: str) -> None:
    module = build_model(name, n_features=64, n_classes=10, seed=0)
    out = module(torch.zeros(5, 64))
    assert out.shape == (5, 10)


def test_building_a_model_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model("mlp", n_features=64, n_classes=10, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_numpy_state_round_trip_through_bytes() -> None:
    src = build_model("cnn", n_features=64, n_classes=10, seed=1)
    dst = build_model("cnn", n_features=64, n_classes=10, seed=2)
    load_model_bytes(dst, module_to_bytes(src))
    for name, arr in state_to_numpy(src).items():
        np.testing.assert_array_equal(state_to_numpy(dst)[name], arr)
    assert sorted(model_from_bytes(module_to_bytes(src))) == sorted(src.state_dict())


def test_load_numpy_state_names_missing_tensors() -> None:
    module = build_model("mlp", n_features=64, n_classes=10, seed=0)
    state = state_to_numpy(module)
    del state["fc2.bias"]
    with pytest.raises(ConfigError, match=r"missing \['fc2.bias'\]"):
        load_numpy_state(module, state)


def test_load_numpy_state_names_shape_mismatch() -> None:
    module = build_model("logreg", n_features=30, n_classes=2, seed=0)
    other = build_model("logreg", n_features=13, n_classes=2, seed=0)
    with pytest.raises(ConfigError, match=r"'linear\.weight' has shape"):
        load_numpy_state(module, state_to_numpy(other))


def test_unknown_model_name_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown name 'resnet'"):
        build_model("resnet", n_features=64, n_classes=10, seed=0)


def test_cnn_rejects_non_square_inputs() -> None:
    with pytest.raises(ConfigError, match="n_features=30"):
        build_model("cnn", n_features=30, n_classes=2, seed=0)
