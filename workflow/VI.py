"""Final Homework, DS-GA 1008 Deep Learning (Fall 2021): EBMs and variational inference.

This one file holds all the code of the homework. It is read top to bottom:

    Part 1  Generative models and EBMs
      1.1  the Gaussian mixture on a circle: density and sampling
      1.2  EM for the weights and means (covariances fixed to the identity)
      1.3  kernel density estimation, bandwidth tuned on a validation set
    Figures
    Running everything: ``python VI.py``

Conventions used throughout
  * A batch of points is an array of shape ``(n, 2)``; densities are returned as
    log-densities of shape ``(n,)`` and computed in log space (log-sum-exp), so
    points far from every component stay finite.
  * The homework's ``sigma`` of the KDE is a *variance*: the kernel is
    ``N(0, sigma * I_2)``.
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

LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------
# Random streams
# ----------------------------------------------------------------------------


def stream_key(name: str | int | float) -> int:
    """A stable 32-bit integer for a stage name (Python's ``hash`` is salted per run)."""
    return zlib.crc32(str(name).encode("utf-8"))


def rng_for(seed: int, *keys: str | int | float) -> np.random.Generator:
    """The generator of one stage: ``SeedSequence([seed, crc32(key1), ...])``.

    Example: ``rng_for(2021, "data", "train", 10)`` draws the training set for R=10.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(stream_key, keys)]))


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(sum(exp(a), axis))`` without overflow or underflow (empty sums give -inf)."""
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


def gmm_responsibilities(x: np.ndarray, gmm: GMM) -> np.ndarray:
    """The posterior p(z=k | x_i), shape (n, K); rows sum to one."""
    log_joint = gmm_log_joint(x, gmm)
    return np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])


# ----------------------------------------------------------------------------
# 1.2  EM with Sigma_k = I fixed
# ----------------------------------------------------------------------------
#
# E-step: r_ik = p(z=k | x_i) under the current (pi, mu).
# M-step: pi_k = (1/n) sum_i r_ik,  mu_k = sum_i r_ik x_i / sum_i r_ik.
# Each step cannot lower the log-likelihood (1/n) sum_i log p(x_i); we stop when
# it rises by less than `tol` nats per point. The likelihood has many local
# optima (two centres sharing one cluster while another cluster gets none), so
# EM starts from several random initialisations and keeps the best.


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


def e_step(x: np.ndarray, gmm: GMM) -> tuple[np.ndarray, float]:
    """Responsibilities r_ik = p(z=k | x_i), shape (n, K), and the mean log-likelihood, in one pass."""
    log_joint = gmm_log_joint(x, gmm)
    log_px = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - log_px[:, None]), float(np.mean(log_px))


def m_step(x: np.ndarray, resp: np.ndarray, var: float) -> GMM:
    """The weights and means that maximise the expected complete log-likelihood; var held fixed."""
    counts = resp.sum(axis=0)  # (K,) expected number of points per component
    # A component that lost every point gets weight ~0; its mean is then irrelevant,
    # and the guard only avoids dividing by zero.
    means = resp.T @ x / np.maximum(counts, 1e-300)[:, None]
    return GMM(weights=counts / len(x), means=means, var=var)


def em_step(x: np.ndarray, gmm: GMM) -> GMM:
    """One EM update of the weights and means; the variance is held fixed."""
    return m_step(x, e_step(x, gmm)[0], gmm.var)


