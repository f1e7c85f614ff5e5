"""fedledger: blockchain-audited federated learning with verifiable secure aggregation."""

from typing import Any

from fedledger.errors import FedledgerError

__version__ = "0.1.0"
__all__ = [
    "EvalResult",
    "FedledgerError",
    "FitResult",
    "Task",
    "TaskContext",
    "TorchTask",
    "__version__",
]

# The Task API, importable as `fedledger.Task`; loaded on first use (numpy, torch).
_LAZY = {
    "EvalResult": "fedledger.fl.task",
    "FitResult": "fedledger.fl.task",
    "Task": "fedledger.fl.task",
    "TaskContext": "fedledger.fl.task",
    "TorchTask": "fedledger.fl.torch_task",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fedledger' has no attribute {name!r}")
