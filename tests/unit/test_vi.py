"""Part 2 of VI.py (variational inference) against exact answers: log p = ELBO + KL for any q, the
closed forms of the ring mixture's ELBOs, KL divergences by quadrature against the Gaussian closed
form, and the K -> infinity limits against the sweep's own points."""

import math

import numpy as np
import pytest

import VI

LOG_2PI = math.log(2 * math.pi)


def random_gmm(K, rng, spread=4.0):
    """A mixture with unequal weights and scattered means (not a ring), unit variance."""
    w = rng.random(K) + 0.1
    return VI.GMM(weights=w / w.sum(), means=spread * rng.standard_normal((K, 2)), var=1.0)


def brute_log_normal(x, mean):
    """log N(x; mean, I_2) written out for one point."""
    return -LOG_2PI - 0.5 * float(np.sum((np.asarray(x) - np.asarray(mean)) ** 2))


def kl_normal(m1, s1, m2, s2):
    """KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2.0 * s2**2) - 0.5


def ring_log_density_limit(x, R):
    """log p_inf(x) = -log 2pi - (|x|^2 + R^2)/2 + log I_0(R |x|), the K -> infinity mixture at fixed R."""
    r2 = np.sum(x**2, axis=1)
    return -LOG_2PI - 0.5 * (r2 + R**2) + VI.log_bessel_i0(R * np.sqrt(r2))


# ---------------------------------------------------------------- 2.1: log p(x) = L(q) + KL(q || p(z | x)) for every q


@pytest.mark.parametrize("R", [10.0, 1.0])
def test_elbo_plus_kl_is_log_p_for_random_q_on_the_ring(R):
    rng = np.random.default_rng(1)
    gmm = VI.ring_gmm(10, R)
    x = VI.sample_gmm(gmm, 500, rng)
    log_joint = VI.gmm_log_joint(x, gmm)
    log_r, log_p = VI.posterior_log_probs(log_joint), VI.gmm_log_density(x, gmm)
    for _ in range(5):
        log_q = VI.random_simplex_log_probs(len(x), gmm.K, rng)
        assert np.max(np.abs(VI.elbo(log_joint, log_q) + VI.kl_categorical(log_q, log_r) - log_p)) < 1e-10
    assert VI.elbo_identity_error(x, gmm, rng, draws=3) < 1e-10


def test_elbo_plus_kl_is_log_p_for_unequal_weights_and_sparse_q():
    """q need not charge every component: 0 log 0 = 0."""
    rng = np.random.default_rng(2)
    gmm = random_gmm(7, rng)
    x = VI.sample_gmm(gmm, 300, rng)
    log_joint = VI.gmm_log_joint(x, gmm)
    q = rng.dirichlet(np.ones(gmm.K), size=len(x))
    q[:, :3] = 0.0
    q /= q.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    total = VI.elbo(log_joint, log_q) + VI.kl_categorical(log_q, VI.posterior_log_probs(log_joint))
    assert np.max(np.abs(total - VI.gmm_log_density(x, gmm))) < 1e-10


def test_elbo_written_out_for_one_point():
    """sum_k q_k (log 1/4 + log N(x; mu_k, I) - log q_k)."""
    gmm, x, q = VI.ring_gmm(4, 2.0), np.array([[0.3, -1.2]]), np.array([0.1, 0.2, 0.3, 0.4])
    expected = sum(q[k] * (math.log(0.25) + brute_log_normal(x[0], gmm.means[k]) - math.log(q[k])) for k in range(4))
    assert VI.elbo(VI.gmm_log_joint(x, gmm), np.log(q))[0] == pytest.approx(expected, abs=1e-13)


def test_kl_categorical_is_the_sum_zero_only_at_equality_on_random_simplex_rows():
    """sum_k q_k log(q_k / r_k); the random rows are distributions with mean 1/K (Dirichlet(1, ..., 1))."""
    rng = np.random.default_rng(3)
    log_q, log_r = VI.random_simplex_log_probs(1000, 5, rng), VI.random_simplex_log_probs(1000, 5, rng)
    assert np.all(VI.kl_categorical(log_q, log_r) > 0) and np.max(np.abs(VI.kl_categorical(log_q, log_q))) < 1e-15
    q, r = np.exp(log_q), np.exp(log_r)
    assert np.allclose(VI.kl_categorical(log_q, log_r), np.sum(q * np.log(q / r), axis=1), atol=1e-14, rtol=0)
    assert np.allclose(q.sum(axis=1), 1.0, atol=1e-14) and np.allclose(q.mean(axis=0), 0.2, atol=0.02)


# ---------------------------------------------------------------- 2.3: the two ELBOs of the mixture


@pytest.mark.parametrize("K", [2, 3, 10, 57])
@pytest.mark.parametrize("R", [10.0, 1.0, 0.3])
def test_elbo_of_q_uniform_is_the_closed_form_and_its_gap_the_kl(K, R):
    """L(Unif) = -log 2pi - (|x|^2 + R^2)/2 for every K >= 2; gap = KL(Unif || posterior), per point."""
    x = np.random.default_rng(K).normal(scale=R + 1, size=(300, 2))
    gmm = VI.ring_gmm(K, R)
    study = VI.elbo_study(x, gmm)
    assert np.max(np.abs(study["elbo_uniform"] - (-LOG_2PI - 0.5 * (np.sum(x**2, axis=1) + R**2)))) < 1e-10
    kl = VI.kl_categorical(np.full(K, -math.log(K)), VI.posterior_log_probs(VI.gmm_log_joint(x, gmm)))
    assert np.max(np.abs(study["gap_uniform"] - kl)) < 1e-10


def test_elbo_of_the_posterior_is_log_p_even_where_the_posterior_underflows():
    """L(posterior) = log p(x) to rounding, at far points where r_k = exp(-1e5)."""
    gmm = VI.ring_gmm(10, 10.0)
    x = np.array([[0.0, 0.0], [10.0, 0.0], [60.0, -40.0], [1e3, 1e3]])
    log_p, study = VI.gmm_log_density(x, gmm), VI.elbo_study(x, gmm)
    assert np.all(np.isfinite(study["elbo_posterior"]))
    assert np.max(np.abs(study["elbo_posterior"] - log_p)) < 1e-12 * np.max(np.abs(log_p))


def test_gap_of_q_uniform_is_minus_log_k_minus_mean_log_responsibility():
    """Responsibilities computed in probability space, independently of VI's log space."""
    rng = np.random.default_rng(6)
    for R in (10.0, 1.0):
        gmm = VI.ring_gmm(10, R)
        x = VI.sample_gmm(gmm, 400, rng)
        lik = np.exp(VI.gmm_log_joint(x, gmm))
        resp = lik / lik.sum(axis=1, keepdims=True)
        gap = VI.elbo_study(x, gmm)["gap_uniform"]
        assert np.allclose(gap, -math.log(10) - np.mean(np.log(resp), axis=1), atol=1e-9, rtol=0) and np.all(gap >= 0)


