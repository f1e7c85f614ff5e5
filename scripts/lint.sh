#!/usr/bin/env bash
# Quality gate, the same locally and in CI: ruff lint, ruff format check, mypy, import layers.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
.venv/bin/ruff check python tests scripts
.venv/bin/ruff format --check python tests scripts
.venv/bin/mypy
.venv/bin/lint-imports
