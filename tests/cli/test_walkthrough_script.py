"""scripts/walkthrough.sh runs the README's by-hand walkthrough: the same commands and flags."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "# --- README walkthrough begin ---\n", "# --- README walkthrough end ---\n"


def _script_block() -> str:
    text = (ROOT / "scripts" / "walkthrough.sh").read_text()
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def _readme_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running a federation on a devnet, by hand", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "README: no bash block in the by-hand walkthrough"
    return match.group(1)


def test_the_readme_walkthrough_and_the_script_run_the_same_commands() -> None:
    assert _readme_block() == _script_block()


def test_the_walkthrough_drops_one_node_at_masked_input_in_round_2_and_audits_all_rounds() -> None:
    block = _script_block()

    assert "--drop-at masked_input --drop-round 2" in block
    assert "--rounds 3" in block and "fedledger audit verify" in block and "--all" in block
    assert "keygen --plaintext" in block  # devnet keys: no password prompt in a script


def test_the_walkthrough_script_is_executable() -> None:
    assert (ROOT / "scripts" / "walkthrough.sh").stat().st_mode & 0o111
