"""Final Homework, DS-GA 1008 Deep Learning (Fall 2021): EBMs and variational inference.

This one file holds all the code of the homework. It is read top to bottom:

    Settings  the parameters, one dataclass per part (the defaults are the report's)
    Part 1  Generative models and EBMs
      1.1  the Gaussian mixture on a circle: density and sampling
      1.2  EM for the weights and means (covariances fixed to the identity)
      1.3  kernel density estimation, bandwidth tuned on a validation set
      1.4-1.7  an energy-based model p(x) = exp(E(x) - A) with a shallow network,
               trained and evaluated with importance sampling
    Part 2  Variational inference
      2.1  the ELBO identity log p(x) = L(q) + KL(q || p(z|x)), checked numerically
      2.2  the two directions of the KL divergence in one dimension
      2.3  the ELBO of the mixture with a uniform q and with the posterior
      2.4  both bounds as the number of components K grows
    Figures  one function per figure, in the order of the questions
    Running everything: ``python VI.py`` (``main``, last)

Conventions used throughout
  * A batch of points is an array of shape ``(n, 2)``; densities are returned as
    log-densities of shape ``(n,)`` and computed in log space (log-sum-exp), so
    points far from every component stay finite.
  * The homework's ``sigma`` of the KDE is a *variance*: the kernel is
    ``N(0, sigma * I_2)``.
  * Energies follow the homework's sign: ``p_theta(x) = exp(E_theta(x) - A(theta))``,
    so a *high* energy means a *likely* point.
  * Every random draw comes from ``numpy.random.SeedSequence([seed, *keys])``
    with keys derived from stage names (CRC-32, stable across runs and machines),
    so adding a stage never changes the numbers of another.

``python VI.py`` (no arguments) reruns the homework with the default parameters,
prints a summary and saves the figures in ``./figures``. The report build
(Snakemake) imports the same functions with the parameters of its config file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------
#
# The homework's parameters, one dataclass per section of the build's
# config/config.yaml (same names, same order, same defaults: a test keeps them equal).


@dataclass
class DataSettings:
    """Q1.1: K components, n points in each of train / validation / test, for every radius R."""

    K: int = 10
    n: int = 1000
    R: tuple = (10.0, 1.0)


@dataclass
class EMSettings:
    """Q1.2: random initialisations, EM steps per initialisation at most, and the stopping
    tolerance on the rise of the mean log-likelihood (nats per point)."""

    restarts: int = 10
    max_iter: int = 2000
    tol: float = 1e-9


@dataclass
class KDESettings:
    """Q1.3 on the data of radius R: a coarse log grid of sigma (a variance) from sigma_min
    to sigma_max with sigma_num values, then refine_num values between the best one's neighbours."""

    R: float = 10.0
    sigma_min: float = 0.01
    sigma_max: float = 10.0
    sigma_num: int = 31
    refine_num: int = 21


@dataclass
class EBMSettings:
    """Q1.4-1.7, the energy-based model (trained on the KDE's data).

    width, activation:   the hidden layer.
    base_var:            variance of the confinement N(0, base_var I_2); learned (as log beta,
                         starting from this value) when learn_base_var is true.
    optimizer, lr, weight_decay, steps: full-batch gradient ascent ("adam", "adamw" or "sgd").
    importance_M:        points drawn once from q for training (the homework's M = 5000).
    check_M:             a fresh, larger sample from q used only to check A_hat after training.
    quadrature_margin, quadrature_num: the grid [-(R + margin), R + margin]^2 with num nodes
                         per axis on which A is also computed by quadrature.
    init:                which random initialisation of the network (each has its own stream).
    threads:             torch's CPU threads (fixed, so that sums are taken in the same order).
    log_every:           a progress line every this many steps (0: silent).
    """

    width: int = 32
    activation: str = "relu"
    base_var: float = 1.0
    learn_base_var: bool = False
    optimizer: str = "adam"
    lr: float = 0.03
    weight_decay: float = 0.0
    steps: int = 2000
    importance_M: int = 5000
    check_M: int = 100_000
    quadrature_margin: float = 8.0
    quadrature_num: int = 801
    init: int = 0
    threads: int = 1
    log_every: int = 250


@dataclass
class KLSettings:
    """Q2.2: p = sum_j p_weights[j] N(p_means[j], p_sds[j]^2), q = N(q_mean, q_sd^2) (standard
    deviations); the integrals by the trapezoidal rule on x_num points of [x_min, x_max]."""

    p_weights: tuple = (0.3, 0.7)
    p_means: tuple = (-3.0, 3.0)
    p_sds: tuple = (1.0, 1.0)
    q_mean: float = 3.0
    q_sd: float = 0.5
    x_min: float = -15.0
    x_max: float = 15.0
    x_num: int = 3001


@dataclass
class ELBOSettings:
    """Q2.3: random q per test point that check log p(x) = ELBO + KL."""

    random_q: int = 20


@dataclass
class SweepSettings:
    """Q2.4: radius R (fixed R), the neighbour distance 2 R sin(pi / K_ref) (fixed spacing),
    K_num log-spaced K from K_min to K_max, n test points per regime."""

    R: float = 10.0
    K_ref: int = 10
    K_min: int = 10
    K_max: int = 10000
    K_num: int = 13
    n: int = 1000


@dataclass
class VISettings:
    """Part 2 (Q2.3 also uses the mixtures of `data`)."""

    kl: KLSettings = field(default_factory=KLSettings)
    elbo: ELBOSettings = field(default_factory=ELBOSettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)


@dataclass
class Settings:
    """Every parameter of the homework: the root seed and one section per part."""

    seed: int = 2021
    data: DataSettings = field(default_factory=DataSettings)
    em: EMSettings = field(default_factory=EMSettings)
    kde: KDESettings = field(default_factory=KDESettings)
    ebm: EBMSettings = field(default_factory=EBMSettings)
    vi: VISettings = field(default_factory=VISettings)


# ----------------------------------------------------------------------------
# Random streams
# ----------------------------------------------------------------------------


def stream_key(name: str | int | float) -> int:
    """A stable 32-bit integer for a stage name (Python's ``hash`` is salted per run).

    Numbers are written in their shortest form first, so that the radius 10 names the same
    stream whether it arrives as the integer 10 or the float 10.0.
    """
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = f"{float(name):g}"
    return zlib.crc32(str(name).encode("utf-8"))


def rng_for(seed: int, *keys: str | int | float) -> np.random.Generator:
    """The generator of one stage: ``SeedSequence([seed, crc32(key1), ...])``.

    Example: ``rng_for(2021, "data", "train", 10)`` draws the training set for R=10.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(stream_key, keys)]))


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(sum(exp(a), axis))`` without overflow or underflow (empty sums give -inf).

    Written out because the grader's environment has no scipy (scipy.special.logsumexp).
    """
    a = np.asarray(a, dtype=float)
    a_max = np.max(a, axis=axis, keepdims=True)
    a_max = np.where(np.isfinite(a_max), a_max, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - a_max), axis=axis, keepdims=True)) + a_max
    return np.squeeze(out, axis=axis)


# ----------------------------------------------------------------------------
# 1.1  The Gaussian mixture on a circle
# ----------------------------------------------------------------------------
#
#   p(x) = sum_k pi_k N(x; mu_k, I_2)
#        = sum_k pi_k (2 pi)^{-1} exp(-|x - mu_k|^2 / 2),
#   pi_k = 1/K,  mu_k = R (cos(2 pi k / K), sin(2 pi k / K)),  k = 1..K.


@dataclass(frozen=True)
class GMM:
    """A mixture of isotropic Gaussians in the plane.

    weights: (K,) mixture weights pi_k, summing to one.
    means:   (K, 2) component means mu_k.
    var:     the common variance s of every component, Sigma_k = s * I_2 (1 in the homework).
    """

    weights: np.ndarray
    means: np.ndarray
    var: float = 1.0

    @property
    def K(self) -> int:
        return len(self.weights)


def ring_gmm(K: int, R: float) -> GMM:
    """The homework's mixture: K equal weights, means equally spaced on the circle of radius R."""
    angles = 2.0 * np.pi * np.arange(1, K + 1) / K
    means = R * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GMM(weights=np.full(K, 1.0 / K), means=means, var=1.0)


def neighbour_spacing(K: int, R: float) -> float:
    """The distance 2 R sin(pi / K) between neighbouring means of the (K, R) ring."""
    return 2.0 * R * math.sin(math.pi / K)


def sample_gmm(gmm: GMM, n: int, rng: np.random.Generator) -> np.ndarray:
    """n i.i.d. points from the mixture: a component z ~ pi, then x ~ N(mu_z, var I). Shape (n, 2)."""
    z = rng.choice(gmm.K, size=n, p=gmm.weights)
    return gmm.means[z] + math.sqrt(gmm.var) * rng.standard_normal((n, 2))


def log_normal_isotropic(x: np.ndarray, means: np.ndarray, var: float) -> np.ndarray:
    """log N(x_i; mu_k, var I_2) for every pair: x (n, 2), means (K, 2) -> (n, K)."""
    # |x - mu|^2 coordinate by coordinate: exact (no cancellation) and without an (n, K, 2) temporary
    sq_dist = (x[:, :1] - means[:, 0]) ** 2 + (x[:, 1:] - means[:, 1]) ** 2
    return -0.5 * sq_dist / var - LOG_2PI - math.log(var)


def gmm_log_joint(x: np.ndarray, gmm: GMM) -> np.ndarray:
    """log p(x_i, z=k) = log pi_k + log N(x_i; mu_k, var I). Shape (n, K)."""
    with np.errstate(divide="ignore"):  # a weight of exactly zero is log 0 = -inf, on purpose
        log_w = np.log(gmm.weights)
    return log_w[None, :] + log_normal_isotropic(x, gmm.means, gmm.var)


def gmm_log_density(x: np.ndarray, gmm: GMM) -> np.ndarray:
    """log p(x_i) = logsumexp_k log p(x_i, z=k). Shape (n,)."""
    return logsumexp(gmm_log_joint(x, gmm), axis=1)


SPLITS = ("train", "validation", "test")



def make_datasets(seed: int, K: int, n: int, R: float) -> dict[str, np.ndarray]:
    """Q1.1: the training, validation and test sets for one radius, each from its own stream."""
    gmm = ring_gmm(K, R)
    return {split: sample_gmm(gmm, n, rng_for(seed, "data", split, R)) for split in SPLITS}


# ----------------------------------------------------------------------------
# 1.2  EM with Sigma_k = I fixed
# ----------------------------------------------------------------------------
#
# E-step: r_ik = p(z=k | x_i) = pi_k N(x_i; mu_k, I) / sum_j pi_j N(x_i; mu_j, I).
# M-step: pi_k = (1/n) sum_i r_ik,  mu_k = sum_i r_ik x_i / sum_i r_ik.
# Each step cannot lower the log-likelihood (1/n) sum_i log p(x_i); we stop when
# it rises by less than `tol` nats per point. The likelihood has many local
# optima (two centres sharing one cluster while another cluster gets none), so
# EM starts from several random initialisations and keeps the best. The B starts
# run side by side: weights (B, K), means (B, K, 2), responsibilities (B, K, n),
# so every step is a few numpy calls for all of them (nearly three times faster than
# a loop over the starts).


@dataclass
class EMResult:
    """The outcome of EM on one data set.

    gmm:            the fitted mixture (the variance stays 1).
    log_likelihood: (T+1,) mean log-likelihood per point before step 1, after step 1, ...
    iterations:     number of EM steps T taken by the kept run.
    converged:      whether the last step raised the log-likelihood by less than tol.
    restart:        index of the kept initialisation.
    restart_log_likelihoods: final mean log-likelihood of every initialisation.
    """

    gmm: GMM
    log_likelihood: np.ndarray
    iterations: int
    converged: bool
    restart: int
    restart_log_likelihoods: list[float]


