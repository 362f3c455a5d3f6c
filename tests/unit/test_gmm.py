"""Part 1.1-1.3 of VI.py against exact answers: densities by brute force and
quadrature, EM's guarantees, the KDE against a double loop, the matching
against all permutations."""

import itertools
import math

import numpy as np
import pytest

import VI
import vi_extras


def test_streams_are_stable_and_independent():
    a = VI.rng_for(1, "data", "train", 10.0).standard_normal(3)
    b = VI.rng_for(1, "data", "train", 10.0).standard_normal(3)
    c = VI.rng_for(1, "data", "validation", 10.0).standard_normal(3)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert VI.stream_key("train") == 1550247075  # CRC-32: the same on every machine and run
    assert VI.stream_key(10) == VI.stream_key(10.0) == VI.stream_key("10") != VI.stream_key(1)


def test_ring_means_follow_the_homework():
    gmm = VI.ring_gmm(10, 10.0)
    k = np.arange(1, 11)
    assert np.allclose(gmm.means[:, 0], 10 * np.cos(2 * np.pi * k / 10))
    assert np.allclose(gmm.means[:, 1], 10 * np.sin(2 * np.pi * k / 10))
    assert np.allclose(np.linalg.norm(gmm.means, axis=1), 10.0)
    assert np.allclose(gmm.weights, 0.1)


def test_gmm_density_matches_the_formula_and_integrates_to_one():
    gmm = VI.ring_gmm(10, 3.0)
    x = np.array([[0.3, -1.2], [5.0, 2.0]])
    direct = [sum(0.1 / (2 * math.pi) * math.exp(-0.5 * np.sum((xi - m) ** 2)) for m in gmm.means) for xi in x]
    assert np.allclose(np.exp(VI.gmm_log_density(x, gmm)), direct, rtol=1e-12)
    t = np.linspace(-12, 12, 481)
    X, Y = np.meshgrid(t, t)
    p = np.exp(VI.gmm_log_density(np.stack([X.ravel(), Y.ravel()], 1), gmm))
    assert abs(p.sum() * (t[1] - t[0]) ** 2 - 1.0) < 1e-6


def test_samples_have_the_mixture_moments():
    gmm = VI.ring_gmm(10, 10.0)
    x = VI.sample_gmm(gmm, 200_000, VI.rng_for(0, "test"))
    # E x = 0 (means sum to zero); Cov x = I + (R^2 / 2) I for means spread evenly on a circle
    assert np.allclose(x.mean(0), 0.0, atol=0.05)
    assert np.allclose(np.cov(x.T), (1 + 50.0) * np.eye(2), rtol=0.02, atol=0.3)


def test_log_space_stays_finite_far_from_everything():
    gmm = VI.ring_gmm(10, 10.0)
    far = np.array([[1e4, -1e4], [300.0, 0.0]])
    assert np.all(np.isfinite(VI.gmm_log_density(far, gmm)))
    assert np.all(np.isfinite(VI.posterior_log_probs(VI.gmm_log_joint(far, gmm))))
    data = VI.sample_gmm(gmm, 50, VI.rng_for(0, "far"))
    assert np.all(np.isfinite(VI.kde_log_density(far, data, 0.01)))
    # the exact value at a far point: the nearest mean dominates
    x = np.array([[300.0, 0.0]])
    d2 = np.sum((gmm.means - x) ** 2, axis=1)
    exact = math.log(0.1) - math.log(2 * math.pi) - 0.5 * d2.min() + math.log(np.sum(np.exp(-0.5 * (d2 - d2.min()))))
    assert VI.gmm_log_density(x, gmm)[0] == pytest.approx(exact, rel=1e-12)


def test_logsumexp_matches_direct_sum_and_handles_minus_infinity():
    a = np.array([[0.1, -2.0, 3.0], [-np.inf, -np.inf, -np.inf]])
    out = VI.logsumexp(a, axis=1)
    assert out[0] == pytest.approx(math.log(sum(math.exp(v) for v in a[0])))
    assert out[1] == -np.inf


@pytest.fixture(scope="module")
def r10_train():
    return VI.sample_gmm(VI.ring_gmm(10, 10.0), 1000, VI.rng_for(3, "em-test"))


def test_em_recovers_the_means_at_r10(r10_train):
    truth = VI.ring_gmm(10, 10.0)
    result = VI.fit_em(r10_train, 10, VI.rng_for(3, "em"), max_iter=500, tol=1e-9, restarts=5)
    fit = VI.match_to_truth(result.gmm, truth)
    assert np.max(np.linalg.norm(fit.means - truth.means, axis=1)) < 0.5
    assert np.max(np.abs(fit.weights - truth.weights)) < 0.05


def test_em_never_lowers_the_log_likelihood(r10_train):
    rng = VI.rng_for(4, "em")
    inits = [VI.random_init(r10_train, 10, rng) for _ in range(3)]
    for _, trace, _ in VI.run_em(r10_train, inits, max_iter=200, tol=0.0):
        assert np.all(np.diff(trace) >= -1e-12)
    x1 = VI.sample_gmm(VI.ring_gmm(10, 1.0), 500, VI.rng_for(4, "r1"))
    [(_, trace, _)] = VI.run_em(x1, [VI.random_init(x1, 10, rng)], max_iter=300, tol=0.0)
    assert np.all(np.diff(trace) >= -1e-12)


