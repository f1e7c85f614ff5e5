"""verify_round: recompute a round from public material only and report every check by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fedledger.encoding import sha256, to_hex
from fedledger.errors import FedledgerError, ProtocolError
from fedledger.secagg.blame import judge_accusation
from fedledger.secagg.checks import Check, CheckContext, CheckFailed, Outcome, run_checks
from fedledger.secagg.commitments import seed_commitment
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.keys import is_clamped, public_from_private
from fedledger.secagg.encoding import decode_aggregate
from fedledger.secagg.engine import Engine
from fedledger.secagg.graph import NeighbourGraph, build_graph
from fedledger.secagg.masking import recompute_aggregate
from fedledger.secagg.messages import (
    MASK_KEY,
    SELF_MASK_SEED,
    LocalDropouts,
    Reveal,
    Roster,
    UnmaskResponse,
    check_address,
    sort_addresses,
)
from fedledger.secagg.params import RoundContext, min_roster
from fedledger.secagg.quantize import coordinate_bound, out_of_range
from fedledger.secagg.transcript import PublicTranscript
from fedledger.secagg.vectors import decode_vector, encode_vector

__all__ = [
    "CHECKS",
    "Check",
    "Report",
    "Verification",
    "check_bad_share",
    "verify_round",
]


@dataclass
class Report:
    """Outcome of verify_round; `ok` only when every check passed."""

    round_id: int
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if not c.passed]

    def check(self, name: str) -> Check:
        """The check called `name`."""
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"round": self.round_id, "ok": self.ok, "checks": [c.to_json() for c in self.checks]}


def _share_of(response: UnmaskResponse, owner: str, secret: str) -> bytes | None:
    shares = response.self_mask_shares if secret == SELF_MASK_SEED else response.mask_key_shares
    return shares.get(owner)


def check_bad_share(
    reveal: Reveal, roster: Roster, threshold: int, accused: str, owner: str, secret: str
) -> str:
    """Why the accusation "accused sent a bad share of owner's `secret`" does not hold ('' = it
    holds), from the reveal alone (docs/protocol.md 4.9).

    It holds when the accused's signed response carries a share of that secret, the secret is
    revealed, the accusation's witnesses are `threshold` other responders with signed shares of
    the same secret that interpolate to the revealed secret, and the accused's share is not a
    field element or is off that polynomial. Signatures and the revealed secret's match with
    its commitment are separate checks (`unmask_responses`, `self_mask_seeds`,
    `dropped_mask_keys`).
    """
    evidence = next(
        (e for e in reveal.bad_shares.get(accused, ()) if (e.owner, e.secret) == (owner, secret)),
        None,
    )
    if evidence is None:
        return f"the reveal lists no bad share of {owner}'s {secret} from {accused}"
    revealed = (reveal.self_mask_seeds if secret == SELF_MASK_SEED else reveal.mask_keys).get(owner)
    if revealed is None:
        return f"{owner}'s {secret} is not revealed"
    response = reveal.unmask_responses.get(accused)
    raw = None if response is None else _share_of(response, owner, secret)
    if raw is None:
        return f"{accused} published no signed share of {owner}'s {secret}"
    witnesses = list(evidence.witnesses)
    if len(set(witnesses)) != threshold or accused in witnesses:
        return f"need {threshold} distinct witnesses other than the accused, got {witnesses}"
    points = []
    for w in witnesses:
        w_resp = reveal.unmask_responses.get(w)
        w_raw = None if w_resp is None else _share_of(w_resp, owner, secret)
        if w_raw is None or w not in roster:
            return f"witness {w} published no signed share of {owner}'s {secret}"
        try:
            points.append((roster.index(w) + 1, shamir.share_from_bytes(w_raw)))
        except ValueError as exc:
            return f"share of witness {w}: {exc}"
    poly = shamir.Interpolant(points)
    if poly(0) != int.from_bytes(revealed, "big"):
        return "the witnesses' shares do not interpolate to the revealed secret"
    try:
        y = shamir.share_from_bytes(raw)
    except ValueError:
        return ""  # not even a field element
    if poly(roster.index(accused) + 1) == y:
        return f"{accused}'s share lies on the witnesses' polynomial"
    return ""


def _blob_hash(what: str, blob: bytes, on_chain: bytes) -> tuple[str, str]:
    """Check sha256(blob) against the hash posted on chain; (expected, found) as hex."""
    found = to_hex(sha256(blob))
    if found != to_hex(on_chain):
        raise CheckFailed(
            f"{what} blob hash differs from the on-chain {what} hash", to_hex(on_chain), found
        )
    return to_hex(on_chain), found


@dataclass
class Verification(CheckContext):
    """One run of verify_round: the transcript, and what the checks parsed from it so far."""

    transcript: PublicTranscript
    ctx: RoundContext | None = None
    roster: Roster | None = None
    graph: NeighbourGraph | None = None
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    reveal: Reveal | None = None
    masked_sum: np.ndarray | None = None
    """Running sum mod 2^32 of the survivors' masked vectors, read one blob at a time."""
    aggregate: np.ndarray | None = None
    engine: Engine | None = None
    """Where mask regeneration runs (None: inline)."""

    def documents(self) -> tuple[Roster, Reveal]:
        """The parsed roster and reveal; stops the calling check when either did not parse."""
        if self.roster is None or self.reveal is None:
            raise CheckFailed("cannot check: the roster or reveal blob does not parse")
        return self.roster, self.reveal


