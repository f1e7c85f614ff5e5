#!/usr/bin/env bash
# The README's main command: set everything up, then run `fedledger demo` on the
# embedded chain. Extra arguments go to `fedledger demo`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
exec .venv/bin/fedledger demo "$@"