def brute_force_em_step(x, gmm):
    """One EM step from the definitions, point by point: responsibilities, then weights and means."""
    lik = np.array([[w * math.exp(-0.5 * np.sum((xi - m) ** 2)) / (2 * math.pi) for w, m in zip(gmm.weights, gmm.means)]
                    for xi in x])
    r = lik / lik.sum(1, keepdims=True)
    # an empty component (weight 0) keeps weight 0; its mean is then irrelevant
    return r, VI.GMM(r.mean(0), (r.T @ x) / np.maximum(r.sum(0), 1e-300)[:, None]), float(np.mean(np.log(lik.sum(1))))


def test_e_and_m_steps_are_the_homeworks_formulas():
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
    """run_em (all starts at once) against a loop of brute-force steps per start."""
    rng = VI.rng_for(7, "batch")
    x = VI.sample_gmm(VI.ring_gmm(4, 1.5), 60, rng)
    inits = [VI.random_init(x, 4, rng) for _ in range(3)]
    inits.append(VI.GMM(np.array([0.5, 0.5, 0.0, 0.0]), inits[0].means))  # an empty component stays empty
    tol = 1e-6
    for init, (gmm, trace, converged) in zip(inits, VI.run_em(x, inits, max_iter=30, tol=tol)):
        ref, ref_trace = init, [VI.em_mean_log_likelihood(x, init)]
        while len(ref_trace) <= 30:
            ref = brute_force_em_step(x, ref)[1]
            ref_trace.append(VI.em_mean_log_likelihood(x, ref))
            if ref_trace[-1] - ref_trace[-2] < tol:
                break
        assert np.allclose(trace, ref_trace, rtol=0, atol=1e-12)
        assert converged == (ref_trace[-1] - ref_trace[-2] < tol)
        assert np.allclose(gmm.weights, ref.weights, atol=1e-12) and np.allclose(gmm.means, ref.means, atol=1e-10)
    assert VI.run_em(x, inits, max_iter=30, tol=tol)[3][0].weights[2:].tolist() == [0.0, 0.0]


def test_hungarian_matches_brute_force():
    rng = VI.rng_for(6, "assignment")
    for n in (1, 2, 4, 6):
        for _ in range(5):
            cost = rng.random((n, n))
            col = VI.linear_sum_assignment(cost)
            best = min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n)))
            assert sorted(col) == list(range(n))
            assert cost[np.arange(n), col].sum() == pytest.approx(best)


def test_match_to_truth_undoes_a_permutation():
    truth = VI.ring_gmm(10, 10.0)
    perm = VI.rng_for(7, "perm").permutation(10)
    shuffled = VI.GMM(truth.weights[perm], truth.means[perm] + 0.01)
    matched = VI.match_to_truth(shuffled, truth)
    assert np.allclose(matched.means, truth.means + 0.01)


def test_kde_equals_a_brute_force_double_loop():
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


def test_kde_integrates_to_one():
    data = VI.sample_gmm(VI.ring_gmm(5, 2.0), 20, VI.rng_for(9, "kde"))
    t = np.linspace(-9, 9, 361)
    X, Y = np.meshgrid(t, t)
    p = np.exp(VI.kde_log_density(np.stack([X.ravel(), Y.ravel()], 1), data, 0.5))
    assert abs(p.sum() * (t[1] - t[0]) ** 2 - 1.0) < 1e-6


def test_kde_tuning_finds_the_best_sigma_on_its_grid():
    gmm = VI.ring_gmm(10, 10.0)
    train = VI.sample_gmm(gmm, 300, VI.rng_for(10, "train"))
    val = VI.sample_gmm(gmm, 300, VI.rng_for(10, "val"))
    best, sigmas, lls = VI.tune_kde_sigma(train, val, np.geomspace(0.01, 10, 13), refine_num=7)
    assert np.all(np.diff(sigmas) >= 0) and len(sigmas) == 20
    assert best == sigmas[np.argmax(lls)]
    assert VI.kde_log_likelihood(val, train, best) == pytest.approx(lls.max())
    assert 0.05 < best < 2.0  # narrower than the clusters, wider than the gaps between points


def test_single_gaussian_fit_is_the_closed_form():
    rng = VI.rng_for(11, "gauss")
    train = rng.standard_normal((500, 2)) @ np.array([[2.0, 0.0], [0.5, 1.0]]) + 3.0
    test = rng.standard_normal((50, 2))
    m, c = train.mean(0), np.cov(train.T, bias=True)
    inv, logdet = np.linalg.inv(c), np.log(np.linalg.det(c))
    direct = np.mean([-0.5 * (t - m) @ inv @ (t - m) - math.log(2 * math.pi) - 0.5 * logdet for t in test])
    assert vi_extras.gaussian_fit_log_likelihood(train, test) == pytest.approx(direct, rel=1e-12)
