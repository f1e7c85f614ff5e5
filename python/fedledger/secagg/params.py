"""Round parameters and round context (chain id, RoundLog address, round number)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address

from fedledger.errors import ConfigError

__all__ = [
    "LARGE_N",
    "MODULUS",
    "DistributedDp",
    "RoundContext",
    "SecAggParams",
    "large_n_params",
    "large_n_table",
    "min_roster",
    "min_survivors",
]

MODULUS = 1 << 32


def min_roster(min_participants: int, threshold: int) -> int:
    """Smallest roster RoundLog.postRoster accepts: max(minParticipants, threshold + 1)."""
    return max(min_participants, threshold + 1)


def min_survivors(min_participants: int, threshold: int) -> int:
    """Fewest survivors RoundLog.finalize accepts: max(minParticipants, threshold)."""
    return max(min_participants, threshold)


@dataclass(frozen=True)
class DistributedDp:
    """The distributed-DP encoding of a dpMode 2 round (protocol 3.4), in the chain's integers."""

    clip_norm_micros: int
    """c in millionths: each participant's weighted update is clipped to L2 norm c."""
    noise_multiplier_millis: int
    """z in thousandths: the noise on a sum of min_survivors inputs has std z * norm bound."""
    min_survivors: int
    """n_min: fewest survivors RoundLog.finalize accepts; each adds 1/n_min of the variance."""

    def __post_init__(self) -> None:
        for name in ("clip_norm_micros", "noise_multiplier_millis", "min_survivors"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"DistributedDp.{name}: must be an integer >= 1, got {value!r}")

    @property
    def clip_norm(self) -> float:
        """c as a float."""
        return self.clip_norm_micros / 1_000_000

    @property
    def noise_multiplier(self) -> float:
        """z as a float."""
        return self.noise_multiplier_millis / 1_000

    def to_json(self) -> dict[str, int]:
        """The JSON form inside SecAggParams' (camelCase keys)."""
        return {
            "clipNormMicros": self.clip_norm_micros,
            "noiseMultiplierMillis": self.noise_multiplier_millis,
            "minSurvivors": self.min_survivors,
        }

    @classmethod
    def from_json(cls, obj: Any) -> DistributedDp:
        """Parse the JSON form, naming a missing field."""
        if not isinstance(obj, dict):
            raise ConfigError(f"DistributedDp: expected an object, got {type(obj).__name__}")
        try:
            return cls(obj["clipNormMicros"], obj["noiseMultiplierMillis"], obj["minSurvivors"])
        except KeyError as exc:
            raise ConfigError(f"DistributedDp: missing field {exc}") from None


