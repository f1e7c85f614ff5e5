"""`fedledger node run` with a misbehaving Participant, for tests that need a real node process.

argv: <kind> followed by the usual `fedledger node run ...` arguments; kind is one of KINDS.
Started by tests (cwd: the repository root) as `python -c "from tests.support.evil_node import
main; main()" <kind> node run ...`.
"""

from __future__ import annotations

import sys

from tests.support.bad_participants import GarbageShareSender, LowOrderKeyParticipant

KINDS = {"low_order_key": LowOrderKeyParticipant, "garbage_shares": GarbageShareSender}


def main() -> None:
    """Swap the runner's Participant for the chosen bad one, then run the CLI."""
    import fedledger.node.runner as runner
    from fedledger.cli.app import main as cli_main

    kind = sys.argv[1]
    cls = KINDS[kind]
    if cls is LowOrderKeyParticipant:
        cls.refusals = []  # type: ignore[misc]
    runner.Participant = cls  # type: ignore[misc]
    sys.argv = ["fedledger", *sys.argv[2:]]
    cli_main()
