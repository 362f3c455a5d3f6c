"""Part 2 of VI.py (variational inference) against exact answers: the identity
log p = ELBO + KL for any q, closed forms of the ELBOs of the ring mixture, KL
divergences by quadrature against Gaussian closed forms, and the K -> infinity
limits against independent quadratures and asymptotics."""

import math

import numpy as np
import pytest

import VI
import vi_extras

LOG_2PI = math.log(2 * math.pi)


def random_gmm(K, rng, spread=4.0):
    """A mixture with unequal weights and scattered means (not a ring), unit variance."""
    w = rng.random(K) + 0.1
    return VI.GMM(weights=w / w.sum(), means=spread * rng.standard_normal((K, 2)), var=1.0)


def brute_log_normal(x, mean):
    """log N(x; mean, I_2) written out for one point."""
    return -LOG_2PI - 0.5 * float(np.sum((np.asarray(x) - np.asarray(mean)) ** 2))


# ----------------------------------------------------------------------------
# 2.1  log p(x) = L(q) + KL(q || p(z | x)) for every q
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("R", [10.0, 1.0])
def test_elbo_plus_kl_is_log_p_for_random_q_on_the_ring(R):
    rng = np.random.default_rng(1)
    gmm = VI.ring_gmm(10, R)
    x = VI.sample_gmm(gmm, 500, rng)
    log_joint = VI.gmm_log_joint(x, gmm)
    log_r = VI.posterior_log_probs(log_joint)
    log_p = VI.gmm_log_density(x, gmm)
    for _ in range(5):
        log_q = VI.random_simplex_log_probs(len(x), gmm.K, rng)
        total = VI.elbo(log_joint, log_q) + VI.kl_categorical(log_q, log_r)
        assert np.max(np.abs(total - log_p)) < 1e-10


def test_elbo_plus_kl_is_log_p_for_unequal_weights_and_sparse_q():
    rng = np.random.default_rng(2)
    gmm = random_gmm(7, rng)
    x = VI.sample_gmm(gmm, 300, rng)
    log_joint = VI.gmm_log_joint(x, gmm)
    q = rng.dirichlet(np.ones(gmm.K), size=len(x))
    q[:, :3] = 0.0  # q need not charge every component: 0 log 0 = 0
    q /= q.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    total = VI.elbo(log_joint, log_q) + VI.kl_categorical(log_q, VI.posterior_log_probs(log_joint))
    assert np.max(np.abs(total - VI.gmm_log_density(x, gmm))) < 1e-10


def test_elbo_written_out_for_one_point():
    gmm = VI.ring_gmm(4, 2.0)
    x = np.array([[0.3, -1.2]])
    q = np.array([0.1, 0.2, 0.3, 0.4])
    expected = sum(q[k] * (math.log(0.25) + brute_log_normal(x[0], gmm.means[k]) - math.log(q[k])) for k in range(4))
    assert VI.elbo(VI.gmm_log_joint(x, gmm), np.log(q))[0] == pytest.approx(expected, abs=1e-13)


def test_kl_categorical_is_zero_only_at_equality_and_positive_elsewhere():
    rng = np.random.default_rng(3)
    log_q = VI.random_simplex_log_probs(200, 6, rng)
    log_r = VI.random_simplex_log_probs(200, 6, rng)
    assert np.all(VI.kl_categorical(log_q, log_r) > 0)
    assert np.max(np.abs(VI.kl_categorical(log_q, log_q))) < 1e-15
    q, r = np.exp(log_q[0]), np.exp(log_r[0])
    assert VI.kl_categorical(log_q[0], log_r[0])[0] == pytest.approx(float(np.sum(q * np.log(q / r))), abs=1e-14)


def test_random_simplex_rows_are_distributions():
    log_q = VI.random_simplex_log_probs(1000, 5, np.random.default_rng(4))
    q = np.exp(log_q)
    assert np.allclose(q.sum(axis=1), 1.0, atol=1e-14) and np.all(q > 0)
    assert np.allclose(q.mean(axis=0), 0.2, atol=0.02)  # Dirichlet(1,...,1) has mean 1/K


