#!/usr/bin/env bash
# Stop the devnet started by start.sh / `fedledger devnet start`; anvil saves its state on exit.
# Usage: stop.sh [state-dir]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
state_dir=${1:-${FEDLEDGER_DEVNET_DIR:-$data_home/fedledger/devnet}}
pid_file=$state_dir/anvil.pid
if [ ! -f "$pid_file" ] || ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "devnet not running"; rm -f "$pid_file"; exit 0
fi
pid=$(cat "$pid_file")
kill -TERM "$pid"
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
rm -f "$pid_file"
echo "devnet stopped (state in $state_dir/state.json)"
