"""Hypothesis strategies for malformed wire forms: a valid message with one field broken."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.binary(max_size=120).map(lambda b: "0x" + b.hex()),  # hex of a wrong length
    st.sampled_from(["0x", "0xZZ", "0x" + "0" * 65, "not hex", "0X" + "ab" * 20, ""]),
    st.lists(st.integers(min_value=-5, max_value=2**70), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)
"""Values of the wrong type, length, range or encoding for any field."""


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys / indices) to a node of a JSON document, the root excluded."""
    out: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


@st.composite
def broken(draw: st.DrawFn, template: Any, *, keep: tuple[str, ...] = ()) -> Any:
    """`template` with one node replaced by an odd value, or deleted, or whole-document
    garbage. Top-level keys in `keep` (the author field the envelope check needs) stay."""
    doc = copy.deepcopy(template)
    paths = [p for p in _paths(doc) if not (len(p) == 1 and p[0] in keep)]
    how = draw(st.sampled_from(["replace", "delete", "whole"] if paths else ["whole"]))
    if how == "whole":
        return draw(ODD_VALUES)
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(ODD_VALUES)
    return doc
