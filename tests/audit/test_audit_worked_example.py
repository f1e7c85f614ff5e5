"""docs/protocol.md section 7 is exactly what scripts/worked_example.py computes from the code."""

from __future__ import annotations

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