# The checks of docs/protocol.md 6.C, each named by its function. They run on whatever parsed;
# only a missing prerequisite (Verification.need / documents) stops one.


def roster_hash(v: Verification) -> Outcome:
    """sha256(roster blob) == on-chain rosterHash."""
    return _blob_hash("roster", v.transcript.roster, v.transcript.roster_hash)


def roster_signatures(v: Verification) -> Outcome:
    """The roster parses, is for this round, and every bundle is signed by its participant."""
    t = v.transcript
    v.ctx = RoundContext(t.chain_id, t.contract, t.round_id)
    roster = Roster.from_bytes(t.roster)
    if roster.ctx != v.ctx:
        raise CheckFailed(
            "roster is for another chain, contract or round", str(v.ctx), str(roster.ctx)
        )
    v.roster = roster
    bad = [b.participant for b in roster.bundles if b.signer(v.ctx) != b.participant]
    if bad:
        raise CheckFailed(
            f"{len(bad)} bundle signature(s) do not recover to their participant", [], bad
        )
    return "every bundle signed by its participant", f"{len(roster)} valid bundles"


def neighbour_graph(v: Verification) -> Outcome:
    """The neighbour graph from roster size, k and the seed, with degree >= t."""
    t = v.transcript
    if v.roster is None:
        raise CheckFailed("cannot check: the roster blob does not parse")
    n = len(v.roster)
    v.graph = build_graph(n, t.params.neighbours, t.seed)
    addrs = v.roster.addresses
    v.neighbours = {a: [addrs[j] for j in v.graph.neighbours(i)] for i, a in enumerate(addrs)}
    found = {"n": n, "degree": v.graph.degree, "digest": v.graph.digest()}
    if v.graph.degree < t.params.threshold:
        raise CheckFailed(
            "threshold exceeds the graph degree", f"degree >= {t.params.threshold}", found
        )
    return f"graph from seed {to_hex(t.seed)}", found


def reveal_hash(v: Verification) -> Outcome:
    """The reveal parses, is for this round, and hashes to the on-chain revealHash."""
    t = v.transcript
    reveal = Reveal.from_bytes(t.reveal)
    ctx = RoundContext(t.chain_id, t.contract, t.round_id)
    if reveal.ctx != ctx:
        raise CheckFailed(
            "reveal is for another chain, contract or round", str(ctx), str(reveal.ctx)
        )
    v.reveal = reveal
    return _blob_hash("reveal", t.reveal, t.reveal_hash)


