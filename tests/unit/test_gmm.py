"""Q1.1-1.3 of VI.py against exact answers: densities by the formula and by quadrature, EM's steps
against a point-by-point loop, the matching against every permutation, the KDE against a double loop."""

import itertools
import math

import numpy as np
import pytest

import VI


def test_each_split_is_the_mixture_sampled_from_its_own_stable_stream():
    """train = sample_gmm(ring, n, rng_for(seed, "data", "train", R)); CRC-32 of "train" is 1550247075 everywhere."""
    sets = VI.make_datasets(4, 6, 50, 3.0)
    assert list(sets) == ["train", "validation", "test"] and not np.allclose(sets["train"], sets["test"])
    assert np.array_equal(sets["train"], VI.sample_gmm(VI.ring_gmm(6, 3.0), 50, VI.rng_for(4, "data", "train", 3.0)))
    assert VI.stream_key("train") == 1550247075
    assert VI.stream_key(10) == VI.stream_key(10.0) == VI.stream_key("10") != VI.stream_key(1)


def test_ring_means_follow_the_homework():
    """mu_k = R (cos 2 pi k / K, sin 2 pi k / K), k = 1..K, weights 1/K; neighbours 2 R sin(pi / K) apart."""
    gmm, k = VI.ring_gmm(10, 10.0), np.arange(1, 11)
    assert np.allclose(gmm.means, 10 * np.stack([np.cos(2 * np.pi * k / 10), np.sin(2 * np.pi * k / 10)], 1), atol=1e-13)
    assert np.allclose(gmm.weights, 0.1) and gmm.K == 10
    assert np.linalg.norm(gmm.means[1] - gmm.means[0]) == pytest.approx(VI.neighbour_spacing(10, 10.0), rel=1e-14)


def test_gmm_density_is_the_formula():
    """p(x) = sum_k (1/K) exp(-|x - mu_k|^2 / 2) / (2 pi) at two points."""
    gmm = VI.ring_gmm(10, 3.0)
    x = np.array([[0.3, -1.2], [5.0, 2.0]])
    direct = [sum(0.1 / (2 * math.pi) * math.exp(-0.5 * np.sum((xi - m) ** 2)) for m in gmm.means) for xi in x]
    assert np.allclose(np.exp(VI.gmm_log_density(x, gmm)), direct, rtol=1e-12)


@pytest.mark.parametrize("density", ["mixture", "kde"])
def test_the_densities_integrate_to_one(density):
    """Sum over a 481^2 grid of [-12, 12]^2 times h^2 = 1 +- 1e-6 (the mixture; the KDE of 20 points, sigma 0.5)."""
    gmm = VI.ring_gmm(10, 3.0)
    data = VI.sample_gmm(gmm, 20, VI.rng_for(9, "kde"))
    log_p = (lambda p: VI.gmm_log_density(p, gmm)) if density == "mixture" else (lambda p: VI.kde_log_density(p, data, 0.5))
    X, Y, Z = VI.density_grid(log_p, 12.0, 481)
    assert abs(np.exp(Z).sum() * (X[0, 1] - X[0, 0]) ** 2 - 1.0) < 1e-6


def test_samples_have_the_mixture_moments():
    """E x = 0 and Cov x = (1 + R^2 / 2) I for means spread evenly on a circle."""
    x = VI.sample_gmm(VI.ring_gmm(10, 10.0), 100_000, VI.rng_for(0, "test"))
    assert np.allclose(x.mean(0), 0.0, atol=0.08)
    assert np.allclose(np.cov(x.T), 51.0 * np.eye(2), rtol=0.03, atol=0.5)


