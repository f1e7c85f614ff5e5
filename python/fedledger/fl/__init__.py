"""fedledger.fl: models, datasets, partitioning, local training and plain FedAvg.

Import submodules directly (`fedledger.fl.serialization` needs no torch).
"""

__all__ = ["datasets", "fedavg", "models", "partition", "serialization", "train"]