# ----------------------------------------------------------------------------
# 2.3  The two ELBOs of the mixture
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("K", [2, 3, 10, 57])
@pytest.mark.parametrize("R", [10.0, 1.0, 0.3])
def test_elbo_uniform_of_the_ring_is_the_closed_form(K, R):
    x = np.random.default_rng(K).normal(scale=R + 1, size=(300, 2))
    closed = -LOG_2PI - 0.5 * (np.sum(x**2, axis=1) + R**2)
    assert np.max(np.abs(VI.elbo_study(x, VI.ring_gmm(K, R))["elbo_uniform"] - closed)) < 1e-10
    assert np.max(np.abs(vi_extras.elbo_uniform_ring(x, R) - closed)) < 1e-12


def test_elbo_uniform_is_the_mean_component_log_density_for_any_equal_weight_mixture():
    rng = np.random.default_rng(5)
    means = 3.0 * rng.standard_normal((6, 2))
    gmm = VI.GMM(weights=np.full(6, 1 / 6), means=means)
    x = rng.standard_normal((20, 2))
    expected = [np.mean([brute_log_normal(xi, m) for m in means]) for xi in x]
    assert np.allclose(VI.elbo_study(x, gmm)["elbo_uniform"], expected, atol=1e-12, rtol=0)


def test_elbo_posterior_is_log_p_even_where_the_posterior_underflows():
    gmm = VI.ring_gmm(10, 10.0)
    x = np.array([[0.0, 0.0], [10.0, 0.0], [60.0, -40.0], [1e3, 1e3]])  # far points: r_k = exp(-1e5)
    log_p = VI.gmm_log_density(x, gmm)
    assert np.all(np.isfinite(VI.elbo_study(x, gmm)["elbo_posterior"]))
    assert np.max(np.abs(VI.elbo_study(x, gmm)["elbo_posterior"] - log_p)) < 1e-9 * np.max(np.abs(log_p))


def test_gap_of_the_uniform_q_is_minus_log_K_minus_mean_log_responsibility():
    rng = np.random.default_rng(6)
    for R in (10.0, 1.0):
        gmm = VI.ring_gmm(10, R)
        x = VI.sample_gmm(gmm, 400, rng)
        gap = VI.gmm_log_density(x, gmm) - VI.elbo_study(x, gmm)["elbo_uniform"]
        lik = np.exp(VI.gmm_log_joint(x, gmm))
        resp = lik / lik.sum(axis=1, keepdims=True)  # computed in probability space, independently
        assert np.allclose(gap, -math.log(10) - np.mean(np.log(resp), axis=1), atol=1e-9, rtol=0)
        assert np.all(gap >= 0)


def test_elbo_study_is_the_same_in_blocks_and_consistent():
    rng = np.random.default_rng(7)
    gmm = VI.ring_gmm(50, 5.0)
    x = VI.sample_gmm(gmm, 333, rng)
    whole, blocks = VI.elbo_study(x, gmm), VI.elbo_study(x, gmm, max_entries=50 * 17)
    for name in whole:
        assert np.array_equal(whole[name], blocks[name]), name
    kl_uniform = VI.kl_categorical(np.full(50, -math.log(50)), VI.posterior_log_probs(VI.gmm_log_joint(x, gmm)))
    assert np.allclose(whole["gap_uniform"], kl_uniform, atol=1e-10, rtol=0)
    assert np.max(np.abs(whole["gap_posterior"])) < 1e-12
    entropy = vi_extras.posterior_entropy(VI, x, gmm)
    assert np.array_equal(entropy, vi_extras.posterior_entropy(VI, x, gmm, max_entries=50 * 17))
    assert np.all((entropy >= 0) & (entropy <= math.log(50) + 1e-12))


