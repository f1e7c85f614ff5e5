"""Resolve a task import string `package.module:attribute` to a Task (as uvicorn and Flower do).

The attribute may be a Task instance, a Task subclass (instantiated without arguments), a
zero-argument factory returning a Task, or Flower code used as is: a `NumPyClient`
instance or a `client_fn(context)` (wrapped by fl.flower, which needs `fedledger[flower]`).
The current directory is put on `sys.path` first, so `examples.hospital.task:task` works
from the repository root.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from typing import Any

from fedledger.fl.task import Task, TaskError

__all__ = ["builtin_task_string", "load_task", "parse_task_string"]

_IMPORT_STRING = re.compile(r"^([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*):([A-Za-z_][\w]*)$")


def builtin_task_string(model: str, dataset: str) -> str:
    """The task string of a built-in model trained on a bundled dataset."""
    return f"fedledger.fl.builtin:{dataset}_{model}"


def parse_task_string(spec: str) -> tuple[str, str]:
    """(module, attribute) of `package.module:attribute`; TaskError naming the string otherwise."""
    match = _IMPORT_STRING.match(spec.strip())
    if match is None:
        raise TaskError(f"task {spec!r}: expected an import string 'package.module:attribute'")
    return match.group(1), match.group(2)


def _import(spec: str, module_name: str) -> Any:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # user code may raise anything while importing
        raise TaskError(
            f"task {spec!r}: cannot import module {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None


def _required_positional(fn: Any) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return -1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds and p.default is inspect.Parameter.empty)


def _from_flower(spec: str, obj: Any) -> Task | None:
    """A FlowerTask when `obj` is Flower client code: a client object or a one-argument
    `client_fn` (whose module need not have imported flwr yet)."""
    one_arg = callable(obj) and not inspect.isclass(obj) and _required_positional(obj) == 1
    if "flwr" not in sys.modules and not one_arg:
        return None
    from fedledger.fl.flower import flower_task_from

    return flower_task_from(spec, obj, client_fn_like=one_arg)


def load_task(spec: str) -> Task:
    """Import and resolve `spec`; every failure is a one-line TaskError naming the string."""
    module_name, attribute = parse_task_string(spec)
    module = _import(spec, module_name)
    if not hasattr(module, attribute):
        raise TaskError(f"task {spec!r}: module {module_name!r} has no attribute {attribute!r}")
    obj = getattr(module, attribute)
    if isinstance(obj, Task):
        return obj
    if inspect.isclass(obj) and issubclass(obj, Task):
        try:
            return obj()
        except TypeError as exc:
            raise TaskError(f"task {spec!r}: cannot instantiate {obj.__name__} ({exc})") from None
    if callable(obj) and not inspect.isclass(obj) and _required_positional(obj) == 0:
        made = obj()
        if isinstance(made, Task):
            return made
        flower = _from_flower(spec, made)
        if flower is not None:
            return flower
        raise TaskError(
            f"task {spec!r}: the factory returned {type(made).__name__}, not a fedledger Task"
        )
    flower = _from_flower(spec, obj)
    if flower is not None:
        return flower
    raise TaskError(
        f"task {spec!r}: {type(obj).__name__} is not a fedledger Task, a Task factory, "
        "a Flower NumPyClient or a Flower client_fn"
    )
