"""Runnable fedledger examples (import strings start at the repository root)."""
