"""Count the objects of given types reachable from a root (what a structure holds in memory)."""

from __future__ import annotations

import gc
import types
from collections import Counter
from typing import Any

_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def reachable(root: Any, kinds: tuple[type, ...]) -> Counter[str]:
    """How many instances of each of `kinds` are reachable from `root` by references.

    Classes, modules and functions are not followed (a function's globals lead to the whole
    interpreter); bound methods and closures' cells are, through their `self` and values.
    """
    seen: set[int] = set()
    counts: Counter[str] = Counter()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        if isinstance(obj, kinds):
            counts[type(obj).__name__] += 1
        stack.extend(gc.get_referents(obj))
    return counts
