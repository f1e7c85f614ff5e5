"""docs/protocol.md section 7 is exactly what scripts/worked_example.py computes from the code."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location(
        "worked_example", ROOT / "scripts" / "worked_example.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocol_section_7_matches_the_code():
    script = load_script()
    doc = (ROOT / "docs" / "protocol.md").read_text()
    match = re.search(re.escape(script.BEGIN) + r"\n(.*?)" + re.escape(script.END), doc, flags=re.S)
    assert match, "worked example markers missing from docs/protocol.md"
    assert match.group(1) == script.build(), "run: python scripts/worked_example.py --write"


def test_worked_example_aggregate_is_the_sum_of_the_survivors_inputs():
    text = load_script().build()
    xs = [list(map(int, m.split(", "))) for m in re.findall(r"\| \d+ \| \[([0-9, ]+)\] \|", text)]
    agg = list(map(int, re.search(r"aggregate = \[([0-9, ]+)\]", text).group(1).split(", ")))
    assert agg == [a + b for a, b in zip(xs[0], xs[1], strict=True)]


def test_incomplete_graph_digests_hash_the_edge_list_with_its_trailing_comma():
    text = load_script().build()
    rows = re.findall(
        r"\| (\d+) \| (\d+) \| (\d+) \| `\[([0-9, ]+)\]` \| `(\[\[.*?\]\])` \| `([0-9,-]+)` \| "
        r"`([0-9a-f]{64})` \|",
        text,
    )
    assert len(rows) == 3
    for _n, _k, degree, _ring, adjacency, edges, digest in rows:
        adj = [list(map(int, a.split(", "))) for a in re.findall(r"\[([0-9, ]+)\]", adjacency)]
        expected = "".join(f"{i}-{j}," for i, a in enumerate(adj) for j in a if i < j)
        assert edges == expected and edges.endswith(",")
        assert all(len(a) == int(degree) for a in adj)
        assert hashlib.sha256(edges.encode("ascii")).hexdigest() == digest


def test_incomplete_graph_ring_is_the_printed_shuffle_applied_to_the_roster():
    text = load_script().build()
    steps = [tuple(map(int, m)) for m in re.findall(r"\| (\d) \| `(\d+)` \| (\d) \|", text)]
    order = list(range(7))
    for i, r, j in steps:
        assert j == r % (i + 1)
        order[i], order[j] = order[j], order[i]
    ring = re.search(r"\| 7 \| 4 \| 4 \| `\[([0-9, ]+)\]`", text)
    assert ring and list(map(int, ring.group(1).split(", "))) == order
