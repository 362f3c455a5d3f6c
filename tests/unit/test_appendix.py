"""`python VI.py --appendix` on the tiny configuration: its tables of training variants
and of other seeds hold the numbers the build computes for the same settings (the build's
variants rule and robustness parts, called as their glue scripts call them)."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

import VI
import vi_extras
from config_check import check_config
from rule_helpers import analysis_config, robustness_sections, settings_section
from vi_build import HEADLINE_PARTS, ebm_variant, settings_from_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny():
    """The tiny configuration, canonical, and VI.py's settings for it."""
    raw = yaml.safe_load((ROOT / "tests" / "workflow" / "config_tiny.yaml").read_text())
    config = check_config(raw, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    analysis = analysis_config(config)
    settings = settings_from_config(VI, {k: v for k, v in analysis.items() if k != "seed"}, seed=config["seed"])
    appendix = VI.AppendixSettings(
        variants={name: vi_extras.ebm_settings_values(change) for name, change in config["ebm"]["variants"].items()},
        seeds=tuple(config["robustness"]["seeds"]),
    )
    return config, settings, appendix


@pytest.fixture(scope="module")
def appendix_run(tiny, tmp_path_factory):
    """What `python VI.py --appendix` computes for the tiny settings: run_homework, then run_appendix."""
    _, settings, appendix = tiny
    out = tmp_path_factory.mktemp("figures")
    summary = VI.run_homework(settings, out)
    return summary, VI.run_appendix(settings, appendix, summary, out)


def test_variants_are_the_builds(tiny, appendix_run):
    config, settings, _ = tiny
    _, appendix = appendix_run
    data = VI.make_datasets(settings.seed, settings.data.K, settings.data.n, settings.kde.R)
    base = settings_section(config, "ebm")
    assert [v["name"] for v in appendix["variants"]] == list(config["ebm"]["variants"])
    for ours, (name, change) in zip(appendix["variants"], config["ebm"]["variants"].items()):
        build = ebm_variant(VI, data, settings.data.K, settings.kde.R, settings.seed, base, name, change, log=lambda *a: None)
        shared = [k for k in ours if k != "name"]
        # at least the columns of the appendix's table of variants
        assert {"base_var_final", "best_step", "validation_loglik", "test_loglik_quad", "A_is_minus_quad", "ess"} <= set(shared)
        assert {k: ours[k] for k in shared} == {k: build[k] for k in shared}, name


def test_seeds_are_the_builds_robustness_parts(tiny, appendix_run):
    config, _, _ = tiny
    summary, appendix = appendix_run
    build = {}
    for part, numbers in HEADLINE_PARTS.items():
        sections = robustness_sections(config, part)
        for seed in config["robustness"]["seeds"]:
            s = settings_from_config(VI, sections, seed=seed)
            build.setdefault(seed, {"seed": seed}).update(numbers(VI, s, log=lambda *a: None))
    assert appendix["seeds"] == list(build.values())
    # the own seed's row, read from the main run, is what the parts compute for that seed
    own = {}
    for part, numbers in HEADLINE_PARTS.items():
        own.update(numbers(VI, settings_from_config(VI, robustness_sections(config, part), seed=config["seed"])))
    assert VI.seed_headlines(summary) == own


def test_appendix_prints_both_tables(tiny, appendix_run, capsys, tmp_path):
    _, settings, appendix = tiny
    VI.run_appendix(settings, replace(appendix, seeds=appendix.seeds[:1]), appendix_run[0], tmp_path)
    out = capsys.readouterr().out
    variants_table = out.split("Appendix: training choices")[1].split("Appendix: headline numbers")[0]
    assert "default" in variants_table and all(name in variants_table for name in appendix.variants)
    assert "ebm_gap_to_true" in out.split("Appendix: headline numbers")[1]
