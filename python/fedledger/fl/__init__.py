"""fedledger.fl: the Task API, built-in tasks, datasets, partitioning, training and FedAvg.

Import submodules directly (`fedledger.fl.serialization` needs no torch).
"""

__all__ = [
    "builtin",
    "datasets",
    "fedavg",
    "flower",
    "models",
    "partition",
    "serialization",
    "tabular",
    "task",
    "task_bridge",
    "task_loader",
    "torch_task",
    "train",
]
