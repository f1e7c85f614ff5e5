"""The per-round report for dashboards (informational, not verified) and its index file."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedledger.coordinator.state import atomic_write_json, read_json
from fedledger.encoding import canonical_json, from_canonical_json, sha256, to_hex
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.params import RoundContext

__all__ = ["REPORT_VERSION", "ReportIndex", "RoundReport", "build_report", "dropped_stages"]

REPORT_VERSION = 1


@dataclass(frozen=True)
class RoundReport:
    """One round's outcome as the aggregator saw it; a canonical-JSON blob named in the index."""

    doc: dict[str, Any]

    @property
    def round_id(self) -> int:
        return int(self.doc["round"])

    @property
    def outcome(self) -> str:
        """ "finalized" or "failed"."""
        return str(self.doc["outcome"])

    @property
    def accuracy(self) -> float | None:
        value = self.doc.get("accuracy")
        return None if value is None else float(value)

    @property
    def survivors(self) -> list[str]:
        return list(self.doc["survivors"])

    @property
    def dropped(self) -> dict[str, str]:
        """Participant -> the stage it went silent in."""
        return dict(self.doc["dropped"])

    @property
    def gas(self) -> dict[str, int | None]:
        """Aggregator call -> gas used."""
        return dict(self.doc["gas"])

    @property
    def excluded_bundles(self) -> dict[str, str]:
        """Participant -> why its signed bundle was left out of the roster (unusable key)."""
        return dict(self.doc.get("excludedBundles", {}))

    @property
    def slashes(self) -> list[dict[str, Any]]:
        """Each slash the aggregator settled: {account, reason, status, amount, hash, error}."""
        return [dict(e) for e in self.doc.get("slashes", [])]

    def to_bytes(self) -> bytes:
        """Canonical JSON (the blob)."""
        return canonical_json(self.doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> RoundReport:
        """Parse a report blob."""
        return cls(dict(from_canonical_json(data, what="round report")))


def dropped_stages(
    *,
    roster: Sequence[str],
    sharers: Sequence[str],
    survivors: Sequence[str],
    responders: Sequence[str],
    aborted: bool,
) -> dict[str, str]:
    """Roster member -> the stage it went silent in (survivors silent in unmask are listed too)."""
    out: dict[str, str] = {}
    shared, survived, answered = set(sharers), set(survivors), set(responders)
    for a in roster:
        if a not in shared:
            out[a] = SHARE_KEYS
        elif not aborted and a not in survived:
            out[a] = MASKED_INPUT
        elif a in survived and a not in answered:
            out[a] = UNMASK
    return out


def build_report(
    *,
    round_id: int,
    ctx: RoundContext,
    outcome: str,
    reason: str,
    abort_stage: str,
    detail: str,
    model_hash: bytes,
    new_model: bytes,
    expected: int,
    bundles: Sequence[str],
    roster: Sequence[str],
    sharers: Sequence[str],
    masked: Mapping[str, str],
    survivors: Sequence[str],
    responders: Sequence[str],
    cheaters: Mapping[str, str],
    txs: Mapping[str, Mapping[str, Any]],
    slashes: Sequence[Mapping[str, Any]] = (),
    excluded: Mapping[str, str] | None = None,
    times: Mapping[str, float],
    accuracy: float | None,
    loss: float | None,
) -> RoundReport:
    """Assemble the report document of a finished round."""
    dropped = dropped_stages(
        roster=roster,
        sharers=sharers,
        survivors=survivors,
        responders=responders,
        aborted=outcome != "finalized" or not survivors,
    )
    if outcome != "finalized":
        # Without a finalize, who committed is what matters for the masked stage.
        for a in roster:
            if a in set(sharers) and a not in masked:
                dropped.setdefault(a, MASKED_INPUT)
    order = ["opened", "closed_" + ADVERTISE_KEYS, "rostered", "closed_" + SHARE_KEYS]
    order += ["closed_" + MASKED_INPUT, "closed_" + UNMASK, "aborted", "done"]
    marks = [(k, times[k]) for k in order if k in times]
    stage_seconds = {
        f"{a}->{b}": round(tb - ta, 6) for (a, ta), (b, tb) in itertools.pairwise(marks)
    }
    doc = {
        "version": REPORT_VERSION,
        "chainId": ctx.chain_id,
        "contract": ctx.contract,
        "round": round_id,
        "outcome": outcome,
        "reason": reason,
        "abortStage": abort_stage,
        "detail": detail,
        "modelHash": to_hex(model_hash),
        "newModelHash": to_hex(sha256(new_model)) if new_model else None,
        "accuracy": accuracy,
        "loss": loss,
        "expected": expected,
        "advertised": len(bundles),
        "missingKeys": max(0, expected - len(bundles)),
        "roster": list(roster),
        "survivors": list(survivors),
        "dropped": dropped,
        "maskedSources": dict(masked),
        "cheaters": dict(cheaters),
        "excludedBundles": dict(excluded or {}),
        "slashes": [
            {k: e.get(k) for k in ("account", "reason", "status", "amount", "hash", "error")}
            for e in slashes
        ],
        "gas": {call: tx.get("gas") for call, tx in txs.items()},
        "txHashes": {call: tx.get("hash") for call, tx in txs.items()},
        "stageSeconds": stage_seconds,
        "times": dict(times),
    }
    return RoundReport(doc)


class ReportIndex:
    """`reports.json`: round id -> report blob name, rewritten atomically on every add."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self._lock = threading.Lock()

    def all(self) -> dict[int, str]:
        """Every indexed round."""
        if not self.path.exists():
            return {}
        doc = read_json(self.path, what="report index")
        return {int(k): str(v) for k, v in doc.get("reports", {}).items()}

    def get(self, round_id: int) -> str | None:
        """The report blob name of `round_id`, if any."""
        return self.all().get(round_id)

    def add(self, round_id: int, name: str) -> None:
        """Record (or replace) the report of `round_id`."""
        with self._lock:
            reports = self.all()
            reports[round_id] = name
            doc = {
                "version": REPORT_VERSION,
                "reports": {str(k): v for k, v in sorted(reports.items())},
            }
            atomic_write_json(self.path, doc, fsync=self.fsync)
