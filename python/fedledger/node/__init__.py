"""fedledger.node."""
