#!/usr/bin/env python
"""Load: the auditor API (`fedledger audit serve`, its own process) under a loopback load generator.

    .venv/bin/python scripts/load_auditor.py --rounds 6 --concurrency 16 --duration 10

Sets up real data first: anvil, a deployment and `--rounds` simulated rounds (RoundCoordinator
and participants, logreg), one of them with a dropout. Then starts `fedledger audit serve`
on 127.0.0.1 (which indexes and verifies every round at start) and drives each endpoint in
turn with an asyncio + httpx generator: `--concurrency` connections for `--duration` seconds
or `--max-requests` requests, whichever comes first. Reported per endpoint: requests,
throughput, p50/p90/p99/max latency, non-200 answers. The same run measures a static file
(the dashboard's index.html, served by the same process without touching the index) as the
floor of the HTTP stack on this machine. With `wrk` on PATH (Debian: apt-get install wrk)
each endpoint is also measured by wrk, whose C client takes less CPU from the server.
Everything started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from fedledger.chain.backend import RpcChain
from fedledger.chain.devnet import devnet_start, devnet_stop
from fedledger.fl.train import TrainConfig
from fedledger.sim.federation import free_port
from fedledger.sim.processes import ProcessGroup
from fedledger.sim.simulation import Simulation, SimulationConfig


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


async def _drive(
    url: str, *, concurrency: int, duration: float, max_requests: int
) -> dict[str, Any]:
    """`concurrency` keep-alive workers hitting `url` until the time or request budget is spent."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    budget = [max_requests]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        for _ in range(min(concurrency, 20)):  # warm the connections and any server cache
            await client.get(url)
        stop_at = time.perf_counter() + duration

        async def worker() -> None:
            while budget[0] > 0 and time.perf_counter() < stop_at:
                budget[0] -= 1
                t0 = time.perf_counter()
                resp = await client.get(url)
                latencies.append(time.perf_counter() - t0)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    latencies.sort()
    ms = 1000.0
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "throughputRps": round(len(latencies) / elapsed, 1),
        "latencyMs": {
            "p50": round(_percentile(latencies, 0.50) * ms, 2),
            "p90": round(_percentile(latencies, 0.90) * ms, 2),
            "p99": round(_percentile(latencies, 0.99) * ms, 2),
            "max": round(latencies[-1] * ms, 2) if latencies else None,
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _wrk(url: str, *, concurrency: int, duration: float) -> dict[str, Any] | None:
    """wrk's numbers for `url` (None when wrk is not installed)."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    out = subprocess.run(
        [binary, "-t2", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lat = {
        f"p{p}": round(float(v) * _UNITS[u], 2)
        for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(total.group(1)) if total else None,
        "throughputRps": float(rps.group(1)) if rps else None,
        "latencyMs": lat,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def _build_rounds(rpc: str, work: Path, rounds: int, participants: int) -> Simulation:
    config = SimulationConfig(
        participants=participants,
        rounds=rounds,
        model="logreg",
        partition="iid",
        min_size=5,
        train=TrainConfig(epochs=1),
        dropouts={2: {1: "after_shares"}},
        verify=False,
    )
    sim = Simulation(config, chain=RpcChain(rpc), state_dir=work / "sim")
    for r in sim.run():
        print(f"round {r.round_id}: {r.outcome}", file=sys.stderr, flush=True)
    return sim


def _wait(url: str, child: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise SystemExit(f"auditor exited: {child.tail(5)}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"auditor did not answer at {url} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--participants", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    ap.add_argument("--max-requests", type=int, default=20_000, help="per endpoint")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fedledger-load-auditor-"))
    anvil_dir = work / "anvil"
    status = devnet_start(port=free_port(), state_dir=anvil_dir)
    rpc = str(status.url)
    try:
        t0 = time.monotonic()
        sim = _build_rounds(rpc, work, args.rounds, args.participants)
        setup_seconds = time.monotonic() - t0
        deployment_path = sim.deployment.save(work / "deployment.json")
        reports_path = work / "reports.json"
        reports_path.write_text(
            json.dumps({str(k): v for k, v in sim.coordinator.reports.all().items()})
        )
        store_dir = sim.state_dir / "blobs"
        sim.close()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with ProcessGroup(work / "logs") as group:
            auditor = group.start(
                "auditor",
                [
                    sys.executable, "-c", "from fedledger.cli.app import main; main()",
                    "audit", "serve",
                    "--deployment", str(deployment_path),
                    "--store", str(store_dir),
                    "--rpc", rpc,
                    "--db", str(work / "audit.db"),
                    "--port", str(port),
                    "--poll", "0",
                    "--reports", str(reports_path),
                ],
            )  # fmt: skip
            _wait(f"{base}/api/rounds/", auditor, 300)
            rid = max(1, args.rounds // 2)
            verification = httpx.get(f"{base}/api/rounds/{rid}/verification", timeout=60).json()
            targets = {
                "static_index_html": "/index.html",
                "rounds_list": "/api/rounds/",
                "round_detail": f"/api/rounds/{rid}",
                "verification_cached": f"/api/rounds/{rid}/verification",
            }
            results: dict[str, Any] = {}
            for name, path in targets.items():
                print(f"loading {path}", file=sys.stderr, flush=True)
                entry = asyncio.run(
                    _drive(
                        base + path,
                        concurrency=args.concurrency,
                        duration=args.duration,
                        max_requests=args.max_requests,
                    )
                )
                wrk = _wrk(base + path, concurrency=args.concurrency, duration=args.duration)
                if wrk is not None:
                    entry["wrk"] = wrk
                results[name] = entry
            group.stop(auditor)
    finally:
        devnet_stop(state_dir=anvil_dir)
        shutil.rmtree(work, ignore_errors=True)
    out = {
        "benchmark": "load_auditor",
        "rounds": args.rounds,
        "participants": args.participants,
        "roundVerified": verification.get("ok"),
        "concurrency": args.concurrency,
        "durationPerEndpoint": args.duration,
        "setupSeconds": round(setup_seconds, 1),
        "generator": "python asyncio + httpx, same machine (2 cores shared with the server)",
        "endpoints": results,
    }
    print(json.dumps(out, indent=2))
    bad = any(set(r["statuses"]) != {"200"} for r in results.values())
    return 1 if bad or not out["roundVerified"] else 0


if __name__ == "__main__":
    sys.exit(main())
