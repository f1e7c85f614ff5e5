"""Before training on a round's model, verify the rounds it came from (`--verify full|own|off`).

A round's model is the new model of the latest finalized round before it. The node trusts
it only when that round passes the checks of its mode and so do all finalized rounds
before it back to the first (whose starting model is the genesis model the node checked at
start-up): a model built on a refused round stays refused, so a node keeps refusing until
operators act. Each round is verified once per node (verdicts are cached); a store that
does not answer gives "could not verify yet" (VerifyPending, tried again), never a verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from fedledger.audit.blobs import BlobSource
from fedledger.audit.transcript import AssembledRound
from fedledger.audit.verify import CheckResult
from fedledger.chain.datatypes import RoundInfo, Stage
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.errors import ChainError, ConfigError, FedledgerError
from fedledger.node.round_checks import (
    PARTICIPANT_FAULTS,
    StoreSource,
    full_checks,
    own_checks,
    unreachable,
)
from fedledger.protocol.receipts import Receipt
from fedledger.store.base import BlobStore

__all__ = [
    "VERIFY_MODES",
    "ModelRefused",
    "ModelVerifier",
    "RoundVerdict",
    "VerifyMode",
    "VerifyPending",
    "check_mode",
]

log = logging.getLogger("fedledger.node")

VerifyMode = Literal["full", "own", "off"]
VERIFY_MODES: tuple[str, ...] = get_args(VerifyMode)


def check_mode(mode: str) -> VerifyMode:
    """`mode` if it is one of VERIFY_MODES, else ConfigError naming the choices."""
    if mode not in VERIFY_MODES:
        raise ConfigError(f"--verify: {mode!r} is not one of {', '.join(VERIFY_MODES)}")
    return mode  # type: ignore[return-value]


class ModelRefused(FedledgerError):
    """The model round `round_id` trains on comes from a round that failed verification: the
    node sits that round out (and every later one built on the same model)."""

    def __init__(
        self, round_id: int, source: int, failed: Sequence[str], detail: str, *, via: int = 0
    ) -> None:
        self.round_id, self.source, self.failed = round_id, source, list(failed)
        built = f" (it comes from round {via}, which builds on round {source})" if via else ""
        super().__init__(
            f"refused to train on the model of round {round_id}{built}: round {source} failed "
            f"verification ({', '.join(failed)}): {detail}"
        )


class VerifyPending(FedledgerError):
    """The rounds behind a model could not be verified yet (store or chain not answering);
    the node tries again while the round's key stage lasts."""


@dataclass(frozen=True)
class RoundVerdict:
    """What one node found when it verified one finalized round."""

    round_id: int
    mode: str
    failed: tuple[str, ...]
    """Failed checks that refuse the model (participant faults are only logged)."""
    detail: str
    """The first refusing check's detail ('' when none failed)."""
    seconds: float

    @property
    def ok(self) -> bool:
        """True when no check that refuses the model failed."""
        return not self.failed


Checker = Callable[..., tuple[AssembledRound, list[CheckResult]]]
_CHECKERS: dict[str, Checker] = {"full": full_checks, "own": own_checks}


class ModelVerifier:
    """One node's verdicts on the rounds its models come from, by mode."""

    def __init__(
        self,
        *,
        mode: str,
        contracts: Contracts,
        deployment: Deployment | None,
        store: BlobStore,
        address: str,
    ) -> None:
        self.mode = check_mode(mode)
        if self.mode != "off" and deployment is None:
            raise ConfigError(f"--verify {mode}: the node needs the deployment record")
        self.contracts = contracts
        self.deployment = deployment
        self.source: BlobSource = StoreSource(store)
        self.address = address
        self.verdicts: dict[int, RoundVerdict] = {}
        self._trusted: set[int] = set()  # rounds verified back to the first finalized one

    def _previous_finalized(self, round_id: int) -> RoundInfo | None:
        """The latest finalized round before `round_id` (None if there is none)."""
        log_ = self.contracts.round_log
        for r in range(round_id - 1, 0, -1):
            info = log_.get_round(r)
            if info.stage == Stage.FINALIZED:
                return info
        return None

    def _verify(self, round_id: int, receipts: Sequence[Receipt]) -> RoundVerdict:
        """Run this mode's checks on finalized round `round_id` (VerifyPending if the store
        does not answer)."""
        assert self.deployment is not None
        t0 = time.perf_counter()
        try:
            assembled, results = _CHECKERS[self.mode](
                self.contracts,
                self.deployment,
                self.source,
                round_id,
                address=self.address,
                receipts=receipts,
            )
        except ChainError:
            raise  # not a verdict: check() turns it into VerifyPending
        except FedledgerError as exc:  # the round could not even be assembled: refuse
            detail = f"{type(exc).__name__}: {exc}"
            return RoundVerdict(round_id, self.mode, ("assembled",), detail, 0.0)
        missing = unreachable(assembled)
        if missing:
            raise VerifyPending(
                f"round {round_id}: could not verify yet, the blob store did not answer for "
                f"{', '.join(sorted(missing))}"
            )
        refusing = [c for c in results if not c.passed and c.name not in PARTICIPANT_FAULTS]
        for c in results:
            if not c.passed and c.name in PARTICIPANT_FAULTS:
                log.info(
                    "round %s: %s failed (a participant's fault): %s", round_id, c.name, c.detail
                )
        return RoundVerdict(
            round_id,
            self.mode,
            tuple(c.name for c in refusing),
            refusing[0].detail if refusing else "",
            time.perf_counter() - t0,
        )

    def check(
        self, round_id: int, info: RoundInfo, receipts: Mapping[int, Sequence[Receipt]]
    ) -> list[RoundVerdict]:
        """Verify the rounds behind the model of round `round_id` (opened as `info`).

        Returns the verdicts computed now (empty in mode off, or when every round was
        verified before). Raises ModelRefused naming the round and check that failed, and
        VerifyPending when the chain or the store did not answer.
        """
        if self.mode == "off":
            return []
        try:
            return self._check(round_id, info, receipts)
        except ChainError as exc:
            raise VerifyPending(f"round {round_id}: could not verify yet: {exc}") from None

    def _check(
        self, round_id: int, info: RoundInfo, receipts: Mapping[int, Sequence[Receipt]]
    ) -> list[RoundVerdict]:
        source = self._previous_finalized(round_id)
        if source is None:
            return []  # the first round trains the genesis model (checked at start-up)
        if info.model_hash != source.new_model_hash:
            raise ModelRefused(
                round_id,
                round_id,
                ["model_chain"],
                f"it opened with model {info.model_hash.hex()}, not round {source.round}'s "
                f"new model {source.new_model_hash.hex()}",
            )
        computed: list[RoundVerdict] = []
        walked: list[int] = []
        current: RoundInfo | None = source
        while current is not None and current.round not in self._trusted:
            r = current.round
            verdict = self.verdicts.get(r)
            if verdict is None:
                verdict = self._verify(r, receipts.get(r, ()))
                self.verdicts[r] = verdict
                computed.append(verdict)
            if not verdict.ok:
                via = source.round if r != source.round else 0
                raise ModelRefused(round_id, r, verdict.failed, verdict.detail, via=via)
            walked.append(r)
            current = self._previous_finalized(r)
        self._trusted.update(walked)
        return computed
