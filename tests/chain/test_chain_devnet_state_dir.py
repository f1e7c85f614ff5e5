"""Where `fedledger devnet start` keeps its state by default: a user data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedledger.chain.devnet import REPO_ROOT, default_state_dir


def test_default_state_dir_is_under_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FEDLEDGER_DEVNET_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    assert default_state_dir() == tmp_path / "data" / "fedledger" / "devnet"


def test_default_state_dir_falls_back_to_local_share_and_never_the_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FEDLEDGER_DEVNET_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    where = default_state_dir()

    assert where == tmp_path / ".local" / "share" / "fedledger" / "devnet"
    assert REPO_ROOT not in where.parents


def test_fedledger_devnet_dir_overrides_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FEDLEDGER_DEVNET_DIR", str(tmp_path / "mine"))

    assert default_state_dir() == tmp_path / "mine"
