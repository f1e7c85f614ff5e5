"""fedledger.node: the participant's side of a round (transport-agnostic)."""

from fedledger.node.participant import DROP_POINTS, CoordinatorPort, Participant, ParticipantRound

__all__ = ["DROP_POINTS", "CoordinatorPort", "Participant", "ParticipantRound"]
