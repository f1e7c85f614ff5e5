"""A local anvil devnet with persistent state: start, stop, status (pid file in a state dir)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fedledger.chain.accounts import TEST_MNEMONIC
from fedledger.errors import ChainError, ConfigError

__all__ = [
    "DEVNET_CHAIN_ID",
    "DevnetStatus",
    "anvil_binary",
    "default_state_dir",
    "devnet_start",
    "devnet_status",
    "devnet_stop",
]

DEVNET_CHAIN_ID = 31337  # anvil's and hardhat's customary local chain id
REPO_ROOT = Path(__file__).resolve().parents[3]
_ANVIL = Path("hardhat-free-devnet/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")


@dataclass(frozen=True)
class DevnetStatus:
    """What `devnet status` reports."""

    running: bool
    pid: int | None
    url: str | None
    chain_id: int | None = None
    block_number: int | None = None
    state_file: Path | None = None


def anvil_binary() -> Path:
    """Find anvil as users have it: $ANVIL, then `anvil` on PATH, then the checkout's node_modules.

    ConfigError when none is there, saying in one line how to get it.
    """
    override = os.environ.get("ANVIL")
    if override:
        if not Path(override).is_file():
            raise ConfigError(f"anvil: $ANVIL={override} is not a file")
        return Path(override)
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    pinned = REPO_ROOT / _ANVIL
    if pinned.is_file():
        return pinned
    raise ConfigError(
        "anvil not found: install Foundry (https://getfoundry.sh puts anvil on PATH), "
        "set $ANVIL to its path, or run `npm ci` in a checkout's hardhat-free-devnet"
    )


def default_state_dir() -> Path:
    """hardhat-free-devnet/.state in a source checkout, else ./.fedledger/devnet."""
    if (REPO_ROOT / "hardhat-free-devnet").is_dir():
        return REPO_ROOT / "hardhat-free-devnet" / ".state"
    return Path.cwd() / ".fedledger" / "devnet"


def _files(state_dir: Path) -> tuple[Path, Path, Path, Path]:
    return (
        state_dir / "anvil.pid",
        state_dir / "anvil.port",
        state_dir / "state.json",
        state_dir / "anvil.log",
    )


def _alive_anvil(pid: int) -> bool:
    """True if `pid` runs and is an anvil (guards against a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return b"anvil" in cmdline


def _read_pid(state_dir: Path) -> int | None:
    pid_file = _files(state_dir)[0]
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _rpc_answers(url: str) -> tuple[int, int] | None:
    import httpx

    try:
        with httpx.Client(timeout=2.0) as client:
            cid = client.post(
                url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            )
            bn = client.post(
                url, json={"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []}
            )
        return int(cid.json()["result"], 16), int(bn.json()["result"], 16)
    except Exception:
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_anvil(port: int, *extra: str, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """A throw-away anvil on 127.0.0.1:`port` (no state file), returned once it accepts TCP.

    For tests and benchmarks; `devnet_start` is the persistent devnet. The caller stops it.
    """
    proc = subprocess.Popen(
        [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise ChainError(f"anvil exited with code {proc.returncode} at start") from None
            time.sleep(0.05)
    proc.kill()
    raise ChainError(f"anvil did not accept connections on port {port} within {timeout:.0f} s")


def devnet_start(
    *,
    port: int = 8545,
    state_dir: Path | None = None,
    timeout: float = 30.0,
    state_interval: int = 5,
    block_time: int = 1,
) -> DevnetStatus:
    """Start anvil on 127.0.0.1:`port` (test mnemonic, chain id 31337, state in `state_dir`).

    The state is loaded at start and dumped on exit and every `state_interval` seconds, so a
    stop/start keeps contracts and history. Returns once the RPC answers.

    With `block_time` > 0 anvil also mines an empty block that often (mixed mining: a
    transaction is still mined at once). Round deadlines are block timestamps, so without
    it an idle devnet's clock stands still and a round waiting for a deadline never ends.
    """
    state_dir = (state_dir or default_state_dir()).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file, port_file, state_file, log_file = _files(state_dir)
    pid = _read_pid(state_dir)
    if pid is not None and _alive_anvil(pid):
        raise ConfigError(f"devnet already running (pid {pid}) for state dir {state_dir}")
    url = f"http://127.0.0.1:{port}"
    if _rpc_answers(url) is not None:
        raise ConfigError(f"something already answers on {url}; pick another --port")
    command = [
        str(anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(DEVNET_CHAIN_ID),
        "--mnemonic", TEST_MNEMONIC,
        "--state", str(state_file),
        "--state-interval", str(state_interval),
        "--preserve-historical-states",
    ]  # fmt: skip
    if block_time > 0:
        command += ["--block-time", str(block_time), "--mixed-mining"]
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    port_file.write_text(f"{port}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pid_file.unlink(missing_ok=True)
            tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise ChainError(f"anvil exited with code {proc.returncode}: {tail[0]}")
        answer = _rpc_answers(url)
        if answer is not None:
            return DevnetStatus(True, proc.pid, url, answer[0], answer[1], state_file)
        time.sleep(0.1)
    _terminate(proc.pid)
    pid_file.unlink(missing_ok=True)
    raise ChainError(f"anvil did not answer on {url} within {timeout:.0f} s (log: {log_file})")


def _terminate(pid: int, *, grace: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)  # anvil dumps its state on a clean exit
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive_anvil(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def devnet_stop(*, state_dir: Path | None = None) -> bool:
    """Stop the devnet of `state_dir` (state is saved); False if none was running."""
    state_dir = (state_dir or default_state_dir()).resolve()
    pid_file = _files(state_dir)[0]
    pid = _read_pid(state_dir)
    running = pid is not None and _alive_anvil(pid)
    if running and pid is not None:
        _terminate(pid)
    pid_file.unlink(missing_ok=True)
    return running


def devnet_status(*, state_dir: Path | None = None) -> DevnetStatus:
    """Whether the devnet of `state_dir` runs, and its chain id and block number."""
    state_dir = (state_dir or default_state_dir()).resolve()
    _, port_file, state_file, _ = _files(state_dir)
    pid = _read_pid(state_dir)
    if pid is None or not _alive_anvil(pid):
        return DevnetStatus(
            False, None, None, state_file=state_file if state_file.exists() else None
        )
    port = int(port_file.read_text().strip())
    url = f"http://127.0.0.1:{port}"
    answer = _rpc_answers(url)
    return DevnetStatus(
        True, pid, url, answer[0] if answer else None, answer[1] if answer else None, state_file
    )
