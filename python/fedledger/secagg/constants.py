"""Stage names of a secagg round (used in messages, errors and reports)."""

from __future__ import annotations

__all__ = ["ADVERTISE_KEYS", "FINALIZE", "MASKED_INPUT", "SETUP", "SHARE_KEYS", "STAGES", "UNMASK"]

SETUP = "setup"
ADVERTISE_KEYS = "advertise_keys"
SHARE_KEYS = "share_keys"
MASKED_INPUT = "masked_input"
UNMASK = "unmask"
FINALIZE = "finalize"

STAGES = (ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK, FINALIZE)