def survivors_dropped_partition(v: Verification) -> Outcome:
    """Survivors match the chain; survivors, dropped and unshared partition the roster."""
    roster, r = v.documents()
    on_chain = [check_address("finalize", "survivors", a) for a in v.transcript.survivors]
    if len(set(on_chain)) != len(on_chain):
        raise CheckFailed("on-chain survivor list has duplicates", "distinct", on_chain)
    if sort_addresses(on_chain) != sort_addresses(r.survivors):
        raise CheckFailed(
            "reveal survivors differ from the on-chain survivors", on_chain, list(r.survivors)
        )
    parts = [set(r.survivors), set(r.dropped), set(r.unshared)]
    sizes = sum(len(p) for p in parts)
    union = parts[0] | parts[1] | parts[2]
    if sizes != len(union) or sizes != len(r.survivors) + len(r.dropped) + len(r.unshared):
        raise CheckFailed(
            "survivors, dropped and unshared overlap", "disjoint", [sorted(p) for p in parts]
        )
    if union != set(roster.addresses):
        raise CheckFailed(
            "survivors, dropped and unshared do not cover the roster",
            sorted(roster.addresses),
            sorted(union),
        )
    both = set(r.self_mask_seeds) & set(r.mask_keys)
    if both:
        raise CheckFailed("both secrets revealed for the same participant", [], sorted(both))
    if set(r.self_mask_seeds) != parts[0]:
        raise CheckFailed(
            "self-mask seeds revealed for a set other than the survivors",
            sorted(parts[0]),
            sorted(r.self_mask_seeds),
        )
    if not set(r.mask_keys) <= parts[1]:
        raise CheckFailed(
            "mask keys revealed for non-dropped participants",
            sorted(parts[1]),
            sorted(r.mask_keys),
        )
    counts = {
        "survivors": len(r.survivors),
        "dropped": len(r.dropped),
        "unshared": len(r.unshared),
    }
    return f"partition of {len(roster)} roster members", counts


def survivor_commitments(v: Verification) -> Outcome:
    """Each survivor's masked-vector blob exists, hashes to its commitment, and parses."""
    t = v.transcript
    _, reveal = v.documents()
    problems: dict[str, str] = {}
    lengths: dict[int, str] = {}  # length -> first survivor with it
    total: np.ndarray | None = None
    for u in reveal.survivors:
        commitment = t.commitments.get(u)
        if commitment is None:
            problems[u] = "no on-chain commitment"
            continue
        name = commitment.masked_hash.hex()
        blob = t.masked_vectors.get(name)
        if blob is None:
            problems[u] = f"masked vector blob {name} missing"
            continue
        if sha256(blob) != commitment.masked_hash:
            problems[u] = f"blob hash {sha256(blob).hex()} != committed {name}"
            continue
        try:
            vector = decode_vector(blob)
        except FedledgerError as exc:
            problems[u] = f"malformed vector: {exc}"
            continue
        del blob  # one blob in memory at a time: the vectors are summed as they are read
        lengths.setdefault(vector.size, u)
        if total is None:
            total = np.zeros(vector.size, dtype=np.uint32)
        if vector.size == total.size:
            np.add(total, vector, out=total)
    if problems:
        raise CheckFailed(
            f"{len(problems)} survivor(s) without a matching committed blob", {}, problems
        )
    if len(lengths) > 1:
        raise CheckFailed("masked vectors have different lengths", "one length", sorted(lengths))
    v.masked_sum = total
    return "sha256(blob) == on-chain maskedHash", f"{len(reveal.survivors)} survivors match"