def test_elbo_experiment_summary_matches_its_checks():
    gmm = VI.ring_gmm(10, 10.0)
    x = VI.sample_gmm(gmm, 400, np.random.default_rng(8))
    s, per = VI.elbo_experiment(x, 10, 10.0, np.random.default_rng(9), random_q=3)
    s = vi_extras.elbo_extras(VI, s, per, x, random_q=3)
    assert s["identity_max_error"] < 1e-10 and s["gap_posterior_max_abs"] < 1e-10
    assert s["elbo_uniform_closed_form_error"] < 1e-10 and s["gap_uniform_kl_error"] < 1e-10
    assert s["elbo_uniform_expected"] == pytest.approx(-LOG_2PI - 1 - 100.0)
    # the Monte Carlo mean is within 4 standard errors of its exact expectation
    assert abs(s["elbo_uniform"] - s["elbo_uniform_expected"]) < 4 * s["elbo_uniform_sem"]


# ----------------------------------------------------------------------------
# 2.2  KL by quadrature and the Gaussian fits
# ----------------------------------------------------------------------------


GRID = np.linspace(-20, 20, 8001)
DX = float(GRID[1] - GRID[0])


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 0, 1), (0, 1, 2, 1.5), (3, 0.4, -1, 2), (-2, 2.5, 0.5, 0.7)])
def test_kl_quadrature_matches_the_gaussian_closed_form(m1, s1, m2, s2):
    a, b = VI.normal_log_pdf(GRID, m1, s1), VI.normal_log_pdf(GRID, m2, s2)
    assert VI.kl_quadrature(a, b, DX) == pytest.approx(vi_extras.kl_normal_closed_form(m1, s1, m2, s2), abs=1e-9)
    assert VI.kl_quadrature(b, a, DX) == pytest.approx(vi_extras.kl_normal_closed_form(m2, s2, m1, s1), abs=1e-9)


def test_mixture_density_integrates_to_one_and_has_its_moments():
    w, m, s = [0.3, 0.7], [-3.0, 3.0], [1.0, 0.5]
    p = np.exp(VI.mixture_log_pdf(GRID, w, m, s))
    assert np.trapezoid(p, dx=DX) == pytest.approx(1.0, abs=1e-12)
    mean, sd = VI.fit_gaussian_forward_kl(w, m, s)
    assert mean == pytest.approx(np.trapezoid(GRID * p, dx=DX), abs=1e-10)
    assert sd**2 == pytest.approx(np.trapezoid((GRID - mean) ** 2 * p, dx=DX), abs=1e-9)


def test_moment_matching_minimises_the_forward_kl():
    w, m, s = [0.3, 0.7], [-3.0, 3.0], [1.0, 1.0]
    log_p = VI.mixture_log_pdf(GRID, w, m, s)
    mean, sd = VI.fit_gaussian_forward_kl(w, m, s)
    best = VI.kl_grid(log_p, GRID, np.array([mean]), np.array([sd]), reverse=False)[0, 0]
    around = VI.kl_grid(log_p, GRID, mean + np.linspace(-0.5, 0.5, 11), sd * np.exp(np.linspace(-0.3, 0.3, 11)), reverse=False)
    assert best <= around.min() + 1e-12


def test_reverse_fit_recovers_a_gaussian_p_exactly():
    log_p = VI.normal_log_pdf(GRID, 1.3, 0.8)
    m, s, kl = VI.refine_reverse_kl(log_p, GRID, 0.0, 2.0, dm=2.0, dlog_s=1.0, rounds=20)
    assert m == pytest.approx(1.3, abs=1e-6) and s == pytest.approx(0.8, abs=1e-6) and kl < 1e-10


