"""Compile contracts/ into python/fedledger/chain/artifacts/ (see fedledger.chain.compile)."""

from __future__ import annotations

import argparse
import sys
import time

from fedledger.chain.compile import ARTIFACTS_DIR, compile_all, resolve_solc, write_artifacts
from fedledger.errors import FedledgerError


def main() -> int:
    """Compile and write the artifacts; print what was used and written."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    try:
        compiler = resolve_solc()
        print(f"solc {compiler.version} ({compiler.origin}: {compiler.binary})")
        started = time.monotonic()
        artifacts = compile_all(compiler)
        for path in write_artifacts(artifacts, ARTIFACTS_DIR):
            size = (len(artifacts[path.stem]["deployedBytecode"]) - 2) // 2
            print(f"wrote {path} (runtime {size} bytes)")
        print(f"compiled in {time.monotonic() - started:.1f} s")
    except FedledgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
