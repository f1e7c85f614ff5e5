"""An existing Flower NumPyClient, brought to fedledger as is."""