def test_elbo_study_is_the_same_in_blocks():
    gmm = VI.ring_gmm(50, 5.0)
    x = VI.sample_gmm(gmm, 333, np.random.default_rng(7))
    whole, blocks = VI.elbo_study(x, gmm), VI.elbo_study(x, gmm, max_entries=50 * 17)
    for name in whole:
        assert np.array_equal(whole[name], blocks[name]), name
    assert np.max(np.abs(whole["gap_posterior"])) < 1e-12


def test_posterior_entropy_is_h_and_its_exponential_counts_components():
    """H(r) = -sum_k r_k log r_k in [0, log K] per point; effective_components = mean exp(H) in [1, K]."""
    gmm = VI.ring_gmm(50, 5.0)
    x = VI.sample_gmm(gmm, 333, np.random.default_rng(7))
    r = np.exp(VI.posterior_log_probs(VI.gmm_log_joint(x, gmm)))
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(r * np.log(r), axis=1)
    assert np.all((entropy >= 0) & (entropy <= math.log(50) + 1e-12))
    assert np.allclose(VI.elbo_study(x, gmm)["posterior_entropy"], entropy, atol=1e-12)
    s, _ = VI.elbo_experiment(x, 50, 5.0, np.random.default_rng(9), random_q=1)
    assert s["effective_components"] == pytest.approx(np.mean(np.exp(entropy)), rel=1e-12)