def _report_problem(v: Verification, a: str, report: LocalDropouts) -> str:
    """Why a published local-dropout report is invalid ('' when it is valid)."""
    assert v.ctx is not None
    commitment = v.transcript.commitments.get(a)
    if report.sender != a:
        return f"report is keyed by {a} but sent by {report.sender}"
    if commitment is None:
        return "no on-chain commitment"
    if report.masked_hash != commitment.masked_hash:
        return "report is for another masked vector than the committed one"
    signer = report.signer(v.ctx)
    if signer != a:
        return f"signature recovers to {signer}"
    strangers = [d for d in report.dropouts if d not in v.neighbours.get(a, ())]
    if strangers:
        return f"{strangers[0]} is not a neighbour"
    roster, _ = v.documents()
    for accusation in report.accusations:  # the aggregator publishes only evidence that proves
        try:
            judge_accusation(v.ctx, roster, accusation)
        except ProtocolError as exc:
            return f"accusation of {accusation.accused} proves nothing: {exc.detail}"
    return ""


def _unmasked(reveal: Reveal) -> dict[str, frozenset[str]]:
    """Committer -> the neighbours its published report says it did not mask with."""
    return {a: frozenset(r.dropouts) for a, r in reveal.local_dropouts.items()}


def local_dropouts(v: Verification) -> Outcome:
    """Every published local-dropout report is signed by its committer for its committed
    vector, and names no survivor (its mask with the reporter would stay in the sum).

    A survivor without a report masked with every sharer; hiding a non-empty report is
    caught by `self_mask_seeds`, because the seed commitment binds the report's hash."""
    v.need("neighbour_graph")
    _, reveal = v.documents()
    problems = {
        a: why for a, r in reveal.local_dropouts.items() if (why := _report_problem(v, a, r))
    }
    survivors = set(reveal.survivors)
    for a, r in reveal.local_dropouts.items():
        named = sorted(survivors.intersection(r.dropouts))
        if named:
            problems.setdefault(a, f"names survivor {named[0]} as a dropout")
    if problems:
        raise CheckFailed(f"{len(problems)} local-dropout report problem(s)", {}, problems)
    listed = sum(len(r.dropouts) for r in reveal.local_dropouts.values())
    return "signed reports for the committed vectors, naming no survivor", {
        "reports": len(reveal.local_dropouts),
        "localDropouts": listed,
    }


def self_mask_seeds(v: Verification) -> Outcome:
    """Each survivor's revealed seed matches its on-chain seed commitment."""
    t = v.transcript
    _, reveal = v.documents()
    bad = {}
    for u in reveal.survivors:
        commitment = t.commitments.get(u)
        seed = reveal.self_mask_seeds.get(u)
        if seed is None:
            bad[u] = "not revealed"
            continue
        report = reveal.local_dropouts.get(u)
        pinned = None if report is None else report.committed_hash()
        got = seed_commitment(seed, t.round_id, u, pinned)
        if commitment is None or got != commitment.seed_commitment:
            bad[u] = to_hex(got)
    if bad:
        raise CheckFailed(
            f"{len(bad)} revealed seed(s) do not match the on-chain seed commitment", {}, bad
        )
    return "sha256(b_u || round || u) == seedCommitment", f"{len(reveal.survivors)} seeds match"


def dropped_mask_keys(v: Verification) -> Outcome:
    """Mask keys are revealed for exactly the needed dropped members and match their bundles."""
    v.need("neighbour_graph", "local_dropouts")
    roster, reveal = v.documents()
    survivors, unmasked = set(reveal.survivors), _unmasked(reveal)
    needed = {
        d
        for d in reveal.dropped
        if any(u in survivors and d not in unmasked.get(u, ()) for u in v.neighbours[d])
    }
    if set(reveal.mask_keys) != needed:
        raise CheckFailed(
            "mask keys must be revealed exactly for dropped participants "
            "with a surviving neighbour that masked with them",
            sorted(needed),
            sorted(reveal.mask_keys),
        )
    bad = {}
    for d, sk in reveal.mask_keys.items():
        if not is_clamped(sk):
            bad[d] = {"expected": "clamped (RFC 7748) private key", "found": to_hex(sk)}
            continue
        pk = public_from_private(sk)
        if pk != roster.bundle(d).mask_key:
            bad[d] = {"expected": to_hex(roster.bundle(d).mask_key), "found": to_hex(pk)}
    if bad:
        raise CheckFailed(
            f"{len(bad)} revealed mask key(s) do not match the signed bundle", {}, bad
        )
    return "X25519 public(s_v^SK) == signed maskKey", f"{len(needed)} keys match"


