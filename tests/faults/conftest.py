"""Fault-test harness: a federation of real processes on anvil that tests kill and restart.

`Federation` drives sim.federation.ProcessFederation (the code scripts/run_federation.py
runs): anvil (with --state), deployment, coordinator and node processes in one ProcessGroup,
so a failing test never leaves a process behind.
`FlakyProxy` is a small HTTP proxy on 127.0.0.1 that drops, delays or fails requests (or
loses the response after forwarding) according to a rule the test gives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fedledger.audit.verify import AuditReport, verify_round_from_chain
from fedledger.chain.backend import RpcChain
from fedledger.chain.datatypes import RoundInfo
from fedledger.chain.deploy import Deployment
from fedledger.chain.events import fetch_events
from fedledger.sim.devnet_setup import round_config_for
from fedledger.sim.federation import ProcessFederation, free_port
from fedledger.sim.processes import Started

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ flaky HTTP proxy
Rule = Callable[[str, str, bytes], str]
"""(method, path, body) -> action: "pass", "drop" (close, never forwarded), "lose" (forward,
then close without answering), "delay:<s>" (wait, then forward), "status:<code>" (answer
that code, never forwarded)."""


class _Handler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        line = self.rfile.readline(65536)
        if not line:
            return
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            h = self.rfile.readline(65536).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        body = self.rfile.read(int(headers.get("content-length", "0") or 0))
        proxy = self.server.owner
        action = proxy.rule(method, path, body)
        proxy.count(action.split(":")[0], method, path, body)
        if action == "drop":
            return
        if action.startswith("status:"):
            code = int(action.split(":")[1])
            self._answer(code, {"retry-after": "0"}, b'{"detail":"flaky proxy"}')
            return
        if action.startswith("delay:"):
            time.sleep(float(action.split(":")[1]))
        skip = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}
        fwd = {k: v for k, v in headers.items() if k not in skip}
        try:
            resp = proxy.upstream.request(method, path, content=body, headers=fwd)
        except httpx.HTTPError:
            return  # upstream down: the client sees a closed connection, as without a proxy
        if action == "lose":
            return  # processed upstream, answer lost on the way back
        out = {
            k: v
            for k, v in resp.headers.items()
            if k.lower() not in ("content-length", "connection", "transfer-encoding")
            and k.lower() != "content-encoding"
        }
        self._answer(resp.status_code, out, b"" if method == "HEAD" else resp.content)

    def _answer(self, code: int, headers: dict[str, str], body: bytes) -> None:
        head = [f"HTTP/1.1 {code} X"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head += [f"content-length: {len(body)}", "connection: close", "", ""]
        with contextlib.suppress(OSError):  # the client may have timed out and gone
            self.wfile.write("\r\n".join(head).encode("latin-1") + body)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FlakyProxy


class FlakyProxy:
    """HTTP proxy on 127.0.0.1 in front of `upstream`; `rule` decides each request's fate."""

    def __init__(self, upstream: str, rule: Rule | None = None) -> None:
        self.rule: Rule = rule or (lambda _m, _p, _b: "pass")
        self.upstream = httpx.Client(base_url=upstream, timeout=60.0)
        self.stats: Counter[str] = Counter()
        self.log: list[tuple[str, str, str, bytes]] = []
        self._lock = threading.Lock()
        self._server = _ProxyServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, action: str, method: str, path: str, body: bytes) -> None:
        with self._lock:
            self.stats[action] += 1
            self.log.append((action, method, path, body))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.upstream.close()


