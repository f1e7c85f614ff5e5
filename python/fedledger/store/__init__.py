"""fedledger.store."""
