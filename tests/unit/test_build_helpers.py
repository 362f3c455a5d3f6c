"""The build-only helpers around VI.py: the grader's numbers against the build's,
the labels of the EBM's training variants, each rule's slice of the config."""

import pytest

from grader_agreement import DisagreementError, compare, numeric_leaves
from rule_helpers import configuration_shown, robustness_sections, settings_section
from vi_build import describe_change

CONFIG = {
    "student": {"name": "A", "net_id": "x"}, "seed": 1, "data": {"K": 10, "n": 5, "R": [10, 1]}, "em": {"tol": 1e-9},
    "kde": {"R": 10, "sigma_num": 3}, "ebm": {"width": 8, "variants": {"tanh": {"activation": "tanh"}}},
    "vi": {"elbo": {"random_q": 2}}, "report": {"date_epoch": 0},
}


def test_numeric_leaves_are_dotted_paths_without_booleans():
    assert numeric_leaves({"a": {"b": [1, 2.5]}, "c": True, "d": "text"}) == {"a.b.0": 1.0, "a.b.1": 2.5}


def test_compare_passes_equal_numbers_and_names_those_that_differ():
    build = {"kde": {"sigma": 0.3, "R": 10.0}, "em_R10": {"steps": [1, 2]}}
    grader = {"kde": {"sigma": 0.3}, "em_R10": {"steps": [1, 2]}, "settings": {"seed": 1}}
    assert compare(grader, build) == {"compared": 3, "largest_difference": 0.0}
    grader["kde"]["sigma"] = 0.30001
    with pytest.raises(DisagreementError, match=r"disagree on 1 numbers: kde.sigma: build 0.3, grader 0.30001"):
        compare(grader, build)
    grader["kde"] = {"sigma": 0.3, "h": 1.0}  # a number of the grader's that the build lacks
    with pytest.raises(DisagreementError, match=r"1 of the grader's 4 numbers are not in the build's results: kde.h"):
        compare(grader, build)


def test_variant_labels_say_what_changed():
    base = {"activation": "relu", "base_var": 1.0, "learn_base_var": False, "lr": 0.03, "optimizer": "adam"}
    assert describe_change({"activation": "tanh"}, base) == "tanh units"
    assert describe_change({"learn_base_var": True, "base_var": 4.0}, base) == "base variance learned from 4"
    assert describe_change({"optimizer": "adamw", "lr": 0.01}, base) == "AdamW, learning rate 0.01"


def test_rules_get_sections_without_the_variants():
    assert settings_section(CONFIG, "ebm") == {"width": 8}
    assert settings_section(CONFIG, "em") == {"tol": 1e-9}
    assert robustness_sections(CONFIG, "ebm") == {"data": CONFIG["data"], "ebm": {"width": 8}, "kde": {"R": 10}}
    assert set(robustness_sections(CONFIG, "kde")) == {"data", "kde"}
    shown = configuration_shown(CONFIG)
    assert "student" not in shown and "report" not in shown and shown["ebm"] == {"width": 8}
