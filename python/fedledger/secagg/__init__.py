"""SecAgg+ secure aggregation whose result anyone can verify (no chain or HTTP dependency)."""

from fedledger.secagg.blame import Verdict, judge_accusation
from fedledger.secagg.client import (
    Partition,
    SecAggClient,
    ShareEvidence,
    TooFewSharers,
    UnmaskRequestMismatch,
)
from fedledger.secagg.commitments import Commitment, seed_commitment
from fedledger.secagg.graph import NeighbourGraph, build_graph
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    MaskedInput,
    Reveal,
    Roster,
    ShareAccusation,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    UnusableKey,
)
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.quantize import DecodedSum, decode_sum, quantize
from fedledger.secagg.server import AggregationResult, RoundAborted, SecAggServer
from fedledger.secagg.simulation import SimulationResult, simulate_round
from fedledger.secagg.transcript import PublicTranscript
from fedledger.secagg.vectors import VectorFormatError, decode_vector, encode_vector
from fedledger.secagg.verify import Check, Report, verify_round

__all__ = [
    "AggregationResult",
    "Check",
    "Commitment",
    "DecodedSum",
    "EncryptedShare",
    "KeyBundle",
    "LocalDropouts",
    "MaskedInput",
    "NeighbourGraph",
    "Partition",
    "PublicTranscript",
    "Report",
    "Reveal",
    "Roster",
    "RoundAborted",
    "RoundContext",
    "SecAggClient",
    "SecAggParams",
    "SecAggServer",
    "ShareAccusation",
    "ShareEvidence",
    "ShareKeysMessage",
    "SimulationResult",
    "TooFewSharers",
    "UnmaskRequest",
    "UnmaskRequestMismatch",
    "UnmaskResponse",
    "UnusableKey",
    "VectorFormatError",
    "Verdict",
    "build_graph",
    "decode_sum",
    "decode_vector",
    "encode_vector",
    "judge_accusation",
    "quantize",
    "seed_commitment",
    "simulate_round",
    "verify_round",
]
