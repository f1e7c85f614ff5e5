#!/usr/bin/env bash
# One-shot, idempotent set-up: Python venv + package, pinned npm toolchain, and
# (with --browser) Debian chromium for the dashboard tests. Safe to re-run: each
# step is skipped when its inputs have not changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option '$arg' (known: --browser)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Python: a venv in .venv, re-installed only when pyproject.toml changes.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.fedledger-setup
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  log "installing Python dependencies (torch 2.13.0 CPU, web3, eth-tester, ...)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

# Node toolchain: anvil, solc-js and OpenZeppelin, exactly as the lock file pins them.
if ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs + npm from Debian"
  apt_install nodejs npm
fi
npm_stamp=hardhat-free-devnet/node_modules/.fedledger-setup
npm_want=$(sha256sum hardhat-free-devnet/package-lock.json | cut -c1-16)
if [ "$(cat "$npm_stamp" 2>/dev/null || true)" != "$npm_want" ]; then
  log "npm ci in hardhat-free-devnet (anvil, solc-js, @openzeppelin/contracts)"
  (cd hardhat-free-devnet && npm ci --no-audit --no-fund --loglevel=error)
  echo "$npm_want" > "$npm_stamp"
fi

# Headless browser for the dashboard test.
if [ "$want_browser" -eq 1 ]; then
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    log "installing Debian chromium + chromium-driver"
    apt_install chromium chromium-driver
  fi
fi
log "ready"
