#!/usr/bin/env python
"""Load: N node processes against one coordinator on anvil for R rounds; JSON with per-round times.

    .venv/bin/python scripts/load_federation.py --nodes 50 --rounds 3

Runs `sim.federation.run_federation` (anvil, deploy, coordinator process, N node
processes; logreg on digits, 1 local epoch) while a sampler thread reads the RSS of every
descendant process from /proc once a second. Prints JSON: wall time of each round and of
each stage (from the coordinator's published round reports), outcome and verification of
each round, peak RSS of the coordinator and of one node, and the peak RSS and PSS (shared
pages split between processes: the memory really used) of all processes together.
Exits 1 when a round did not finalize or did not verify.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fedledger.errors import FedledgerError
from fedledger.sim.federation import FederationConfig, run_federation

_PAGE = os.sysconf("SC_PAGE_SIZE")


def children() -> dict[int, list[int]]:
    """ppid -> pids, for every process on the machine (one pass over /proc)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(root: int) -> list[int]:
    tree, out, todo = children(), [], [root]
    while todo:
        pid = todo.pop()
        for child in tree.get(pid, []):
            out.append(child)
            todo.append(child)
    return out


def memory_of(pid: int) -> tuple[int, int, str] | None:
    """(RSS, PSS, command line) of a process; PSS splits shared pages (torch's libraries)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * _PAGE
        pss = 0
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return None
    return rss, pss, cmd


def kind_of(cmd: str) -> str:
    if " coordinator run" in cmd:
        return "coordinator"
    if " node run" in cmd:
        return "node"
    if "anvil" in cmd:
        return "anvil"
    return "other"


class Sampler(threading.Thread):
    """RSS and PSS of this process's descendants, by kind, once per `interval` seconds."""

    def __init__(self, interval: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.peak: dict[str, int] = {}
        self.peak_total = 0
        self.peak_pss_total = 0
        self.max_procs = 0
        self.samples = 0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(self.interval):
            total, pss_total, count = 0, 0, 0
            for pid in descendants(me):
                got = memory_of(pid)
                if got is None:
                    continue
                rss, pss, cmd = got
                kind = kind_of(cmd)
                total += rss
                pss_total += pss
                count += kind == "node"
                self.peak[kind] = max(self.peak.get(kind, 0), rss)
            self.peak_total = max(self.peak_total, total)
            self.peak_pss_total = max(self.peak_pss_total, pss_total)
            self.max_procs = max(self.max_procs, count)
            self.samples += 1


def _stage_seconds(times: dict[str, float]) -> dict[str, float]:
    """Seconds spent in each coordinator stage, from the report's transition times."""
    marks = [
        ("advertise_keys", "opened", "closed_advertise_keys"),
        ("post_roster", "closed_advertise_keys", "rostered"),
        ("share_keys", "rostered", "closed_share_keys"),
        ("masked_input", "closed_share_keys", "closed_masked_input"),
        ("unmask", "closed_masked_input", "closed_unmask"),
        ("finalize", "closed_unmask", "done"),
    ]
    return {
        name: round(times[b] - times[a], 3) for name, a, b in marks if a in times and b in times
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="logreg")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--stage-timeout", type=float, default=600.0)
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--work-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    config = FederationConfig(
        nodes=args.nodes,
        rounds=args.rounds,
        dataset=args.dataset,
        model=args.model,
        alpha=100.0,  # near-iid: every node gets enough examples of digits' 10 classes
        epochs=args.epochs,
        stage_timeout=args.stage_timeout,
        timeout=args.timeout,
        work_dir=args.work_dir,
    )
    sampler = Sampler()
    sampler.start()
    t0 = time.monotonic()
    try:
        summary = run_federation(config, log=lambda m: print(m, file=sys.stderr, flush=True))
    except FedledgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        sampler.stop.set()
        sampler.join()
    wall = time.monotonic() - t0
    rounds: list[dict[str, Any]] = []
    for r in summary["rounds"]:
        times = r.get("times", {})
        rounds.append(
            {
                "round": r["round"],
                "outcome": r["outcome"],
                "survivors": r["survivors"],
                "verified": r["verification"].get("ok"),
                "wallSeconds": round(times["done"] - times["opened"], 3)
                if "done" in times and "opened" in times
                else None,
                "stageSeconds": _stage_seconds(times),
                "gas": r["gas"],
            }
        )
    mib = 1024 * 1024
    out = {
        "benchmark": "load_federation",
        "nodes": args.nodes,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "wallSeconds": round(wall, 1),
        "federationTimings": summary["timings"],
        "nodeTimeTotals": summary["nodeTimeTotals"],
        "commitGasMean": summary["commitGasMean"],
        "peakRssMiB": {k: round(v / mib, 1) for k, v in sorted(sampler.peak.items())},
        "peakRssAllProcessesMiB": round(sampler.peak_total / mib, 1),
        "peakPssAllProcessesMiB": round(sampler.peak_pss_total / mib, 1),
        "maxNodeProcessesSeen": sampler.max_procs,
        "rssSamples": sampler.samples,
    }
    print(json.dumps(out, indent=2))
    ok = all(r["outcome"] == "finalized" and r["verified"] for r in rounds)
    return 0 if ok and len(rounds) == args.rounds else 1


if __name__ == "__main__":
    sys.exit(main())
