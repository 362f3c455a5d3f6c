"""The configuration space: configurations the schema accepts build a PDF whose claims
are true for them; the ones it refuses stop before any job with one line per problem.

Configurations are drawn with hypothesis at small sizes and built in a temporary copy
of the repository. For each build: Snakemake succeeds, the grader's check passes, LaTeX
reports no warning but float placement, and every claim the render chose
(results/report/claims.json) is derived again here from the results JSON. Two examples
run by default; `CONFIG_SPACE_EXAMPLES=20 pytest -m slow tests/workflow/test_config_space.py`
tries more.
"""

import json
import math
import os
import re
import subprocess

import pytest
import yaml
from built import copy_build
from helpers import SNAKEMAKE, TINY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("CONFIG_SPACE_EXAMPLES", "2"))


def tiny_config(repo) -> dict:
    return yaml.safe_load((repo / TINY).read_text())


def build(repo, config: dict, check=True) -> subprocess.CompletedProcess:
    """Build `config` in `repo` as a user would: written to config/config.yaml, then `snakemake`.
    (A --configfile would merge its ebm.variants into those of config/config.yaml.)"""
    (repo / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "2"],
        cwd=repo, capture_output=True, text=True, timeout=1500, stdin=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    if check:
        assert proc.returncode == 0, f"build failed for {config}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def latex_warnings(repo) -> list[str]:
    """LaTeX warnings of the last PDF build, except float placement (a matter of layout, not truth)."""
    log = (repo / "results" / "report" / "build" / "theory.log").read_text(errors="replace")
    return [w for w in re.findall(r"^(?:LaTeX|Package \w+) Warning: .*$", log, re.M) if "contains only floats" not in w]


def pdf_text(repo) -> str:
    from pypdf import PdfReader  # as the grader's check reads it

    return " ".join(page.extract_text() for page in PdfReader(repo / "results" / "theory.pdf").pages)


def expected_regime(spacing: float) -> str:
    """The regime as the PDF defines it: merged at most 2 sd apart, separate from 4 sd."""
    return "separated" if spacing >= 4 else "overlapping" if spacing <= 2 else "intermediate"


def check_claims(repo, config: dict) -> None:
    """Every claim of claims.json, derived again from the results and the configuration."""
    res = repo / "results"
    claims = json.loads((res / "report" / "claims.json").read_text())
    K, n = config["data"]["K"], config["data"]["n"]
    em = {f"{float(R):g}": json.loads((res / "em" / f"R{float(R):g}.json").read_text()) for R in config["data"]["R"]}
    assert set(claims["order"]) == set(em)
    spacings = [2 * float(t) * math.sin(math.pi / K) for t in claims["order"]]
    assert spacings == sorted(spacings, reverse=True), "radii are discussed from the widest spacing down"
    for tag, s in em.items():
        c = claims["em"][tag]
        spacing = 2 * s["R"] * math.sin(math.pi / K)
        assert math.isclose(c["spacing"], spacing, rel_tol=1e-12)
        assert c["regime"] == expected_regime(spacing)
        assert c["ring_hole"] == (s["R"] > math.sqrt(2))
        assert c["deep_hole"] == (math.exp(-s["R"] ** 2 / 2) < 0.01)
        assert c["means_on_target"] == (s["mean_error_max"] < spacing / 2)
        assert c["error_at_sampling_level"] == (s["mean_error_rms"] <= 2 * math.sqrt(2 * K / n))
        assert c["density_learned_well"] == (s["test_loglik_true"] - s["test_loglik_fit"] < 0.1)
        assert c["overfits"] == (s["train_loglik_fit"] > s["train_loglik_true"])
    kde = json.loads((res / "kde" / "kde.json").read_text())
    em_kde = em[f"{float(config['kde']['R']):g}"]
    assert claims["kde"]["sigma_below_unit_variance"] == (kde["sigma"] < 1)
    assert claims["kde"]["em_gap_smaller"] == (
        em_kde["test_loglik_true"] - em_kde["test_loglik_fit"] < kde["test_loglik_true"] - kde["test_loglik"])
    elbo = json.loads((res / "vi" / "elbo.json").read_text())
    for e in elbo["by_R"].values():
        c = claims["elbo"][f"{e['R']:g}"]
        share = e["posterior_entropy"] / e["log_K"]
        assert c["posterior"] == ("one-hot" if share < 0.1 else "near the prior" if share > 0.8 else "spread")
        assert c["near_ring_limit"] == (abs(e["log_p"] - e["ring_limit"]["log_p"]) <= max(3 * e["log_p_sem"], 1e-8))
    comparison = json.loads((res / "ebm" / "kde_comparison.json").read_text())
    assert claims["ebm"]["ebm_better"] == (comparison["lead_over_kde_quad"] > 0)
    text = " ".join(pdf_text(repo).split())
    for tag in claims["order"]:
        phrase = {"separated": "the clusters are separate",
                  "intermediate": "distinct modes that overlap",
                  "overlapping": "neighbouring clusters merge"}[claims["em"][tag]["regime"]]
        assert re.search(rf"At R = {re.escape(tag)} neighbouring means are [\d.]+ apart: .{{0,3}}{phrase}", text), (tag, phrase)


