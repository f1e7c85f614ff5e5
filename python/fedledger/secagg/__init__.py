"""fedledger.secagg."""
