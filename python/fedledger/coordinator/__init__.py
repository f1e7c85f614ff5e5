"""fedledger.coordinator."""
