#!/usr/bin/env bash
# Start the fedledger devnet: anvil on 127.0.0.1, chain id 31337, the test mnemonic,
# state persisted in STATE_DIR (default as `fedledger devnet start`: $FEDLEDGER_DEVNET_DIR,
# else ${XDG_DATA_HOME:-~/.local/share}/fedledger/devnet) so a restart keeps
# contracts and history. Same files as `fedledger devnet start`. Usage: start.sh [port] [state-dir]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=${1:-8545}
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
state_dir=${2:-${FEDLEDGER_DEVNET_DIR:-$data_home/fedledger/devnet}}
anvil=$here/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
[ -x "$anvil" ] || { echo "error: anvil missing; run npm ci in $here" >&2; exit 1; }
mkdir -p "$state_dir"
if [ -f "$state_dir/anvil.pid" ] && kill -0 "$(cat "$state_dir/anvil.pid")" 2>/dev/null; then
  echo "error: devnet already running (pid $(cat "$state_dir/anvil.pid"))" >&2; exit 1
fi
setsid "$anvil" --host 127.0.0.1 --port "$port" --chain-id 31337 \
  --mnemonic "test test test test test test test test test test test junk" \
  --state "$state_dir/state.json" --state-interval 60 --block-time 1 --mixed-mining \
  >>"$state_dir/anvil.log" 2>&1 </dev/null &
echo $! >"$state_dir/anvil.pid"
echo "$port" >"$state_dir/anvil.port"
for _ in $(seq 1 300); do
  if curl -s -X POST -H 'content-type: application/json' \
       --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' \
       "http://127.0.0.1:$port" >/dev/null 2>&1; then
    echo "devnet running: http://127.0.0.1:$port (chain id 31337, pid $(cat "$state_dir/anvil.pid"))"
    exit 0
  fi
  kill -0 "$(cat "$state_dir/anvil.pid")" 2>/dev/null || { echo "error: anvil exited; see $state_dir/anvil.log" >&2; exit 1; }
  sleep 0.1
done
echo "error: anvil did not answer on port $port" >&2
exit 1