def test_elbo_experiment_summary_is_its_checks_and_exact_expectations():
    """E L(Unif) = -log 2pi - 1 - R^2 (E|x|^2 = R^2 + 2), the Monte Carlo mean within 4 s.e. of it."""
    x = VI.sample_gmm(VI.ring_gmm(10, 10.0), 400, np.random.default_rng(8))
    s, per = VI.elbo_experiment(x, 10, 10.0, np.random.default_rng(9), random_q=3)
    assert s["identity_max_error"] < 1e-10 and s["gap_posterior_max_abs"] < 1e-10 and s["identity_draws"] == 3
    assert s["elbo_uniform_expected"] == pytest.approx(-LOG_2PI - 1 - 100.0, rel=1e-15)
    assert abs(s["elbo_uniform"] - s["elbo_uniform_expected"]) < 4 * s["elbo_uniform_sem"]
    assert s["gap_uniform"] == pytest.approx(np.mean(per["gap_uniform"]), rel=1e-14)
    assert s["gap_uniform_separated"] == pytest.approx(100.0 - math.log(10)) and s["log_K"] == math.log(10)
    assert s["ring_limit"] == VI.fixed_R_limits(10.0)


# ---------------------------------------------------------------- 2.2: KL by quadrature and the Gaussian fits


GRID = np.linspace(-20, 20, 8001)
DX = float(GRID[1] - GRID[0])


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 0, 1), (0, 1, 2, 1.5), (3, 0.4, -1, 2), (-2, 2.5, 0.5, 0.7)])
def test_kl_quadrature_matches_the_gaussian_closed_form(m1, s1, m2, s2):
    a, b = VI.normal_log_pdf(GRID, m1, s1), VI.normal_log_pdf(GRID, m2, s2)
    assert VI.kl_quadrature(a, b, DX) == pytest.approx(kl_normal(m1, s1, m2, s2), abs=1e-9)
    assert VI.kl_quadrature(b, a, DX) == pytest.approx(kl_normal(m2, s2, m1, s1), abs=1e-9)


def test_the_q2_2_grid_integrates_p_to_one_and_gives_its_moments():
    """The default KLSettings' trapezoidal grid: int p = 1 to 1e-12; mean and variance of the moment-matched fit."""
    k = VI.KLSettings()
    x = np.linspace(k.x_min, k.x_max, k.x_num)
    p = np.exp(VI.mixture_log_pdf(x, k.p_weights, k.p_means, k.p_sds))
    assert np.trapezoid(p, x) == pytest.approx(1.0, abs=1e-12)
    mean, sd = VI.fit_gaussian_forward_kl(k.p_weights, k.p_means, k.p_sds)
    assert mean == pytest.approx(np.trapezoid(x * p, x), abs=1e-10)
    assert sd**2 == pytest.approx(np.trapezoid((x - mean) ** 2 * p, x), abs=1e-9)


def test_moment_matching_minimises_the_forward_kl():
    w, m, s = [0.3, 0.7], [-3.0, 3.0], [1.0, 0.5]
    log_p = VI.mixture_log_pdf(GRID, w, m, s)
    mean, sd = VI.fit_gaussian_forward_kl(w, m, s)
    best = VI.kl_grid(log_p, GRID, np.array([mean]), np.array([sd]), reverse=False)[0, 0]
    around = VI.kl_grid(log_p, GRID, mean + np.linspace(-0.5, 0.5, 11), sd * np.exp(np.linspace(-0.3, 0.3, 11)), reverse=False)
    assert best <= around.min() + 1e-12


