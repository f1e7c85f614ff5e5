"""fedledger.chain."""
