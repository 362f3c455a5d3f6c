"""The config check: the shipped configs pass; each kind of bad value is refused with
one line naming the key and where the value came from; an accepted configuration is
put in one canonical form whatever the spelling and order of its values."""

import copy
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

import config_check
from config_check import ConfigError, check_config, validate_config
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("student.net_id", "../x", "student.net_id"),  # unsafe file stem
        ("student.net_id", "", "student.net_id"),
        ("student.net_id", "a b", "student.net_id"),
        ("data.R", [], "data.R"),
        ("kde.R", 3, "kde.R"),  # not one of data.R
        ("kde.sigma_max", 0.001, "kde.sigma_min"),  # min >= max
        ("vi.kl.p_weights", [0.5, 0.6], "vi.kl.p_weights"),  # do not sum to one
        ("vi.kl.p_means", [0.0], "vi.kl.p_means"),  # lengths differ
        ("vi.kl.x_max", -20.0, "vi.kl.x_min"),
        ("vi.sweep.K_max", 5, "vi.sweep"),
        ("vi.sweep.K_max", 10, "vi.sweep"),  # K_min == K_max: no sweep
        # not finite
        ("em.tol", float("nan"), "em.tol: nan is not a finite number"),
        ("kde.sigma_max", float("inf"), "kde.sigma_max: inf is not a finite number"),
        ("ebm.lr", float("nan"), "ebm.lr"),
        ("ebm.base_var", float("inf"), "ebm.base_var"),
        ("ebm.weight_decay", float("nan"), "ebm.weight_decay"),
        ("ebm.quadrature_margin", float("inf"), "ebm.quadrature_margin"),
        ("vi.sweep.R", float("nan"), "vi.sweep.R"),
        ("vi.kl.q_sd", float("nan"), "vi.kl.q_sd"),
        ("vi.kl.p_weights", [float("nan"), 1.0], "vi.kl.p_weights[0]: nan"),
        ("data.R", [10, float("nan")], "data.R[1]: nan"),
        ("data.n", float("nan"), "data.n: nan"),
        # counts: an integer value, never a fraction or a boolean
        ("data.K", 10.5, "data.K"),
        ("ebm.steps", True, "ebm.steps"),
        ("data.K", 1, "at least two components"),
        ("data.K", 2000, "data.n: 1000 is smaller than data.K"),
        # radii that share a file tag
        ("data.R", [10, 10.0000001], "same radius"),
        # anchored names
        ("student.net_id", "abc\n", "student.net_id: 'abc\\n' is not allowed: the NetID, also the file stem"),
        ("student.name", "Ada\n", "student.name"),
        ("student.net_id", "a" * 65, "student.net_id"),
        ("robustness.seeds", [1, 2021], "robustness.seeds: 2021 is the report's own seed"),
        ("vi.kl.q_mean", 40.0, "vi.kl: the grid"),
    ],
)
def test_bad_values_name_the_key(config, key, value, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(set_key(config, key, value), SCHEMA)
    assert expected in str(err.value)


def test_one_line_per_problem_with_its_source(config, tmp_path):
    """Each problem names the key and the layer it came from: config.yaml, a --configfile, --config."""
    user = tmp_path / "mine.yaml"
    user.write_text("em: {tol: .nan}\n")
    bad = set_key(set_key(config, "em.tol", float("nan")), "data.n", 20.5)
    bad["kde"]["sigma_num"] = 1
    sources = config_check.command_line_sources([user], {"kde": {"sigma_num": 1}})
    sources[0] = ("config/config.yaml", config)
    with pytest.raises(ConfigError) as err:
        check_config(bad, SCHEMA, sources)
    lines = [line for line in str(err.value).splitlines() if line.startswith("  - ")]
    assert len(lines) == 3
    assert any("em.tol" in line and "--configfile" in line and "mine.yaml" in line for line in lines)
    assert any("kde.sigma_num" in line and "[from --config]" in line for line in lines)
    assert any("data.n" in line and "[from config/config.yaml]" in line for line in lines)
    assert "Traceback" not in str(err.value)


def test_duplicate_and_empty_variants_are_refused(config):
    bad = copy.deepcopy(config)
    bad["ebm"]["variants"]["tanh_again"] = {"activation": "tanh"}
    with pytest.raises(ConfigError, match="tanh_again trains the same model as ebm.variants.tanh"):
        validate_config(bad, SCHEMA)
    same = copy.deepcopy(config)
    same["ebm"]["variants"]["relu"] = {"activation": "relu"}  # the default already
    with pytest.raises(ConfigError, match="ebm.variants.relu: .* changes nothing"):
        validate_config(same, SCHEMA)
    # equal after normalisation: 16.0 is the count 16
    spelled = copy.deepcopy(config)
    spelled["ebm"]["variants"]["w16"] = {"width": 16.0}
    with pytest.raises(ConfigError, match="width_16 trains the same model as ebm.variants.w16"):
        validate_config(spelled, SCHEMA)


def test_numbers_written_as_text_get_the_schema_type(config):
    """`--config 'em={tol: 0.001}'` arrives as strings from Snakemake's parser, and YAML reads `1e-9` (no dot) as text."""
    assert config_check.number_from_text(".nan") != config_check.number_from_text(".nan")  # NaN, then refused
    assert config_check.number_from_text("1e-9") == 1e-9 and config_check.number_from_text("ten") == "ten"
    cli = {"em": {"tol": "0.001", "restarts": "3"}, "data": {"R": ["10", "2.5"]}}
    merged = copy.deepcopy(config)
    merged["em"].update(cli["em"])
    merged["data"]["R"] = ["10", "2.5"]
    merged["kde"]["R"] = 10
    out = check_config(merged, SCHEMA, [("config/config.yaml", config), ("--config", cli)])
    assert out["em"] == {"restarts": 3, "max_iter": config["em"]["max_iter"], "tol": 0.001}
    assert out["data"]["R"] == [10.0, 2.5]
    # text that is no number is refused, naming the key
    with pytest.raises(ConfigError, match="em.tol: 'ten'"):
        check_config(set_key(config, "em.tol", "ten"), SCHEMA)


def test_canonical_form_has_schema_order_and_types(config):
    out = check_config(config, SCHEMA)
    assert list(out) == ["student", "seed", "data", "em", "kde", "ebm", "vi", "robustness", "report"]
    assert out["data"]["R"] == [10.0, 1.0] and all(type(r) is float for r in out["data"]["R"])
    assert type(out["data"]["K"]) is int and type(out["kde"]["R"]) is float
    assert list(out["ebm"]["variants"]) == sorted(config["ebm"]["variants"])
    assert out["seed"] == 2021 and type(out["seed"]) is int


def shuffled(tree, draw):
    """`tree` with every mapping's keys in an order drawn by hypothesis."""
    if isinstance(tree, dict):
        keys = draw(st.permutations(list(tree)))
        return {k: shuffled(tree[k], draw) for k in keys}
    if isinstance(tree, list):
        return [shuffled(v, draw) for v in tree]
    return tree


def respelled(tree, draw):
    """`tree` with numbers respelled: 10 <-> 10.0, a float through its YAML text and back."""
    if isinstance(tree, dict):
        return {k: respelled(v, draw) for k, v in tree.items()}
    if isinstance(tree, list):
        return [respelled(v, draw) for v in tree]
    if isinstance(tree, bool) or not isinstance(tree, (int, float)):
        return tree
    if float(tree).is_integer() and draw(st.booleans()):
        return float(tree) if isinstance(tree, int) else int(tree)
    text = draw(st.sampled_from([repr(float(tree)), f"{float(tree):.17g}", f"{float(tree):e}", f"{float(tree):.6e}".replace(".000000", "")]))
    return yaml.safe_load(text) if isinstance(tree, float) else tree


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_equal_values_give_equal_params(data):
    """Any order of any mapping and any spelling of its numbers: the same canonical config, same repr."""
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    variant = respelled(shuffled(base, data.draw), data.draw)
    variant["robustness"]["seeds"] = data.draw(st.permutations(variant["robustness"]["seeds"]))  # a set
    assert repr(check_config(variant, SCHEMA)) == repr(check_config(base, SCHEMA))


def test_seeds_are_a_set_and_radii_keep_their_order(config):
    """The robustness seeds are sorted (their order changes no number); the radii are not (the
    report's figures and tables follow the order the user gave)."""
    config = set_key(set_key(config, "robustness.seeds", [5, 3, 1]), "data.R", [1, 10])
    out = check_config(config, SCHEMA)
    assert out["robustness"]["seeds"] == [1, 3, 5] and out["data"]["R"] == [1.0, 10.0]
    out = check_config(set_key(config, "data.R", [10, 1]), SCHEMA)
    assert out["data"]["R"] == [10.0, 1.0]


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
    one dataclass per section, holds the config's keys in the config's order with its values
    (torch classes for the config's names); the keys only the build has (vi_extras.EBM_BUILD_ONLY)
    are the config's alone, and of them only the thread count would change VI.py's numbers."""
    import VI
    import vi_extras
    from rule_helpers import analysis_config
    from vi_build import differences_from_defaults

    defaults = VI.settings_json(VI.Settings())
    analysis = analysis_config(config)
    assert list(defaults) == list(analysis)
    for section, values in analysis.items():
        if isinstance(values, dict):
            build_only = vi_extras.EBM_BUILD_ONLY if section == "ebm" else ()
            assert list(defaults[section]) == [k for k in values if k not in build_only], section
    assert set(config["ebm"]) - set(defaults["ebm"]) == set(vi_extras.EBM_BUILD_ONLY)
    assert vi_extras.ACTIVATIONS[config["ebm"]["activation"]] is VI.EBMSettings().activation
    assert vi_extras.OPTIMIZERS[config["ebm"]["optimizer"]] is VI.EBMSettings().optimizer
    assert differences_from_defaults(defaults, analysis) == []
    changed = copy.deepcopy(analysis)
    changed["vi"]["kl"]["q_sd"] = 0.6
    changed["data"]["R"] = [10, 2]
    changed["ebm"].update(activation="tanh", threads=2, log_every=7, check_M=10)
    assert differences_from_defaults(defaults, changed) == ["data.R", "ebm.activation", "vi.kl.q_sd", "ebm.threads"]


def test_python_vi_py_appendix_is_the_configs_variants_and_seeds(config):
    """`python VI.py --appendix` trains the variants of config ebm.variants (torch classes for
    its names) and reruns the seeds of robustness.seeds."""
    import VI
    import vi_extras

    appendix = VI.AppendixSettings()
    variants = {name: vi_extras.ebm_settings_values(change) for name, change in config["ebm"]["variants"].items()}
    assert list(appendix.variants) == sorted(variants) and appendix.variants == variants
    assert list(appendix.seeds) == sorted(config["robustness"]["seeds"])


def test_settings_from_config_fills_the_tree_and_names_unknown_keys(config):
    import torch

    import VI
    from vi_build import settings_from_config

    s = settings_from_config(VI, {"data": {"R": [10, 2]}, "ebm": {"width": 8, "activation": "silu", "threads": 3}}, seed=5)
    assert (s.seed, s.data.R, s.data.K, s.ebm.width, s.ebm.lr, s.ebm.activation) == (5, (10, 2), 10, 8, 0.03, torch.nn.SiLU)
    with pytest.raises(KeyError, match="EMSettings has no setting restart"):
        settings_from_config(VI, {"em": {"restart": 3}})