# ------------------------------------------------------------------ the federation
@dataclass
class Federation:
    """sim.federation.ProcessFederation, driven step by step so tests can kill and restart."""

    work: Path
    nodes: int = 5
    rounds: int = 2
    window: int = 30
    """On-chain commit and unmask windows (seconds)."""
    stage_timeout: float = 5.0
    retries: int = 10
    """Node HTTP retries: with the 5 s backoff cap, ~30 s of coordinator downtime."""
    procs: ProcessFederation = field(init=False)
    coordinator: Started | None = field(init=False, default=None)
    node_procs: dict[int, Started] = field(init=False, default_factory=dict)
    starts: Counter[str] = field(init=False, default_factory=Counter)

    def __post_init__(self) -> None:
        self.procs = ProcessFederation(self.work, nodes=self.nodes)
        self.group = self.procs.group
        self.anvil_dir = self.procs.anvil_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        # Nodes reach the coordinator through this proxy (pass-through unless a test sets a
        # rule); its log also tells when every node finished start-up (GET /v1/info).
        self.proxy = FlakyProxy(self.url)

    # -- set-up -----------------------------------------------------------------------
    def start_chain(self) -> None:
        """anvil on its fixed port, loading (and later dumping) anvil/state.json."""
        self.rpc = self.procs.start_chain()

    def deploy(self) -> None:
        """Deploy, register the participants, write keys and partitions."""
        self.chain = RpcChain(self.rpc)
        self.prepared = self.procs.deploy(
            dataset="digits", round_config=round_config_for(self.nodes, window=self.window)
        )
        self.deployment = Deployment.load(self.prepared.deployment_path)
        self.contracts = self.deployment.attach(self.chain)
        self.addresses = list(self.prepared.participants)

    def start_coordinator(self, *, rounds: int | None = None, wait: bool = True) -> float:
        """Start (or restart, on the same state dir) the coordinator; seconds until it answers."""
        self.starts["coordinator"] += 1
        t0 = time.monotonic()
        self.coordinator = self.procs.start_coordinator(
            f"coordinator-{self.starts['coordinator']}",
            port=self.port,
            rounds=self.rounds if rounds is None else rounds,
            model="logreg",
            expected=self.nodes,
            stage_timeout=self.stage_timeout,
            tick_interval=0.1,
        )
        if wait:
            self.wait_for(lambda: self.status() is not None, "coordinator up", 120)
        return time.monotonic() - t0

    def start_node(
        self, i: int, *, rounds: int | None = None, drop: tuple[str, int] | None = None
    ) -> None:
        """Start node `i` for `rounds` rounds (default: all), optionally told to drop."""
        self.starts[f"node-{i}"] += 1
        self.node_procs[i] = self.procs.start_node(
            f"node-{i}-{self.starts[f'node-{i}']}",
            i,
            coordinator=self.proxy.url,
            rounds=rounds or self.rounds,
            drop=drop,
            retries=self.retries,
            round_timeout=300,
            poll_interval=0.1,
        )

    def start(self, *, drops: dict[int, tuple[str, int]] | None = None) -> None:
        """Chain, deployment, coordinator, then every node."""
        self.start_chain()
        self.deploy()
        # Node start-up (imports, pre-flight) can outlast a short key stage on a busy machine:
        # serve without rounds until every node asked for /v1/info, then restart with rounds.
        self.start_coordinator(rounds=0)
        for i in range(self.nodes):
            self.start_node(i, drop=(drops or {}).get(i))
        self.wait_for(
            lambda: sum(1 for e in self.proxy.log if e[2] == "/v1/info") >= self.nodes,
            "every node through pre-flight",
            180,
        )
        assert self.coordinator is not None
        self.group.stop(self.coordinator)
        self.starts["coordinator"] = 0
        self.start_coordinator()

    # -- faults -----------------------------------------------------------------------
    def kill_coordinator(self) -> None:
        """SIGKILL the coordinator process and reap it."""
        assert self.coordinator is not None
        self.coordinator.proc.kill()
        self.coordinator.proc.wait(timeout=10)

    def kill_node(self, i: int) -> None:
        """SIGKILL node `i` and reap it."""
        self.node_procs[i].proc.kill()
        self.node_procs[i].proc.wait(timeout=10)

    def restart_chain(self) -> float:
        """Stop anvil (it dumps its state), start it again on the same port; seconds down."""
        t0 = time.monotonic()
        self.procs.stop_chain()
        self.start_chain()
        return time.monotonic() - t0

    def close(self) -> None:
        """Stop every process started here (nodes, coordinators) and anvil."""
        try:
            self.group.stop_all()
        finally:
            self.http.close()
            self.proxy.close()
            self.procs.stop_chain()

    # -- observation ------------------------------------------------------------------
    def status(self) -> dict[str, Any] | None:
        """GET /v1/round straight from the coordinator (None while it is down)."""
        try:
            resp = self.http.get("/v1/round")
        except httpx.HTTPError:
            return None
        return resp.json() if resp.status_code == 200 else None

    def wait_for(self, pred: Callable[[], Any], what: str, timeout: float = 150.0) -> Any:
        """Poll `pred` until it is truthy; fail naming `what` (and the logs) on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = pred()
            if value:
                return value
            if self.coordinator is not None and self.coordinator.proc.poll() is not None:
                raise AssertionError(f"coordinator exited: {self.coordinator.tail(5)}")
            time.sleep(0.05)
        tails = "\n".join(f"{c.name}: {c.tail(3)}" for c in self.group.children)
        raise AssertionError(f"timed out waiting for {what}\n{tails}")

    def journal(self, round_id: int) -> list[dict[str, Any]]:
        """The coordinator's journal of `round_id` (a torn last line is skipped)."""
        path = self.work / "coordinator" / "rounds" / f"{round_id:06d}" / "journal.jsonl"
        entries = []
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                break
        return entries

    def journaled(self, round_id: int, kind: str) -> list[str]:
        """Senders of the `kind` entries (keys, shares, masked, unmask) of a round, in order."""
        out = []
        for e in self.journal(round_id):
            if e["t"] != kind:
                continue
            if kind == "keys":
                out.append(e["bundle"]["participant"])
            elif kind == "masked":
                out.append(e["sender"])
            else:
                out.append(e["message"]["sender"])
        return out

    def closed(self, round_id: int, stage: str) -> bool:
        """Whether the journal closed `stage` of the round."""
        return any(e["t"] == "close" and e["stage"] == stage for e in self.journal(round_id))

    def round_over(self, round_id: int) -> bool:
        """The round is finalized or failed and its report is published."""
        try:
            resp = self.http.get(f"/v1/rounds/{round_id}/report")
        except httpx.HTTPError:
            return False
        return resp.status_code == 200

    def report(self, round_id: int) -> dict[str, Any]:
        """The coordinator's published report of a round."""
        resp = self.http.get(f"/v1/rounds/{round_id}/report")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def chain_round(self, round_id: int) -> RoundInfo:
        """RoundLog.getRound."""
        return self.contracts.round_log.get_round(round_id)

    def failure_reason(self, round_id: int) -> str | None:
        """The RoundFailed reason on chain, if the round failed."""
        events = fetch_events(self.chain, self.contracts.round_log.address, names=["RoundFailed"])
        for ev in events:
            if int(ev.args["round"]) == round_id:
                return str(ev.args["reason"])
        return None

    def audit(self, round_id: int) -> AuditReport:
        """verify_round_from_chain against the coordinator's blob store."""
        return verify_round_from_chain(
            self.chain, self.deployment, self.url, round_id, contracts=self.contracts
        )

    def aggregator_txs(self) -> int:
        """Transactions the aggregator account ever sent (its nonce)."""
        agg = self.chain.funded_accounts()[1].address
        return int(self.chain.w3.eth.get_transaction_count(agg))

    def wait_nodes(self, timeout: float = 120.0) -> dict[int, int]:
        """Wait for the running node processes to exit; their return codes."""
        live = {i: s for i, s in self.node_procs.items()}
        self.wait_for(
            lambda: all(s.proc.poll() is not None for s in live.values()), "nodes to exit", timeout
        )
        return {i: int(s.proc.returncode) for i, s in live.items()}

    def node_summary(self, i: int) -> dict[str, Any]:
        """The JSON line a node prints when it is done."""
        return dict(json.loads(self.node_procs[i].log_path.read_text().strip().splitlines()[-1]))


