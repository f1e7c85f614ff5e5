"""A hospital consortium: breast cancer data, a custom PyTorch model, its own training loop."""