def test_log_space_stays_finite_and_exact_far_from_everything():
    """At (300, 0): log p = log(1/K) - log 2 pi - d_min^2 / 2 + log sum_k exp(-(d_k^2 - d_min^2) / 2)."""
    gmm = VI.ring_gmm(10, 10.0)
    far = np.array([[1e4, -1e4], [300.0, 0.0]])
    assert np.all(np.isfinite(VI.gmm_log_density(far, gmm)))
    assert np.all(np.isfinite(VI.posterior_log_probs(VI.gmm_log_joint(far, gmm))))
    assert np.all(np.isfinite(VI.kde_log_density(far, VI.sample_gmm(gmm, 50, VI.rng_for(0, "far")), 0.01)))
    d2 = np.sum((gmm.means - far[1]) ** 2, axis=1)
    exact = math.log(0.1) - math.log(2 * math.pi) - 0.5 * d2.min() + math.log(np.sum(np.exp(-0.5 * (d2 - d2.min()))))
    assert VI.gmm_log_density(far[1:], gmm)[0] == pytest.approx(exact, rel=1e-12)


def test_logsumexp_and_mean_and_sem_are_the_definitions():
    """log sum exp by the direct sum; an all -inf row gives -inf; sem = std(ddof=1) / sqrt(n)."""
    a = np.array([[0.1, -2.0, 3.0], [-np.inf, -np.inf, -np.inf]])
    out = VI.logsumexp(a, axis=1)
    assert out[0] == pytest.approx(math.log(sum(math.exp(v) for v in a[0])), rel=1e-15) and out[1] == -np.inf
    assert VI.mean_and_sem([1.0, 2.0, 6.0]) == pytest.approx((3.0, math.sqrt(7.0) / math.sqrt(3.0)))


@pytest.fixture(scope="module")
def r10_train():
    return VI.sample_gmm(VI.ring_gmm(10, 10.0), 1000, VI.rng_for(3, "em-test"))


def test_em_recovers_the_means_at_r10_and_keeps_the_best_restart(r10_train):
    """Matched means within 0.5 of the truth; the kept start is the argmax of every start's final value."""
    truth = VI.ring_gmm(10, 10.0)
    result = VI.fit_em(r10_train, 10, VI.rng_for(3, "em"), max_iter=500, tol=1e-9, restarts=5)
    fit = VI.match_to_truth(result.gmm, truth)
    assert np.max(np.linalg.norm(fit.means - truth.means, axis=1)) < 0.5
    assert np.max(np.abs(fit.weights - truth.weights)) < 0.05
    finals = result.restart_log_likelihoods
    assert len(finals) == 5 and result.restart == int(np.argmax(finals))
    assert result.log_likelihood[-1] == max(finals) == pytest.approx(VI.em_mean_log_likelihood(r10_train, result.gmm))


def test_em_never_lowers_the_log_likelihood(r10_train):
    """Every step of every start, at R = 10 and R = 1: diff(trace) >= -1e-12."""
    rng = VI.rng_for(4, "em")
    x1 = VI.sample_gmm(VI.ring_gmm(10, 1.0), 500, VI.rng_for(4, "r1"))
    for x in (r10_train, x1):
        for _, trace, _ in VI.run_em(x, [VI.random_init(x, 10, rng) for _ in range(2)], max_iter=200, tol=0.0):
            assert np.all(np.diff(trace) >= -1e-12)


def brute_force_em_step(x, gmm):
    """One EM step from the definitions, point by point: responsibilities, then weights and means."""
    lik = np.array([[w * math.exp(-0.5 * np.sum((xi - m) ** 2)) / (2 * math.pi) for w, m in zip(gmm.weights, gmm.means)]
                    for xi in x])
    r = lik / lik.sum(1, keepdims=True)
    # an empty component (weight 0) keeps weight 0; its mean is then irrelevant
    return r, VI.GMM(r.mean(0), (r.T @ x) / np.maximum(r.sum(0), 1e-300)[:, None]), float(np.mean(np.log(lik.sum(1))))