def unmask_responses(v: Verification) -> Outcome:
    """Published unmask responses are signed by survivors and carry requested shares only."""
    v.need("neighbour_graph")
    _, reveal = v.documents()
    assert v.ctx is not None
    survivors, dropped = set(reveal.survivors), set(reveal.dropped)
    bad: dict[str, str] = {}
    for a, resp in reveal.unmask_responses.items():
        if resp.sender != a:
            bad[a] = f"response is keyed by {a} but sent by {resp.sender}"
        elif a not in survivors:
            bad[a] = "not a survivor"
        elif resp.signer(v.ctx) != a:
            bad[a] = f"signature recovers to {resp.signer(v.ctx)}"
        else:
            neigh = set(v.neighbours[a])
            extra = [o for o in resp.self_mask_shares if o not in survivors or o not in neigh]
            extra += [o for o in resp.mask_key_shares if o not in dropped or o not in neigh]
            if extra:
                bad[a] = f"shares of {extra[0]} were not requested from it"
    if bad:
        raise CheckFailed(f"{len(bad)} published unmask response(s) are invalid", {}, bad)
    return (
        "signed responses from survivors, requested shares only",
        f"{len(reveal.unmask_responses)} responders",
    )


def _unaccused_share_problems(roster: Roster, reveal: Reveal, threshold: int) -> dict[str, str]:
    """Blame must be complete: the shares nobody is accused of agree with the revealed secret."""
    problems: dict[str, str] = {}
    accused = {a: {(e.owner, e.secret) for e in ev} for a, ev in reveal.bad_shares.items()}
    revealed = [(SELF_MASK_SEED, reveal.self_mask_seeds), (MASK_KEY, reveal.mask_keys)]
    # Each secret's unaccused shares, gathered in one pass over the responses (in their order).
    raws: dict[tuple[str, str], list[tuple[str, bytes]]] = {
        (secret, owner): [] for secret, values in revealed for owner in values
    }
    for r, resp in reveal.unmask_responses.items():
        mine = accused.get(r, set())
        for secret, shares in (
            (SELF_MASK_SEED, resp.self_mask_shares),
            (MASK_KEY, resp.mask_key_shares),
        ):
            for owner, raw in shares.items():
                if (secret, owner) in raws and (owner, secret) not in mine:
                    raws[(secret, owner)].append((r, raw))
    checked = []
    for secret, values in revealed:
        for owner, value in values.items():
            points, malformed = [], {}
            for r, raw in raws[(secret, owner)]:
                try:
                    points.append((roster.index(r) + 1, shamir.share_from_bytes(raw)))
                except ValueError as exc:
                    malformed[f"{r}/{owner}/{secret}"] = f"unaccused bad share: {exc}"
            checked.append((f"{owner}/{secret}", value, sorted(points), malformed))
    # All bases inverted at once; then one interpolant per secret checks every share.
    shamir.precompute_weights(
        [tuple(x for x, _ in p[:threshold]) for _, _, p, _ in checked if len(p) >= threshold]
    )
    for name, value, points, malformed in checked:
        problems.update(malformed)
        if len(points) < threshold:
            continue  # fewer than t shares constrain nothing
        at_zero, off = shamir.off_polynomial(points, threshold)
        if at_zero != int.from_bytes(value, "big") or off:
            problems[name] = (
                "the unaccused shares do not all lie on one polynomial through the revealed secret"
            )
    return problems