def check_build(repo, config: dict) -> None:
    build(repo, config)
    assert latex_warnings(repo) == []
    assert (repo / "results" / "check" / f"{config['student']['net_id']}.txt").exists()  # the grader's check passed
    check_claims(repo, config)


@pytest.fixture(scope="module")
def repo(finished, tmp_path_factory):
    """A copy of the session's tiny build: each configuration below reruns only the jobs whose
    params or inputs differ, as a user's next build does."""
    return copy_build(finished, tmp_path_factory.mktemp("configspace") / "repo")


def test_radii_in_ascending_order(repo):
    """data.R ascending: the overlapping radius is described as overlapping, the separate one as separate."""
    config = tiny_config(repo)
    config["data"]["R"] = [1, 10]
    check_build(repo, config)
    claims = json.loads((repo / "results" / "report" / "claims.json").read_text())
    assert claims["order"] == ["10", "1"] and claims["em"]["1"]["regime"] == "overlapping"


def test_one_radius(repo):
    """A single radius gets the text of that radius alone, and no contrast between radii."""
    config = tiny_config(repo)
    config["data"]["R"] = [10]
    check_build(repo, config)
    text = " ".join(pdf_text(repo).split())
    assert "In short, where the clusters are separate" not in text
    assert "At R = 1 " not in text


def small_configs():
    """Configurations the schema accepts, at sizes that build in about a minute."""
    radii = st.lists(st.sampled_from([0.5, 1, 1.5, 2.5, 4, 7, 10]), min_size=1, max_size=3, unique=True)

    @st.composite
    def draw(d):
        R = d(radii)
        K = d(st.integers(2, 12))
        seed = d(st.integers(0, 50))
        others = d(st.lists(st.integers(51, 99), min_size=2, max_size=2, unique=True))
        K_min = d(st.integers(2, 6))
        return {
            "student": {"name": "Drawn Student", "net_id": "drawn"},
            "seed": seed,
            "data": {"K": K, "n": d(st.integers(max(K, 30), 120)), "R": R},
            "em": {"restarts": d(st.integers(1, 2)), "max_iter": d(st.integers(5, 60)), "tol": 1e-6},
            "kde": {"R": d(st.sampled_from(R)), "sigma_min": 0.05, "sigma_max": 5.0, "sigma_num": 7, "refine_num": 3},
            "ebm": {"width": d(st.integers(2, 8)), "activation": d(st.sampled_from(["relu", "softplus", "tanh", "elu", "silu"])),
                    "base_var": d(st.sampled_from([0.5, 1.0, 4.0])), "learn_base_var": d(st.booleans()),
                    "optimizer": d(st.sampled_from(["adam", "adamw", "sgd"])), "lr": 0.03, "weight_decay": 0.0,
                    "steps": d(st.integers(2, 12)), "importance_M": 300, "check_M": 600, "quadrature_margin": 6.0,
                    "quadrature_num": 61, "init": 0, "threads": 1, "log_every": 0,
                    "variants": d(st.sampled_from([{}, {"w3": {"width": 3}}]))},
            "vi": {"kl": {"p_weights": [0.3, 0.7], "p_means": [-3.0, 3.0], "p_sds": [1.0, 1.0], "q_mean": 3.0,
                          "q_sd": 0.5, "x_min": -12.0, "x_max": 12.0, "x_num": 601},
                   "elbo": {"random_q": 1},
                   "sweep": {"R": d(st.sampled_from([1, 5, 10])), "K_ref": 10, "K_min": K_min,
                             "K_max": d(st.integers(K_min + 1, 60)), "K_num": d(st.integers(2, 3)), "n": 40}},
            "robustness": {"seeds": others},
            "report": {"date_epoch": 1639457700},
        }

    return draw()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=small_configs())
def test_drawn_configurations_build_true_reports(repo, config):
    check_build(repo, config)