def test_e_and_m_steps_are_the_homeworks_formulas():
    """r_ik = pi_k N_ik / sum_j pi_j N_ij, pi_k = mean_i r_ik, mu_k = sum_i r_ik x_i / sum_i r_ik, for 3 batched runs."""
    rng = VI.rng_for(5, "m-step")
    x = rng.standard_normal((40, 2))
    gmms = [VI.GMM(np.array([0.3, 0.7]), rng.standard_normal((2, 2))) for _ in range(3)]
    resp, ll = VI.e_step(x, np.stack([g.weights for g in gmms]), np.stack([g.means for g in gmms]), 1.0)
    weights, means = VI.m_step(x, resp)
    for b, gmm in enumerate(gmms):
        r, new, mean_ll = brute_force_em_step(x, gmm)
        assert np.allclose(resp[b], r.T, rtol=1e-12) and ll[b] == pytest.approx(mean_ll, rel=1e-12)
        assert np.allclose(weights[b], new.weights) and np.allclose(means[b], new.means)


def test_em_runs_each_start_as_a_loop_of_single_steps_would():
    """run_em (all starts at once, each stopping on its own) against a loop of brute-force steps per start."""
    rng = VI.rng_for(7, "batch")
    x = VI.sample_gmm(VI.ring_gmm(4, 1.5), 60, rng)
    inits = [VI.random_init(x, 4, rng) for _ in range(3)]
    inits.append(VI.GMM(np.array([0.5, 0.5, 0.0, 0.0]), inits[0].means))  # an empty component stays empty
    tol = 1e-6
    runs = VI.run_em(x, inits, max_iter=30, tol=tol)
    for init, (gmm, trace, converged) in zip(inits, runs):
        ref, ref_trace = init, [VI.em_mean_log_likelihood(x, init)]
        while len(ref_trace) <= 30:
            ref = brute_force_em_step(x, ref)[1]
            ref_trace.append(VI.em_mean_log_likelihood(x, ref))
            if ref_trace[-1] - ref_trace[-2] < tol:
                break
        assert np.allclose(trace, ref_trace, rtol=0, atol=1e-12)
        assert converged == (ref_trace[-1] - ref_trace[-2] < tol)
        assert np.allclose(gmm.weights, ref.weights, atol=1e-12) and np.allclose(gmm.means, ref.means, atol=1e-10)
    assert runs[3][0].weights[2:].tolist() == [0.0, 0.0]


def test_random_init_takes_k_distinct_data_points_with_equal_weights():
    x = VI.sample_gmm(VI.ring_gmm(10, 10.0), 200, VI.rng_for(8, "init"))
    init = VI.random_init(x, 10, VI.rng_for(8, "pick"))
    rows = {tuple(m) for m in init.means}
    assert len(rows) == 10 and rows <= {tuple(p) for p in x} and np.all(init.weights == 0.1)


@pytest.mark.parametrize("integer_costs", [False, True])
def test_hungarian_matches_brute_force(integer_costs):
    """The smallest total cost over all n! permutations, n <= 6; integer costs have ties."""
    rng = VI.rng_for(6, "assignment", int(integer_costs))
    for n in (1, 2, 3, 4, 6):
        for _ in range(6):
            cost = rng.integers(0, 3, (n, n)).astype(float) if integer_costs else rng.random((n, n))
            col = VI.linear_sum_assignment(cost)
            best = min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n)))
            assert sorted(col) == list(range(n))
            assert cost[np.arange(n), col].sum() == pytest.approx(best, abs=1e-12)


def test_em_experiment_reports_the_matched_fits_errors_and_the_truths_values():
    """mean_error_max = max_k |mu_hat_k - mu_k| after matching; the truth's log-likelihoods by the formula."""
    data = VI.make_datasets(2, 10, 300, 10.0)
    _, e = VI.em_experiment(data, 10, 10.0, 2, max_iter=200, tol=1e-8, restarts=3)
    truth = VI.ring_gmm(10, 10.0)
    dist = np.linalg.norm(np.array(e["means_fit"]) - truth.means, axis=1)
    assert e["mean_error_max"] == pytest.approx(dist.max(), rel=1e-12)
    assert e["mean_error_rms"] == pytest.approx(math.sqrt(np.mean(dist**2)), rel=1e-12)
    assert e["test_loglik_true"] == pytest.approx(np.mean(VI.gmm_log_density(data["test"], truth)), rel=1e-14)
    assert sum(e["weights_fit"]) == pytest.approx(1.0, abs=1e-12) and e["neighbour_spacing"] == VI.neighbour_spacing(10, 10.0)
    assert 1 <= e["distinct_optima"] <= e["restarts"] == 3
    assert e["test_loglik_single_gaussian"] < e["test_loglik_fit"] - 1.0  # one Gaussian cannot fit a ring


