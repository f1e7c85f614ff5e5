"""verify_round_from_chain: audit a round from a JSON-RPC node, the deployment record and blobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from eth_utils import to_checksum_address
from pydantic import BaseModel, Field

from fedledger.audit.blobs import BlobSource
from fedledger.audit.slashes import SlashProblem, justify_slash
from fedledger.audit.transcript import AssembledRound, assemble_round, secagg_params
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import RoundConfig, Stage
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.rewards import reward_amounts
from fedledger.chain.round_log import commitment_slot, is_roster_marker
from fedledger.encoding import to_hex
from fedledger.errors import FedledgerError
from fedledger.secagg.messages import Roster
from fedledger.secagg.vectors import decode_vector
from fedledger.secagg.verify import verify_round

__all__ = ["CHAIN_CHECKS", "AuditReport", "BlobReport", "CheckResult", "verify_round_from_chain"]

CHAIN_CHECKS = (
    "round_stage",
    "params_snapshot",
    "blobs_available",
    "roster_members",
    "commitment_slots",
    "survivors_committed",
    "committed_updates_included",
    "total_weight",
    "model_chain",
    "rewards_credited",
    "slash_justified",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return to_hex(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


class CheckResult(BaseModel):
    """One named check with what was expected and what was found."""

    name: str
    source: Literal["chain", "secagg"]
    passed: bool
    expected: Any = None
    found: Any = None
    detail: str = ""


class BlobReport(BaseModel):
    """How one blob named on chain was found in the store."""

    role: str
    name: str
    status: str
    found_hash: str | None = None
    detail: str = ""


class AuditReport(BaseModel):
    """The outcome of auditing one round; `ok` only when every check passed."""

    round: int
    stage: str
    ok: bool
    failed: list[str]
    checks: list[CheckResult]
    blobs: list[BlobReport] = Field(default_factory=list)
    chain_id: int
    round_log: str
    block: int
    """Latest block when the audit ran."""
    failure_reason: str | None = None
    """RoundFailed reason, for failed rounds."""

    def check(self, name: str) -> CheckResult:
        """The check called `name` (KeyError if it did not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)


class _Fail(Exception):
    def __init__(self, detail: str, expected: Any = None, found: Any = None) -> None:
        super().__init__(detail)
        self.detail, self.expected, self.found = detail, expected, found