def test_reverse_fit_recovers_a_gaussian_p_exactly():
    m, s, kl = VI.refine_reverse_kl(VI.normal_log_pdf(GRID, 1.3, 0.8), GRID, 0.0, 2.0, dm=2.0, dlog_s=1.0, rounds=20)
    assert m == pytest.approx(1.3, abs=1e-6) and s == pytest.approx(0.8, abs=1e-6) and kl < 1e-10


@pytest.fixture(scope="module")
def kl_default():
    return VI.kl_experiment(**vars(VI.KLSettings()))


def test_kl_experiment_seeks_a_mode_in_reverse_and_covers_both_forward(kl_default):
    """Separated modes: q on mode j costs about -log w_j; the forward fit's mean is sum_j w_j m_j."""
    s, curves = kl_default
    assert s["q"]["kl_pq"] > 10 * s["q"]["kl_qp"] and s["q"]["ratio"] == s["q"]["kl_pq"] / s["q"]["kl_qp"]
    fits = s["reverse_fits"]
    assert len(fits) == 2 and fits[0] == s["reverse_fit"]
    assert fits[0]["mean"] == pytest.approx(3.0, abs=0.1) and fits[0]["kl_qp"] == pytest.approx(-math.log(0.7), abs=0.01)
    assert fits[1]["mean"] == pytest.approx(-3.0, abs=0.1) and fits[1]["kl_qp"] == pytest.approx(-math.log(0.3), abs=0.01)
    assert s["mode_costs"] == [-math.log(0.3), -math.log(0.7)]
    fwd = s["forward_fit"]
    assert fwd["mean"] == pytest.approx(0.3 * -3 + 0.7 * 3) and fwd["kl_qp"] > fits[0]["kl_qp"]
    assert fwd["kl_pq"] < fits[0]["kl_pq"]  # each fit wins in its own direction
    assert np.min(curves["reverse_profile"]) == pytest.approx(fits[0]["kl_qp"], abs=0.02)


def test_kl_bound_and_cross_entropy_terms_of_the_text(kl_default):
    """KL(q||p) <= min_j -log w_j + KL(q || N_j); KL(p||q) = sum of cross-entropy terms - H(p), to 1e-9."""
    s, _ = kl_default
    k = VI.KLSettings()
    bound = min(-math.log(w) + kl_normal(k.q_mean, k.q_sd, m, sd) for w, m, sd in zip(k.p_weights, k.p_means, k.p_sds))
    assert s["q"]["kl_qp_bound"] == pytest.approx(bound, rel=1e-14) and s["q"]["kl_qp"] <= bound
    assert sum(s["q"]["cross_entropy_terms"]) - s["entropy_p"] == pytest.approx(s["q"]["kl_pq"], abs=1e-9)


# ---------------------------------------------------------------- 2.4: K -> infinity


@pytest.mark.parametrize("z", [0.0, 0.5, 5.0, 50.0, 499.0, 500.0, 501.0, 699.0, 2000.0, 1e5])
def test_log_bessel_i0_against_quadrature_over_the_circle(z):
    """log I_0(z) = z + log mean_t exp(z (cos t - 1)) (periodic trapezoid, spectrally accurate)."""
    t = np.linspace(0, 2 * np.pi, 8192, endpoint=False)
    expected = z + math.log(np.mean(np.exp(z * (np.cos(t) - 1.0))))
    assert VI.log_bessel_i0(np.array([z]))[0] == pytest.approx(expected, rel=1e-13, abs=1e-13)


