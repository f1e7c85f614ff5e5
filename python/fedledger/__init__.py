"""fedledger: blockchain-audited federated learning with verifiable secure aggregation."""

from fedledger.errors import FedledgerError

__version__ = "0.1.0"
__all__ = ["FedledgerError", "__version__"]
