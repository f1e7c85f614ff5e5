"""Schemathesis against both OpenAPI specs, in-process: no input gets a 5xx, every 4xx says why.

Both apps run over the session's real rounds (eth-tester chain, filesystem blob store).
For every operation of each spec, schemathesis generates valid and invalid requests
(its positive and negative modes) from the schema, and hypothesis drives them through the
ASGI app. Examples per operation and mode are bounded so both fuzzers take about a minute.
(Schemathesis' own pytest plugin does not run under pytest 9, so the loop is written here.)
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import openapi
from schemathesis.generation import GenerationMode

from fedledger.protocol.envelope import ENVELOPE_HEADER

# Per operation and generation mode; FEDLEDGER_FUZZ_EXAMPLES=500 for a deeper run by hand.
EXAMPLES = int(os.environ.get("FEDLEDGER_FUZZ_EXAMPLES", "80"))


def _verdict(method: str, status: int, content: bytes) -> str:
    """'' when the answer is acceptable: no 5xx, and a 4xx is a JSON problem with a detail."""
    if status >= 500:
        return f"{status}: {content[:300]!r}"
    if 400 <= status < 500 and method != "HEAD":  # HEAD answers never carry a body
        try:
            detail = json.loads(content).get("detail")
        except (ValueError, AttributeError):
            detail = None
        if not detail:
            return f"{status} without a detail: {content[:300]!r}"
    return ""


def _drive(operation: Any, mode: GenerationMode, *, examples: int, record: Any) -> None:
    """Up to `examples` generated requests of one operation in one mode, each passed to `record`."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        record(case, case.call())

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body (GET /v1/info) has no invalid input.
        if mode != GenerationMode.NEGATIVE:
            raise


def fuzz(app: FastAPI, *, examples: int = EXAMPLES, after: Any = None) -> dict[str, Any]:
    """Run every operation of `app`'s spec; {operation: first bad answer} plus call counts."""
    schema = openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    calls: dict[str, int] = {}

    def record(case: Any, response: Any) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        calls[label] = calls.get(label, 0) + 1
        bad = _verdict(case.method.upper(), response.status_code, response.content)
        if not bad and after is not None:
            bad = after()
        if bad and label not in failures:
            failures[label] = f"{bad}\n  {case.as_curl_command()}"

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _drive(result.ok(), mode, examples=examples, record=record)
    return {"failures": failures, "calls": calls}


def _operations(app: FastAPI) -> set[str]:
    spec = app.openapi()
    return {f"{m.upper()} {path}" for path, item in spec["paths"].items() for m in item}


def test_coordinator_api_never_answers_5xx(world) -> None:
    coordinator = world.sim.coordinator
    before = coordinator.status().counts

    def unchanged() -> str:
        # Nothing unsigned may change the round: every generated write must be refused.
        now = coordinator.status().counts
        return "" if now == before else f"round changed: {before} -> {now}"

    out = fuzz(world.coordinator_app, after=unchanged)
    print(f"coordinator: {sum(out['calls'].values())} requests over {len(out['calls'])} operations")

    assert out["failures"] == {}
    # Every operation was exercised, the signed writes and the blob routes included.
    assert set(out["calls"]) == _operations(world.coordinator_app)
    assert out["calls"]["POST /v1/rounds/{round_id}/keys"] >= EXAMPLES
    assert out["calls"]["PUT /blobs/{name}"] >= EXAMPLES


def test_auditor_api_never_answers_5xx(world) -> None:
    out = fuzz(world.audit_app)
    print(f"auditor: {sum(out['calls'].values())} requests over {len(out['calls'])} operations")

    assert out["failures"] == {}
    assert set(out["calls"]) == _operations(world.audit_app)
    assert out["calls"]["GET /api/rounds/{round_id}/verification"] >= EXAMPLES


def test_the_envelope_header_is_part_of_the_upload_contract(world) -> None:
    """The fuzzer reaches the signed-upload checks only if the spec names the header."""
    spec = world.coordinator_app.openapi()
    put = spec["paths"]["/blobs/{name}"]["put"]
    names = {p["name"].lower() for p in put.get("parameters", [])}
    assert ENVELOPE_HEADER in names