def _chain_checks(a: AssembledRound) -> list[CheckResult]:
    """The checks only the chain can answer; each runs on its own and never raises."""
    cr, info = a.chain, a.chain.info
    results: list[CheckResult] = []

    def run(name: str, fn: Callable[[], tuple[Any, Any]]) -> None:
        try:
            expected, found = fn()
            results.append(
                CheckResult(
                    name=name,
                    source="chain",
                    passed=True,
                    expected=_jsonable(expected),
                    found=_jsonable(found),
                )
            )
        except _Fail as f:
            results.append(
                CheckResult(
                    name=name,
                    source="chain",
                    passed=False,
                    expected=_jsonable(f.expected),
                    found=_jsonable(f.found),
                    detail=f.detail,
                )
            )
        except (FedledgerError, ValueError, KeyError, TypeError) as exc:
            results.append(
                CheckResult(
                    name=name, source="chain", passed=False, detail=f"{type(exc).__name__}: {exc}"
                )
            )

    def round_stage() -> tuple[Any, Any]:
        if info.stage in (Stage.FINALIZED, Stage.FAILED):
            return "finalized or failed", info.stage.name.lower()
        raise _Fail(
            "round is still in progress: nothing to verify yet",
            "finalized or failed",
            info.stage.name.lower(),
        )

    def params_snapshot() -> tuple[Any, Any]:
        if cr.opened is None:
            raise _Fail("no RoundOpened event for this round", "RoundOpened", None)
        emitted = RoundConfig.from_abi(cr.opened.args["config"])
        if emitted != info.config:
            raise _Fail(
                "getRound config differs from the RoundOpened snapshot",
                emitted.to_json(),
                info.config.to_json(),
            )
        if a.params_error:
            raise _Fail(
                f"snapshot is not a usable SecAgg parameter set: {a.params_error}",
                None,
                info.config.to_json(),
            )
        secagg_params(info)
        return "RoundOpened snapshot == getRound config", info.config.to_json()

    def blobs_available() -> tuple[Any, Any]:
        bad = {role: f"{f.status}: {f.detail}" for role, f in a.blobs.items() if not f.ok}
        if bad:
            raise _Fail(
                f"{len(bad)} blob(s) named on chain are missing or altered",
                "every blob present",
                bad,
            )
        return "every blob present and hashing to its name", f"{len(a.blobs)} blobs"

    def roster_members() -> tuple[Any, Any]:
        if info.stage == Stage.OPENED or (info.stage == Stage.FAILED and cr.roster is None):
            return "no roster posted", "no roster posted"
        if cr.roster is None:
            raise _Fail("no RosterPosted event", "RosterPosted", None)
        if cr.roster.args["rosterHash"] != info.roster_hash:
            raise _Fail(
                "RosterPosted hash differs from getRound",
                to_hex(info.roster_hash),
                to_hex(cr.roster.args["rosterHash"]),
            )
        members = cr.members
        if len(members) != info.member_count:
            raise _Fail(
                "memberCount differs from the posted member list", info.member_count, len(members)
            )
        data = a.blob("roster")
        fetch = a.blobs.get("roster")
        if data is None or fetch is None or not fetch.ok:
            raise _Fail("cannot compare: the roster blob is missing or altered", members, None)
        signed = Roster.from_bytes(data).addresses
        if [to_checksum_address(m) for m in members] != signed:
            raise _Fail(
                "on-chain roster members differ from the signed roster's addresses", members, signed
            )
        return members, signed

    def commitment_slots() -> tuple[Any, Any]:
        seen: dict[str, int] = {}
        bad: dict[str, Any] = {}
        for e in cr.commits:
            p = e.args["participant"]
            seen[p] = seen.get(p, 0) + 1
            want = commitment_slot(
                e.args["maskedUpdateHash"], e.args["seedCommitment"], weight=int(e.args["weight"])
            )
            if cr.slots.get(p) != want:
                bad[p] = {"event": to_hex(want), "stored": to_hex(cr.slots.get(p, b""))}
        twice = sorted(p for p, n in seen.items() if n > 1)
        if twice:
            raise _Fail("more than one UpdateCommitted event for a participant", "one each", twice)
        outsiders = sorted(set(seen) - set(cr.members))
        if outsiders:
            raise _Fail("commitments from accounts outside the roster", cr.members, outsiders)
        for m in cr.members:
            if m not in seen and not is_roster_marker(cr.slots.get(m, b"")):
                bad[m] = {
                    "event": "none (slot should hold a roster marker below 2^64)",
                    "stored": to_hex(cr.slots.get(m, b"")),
                }
        if bad:
            raise _Fail("UpdateCommitted events do not match the stored commitment slots", {}, bad)
        if len(seen) != info.committed_count:
            raise _Fail(
                "committedCount differs from the UpdateCommitted events",
                info.committed_count,
                len(seen),
            )
        return (
            "keccak256(abi.encode(maskedHash, seedCommitment)) == commitmentOf",
            f"{len(seen)} commitments match",
        )

    def finalized_only() -> None:
        if info.stage != Stage.FINALIZED or cr.finalized is None:
            raise _Fail("round is not finalized", "finalized", info.stage.name.lower())

    def survivors_committed() -> tuple[Any, Any]:
        finalized_only()
        assert cr.finalized is not None
        ev = cr.finalized.args
        for key, stored in (
            ("aggregateHash", info.aggregate_hash),
            ("revealHash", info.reveal_hash),
            ("newModelHash", info.new_model_hash),
        ):
            if ev[key] != stored:
                raise _Fail(
                    f"RoundFinalized {key} differs from getRound", to_hex(stored), to_hex(ev[key])
                )
        survivors = cr.survivors
        if survivors != sorted(set(survivors), key=lambda s: int(s, 16)):
            raise _Fail(
                "finalize's survivor list is not strictly ascending",
                "strictly ascending",
                survivors,
            )
        committed = set(cr.commitments)
        missing = [s for s in survivors if s not in committed]
        if missing:
            raise _Fail("survivors without an UpdateCommitted event", sorted(committed), missing)
        return "every survivor committed", f"{len(survivors)} survivors, all committed"

    def committed_updates_included() -> tuple[Any, Any]:
        finalized_only()
        usable = sorted(
            p for p in cr.commitments if (f := a.blobs.get(f"masked:{p}")) is not None and f.ok
        )
        omitted = [p for p in usable if p not in set(cr.survivors)]
        if omitted:
            raise _Fail(
                "committed updates with a matching blob in the store are not survivors",
                usable,
                cr.survivors,
            )
        return "every committed update with its blob is a survivor", f"{len(usable)} included"

    def model_chain() -> tuple[Any, Any]:
        if cr.previous_new_model is None:
            return "first finalized round: any starting model", to_hex(info.model_hash)
        if info.model_hash != cr.previous_new_model:
            raise _Fail(
                "round does not start from the previous round's new model",
                to_hex(cr.previous_new_model),
                to_hex(info.model_hash),
            )
        return to_hex(cr.previous_new_model), to_hex(info.model_hash)

    def weights() -> dict[str, int]:
        return {e.args["participant"]: int(e.args["weight"]) for e in cr.commits}

    def total_weight() -> tuple[Any, Any]:
        finalized_only()
        assert cr.finalized is not None
        w = weights()
        expected = sum(w.get(s, 0) for s in cr.survivors)
        emitted = int(cr.finalized.args["totalWeight"])
        if emitted != expected:
            raise _Fail(
                "RoundFinalized totalWeight is not the survivors' committed weights",
                expected,
                emitted,
            )
        fetch = a.blobs.get("aggregate")
        if fetch is None or not fetch.ok or fetch.data is None:
            raise _Fail("cannot compare: the aggregate blob is missing or altered", expected, None)
        first = int(decode_vector(fetch.data)[0])
        if first != expected:
            raise _Fail(
                "aggregate weight element differs from the survivors' committed weights",
                expected,
                first,
            )
        return expected, {"totalWeight": emitted, "aggregate[0]": first}

    def rewards_credited() -> tuple[Any, Any]:
        finalized_only()
        w = weights()
        # Both modes (fixed per contribution, or by committed weight with a cap): protocol 3.1.
        expected = reward_amounts(info.config, {s: w.get(s, 0) for s in cr.survivors})
        found = {e.args["participant"]: int(e.args["amount"]) for e in cr.rewards}
        if found != expected:
            raise _Fail(
                "RewardAccrued events differ from the reward rule applied to the survivors",
                {k: str(v) for k, v in expected.items()},
                {k: str(v) for k, v in found.items()},
            )
        return {k: str(v) for k, v in expected.items()}, {k: str(v) for k, v in found.items()}

    def slash_justified() -> tuple[Any, Any]:
        finalized_only()
        justified, problems = [], {}
        for record in a.slashes:
            try:
                justified.append(
                    justify_slash(
                        record,
                        info=info,
                        committers=list(cr.commitments),
                        reveal_blob=a.blob("reveal"),
                        roster_blob=a.blob("roster"),
                    )
                )
            except SlashProblem as exc:
                problems[f"{record.account} (reason {record.reason})"] = str(exc)
        if problems:
            raise _Fail(
                f"{len(problems)} slash(es) not justified", "every slash justified", problems
            )
        return "every slash justified by the reveal and the chain", justified

    run("round_stage", round_stage)
    run("params_snapshot", params_snapshot)
    run("blobs_available", blobs_available)
    run("roster_members", roster_members)
    run("commitment_slots", commitment_slots)
    if info.stage == Stage.FINALIZED:
        run("survivors_committed", survivors_committed)
        run("committed_updates_included", committed_updates_included)
        run("total_weight", total_weight)
        run("model_chain", model_chain)
        run("rewards_credited", rewards_credited)
        run("slash_justified", slash_justified)
    return results