def test_kl_experiment_seeks_a_mode_in_reverse_and_covers_both_forward():
    settings = VI.KLSettings()
    s, curves = VI.kl_experiment(**vars(settings))
    s = vi_extras.kl_extras(VI, s, vars(settings))
    assert s["p_mass"] == pytest.approx(1.0, abs=1e-9)
    assert s["q"]["kl_pq"] > 10 * s["q"]["kl_qp"]
    fits = s["reverse_fits"]
    assert len(fits) == 2  # one local minimum per mode
    # well separated modes: q on mode j costs about -log w_j
    assert fits[0]["mean"] == pytest.approx(3.0, abs=0.1) and fits[0]["kl_qp"] == pytest.approx(-math.log(0.7), abs=0.01)
    assert fits[1]["mean"] == pytest.approx(-3.0, abs=0.1) and fits[1]["kl_qp"] == pytest.approx(-math.log(0.3), abs=0.01)
    fwd = s["forward_fit"]
    assert fwd["mean"] == pytest.approx(0.3 * -3 + 0.7 * 3) and fwd["kl_qp"] > fits[0]["kl_qp"]
    assert fwd["kl_pq"] < fits[0]["kl_pq"]  # each fit wins in its own direction
    assert np.min(curves["reverse_profile"]) == pytest.approx(fits[0]["kl_qp"], abs=0.02)


def test_kl_bound_and_cross_entropy_terms_of_the_text():
    settings = VI.KLSettings()
    s = vi_extras.kl_extras(VI, VI.kl_experiment(**vars(settings))[0], vars(settings))
    assert s["q"]["kl_qp"] <= s["q"]["kl_qp_bound"] + 1e-9
    assert sum(s["q"]["cross_entropy_terms"]) - s["entropy_p"] == pytest.approx(s["q"]["kl_pq"], abs=1e-5)


# ----------------------------------------------------------------------------
# 2.4  K -> infinity
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("z", [0.0, 0.5, 5.0, 50.0, 499.0, 501.0, 2000.0, 1e5])
def test_log_bessel_i0_against_quadrature_over_the_circle(z):
    t = np.linspace(0, 2 * np.pi, 8192, endpoint=False)  # periodic trapezoid: spectrally accurate
    expected = z + math.log(np.mean(np.exp(z * (np.cos(t) - 1.0))))
    assert vi_extras.log_bessel_i0(np.array([z]))[0] == pytest.approx(expected, rel=1e-13, abs=1e-13)
    if z <= 500:  # VI.py's own, for the radii of its defaults: the same numbers
        assert VI.log_bessel_i0(np.array([z]))[0] == vi_extras.log_bessel_i0(np.array([z]))[0]


def test_ring_limit_density_integrates_to_one_in_the_plane():
    R = 3.0
    X, Y, Z = VI.density_grid(lambda x: vi_extras.ring_log_density_limit(VI, x, R), R + 10.0, num=801)
    h = X[0, 1] - X[0, 0]
    assert np.exp(Z).sum() * h * h == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("R", [0.3, 1.0, 10.0])
def test_radial_quadrature_has_mass_one_and_the_second_moment(R):
    assert VI.ring_radial_expectation(np.ones_like, R) == pytest.approx(1.0, abs=1e-12)
    # |x|^2 = |mu|^2 + 2 mu.e + |e|^2 with |mu| = R: E|x|^2 = R^2 + 2
    assert VI.ring_radial_expectation(lambda r: r**2, R) == pytest.approx(R**2 + 2.0, abs=1e-10)


@pytest.mark.parametrize("R", [1.0, 10.0])
def test_ring_mixture_tends_to_the_ring_density(R):
    x = VI.sample_gmm(VI.ring_gmm(7, R), 200, np.random.default_rng(10))
    dev = {K: np.max(np.abs(VI.gmm_log_density(x, VI.ring_gmm(K, R)) - vi_extras.ring_log_density_limit(VI, x, R)))
           for K in (10, 40, 200)}
    assert dev[200] < 1e-10 and dev[40] <= dev[10]


def test_fixed_R_limits_are_consistent():
    lim = vi_extras.ring_limit(VI, 10.0)
    assert lim["mass"] == pytest.approx(1.0, abs=1e-10)
    assert lim["gap_uniform"] == pytest.approx(lim["log_p"] - lim["elbo_uniform"], abs=1e-9)
    # E L(Unif) by the radial quadrature equals the exact -log 2pi - 1 - R^2
    quad = VI.ring_radial_expectation(lambda r: -LOG_2PI - 0.5 * (r**2 + 100.0), 10.0)
    assert quad == pytest.approx(-LOG_2PI - 1 - 100.0, abs=1e-9)