def mean_and_sem(values: np.ndarray) -> tuple[float, float]:
    """The mean of per-point values and its Monte Carlo standard error std / sqrt(n)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def em_mean_log_likelihood(x: np.ndarray, gmm: GMM) -> float:
    """(1/n) sum_i log p(x_i) under the mixture."""
    return float(np.mean(gmm_log_density(x, gmm)))


def run_em(x: np.ndarray, init: GMM, max_iter: int, tol: float) -> tuple[GMM, np.ndarray, bool]:
    """EM from one initialisation. Returns the fit, the log-likelihood trace and convergence.

    trace[t] is the mean log-likelihood after t steps (trace[0]: the initialisation).
    """
    gmm = init
    resp, ll = e_step(x, gmm)
    trace = [ll]
    converged = False
    for _ in range(max_iter):
        gmm = m_step(x, resp, gmm.var)
        resp, ll = e_step(x, gmm)  # the next E-step also gives the new log-likelihood
        trace.append(ll)
        if trace[-1] - trace[-2] < tol:
            converged = True
            break
    return gmm, np.array(trace), converged


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
    for r in range(restarts):
        gmm, trace, converged = run_em(x, random_init(x, K, rng), max_iter, tol)
        finals.append(float(trace[-1]))
        if best is None or trace[-1] > best.log_likelihood[-1]:
            best = EMResult(gmm, trace, len(trace) - 1, converged, r, finals)
    best.restart_log_likelihoods = finals
    return best


def linear_sum_assignment(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost perfect matching of a square cost matrix (Hungarian algorithm, O(K^3)).

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


# ANCHOR-EBM-CODE: 1.4-1.7 energy-based model trained by importance sampling

# ANCHOR-VI-CODE: Part 2 variational inference


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


# ----------------------------------------------------------------------------
# Running everything
# ----------------------------------------------------------------------------


@dataclass
class Settings:
    """Default parameters of the homework (the build's config/config.yaml mirrors them)."""

    seed: int = 2021
    K: int = 10
    n: int = 1000
    R: tuple = (10.0, 1.0)
    em_max_iter: int = 2000
    em_tol: float = 1e-9
    em_restarts: int = 10
    kde_R: float = 10.0
    kde_sigma_min: float = 0.01
    kde_sigma_max: float = 10.0
    kde_sigma_num: int = 31
    kde_refine_num: int = 21
    # ANCHOR-EBM-SETTINGS
    # ANCHOR-VI-SETTINGS


SPLITS = ("train", "validation", "test")


def make_datasets(seed: int, K: int, n: int, R: float) -> dict[str, np.ndarray]:
    """Q1.1: the training, validation and test sets for one radius, each from its own stream."""
    gmm = ring_gmm(K, R)
    return {split: sample_gmm(gmm, n, rng_for(seed, "data", split, R)) for split in SPLITS}


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
        "neighbour_spacing": float(2.0 * R * math.sin(math.pi / K)),
        "weights_fit": fit.weights.tolist(),
        "means_fit": fit.means.tolist(),
        "means_true": truth.means.tolist(),
        **em_parameter_errors(fit, truth),
    }
    return result, summary


def kde_experiment(data: dict, sigma_grid: np.ndarray, refine_num: int, truth: GMM) -> tuple[dict, np.ndarray, np.ndarray]:
    """Q1.3: tune sigma on validation, evaluate on test beside the true density `truth`.

    Returns (summary, sigmas tried, their validation log-likelihoods).
    """
    best, sigmas, lls = tune_kde_sigma(data["train"], data["validation"], sigma_grid, refine_num)
    kde_test = kde_log_density(data["test"], data["train"], best)
    true_test = gmm_log_density(data["test"], truth)
    summary = {
        "sigma": best,
        "sigma_on_grid_edge": bool(best in (sigmas[0], sigmas[-1])),
        "validation_loglik": float(lls.max()),
        "test_loglik": mean_and_sem(kde_test)[0],
        "test_loglik_sem": mean_and_sem(kde_test)[1],
        "test_loglik_true": mean_and_sem(true_test)[0],
        "test_loglik_true_sem": mean_and_sem(true_test)[1],
        "test_gap_sem": mean_and_sem(true_test - kde_test)[1],  # paired: same test points
        "grid_size": int(len(sigmas)),
    }
    return summary, sigmas, lls


def run_homework(s: Settings, outdir: Path) -> dict:
    """Every experiment of the homework with settings `s`; figures go to `outdir`."""
    outdir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"settings": asdict(s)}
    data = {R: make_datasets(s.seed, s.K, s.n, R) for R in s.R}
    truths = {R: ring_gmm(s.K, R) for R in s.R}
    plot_samples({R: d["train"] for R, d in data.items()}, truths, outdir / "q1_1_samples.pdf")

    results, fits = {}, {}
    for R in s.R:
        results[R], summary[f"em_R{R:g}"] = em_experiment(data[R], s.K, R, s.seed, s.em_max_iter, s.em_tol, s.em_restarts)
        fits[R] = results[R].gmm
    plot_em_means({R: d["train"] for R, d in data.items()}, truths, fits, outdir / "q1_2_em_means.pdf")
    plot_em_traces(
        {R: r.log_likelihood for R, r in results.items()},
        {R: summary[f"em_R{R:g}"]["train_loglik_true"] for R in s.R},
        outdir / "q1_2_em_traces.pdf",
    )

    kde_data = make_datasets(s.seed, s.K, s.n, s.kde_R)
    grid = log_grid(s.kde_sigma_min, s.kde_sigma_max, s.kde_sigma_num)
    summary["kde"], sigmas, lls = kde_experiment(kde_data, grid, s.kde_refine_num, ring_gmm(s.K, s.kde_R))
    plot_kde_validation(sigmas, lls, summary["kde"]["sigma"], outdir / "q1_3_kde_validation.pdf")
    # ANCHOR-EBM-RUN
    # ANCHOR-VI-RUN
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
    # ANCHOR-EBM-PRINT
    # ANCHOR-VI-PRINT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"), help="folder for the figures (default: ./figures)")
    parser.add_argument("--seed", type=int, default=Settings.seed, help="root random seed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = run_homework(Settings(seed=args.seed), args.out)
    print_summary(summary)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(f"figures and summary.json in {args.out}/ ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