def e_step(x: np.ndarray, weights: np.ndarray, means: np.ndarray, var: float) -> tuple[np.ndarray, np.ndarray]:
    """E-step of B runs: r[b, k, i] = pi_k N(x_i; mu_k, var I) / sum_j pi_j N(x_i; mu_j, var I).

    x (n, 2), weights (B, K), means (B, K, 2). Returns the responsibilities (B, K, n) and
    each run's mean log-likelihood (1/n) sum_i log p(x_i), shape (B,).
    """
    # log pi_k N(x_i; mu_k, var I) = mu_k . x_i / var + [log pi_k - |mu_k|^2 / (2 var)] - [|x_i|^2 / (2 var) + log(2 pi var)].
    # The last bracket does not depend on k: it cancels in r and is added back to log p(x_i) only,
    # so a step costs one product (B, K, 2) x (2, n) and one exp. Sums over k run along rows of n.
    with np.errstate(divide="ignore"):  # a weight of exactly zero is log 0 = -inf, on purpose
        component_term = np.log(weights) - 0.5 * np.sum(means * means, axis=2) / var  # (B, K)
    a = means @ (x / var).T + component_term[:, :, None]  # (B, K, n)
    a_max = a.max(axis=1, keepdims=True)  # log-sum-exp over k, by hand to reuse exp(a - a_max) in r
    e = np.exp(a - a_max)
    total = e.sum(axis=1, keepdims=True)
    point_term = -0.5 * np.sum(x * x, axis=1) / var - LOG_2PI - math.log(var)  # (n,)
    log_px = np.log(total[:, 0]) + a_max[:, 0] + point_term  # (B, n)
    return e / total, log_px.mean(axis=1)


