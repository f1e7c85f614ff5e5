"""fedledger.audit."""