def slash_evidence(v: Verification) -> Outcome:
    """Every accusation in the reveal is proven, and every unaccused share is consistent."""
    v.need("unmask_responses", "self_mask_seeds", "dropped_mask_keys")
    roster, reveal = v.documents()
    threshold = v.transcript.params.threshold
    problems: dict[str, str] = {}
    for a, ev in reveal.bad_shares.items():
        if a not in reveal.unmask_responses:
            problems[a] = "accused but not a responder"
            continue
        for e in ev:
            why = check_bad_share(reveal, roster, threshold, a, e.owner, e.secret)
            if why:
                problems[f"{a}/{e.owner}/{e.secret}"] = why
    problems.update(_unaccused_share_problems(roster, reveal, threshold))
    if problems:
        raise CheckFailed(f"{len(problems)} slash evidence problem(s)", {}, problems)
    count = sum(len(ev) for ev in reveal.bad_shares.values())
    return "every bad share proven, every other share consistent", {
        "accused": len(reveal.bad_shares),
        "badShares": count,
    }


def _first_difference(published_blob: bytes, agg: np.ndarray) -> str:
    """'; published blob differs at ...' when the published aggregate parses, else ''."""
    try:
        published = decode_vector(published_blob)
    except FedledgerError:
        return ""
    if published.size != agg.size:
        return ""
    diff = np.flatnonzero(published != agg)
    if not diff.size:
        return ""
    return f"; published blob differs at {diff.size} coordinate(s), first {int(diff[0])}"


def aggregate_recomputed(v: Verification) -> Outcome:
    """The aggregate recomputed from the survivors' blobs and the reveal hashes as on chain."""
    v.need(
        "survivor_commitments",
        "self_mask_seeds",
        "dropped_mask_keys",
        "neighbour_graph",
        "survivors_dropped_partition",
        "local_dropouts",
    )
    t = v.transcript
    assert v.reveal is not None and v.roster is not None and v.ctx is not None
    if v.masked_sum is None:
        raise CheckFailed("cannot check: no survivor vectors")
    agg = recompute_aggregate(
        v.ctx,
        addresses=v.roster.addresses,
        mask_keys_public={b.participant: b.mask_key for b in v.roster.bundles},
        neighbours=v.neighbours,
        survivors=v.reveal.survivors,
        masked_sum=v.masked_sum,
        self_mask_seeds=dict(v.reveal.self_mask_seeds),
        mask_keys=dict(v.reveal.mask_keys),
        length=v.masked_sum.size,
        unmasked=_unmasked(v.reveal),
        engine=v.engine,
    )
    found = to_hex(sha256(encode_vector(agg)))
    expected = to_hex(t.aggregate_hash)
    if found != expected:
        detail = "recomputed aggregate hash differs from the on-chain aggregate hash"
        raise CheckFailed(detail + _first_difference(t.aggregate, agg), expected, found)
    blob_hash = to_hex(sha256(t.aggregate))
    if blob_hash != expected:
        raise CheckFailed(
            "published aggregate blob differs from the on-chain aggregate hash",
            expected,
            blob_hash,
        )
    v.aggregate = agg
    return expected, found


def aggregate_in_range(v: Verification) -> Outcome:
    """Every coordinate of the finalized aggregate is one n clipped, quantized updates produce.

    Runs on the recomputed aggregate, or else on the published one when it hashes to the
    on-chain aggregateHash (what the chain finalized, even when the recomputation failed).
    """
    t = v.transcript
    _, reveal = v.documents()
    agg = v.aggregate
    if agg is None:
        if sha256(t.aggregate) != t.aggregate_hash:
            raise CheckFailed("cannot check: no aggregate recomputed or published")
        agg = decode_vector(t.aggregate)
    n, params = len(reveal.survivors), t.params
    if n < 1:
        raise CheckFailed("cannot check: no survivors")
    if params.ddp is not None:  # protocol 3.4: the sum is read centred, every residue decodes
        return "dpMode 2: every residue mod 2^32 is a valid sum", {"coordinates": int(agg.size - 1)}
    bound = coordinate_bound(n, params)
    expected = f"A[i] <= n * (2^b - 1) = {n} * {params.levels} = {bound} for i >= 1"
    top = int(agg[1:].max()) if agg.size > 1 else 0
    bad = out_of_range(agg, n, params)
    if bad.size:
        raise CheckFailed(
            "the aggregator finalized an aggregate no n clipped updates can produce: "
            f"{bad.size} coordinate(s) out of range, first at index {int(bad[0])}",
            expected,
            {"outOfRange": int(bad.size), "first": int(bad[0]), "max": top},
        )
    return expected, {"max": top}