def test_row_constant_in_its_two_limits():
    # far apart: one Gaussian at a time, E log N(e; 0, I_2) = -log 2pi - 1
    assert VI.row_log_density_constant(20.0) == pytest.approx(-LOG_2PI - 1.0, abs=1e-12)
    # close together: sum_j exp(-(e - j d)^2 / 2) = sqrt(2 pi) / d up to e^{-2 pi^2 / d^2} (Poisson summation)
    d = 0.5
    assert VI.row_log_density_constant(d) == pytest.approx(-0.5 * LOG_2PI - 0.5 - math.log(d), abs=1e-10)


def test_fixed_spacing_radius_keeps_the_spacing():
    for K in (10, 33, 1000):
        R_K = VI.ring_radius(K, "fixed_spacing", 10.0, 10)
        assert 2 * R_K * math.sin(math.pi / K) == pytest.approx(2 * 10.0 * math.sin(math.pi / 10), rel=1e-12)
    assert VI.ring_radius(1000, "fixed_R", 10.0, 10) == 10.0
    with pytest.raises(ValueError):
        VI.ring_radius(10, "other", 10.0, 10)


def test_coupled_points_are_samples_of_the_mixture():
    rng = np.random.default_rng(11)
    u, noise = rng.random(20000), rng.standard_normal((20000, 2))
    gmm = VI.ring_gmm(12, 4.0)
    x = VI.on_circle(VI.coupled_angles(12, u), 4.0) + noise
    means = x - noise
    k = np.argmin(np.sum((means[:, None, :] - gmm.means[None]) ** 2, axis=-1), axis=1)
    assert np.allclose(means, gmm.means[k], atol=1e-12)  # every point sits on a true mean ...
    counts = np.bincount(k, minlength=12)
    assert np.all(np.abs(counts - 20000 / 12) < 5 * math.sqrt(20000 / 12))  # ... chosen uniformly


def test_row_limit_is_the_limit_of_the_fixed_spacing_mixture():
    rng = np.random.default_rng(12)
    u, noise = rng.random(200), rng.standard_normal((200, 2))
    d = 2 * 10 * math.sin(math.pi / 10)
    for K, tol in ((2000, 1e-2), (20000, 1e-3)):
        R_K = VI.ring_radius(K, "fixed_spacing", 10.0, 10)
        angle = VI.coupled_angles(K, u)
        x = VI.on_circle(angle, R_K) + noise
        limit = VI.row_log_density_limit(*vi_extras.frame_coordinates(noise, angle), d) - math.log(K)
        assert np.max(np.abs(VI.gmm_log_density(x, VI.ring_gmm(K, R_K)) - limit)) < tol


def test_sweep_runs_and_is_reproducible():
    a = VI.sweep_experiment(5, 10.0, 10, 10, 200, 3, 100)
    b = VI.sweep_experiment(5, 10.0, 10, 10, 200, 3, 100)
    assert a == b and a["K"] == [10, 45, 200]
    checked = vi_extras.sweep_with_checks(VI, 5, R=10.0, K_ref=10, K_min=10, K_max=200, K_num=3, n=100)
    for regime in VI.SWEEP_REGIMES:
        assert list(checked[regime]) == [*list(a[regime])[:-1], "same_points_limit", "limits"]
        for row, plain in zip(checked[regime]["rows"], a[regime]["rows"]):
            assert {k: row[k] for k in plain} == plain and list(row) == [*vi_extras.SWEEP_ROW_KEYS, *list(row)[-2:]]
            assert row["gap_posterior_max_abs"] < 1e-9 * max(1.0, abs(row["elbo_uniform"]))
            assert row["elbo_uniform_closed_form_error"] < 1e-9 * max(1.0, abs(row["elbo_uniform"]))
