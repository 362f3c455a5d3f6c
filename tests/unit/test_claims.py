"""claims.py decides every sentence of the PDF that depends on a number: each decision on small
hand-made results whose answer is known (a failed fit, one radius, a difference within its noise
and one beyond it)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import claims


def em_result(R, K=10, spacing=None, **changes):
    """An EM result (VI.em_experiment's keys) with a good fit unless changed."""
    result = {"R": R, "K": K, "neighbour_spacing": spacing if spacing is not None else 2 * R * math.sin(math.pi / K),
              "converged": True, "iterations": 6, "restarts": 10, "distinct_optima": 1,
              "restart_log_likelihoods": [-5.1] * 10, "mean_error_max": 0.1, "mean_error_rms": 0.05,
              "train_loglik_fit": -5.10, "train_loglik_true": -5.12, "test_loglik_fit": -5.20,
              "test_loglik_true": -5.18, "test_gap_sem": 0.01, "test_loglik_single_gaussian": -8.0}
    return {**result, **changes}


@pytest.mark.parametrize("spacing, regime", [(6.18, "separated"), (4.0, "separated"), (3.0, "intermediate"),
                                             (2.0, "overlapping"), (0.6, "overlapping")])
def test_the_regime_follows_the_spacing_in_noise_sd(spacing, regime):
    assert claims.spacing_regime(spacing) == regime


@pytest.mark.parametrize("difference, se, verdict", [(0.05, 0.01, "above"), (-0.05, 0.01, "below"),
                                                     (0.015, 0.01, "within noise"), (0.0, 0.0, "within noise"),
                                                     (1e-3, 0.0, "above")])
def test_a_difference_is_a_verdict_only_beyond_twice_its_standard_error(difference, se, verdict):
    assert claims.noise_verdict(difference, se) == verdict


@given(st.floats(-1e3, 1e3), st.floats(1e-6, 1e3))
def test_z_score_is_the_difference_in_its_standard_errors(difference, se):
    assert claims.z_score(difference, se) == pytest.approx(difference / se)


def test_one_radius_gives_one_ordered_radius_and_no_contrast():
    em = {"10": em_result(10.0)}
    assert claims.radius_order(em) == ["10"]
    c = claims.em_claims(em["10"], K=10, n=1000)
    assert c["regime"] == "separated" and c["error_at_sampling_level"] and c["density_learned_well"]


def test_radii_are_ordered_from_the_widest_spacing_whatever_the_order_given():
    em = {"1": em_result(1.0), "10": em_result(10.0), "2.5": em_result(2.5)}
    assert claims.radius_order(em) == ["10", "2.5", "1"]


def test_a_fit_worse_than_the_truth_on_its_training_data_is_trapped():
    c = claims.em_claims(em_result(10.0, mean_error_rms=2.0, train_loglik_fit=-5.3), K=10, n=1000)
    assert c["trapped"] and not c["overfits"] and not c["error_at_sampling_level"]


def test_a_fit_better_than_the_truth_on_its_training_data_overfits():
    c = claims.em_claims(em_result(1.0, mean_error_rms=1.0, train_loglik_fit=-3.20, train_loglik_true=-3.21), K=10, n=1000)
    assert c["overfits"] and not c["trapped"]


def elbo_result(R, K=10, entropy=0.0, log_p=-5.18, log_p_sem=0.03, limit_log_p=-5.56):
    return {"R": R, "K": K, "log_K": math.log(K), "posterior_entropy": entropy, "log_p": log_p, "log_p_sem": log_p_sem,
            "gap_uniform": 97.4, "gap_uniform_sem": 0.33, "ring_limit": {"log_p": limit_log_p, "gap_uniform": 97.28}}


@pytest.mark.parametrize("entropy, verdict", [(0.01, "one-hot"), (1.0, "spread"), (2.2, "near the prior")])
def test_the_posterior_is_described_by_its_entropy_against_log_k(entropy, verdict):
    assert claims.elbo_claims(elbo_result(10.0, entropy=entropy))["posterior"] == verdict


def test_log_p_far_from_the_ring_limit_is_not_near_it_and_within_noise_is():
    far = claims.elbo_claims(elbo_result(10.0))  # 0.38 nats at a standard error of 0.03
    near = claims.elbo_claims(elbo_result(1.0, log_p=-3.237, log_p_sem=0.029, limit_log_p=-3.241))
    assert not far["near_ring_limit"] and far["log_p_limit_z"] == pytest.approx(0.38 / 0.03)
    assert near["near_ring_limit"] and abs(near["log_p_limit_z"]) < 1


def variant(label, change, d, se, miss=-0.01):
    return {"label": label, "change": change, "test_minus_default": d, "test_minus_default_se": se, "A_is_minus_quad": miss}


DEFAULT = {"label": "default", "change": {}, "A_is_minus_quad": -0.008}


def test_variants_beyond_both_twice_their_error_and_the_initialisation_spread_are_better_or_worse():
    variants = [DEFAULT, variant("initialisation 1", {"init": 1}, 0.002, 0.001), variant("initialisation 2", {"init": 2}, -0.001, 0.001),
                variant("wide", {"width": 64}, 0.010, 0.002), variant("tanh", {"activation": "tanh"}, -0.5, 0.05, miss=-3.3),
                variant("noisy", {"lr": 0.01}, 0.010, 0.006), variant("small", {"width": 16}, 0.0015, 0.0001)]
    v = claims.variant_verdicts(variants)
    assert v["init_spread"] == 0.002 and v["init_runs"] == 2
    assert v["better"] == ["wide"] and v["worse"] == ["tanh"]
    assert v["within_noise"] == ["noisy", "small"]  # beyond noise, inside the spread: no verdict
    assert v["is_failures"] == [{"label": "tanh", "miss": -3.3}]


def test_without_initialisation_variants_there_is_no_verdict():
    v = claims.variant_verdicts([DEFAULT, variant("wide", {"width": 64}, 0.5, 0.001)])
    assert v["init_spread"] is None and v["better"] == v["worse"] == v["within_noise"] == []


def ebm_result(**changes):
    result = {"importance_M": 5000, "ess": 4700.0, "ess_min_during_training": 60.0, "A_is_minus_quad": -0.0077,
              "A_is_se": 0.0035, "best_step": 1818, "train_loglik": -5.12, "gap_to_true_quad": 0.031,
              "gap_to_true_quad_se": 0.008, "test_loglik_quad_se": 0.031, "test_loglik_true_se": 0.031,
              "trace": {"ess": [75.0]}}
    return {**result, **changes}


EBM_KDE = {"lead_over_kde_quad": 0.035, "lead_over_kde_quad_se": 0.009}
SEEDS_NEGATIVE = {"min": -0.017, "max": -0.004}


def test_a_trained_model_whose_a_hat_is_low_on_every_seed_is_biased_by_fitting():
    c = claims.ebm_claims(ebm_result(), EBM_KDE, [DEFAULT], 75.0, -5.13, SEEDS_NEGATIVE)
    assert c["is_bias_from_fitting"] and not c["fit_failed"] and c["versus_kde"] == "above"


def test_a_small_difference_that_changes_sign_over_seeds_is_noise():
    c = claims.ebm_claims(ebm_result(A_is_minus_quad=-0.002), EBM_KDE, [DEFAULT], 75.0, -5.13, {"min": -0.01, "max": 0.01})
    assert not c["is_bias_from_fitting"] and c["is_bias_z"] == pytest.approx(-0.002 / 0.0035)


def test_a_hat_far_from_quadrature_is_a_failed_fit():
    c = claims.ebm_claims(ebm_result(A_is_minus_quad=-3.3, ess=20.0), EBM_KDE, [DEFAULT], 75.0, -5.13, SEEDS_NEGATIVE)
    assert c["fit_failed"] and not c["is_trusted"]


def test_a_model_kept_at_step_0_learned_nothing_and_is_not_said_to_fit_noise():
    c = claims.ebm_claims(ebm_result(best_step=0, train_loglik=-4.0), EBM_KDE, [DEFAULT], 75.0, -5.13, SEEDS_NEGATIVE)
    assert c["kept_initialisation"] and not c["fits_training_noise"] and not c["is_bias_from_fitting"]


def test_a_lead_within_twice_its_error_decides_nothing():
    c = claims.ebm_claims(ebm_result(), {"lead_over_kde_quad": 0.01, "lead_over_kde_quad_se": 0.009}, [DEFAULT], 75.0,
                          -5.13, SEEDS_NEGATIVE)
    assert c["versus_kde"] == "within noise"


def sweep(last_log_p, limit, se, entropies=(0.5, 1.2, 1.9, 2.6)):
    Ks = [10, 100, 1000, 10000]
    rows = [{"K": K, "log_p": last_log_p, "log_p_sem": se, "gap_uniform": 97.9, "gap_uniform_sem": 0.33,
             "posterior_entropy": h} for K, h in zip(Ks, entropies)]
    spacing_rows = [{"K": K, "log_p_plus_log_K": -2.85, "log_p_sem": 0.03} for K in Ks]
    return {"fixed_R": {"rows": rows, "limits": {"log_p": limit, "gap_uniform": 97.28}},
            "fixed_spacing": {"rows": spacing_rows, "limits": {"log_p_plus_log_K": -2.83}}}


def test_the_sweep_states_the_last_k_against_the_limit_in_standard_errors():
    c = claims.sweep_claims(sweep(-5.585, -5.557, 0.024))
    assert c["fixed_R_log_p_z"] == pytest.approx((-5.585 + 5.557) / 0.024)
    assert c["fixed_spacing_z"] == pytest.approx((-2.85 + 2.83) / 0.03)


def test_entropy_growing_like_log_k_is_recognised_and_a_flat_one_is_not():
    grows = claims.sweep_claims(sweep(-5.6, -5.6, 0.02, entropies=(0.5, 1.0, 1.0 + math.log(10), 1.0 + math.log(100))))
    flat = claims.sweep_claims(sweep(-5.6, -5.6, 0.02, entropies=(0.5, 0.5, 0.5, 0.5)))
    assert grows["entropy_grows_like_log_K"] and grows["entropy_log_K_slope"] == pytest.approx(1.0)
    assert not flat["entropy_grows_like_log_K"] and flat["entropy_log_K_slope"] == pytest.approx(0.0)