def test_log_bessel_i0_is_numpys_below_700_and_continuous_at_500():
    """Against log(np.i0(z)) to 4e-15 relative on [0, 700); the series branch joins within 1e-11 at z = 500."""
    z = np.concatenate([np.linspace(0.0, 699.9, 7000), [500.0, np.nextafter(500.0, 1e3)]])
    assert np.allclose(VI.log_bessel_i0(z), np.log(np.i0(z)), rtol=4e-15, atol=1e-15)
    below, above = VI.log_bessel_i0(np.array([500.0, np.nextafter(500.0, 1e3)]))
    assert abs(above - below) < 1e-11
    assert np.all(np.diff(VI.log_bessel_i0(np.linspace(490, 510, 2001))) > 0)
    assert VI.log_bessel_i0(np.array([-3.0]))[0] == VI.log_bessel_i0(np.array([3.0]))[0]  # I_0 is even


def test_log_bessel_i0s_series_is_within_1e_13_above_500_as_documented():
    """The docstring: the next term of the series is below 1e-13; against log(np.i0(z)) at 500 < z < 700, to
    3e-13 (log I_0 ~ 500 rounds to 1e-13; with the term 11025/(98304 z^4) the error is 1.1e-13)."""
    z = np.linspace(500.001, 699.0, 50)
    assert np.max(np.abs(VI.log_bessel_i0(z) - np.log(np.i0(z)))) < 3e-13


@pytest.mark.parametrize("R", [0.3, 1.0, 10.0])
def test_radial_quadrature_has_mass_one_and_the_second_moment(R):
    """int p_inf = 1 and E|x|^2 = R^2 + 2, to 1e-10."""
    assert VI.ring_radial_expectation(np.ones_like, R) == pytest.approx(1.0, abs=1e-12)
    assert VI.ring_radial_expectation(lambda r: r**2, R) == pytest.approx(R**2 + 2.0, abs=1e-10)


def test_fixed_R_limits_are_consistent():
    """gap = E log p_inf - E L(Unif); E L(Unif) = -log 2pi - 1 - R^2 also by the radial quadrature."""
    lim = VI.fixed_R_limits(10.0)
    assert lim["gap_uniform"] == pytest.approx(lim["log_p"] - lim["elbo_uniform"], abs=1e-9)
    quad = VI.ring_radial_expectation(lambda r: -LOG_2PI - 0.5 * (r**2 + 100.0), 10.0)
    assert quad == pytest.approx(lim["elbo_uniform"], abs=1e-9) == -LOG_2PI - 1 - 100.0


def test_row_constant_in_its_two_limits():
    """d = 20: one Gaussian at a time, -log 2pi - 1; d = 0.5: Poisson summation, -log(2pi)/2 - 1/2 - log d."""
    assert VI.row_log_density_constant(20.0) == pytest.approx(-LOG_2PI - 1.0, abs=1e-12)
    assert VI.row_log_density_constant(0.5) == pytest.approx(-0.5 * LOG_2PI - 0.5 - math.log(0.5), abs=1e-10)


def test_fixed_spacing_radius_keeps_the_spacing():
    for K in (10, 33, 1000):
        assert VI.neighbour_spacing(K, VI.ring_radius(K, "fixed_spacing", 10.0, 10)) == pytest.approx(
            VI.neighbour_spacing(10, 10.0), rel=1e-12)
    assert VI.ring_radius(1000, "fixed_R", 10.0, 10) == 10.0
    with pytest.raises(ValueError, match="other"):
        VI.ring_radius(10, "other", 10.0, 10)


def test_coupled_points_are_samples_of_the_mixture():
    """Every point sits on a true mean (floor(u K) + 1 in ring_gmm's numbering), chosen uniformly."""
    rng = np.random.default_rng(11)
    u = rng.random(20000)
    gmm = VI.ring_gmm(12, 4.0)
    means = VI.on_circle(VI.coupled_angles(12, u), 4.0)
    assert np.allclose(means, gmm.means[np.floor(u * 12).astype(int)], atol=1e-12)
    counts = np.bincount(np.floor(u * 12).astype(int), minlength=12)
    assert np.all(np.abs(counts - 20000 / 12) < 5 * math.sqrt(20000 / 12))


