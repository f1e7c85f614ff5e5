#!/usr/bin/env bash
# The README's "Running a federation on a devnet, by hand", as one script: a devnet, a
# deployment, six participants with their own keys, a coordinator and six node processes for
# three rounds; node 0 drops at the masked-input stage of round 2 and rejoins in round 3.
# Then `fedledger audit verify --all`; the seconds per round are printed last.
#
#   scripts/walkthrough.sh            # in a fresh temporary folder (kept: its path is printed)
#
# The block between the two markers is the README's, byte for byte
# (tests/cli/test_walkthrough_script.py keeps them identical).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
work=$(mktemp -d "${TMPDIR:-/tmp}/fedledger-walkthrough-XXXXXX")
free_port() { "$repo/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export CHAIN_PORT=${CHAIN_PORT:-$(free_port)} API_PORT=${API_PORT:-$(free_port)}
export FEDLEDGER_DEVNET_DIR=$work/devnet   # this run's chain, not the user's devnet
echo "walkthrough in $work (chain :$CHAIN_PORT, coordinator :$API_PORT)" >&2
cleanup() {
  [ -n "${coordinator:-}" ] && kill "$coordinator" 2>/dev/null || true
  fedledger devnet stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
started=$(date +%s)
cd "$work" && ln -s "$repo/.venv" .venv

# --- README walkthrough begin ---
. .venv/bin/activate
CHAIN_PORT=${CHAIN_PORT:-8545} API_PORT=${API_PORT:-8600} NODES=6
RPC=http://127.0.0.1:$CHAIN_PORT API=http://127.0.0.1:$API_PORT
fedledger devnet start --port "$CHAIN_PORT"   # anvil, chain id 31337, state kept (docs/operations.md)
fedledger deploy --rpc "$RPC" --out deployment.json --force   # devnet windows: 30 s + 30 s
# The registrar (devnet account 0, whose key is public: it comes from the test mnemonic)
# allows each participant's new key and sends it 1 ETH for gas.
export FEDLEDGER_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
mkdir -p keys
addresses=()
for i in $(seq 0 $((NODES - 1))); do   # --plaintext: devnet keys (a keystore needs a password)
  addresses+=("$(fedledger participants keygen --plaintext --force --out "keys/node$i.key" |
    python -c 'import json, sys; print(json.load(sys.stdin)["address"])')")
done
fedledger participants register "${addresses[@]}" --fund 1 --rpc "$RPC" --deployment deployment.json
fedledger data split --dataset digits --participants "$NODES" --alpha 0.5 --out parts/
fedledger coordinator run --rpc "$RPC" --deployment deployment.json --state-dir coord/ \
    --aggregator-index 0 --port "$API_PORT" --rounds 3 2> coordinator.log &
coordinator=$!
until curl -sf "$API/healthz" > /dev/null; do sleep 1; done   # up once it serves /healthz
nodes=()
for i in $(seq 0 $((NODES - 1))); do
  drop=()   # node 0 goes silent at the masked-input stage of round 2, and is back in round 3
  if [ "$i" = 0 ]; then drop=(--drop-at masked_input --drop-round 2); fi
  fedledger node run --coordinator "$API" --rpc "$RPC" --deployment deployment.json \
      --key-file "keys/node$i.key" --partition "parts/participant-$i.npz" --rounds 3 \
      "${drop[@]}" > "node$i.json" 2> "node$i.log" &
  nodes+=($!)
done
wait "${nodes[@]}"   # each node exits 0 after its 3 rounds; node$i.json is its summary
fedledger audit verify --rpc "$RPC" --deployment deployment.json --store "$API" --all
kill "$coordinator"
fedledger devnet stop
# --- README walkthrough end ---

coordinator=""
python - "$work/coord" "$started" <<'PY'
"""Per round: outcome and reason from its report, and its seconds from open to done."""
import json, sys, time
from pathlib import Path

coord, started = Path(sys.argv[1]), float(sys.argv[2])
index = json.loads((coord / "reports.json").read_text())["reports"]
for rid in sorted(index, key=int):
    name = index[rid]
    report = json.loads((coord / "blobs" / name[:2] / name[2:4] / name).read_bytes())
    times = report["times"]
    why = f" ({report['reason']})" if report.get("reason") else ""
    print(f"round {rid}: {report['outcome']}{why}, {times['done'] - times['opened']:.1f} s")
print(f"walkthrough: {time.time() - started:.0f} s in all")
PY