def test_kde_equals_a_brute_force_double_loop():
    """log (1/n) sum_i exp(-|x_j - x_i|^2 / (2 sigma)) / (2 pi sigma), sigma a variance; chunks of 3 rows."""
    rng = VI.rng_for(8, "kde")
    data, x, sigma = rng.standard_normal((30, 2)), rng.standard_normal((7, 2)), 0.37
    brute = []
    for xj in x:
        total = 0.0
        for xi in data:
            total += math.exp(-np.sum((xj - xi) ** 2) / (2 * sigma)) / (2 * math.pi * sigma)
        brute.append(math.log(total / len(data)))
    assert np.allclose(VI.kde_log_density(x, data, sigma, chunk=3), brute, rtol=1e-12)
    assert VI.kde_log_likelihood(x, data, sigma) == pytest.approx(np.mean(brute), rel=1e-12)


def test_kde_tuning_finds_the_best_sigma_on_its_grid():
    """13 coarse + 7 refined values, sorted; the best is their argmax; between the gaps and the clusters."""
    gmm = VI.ring_gmm(10, 10.0)
    train, val = (VI.sample_gmm(gmm, 300, VI.rng_for(10, s)) for s in ("train", "val"))
    best, sigmas, lls = VI.tune_kde_sigma(train, val, np.geomspace(0.01, 10, 13), refine_num=7)
    assert np.all(np.diff(sigmas) >= 0) and len(sigmas) == 20
    assert best == sigmas[np.argmax(lls)]
    assert VI.kde_log_likelihood(val, train, best) == pytest.approx(lls.max(), rel=1e-14)
    assert 0.05 < best < 2.0


def test_kde_experiment_flags_a_sigma_on_the_grids_edge():
    """A grid far below the best sigma ends on its top value: sigma_on_grid_edge; the test value by the formula."""
    data, truth = VI.make_datasets(1, 10, 100, 10.0), VI.ring_gmm(10, 10.0)
    summary, sigmas, _ = VI.kde_experiment(data, np.geomspace(1e-4, 1e-3, 3), 2, truth)
    assert summary["sigma"] == sigmas[-1] == pytest.approx(1e-3) and summary["sigma_on_grid_edge"]
    summary, _, _ = VI.kde_experiment(data, np.geomspace(0.01, 10, 7), 3, truth)
    assert not summary["sigma_on_grid_edge"] and summary["grid_size"] == 10
    assert summary["test_loglik"] == pytest.approx(VI.kde_log_likelihood(data["test"], data["train"], summary["sigma"]))
    assert summary["test_loglik_true"] == pytest.approx(VI.em_mean_log_likelihood(data["test"], truth))


def test_single_gaussian_fit_is_the_closed_form():
    """Mean log N(t; m, C) with m, C the training set's mean and (biased) covariance, by explicit inverse."""
    rng = VI.rng_for(11, "gauss")
    train = rng.standard_normal((500, 2)) @ np.array([[2.0, 0.0], [0.5, 1.0]]) + 3.0
    test = rng.standard_normal((50, 2))
    m, c = train.mean(0), np.cov(train.T, bias=True)
    inv, logdet = np.linalg.inv(c), np.log(np.linalg.det(c))
    direct = np.mean([-0.5 * (t - m) @ inv @ (t - m) - math.log(2 * math.pi) - 0.5 * logdet for t in test])
    assert VI.single_gaussian_log_likelihood(train, test) == pytest.approx(direct, rel=1e-12)
