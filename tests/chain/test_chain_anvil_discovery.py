"""anvil_binary finds anvil as users have it: $ANVIL, PATH, then the checkout's node_modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedledger.chain import devnet
from fedledger.errors import ConfigError


def _fake_anvil(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "anvil"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def no_anvil_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $ANVIL, an empty PATH, and a 'checkout' without node_modules."""
    monkeypatch.delenv("ANVIL", raising=False)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(devnet, "REPO_ROOT", tmp_path / "no-checkout")
    return tmp_path


def test_anvil_variable_wins_over_path_and_checkout(
    no_anvil_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = _fake_anvil(no_anvil_anywhere / "chosen")
    monkeypatch.setenv("PATH", str(_fake_anvil(no_anvil_anywhere / "bin").parent))
    monkeypatch.setenv("ANVIL", str(chosen))
    assert devnet.anvil_binary() == chosen


def test_anvil_variable_naming_no_file_is_one_clear_error(
    no_anvil_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANVIL", str(no_anvil_anywhere / "missing"))
    with pytest.raises(ConfigError, match=r"\$ANVIL=.*missing is not a file"):
        devnet.anvil_binary()


def test_anvil_on_path_is_used_when_no_variable(
    no_anvil_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = _fake_anvil(no_anvil_anywhere / "foundry-bin")
    monkeypatch.setenv("PATH", str(exe.parent))
    assert devnet.anvil_binary() == exe


def test_checkout_node_modules_is_the_last_resort(
    no_anvil_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = no_anvil_anywhere / "checkout"
    pinned = checkout / devnet._ANVIL
    _fake_anvil(pinned.parent)
    monkeypatch.setattr(devnet, "REPO_ROOT", checkout)
    assert devnet.anvil_binary() == pinned


def test_no_anvil_says_in_one_line_how_to_get_it(no_anvil_anywhere: Path) -> None:
    with pytest.raises(ConfigError) as info:
        devnet.anvil_binary()
    message = str(info.value)
    assert "\n" not in message
    assert "getfoundry.sh" in message and "$ANVIL" in message and "npm ci" in message
