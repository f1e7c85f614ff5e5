"""RoundConfig: replace (unknown names refused by name), the round rules, its secagg params."""

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


def test_round_rules_are_round_log_s_roster_and_survivor_minimums() -> None:
    config = DEFAULT_ROUND_CONFIG.replace(min_participants=3, threshold=4)
    assert (config.min_roster, config.min_survivors) == (5, 4)  # threshold + 1, threshold
    config = DEFAULT_ROUND_CONFIG.replace(min_participants=9, threshold=4)
    assert (config.min_roster, config.min_survivors) == (9, 9)


def test_secagg_params_come_from_the_config_snapshot() -> None:
    params = DEFAULT_ROUND_CONFIG.secagg_params()
    assert (params.neighbours, params.threshold) == (6, 4)
    assert params.clip_range == 0.5 and params.quant_bits == 16 and params.max_weight == 4096
