"""RoundConfig.replace: a copy with named fields changed; unknown names are refused by name."""

from __future__ import annotations

import pytest

from fedledger.chain import DEFAULT_ROUND_CONFIG
from fedledger.errors import ConfigError


def test_replace_changes_only_the_named_fields() -> None:
    changed = DEFAULT_ROUND_CONFIG.replace(neighbours=3, threshold=2)

    assert (changed.neighbours, changed.threshold) == (3, 2)
    rest = {k: v for k, v in changed.to_json().items() if k not in ("neighbours", "threshold")}
    default = DEFAULT_ROUND_CONFIG.to_json()
    assert rest == {k: default[k] for k in rest}
    assert DEFAULT_ROUND_CONFIG.neighbours != 3  # the original is untouched


def test_replace_refuses_an_unknown_field_by_name() -> None:
    with pytest.raises(ConfigError, match="neighbors"):
        DEFAULT_ROUND_CONFIG.replace(neighbors=3)