@dataclass(frozen=True)
class SecAggParams:
    """Masking and quantization parameters of a round (snapshotted from governance)."""

    neighbours: int
    """k: neighbours per participant in the graph (k >= n-1 means the complete graph)."""
    threshold: int
    """t: shares needed to reconstruct a secret; 1 <= t <= k."""
    clip_range: float
    """c: each weighted coordinate is clipped to [-c, c] before quantization."""
    quant_bits: int
    """b: quantized coordinates lie in [0, 2^b - 1]."""
    max_weight: int
    """M: a participant's FedAvg weight is min(examples, M)."""
    modulus_bits: int = 32
    """log2 of the modulus; only 32 is supported (vectors are uint32)."""
    ddp: DistributedDp | None = None
    """Set in a dpMode 2 round: inputs are distributed-DP encodings (secagg/ddp.py)."""

    def __post_init__(self) -> None:
        def bad(field: str, detail: str) -> ConfigError:
            return ConfigError(f"SecAggParams.{field}: {detail}")

        for name in ("neighbours", "threshold", "quant_bits", "max_weight", "modulus_bits"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad(name, f"must be an integer, got {value!r}")
        if self.modulus_bits != 32:
            raise bad("modulus_bits", f"only 32 is supported, got {self.modulus_bits}")
        if self.neighbours < 1:
            raise bad("neighbours", f"must be >= 1, got {self.neighbours}")
        if not 1 <= self.threshold <= self.neighbours:
            raise bad(
                "threshold", f"must be in 1..neighbours={self.neighbours}, got {self.threshold}"
            )
        if not 1 <= self.quant_bits <= 31:
            raise bad("quant_bits", f"must be in 1..31, got {self.quant_bits}")
        if not 1 <= self.max_weight < MODULUS:
            raise bad("max_weight", f"must be in 1..2^32-1, got {self.max_weight}")
        c = self.clip_range
        if not isinstance(c, int | float) or isinstance(c, bool) or not math.isfinite(c) or c <= 0:
            raise bad("clip_range", f"must be a finite number > 0, got {c!r}")
        object.__setattr__(self, "clip_range", float(c))

    @property
    def levels(self) -> int:
        """2^b - 1, the largest quantized coordinate."""
        return (1 << self.quant_bits) - 1

    def check_capacity(self, n: int) -> None:
        """Refuse a round of `n` summands whose sum could wrap around 2^32.

        Distributed DP uses the whole ring for coordinates (their sum is read centred, protocol
        3.4), so there only the weight element must not wrap.
        """
        worst = n * (self.max_weight if self.ddp else max(self.levels, self.max_weight))
        if worst >= MODULUS:
            raise ConfigError(
                f"sum of {n} inputs could overflow 2^32: n * max(2^{self.quant_bits}-1, "
                f"max_weight={self.max_weight}) = {worst} >= {MODULUS}; "
                "lower quant_bits or max_weight, or the number of participants"
            )

    def to_json(self) -> dict[str, Any]:
        """The JSON form used in transcripts (camelCase keys)."""
        return {
            "neighbours": self.neighbours,
            "threshold": self.threshold,
            "clipRange": self.clip_range,
            "quantBits": self.quant_bits,
            "maxWeight": self.max_weight,
            "modulusBits": self.modulus_bits,
        } | ({"distributedDp": self.ddp.to_json()} if self.ddp else {})

    @classmethod
    def from_json(cls, obj: Any) -> SecAggParams:
        """Parse the JSON form, naming a missing field."""
        if not isinstance(obj, dict):
            raise ConfigError(f"SecAggParams: expected an object, got {type(obj).__name__}")
        try:
            return cls(
                neighbours=obj["neighbours"],
                threshold=obj["threshold"],
                clip_range=obj["clipRange"],
                quant_bits=obj["quantBits"],
                max_weight=obj["maxWeight"],
                modulus_bits=obj.get("modulusBits", 32),
                ddp=DistributedDp.from_json(obj["distributedDp"])
                if "distributedDp" in obj
                else None,
            )
        except KeyError as exc:
            raise ConfigError(f"SecAggParams: missing field {exc}") from None


@dataclass(frozen=True)
class RoundContext:
    """What binds every signature, key and ciphertext to one round of one deployment."""

    chain_id: int
    contract: str
    """The RoundLog address (EIP-55 checksummed after construction)."""
    round_id: int

    def __post_init__(self) -> None:
        # bool is an int to isinstance, but not a chain id (eth_abi refuses to encode it)
        if not isinstance(self.chain_id, int) or isinstance(self.chain_id, bool):
            raise ConfigError(f"RoundContext.chain_id: must be an integer, got {self.chain_id!r}")
        if not 0 < self.chain_id < 1 << 256:
            raise ConfigError(
                f"RoundContext.chain_id: must be a positive integer, got {self.chain_id!r}"
            )
        if (
            not isinstance(self.round_id, int)
            or isinstance(self.round_id, bool)
            or not 0 <= self.round_id < 1 << 256
        ):
            raise ConfigError(f"RoundContext.round_id: must be a uint256, got {self.round_id!r}")
        if not isinstance(self.contract, str) or not is_address(self.contract):
            raise ConfigError(f"RoundContext.contract: not an address: {self.contract!r}")
        object.__setattr__(self, "contract", to_checksum_address(self.contract))

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for the crypto helpers (chain_id, contract, round_id)."""
        return {"chain_id": self.chain_id, "contract": self.contract, "round_id": self.round_id}


# -- neighbours and threshold for large rounds (Bell et al. 2020, SecAgg+) ------------------

LARGE_N = 100
"""From this many participants on, k and t follow `large_n_params` instead of the complete graph."""


def _binomial_tail_at_least(k: int, p: float, t: int) -> float:
    """P[Binomial(k, p) >= t], summed term by term in log space (k is at most a few hundred)."""
    if t <= 0:
        return 1.0
    if t > k or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    return math.fsum(
        math.exp(
            math.lgamma(k + 1) - math.lgamma(i + 1) - math.lgamma(k - i + 1) + i * lp + (k - i) * lq
        )
        for i in range(t, k + 1)
    )


def large_n_params(
    n: int,
    *,
    corrupt: float = 0.1,
    dropout: float = 0.1,
    sigma: int = 40,
    eta: int = 30,
) -> tuple[int, int]:
    """(k, t) for a round of `n`: the smallest even degree k, and its threshold t, such that

    - privacy: n * P[Binomial(k, corrupt) >= t] <= 2^-sigma (no participant has t corrupt
      neighbours, who could rebuild its secrets, except with probability 2^-sigma);
    - correctness: n * P[Binomial(k, 1 - corrupt - dropout) < t] <= 2^-eta (every
      participant keeps t honest, surviving neighbours to answer for it);
    - t > k / 2 (an aggregator that lies about who dropped cannot collect t shares of
      both secrets of one participant from honest neighbours: Bell et al. 2020, sec. 4).

    This is the parameter choice of Bell, Bonawitz, Gascon, Lepoint and Raykova, "Secure
    Single-Server Aggregation with (Poly)Logarithmic Overhead" (CCS 2020): k = O(log n)
    neighbours in a random regular graph, with their defaults sigma = 40, eta = 30, with
    neighbour counts modelled as binomial (sampling with replacement, which is the
    conservative side for large n). A k >= n - 1 is the complete graph (`build_graph`).
    """
    if n < 2:
        raise ConfigError(f"large_n_params: n must be >= 2, got {n}")
    if not (0 <= corrupt < 1 and 0 <= dropout < 1 and corrupt + dropout < 1):
        raise ConfigError(
            f"large_n_params: need 0 <= corrupt, dropout and corrupt + dropout < 1, "
            f"got {corrupt}, {dropout}"
        )
    honest = 1 - corrupt - dropout
    privacy, correctness = 2.0**-sigma / n, 2.0**-eta / n
    for k in range(2, n, 2):
        for t in range(k // 2 + 1, k + 1):
            if _binomial_tail_at_least(k, corrupt, t) > privacy:
                continue  # too few shares: raise t
            if 1 - _binomial_tail_at_least(k, honest, t) <= correctness:
                return k, t
            break  # a larger t only lowers correctness: try a larger k
    k = n - 1
    return k, k // 2 + 1


def large_n_table(
    sizes: tuple[int, ...] = (100, 1_000, 10_000, 100_000, 1_000_000), **kwargs: float
) -> list[tuple[int, int, int]]:
    """(n, k, t) of `large_n_params` for each size (the table in docs/protocol.md)."""
    return [(n, *large_n_params(n, **kwargs)) for n in sizes]  # type: ignore[arg-type]
