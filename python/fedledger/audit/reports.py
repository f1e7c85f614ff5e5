"""Aggregator-reported per-round metrics (accuracy): optional, fetched by hash, never verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from fedledger.audit.blobs import BlobSource
from fedledger.errors import ConfigError

__all__ = ["ReportIndex", "load_report_index", "report_metrics"]

ReportIndex = dict[int, str]
"""round -> sha256 hex of the coordinator's report blob."""


def load_report_index(location: str | Path) -> ReportIndex:
    """A round -> report-hash map from a JSON file or URL.

    Accepts {"1": "<hex>"}, {"rounds": {...}}, or the coordinator's own index
    ({"reports": {...}}: its `reports.json` file or `GET /v1/reports`).
    """
    text = str(location)
    try:
        if text.startswith(("http://", "https://")):
            doc: Any = httpx.get(text, timeout=10.0).json()
        else:
            doc = json.loads(Path(text).read_text())
    except (OSError, ValueError, httpx.HTTPError) as exc:
        raise ConfigError(f"report index {text!r}: cannot read ({exc})") from None
    for key in ("rounds", "reports"):
        if isinstance(doc, dict) and isinstance(doc.get(key), dict):
            doc = doc[key]
    if not isinstance(doc, dict):
        raise ConfigError(f"report index {text!r}: expected a JSON object round -> hash")
    out: ReportIndex = {}
    for key, value in doc.items():
        try:
            name = value if isinstance(value, str) else value["hash"]
            out[int(key)] = str(name).removeprefix("0x").lower()
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"report index {text!r}: bad entry {key!r}") from None
    return out


def report_metrics(source: BlobSource, name: str) -> dict[str, float | None]:
    """accuracy/loss from a report blob hashing to `name`; {} if absent, altered or unparsable."""
    fetch = source.fetch(name)
    if not fetch.ok or fetch.data is None:
        return {}
    try:
        doc = json.loads(fetch.data)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    nested = doc.get("metrics")
    metrics: dict[str, Any] = nested if isinstance(nested, dict) else doc
    out: dict[str, float | None] = {}
    for key in ("accuracy", "loss"):
        value = metrics.get(key)
        out[key] = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    return out
