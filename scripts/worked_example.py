"""Print docs/protocol.md section 7: one small round (n=3, d=4, k=2, t=2) with every value.

Everything is derived from fixed labels, so the output is reproducible and stays true to the
code: `python scripts/worked_example.py --write` replaces the section in docs/protocol.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fedledger.chain.accounts import derive_accounts
from fedledger.encoding import sha256, to_hex
from fedledger.fl.serialization import apply_aggregate, flatten_model, model_to_bytes
from fedledger.secagg.commitments import Commitment, seed_commitment
from fedledger.secagg.crypto.kdf import GRAPH_INFO, PRG_PAIRWISE_INFO, PRG_SELF_INFO
from fedledger.secagg.crypto.keys import clamp, public_from_private
from fedledger.secagg.crypto.prg import prg_key, prg_uint32
from fedledger.secagg.graph import NeighbourGraph, build_graph
from fedledger.secagg.masking import apply_masks, pair_sign, pairwise_seed, recompute_aggregate
from fedledger.secagg.messages import KeyBundle, Reveal, Roster
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.quantize import decode_sum, quantize
from fedledger.secagg.transcript import PublicTranscript
from fedledger.secagg.vectors import encode_vector
from fedledger.secagg.verify import verify_round

BEGIN, END = "<!-- worked-example:begin -->", "<!-- worked-example:end -->"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def label(text: str) -> bytes:
    """A fixed 32-byte value derived from a label (stands in for os.urandom in this example)."""
    return sha256(b"fedledger/worked-example/" + text.encode())


def vec(v: np.ndarray) -> str:
    return "[" + ", ".join(str(int(x)) for x in v) + "]"


def edge_list(graph: NeighbourGraph) -> str:
    """The ASCII the graph digest hashes: "i-j," per edge i < j, ascending, last comma kept."""
    return "".join(f"{i}-{j}," for i, adj in enumerate(graph.adjacency) for j in adj if i < j)


def shuffle_trace(n: int, seed: bytes) -> list[tuple[int, int, int]]:
    """(i, r, j) of each Fisher-Yates step of §4.5's shuffle (this seed draws no rejected word)."""
    stream = Cipher(algorithms.AES(prg_key(seed, GRAPH_INFO)), modes.CTR(bytes(16))).encryptor()
    steps = []
    for i in range(n - 1, 0, -1):
        limit = (1 << 64) - ((1 << 64) % (i + 1))
        r = int.from_bytes(stream.update(bytes(8)), "little")
        assert r < limit, "a rejected word: the text below says none is"
        steps.append((i, r, r % (i + 1)))
    return steps


def incomplete_graphs(seed: bytes) -> str:
    """Two graphs on the round seed that are not complete: the shuffle and the circulant."""
    out = [
        "**Graphs that are not complete** (same round seed; §4.5). For n = 7, k = 4 the "
        "shuffle draws, for i = 6 down to 1, a little-endian uint64 word r (none is rejected "
        "here) and swaps positions i and j = r mod (i + 1):\n",
        "| i | r | j |\n|---|---|---|",
    ]
    out += [f"| {i} | `{r}` | {j} |" for i, r, j in shuffle_trace(7, seed)]
    out.append("")
    out.append(
        "| n | k | degree D | ring (roster index at each position) | adjacency | "
        "edge list | digest |\n|---|---|---|---|---|---|---|"
    )
    for n, k in ((7, 4), (7, 3), (6, 3)):
        g = build_graph(n, k, seed)
        out.append(
            f"| {n} | {k} | {g.degree} | `{list(g.ring)}` | `{[list(a) for a in g.adjacency]}` | "
            f"`{edge_list(g)}` | `{g.digest()}` |"
        )
    out.append(
        "\nn = 7, k = 3: k and n are odd, so D = k + 1 = 4 (the same graph as k = 4). "
        "n = 6, k = 3: D is odd, so each position is also joined to the one opposite it "
        "(p + n/2). The digest is the sha256 of the edge list's ASCII bytes; every pair, "
        "the last one too, ends with a comma.\n"
    )
    return "\n".join(out)