def record_figure(figure: dict[str, Any]) -> None:
    """Print a scenario's figures; append them to $FEDLEDGER_FAULT_FIGURES when set."""
    line = json.dumps(figure, sort_keys=True)
    print(f"FAULT-FIGURE {line}")
    target = os.environ.get("FEDLEDGER_FAULT_FIGURES")
    if target:
        with open(target, "a") as fh:
            fh.write(line + "\n")


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Callable[..., Federation]]:
    """Factory of Federations; every process they started is stopped at teardown."""
    made: list[Federation] = []

    def make(**kwargs: Any) -> Federation:
        fed = Federation(tmp_path / f"fed{len(made)}", **kwargs)
        made.append(fed)
        return fed

    yield make
    for fed in made:
        fed.close()
        assert not (fed.anvil_dir / "anvil.pid").exists()
        for child in fed.group.children:
            assert child.proc.poll() is not None, f"{child.name} still running"


@pytest.fixture
def flaky_proxy() -> Iterator[Callable[..., FlakyProxy]]:
    """Factory of FlakyProxy instances, closed at teardown."""
    made: list[FlakyProxy] = []

    def make(upstream: str, rule: Rule | None = None) -> FlakyProxy:
        proxy = FlakyProxy(upstream, rule)
        made.append(proxy)
        return proxy

    yield make
    for p in made:
        p.close()


@pytest.fixture
def figure() -> Callable[[dict[str, Any]], None]:
    """record_figure, as a fixture (test modules cannot import conftest helpers)."""
    return record_figure


def socket_closed(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