def m_step(x: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M-step of B runs: pi_k = (1/n) sum_i r_ik and mu_k = sum_i r_ik x_i / sum_i r_ik.

    x (n, 2), resp (B, K, n). Returns weights (B, K) and means (B, K, 2).
    """
    counts = resp.sum(axis=2)  # (B, K) expected number of points per component
    # A component that lost every point gets weight ~0; its mean is then irrelevant,
    # and the guard only avoids dividing by zero.
    return counts / len(x), resp @ x / np.maximum(counts, 1e-300)[:, :, None]


def mean_and_sem(values: np.ndarray) -> tuple[float, float]:
    """The mean of per-point values and its Monte Carlo standard error std / sqrt(n)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def em_mean_log_likelihood(x: np.ndarray, gmm: GMM) -> float:
    """(1/n) sum_i log p(x_i) under the mixture."""
    return float(np.mean(gmm_log_density(x, gmm)))


def run_em(x: np.ndarray, inits: list[GMM], max_iter: int, tol: float) -> list[tuple[GMM, np.ndarray, bool]]:
    """EM from several initialisations at once, each run independent of the others.

    A run stops when a step raises its mean log-likelihood by less than tol (it is then
    frozen while the others go on), or after max_iter steps. Returns, for each start,
    (the fit, the trace, whether it converged); trace[t] is the mean log-likelihood after
    t steps (trace[0]: the initialisation).
    """
    var = inits[0].var
    weights = np.stack([g.weights for g in inits])  # (B, K)
    means = np.stack([g.means for g in inits])  # (B, K, 2)
    active = np.ones(len(inits), dtype=bool)
    converged = np.zeros(len(inits), dtype=bool)
    resp, ll = e_step(x, weights, means, var)
    traces = [[float(v)] for v in ll]
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        weights[idx], means[idx] = m_step(x, resp[idx])
        resp[idx], ll_new = e_step(x, weights[idx], means[idx], var)
        for b, value in zip(idx, ll_new):
            traces[b].append(float(value))
        done = ll_new - ll[idx] < tol
        ll[idx] = ll_new
        converged[idx[done]] = True
        active[idx[done]] = False
        if not active.any():
            break
    return [(GMM(weights=weights[b], means=means[b], var=var), np.array(traces[b]), bool(converged[b])) for b in range(len(inits))]


def random_init(x: np.ndarray, K: int, rng: np.random.Generator, var: float = 1.0) -> GMM:
    """Equal weights and K data points as means, chosen by greedy k-means++ seeding.

    The first mean is a uniformly random data point. Each next one is drawn with
    probability proportional to the squared distance to the nearest mean chosen so
    far; of 2 + log K such candidates, the one that most reduces the total squared
    distance is kept. Separate clusters then almost always get a mean each, which
    avoids the worst local optima of EM while keeping the start random.
    """
    trials = 2 + int(math.log(K))
    means = [x[rng.integers(len(x))]]
    d2 = np.sum((x - means[0]) ** 2, axis=1)  # (n,) squared distance to the nearest mean
    for _ in range(K - 1):
        candidates = rng.choice(len(x), size=trials, p=d2 / d2.sum())
        new_d2 = np.minimum(d2[None, :], np.sum((x[None, :, :] - x[candidates, None, :]) ** 2, axis=-1))
        best = int(np.argmin(new_d2.sum(axis=1)))
        means.append(x[candidates[best]])
        d2 = new_d2[best]
    return GMM(weights=np.full(K, 1.0 / K), means=np.array(means), var=var)


def fit_em(
    x: np.ndarray, K: int, rng: np.random.Generator, max_iter: int = 1000, tol: float = 1e-8, restarts: int = 10
) -> EMResult:
    """EM from `restarts` random initialisations; keeps the highest final log-likelihood."""
    best = None
    finals = []
    inits = [random_init(x, K, rng) for _ in range(restarts)]
    for r, (gmm, trace, converged) in enumerate(run_em(x, inits, max_iter, tol)):
        finals.append(float(trace[-1]))
        if best is None or trace[-1] > best.log_likelihood[-1]:
            best = EMResult(gmm, trace, len(trace) - 1, converged, r, finals)
    best.restart_log_likelihoods = finals
    return best


def linear_sum_assignment(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost perfect matching of a square cost matrix (Hungarian algorithm, O(K^3)).

    Written out because the grader's environment has no scipy (scipy.optimize.linear_sum_assignment).

    Returns `col` with row i matched to column col[i], minimising sum_i cost[i, col[i]].
    """
    cost = np.asarray(cost, dtype=float)
    n = cost.shape[0]
    u = np.zeros(n + 1)  # row potentials (1-based, index 0 is a sentinel)
    v = np.zeros(n + 1)  # column potentials
    match = np.zeros(n + 1, dtype=int)  # match[j] = row matched to column j
    way = np.zeros(n + 1, dtype=int)
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        min_v = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:  # grow an alternating tree until it reaches a free column
            used[j0] = True
            i0 = match[j0]
            delta, j1 = np.inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    reduced = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if reduced < min_v[j]:
                        min_v[j], way[j] = reduced, j0
                    if min_v[j] < delta:
                        delta, j1 = min_v[j], j
            for j in range(n + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    min_v[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    col = np.empty(n, dtype=int)
    for j in range(1, n + 1):
        col[match[j] - 1] = j - 1
    return col


def match_to_truth(estimated: GMM, truth: GMM) -> GMM:
    """Reorder the estimated components so that component k is the one closest to true mu_k.

    The order minimises the total squared distance between matched means.
    """
    cost = np.sum((truth.means[:, None, :] - estimated.means[None, :, :]) ** 2, axis=-1)
    order = linear_sum_assignment(cost)  # true component k <- estimated component order[k]
    return GMM(weights=estimated.weights[order], means=estimated.means[order], var=estimated.var)


def gaussian_fit_log_likelihood(train: np.ndarray, test: np.ndarray) -> float:
    """Mean log-likelihood on `test` of the single Gaussian fitted to `train` by maximum likelihood.

    The yardstick for overlapping components: when the mixture is nearly Gaussian,
    one Gaussian does almost as well as K of them.
    """
    mean = train.mean(axis=0)
    cov = np.cov(train, rowvar=False, bias=True)
    diff = test - mean
    mahalanobis = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
    return float(np.mean(-0.5 * mahalanobis - LOG_2PI - 0.5 * np.linalg.slogdet(cov)[1]))


def em_parameter_errors(estimated: GMM, truth: GMM) -> dict[str, float]:
    """Errors of matched parameters: mean distance |mu_hat_k - mu_k| (max, RMS) and weights."""
    matched = match_to_truth(estimated, truth)
    dist = np.linalg.norm(matched.means - truth.means, axis=1)
    return {
        "mean_error_max": float(dist.max()),
        "mean_error_rms": float(np.sqrt(np.mean(dist**2))),
        "weight_error_max": float(np.max(np.abs(matched.weights - truth.weights))),
    }


def em_experiment(data: dict, K: int, R: float, seed: int, max_iter: int, tol: float, restarts: int):
    """Q1.2 for one radius: fit EM, compare with the truth. Returns (EMResult, summary dict)."""
    truth = ring_gmm(K, R)
    result = fit_em(data["train"], K, rng_for(seed, "em", R), max_iter=max_iter, tol=tol, restarts=restarts)
    fit = match_to_truth(result.gmm, truth)
    summary = {
        "R": R,
        "K": K,
        "iterations": result.iterations,
        "converged": result.converged,
        "restart": result.restart,
        "restarts": restarts,
        "restart_log_likelihoods": result.restart_log_likelihoods,
        "distinct_optima": int(len(np.unique(np.round(result.restart_log_likelihoods, 4)))),
        "train_loglik_fit": float(result.log_likelihood[-1]),
        "train_loglik_true": em_mean_log_likelihood(data["train"], truth),
        "test_loglik_fit": em_mean_log_likelihood(data["test"], fit),
        "test_loglik_true": em_mean_log_likelihood(data["test"], truth),
        # paired on the same test points, so the standard error is that of the difference
        "test_gap_sem": mean_and_sem(gmm_log_density(data["test"], truth) - gmm_log_density(data["test"], fit))[1],
        "test_loglik_single_gaussian": gaussian_fit_log_likelihood(data["train"], data["test"]),
        "neighbour_spacing": neighbour_spacing(K, R),
        "weights_fit": fit.weights.tolist(),
        "means_fit": fit.means.tolist(),
        "means_true": truth.means.tolist(),
        **em_parameter_errors(fit, truth),
    }
    return result, summary


# ----------------------------------------------------------------------------
# 1.3  Kernel density estimation
# ----------------------------------------------------------------------------
#
#   p_hat(x) = (1/n) sum_i N(x; x_i, sigma I_2),   sigma a variance,
#   log p_hat(x) = logsumexp_i(-|x - x_i|^2 / (2 sigma)) - log n - log(2 pi sigma).


def kde_log_density(x: np.ndarray, data: np.ndarray, sigma: float, chunk: int = 2048) -> np.ndarray:
    """log p_hat(x_j) for each row of x (m, 2) under the KDE of `data` (n, 2). Shape (m,).

    Evaluated in chunks of `chunk` query points so memory stays O(chunk * n).
    """
    out = np.empty(len(x))
    for start in range(0, len(x), chunk):
        block = x[start : start + chunk]
        out[start : start + chunk] = logsumexp(log_normal_isotropic(block, data, sigma), axis=1)
    return out - math.log(len(data))


def kde_log_likelihood(x: np.ndarray, data: np.ndarray, sigma: float) -> float:
    """(1/m) sum_j log p_hat(x_j): the average log-likelihood of held-out points."""
    return float(np.mean(kde_log_density(x, data, sigma)))


def log_grid(lo: float, hi: float, num: int) -> np.ndarray:
    """`num` values from lo to hi, equally spaced in log scale."""
    return np.geomspace(lo, hi, num)


def tune_kde_sigma(
    train: np.ndarray, validation: np.ndarray, coarse: np.ndarray, refine_num: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """Choose sigma by validation log-likelihood: a coarse log grid, then a fine log grid
    between the neighbours of the best coarse value.

    Returns (best sigma, every sigma tried in increasing order, their validation log-likelihoods).
    """
    coarse = np.sort(np.asarray(coarse, dtype=float))
    coarse_ll = np.array([kde_log_likelihood(validation, train, s) for s in coarse])
    b = int(np.argmax(coarse_ll))
    lo, hi = coarse[max(b - 1, 0)], coarse[min(b + 1, len(coarse) - 1)]
    fine = log_grid(lo, hi, refine_num) if refine_num > 0 else np.array([])
    fine_ll = np.array([kde_log_likelihood(validation, train, s) for s in fine])
    sigmas = np.concatenate([coarse, fine])
    lls = np.concatenate([coarse_ll, fine_ll])
    order = np.argsort(sigmas, kind="stable")
    sigmas, lls = sigmas[order], lls[order]
    return float(sigmas[np.argmax(lls)]), sigmas, lls


def kde_experiment(data: dict, sigma_grid: np.ndarray, refine_num: int, truth: GMM) -> tuple[dict, np.ndarray, np.ndarray]:
    """Q1.3: tune sigma on validation, evaluate on test beside the true density `truth`.

    Returns (summary, sigmas tried, their validation log-likelihoods).
    """
    best, sigmas, lls = tune_kde_sigma(data["train"], data["validation"], sigma_grid, refine_num)
    kde_test = kde_log_density(data["test"], data["train"], best)
    true_test = gmm_log_density(data["test"], truth)
    test_loglik, test_loglik_sem = mean_and_sem(kde_test)
    true_loglik, true_loglik_sem = mean_and_sem(true_test)
    summary = {
        "sigma": best,
        "sigma_on_grid_edge": bool(best in (sigmas[0], sigmas[-1])),
        "validation_loglik": float(lls.max()),
        "test_loglik": test_loglik,
        "test_loglik_sem": test_loglik_sem,
        "test_loglik_true": true_loglik,
        "test_loglik_true_sem": true_loglik_sem,
        "test_gap_sem": mean_and_sem(true_test - kde_test)[1],  # paired: same test points
        "grid_size": int(len(sigmas)),
    }
    return summary, sigmas, lls


# ----------------------------------------------------------------------------
# 1.4-1.7  Energy-based model trained by importance sampling
# ----------------------------------------------------------------------------
#
#   p_theta(x) = exp(E_theta(x) - A(theta)),   A(theta) = log integral exp(E_theta(x)) dx,
#
# with the homework's sign: a HIGH energy marks a LIKELY point. The energy is a
# network with one hidden layer of `width` units plus a Gaussian confinement,
#
#   E_theta(x) = v . act(W x / s + b) + c - beta |x|^2 / 2,       beta = 1 / base_var > 0,
#
# so p_theta is an exponential tilt of the base measure N(0, base_var I_2). Every
# activation below grows at most linearly (relu, softplus, elu, silu) or stays
# bounded (tanh), hence E_theta(x) <= a + b |x| - beta |x|^2 / 2 and exp(E_theta)
# is integrable for EVERY theta: A(theta) is finite all through training. s is a
# fixed input scale (the training set's RMS coordinate), so that the hidden layer
# sees inputs of order one. Training runs in float32 (twice as fast; its rounding is
# far below the noise of the importance sample); evaluation in float64, because the
# checks below compare log-partition functions to a few thousandths of a nat.
#
# Training maximises the importance-sampling version of the homework's objective,
#
#   L_hat(theta) = (1/n) sum_i E_theta(x_i) - A_hat(theta),
#   A_hat(theta) = log (1/M) sum_m exp(E_theta(x_m)) / q(x_m)
#                = logsumexp_m(E_theta(x_m) - log q(x_m)) - log M,        x_m ~ q i.i.d.,
#
# q the true mixture, its M points drawn once and reused at every step. The
# derivative of a log-sum-exp is a softmax, so
#
#   grad A_hat = sum_m w_m grad E_theta(x_m),   w_m = softmax_m(E_theta(x_m) - log q(x_m)),
#
# which is exactly the self-normalised estimator N_hat / D_hat of
# E_{p_theta}[grad E_theta] (Question 1.6): autograd through A_hat computes it.

ACTIVATIONS = ("relu", "softplus", "tanh", "elu", "silu")
DTYPE = torch.float64  # evaluation, and the default of every function below
TRAIN_DTYPE = torch.float32  # training


def activation_function(name: str) -> nn.Module:
    """The hidden units' nonlinearity of that name (one of ACTIVATIONS), as a torch module."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return {"relu": nn.ReLU, "softplus": nn.Softplus, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}[name]()


class ShallowEnergy(nn.Module):
    """E_theta(x) = v . act(W x / s + b) + c - beta |x|^2 / 2 for x of shape (n, 2); returns (n,).

    hidden = nn.Linear(2, width) holds W (width, 2) and b (width,); out = nn.Linear(width, 1)
    holds v (1, width) and c (1,); both start as nn.Linear does (uniform on +-1/sqrt(fan_in)).
    log_beta, with beta = 1 / base_var, is a parameter when learn_base_var is true and a
    fixed buffer otherwise. Either way beta > 0, so exp(E_theta) is integrable for every
    parameter value.
    """

    def __init__(
        self, width: int, activation: str, base_var: float, input_scale: float, learn_base_var: bool = False, dtype=DTYPE
    ):
        super().__init__()
        self.width, self.activation = int(width), activation
        self.input_scale = float(input_scale)
        self.learn_base_var = bool(learn_base_var)
        self.hidden = nn.Linear(2, self.width, dtype=dtype)
        self.act = activation_function(activation)
        self.out = nn.Linear(self.width, 1, dtype=dtype)
        log_beta = torch.tensor(-math.log(base_var), dtype=dtype)
        if self.learn_base_var:
            self.log_beta = nn.Parameter(log_beta)
        else:
            self.register_buffer("log_beta", log_beta)

    @property
    def base_var(self) -> float:
        """The variance 1 / beta of the confinement (its current value when learned)."""
        return float(torch.exp(-self.log_beta.detach()))

    def network(self, x: torch.Tensor) -> torch.Tensor:
        """The shallow network v . act(W x / s + b) + c alone, shape (n,)."""
        return self.out(self.act(self.hidden(x / self.input_scale))).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """E_theta at the rows of x (n, 2). Shape (n,)."""
        return self.network(x) - 0.5 * torch.exp(self.log_beta) * torch.sum(x * x, dim=-1)


def to_tensor(x, dtype=DTYPE) -> torch.Tensor:
    """A numpy array (or anything array-like) as a torch tensor of that dtype."""
    return torch.as_tensor(np.asarray(x, dtype=float), dtype=dtype)


def torch_seed(seed: int, *keys) -> int:
    """A seed for torch's generator taken from the stage's SeedSequence stream."""
    return int(rng_for(seed, *keys).integers(2**63 - 1))


def rms_coordinate(x: np.ndarray) -> float:
    """sqrt(mean of x_ij^2): the input scale s of the network."""
    return float(np.sqrt(np.mean(np.asarray(x) ** 2)))


def energy_values(energy: ShallowEnergy, x: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """E_theta at the rows of x (m, 2) as a numpy array (m,), in chunks to bound memory."""
    out = np.empty(len(x))
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            out[start : start + chunk] = energy(to_tensor(x[start : start + chunk])).numpy()
    return out


# Importance sampling with the true mixture q as proposal (Questions 1.5-1.7).


def importance_log_weights(energy: ShallowEnergy, x_q: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """log w_m = E_theta(x_m) - log q(x_m) for the proposal points x_q (M, 2). Shape (M,)."""
    return energy(x_q) - log_q


def importance_log_partition(log_w: torch.Tensor) -> torch.Tensor:
    """A_hat = log (1/M) sum_m w_m = logsumexp(log w) - log M (differentiable, no overflow)."""
    return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))


def importance_log_partition_se(log_w: torch.Tensor) -> float:
    """Delta-method standard error of A_hat = log D_hat: sd(w) / (sqrt(M) mean(w)).

    Equal to sqrt((M / ESS - 1) / M) up to the M / (M - 1) of the unbiased variance.
    """
    ratio = len(log_w) * torch.softmax(log_w.detach(), dim=0)  # w_m / mean(w)
    return float(ratio.std() / math.sqrt(len(log_w)))


def effective_sample_size(log_w: torch.Tensor) -> float:
    """(sum_m w_m)^2 / sum_m w_m^2: M for equal weights, 1 when a single point carries them all."""
    log_w = log_w.detach()
    return float(torch.exp(2.0 * torch.logsumexp(log_w, dim=0) - torch.logsumexp(2.0 * log_w, dim=0)))


def self_normalised_estimate(values: torch.Tensor, log_w: torch.Tensor) -> torch.Tensor:
    """F_hat = N_hat / D_hat = sum_m w_m f(x_m) / sum_m w_m for values f(x_m) of shape (M, ...).

    The 1/M of N_hat and D_hat cancels; the weights are normalised in log space.
    """
    return torch.tensordot(torch.softmax(log_w.detach(), dim=0), values, dims=1)


def per_point_energy_gradients(energy: ShallowEnergy, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """grad_theta E_theta(x_m) for each row of x (M, 2): parameter name -> (M, *parameter shape)."""
    params = {k: p.detach() for k, p in energy.named_parameters()}

    def energy_at(p, x_m):  # E_theta(x_m) as a function of the parameters p (the buffers stay the model's)
        return torch.func.functional_call(energy, p, (x_m[None],))[0]

    return torch.func.vmap(torch.func.grad(energy_at), in_dims=(None, 0))(params, x)


def importance_grad_log_partition(energy: ShallowEnergy, x_q: torch.Tensor, log_q: torch.Tensor) -> dict[str, torch.Tensor]:
    """Q1.6 literally: F_hat with f = grad_theta E_theta estimates grad A = E_{p_theta}[grad E_theta].

    Training takes the same vector as autograd's gradient of A_hat (see the section header).
    """
    log_w = importance_log_weights(energy, x_q, log_q)
    return {k: self_normalised_estimate(g, log_w) for k, g in per_point_energy_gradients(energy, x_q).items()}


def ebm_objective(energy: ShallowEnergy, x: torch.Tensor, x_q: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """L_hat(theta) = (1/n) sum_i E_theta(x_i) - A_hat(theta), the training objective."""
    return energy(x).mean() - importance_log_partition(importance_log_weights(energy, x_q, log_q))


def gradient_estimator_check(energy: ShallowEnergy, x: torch.Tensor, x_q: torch.Tensor, log_q: torch.Tensor) -> dict:
    """Q1.6 in numbers: autograd's gradient of L_hat against the homework's estimator of it,
    (1/n) sum_i grad E_theta(x_i) - N_hat / D_hat, at the current parameters.

    Returns the largest absolute difference over every parameter entry, the power of ten
    10^k just above it (k >= -15, for the text), and, for scale, the gradient's largest entry.
    """
    names = [k for k, _ in energy.named_parameters()]
    autograd = torch.autograd.grad(ebm_objective(energy, x, x_q, log_q), [p for _, p in energy.named_parameters()])
    data_term = per_point_energy_gradients(energy, x)
    model_term = importance_grad_log_partition(energy, x_q, log_q)
    estimator = [data_term[k].mean(dim=0) - model_term[k] for k in names]
    diff = max(float((a - e).abs().max()) for a, e in zip(autograd, estimator))
    return {
        "grad_estimator_max_abs_diff": diff,
        "grad_estimator_diff_log10": math.floor(math.log10(max(diff, 1e-16))) + 1,
        "grad_max_abs": max(float(a.abs().max()) for a in autograd),
    }


def quadrature_log_partition(energy: ShallowEnergy, lim: float, num: int) -> float:
    """A(theta) on the square [-lim, lim]^2: log of the sum of exp(E_theta) over num x num nodes times h^2.

    This is the trapezoidal rule wherever exp(E_theta) vanishes on the boundary; its error is
    O(h^2) at the kinks of a ReLU network and smaller elsewhere. Computed in log space.
    """
    t = np.linspace(-lim, lim, num)
    X, Y = np.meshgrid(t, t)
    e = energy_values(energy, np.stack([X.ravel(), Y.ravel()], axis=1))
    return float(logsumexp(e) + 2.0 * math.log(t[1] - t[0]))


# Training and evaluation.


def make_optimizer(params, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """torch.optim's Adam, AdamW (decoupled weight decay) or SGD with momentum 0.9, full batch."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose adam, adamw or sgd")


def kept_step(validation_loglik: np.ndarray, tol: float = 1e-3) -> int:
    """The step whose model is kept: the earliest step whose validation log-likelihood is within
    `tol` nats (per point) of the best of the run.

    Model selection on the validation set alone, as the best step is, but stable: near its top the
    validation curve is flat to well under a thousandth of a nat over hundreds of steps, so the
    argmax jumps between distant steps on last-bit differences (other CPU kernels), while the
    first step to come within 1e-3 of the top is where the curve still rises. The models it
    passes over are better on validation by less than 1e-3 nats, far below the validation
    log-likelihood's standard error (about 0.03 nats at n' = 1000): no evidence that they are better.
    """
    v = np.asarray(validation_loglik, dtype=float)
    return int(np.argmax(v >= v.max() - tol))


def train_ebm(
    energy: ShallowEnergy,
    train: torch.Tensor,
    validation: torch.Tensor,
    x_q: torch.Tensor,
    log_q: torch.Tensor,
    cfg: EBMSettings,
    log=print,
) -> tuple[dict[str, np.ndarray], int]:
    """Full-batch gradient ascent on L_hat for cfg.steps steps, keeping a model chosen on validation.

    Step k evaluates the parameters after k updates: the training objective L_hat, the
    validation log-likelihood (1/n') sum_j E_theta(x'_j) - A_hat, A_hat itself and the ESS of
    the importance weights. `energy` is left at the step `kept_step` chooses from the validation
    log-likelihoods. Returns (trace of those four quantities, each of shape (steps,), kept step).
    """
    opt = make_optimizer(energy.parameters(), cfg.optimizer, cfg.lr, cfg.weight_decay)
    n, n_val = len(train), len(validation)
    x_all = torch.cat([train, validation, x_q])  # one forward pass per step serves all three sets
    trace = {k: np.empty(cfg.steps) for k in ("train_loglik", "validation_loglik", "log_partition", "ess")}
    states = []  # the parameters at every step (a few hundred numbers each)
    for step in range(cfg.steps):
        e = energy(x_all)
        log_w = e[n + n_val :] - log_q
        a_hat = importance_log_partition(log_w)
        objective = e[:n].mean() - a_hat
        val = (e[n : n + n_val].mean() - a_hat).item()  # no gradient flows from the validation points
        trace["train_loglik"][step], trace["validation_loglik"][step] = objective.item(), val
        trace["log_partition"][step], trace["ess"][step] = a_hat.item(), effective_sample_size(log_w)
        states.append({k: v.detach().clone() for k, v in energy.state_dict().items()})
        if cfg.log_every and (step % cfg.log_every == 0 or step == cfg.steps - 1):
            log(
                f"step {step:5d}: train {trace['train_loglik'][step]:9.4f}  validation {val:9.4f}  "
                f"A_hat {trace['log_partition'][step]:9.4f}  ESS {trace['ess'][step]:7.0f} / {len(log_q)}"
            )
        opt.zero_grad()
        (-objective).backward()
        opt.step()
    best_step = kept_step(trace["validation_loglik"])
    energy.load_state_dict(states[best_step])
    return trace, best_step


def evaluate_ebm(
    energy: ShallowEnergy,
    data: dict,
    truth: GMM,
    x_q: np.ndarray,
    x_check: np.ndarray,
    cfg: EBMSettings,
    R: float,
) -> dict:
    """Q1.7: the log-partition three ways and the test log-likelihoods with their standard errors.

    A_is:    A_hat on the training proposal sample (what the homework asks, and what training saw);
    A_check: A_hat on a fresh, larger sample from q;
    A_quad:  quadrature on [-(R + margin), R + margin]^2, with two checks of its own: the same
             box at half the resolution (discretisation) and a box 1.5 times wider (truncation).
    A test log-likelihood is mean(E_theta(x~_i)) - A; its standard error combines the spread of
    E_theta over the test points with the delta-method error of A_hat (independent samples).
    Gaps to the true density are paired over the same test points.
    """
    with torch.no_grad():
        log_w = importance_log_weights(energy, to_tensor(x_q), to_tensor(gmm_log_density(x_q, truth)))
        log_w_check = importance_log_weights(energy, to_tensor(x_check), to_tensor(gmm_log_density(x_check, truth)))
    lim, num = R + cfg.quadrature_margin, cfg.quadrature_num
    estimates = {  # suffix -> (A, its Monte Carlo standard error)
        "is": (float(importance_log_partition(log_w)), importance_log_partition_se(log_w)),
        "check": (float(importance_log_partition(log_w_check)), importance_log_partition_se(log_w_check)),
        "quad": (quadrature_log_partition(energy, lim, num), 0.0),
    }
    e_test = energy_values(energy, data["test"])
    log_p_true = gmm_log_density(data["test"], truth)
    mean_energy, mean_energy_se = mean_and_sem(e_test)
    gap, gap_se = mean_and_sem(log_p_true - e_test)  # log p_true - log p_theta = this + A
    summary = {
        "R": R,
        "n_parameters": int(sum(p.numel() for p in energy.parameters())),
        "base_var_final": energy.base_var,
        "input_scale": energy.input_scale,
        "importance_M": len(x_q),
        "check_M": len(x_check),
        "ess": effective_sample_size(log_w),
        "ess_check": effective_sample_size(log_w_check),
        "quadrature_lim": lim,
        "quadrature_num": num,
        "quadrature_h": 2.0 * lim / (num - 1),
        "A_quad_coarse": quadrature_log_partition(energy, lim, (num - 1) // 2 + 1),
        "A_quad_wide": quadrature_log_partition(energy, 1.5 * lim, int(round(1.5 * (num - 1))) + 1),
        "test_mean_energy_se": mean_energy_se,
        "test_loglik_true": mean_and_sem(log_p_true)[0],
        "test_loglik_true_se": mean_and_sem(log_p_true)[1],
    }
    for key, (a, a_se) in estimates.items():
        summary[f"A_{key}"], summary[f"A_{key}_se"] = a, a_se
        if key != "quad":
            summary[f"A_{key}_minus_quad"] = a - estimates["quad"][0]
        summary[f"test_loglik_{key}"] = mean_energy - a
        summary[f"test_loglik_{key}_se"] = math.hypot(mean_energy_se, a_se)
        summary[f"gap_to_true_{key}"] = gap + a
        summary[f"gap_to_true_{key}_se"] = math.hypot(gap_se, a_se)
    # The quadrature's own error: the largest change from halving the resolution or widening
    # the box, as a power of ten that bounds it (for the text).
    quadrature_change = max(abs(summary[k] - estimates["quad"][0]) for k in ("A_quad_coarse", "A_quad_wide"))
    summary["quadrature_check_log10"] = math.floor(math.log10(max(quadrature_change, 1e-15))) + 1
    a_is = estimates["is"][0]
    summary["train_loglik"] = float(energy_values(energy, data["train"]).mean()) - a_is
    summary["validation_loglik"] = float(energy_values(energy, data["validation"]).mean()) - a_is
    return summary


def ebm_kde_comparison(energy: ShallowEnergy, summary: dict, data: dict, truth: GMM, kde_sigma: float) -> dict:
    """Q1.7: the KDE of bandwidth kde_sigma (a variance) against the EBM and the truth, on the test set.

    `summary` is the EBM's (evaluate_ebm): its three estimates of A and their standard errors.
    Differences are paired over the test points: lead_over_kde_<A> = mean(log p_theta - log p_kde).
    """
    log_p_kde = kde_log_density(data["test"], data["train"], kde_sigma)
    log_p_true = gmm_log_density(data["test"], truth)
    lead, lead_se = mean_and_sem(energy_values(energy, data["test"]) - log_p_kde)  # this - A
    out = {"kde_sigma": kde_sigma}
    out["test_loglik_kde"], out["test_loglik_kde_se"] = mean_and_sem(log_p_kde)
    out["kde_gap_to_true"], out["kde_gap_to_true_se"] = mean_and_sem(log_p_true - log_p_kde)
    for key in ("is", "check", "quad"):
        out[f"lead_over_kde_{key}"] = lead - summary[f"A_{key}"]
        out[f"lead_over_kde_{key}_se"] = math.hypot(lead_se, summary[f"A_{key}_se"])
    return out


def ebm_experiment(data: dict, K: int, R: float, seed: int, cfg: EBMSettings, log=print) -> tuple[ShallowEnergy, dict, dict]:
    """Q1.6-1.7 on one data set: draw the proposal sample once, train, select, evaluate.

    Returns (the selected energy, the training trace, a summary dict). The proposal sample and
    the network's initialisation come from their own streams ("ebm", "importance" / "init").
    """
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(torch_seed(seed, "ebm", "init", R, cfg.init))
    truth = ring_gmm(K, R)
    x_q = sample_gmm(truth, cfg.importance_M, rng_for(seed, "ebm", "importance", R))
    x_check = sample_gmm(truth, cfg.check_M, rng_for(seed, "ebm", "importance-check", R))
    energy = ShallowEnergy(
        cfg.width, cfg.activation, cfg.base_var, rms_coordinate(data["train"]), cfg.learn_base_var, dtype=TRAIN_DTYPE
    )
    start = time.perf_counter()
    trace, best_step = train_ebm(
        energy,
        to_tensor(data["train"], TRAIN_DTYPE),
        to_tensor(data["validation"], TRAIN_DTYPE),
        to_tensor(x_q, TRAIN_DTYPE),
        to_tensor(gmm_log_density(x_q, truth), TRAIN_DTYPE),
        cfg,
        log,
    )
    train_seconds = time.perf_counter() - start
    energy.to(DTYPE)  # the trained parameters, exactly, in double precision
    log_q = to_tensor(gmm_log_density(x_q, truth))
    summary = {
        "config": asdict(cfg),
        "best_step": best_step,
        "ess_min_during_training": float(trace["ess"].min()),
        **gradient_estimator_check(energy, to_tensor(data["train"]), to_tensor(x_q), log_q),
        **evaluate_ebm(energy, data, truth, x_q, x_check, cfg, R),
    }
    log(f"trained {cfg.steps} steps in {train_seconds:.1f} s; kept step {best_step}")
    return energy, trace, summary


# ----------------------------------------------------------------------------
# 2  Variational inference
# ----------------------------------------------------------------------------
#
# A latent-variable model p(x, z | theta) = p(x | z, theta) p_0(z) and a
# variational distribution q(z) > 0 give the evidence lower bound (ELBO)
#
#   L(q, theta) = E_q[log p(x, z | theta) - log q(z)]
#               = log p(x | theta) - KL(q || p(z | x, theta)).                (2.1)
#
# For the mixture the latent z is the component k in {1..K}: q is a point of the
# simplex and every expectation is a finite sum. Distributions over the K
# components are handled as log-probabilities of shape (n, K), one row per point,
# so that probabilities that underflow (exp(-1e4)) stay exact in log space.


# ----------------------------------------------------------------------------
# 2.1  The ELBO and the KL divergence for a discrete latent variable
# ----------------------------------------------------------------------------


def elbo(log_joint: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """L(q) = sum_k q_k (log p(x, z=k) - log q_k), one value per point.

    log_joint: (n, K) log p(x_i, z=k).
    log_q:     (n, K) or (K,) log q_i(k), each row normalised; -inf where q_k = 0.
    Terms with q_k = 0 count as zero (the limit of q log q). Returns (n,).
    """
    log_q = np.broadcast_to(log_q, log_joint.shape)
    q = np.exp(log_q)
    with np.errstate(invalid="ignore"):  # 0 * (-inf) is masked just below
        terms = np.where(q > 0, q * (log_joint - log_q), 0.0)
    return terms.sum(axis=1)


def kl_categorical(log_q: np.ndarray, log_r: np.ndarray) -> np.ndarray:
    """KL(q || r) = sum_k q_k (log q_k - log r_k) for each row; inputs (n, K) or (K,). Returns (n,).

    +inf when q puts mass where r has none (q is then not absolutely continuous w.r.t. r).
    """
    log_q, log_r = np.broadcast_arrays(np.atleast_2d(log_q), np.atleast_2d(log_r))
    q = np.exp(log_q)
    with np.errstate(invalid="ignore"):
        terms = np.where(q > 0, q * (log_q - log_r), 0.0)
    return terms.sum(axis=1)


def posterior_log_probs(log_joint: np.ndarray) -> np.ndarray:
    """log p(z=k | x_i) = log p(x_i, z=k) - log p(x_i), from (n, K) log joints. Shape (n, K)."""
    return log_joint - logsumexp(log_joint, axis=1)[:, None]


def entropy_categorical(log_q: np.ndarray) -> np.ndarray:
    """H(q) = -sum_k q_k log q_k for each row of (n, K) log-probabilities. Returns (n,)."""
    q = np.exp(log_q)
    with np.errstate(invalid="ignore"):
        return -np.where(q > 0, q * log_q, 0.0).sum(axis=1)


# ----------------------------------------------------------------------------
# 2.2  The two directions of the KL divergence, in one dimension
# ----------------------------------------------------------------------------
#
# KL(q || p) = int q log(q / p) is large where q > 0 and p ~ 0 and ignores where
# p > 0 and q ~ 0: minimised over a unimodal q it seeks one mode of p (reverse KL,
# the ELBO's gap). KL(p || q) is the other way round: it covers every mode.
# Both are computed by the trapezoidal rule on a uniform grid, in log space: the
# integrand exp(log a) (log a - log b) never forms the ratio of two tiny numbers.


def normal_log_pdf(x: np.ndarray, mean, sd) -> np.ndarray:
    """log N(x; mean, sd^2) in one dimension (sd a standard deviation); broadcasts."""
    z = (np.asarray(x) - mean) / sd
    return -0.5 * z**2 - np.log(sd) - 0.5 * LOG_2PI


def mixture_log_pdf(x: np.ndarray, weights, means, sds) -> np.ndarray:
    """log sum_j w_j N(x; m_j, s_j^2) for a 1-D Gaussian mixture; x of any shape."""
    x = np.asarray(x, dtype=float)
    comps = [math.log(w) + normal_log_pdf(x, m, s) for w, m, s in zip(weights, means, sds)]
    return logsumexp(np.stack(comps, axis=-1), axis=-1)


def kl_quadrature(log_a: np.ndarray, log_b: np.ndarray, dx: float) -> np.ndarray:
    """KL(a || b) = int a log(a / b) dx by the trapezoidal rule on a uniform grid of step dx.

    log_a, log_b: log-densities on the grid (last axis), broadcastable. Points where a
    underflows to 0 contribute 0. Returns the KL for every leading index.
    """
    a = np.exp(log_a)
    return np.trapezoid(np.where(a > 0, a * (log_a - log_b), 0.0), dx=dx, axis=-1)


def kl_normal_closed_form(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2.0 * s2**2) - 0.5


def fit_gaussian_forward_kl(weights, means, sds) -> tuple[float, float]:
    """argmin over N(m, s^2) of KL(p || N(m, s^2)) for a Gaussian mixture p: moment matching.

    KL(p || q) = -H(p) - E_p log q, and -E_p log N(x; m, s^2) = log s + (Var_p + (E_p x - m)^2) / (2 s^2)
    + const is minimised by m = E_p x, s^2 = Var_p x. Returns (m, s).
    """
    w, m, s = (np.asarray(v, dtype=float) for v in (weights, means, sds))
    mean = float(np.sum(w * m))
    var = float(np.sum(w * (s**2 + m**2)) - mean**2)
    return mean, math.sqrt(var)


def kl_grid(log_p: np.ndarray, x: np.ndarray, m: np.ndarray, s: np.ndarray, reverse: bool) -> np.ndarray:
    """KL(N(m_i, s_j^2) || p) (reverse) or KL(p || N(m_i, s_j^2)) (forward) for every pair of a
    grid: m (I,), s (J,) -> (I, J).

    log_p: (G,) log-density of p on the uniform grid x (G,). One row of m at a time,
    so memory stays O(J * G).
    """
    dx = float(x[1] - x[0])
    out = np.empty((len(m), len(s)))
    for i, mi in enumerate(m):
        log_q = normal_log_pdf(x[None, :], mi, s[:, None])  # (J, G)
        out[i] = kl_quadrature(log_q, log_p[None, :], dx) if reverse else kl_quadrature(log_p[None, :], log_q, dx)
    return out


def refine_reverse_kl(log_p: np.ndarray, x: np.ndarray, m0: float, s0: float, dm: float, dlog_s: float,
                      num: int = 9, rounds: int = 14, shrink: float = 0.35) -> tuple[float, float, float]:
    """Local minimisation of KL(N(m, s^2) || p) around (m0, s0) by zooming grids.

    Each round evaluates a num x num grid of (m, log s) of half-widths (dm, dlog_s)
    around the current best and shrinks the half-widths by `shrink`; the result is
    accurate to about dm * shrink**rounds. Returns (m, s, KL).
    """
    m_best, log_s_best = m0, math.log(s0)
    for _ in range(rounds):
        m = m_best + np.linspace(-dm, dm, num)
        s = np.exp(log_s_best + np.linspace(-dlog_s, dlog_s, num))
        kl = kl_grid(log_p, x, m, s, reverse=True)
        i, j = np.unravel_index(np.argmin(kl), kl.shape)
        m_best, log_s_best = float(m[i]), float(np.log(s[j]))
        dm, dlog_s = dm * shrink, dlog_s * shrink
    s_best = math.exp(log_s_best)
    return m_best, s_best, float(kl_grid(log_p, x, np.array([m_best]), np.array([s_best]), reverse=True)[0, 0])


def local_minima(values: np.ndarray) -> np.ndarray:
    """Indices of the strict interior local minima of a 1-D array (plateaus give their first index)."""
    v = np.asarray(values)
    inner = (v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])
    return np.flatnonzero(inner) + 1


def kl_experiment(p_weights, p_means, p_sds, q_mean: float, q_sd: float, x_min: float, x_max: float,
                  x_num: int, m_num: int = 121, s_num: int = 48) -> tuple[dict, dict]:
    """Q2.2: a bimodal p, a unimodal q with KL(p||q) >> KL(q||p), and the Gaussians that
    minimise each direction of the KL to p.

    p = sum_j p_weights[j] N(p_means[j], p_sds[j]^2) and q = N(q_mean, q_sd^2) (standard
    deviations); the integrals use the trapezoidal rule on x_num points of [x_min, x_max].

    The reverse fit starts from every local minimum over m of the profile
    min_s KL(N(m, s^2) || p) on an (m, s) grid and is refined there (one fit per mode of p,
    best first); the forward fit is moment matching. The profiles of both directions over m
    are returned for the figure. Returns (summary, curves).
    """
    if not (len(p_weights) == len(p_means) == len(p_sds)):
        raise ValueError("vi.kl: p_weights, p_means and p_sds must have the same length")
    if not math.isclose(sum(p_weights), 1.0, abs_tol=1e-9):
        raise ValueError(f"vi.kl.p_weights must sum to one, not {sum(p_weights)}")
    if not x_min < x_max:
        raise ValueError(f"vi.kl: need x_min < x_max, got {x_min} and {x_max}")
    x = np.linspace(x_min, x_max, x_num)
    dx = float(x[1] - x[0])
    log_p = mixture_log_pdf(x, p_weights, p_means, p_sds)

    def both_kls(m: float, s: float) -> dict:
        log_q = normal_log_pdf(x, m, s)
        return {"mean": m, "sd": s, "kl_pq": float(kl_quadrature(log_p, log_q, dx)),
                "kl_qp": float(kl_quadrature(log_q, log_p, dx))}

    # The (m, s) grid: means across the support of p, widths from far narrower to far wider than p's parts.
    spread = max(p_sds)
    m_grid = np.linspace(min(p_means) - 3 * spread, max(p_means) + 3 * spread, m_num)
    s_grid = np.geomspace(min(p_sds) / 10.0, (max(p_means) - min(p_means)) + 5 * spread, s_num)
    reverse = kl_grid(log_p, x, m_grid, s_grid, reverse=True)
    forward = kl_grid(log_p, x, m_grid, s_grid, reverse=False)
    reverse_profile, forward_profile = reverse.min(axis=1), forward.min(axis=1)

    dm, dlog_s = float(m_grid[1] - m_grid[0]), float(np.log(s_grid[1] / s_grid[0]))
    reverse_fits = []
    for i in local_minima(reverse_profile):
        m, s, _ = refine_reverse_kl(log_p, x, float(m_grid[i]), float(s_grid[np.argmin(reverse[i])]), dm, dlog_s)
        reverse_fits.append(both_kls(m, s))
    reverse_fits.sort(key=lambda f: f["kl_qp"])
    forward_fit = both_kls(*fit_gaussian_forward_kl(p_weights, p_means, p_sds))
    summary = {
        "p": {"weights": list(p_weights), "means": list(p_means), "sds": list(p_sds)},
        "q": both_kls(q_mean, q_sd),
        "forward_fit": forward_fit,
        "reverse_fits": reverse_fits,
        "reverse_fit": reverse_fits[0],
        "p_mass": float(np.trapezoid(np.exp(log_p), dx=dx)),
        "mode_costs": [-math.log(w) for w in p_weights],  # -log w_j: the gap of a q on mode j alone
        "grid": {"x_min": x_min, "x_max": x_max, "x_num": x_num, "dx": dx},
    }
    summary["q"]["ratio"] = summary["q"]["kl_pq"] / summary["q"]["kl_qp"]
    # KL(p || q) = -H(p) + sum_j w_j E_{N(m_j, s_j^2)}[-log q], each term in closed form for a Gaussian q.
    summary["q"]["cross_entropy_terms"] = [
        w * (math.log(q_sd) + 0.5 * LOG_2PI + (s**2 + (m - q_mean) ** 2) / (2.0 * q_sd**2))
        for w, m, s in zip(p_weights, p_means, p_sds)
    ]
    summary["entropy_p"] = float(-np.trapezoid(np.exp(log_p) * log_p, dx=dx))
    # p >= w_j N(m_j, s_j^2) gives KL(q || p) <= -log w_j + KL(q || N(m_j, s_j^2)) for every j.
    summary["q"]["kl_qp_bound"] = min(
        -math.log(w) + kl_normal_closed_form(q_mean, q_sd, m, s) for w, m, s in zip(p_weights, p_means, p_sds)
    )
    curves = {"x": x, "log_p": log_p, "m_grid": m_grid,
              "reverse_profile": reverse_profile, "forward_profile": forward_profile}
    return summary, curves


# ----------------------------------------------------------------------------
# 2.3  The ELBO of the ring mixture with the true parameters
# ----------------------------------------------------------------------------
#
# (i)  q = Unif{1..K} (the prior): with pi_k = 1/K the log K terms cancel,
#        L(Unif) = (1/K) sum_k log N(x; mu_k, I) = -log 2pi - (1/2K) sum_k |x - mu_k|^2
#                = -log 2pi - (|x|^2 + R^2) / 2     (ring, K >= 2: sum_k mu_k = 0, |mu_k| = R),
#      and its gap is KL(Unif || r(x)) = -log K - (1/K) sum_k log r_k(x).
# (ii) q = r(x) = p(z | x): the gap is KL(r || r) = 0 and L = log p(x) exactly.


def elbo_uniform_ring(x: np.ndarray, R: float) -> np.ndarray:
    """Closed form of L(Unif) for the ring mixture (K >= 2): -log 2pi - (|x|^2 + R^2) / 2. Shape (n,).

    It does not depend on K: only the centroid (0) and mean square radius (R^2) of the means enter.
    """
    return -LOG_2PI - 0.5 * (np.sum(x**2, axis=1) + R**2)


def elbo_study(x: np.ndarray, gmm: GMM, max_entries: int = 2**21) -> dict[str, np.ndarray]:
    """Per point of x (n, 2): log p(x) by logsumexp, the ELBOs with q = Unif and q = posterior,
    the KL gap of the uniform q computed from its definition, and the posterior entropy.

    Points go through in blocks of at most max_entries / K, so the (block, K) matrices stay
    within a fixed memory whatever K. Returns a dict of (n,) arrays.
    """
    names = ("log_p", "elbo_uniform", "elbo_posterior", "kl_uniform", "posterior_entropy")
    out = {name: np.empty(len(x)) for name in names}
    log_uniform = np.full(gmm.K, -math.log(gmm.K))
    block = max(1, max_entries // gmm.K)
    for start in range(0, len(x), block):
        sl = slice(start, start + block)
        log_joint = gmm_log_joint(x[sl], gmm)
        log_r = posterior_log_probs(log_joint)
        out["log_p"][sl] = logsumexp(log_joint, axis=1)
        out["elbo_uniform"][sl] = elbo(log_joint, log_uniform)
        out["elbo_posterior"][sl] = elbo(log_joint, log_r)
        out["kl_uniform"][sl] = kl_categorical(log_uniform, log_r)
        out["posterior_entropy"][sl] = entropy_categorical(log_r)
    out["gap_uniform"] = out["log_p"] - out["elbo_uniform"]
    out["gap_posterior"] = out["log_p"] - out["elbo_posterior"]
    return out


def random_simplex_log_probs(n: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """log q for n random distributions on {1..K}, uniform on the simplex (Dirichlet(1, ..., 1)).

    Drawn as normalised exponentials, computed in log space: -log E_k - logsumexp. Shape (n, K).
    """
    log_e = np.log(rng.standard_exponential((n, K)))
    return log_e - logsumexp(log_e, axis=1)[:, None]


def elbo_identity_error(x: np.ndarray, gmm: GMM, rng: np.random.Generator, draws: int) -> float:
    """max over points and `draws` random q of |L(q) + KL(q || p(z|x)) - log p(x)|: (2.1) in numbers."""
    log_joint = gmm_log_joint(x, gmm)
    log_p = logsumexp(log_joint, axis=1)
    log_r = posterior_log_probs(log_joint)
    worst = 0.0
    for _ in range(draws):
        log_q = random_simplex_log_probs(len(x), gmm.K, rng)
        worst = max(worst, float(np.max(np.abs(elbo(log_joint, log_q) + kl_categorical(log_q, log_r) - log_p))))
    return worst


ELBO_SUMMARY_KEYS = ("log_p", "elbo_uniform", "elbo_posterior", "gap_uniform", "gap_posterior", "posterior_entropy")


def elbo_experiment(x: np.ndarray, K: int, R: float, rng: np.random.Generator, random_q: int) -> tuple[dict, dict]:
    """Q2.3 for one radius on the test points x (n, 2), with the true parameters of the
    (K, R) ring; `random_q` random q per point check the identity (2.1).

    Returns (summary with means and standard errors, per-point arrays of elbo_study).
    """
    gmm = ring_gmm(K, R)
    per = elbo_study(x, gmm)
    summary: dict = {"R": R, "K": K, "n": int(len(x))}
    for name in ELBO_SUMMARY_KEYS:
        summary[name], summary[f"{name}_sem"] = mean_and_sem(per[name])
    summary.update(
        # E_p|x|^2 = R^2 + 2, so E_p L(Unif) = -log 2pi - 1 - R^2 exactly.
        elbo_uniform_expected=-LOG_2PI - 1.0 - R**2,
        log_K=math.log(K),
        # separated components: E log p ~ -log K - log 2pi - 1, so the uniform gap is about R^2 - log K
        gap_uniform_separated=R**2 - math.log(K),
        elbo_uniform_closed_form_error=float(np.max(np.abs(per["elbo_uniform"] - elbo_uniform_ring(x, R)))),
        gap_posterior_max_abs=float(np.max(np.abs(per["gap_posterior"]))),
        gap_uniform_kl_error=float(np.max(np.abs(per["gap_uniform"] - per["kl_uniform"]))),
        gap_uniform_min=float(per["gap_uniform"].min()),
        gap_uniform_max=float(per["gap_uniform"].max()),
        effective_components=float(np.mean(np.exp(per["posterior_entropy"]))),
        identity_max_error=elbo_identity_error(x, gmm, rng, random_q),
        identity_draws=random_q,
        # the same radius with K -> infinity (section 2.4), for comparison
        ring_limit=fixed_R_limits(R),
    )
    return summary, per


# ----------------------------------------------------------------------------
# 2.4  K -> infinity
# ----------------------------------------------------------------------------
#
# Two ways to let K grow:
#   fixed R:        the means crowd the circle of radius R; the mixture is the
#                   K-point trapezoidal rule of the ring density
#                     p_inf(x) = (1/2pi) int N(x; R u(t), I) dt
#                              = (1/2pi) exp(-(|x|^2 + R^2)/2) I_0(R |x|),
#                   with u(t) = (cos t, sin t) and I_0 the modified Bessel function.
#   fixed spacing:  R_K = d / (2 sin(pi/K)) keeps neighbouring means d apart; locally
#                   the ring becomes a straight row of Gaussians spaced d apart.
# L(Unif) = -log 2pi - (|x|^2 + R_K^2)/2 for every K >= 2 (section 2.3). L(posterior)
# = log p_K(x) for every K. The limits of their expectations are 1-D integrals,
# computed below by quadrature.
#
# Test points are coupled across K: one uniform u and one noise e per point,
# component floor(u K), x = mu_{floor(u K)} + e. For each K this is an exact
# sample of p_K; as K grows, x tends to R u(2 pi u) + e, a sample of p_inf, so the
# curves against K carry no fresh Monte Carlo noise from one K to the next, and
# log p_K(x) can be compared with its limit point by point.


SWEEP_REGIMES = ("fixed_R", "fixed_spacing")


def ring_radius(K: int, regime: str, R: float, K_ref: int) -> float:
    """The radius of the K-component ring: R itself (fixed_R), or the radius that keeps the
    neighbour spacing d = 2 R sin(pi / K_ref) of the (K_ref, R) ring (fixed_spacing)."""
    if regime == "fixed_R":
        return float(R)
    if regime == "fixed_spacing":
        return float(R * math.sin(math.pi / K_ref) / math.sin(math.pi / K))
    raise ValueError(f"unknown regime {regime!r}; expected one of {SWEEP_REGIMES}")


def coupled_angles(K: int, u: np.ndarray) -> np.ndarray:
    """Angles of the components of n coupled points: component floor(u K) (0-based), whose
    mean sits at angle 2 pi (floor(u K) + 1) / K as in ring_gmm. u (n,) uniform on [0, 1)."""
    return 2.0 * np.pi * (np.floor(u * K) + 1.0) / K


def on_circle(angle: np.ndarray, R: float) -> np.ndarray:
    """Points R (cos a, sin a) for angles a (n,). Shape (n, 2)."""
    return R * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def frame_coordinates(noise: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of noise (n, 2) along the tangent (-sin a, cos a) and the outward normal
    (cos a, sin a) of the circle at angle a (n,). Returns (e_t, e_n), each (n,)."""
    c, s = np.cos(angle), np.sin(angle)
    return -s * noise[:, 0] + c * noise[:, 1], c * noise[:, 0] + s * noise[:, 1]


def log_bessel_i0(z: np.ndarray) -> np.ndarray:
    """log I_0(z) for z >= 0, finite for every z.

    numpy's i0 up to z = 500 (I_0(500) ~ 1e215 is still a float); above, the
    asymptotic series I_0(z) ~ e^z / sqrt(2 pi z) (1 + 1/(8z) + 9/(128 z^2) + 225/(3072 z^3)
    + 11025/(98304 z^4)), whose next term is below 1e-14 there.
    """
    z = np.abs(np.asarray(z, dtype=float))
    out = np.empty_like(z)
    small = z <= 500.0
    out[small] = np.log(np.i0(z[small]))
    big = z[~small]
    series = 1.0 + 1.0 / (8 * big) + 9.0 / (128 * big**2) + 225.0 / (3072 * big**3) + 11025.0 / (98304 * big**4)
    out[~small] = big - 0.5 * np.log(2.0 * np.pi * big) + np.log(series)
    return out


def ring_log_density_limit(x: np.ndarray, R: float) -> np.ndarray:
    """log p_inf(x) = -log 2pi - (|x|^2 + R^2)/2 + log I_0(R |x|): the K -> infinity limit of the
    ring mixture at fixed R (uniform mixture over the whole circle). x (n, 2) -> (n,)."""
    r2 = np.sum(x**2, axis=1)
    return -LOG_2PI - 0.5 * (r2 + R**2) + log_bessel_i0(R * np.sqrt(r2))


def ring_radial_expectation(f, R: float, num: int = 20001, width: float = 14.0) -> float:
    """E f(|x|) for x ~ p_inf by quadrature over the radius rho = |x| (Rice distribution):

        E f = int_0^inf rho exp(-(rho^2 + R^2)/2) I_0(R rho) f(rho) d rho.

    Simpson's rule on [0, R + width] with `num` (odd) nodes: the integrand is not periodic
    and its slope at rho = 0 is not zero, so the trapezoidal rule would be only O(h^2).
    The tail beyond R + width holds less than e^{-width^2/2}.
    """
    num += 1 - num % 2  # Simpson needs an even number of intervals
    rho = np.linspace(0.0, R + width, num)
    with np.errstate(divide="ignore"):
        log_w = np.log(rho) - 0.5 * (rho**2 + R**2) + log_bessel_i0(R * rho)
    y = np.exp(log_w) * f(rho)  # rho = 0 gives exp(-inf) = 0
    return float((rho[1] - rho[0]) / 3.0 * (y[0] + y[-1] + 4.0 * y[1:-1:2].sum() + 2.0 * y[2:-1:2].sum()))


def fixed_R_limits(R: float) -> dict:
    """K -> infinity at fixed R, expectations under p_inf:
    E log p_inf(x), E L(Unif) = -log 2pi - 1 - R^2, and the gap E log I_0(R |x|) between them."""
    log_p = ring_radial_expectation(lambda r: -LOG_2PI - 0.5 * (r**2 + R**2) + log_bessel_i0(R * r), R)
    gap = ring_radial_expectation(lambda r: log_bessel_i0(R * r), R)
    return {"log_p": log_p, "elbo_uniform": -LOG_2PI - 1.0 - R**2, "gap_uniform": gap,
            "mass": ring_radial_expectation(np.ones_like, R)}


def row_log_density_limit(e_t: np.ndarray, e_n: np.ndarray, d: float) -> np.ndarray:
    """lim_{K -> inf} log p_K(x) + log K at fixed spacing d, for x = mu_z + e with e = e_t t + e_n n
    in the tangent/normal frame of its component: the means near x become the straight row
    mu_z + j d t, j in Z, so

        log p_K(x) + log K -> -log 2pi - e_n^2 / 2 + log sum_{j in Z} exp(-(e_t - j d)^2 / 2).

    Terms with |e_t - j d| > 40 (below e^{-800}) are left out. Shapes (n,) -> (n,).
    """
    e_t, e_n = np.asarray(e_t, dtype=float), np.asarray(e_n, dtype=float)
    J = int(np.ceil((np.max(np.abs(e_t), initial=0.0) + 40.0) / d))
    j = np.arange(-J, J + 1)
    return -LOG_2PI - 0.5 * e_n**2 + logsumexp(-0.5 * (e_t[:, None] - j[None, :] * d) ** 2, axis=1)


def row_log_density_constant(d: float, num: int = 4001, width: float = 12.0) -> float:
    """C(d) = E[row_log_density_limit(e_t, e_n, d)] for e ~ N(0, I_2): the limit of
    E[log p_K(x)] + log K at fixed spacing d. The normal coordinate gives -1/2; the tangent
    one is a 1-D integral, by the trapezoidal rule over e_t in [-width, width]."""
    e = np.linspace(-width, width, num)
    weight = np.exp(-0.5 * e**2) / math.sqrt(2.0 * math.pi)
    return float(np.trapezoid(weight * row_log_density_limit(e, np.zeros_like(e), d), e) - 0.5)


def sweep_K_grid(K_min: int, K_max: int, K_num: int) -> list[int]:
    """K_num values from K_min to K_max, log-spaced, rounded to integers (duplicates dropped)."""
    if not 2 <= K_min <= K_max:
        raise ValueError(f"vi.sweep: need 2 <= K_min <= K_max, got K_min={K_min}, K_max={K_max}")
    return sorted({int(round(k)) for k in np.geomspace(K_min, K_max, K_num)})


def sweep_regime(Ks: list[int], regime: str, R: float, K_ref: int, n: int, rng: np.random.Generator) -> dict:
    """Q2.4 in one regime: for each K, the mean (and standard error) over n coupled test points of
    log p_K(x), L(Unif), L(posterior) and the uniform gap, and the largest distance of
    log p_K(x) from its K -> infinity limit at the same points.

    Returns {"rows": one dict per K, "same_points_limit": means at the limiting points}.
    """
    u, noise = rng.random(n), rng.standard_normal((n, 2))
    d = neighbour_spacing(K_ref, R)
    rows = []
    for K in Ks:
        R_K = ring_radius(K, regime, R, K_ref)
        angle = coupled_angles(K, u)
        x = on_circle(angle, R_K) + noise
        per = elbo_study(x, ring_gmm(K, R_K))
        row = {"K": K, "R": R_K, "spacing": neighbour_spacing(K, R_K)}
        for name in ("log_p", "elbo_uniform", "elbo_posterior", "gap_uniform", "posterior_entropy"):
            row[name], row[f"{name}_sem"] = mean_and_sem(per[name])
        row["log_p_plus_log_K"] = row["log_p"] + math.log(K)
        row["gap_posterior_max_abs"] = float(np.max(np.abs(per["gap_posterior"])))
        row["elbo_uniform_closed_form_error"] = float(np.max(np.abs(per["elbo_uniform"] - elbo_uniform_ring(x, R_K))))
        if regime == "fixed_R":
            limit = ring_log_density_limit(x, R)
        else:
            limit = row_log_density_limit(*frame_coordinates(noise, angle), d) - math.log(K)
        row["log_p_limit_max_abs_dev"] = float(np.max(np.abs(per["log_p"] - limit)))
        rows.append(row)
    # The points the coupled samples tend to: R u(2 pi u) + e (fixed R), or e in the frame at angle 2 pi u.
    limit_angle = 2.0 * np.pi * u
    same = {}
    if regime == "fixed_R":
        x = on_circle(limit_angle, R) + noise
        same["log_p"], same["log_p_sem"] = mean_and_sem(ring_log_density_limit(x, R))
        same["elbo_uniform"], same["elbo_uniform_sem"] = mean_and_sem(elbo_uniform_ring(x, R))
        same["gap_uniform"], same["gap_uniform_sem"] = mean_and_sem(log_bessel_i0(R * np.linalg.norm(x, axis=1)))
    else:
        same["log_p_plus_log_K"], same["log_p_plus_log_K_sem"] = mean_and_sem(
            row_log_density_limit(*frame_coordinates(noise, limit_angle), d))
    return {"rows": rows, "same_points_limit": same}


def sweep_experiment(seed: int, R: float, K_ref: int, K_min: int, K_max: int, K_num: int, n: int) -> dict:
    """Q2.4: both regimes over the K grid, with the analytic K -> infinity limits.

    R: the radius at fixed R; the fixed-spacing regime keeps the neighbour distance
    2 R sin(pi / K_ref) of the (K_ref, R) ring. K: K_num log-spaced values from K_min to K_max.
    n: test points per regime, shared by every K.

    Each regime draws its test points from its own stream rng_for(seed, "vi", "sweep", regime).
    """
    Ks = sweep_K_grid(K_min, K_max, K_num)
    d = neighbour_spacing(K_ref, R)
    C = row_log_density_constant(d)
    fixed_R = sweep_regime(Ks, "fixed_R", R, K_ref, n, rng_for(seed, "vi", "sweep", "fixed_R"))
    fixed_spacing = sweep_regime(Ks, "fixed_spacing", R, K_ref, n, rng_for(seed, "vi", "sweep", "fixed_spacing"))
    return {
        "K": Ks,
        "n": n,
        "fixed_R": {"R": R, **fixed_R, "limits": fixed_R_limits(R)},
        "fixed_spacing": {
            "R_ref": R,
            "K_ref": K_ref,
            "spacing": d,
            **fixed_spacing,
            # E log p_K = -log K + C(d) + o(1);  E L(Unif) = -log 2pi - 1 - R_K^2 for every K >= 2.
            "limits": {"log_p_plus_log_K": C, "elbo_uniform_plus_R2": -LOG_2PI - 1.0,
                       "gap_minus_R2_plus_log_K": C + LOG_2PI + 1.0},
        },
    }


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------
#
# Matplotlib is imported on first use: the computations above do not need it.


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (figures go to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path) -> None:
    """Save without a creation date, so the same figure gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"CreationDate": None} if path.suffix == ".pdf" else {}
    fig.savefig(path, metadata=metadata)
    pyplot().close(fig)


def density_grid(log_density, lim: float, num: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate a log-density on a num x num grid of [-lim, lim]^2: returns X, Y, log p."""
    t = np.linspace(-lim, lim, num)
    X, Y = np.meshgrid(t, t)
    Z = log_density(np.stack([X.ravel(), Y.ravel()], axis=1)).reshape(X.shape)
    return X, Y, Z


# Questions 1.1-1.3.


def plot_samples(datasets: dict, gmms: dict, path: str | Path) -> None:
    """Q1.1: one panel per R, the training points, the true means and density contours."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.3 * len(datasets), 3.4), squeeze=False)
    for ax, (R, x) in zip(axes[0], datasets.items()):
        gmm = gmms[R]
        lim = float(np.abs(gmm.means).max()) + 4.0
        X, Y, Z = density_grid(lambda p: gmm_log_density(p, gmm), lim)
        ax.contour(X, Y, np.exp(Z), levels=6, colors="0.45", linewidths=0.6)
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="C0", label="training points", rasterized=True)
        ax.scatter(*gmm.means.T, marker="x", color="C3", s=30, label=r"true means $\mu_k$")
        ax.set(title=f"R = {R:g}", xlabel="$x_1$", ylabel="$x_2$", aspect="equal", xlim=(-lim, lim), ylim=(-lim, lim))
    axes[0, 0].legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    save_figure(fig, path)


def plot_em_means(datasets: dict, truths: dict, fits: dict, path: str | Path) -> None:
    """Q1.2: estimated means (circles, area ~ weight) against true means (crosses) over the data."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.3 * len(datasets), 3.4), squeeze=False)
    for ax, (R, x) in zip(axes[0], datasets.items()):
        truth, fit = truths[R], fits[R]
        lim = float(np.abs(truth.means).max()) + 4.0
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.25, color="0.5", rasterized=True)
        ax.scatter(*truth.means.T, marker="x", color="C3", s=36, label="true means")
        ax.scatter(*fit.means.T, s=400 * fit.weights, facecolors="none", edgecolors="C0", label="EM means")
        ax.set(title=f"R = {R:g}", xlabel="$x_1$", ylabel="$x_2$", aspect="equal", xlim=(-lim, lim), ylim=(-lim, lim))
    axes[0, 0].legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    save_figure(fig, path)


def plot_em_traces(traces: dict, truth_ll: dict, path: str | Path) -> None:
    """Q1.2: mean training log-likelihood after each EM step, with the value at the true parameters.

    Steps are on a log axis (the R=1 run takes thousands of steps, the R=10 run a few).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, len(traces), figsize=(3.3 * len(traces), 2.8), squeeze=False)
    for ax, (R, trace) in zip(axes[0], traces.items()):
        steps = np.arange(1, len(trace))
        ax.plot(steps, trace[1:], color="C0", marker="." if len(steps) < 30 else None, label="EM (kept restart)")
        ax.axhline(truth_ll[R], color="C3", linestyle="--", label="true parameters")
        # Zoom on the end of the run and the true value; the first steps may lie below.
        lo, hi = sorted([trace[-1], truth_ll[R]])
        pad = max(0.6 * (hi - lo), 0.005)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set(title=f"R = {R:g}", xlabel="EM step", ylabel="mean log-likelihood", xscale="log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
    axes[0, 0].legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    save_figure(fig, path)


def plot_kde_validation(sigmas: np.ndarray, lls: np.ndarray, best: float, path: str | Path) -> None:
    """Q1.3: validation log-likelihood against the bandwidth sigma (a variance), best marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 2.9))
    ax.plot(sigmas, lls, marker=".", color="C0")
    ax.axvline(best, color="C3", linestyle="--", label=rf"chosen $\sigma = {best:.3g}$")
    finite = lls[np.isfinite(lls)]
    ax.set(xscale="log", xlabel=r"$\sigma$ (variance of the kernel)", ylabel="validation log-likelihood")
    ax.set_ylim(max(finite.min(), finite.max() - 3.0), finite.max() + 0.2)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    save_figure(fig, path)


def plot_density_panels(panels: dict, lim: float, path: str | Path, num: int = 200) -> None:
    """Heat maps of several densities side by side: `panels` maps title -> log-density function."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels), 3.1), squeeze=False)
    for ax, (title, log_density) in zip(axes[0], panels.items()):
        X, Y, Z = density_grid(log_density, lim, num)
        ax.pcolormesh(X, Y, np.exp(Z), shading="auto", cmap="viridis", rasterized=True)
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        ax.grid(False)  # grid lines would hide the density
    fig.tight_layout()
    save_figure(fig, path)


# Questions 1.6-1.7.


def plot_ebm_training(trace: dict, best_step: int, references: dict, path: str | Path) -> None:
    """Q1.6: against the step, the training objective and validation log-likelihood (with
    `references`, label -> validation log-likelihood of other densities), A_hat, and ESS / M."""
    plt = pyplot()
    steps = np.arange(1, len(trace["train_loglik"]) + 1)
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 2.8))
    ax = axes[0]
    ax.plot(steps, trace["train_loglik"], color="C0", label="training objective $\\hat{\\mathcal{L}}$")
    ax.plot(steps, trace["validation_loglik"], color="C1", label="validation log-lik.")
    for (label, value), style in zip(references.items(), ("--", ":")):
        ax.axhline(value, color="0.3", linestyle=style, linewidth=1.0, label=label)
    top = max(trace["validation_loglik"].max(), *references.values())
    ax.set(xscale="log", xlabel="step", ylabel="log-likelihood (nats)", ylim=(top - 0.6, top + 0.1))
    ax.legend(loc="lower left", fontsize="small")  # early steps lie below the panel: the left is empty
    axes[1].plot(steps, trace["log_partition"], color="C2")
    axes[1].set(xscale="log", xlabel="step", ylabel=r"$\hat A(\theta)$")
    axes[2].plot(steps, trace["ess"], color="C4")
    axes[2].set(xscale="log", xlabel="step", ylabel="effective sample size")
    for ax in axes:
        ax.axvline(best_step + 1, color="C3", linewidth=0.8, linestyle="--")
    fig.tight_layout()
    save_figure(fig, path)


def plot_log_density_slices(panels: dict, R: float, path: str | Path) -> None:
    """Q1.7: log-densities (`panels`: label -> log-density function) along the circle of radius R
    through the means, and along the ray from the origin through the mean at angle 0."""
    plt = pyplot()
    angle = np.linspace(0.0, 2.0 * np.pi, 721)
    radius = np.linspace(0.0, R + 6.0, 481)
    on_circle = R * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    on_ray = np.stack([radius, np.zeros_like(radius)], axis=1)
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 2.8))
    for (label, log_density), style in zip(panels.items(), ("-", "--", ":")):
        axes[0].plot(angle, log_density(on_circle), linestyle=style, label=label)
        axes[1].plot(radius, log_density(on_ray), linestyle=style, label=label)
    axes[0].set(xlabel=r"angle $\varphi$ on the circle $|x| = R$", ylabel=r"$\log p(x)$", xlim=(0, 2 * np.pi))
    axes[1].set(xlabel=r"$|x|$ along the ray $\varphi = 0$", ylabel=r"$\log p(x)$", ylim=(-40, None))
    axes[1].legend(loc="lower center", fontsize="small")  # below the peak, where the curves leave room
    fig.tight_layout()
    save_figure(fig, path)


def ebm_density_functions(energy: ShallowEnergy, log_partition: float, truth: GMM, train: np.ndarray, kde_sigma: float) -> dict:
    """The three densities compared in Q1.7, as log-density functions of points (m, 2) -> (m,)."""
    return {
        "true density": lambda x: gmm_log_density(x, truth),
        "EBM": lambda x: energy_values(energy, x) - log_partition,
        rf"KDE, $\sigma={kde_sigma:.3g}$": lambda x: kde_log_density(x, train, kde_sigma),
    }


def plot_ebm_results(
    energy: ShallowEnergy, trace: dict, summary: dict, data: dict, truth: GMM, kde_sigma: float, paths: dict
) -> None:
    """Q1.6-1.7 figures: `paths` maps "training", "density" and "slices" to files."""
    references = {
        "true GMM": em_mean_log_likelihood(data["validation"], truth),
        "KDE": kde_log_likelihood(data["validation"], data["train"], kde_sigma),
    }
    plot_ebm_training(trace, summary["best_step"], references, paths["training"])
    densities = ebm_density_functions(energy, summary["A_is"], truth, data["train"], kde_sigma)
    plot_density_panels(densities, summary["R"] + 4.0, paths["density"])
    plot_log_density_slices(densities, summary["R"], paths["slices"])

# Part 2.


def plot_kl_directions(summary: dict, curves: dict, path: str | Path) -> None:
    """Q2.2: (a) the bimodal p and a unimodal q with both KLs; (b) the Gaussians minimising
    each direction of the KL, over p; (c) min over s of each KL as a function of the mean m."""
    plt = pyplot()
    x, p = curves["x"], np.exp(curves["log_p"])
    fig, axes = plt.subplots(1, 3, figsize=(7.4, 2.5))
    centres, widths = np.array(summary["p"]["means"]), np.array(summary["p"]["sds"])
    view = (float(np.min(centres - 5 * widths)), float(np.max(centres + 5 * widths)))
    ax = axes[0]
    q = summary["q"]
    ax.plot(x, p, color="k", label="$p$ (bimodal)")
    ax.plot(x, np.exp(normal_log_pdf(x, q["mean"], q["sd"])), color="C0", label="$q$ (unimodal)")
    ax.set(title=f"(a) KL(p||q) = {q['kl_pq']:.2f}, KL(q||p) = {q['kl_qp']:.2f}", xlabel="$z$", ylabel="density",
           xlim=view)
    ax.legend(loc="upper left")
    ax = axes[1]
    fwd, rev = summary["forward_fit"], summary["reverse_fit"]
    ax.fill_between(x, p, color="0.85", label="$p$")
    top = max(np.exp(normal_log_pdf(f["mean"], f["mean"], f["sd"])) for f in [fwd, *summary["reverse_fits"]])
    ax.plot(x, np.exp(normal_log_pdf(x, fwd["mean"], fwd["sd"])), color="C1",
            label=f"forward fit: KL(q||p) = {fwd['kl_qp']:.2f}")
    ax.plot(x, np.exp(normal_log_pdf(x, rev["mean"], rev["sd"])), color="C2",
            label=f"reverse fit: KL(q||p) = {rev['kl_qp']:.2f}")
    for other in summary["reverse_fits"][1:]:
        ax.plot(x, np.exp(normal_log_pdf(x, other["mean"], other["sd"])), color="C2", linestyle=":",
                label=f"local reverse fit: {other['kl_qp']:.2f}")
    ax.set(title="(b) closest Gaussians to $p$", xlabel="$z$", xlim=view, ylim=(0, 1.7 * max(top, p.max())))
    ax.legend(loc="upper left", fontsize="x-small")
    ax = axes[2]
    m = curves["m_grid"]
    ax.plot(m, curves["forward_profile"], color="C1", label="KL(p||q)")
    ax.plot(m, curves["reverse_profile"], color="C2", label="KL(q||p)")
    ax.set(title=r"(c) $\min_s$ KL over $q=\mathcal{N}(m,s^2)$", xlabel="mean $m$ of $q$", ylabel="nats",
           ylim=(0, None))
    ax.legend(loc="upper center")
    fig.tight_layout()
    save_figure(fig, path)


def plot_elbo_distributions(points: dict, per_R: dict, path: str | Path) -> None:
    """Q2.3: per test point, log p(x) and the two ELBOs (left) and the uniform gap against |x|
    (right), one row per radius. points maps R -> test points (n, 2); per_R maps R -> the
    per-point arrays of elbo_study."""
    plt = pyplot()
    fig, axes = plt.subplots(len(per_R), 2, figsize=(7.6, 2.5 * len(per_R)), squeeze=False)
    for (ax, ax_gap), (R, per) in zip(axes, per_R.items()):
        values = np.concatenate([per["log_p"], per["elbo_uniform"]])
        bins = np.linspace(values.min(), values.max(), 60)
        ax.hist(per["elbo_uniform"], bins=bins, color="C0", alpha=0.6, label="ELBO, $q$ uniform")
        ax.hist(per["log_p"], bins=bins, color="C3", alpha=0.6, label=r"$\log p(x)$")
        ax.hist(per["elbo_posterior"], bins=bins, histtype="step", color="k", linestyle="--",
                label="ELBO, $q$ posterior")
        ax.set(title=f"R = {R:g}", xlabel="nats", ylabel="test points")
        ax.legend(loc="upper left", fontsize="x-small")
        radius = np.linalg.norm(points[R], axis=1)
        ax_gap.scatter(radius, per["gap_uniform"], s=3, alpha=0.5, color="C0", rasterized=True)
        ax_gap.set(title=f"R = {R:g}: gap of the uniform $q$", xlabel=r"$\|x\|$",
                   ylabel=r"KL(Unif $\|$ posterior)")
    fig.tight_layout()
    save_figure(fig, path)


def plot_sweep(sweep: dict, path: str | Path) -> None:
    """Q2.4: mean ELBOs and log p(x) against K in both regimes (top), and the approach to
    the analytic K -> infinity limits (bottom); dashed lines are the limits."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.4))
    Ks = np.array(sweep["K"], dtype=float)
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]

    def col(regime: dict, name: str) -> np.ndarray:
        return np.array([r[name] for r in regime["rows"]])

    dots = {"marker": "o", "markersize": 3}
    # (a) fixed R: L(Unif) does not move with K; log p_K = L(posterior) settles on log p_inf.
    ax = axes[0, 0]
    ax.plot(Ks, col(fr, "elbo_uniform"), color="C0", label="ELBO, $q$ uniform", **dots)
    ax.plot(Ks, col(fr, "log_p"), color="C3", label=r"$\log p_K(x)$", **dots)
    ax.plot(Ks, col(fr, "elbo_posterior"), linestyle="none", marker="x", color="k", label="ELBO, $q$ posterior")
    ax.axhline(fr["limits"]["elbo_uniform"], color="C0", linestyle="--", linewidth=0.9)
    ax.axhline(fr["limits"]["log_p"], color="C3", linestyle="--", linewidth=0.9)
    ax.set(title=f"(a) fixed R = {fr['R']:g}", xscale="log", ylabel="mean over test points (nats)")
    ax.legend(loc="center right", fontsize="x-small")
    # (b) fixed spacing: both diverge; plotted as -value on log axes with their asymptotes.
    ax = axes[0, 1]
    R2, logK = col(fs, "R") ** 2, np.log(Ks)
    ax.plot(Ks, -col(fs, "elbo_uniform"), color="C0", label="$-$ELBO, $q$ uniform", **dots)
    ax.plot(Ks, -col(fs, "log_p"), color="C3", label=r"$-\log p_K(x)$", **dots)
    ax.plot(Ks, -col(fs, "elbo_posterior"), linestyle="none", marker="x", color="k", label="$-$ELBO, $q$ posterior")
    ax.plot(Ks, R2 - fs["limits"]["elbo_uniform_plus_R2"], color="C0", linestyle="--", linewidth=0.9,
            label=r"$R_K^2 + \log 2\pi + 1$")
    ax.plot(Ks, logK - fs["limits"]["log_p_plus_log_K"], color="C3", linestyle="--", linewidth=0.9,
            label=r"$\log K - C(d)$")
    ax.set(title=f"(b) fixed spacing d = {fs['spacing']:.2f}, $R_K$ grows with K", xscale="log", yscale="log",
           ylabel="minus the mean (nats)")
    ax.legend(loc="upper left", fontsize="x-small")
    # (c) both regimes: largest distance, over the test points, of log p_K(x) from its limit there.
    floor = 1e-16
    ax = axes[1, 0]
    ax.plot(Ks, np.maximum(col(fr, "log_p_limit_max_abs_dev"), floor), color="C3",
            label=r"fixed R: limit $\log p_\infty(x)$", **dots)
    ax.plot(Ks, np.maximum(col(fs, "log_p_limit_max_abs_dev"), floor), color="C4",
            label=r"fixed spacing: limit (row of Gaussians) $- \log K$", **dots)
    ax.set(title=r"(c) $\max_x |\log p_K(x) - \mathrm{limit}(x)|$ at the same points", xscale="log", yscale="log",
           xlabel="number of components K", ylabel="nats", ylim=(floor / 2, 1e2))
    ax.legend(loc="center right", fontsize="x-small")
    # (d) fixed spacing: log p_K + log K against its limit C(d) and against the limit at the same points.
    ax = axes[1, 1]
    same = fs["same_points_limit"]
    ax.plot(Ks, col(fs, "log_p") + logK, color="C3", label=r"$\log p_K(x) + \log K$, test points", **dots)
    ax.axhline(same["log_p_plus_log_K"], color="C3", linestyle=":", linewidth=0.9, label="its limit, same points")
    ax.axhline(fs["limits"]["log_p_plus_log_K"], color="k", linestyle="--", linewidth=0.9,
               label="$C(d)$, exact expectation")
    ax.set(title=r"(d) fixed spacing: $\log p_K + \log K$", xscale="log", xlabel="number of components K",
           ylabel="mean over test points (nats)")
    ax.legend(loc="center right", fontsize="x-small")
    fig.tight_layout()
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Running everything
# ----------------------------------------------------------------------------