def build() -> str:
    """The section's markdown."""
    params = SecAggParams(neighbours=2, threshold=2, clip_range=0.5, quant_bits=16, max_weight=4096)
    ctx = RoundContext(31337, CONTRACT, 1)
    seed = label("round-seed")
    accounts = sorted(derive_accounts(b"worked-example", 3), key=lambda a: int(a.address, 16))
    names = ["A", "B", "C"]
    addr = [a.address for a in accounts]
    mask_sk = [clamp(label(f"mask-{n}")) for n in names]
    mask_pk = [public_from_private(k) for k in mask_sk]
    chan_pk = [public_from_private(clamp(label(f"channel-{n}"))) for n in names]
    self_seed = [label(f"self-{n}") for n in names]
    deltas = [
        np.array([0.10, -0.20, 0.05, 0.00]),
        np.array([-0.05, 0.15, 0.10, 0.20]),
        np.array([0.30, 0.30, -0.30, 0.10]),
    ]
    examples = [1000, 3000, 2000]
    old_model = model_to_bytes({"w": np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)})
    length = 5
    out: list[str] = []
    p = out.append

    p(
        "Parameters: n = 3, d = 4 (vector length d + 1 = 5), k = "
        "2, t = 2, clipping c = 0.5, b = 16 bits,"
    )
    p(
        f"M = {params.max_weight}, modulus 2^32. Context: chain id "
        f"{ctx.chain_id}, RoundLog `{ctx.contract}`,"
    )
    p(
        'round 1. Secrets below come from fixed labels (`sha256("fedledger/worked-example/" '
        "|| label)`)"
    )
    p(
        "instead of `os.urandom`, so anyone can regenerate this "
        "section with `scripts/worked_example.py`."
    )
    p(
        "C shares keys but never commits (it drops at stage 3), "
        "so the example shows both unmasking paths."
    )
    p(
        "The model is one float32 tensor named `w` of shape (4,), stored as canonical "
        "safetensors (formats.md).\n"
    )
    p("**Participants** (roster order = ascending 20-byte address):\n")
    p("| | address | s_pk (mask key) | b_u (self-mask seed) |\n|---|---|---|---|")
    for i, n in enumerate(names):
        p(f"| {n} | `{addr[i]}` | `{to_hex(mask_pk[i])}` | `{to_hex(self_seed[i])}` |")
    graph = build_graph(3, params.neighbours, seed)
    p(
        f"\n**Round seed** `{to_hex(seed)}` (on chain: `keccak256(abi.encode(blockhash(open-1), "
        "chainid, RoundLog, round))`)."
    )
    p(
        f"**Graph**: n = 3, k = 2 >= n - 1, so it is complete: degree {graph.degree}, adjacency "
        f"{[list(a) for a in graph.adjacency]}, edge list `{edge_list(graph)}`, digest "
        f"`{graph.digest()}`.\n"
    )
    p(incomplete_graphs(seed))

    p(
        "**Pairwise seeds** s_uv = HKDF-SHA256(X25519(s_u, s_v), "
        "PAIRWISE_INFO || ctx || lower || higher); "
        "sign(u, v) = +1 when u's address sorts below v's:\n"
    )
    p("| pair | s_uv | PRG(s_uv) (uint32 words) |\n|---|---|---|")
    pair_seeds = {}
    for i in range(3):
        for j in range(i + 1, 3):
            s = pairwise_seed(ctx, mask_sk[i], mask_pk[j], addr[i], addr[j])
            assert s == pairwise_seed(ctx, mask_sk[j], mask_pk[i], addr[j], addr[i])
            pair_seeds[(i, j)] = s
            p(
                f"| {names[i]}-{names[j]} | `{to_hex(s)}` | "
                f"{vec(prg_uint32(s, PRG_PAIRWISE_INFO, length))} |"
            )

    rng = np.random.Generator(np.random.PCG64(7))  # stochastic rounding only; masks never use numpy
    p(
        "\n**Quantization** x_u = [w_u, q_1..q_4], w_u = min(examples, M), "
        "q_i = floor((clip(w_u/M * delta_i, -c, c) + c) * (2^b-1)/(2c) + U_i):\n"
    )
    p("| | delta_u | examples | x_u | PRG(b_u) | y_u (masked) |\n|---|---|---|---|---|---|")
    xs, ys, commits, blobs = {}, {}, {}, {}
    for i, n in enumerate(names):
        x = quantize(deltas[i], examples[i], params, rng=rng)
        pairs = [
            (pair_seeds[tuple(sorted((i, j)))], pair_sign(addr[i], addr[j]))
            for j in range(3)
            if j != i
        ]  # type: ignore[index]
        y = apply_masks(x, self_seed[i], pairs)
        xs[n], ys[n] = x, y
        committed = "" if n == "C" else " "
        p(
            f"| {n} | {[float(v) for v in deltas[i]]} | {examples[i]} "
            f"| {vec(x)} | {vec(prg_uint32(self_seed[i], PRG_SELF_INFO, length))} | "
            f"{vec(y) if committed else '(never sent)'} |"
        )
        if n != "C":
            blob = encode_vector(y)
            blobs[sha256(blob).hex()] = blob
            seed_c = seed_commitment(self_seed[i], 1, addr[i])
            commits[addr[i]] = Commitment(sha256(blob), seed_c, int(x[0]))
    p(
        "\nEach y_u = x_u + PRG(b_u) + sum_v sign(u,v) * PRG(s_uv) mod 2^32. "
        "PRG(seed, info) is the keystream of §4.4 under the key HKDF-SHA256(seed, info) "
        "(empty salt), IV = 0, read as little-endian uint32 words.\n"
    )
    p(
        "**On-chain commitments** (`commit(round, maskedHash, seedCommitment, weight)` from A "
        "and B, weight = x_u[0]):\n"
    )
    for (a, c), n in zip(commits.items(), names, strict=False):
        p(
            f"- `{a}`: maskedHash `{to_hex(c.masked_hash)}`, seedCommitment "
            f"= sha256(b_u || uint256(1) || address) = `{to_hex(c.seed_commitment)}`, "
            f"weight {int(xs[n][0])}"
        )

    roster = Roster.build(
        ctx,
        [
            KeyBundle.create(
                ctx, accounts[i].key, addr[i], channel_key=chan_pk[i], mask_key=mask_pk[i]
            )
            for i in range(3)
        ],
    )
    reveal = Reveal(
        ctx,
        (addr[0], addr[1]),
        (addr[2],),
        (),
        {addr[0]: self_seed[0], addr[1]: self_seed[1]},
        {addr[2]: mask_sk[2]},
    )
    p(
        f"\n**Roster blob** sha256 `{to_hex(roster.hash())}` ({len(roster.to_bytes())} "
        "bytes of canonical JSON, three EIP-712-signed bundles)."
    )
    p(
        f"**Reveal blob** sha256 `{to_hex(reveal.hash())}`: survivors "
        f"A, B with their b_u; dropped C with s_C^SK = `{to_hex(mask_sk[2])}` "
        f"(whose X25519 public key is C's signed maskKey).\n"
    )
    neighbours = {addr[i]: [addr[j] for j in graph.neighbours(i)] for i in range(3)}
    agg = recompute_aggregate(
        ctx,
        addresses=roster.addresses,
        mask_keys_public=dict(zip(addr, mask_pk, strict=True)),
        neighbours=neighbours,
        survivors=[addr[0], addr[1]],
        vectors={addr[0]: ys["A"], addr[1]: ys["B"]},
        self_mask_seeds=dict(reveal.self_mask_seeds),
        mask_keys=dict(reveal.mask_keys),
        length=length,
    )
    assert np.array_equal(agg, xs["A"] + xs["B"])
    agg_blob = encode_vector(agg)
    p(
        "**Unmasking**: aggregate = y_A + y_B - PRG(b_A) - PRG(b_B) "
        "- sign(A,C) PRG(s_AC) - sign(B,C) PRG(s_BC) mod 2^32, "
        "where s_AC and s_BC are recomputed from the revealed s_C^SK "
        "and A's and B's signed mask keys:\n"
    )
    p(f"- aggregate = {vec(agg)} (= x_A + x_B), blob sha256 `{to_hex(sha256(agg_blob))}`")
    weight = sum(c.weight for c in commits.values())
    decoded = decode_sum(agg, 2, params, total_weight=weight)
    p(
        f"- decoded: W = the survivors' on-chain committed weights = "
        f"{' + '.join(str(c.weight) for c in commits.values())} = {decoded.total_weight} "
        f"(agg[0] = {int(agg[0])} is never read); S = M * (agg[1:] * 2c/(2^b-1) - n*c) = "
        f"{[float(f'{v:.9g}') for v in decoded.weighted_sum]} (float64, "
        "in exactly that order of operations)"
    )
    new_model = apply_aggregate(old_model, decoded)
    p(
        "- model update (FedAvg, see formats.md): old model "
        f"{list(map(float, flatten_model(old_model)))} "
        f"(sha256 `{to_hex(sha256(old_model))}`) -> new model "
        f"{[float(f'{v:.9g}') for v in flatten_model(new_model)]} "
        f"(sha256 `{to_hex(sha256(new_model))}`)\n"
    )
    transcript = PublicTranscript(
        chain_id=ctx.chain_id,
        contract=ctx.contract,
        round_id=1,
        seed=seed,
        params=params,
        min_participants=2,
        roster=roster.to_bytes(),
        roster_hash=roster.hash(),
        commitments=commits,
        masked_vectors=blobs,
        reveal=reveal.to_bytes(),
        reveal_hash=reveal.hash(),
        survivors=[addr[0], addr[1]],
        aggregate=agg_blob,
        aggregate_hash=sha256(agg_blob),
        old_model=old_model,
        old_model_hash=sha256(old_model),
        new_model=new_model,
        new_model_hash=sha256(new_model),
    )
    report = verify_round(transcript)
    assert report.ok, report.failed
    p(
        f"`verify_round` on this transcript passes all {len(report.checks)} cryptographic checks: "
        + ", ".join(f"`{c.name}`" for c in report.checks)
        + "."
    )
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--write", action="store_true", help="replace section 7 of docs/protocol.md"
    )
    args = parser.parse_args()
    text = build()
    if not args.write:
        sys.stdout.write(text)
        return 0
    doc = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
    body = doc.read_text()
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in body:
        body = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, body, flags=re.S)
    else:
        body = body.replace("*(owner: audit) a small round with every intermediate value.*", block)
    doc.write_text(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