def audit_assembled(a: AssembledRound, *, chain_id: int, block: int) -> AuditReport:
    """Run the chain-side checks and, for finalized rounds, every check of secagg.verify_round."""
    checks = _chain_checks(a)
    if a.transcript is not None:
        report = verify_round(a.transcript)
        checks += [
            CheckResult(
                name=c.name,
                source="secagg",
                passed=c.passed,
                expected=_jsonable(c.expected),
                found=_jsonable(c.found),
                detail=c.detail,
            )
            for c in report.checks
        ]
    info = a.chain.info
    return AuditReport(
        round=info.round,
        stage=info.stage.name.lower(),
        ok=all(c.passed for c in checks),
        failed=[c.name for c in checks if not c.passed],
        checks=checks,
        blobs=[
            BlobReport(
                role=r, name=f.name, status=f.status, found_hash=f.found_hash, detail=f.detail
            )
            for r, f in a.blobs.items()
        ],
        chain_id=chain_id,
        round_log=a.chain.opened.address if a.chain.opened else "",
        block=block,
        failure_reason=a.chain.failed.args["reason"] if a.chain.failed else None,
    )


def verify_round_from_chain(
    chain: ChainBackend,
    deployment: Deployment,
    store: BlobSource | str,
    round_id: int,
    *,
    contracts: Contracts | None = None,
) -> AuditReport:
    """Audit round `round_id` trusting only the chain and the hashes; never raises for a bad round.

    `store` is a BlobSource or a folder path / http(s) URL of the blob store. Raises ChainError
    when the node is unreachable or the round was never opened (an audit that cannot start).
    """
    from fedledger.audit.blobs import open_blob_source

    source = store if isinstance(store, BlobSource) else open_blob_source(store)
    contracts = contracts or deployment.attach(chain)
    block = chain.block_number
    assembled = assemble_round(contracts, deployment, source, round_id)
    return audit_assembled(assembled, chain_id=deployment.chain_id, block=block)