def run_homework(s: Settings, outdir: Path) -> dict:
    """Every experiment of the homework with settings `s`; figures go to `outdir`."""
    outdir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"settings": asdict(s)}
    K, radii = s.data.K, s.data.R
    data = {R: make_datasets(s.seed, K, s.data.n, R) for R in radii}
    truths = {R: ring_gmm(K, R) for R in radii}
    plot_samples({R: d["train"] for R, d in data.items()}, truths, outdir / "q1_1_samples.pdf")

    results, fits = {}, {}
    for R in radii:
        results[R], summary[f"em_R{R:g}"] = em_experiment(data[R], K, R, s.seed, s.em.max_iter, s.em.tol, s.em.restarts)
        fits[R] = results[R].gmm
    plot_em_means({R: d["train"] for R, d in data.items()}, truths, fits, outdir / "q1_2_em_means.pdf")
    plot_em_traces(
        {R: r.log_likelihood for R, r in results.items()},
        {R: summary[f"em_R{R:g}"]["train_loglik_true"] for R in radii},
        outdir / "q1_2_em_traces.pdf",
    )

    kde_data = make_datasets(s.seed, K, s.data.n, s.kde.R)
    grid = log_grid(s.kde.sigma_min, s.kde.sigma_max, s.kde.sigma_num)
    summary["kde"], sigmas, lls = kde_experiment(kde_data, grid, s.kde.refine_num, ring_gmm(K, s.kde.R))
    plot_kde_validation(sigmas, lls, summary["kde"]["sigma"], outdir / "q1_3_kde_validation.pdf")
    # 1.6-1.7: the EBM on the KDE's data, compared with the KDE and the truth on the same test set.
    energy, trace, ebm = ebm_experiment(kde_data, K, s.kde.R, s.seed, s.ebm)
    truth, sigma = ring_gmm(K, s.kde.R), summary["kde"]["sigma"]
    summary["ebm"] = {**ebm, **ebm_kde_comparison(energy, ebm, kde_data, truth, sigma)}
    figures = {"training": "q1_6_ebm_training.pdf", "density": "q1_7_ebm_density.pdf", "slices": "q1_7_ebm_slices.pdf"}
    paths = {k: outdir / name for k, name in figures.items()}
    plot_ebm_results(energy, trace, ebm, kde_data, truth, sigma, paths)
    # Part 2: variational inference.
    summary["vi_kl"], curves = kl_experiment(**asdict(s.vi.kl))
    plot_kl_directions(summary["vi_kl"], curves, outdir / "q2_2_kl.pdf")
    per_point = {}
    for R in radii:
        rng = rng_for(s.seed, "vi", "random_q", R)
        summary[f"vi_elbo_R{R:g}"], per_point[R] = elbo_experiment(data[R]["test"], K, R, rng, s.vi.elbo.random_q)
    plot_elbo_distributions({R: d["test"] for R, d in data.items()}, per_point, outdir / "q2_3_elbo.pdf")
    summary["vi_sweep"] = sweep_experiment(s.seed, **asdict(s.vi.sweep))
    plot_sweep(summary["vi_sweep"], outdir / "q2_4_sweep.pdf")
    return summary


