#!/usr/bin/env bash
# The README's test command: set everything up, run the quality gate, then every test.
# Extra arguments go to pytest (e.g. scripts/test.sh -k secagg).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh --browser
bash scripts/lint.sh
exec .venv/bin/python -m pytest "$@"