def model_update(v: Verification) -> Outcome:
    """Old model + decoded aggregate gives the on-chain new model, and both blobs match."""
    v.need("aggregate_recomputed")
    t = v.transcript
    assert v.aggregate is not None and v.reveal is not None
    from fedledger.fl.serialization import apply_aggregate  # numpy + safetensors only

    old = to_hex(sha256(t.old_model))
    if old != to_hex(t.old_model_hash):
        raise CheckFailed(
            "old model blob differs from the on-chain model hash", to_hex(t.old_model_hash), old
        )
    # W is the survivors' committed weights (chain), never the aggregate's element 0.
    weight = sum(t.commitments[u].weight for u in v.reveal.survivors)
    roster, _ = v.documents()
    decoded = decode_aggregate(
        v.aggregate,
        len(v.reveal.survivors),
        t.params,
        total_weight=weight,
        ctx=RoundContext(t.chain_id, t.contract, t.round_id),
        participants=len(roster),
    )
    found = to_hex(sha256(apply_aggregate(t.old_model, decoded)))
    expected = to_hex(t.new_model_hash)
    if found != expected:
        raise CheckFailed(
            "old model + decoded aggregate does not give the on-chain new model",
            expected,
            found,
        )
    blob = to_hex(sha256(t.new_model))
    if blob != expected:
        raise CheckFailed(
            "published new model blob differs from the on-chain new model hash", expected, blob
        )
    return expected, found


def participation(v: Verification) -> Outcome:
    """Survivor and roster counts respect the round's parameters and the modulus capacity."""
    t = v.transcript
    roster, reveal = v.documents()
    found = {
        "roster": len(roster),
        "survivors": len(reveal.survivors),
        "dropped": len(reveal.dropped),
        "unshared": len(reveal.unshared),
    }
    need = max(1, t.min_participants, t.params.threshold)
    roster_need = min_roster(t.min_participants, t.params.threshold)  # RoundLog.postRoster's
    expected = {"survivors_at_least": need, "roster_at_least": roster_need}
    if len(reveal.survivors) < need:
        raise CheckFailed("fewer survivors than max(minParticipants, threshold)", expected, found)
    if len(roster) < roster_need:
        raise CheckFailed(
            "roster smaller than max(minParticipants, threshold + 1)", expected, found
        )
    try:
        t.params.check_capacity(len(reveal.survivors))
    except FedledgerError as exc:
        raise CheckFailed(str(exc), expected, found) from None
    return expected, found


CHECKS = (
    roster_hash,
    roster_signatures,
    neighbour_graph,
    reveal_hash,
    survivors_dropped_partition,
    survivor_commitments,
    local_dropouts,
    self_mask_seeds,
    dropped_mask_keys,
    unmask_responses,
    slash_evidence,
    aggregate_recomputed,
    aggregate_in_range,
    model_update,
    participation,
)
"""The checks of docs/protocol.md 6.C, in the order they run and are reported."""


def verify_round(transcript: PublicTranscript, *, engine: Engine | None = None) -> Report:
    """Run every check of docs/protocol.md section 6; never raises for a bad round.

    Masked vectors are read from `transcript.masked_vectors` one at a time and summed;
    mask regeneration runs on `engine` (default: inline).
    """
    checks = run_checks(CHECKS, Verification(transcript, engine=engine))
    return Report(round_id=transcript.round_id, checks=checks)
