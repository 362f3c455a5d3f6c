"""The config schema: the shipped config passes; each kind of bad value is
rejected with a message that names the key."""

import copy
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from config_check import ConfigError, validate_config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_shipped_configs_are_valid(config):
    validate_config(config, SCHEMA)
    validate_config(yaml.safe_load((ROOT / "tests" / "workflow" / "config_tiny.yaml").read_text()), SCHEMA)


def set_key(config, dotted, value):
    out = copy.deepcopy(config)
    *parents, last = dotted.split(".")
    node = out
    for p in parents:
        node = node[p]
    node[last] = value
    return out


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("em.restarts", "ten", "em.restarts"),  # wrong type
        ("em.restarts", 0, "em.restarts"),  # out of range
        ("data.n", 2.5, "data.n"),
        ("kde.sigma_min", -1.0, "kde.sigma_min"),
        ("seed", -3, "seed"),
        ("net_id", "../x", "net_id"),  # unsafe file stem
        ("net_id", "", "net_id"),
        ("net_id", "a b", "net_id"),
        ("data.R", [], "data.R"),
        ("kde.R", 3, "kde.R"),  # not one of data.R
        ("kde.sigma_max", 0.001, "kde.sigma_min"),  # min >= max
        ("vi.kl.p_weights", [0.5, 0.6], "vi.kl.p_weights"),  # do not sum to one
        ("vi.kl.p_means", [0.0], "vi.kl.p_means"),  # lengths differ
        ("vi.kl.x_max", -20.0, "vi.kl.x_min"),
        ("vi.sweep.K_max", 5, "vi.sweep"),
    ],
)
def test_bad_values_name_the_key(config, key, value, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(set_key(config, key, value), SCHEMA)
    assert expected in str(err.value)


def test_unknown_keys_are_named(config):
    bad = copy.deepcopy(config)
    bad["em"]["restart"] = 3  # a typo of `restarts`
    bad["colour"] = "red"
    with pytest.raises(ConfigError) as err:
        validate_config(bad, SCHEMA)
    assert "em.restart" in str(err.value) and "colour" in str(err.value)


def test_missing_key_is_named(config):
    bad = copy.deepcopy(config)
    del bad["em"]["tol"]
    with pytest.raises(ConfigError, match="tol"):
        validate_config(bad, SCHEMA)


def test_python_vi_py_defaults_are_the_config(config):
    """`python VI.py` (the grader's run) must recompute the numbers of the PDF: VI.Settings,
    one dataclass per section, holds the config's keys in the config's order and its values."""
    import VI
    from rule_helpers import analysis_config
    from vi_build import differences_from_defaults

    defaults = asdict(VI.Settings())
    analysis = analysis_config(config)
    assert list(defaults) == list(analysis)
    for section, values in analysis.items():
        if isinstance(values, dict):
            assert list(defaults[section]) == list(values), f"VI.Settings.{section} lists other keys than config {section}"
    assert differences_from_defaults(defaults, analysis) == []
    changed = copy.deepcopy(analysis)
    changed["vi"]["kl"]["q_sd"] = 0.6
    changed["data"]["R"] = [10, 2]
    assert differences_from_defaults(defaults, changed) == ["data.R", "vi.kl.q_sd"]


def test_settings_from_config_fills_the_tree_and_names_unknown_keys(config):
    import VI
    from vi_build import settings_from_config

    s = settings_from_config(VI, {"data": {"R": [10, 2]}, "ebm": {"width": 8}}, seed=5)
    assert (s.seed, s.data.R, s.data.K, s.ebm.width, s.ebm.lr) == (5, (10, 2), 10, 8, 0.03)
    with pytest.raises(KeyError, match="EMSettings has no setting restart"):
        settings_from_config(VI, {"em": {"restart": 3}})