@pytest.fixture(scope="module")
def sweep():
    """The sweep at K = 10, 447, 20000, and each regime's coupled draws (u, e) from its stream."""
    out = VI.sweep_experiment(5, R=10.0, K_ref=10, K_min=10, K_max=20000, K_num=3, n=100)
    draws = {}
    for regime in VI.SWEEP_REGIMES:
        rng = VI.rng_for(5, "vi", "sweep", regime)
        draws[regime] = rng.random(100), rng.standard_normal((100, 2))
    return out, draws


def test_sweep_rows_are_their_points_exact_values(sweep):
    """Each row: L(Unif) = mean of -log 2pi - (|x|^2 + R_K^2)/2 at its points, L(posterior) = log p_K."""
    out, draws = sweep
    assert out["K"] == [10, 447, 20000] and out == VI.sweep_experiment(5, 10.0, 10, 10, 20000, 3, 100)
    for regime in VI.SWEEP_REGIMES:
        u, noise = draws[regime]
        for row in out[regime]["rows"]:
            x = VI.on_circle(VI.coupled_angles(row["K"], u), row["R"]) + noise
            closed = np.mean(-LOG_2PI - 0.5 * (np.sum(x**2, axis=1) + row["R"] ** 2))
            assert row["elbo_uniform"] == pytest.approx(closed, rel=1e-12)
            assert row["log_p"] == pytest.approx(np.mean(VI.gmm_log_density(x, VI.ring_gmm(row["K"], row["R"]))), rel=1e-12)
            assert row["gap_posterior_max_abs"] < 1e-9 * max(1.0, abs(row["elbo_uniform"]))


def test_at_fixed_R_log_p_k_tends_to_the_ring_limit(sweep):
    """At the same points: K = 10 is far from log p_inf, K = 447 and 20000 equal it to 1e-9; E log p_inf within 4 s.e."""
    out, draws = sweep
    u, noise = draws["fixed_R"]
    rows = out["fixed_R"]["rows"]
    dev = [abs(r["log_p"] - np.mean(ring_log_density_limit(VI.on_circle(VI.coupled_angles(r["K"], u), 10.0) + noise, 10.0)))
           for r in rows]
    assert dev[0] > 0.1 and dev[1] < 1e-9 and dev[2] < 1e-9
    assert abs(rows[-1]["log_p"] - out["fixed_R"]["limits"]["log_p"]) < 4 * rows[-1]["log_p_sem"]


def test_at_fixed_spacing_log_p_k_plus_log_k_tends_to_the_row_limit(sweep):
    """log p_K + log K against row_log_density_limit of the noise in the frame at the point's mean: 1e-3 at K = 20000."""
    out, draws = sweep
    u, noise = draws["fixed_spacing"]
    d = out["fixed_spacing"]["spacing"]
    assert d == VI.neighbour_spacing(10, 10.0)
    dev = []
    for row in out["fixed_spacing"]["rows"]:
        angle = VI.coupled_angles(row["K"], u)
        c, s = np.cos(angle), np.sin(angle)  # tangent (-s, c), outward normal (c, s)
        limit = VI.row_log_density_limit(-s * noise[:, 0] + c * noise[:, 1], c * noise[:, 0] + s * noise[:, 1], d)
        dev.append(abs(row["log_p_plus_log_K"] - np.mean(limit)))
    assert dev[2] < 1e-3 and dev[2] < dev[1] < dev[0]
    limit = out["fixed_spacing"]["limits"]["log_p_plus_log_K"]
    assert limit == VI.row_log_density_constant(d)
    assert abs(out["fixed_spacing"]["rows"][-1]["log_p_plus_log_K"] - limit) < 4 * out["fixed_spacing"]["rows"][-1]["log_p_sem"]