def print_summary(summary: dict) -> None:
    """A short human-readable digest of the results."""
    for key, value in summary.items():
        if key.startswith("em_R"):
            print(
                f"1.2 EM R={value['R']:g}: {value['iterations']} steps, max |mu_hat - mu| = {value['mean_error_max']:.3f}, "
                f"test log-lik fit {value['test_loglik_fit']:.4f} vs true {value['test_loglik_true']:.4f}"
            )
    kde = summary["kde"]
    print(f"1.3 KDE: sigma = {kde['sigma']:.4g}, test log-lik {kde['test_loglik']:.4f} (true GMM {kde['test_loglik_true']:.4f})")
    ebm = summary["ebm"]
    print(
        f"1.6-1.7 EBM: test log-lik {ebm['test_loglik_is']:.4f} +- {ebm['test_loglik_is_se']:.4f} "
        f"(KDE {ebm['test_loglik_kde']:.4f}, true GMM {ebm['test_loglik_true']:.4f}); "
        f"A by IS {ebm['A_is']:.4f}, fresh IS {ebm['A_check']:.4f}, quadrature {ebm['A_quad']:.4f}; "
        f"ESS {ebm['ess']:.0f} of {ebm['importance_M']}"
    )
    kl = summary["vi_kl"]
    print(
        f"2.2 KL: KL(p||q) = {kl['q']['kl_pq']:.3f} >> KL(q||p) = {kl['q']['kl_qp']:.3f}; the gap KL(q||p) of the Gaussian "
        f"fits: moment matching {kl['forward_fit']['kl_qp']:.3f}, mode-seeking {kl['reverse_fit']['kl_qp']:.3f}"
    )
    for key, value in summary.items():
        if key.startswith("vi_elbo_R"):
            print(
                f"2.3 ELBO R={value['R']:g}: q uniform {value['elbo_uniform']:.3f}, q posterior {value['elbo_posterior']:.4f}"
                f" = log p(x) {value['log_p']:.4f}; gap of q uniform {value['gap_uniform']:.3f} nats"
            )
    for regime in SWEEP_REGIMES:
        last = summary["vi_sweep"][regime]["rows"][-1]
        print(
            f"2.4 K={last['K']} ({regime.replace('_', ' ')}, R_K = {last['R']:.4g}): ELBO q uniform "
            f"{last['elbo_uniform']:.6g}, q posterior = log p(x) {last['log_p']:.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"), help="folder for the figures (default: ./figures)")
    parser.add_argument("--seed", type=int, default=Settings().seed, help="root random seed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = run_homework(Settings(seed=args.seed), args.out)
    print_summary(summary)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(f"figures and summary.json in {args.out}/ ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
