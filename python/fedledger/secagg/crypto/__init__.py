"""fedledger.secagg.crypto."""
