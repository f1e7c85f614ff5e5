"""fedledger.fl."""
