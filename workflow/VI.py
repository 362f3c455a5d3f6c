"""Final Homework, DS-GA 1008 Deep Learning (Fall 2021): EBMs and variational inference.

All the code of the homework, read top to bottom in the order of the questions. Each
section opens with the question it answers and where theory.pdf answers it; each
figure is drawn right after the computation it shows.

    python VI.py               answers 1.1-2.4 with the default settings (below): prints the
                               PDF's headline numbers question by question, saves the figures
                               and summary.json in ./figures (about half a minute on a laptop CPU)
    python VI.py --appendix    also the appendix's tables: the EBM's training variants and the
                               headline numbers for other seeds, each the whole homework again
                               (a few minutes more)
    python VI.py --seed 7      the same with another root seed; --out DIR another folder

Conventions
  * A batch of points is an array of shape (n, 2); densities are log-densities of shape
    (n,), computed in log space (log-sum-exp), so points far from every component stay finite.
  * The KDE's sigma is a *variance*: the kernel is N(0, sigma I_2).
  * Energies have the homework's sign, p_theta(x) = exp(E_theta(x) - A(theta)): a *high*
    energy marks a *likely* point.
  * Every random draw comes from numpy.random.SeedSequence([seed, *keys]), keys from stage
    names (CRC-32), so each stage has its own stream and adding one changes no other number.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------
# Settings: one dataclass per question (the defaults are the PDF's)
# ----------------------------------------------------------------------------


@dataclass
class DataSettings:
    """Q1.1: K components, n points in each of train / validation / test, for every radius R."""
    K: int = 10
    n: int = 1000
    R: tuple = (10.0, 1.0)


@dataclass
class EMSettings:
    """Q1.2: random starts, EM steps per start at most, stopping tolerance (nats per point)."""
    restarts: int = 10
    max_iter: int = 2000
    tol: float = 1e-9


@dataclass
class KDESettings:
    """Q1.3 on the data of radius R: sigma (a variance) on a log grid, then refined near the best."""
    R: float = 10.0
    sigma_min: float = 0.01
    sigma_max: float = 10.0
    sigma_num: int = 31
    refine_num: int = 21


@dataclass
class EBMSettings:
    """Q1.6-1.7: the energy-based model, trained on the KDE's data."""
    width: int = 32                     # hidden units
    activation: type = nn.ReLU          # their nonlinearity, an nn.Module class
    base_var: float = 1.0               # variance of the confinement N(0, base_var I_2) ...
    learn_base_var: bool = False        # ... learned with the network when true
    optimizer: type = torch.optim.Adam  # a torch.optim class, full batch
    lr: float = 0.03
    weight_decay: float = 0.0
    steps: int = 2000                   # the step of best validation log-likelihood is kept
    importance_M: int = 5000            # points drawn once from q, reused at every step (the homework's M)
    quadrature_margin: float = 8.0      # A also by quadrature on [-(R + margin), R + margin]^2 ...
    quadrature_num: int = 801           # ... with this many nodes per axis
    init: int = 0                       # which random initialisation (each has its own stream)


@dataclass
class KLSettings:
    """Q2.2: p = sum_j p_weights[j] N(p_means[j], p_sds[j]^2), q = N(q_mean, q_sd^2); integrals on a grid."""
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
    """Q2.1/2.3: random q per test point that check log p(x) = ELBO + KL."""
    random_q: int = 20


@dataclass
class SweepSettings:
    """Q2.4: radius R, spacing 2 R sin(pi / K_ref), K_num log-spaced K, n test points per regime."""
    R: float = 10.0
    K_ref: int = 10
    K_min: int = 10
    K_max: int = 10000
    K_num: int = 13
    n: int = 1000


@dataclass
class VISettings:
    """Part 2 (Q2.3 uses the mixtures and test sets of `data`)."""
    kl: KLSettings = field(default_factory=KLSettings)
    elbo: ELBOSettings = field(default_factory=ELBOSettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)


@dataclass
class Settings:
    """Every parameter of Q1.1-2.4: the root seed and one section per part."""
    seed: int = 2021
    data: DataSettings = field(default_factory=DataSettings)
    em: EMSettings = field(default_factory=EMSettings)
    kde: KDESettings = field(default_factory=KDESettings)
    ebm: EBMSettings = field(default_factory=EBMSettings)
    vi: VISettings = field(default_factory=VISettings)


@dataclass
class AppendixSettings:
    """--appendix: the EBM again with each change of its settings, and other root seeds.
    init_1 and init_2 (other initialisations) give the spread that differences must exceed."""
    variants: dict = field(default_factory=lambda: {
        "adamw": {"optimizer": torch.optim.AdamW, "weight_decay": 0.01}, "base_var_4": {"base_var": 4.0},
        "init_1": {"init": 1}, "init_2": {"init": 2},
        "learn_base_var": {"learn_base_var": True, "base_var": 4.0}, "lr_0.01": {"lr": 0.01},
        "softplus": {"activation": nn.Softplus}, "tanh": {"activation": nn.Tanh},
        "width_16": {"width": 16}, "width_64": {"width": 64},
    })
    seeds: tuple = (1, 2, 3, 4, 5)


def settings_json(s) -> dict:
    """Settings as JSON-ready data: torch classes by their name (nn.ReLU -> "ReLU")."""
    return json.loads(json.dumps(asdict(s), default=lambda v: v.__name__))


# ----------------------------------------------------------------------------
# Tools: random streams, log-sum-exp, standard errors, figures
# ----------------------------------------------------------------------------


def stream_key(name: str | int | float) -> int:
    """CRC-32 of a stage name (Python's hash is salted per run); the radius 10 and 10.0 are one name."""
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = f"{float(name):g}"
    return zlib.crc32(str(name).encode("utf-8"))


def rng_for(seed: int, *keys: str | int | float) -> np.random.Generator:
    """The generator of one stage, e.g. rng_for(2021, "data", "train", 10) for the training set of R = 10."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(stream_key, keys)]))


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(a), axis)) without overflow (empty sums give -inf); the grader has no scipy."""
    a = np.asarray(a, dtype=float)
    a_max = np.max(a, axis=axis, keepdims=True)
    a_max = np.where(np.isfinite(a_max), a_max, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - a_max), axis=axis, keepdims=True)) + a_max
    return np.squeeze(out, axis=axis)


def mean_and_sem(values: np.ndarray) -> tuple[float, float]:
    """The mean of per-point values and its standard error std / sqrt(n)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def pyplot():
    """matplotlib.pyplot with the Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path) -> None:
    """Lay out and save without a creation date, so the same figure gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, metadata={"CreationDate": None} if path.suffix == ".pdf" else {})
    pyplot().close(fig)


def density_grid(log_density, lim: float, num: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A log-density on a num x num grid of [-lim, lim]^2: returns X, Y, log p."""
    t = np.linspace(-lim, lim, num)
    X, Y = np.meshgrid(t, t)
    Z = log_density(np.stack([X.ravel(), Y.ravel()], axis=1)).reshape(X.shape)
    return X, Y, Z


RING_LEGEND_WIDTH = 1.4  # inches right of the last panel for the legend, which would cover points inside one


def ring_panels(n_panels: int, height: float = 2.4):
    """One square panel per radius, side by side, and room for a legend (ring_legend), within a
    page's 6.8 inches (the printed size)."""
    side = min(2.4, (6.8 - RING_LEGEND_WIDTH) / n_panels)
    figsize = (side * n_panels + RING_LEGEND_WIDTH, height * side / 2.4)
    return pyplot().subplots(1, n_panels, figsize=figsize, squeeze=False)


def ring_legend(axes) -> None:
    """The legend of a ring_panels figure, right of its last panel."""
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, -1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.04, 0.5))


# ----------------------------------------------------------------------------
# Q1.1: the Gaussian mixture on a circle (theory.pdf, Question 1.1)
# ----------------------------------------------------------------------------
#
#   p(x) = sum_k pi_k N(x; mu_k, I_2) = sum_k pi_k (2 pi)^{-1} exp(-|x - mu_k|^2 / 2),
#   pi_k = 1/K,  mu_k = R (cos(2 pi k / K), sin(2 pi k / K)),  k = 1..K.


@dataclass(frozen=True)
class GMM:
    """A mixture of isotropic Gaussians in the plane: weights (K,), means (K, 2), Sigma_k = var I_2."""

    weights: np.ndarray
    means: np.ndarray
    var: float = 1.0

    @property
    def K(self) -> int:
        return len(self.weights)


def ring_gmm(K: int, R: float) -> GMM:
    """The homework's mixture: K equal weights, means equally spaced on the circle of radius R."""
    angles = 2.0 * np.pi * np.arange(1, K + 1) / K
    return GMM(weights=np.full(K, 1.0 / K), means=R * np.stack([np.cos(angles), np.sin(angles)], axis=1))


def neighbour_spacing(K: int, R: float) -> float:
    """The distance 2 R sin(pi / K) between neighbouring means of the (K, R) ring."""
    return 2.0 * R * math.sin(math.pi / K)


def sample_gmm(gmm: GMM, n: int, rng: np.random.Generator) -> np.ndarray:
    """n i.i.d. points: a component z ~ pi, then x ~ N(mu_z, var I). Shape (n, 2)."""
    z = rng.choice(gmm.K, size=n, p=gmm.weights)
    return gmm.means[z] + math.sqrt(gmm.var) * rng.standard_normal((n, 2))


def log_normal_isotropic(x: np.ndarray, means: np.ndarray, var: float) -> np.ndarray:
    """log N(x_i; mu_k, var I_2) for every pair: x (n, 2), means (K, 2) -> (n, K)."""
    # |x - mu|^2 coordinate by coordinate: exact (no cancellation), no (n, K, 2) temporary
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
    """The training, validation and test sets of one radius, each from its own stream."""
    gmm = ring_gmm(K, R)
    return {split: sample_gmm(gmm, n, rng_for(seed, "data", split, R)) for split in SPLITS}


def plot_samples(datasets: dict, gmms: dict, path: str | Path) -> None:
    """Figure 1.1: one panel per R, the training points, the true means and density contours."""
    fig, axes = ring_panels(len(datasets))
    for ax, (R, x) in zip(axes[0], datasets.items()):
        gmm = gmms[R]
        lim = float(np.abs(gmm.means).max()) + 4.0
        X, Y, Z = density_grid(lambda p: gmm_log_density(p, gmm), lim)
        ax.contour(X, Y, np.exp(Z), levels=6, colors="0.45", linewidths=0.6)
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="C0", label="training points", rasterized=True)
        ax.scatter(*gmm.means.T, marker="x", color="C3", s=30, label=r"true means $\mu_k$")
        ax.set(title=f"R = {R:g}", xlabel="$x_1$", ylabel="$x_2$", aspect="equal", xlim=(-lim, lim), ylim=(-lim, lim))
    ring_legend(axes)
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Q1.2: EM for the weights and means, Sigma_k = I fixed (theory.pdf, Question 1.2)
# ----------------------------------------------------------------------------
#
# E-step: r_ik = p(z=k | x_i) = pi_k N(x_i; mu_k, I) / sum_j pi_j N(x_i; mu_j, I).
# M-step: pi_k = (1/n) sum_i r_ik,  mu_k = sum_i r_ik x_i / sum_i r_ik.
# No step lowers the mean log-likelihood (1/n) sum_i log p(x_i); a run stops when it rises
# by less than `tol` nats per point. The likelihood has local optima (two centres sharing a
# cluster while another gets none), so EM starts from several random initialisations and
# keeps the best. The B starts run side by side: weights (B, K), means (B, K, 2),
# responsibilities (B, K, n), so a step is a few numpy calls for all of them.


@dataclass
class EMResult:
    """The kept start: its fit, its trace (T+1,) of the mean log-likelihood before step 1, after
    step 1, ..., its T steps, whether it converged, its index, and every start's final value."""

    gmm: GMM
    log_likelihood: np.ndarray
    iterations: int
    converged: bool
    restart: int
    restart_log_likelihoods: list[float]


def e_step(x: np.ndarray, weights: np.ndarray, means: np.ndarray, var: float) -> tuple[np.ndarray, np.ndarray]:
    """E-step of B runs: x (n, 2), weights (B, K), means (B, K, 2). Returns the responsibilities
    r[b, k, i] (B, K, n) and each run's mean log-likelihood (B,)."""
    # log pi_k N(x_i; mu_k, var I) = mu_k . x_i / var + [log pi_k - |mu_k|^2 / (2 var)] - [|x_i|^2 / (2 var) + log(2 pi var)].
    # The last bracket does not depend on k: it cancels in r and is added back to log p(x_i) only,
    # so a step costs one product (B, K, 2) x (2, n) and one exp.
    with np.errstate(divide="ignore"):  # a weight of exactly zero is log 0 = -inf, on purpose
        component_term = np.log(weights) - 0.5 * np.sum(means * means, axis=2) / var  # (B, K)
    a = means @ (x / var).T + component_term[:, :, None]  # (B, K, n)
    a_max = a.max(axis=1, keepdims=True)  # log-sum-exp over k by hand, to reuse exp(a - a_max) in r
    e = np.exp(a - a_max)
    total = e.sum(axis=1, keepdims=True)
    point_term = -0.5 * np.sum(x * x, axis=1) / var - LOG_2PI - math.log(var)  # (n,)
    log_px = np.log(total[:, 0]) + a_max[:, 0] + point_term  # (B, n)
    return e / total, log_px.mean(axis=1)


def m_step(x: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M-step of B runs from resp (B, K, n): weights (B, K) and means (B, K, 2)."""
    counts = resp.sum(axis=2)  # (B, K) expected number of points per component
    # a component that lost every point gets weight ~0; the guard only avoids 0 / 0
    return counts / len(x), resp @ x / np.maximum(counts, 1e-300)[:, :, None]


def run_em(x: np.ndarray, inits: list[GMM], max_iter: int, tol: float) -> list[tuple[GMM, np.ndarray, bool]]:
    """EM from several initialisations at once; a run stops (frozen while the others go on) when a
    step gains less than tol, or after max_iter steps. Returns (fit, trace, converged) per start."""
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
    return [(GMM(weights[b], means[b], var), np.array(traces[b]), bool(converged[b])) for b in range(len(inits))]


def random_init(x: np.ndarray, K: int, rng: np.random.Generator, var: float = 1.0) -> GMM:
    """Equal weights and K data points as means by greedy k-means++: each next mean is the best of
    2 + log K candidates drawn with probability ~ squared distance to the nearest mean so far."""
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


def fit_em(x: np.ndarray, K: int, rng: np.random.Generator, max_iter: int = 1000, tol: float = 1e-8,
           restarts: int = 10) -> EMResult:
    """EM from `restarts` random initialisations; keeps the highest final log-likelihood."""
    best, finals = None, []
    inits = [random_init(x, K, rng) for _ in range(restarts)]
    for r, (gmm, trace, converged) in enumerate(run_em(x, inits, max_iter, tol)):
        finals.append(float(trace[-1]))
        if best is None or trace[-1] > best.log_likelihood[-1]:
            best = EMResult(gmm, trace, len(trace) - 1, converged, r, finals)  # finals fills up to every start's
    return best


def linear_sum_assignment(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost perfect matching of a square cost matrix (Hungarian algorithm, O(K^3); the
    grader has no scipy): row i is matched to column col[i]. Arrays are 1-based, 0 a sentinel."""
    cost = np.asarray(cost, dtype=float)
    n = cost.shape[0]
    u, v = np.zeros(n + 1), np.zeros(n + 1)  # row and column potentials
    match, way = np.zeros(n + 1, dtype=int), np.zeros(n + 1, dtype=int)  # match[j]: row of column j
    for i in range(1, n + 1):
        match[0], j0 = i, 0
        min_v, used = np.full(n + 1, np.inf), np.zeros(n + 1, dtype=bool)
        while True:  # grow an alternating tree until it reaches a free column
            used[j0] = True
            i0 = match[j0]
            reduced = np.concatenate([[np.inf], cost[i0 - 1] - u[i0] - v[1:]])
            better = ~used & (reduced < min_v)
            min_v[better], way[better] = reduced[better], j0
            j1 = int(np.argmin(np.where(used, np.inf, min_v)))
            delta = min_v[j1]
            u[match[used]] += delta
            v[used] -= delta
            min_v[~used] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:  # flip the augmenting path
            match[j0] = match[way[j0]]
            j0 = way[j0]
    col = np.empty(n, dtype=int)
    col[match[1:] - 1] = np.arange(n)
    return col


def match_to_truth(estimated: GMM, truth: GMM) -> GMM:
    """The estimated components reordered to the true ones, minimising the total squared distance."""
    cost = np.sum((truth.means[:, None, :] - estimated.means[None, :, :]) ** 2, axis=-1)
    order = linear_sum_assignment(cost)  # true component k <- estimated component order[k]
    return GMM(weights=estimated.weights[order], means=estimated.means[order], var=estimated.var)


def em_mean_log_likelihood(x: np.ndarray, gmm: GMM) -> float:
    """(1/n) sum_i log p(x_i) under the mixture."""
    return float(np.mean(gmm_log_density(x, gmm)))


def em_experiment(data: dict, K: int, R: float, seed: int, max_iter: int, tol: float, restarts: int):
    """Q1.2 for one radius: fit EM, compare with the truth. Returns (EMResult, summary dict)."""
    truth = ring_gmm(K, R)
    result = fit_em(data["train"], K, rng_for(seed, "em", R), max_iter=max_iter, tol=tol, restarts=restarts)
    fit = match_to_truth(result.gmm, truth)
    dist = np.linalg.norm(fit.means - truth.means, axis=1)  # |mu_hat_k - mu_k| of matched components
    return result, {
        "R": R,
        "K": K,
        "iterations": result.iterations,
        "converged": result.converged,
        "train_loglik_true": em_mean_log_likelihood(data["train"], truth),  # the traces' reference line
        "test_loglik_fit": em_mean_log_likelihood(data["test"], fit),
        "test_loglik_true": em_mean_log_likelihood(data["test"], truth),
        "mean_error_max": float(dist.max()),
        "mean_error_rms": float(np.sqrt(np.mean(dist**2))),
    }


def plot_em_means(datasets: dict, truths: dict, fits: dict, path: str | Path) -> None:
    """Figure 1.2a: estimated means (circles, area ~ weight) against true means (crosses)."""
    fig, axes = ring_panels(len(datasets))
    for ax, (R, x) in zip(axes[0], datasets.items()):
        truth, fit = truths[R], fits[R]
        lim = float(np.abs(truth.means).max()) + 4.0
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.25, color="0.5", rasterized=True)
        ax.scatter(*truth.means.T, marker="x", color="C3", s=36, label="true means")
        ax.scatter(*fit.means.T, s=400 * fit.weights, facecolors="none", edgecolors="C0", label="EM means")
        ax.set(title=f"R = {R:g}", xlabel="$x_1$", ylabel="$x_2$", aspect="equal", xlim=(-lim, lim), ylim=(-lim, lim))
    ring_legend(axes)
    save_figure(fig, path)


def plot_em_traces(traces: dict, truth_ll: dict, path: str | Path) -> None:
    """Figure 1.2b: mean training log-likelihood after each EM step, with the true parameters' value."""
    plt = pyplot()
    fig, axes = ring_panels(len(traces), height=1.9)
    for ax, (R, trace) in zip(axes[0], traces.items()):
        steps = np.arange(1, len(trace))
        ax.plot(steps, trace[1:], color="C0", marker="." if len(steps) < 30 else None, label="EM (kept restart)")
        ax.axhline(truth_ll[R], color="C3", linestyle="--", label="true parameters")
        lo, hi = sorted([trace[-1], truth_ll[R]])  # zoom on the end of the run and the true value
        pad = max(0.6 * (hi - lo), 0.005)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set(title=f"R = {R:g}", xlabel="EM step", ylabel="mean log-likelihood", xscale="log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ring_legend(axes)
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Q1.3: kernel density estimation (theory.pdf, Question 1.3)
# ----------------------------------------------------------------------------
#
#   p_hat(x) = (1/n) sum_i N(x; x_i, sigma I_2),   sigma a variance,
#   log p_hat(x) = logsumexp_i(-|x - x_i|^2 / (2 sigma)) - log n - log(2 pi sigma).


def kde_log_density(x: np.ndarray, data: np.ndarray, sigma: float, chunk: int = 2048) -> np.ndarray:
    """log p_hat(x_j) for each row of x (m, 2) under the KDE of `data` (n, 2), in chunks. Shape (m,)."""
    out = np.empty(len(x))
    for start in range(0, len(x), chunk):
        block = x[start : start + chunk]
        out[start : start + chunk] = logsumexp(log_normal_isotropic(block, data, sigma), axis=1)
    return out - math.log(len(data))


def kde_log_likelihood(x: np.ndarray, data: np.ndarray, sigma: float) -> float:
    """(1/m) sum_j log p_hat(x_j)."""
    return float(np.mean(kde_log_density(x, data, sigma)))


def tune_kde_sigma(train: np.ndarray, validation: np.ndarray, coarse: np.ndarray,
                   refine_num: int) -> tuple[float, np.ndarray, np.ndarray]:
    """sigma by validation log-likelihood on the coarse grid, then on a fine log grid between the best
    one's neighbours. Returns (best sigma, every sigma tried in increasing order, their values)."""
    coarse = np.sort(np.asarray(coarse, dtype=float))
    coarse_ll = np.array([kde_log_likelihood(validation, train, s) for s in coarse])
    b = int(np.argmax(coarse_ll))
    lo, hi = coarse[max(b - 1, 0)], coarse[min(b + 1, len(coarse) - 1)]
    fine = np.geomspace(lo, hi, refine_num) if refine_num > 0 else np.array([])
    fine_ll = np.array([kde_log_likelihood(validation, train, s) for s in fine])
    sigmas, lls = np.concatenate([coarse, fine]), np.concatenate([coarse_ll, fine_ll])
    order = np.argsort(sigmas, kind="stable")
    sigmas, lls = sigmas[order], lls[order]
    return float(sigmas[np.argmax(lls)]), sigmas, lls


def kde_experiment(data: dict, sigma_grid: np.ndarray, refine_num: int, truth: GMM) -> tuple[dict, np.ndarray, np.ndarray]:
    """Q1.3: sigma tuned on validation, the test log-likelihood beside the true density's.
    Returns (summary, sigmas tried, their validation log-likelihoods)."""
    best, sigmas, lls = tune_kde_sigma(data["train"], data["validation"], sigma_grid, refine_num)
    summary = {"sigma": best}
    summary["test_loglik"], summary["test_loglik_sem"] = mean_and_sem(kde_log_density(data["test"], data["train"], best))
    summary["test_loglik_true"] = em_mean_log_likelihood(data["test"], truth)
    return summary, sigmas, lls


def plot_kde_validation(sigmas: np.ndarray, lls: np.ndarray, best: float, path: str | Path) -> None:
    """Figure 1.3a: validation log-likelihood against the bandwidth sigma (a variance)."""
    fig, ax = pyplot().subplots(figsize=(2.9, 2.1))
    ax.plot(sigmas, lls, marker=".", color="C0")
    ax.axvline(best, color="C3", linestyle="--", label=rf"chosen $\sigma = {best:.3g}$")
    finite = lls[np.isfinite(lls)]
    ax.set(xscale="log", xlabel=r"$\sigma$ (variance of the kernel)", ylabel="validation log-likelihood")
    ax.set_ylim(max(finite.min(), finite.max() - 3.0), finite.max() + 0.2)
    ax.legend(loc="lower right")
    save_figure(fig, path)


def plot_density_panels(panels: dict, lim: float, path: str | Path, num: int = 200) -> None:
    """Figures 1.3b and 1.7a: heat maps of densities side by side (title -> log-density function)."""
    fig, axes = pyplot().subplots(1, len(panels), figsize=(2.1 * len(panels), 2.1), squeeze=False)
    for ax, (title, log_density) in zip(axes[0], panels.items()):
        X, Y, Z = density_grid(log_density, lim, num)
        ax.pcolormesh(X, Y, np.exp(Z), shading="auto", cmap="viridis", rasterized=True)
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        ax.grid(False)  # grid lines would hide the density
    save_figure(fig, path)


def plot_kde_density(truth: GMM, train: np.ndarray, sigma: float, lim: float, path: str | Path) -> None:
    """Figure 1.3b: the true density beside the KDE of bandwidth sigma."""
    plot_density_panels({"true density": lambda x: gmm_log_density(x, truth),
                         rf"KDE, $\sigma={sigma:.3g}$": lambda x: kde_log_density(x, train, sigma)}, lim, path)


# ----------------------------------------------------------------------------
# Q1.4-1.5: the energy-based model and importance sampling (theory.pdf, Questions 1.4-1.5)
# ----------------------------------------------------------------------------
#
#   p_theta(x) = exp(E_theta(x) - A(theta)),   A(theta) = log integral exp(E_theta(x)) dx.
#
# Q1.4 (proved in the PDF): the MLE maximises L(theta) = (1/n) sum_i E_theta(x_i) - A(theta), and
#   grad L = (1/n) sum_i grad E_theta(x_i) - E_{x ~ p_theta} grad E_theta(x).
# Q1.5: for any f, E_{p_theta} f = E_q[f e^{E_theta} / q] / E_q[e^{E_theta} / q].
#
# The energy is a network with one hidden layer of `width` units plus a Gaussian confinement,
#
#   E_theta(x) = v . act(W x / s + b) + c - beta |x|^2 / 2,       beta = 1 / base_var > 0,
#
# so p_theta tilts the base measure N(0, base_var I_2). Each activation used here grows at
# most linearly (ReLU, Softplus, ELU, SiLU) or stays bounded (Tanh), hence exp(E_theta) is
# integrable and A(theta) finite for EVERY theta, all through training. s is the training
# set's RMS coordinate, so the hidden layer sees inputs of order one. Everything runs in float64:
# 2,000 Adam steps amplify rounding, and in float32 CPUs with other vector kernels end on other models.

DTYPE = torch.float64  # training and evaluation: the default of every function below


class ShallowEnergy(nn.Module):
    """E_theta(x) = v . act(W x / s + b) + c - beta |x|^2 / 2 for x of shape (n, 2); returns (n,).
    hidden holds W and b, out holds v and c; log_beta is learned only when learn_base_var."""

    def __init__(self, width: int, activation: type, base_var: float, input_scale: float,
                 learn_base_var: bool = False, dtype=DTYPE):
        super().__init__()
        self.input_scale = float(input_scale)
        self.hidden = nn.Linear(2, width, dtype=dtype)
        self.act = activation()
        self.out = nn.Linear(width, 1, dtype=dtype)
        log_beta = torch.tensor(-math.log(base_var), dtype=dtype)
        if learn_base_var:
            self.log_beta = nn.Parameter(log_beta)
        else:
            self.register_buffer("log_beta", log_beta)

    @property
    def base_var(self) -> float:
        """The variance 1 / beta of the confinement."""
        return float(torch.exp(-self.log_beta.detach()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        network = self.out(self.act(self.hidden(x / self.input_scale))).squeeze(-1)
        return network - 0.5 * torch.exp(self.log_beta) * torch.sum(x * x, dim=-1)


def to_tensor(x, dtype=DTYPE) -> torch.Tensor:
    """An array as a torch tensor of that dtype."""
    return torch.as_tensor(np.asarray(x, dtype=float), dtype=dtype)


def energy_values(energy: ShallowEnergy, x: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """E_theta at the rows of x (m, 2) as a numpy array (m,), in chunks."""
    out = np.empty(len(x))
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            out[start : start + chunk] = energy(to_tensor(x[start : start + chunk])).numpy()
    return out


def importance_log_weights(energy: ShallowEnergy, x_q: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """log w_m = E_theta(x_m) - log q(x_m) for the proposal points x_q (M, 2). Shape (M,)."""
    return energy(x_q) - log_q


def importance_log_partition(log_w: torch.Tensor) -> torch.Tensor:
    """A_hat = log D_hat = log (1/M) sum_m w_m = logsumexp(log w) - log M (no overflow)."""
    return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))


def importance_log_partition_se(log_w: torch.Tensor) -> float:
    """Delta-method standard error of A_hat = log D_hat: sd(w) / (sqrt(M) mean(w))."""
    ratio = len(log_w) * torch.softmax(log_w.detach(), dim=0)  # w_m / mean(w)
    return float(ratio.std() / math.sqrt(len(log_w)))


def effective_sample_size(log_w: torch.Tensor) -> float:
    """(sum_m w_m)^2 / sum_m w_m^2: M for equal weights, 1 when one point carries them all."""
    log_w = log_w.detach()
    return float(torch.exp(2.0 * torch.logsumexp(log_w, dim=0) - torch.logsumexp(2.0 * log_w, dim=0)))


# ----------------------------------------------------------------------------
# Q1.6: training by importance sampling (theory.pdf, Question 1.6)
# ----------------------------------------------------------------------------
#
# With x_1..x_M drawn ONCE from q, the true mixture, and reused at every step,
#
#   A_hat(theta) = log D_hat,   D_hat = (1/M) sum_m exp(E_theta(x_m)) / q(x_m),
#   grad A(theta) = E_{p_theta} grad E_theta  ~  N_hat / D_hat,
#   N_hat = (1/M) sum_m grad E_theta(x_m) exp(E_theta(x_m)) / q(x_m),
#
# i.e. N_hat / D_hat = sum_m w_m grad E_theta(x_m) with the self-normalised weights
# w_m = exp(log w_m) / sum_m' exp(log w_m'). Each step ascends
#   (1/n) sum_i grad E_theta(x_i) - N_hat / D_hat,
# the gradient of the surrogate (1/n) sum_i E_theta(x_i) - sum_m w_m E_theta(x_m) with the
# weights held fixed (detached). It equals the gradient of L_hat = (1/n) sum_i E_theta(x_i) -
# A_hat(theta), whose value the trace records.


def kept_step(validation_loglik: np.ndarray, tol: float = 1e-3) -> int:
    """The earliest step whose validation log-likelihood is within `tol` nats of the run's best.
    The argmax would jump between distant steps of the flat top on last-bit differences; the models
    passed over are better by less than 1e-3 nats, far below the standard error (about 0.03)."""
    v = np.asarray(validation_loglik, dtype=float)
    return int(np.argmax(v >= v.max() - tol))


def train_ebm(energy: ShallowEnergy, train: torch.Tensor, validation: torch.Tensor, x_q: torch.Tensor,
              log_q: torch.Tensor, cfg: EBMSettings, progress=None) -> tuple[dict[str, np.ndarray], int]:
    """Full-batch ascent for cfg.steps steps; step k records, after k updates, L_hat, the validation
    log-likelihood, A_hat and the ESS (`progress(step, trace)` sees them). `energy` is left at the
    step `kept_step` chooses. Returns (trace, each of shape (steps,), the kept step)."""
    opt = cfg.optimizer(energy.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n, n_val = len(train), len(validation)
    x_all = torch.cat([train, validation, x_q])  # one forward pass per step serves all three sets
    trace = {k: np.empty(cfg.steps) for k in ("train_loglik", "validation_loglik", "log_partition", "ess")}
    states = []  # the parameters at every step (a few hundred numbers each)
    for step in range(cfg.steps):
        e = energy(x_all)
        e_train, e_val, e_q = e[:n], e[n : n + n_val], e[n + n_val :]
        log_w = e_q - log_q
        a_hat = importance_log_partition(log_w)
        val = (e_val.mean() - a_hat).item()  # no gradient flows from the validation points
        trace["train_loglik"][step], trace["validation_loglik"][step] = (e_train.mean() - a_hat).item(), val
        trace["log_partition"][step], trace["ess"][step] = a_hat.item(), effective_sample_size(log_w)
        states.append({k: v.detach().clone() for k, v in energy.state_dict().items()})
        if progress:
            progress(step, trace)
        # Q1.6's estimator: the weights w_m of N_hat / D_hat, normalised in log space.
        w = torch.exp(log_w - torch.logsumexp(log_w, dim=0)).detach()
        surrogate = e_train.mean() - torch.sum(w * e_q)  # gradient: (1/n) sum grad E(x_i) - N_hat / D_hat
        opt.zero_grad()
        (-surrogate).backward()
        opt.step()
    best_step = kept_step(trace["validation_loglik"])
    energy.load_state_dict(states[best_step])
    return trace, best_step


def plot_ebm_training(trace: dict, best_step: int, references: dict, path: str | Path) -> None:
    """Figure 1.6: the objective and validation log-likelihood (with `references`, label -> value),
    A_hat and the ESS against the step."""
    steps = np.arange(1, len(trace["train_loglik"]) + 1)
    fig, axes = pyplot().subplots(1, 3, figsize=(6.8, 2.0))
    ax = axes[0]
    ax.plot(steps, trace["train_loglik"], color="C0", label="training objective $\\hat{\\mathcal{L}}$")
    ax.plot(steps, trace["validation_loglik"], color="C1", label="validation log-lik.")
    for (label, value), style in zip(references.items(), ("--", ":")):
        ax.axhline(value, color="0.3", linestyle=style, linewidth=1.0, label=label)
    # 0.6 nats below the best value shown, lower still if the model's best stays far below the references
    best_validation = trace["validation_loglik"].max()
    top = max(best_validation, *references.values())
    bottom = min(top - 0.6, best_validation - 0.2)
    ax.set(xscale="log", xlabel="step", ylabel="log-likelihood (nats)", ylim=(bottom, top + 0.1))
    ax.legend(loc="lower left")  # early steps lie below the panel: the left is empty
    axes[1].plot(steps, trace["log_partition"], color="C2")
    axes[1].set(xscale="log", xlabel="step", ylabel=r"$\hat A(\theta)$")
    axes[2].plot(steps, trace["ess"], color="C4")
    axes[2].set(xscale="log", xlabel="step", ylabel="effective sample size")
    for ax in axes:
        ax.axvline(best_step + 1, color="C3", linewidth=0.8, linestyle="--")
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Q1.7: the EBM's test log-likelihood against the KDE (theory.pdf, Question 1.7)
# ----------------------------------------------------------------------------
#
# A test log-likelihood is mean_i E_theta(x~_i) - A. A is estimated by A_hat on the training
# proposal sample (what the homework asks) and, as the reference, by quadrature on a fine grid.


def quadrature_log_partition(energy: ShallowEnergy, lim: float, num: int) -> float:
    """A(theta) on [-lim, lim]^2: log(h^2 sum of exp(E_theta) over num x num nodes), the trapezoidal
    rule where exp(E_theta) vanishes on the boundary."""
    t = np.linspace(-lim, lim, num)
    X, Y = np.meshgrid(t, t)
    e = energy_values(energy, np.stack([X.ravel(), Y.ravel()], axis=1))
    return float(logsumexp(e) + 2.0 * math.log(t[1] - t[0]))


def evaluate_ebm(energy: ShallowEnergy, data: dict, truth: GMM, x_q: np.ndarray, cfg: EBMSettings, R: float) -> dict:
    """Q1.7: A by importance sampling (is, with its standard error) and by quadrature (quad), the
    test log-likelihood with each, and the gap to the true density (paired, A by quadrature)."""
    with torch.no_grad():
        log_w = importance_log_weights(energy, to_tensor(x_q), to_tensor(gmm_log_density(x_q, truth)))
    a_is, a_quad = float(importance_log_partition(log_w)), quadrature_log_partition(
        energy, R + cfg.quadrature_margin, cfg.quadrature_num)
    e_test = energy_values(energy, data["test"])
    log_p_true = gmm_log_density(data["test"], truth)
    mean_energy, mean_energy_se = mean_and_sem(e_test)
    return {
        "R": R,
        "base_var_final": energy.base_var,
        "importance_M": len(x_q),
        "ess": effective_sample_size(log_w),
        "test_loglik_true": float(np.mean(log_p_true)),
        "A_is": a_is,
        "A_is_se": importance_log_partition_se(log_w),
        "test_loglik_is": mean_energy - a_is,
        "A_quad": a_quad,
        "test_loglik_quad": mean_energy - a_quad,
        "test_loglik_quad_se": mean_energy_se,  # A by quadrature has no sampling error
        "gap_to_true_quad": mean_and_sem(log_p_true - e_test)[0] + a_quad,  # log p_true - log p_theta
        "A_is_minus_quad": a_is - a_quad,
        "validation_loglik": float(energy_values(energy, data["validation"]).mean()) - a_is,
    }


def ebm_experiment(data: dict, K: int, R: float, seed: int, cfg: EBMSettings, progress=None,
                   log=print) -> tuple[ShallowEnergy, dict, dict]:
    """Q1.6-1.7 on one data set: draw the proposal sample once, train, evaluate the kept step.
    Returns (the kept energy, the training trace, a summary dict)."""
    torch.manual_seed(int(rng_for(seed, "ebm", "init", R, cfg.init).integers(2**63 - 1)))  # torch's seed, from its stream
    truth = ring_gmm(K, R)
    x_q = sample_gmm(truth, cfg.importance_M, rng_for(seed, "ebm", "importance", R))
    input_scale = float(np.sqrt(np.mean(data["train"] ** 2)))  # the RMS coordinate s
    energy = ShallowEnergy(cfg.width, cfg.activation, cfg.base_var, input_scale, cfg.learn_base_var)
    start = time.perf_counter()
    trace, best_step = train_ebm(energy, to_tensor(data["train"]), to_tensor(data["validation"]), to_tensor(x_q),
                                 to_tensor(gmm_log_density(x_q, truth)), cfg, progress)
    log(f"  EBM: trained {cfg.steps} steps in {time.perf_counter() - start:.1f} s; kept step {best_step}")
    return energy, trace, {"best_step": best_step, **evaluate_ebm(energy, data, truth, x_q, cfg, R)}


def ebm_kde_comparison(energy: ShallowEnergy, summary: dict, data: dict, kde_sigma: float) -> dict:
    """Q1.7: the KDE's test log-likelihood, and the EBM's lead over it (A by quadrature), paired on the
    test points: lead = mean(log p_theta - log p_kde)."""
    log_p_kde = kde_log_density(data["test"], data["train"], kde_sigma)
    lead, lead_se = mean_and_sem(energy_values(energy, data["test"]) - log_p_kde)  # this - A
    return {"test_loglik_kde": float(np.mean(log_p_kde)), "lead_over_kde_quad": lead - summary["A_quad"],
            "lead_over_kde_quad_se": lead_se}


def plot_log_density_slices(panels: dict, R: float, path: str | Path) -> None:
    """Figure 1.7b: log-densities (label -> function) along the circle of radius R and along the ray
    through the mean at angle 0."""
    angle = np.linspace(0.0, 2.0 * np.pi, 721)
    radius = np.linspace(0.0, R + 6.0, 481)
    circle = R * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    ray = np.stack([radius, np.zeros_like(radius)], axis=1)
    fig, axes = pyplot().subplots(1, 2, figsize=(6.2, 2.0))
    for (label, log_density), style in zip(panels.items(), ("-", "--", ":")):
        axes[0].plot(angle, log_density(circle), linestyle=style, label=label)
        axes[1].plot(radius, log_density(ray), linestyle=style, label=label)
    axes[0].set(xlabel=r"angle $\varphi$ on the circle $|x| = R$", ylabel=r"$\log p(x)$", xlim=(0, 2 * np.pi))
    axes[1].set(xlabel=r"$|x|$ along the ray $\varphi = 0$", ylabel=r"$\log p(x)$", ylim=(-40, None))
    axes[1].legend(loc="lower center")  # below the peak, where the curves leave room
    save_figure(fig, path)


def plot_ebm_results(energy: ShallowEnergy, trace: dict, summary: dict, data: dict, truth: GMM, kde_sigma: float,
                     paths: dict) -> None:
    """Figures 1.6 and 1.7: `paths` maps "training", "density" and "slices" to files."""
    references = {"true GMM": em_mean_log_likelihood(data["validation"], truth),
                  "KDE": kde_log_likelihood(data["validation"], data["train"], kde_sigma)}
    plot_ebm_training(trace, summary["best_step"], references, paths["training"])
    # label -> log-density function; the EBM with A by quadrature, right even where importance sampling fails
    densities = {"true density": lambda x: gmm_log_density(x, truth),
                 "EBM": lambda x: energy_values(energy, x) - summary["A_quad"],
                 rf"KDE, $\sigma={kde_sigma:.3g}$": lambda x: kde_log_density(x, data["train"], kde_sigma)}
    plot_density_panels(densities, summary["R"] + 4.0, paths["density"])
    plot_log_density_slices(densities, summary["R"], paths["slices"])


# ----------------------------------------------------------------------------
# Q2.1: the ELBO and the KL divergence for a discrete latent (theory.pdf, Question 2.1)
# ----------------------------------------------------------------------------
#
# A latent-variable model p(x, z | theta) and a variational q(z) > 0 give the ELBO
#
#   L(q, theta) = E_q[log p(x, z | theta) - log q(z)] = log p(x | theta) - KL(q || p(z | x, theta)),
#
# so maximising L over q minimises the KL. For the mixture z is the component k in {1..K}:
# q is a point of the simplex and every expectation a finite sum. Distributions over the K
# components are log-probabilities of shape (n, K), one row per point, so probabilities that
# underflow (exp(-1e4)) stay exact.


def elbo(log_joint: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """L(q) = sum_k q_k (log p(x, z=k) - log q_k) per point: log_joint (n, K), log_q (n, K) or (K,),
    -inf where q_k = 0 (such terms count as zero). Returns (n,)."""
    log_q = np.broadcast_to(log_q, log_joint.shape)
    q = np.exp(log_q)
    with np.errstate(invalid="ignore"):  # 0 * (-inf) is masked just below
        terms = np.where(q > 0, q * (log_joint - log_q), 0.0)
    return terms.sum(axis=1)


def kl_categorical(log_q: np.ndarray, log_r: np.ndarray) -> np.ndarray:
    """KL(q || r) = sum_k q_k (log q_k - log r_k) per row; inputs (n, K) or (K,). Returns (n,)."""
    log_q, log_r = np.broadcast_arrays(np.atleast_2d(log_q), np.atleast_2d(log_r))
    q = np.exp(log_q)
    with np.errstate(invalid="ignore"):
        terms = np.where(q > 0, q * (log_q - log_r), 0.0)
    return terms.sum(axis=1)


def posterior_log_probs(log_joint: np.ndarray) -> np.ndarray:
    """log p(z=k | x_i) = log p(x_i, z=k) - log p(x_i), from (n, K) log joints. Shape (n, K)."""
    return log_joint - logsumexp(log_joint, axis=1)[:, None]


def random_simplex_log_probs(n: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """log q for n random distributions on {1..K}, uniform on the simplex (Dirichlet(1, ..., 1)). (n, K)."""
    log_e = np.log(rng.standard_exponential((n, K)))
    return log_e - logsumexp(log_e, axis=1)[:, None]


def elbo_identity_error(x: np.ndarray, gmm: GMM, rng: np.random.Generator, draws: int) -> float:
    """max over points and `draws` random q of |L(q) + KL(q || p(z|x)) - log p(x)|."""
    log_joint = gmm_log_joint(x, gmm)
    log_p = logsumexp(log_joint, axis=1)
    log_r = posterior_log_probs(log_joint)
    worst = 0.0
    for _ in range(draws):
        log_q = random_simplex_log_probs(len(x), gmm.K, rng)
        worst = max(worst, float(np.max(np.abs(elbo(log_joint, log_q) + kl_categorical(log_q, log_r) - log_p))))
    return worst


# ----------------------------------------------------------------------------
# Q2.2: the two directions of the KL divergence in one dimension (theory.pdf, Question 2.2)
# ----------------------------------------------------------------------------
#
# KL(q || p) = int q log(q / p) is large where q > 0 and p ~ 0 and ignores where p > 0 and
# q ~ 0: minimised over a unimodal q it seeks one mode of p (reverse KL, the ELBO's gap).
# KL(p || q) covers every mode. Both by the trapezoidal rule on a uniform grid, in log space.


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
    """KL(a || b) = int a log(a / b) dx by the trapezoidal rule along the last axis of log-densities on
    a grid; points where a underflows to 0 contribute 0."""
    a = np.exp(log_a)
    return np.trapezoid(np.where(a > 0, a * (log_a - log_b), 0.0), dx=dx, axis=-1)


def fit_gaussian_forward_kl(weights, means, sds) -> tuple[float, float]:
    """argmin of KL(p || N(m, s^2)) for a Gaussian mixture p: moment matching, since
    -E_p log N(x; m, s^2) = log s + (Var_p + (E_p x - m)^2) / (2 s^2) + const. Returns (m, s)."""
    w, m, s = (np.asarray(v, dtype=float) for v in (weights, means, sds))
    mean = float(np.sum(w * m))
    return mean, math.sqrt(float(np.sum(w * (s**2 + m**2)) - mean**2))


def kl_grid(log_p: np.ndarray, x: np.ndarray, m: np.ndarray, s: np.ndarray, reverse: bool) -> np.ndarray:
    """KL(N(m_i, s_j^2) || p) (reverse) or KL(p || N(m_i, s_j^2)) for m (I,), s (J,) -> (I, J);
    log_p (G,) on the uniform grid x (G,)."""
    dx = float(x[1] - x[0])
    out = np.empty((len(m), len(s)))
    for i, mi in enumerate(m):
        log_q = normal_log_pdf(x[None, :], mi, s[:, None])  # (J, G)
        out[i] = kl_quadrature(log_q, log_p[None, :], dx) if reverse else kl_quadrature(log_p[None, :], log_q, dx)
    return out


def refine_reverse_kl(log_p: np.ndarray, x: np.ndarray, m0: float, s0: float, dm: float, dlog_s: float,
                      num: int = 9, rounds: int = 14, shrink: float = 0.35) -> tuple[float, float, float]:
    """Local minimum of KL(N(m, s^2) || p) near (m0, s0) by zooming num x num grids of (m, log s)
    around the best so far, half-widths shrinking by `shrink` each round. Returns (m, s, KL)."""
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


def kl_experiment(p_weights, p_means, p_sds, q_mean: float, q_sd: float, x_min: float, x_max: float,
                  x_num: int, m_num: int = 121, s_num: int = 48) -> tuple[dict, dict]:
    """Q2.2 (KLSettings' arguments): KL(p||q) and KL(q||p), and the Gaussians minimising each: reverse
    fits refined from every local minimum over m of min_s KL(N(m, s^2) || p) on a grid (best first),
    the forward fit by moment matching. Returns (summary, curves for the figure)."""
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
    reverse_profile, forward_profile = reverse.min(axis=1), kl_grid(log_p, x, m_grid, s_grid, reverse=False).min(axis=1)
    dm, dlog_s = float(m_grid[1] - m_grid[0]), float(np.log(s_grid[1] / s_grid[0]))
    reverse_fits = []
    v = reverse_profile  # its strict interior local minima (a plateau gives its first index)
    for i in np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])) + 1:
        m, s, _ = refine_reverse_kl(log_p, x, float(m_grid[i]), float(s_grid[np.argmin(reverse[i])]), dm, dlog_s)
        reverse_fits.append(both_kls(m, s))
    reverse_fits.sort(key=lambda f: f["kl_qp"])
    summary = {
        "p": {"weights": list(p_weights), "means": list(p_means), "sds": list(p_sds)},
        "q": both_kls(q_mean, q_sd),
        "forward_fit": both_kls(*fit_gaussian_forward_kl(p_weights, p_means, p_sds)),
        "reverse_fits": reverse_fits,
        "reverse_fit": reverse_fits[0],
    }
    curves = {"x": x, "log_p": log_p, "m_grid": m_grid, "reverse_profile": reverse_profile, "forward_profile": forward_profile}
    return summary, curves


def plot_kl_directions(summary: dict, curves: dict, path: str | Path) -> None:
    """Figure 2.2: (a) p and q with both KLs; (b) the Gaussians minimising each direction of the KL;
    (c) min over s of each KL against the mean m."""
    x, p = curves["x"], np.exp(curves["log_p"])
    fig, axes = pyplot().subplots(1, 3, figsize=(6.8, 2.1))
    centres, widths = np.array(summary["p"]["means"]), np.array(summary["p"]["sds"])
    view = (float(np.min(centres - 5 * widths)), float(np.max(centres + 5 * widths)))
    ax, q = axes[0], summary["q"]
    ax.plot(x, p, color="k", label="$p$ (bimodal)")
    ax.plot(x, np.exp(normal_log_pdf(x, q["mean"], q["sd"])), color="C0", label="$q$ (unimodal)")
    ax.set(title=f"(a) KL(p||q) = {q['kl_pq']:.2f}, KL(q||p) = {q['kl_qp']:.2f}", xlabel="$z$", ylabel="density",
           xlim=view)
    ax.legend(loc="upper left")
    ax, fwd, rev = axes[1], summary["forward_fit"], summary["reverse_fit"]
    ax.fill_between(x, p, color="0.85", label="$p$")
    top = max(np.exp(normal_log_pdf(f["mean"], f["mean"], f["sd"])) for f in [fwd, *summary["reverse_fits"]])
    ax.plot(x, np.exp(normal_log_pdf(x, fwd["mean"], fwd["sd"])), color="C1",
            label=f"forward fit: KL(q||p) = {fwd['kl_qp']:.2f}")
    ax.plot(x, np.exp(normal_log_pdf(x, rev["mean"], rev["sd"])), color="C2",
            label=f"reverse fit: KL(q||p) = {rev['kl_qp']:.2f}")
    for other in summary["reverse_fits"][1:]:
        ax.plot(x, np.exp(normal_log_pdf(x, other["mean"], other["sd"])), color="C2", linestyle=":",
                label=f"local reverse fit: {other['kl_qp']:.2f}")
    # the top leaves the upper half of the panel to the legend, above every peak
    ax.set(title="(b) closest Gaussians to $p$", xlabel="$z$", xlim=view, ylim=(0, 2.4 * max(top, p.max())))
    ax.legend(loc="upper left")
    ax, m = axes[2], curves["m_grid"]
    ax.plot(m, curves["forward_profile"], color="C1", label="KL(p||q)")
    ax.plot(m, curves["reverse_profile"], color="C2", label="KL(q||p)")
    ax.set(title=r"(c) $\min_s$ KL over $q=\mathcal{N}(m,s^2)$", xlabel="mean $m$ of $q$", ylabel="nats", ylim=(0, None))
    ax.legend(loc="upper center")
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Q2.3: the ELBO of the mixture with the true parameters (theory.pdf, Question 2.3)
# ----------------------------------------------------------------------------
#
# (i)  q = Unif{1..K} (the prior): with pi_k = 1/K the log K terms cancel,
#        L(Unif) = (1/K) sum_k log N(x; mu_k, I) = -log 2pi - (|x|^2 + R^2) / 2  (ring, K >= 2),
#      and its gap is KL(Unif || r(x)) = -log K - (1/K) sum_k log r_k(x).
# (ii) q = r(x) = p(z | x): the gap is KL(r || r) = 0 and L = log p(x) exactly.


def elbo_study(x: np.ndarray, gmm: GMM, max_entries: int = 2**21) -> dict[str, np.ndarray]:
    """Per point of x (n, 2): log p(x), the ELBOs with q = Unif and q = posterior and their gaps, as
    (n,) arrays; in blocks of max_entries / K points (fixed memory whatever K)."""
    out = {name: np.empty(len(x)) for name in ("log_p", "elbo_uniform", "elbo_posterior")}
    log_uniform = np.full(gmm.K, -math.log(gmm.K))
    block = max(1, max_entries // gmm.K)
    for start in range(0, len(x), block):
        sl = slice(start, start + block)
        log_joint = gmm_log_joint(x[sl], gmm)
        log_r = posterior_log_probs(log_joint)
        out["log_p"][sl] = logsumexp(log_joint, axis=1)
        out["elbo_uniform"][sl] = elbo(log_joint, log_uniform)
        out["elbo_posterior"][sl] = elbo(log_joint, log_r)
    out["gap_uniform"] = out["log_p"] - out["elbo_uniform"]
    out["gap_posterior"] = out["log_p"] - out["elbo_posterior"]
    return out


def elbo_experiment(x: np.ndarray, K: int, R: float, rng: np.random.Generator, random_q: int) -> tuple[dict, dict]:
    """Q2.3 for one radius on the test points x (n, 2); `random_q` random q per point check Q2.1's
    identity. Returns (summary of means, elbo_study's per-point arrays)."""
    gmm = ring_gmm(K, R)
    per = elbo_study(x, gmm)
    summary: dict = {"R": R, "K": K, "n": int(len(x))}
    for name in ("log_p", "elbo_uniform", "elbo_posterior", "gap_uniform", "gap_posterior"):
        summary[name] = float(per[name].mean())
    summary["gap_uniform_sem"] = mean_and_sem(per["gap_uniform"])[1]
    summary["identity_max_error"] = elbo_identity_error(x, gmm, rng, random_q)
    return summary, per


def plot_elbo_distributions(points: dict, per_R: dict, path: str | Path) -> None:
    """Figure 2.3, one row per radius: log p(x) and the two ELBOs per test point (left) and the
    uniform gap against |x| (right); points: R -> test points, per_R: R -> elbo_study's arrays."""
    fig, axes = pyplot().subplots(len(per_R), 2, figsize=(6.4, 1.8 * len(per_R)), squeeze=False)
    for (ax, ax_gap), (R, per) in zip(axes, per_R.items()):
        values = np.concatenate([per["log_p"], per["elbo_uniform"]])
        bins = np.linspace(values.min(), values.max(), 60)
        ax.hist(per["elbo_uniform"], bins=bins, color="C0", alpha=0.6, label="ELBO, $q$ uniform")
        ax.hist(per["log_p"], bins=bins, color="C3", alpha=0.6, label=r"$\log p(x)$")
        ax.hist(per["elbo_posterior"], bins=bins, histtype="step", color="k", linestyle="--", label="ELBO, $q$ posterior")
        ax.set(title=f"R = {R:g}", xlabel="nats", ylabel="test points")
        ax.legend(loc="upper left")
        ax_gap.scatter(np.linalg.norm(points[R], axis=1), per["gap_uniform"], s=3, alpha=0.5, color="C0", rasterized=True)
        ax_gap.set(title=f"R = {R:g}: gap of the uniform $q$", xlabel=r"$\|x\|$", ylabel=r"KL(Unif $\|$ posterior)")
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Q2.4: the bounds as K -> infinity (theory.pdf, Question 2.4)
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
# curves against K carry no fresh Monte Carlo noise from one K to the next.


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
    """Angles of the means of n coupled points' components floor(u K) (0-based, as in ring_gmm)."""
    return 2.0 * np.pi * (np.floor(u * K) + 1.0) / K


def on_circle(angle: np.ndarray, R: float) -> np.ndarray:
    """Points R (cos a, sin a) for angles a (n,). Shape (n, 2)."""
    return R * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def log_bessel_i0(z: np.ndarray) -> np.ndarray:
    """log I_0(z) for z >= 0 (numpy's i0; finite up to z ~ 700, the sweep's defaults stay below 250)."""
    return np.log(np.i0(np.abs(np.asarray(z, dtype=float))))


def ring_radial_expectation(f, R: float, num: int = 20001, width: float = 14.0) -> float:
    """E f(|x|) for x ~ p_inf: int_0^inf rho exp(-(rho^2 + R^2)/2) I_0(R rho) f(rho) d rho by Simpson's
    rule on [0, R + width] (not the trapezoidal rule: the integrand's slope at 0 is not zero)."""
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
    return {"log_p": log_p, "elbo_uniform": -LOG_2PI - 1.0 - R**2, "gap_uniform": gap}


def row_log_density_limit(e_t: np.ndarray, e_n: np.ndarray, d: float) -> np.ndarray:
    """lim_{K -> inf} log p_K(x) + log K at fixed spacing d for x = mu_z + e_t t + e_n n (tangent and
    normal of the circle at mu_z): the means near x become the row mu_z + j d t, j in Z, so the limit is
    -log 2pi - e_n^2 / 2 + log sum_j exp(-(e_t - j d)^2 / 2) (terms below e^{-800} left out)."""
    e_t, e_n = np.asarray(e_t, dtype=float), np.asarray(e_n, dtype=float)
    J = int(np.ceil((np.max(np.abs(e_t), initial=0.0) + 40.0) / d))
    j = np.arange(-J, J + 1)
    return -LOG_2PI - 0.5 * e_n**2 + logsumexp(-0.5 * (e_t[:, None] - j[None, :] * d) ** 2, axis=1)


def row_log_density_constant(d: float, num: int = 4001, width: float = 12.0) -> float:
    """C(d) = E[row_log_density_limit(e_t, e_n, d)] for e ~ N(0, I_2), the limit of E log p_K + log K:
    -1/2 from e_n, and a trapezoidal rule over e_t in [-width, width]."""
    e = np.linspace(-width, width, num)
    weight = np.exp(-0.5 * e**2) / math.sqrt(2.0 * math.pi)
    return float(np.trapezoid(weight * row_log_density_limit(e, np.zeros_like(e), d), e) - 0.5)


SWEEP_COLUMNS = ("log_p", "elbo_uniform", "elbo_posterior", "gap_uniform")


def sweep_regime(Ks: list[int], regime: str, R: float, K_ref: int, n: int, rng: np.random.Generator,
                 on_points=None) -> list[dict]:
    """Q2.4 in one regime: for each K, the means of SWEEP_COLUMNS over n coupled test points.
    `on_points(regime, K, x, gmm, per)`, if given, sees each K's points (n, 2), mixture and
    elbo_study arrays."""
    u, noise = rng.random(n), rng.standard_normal((n, 2))
    rows = []
    for K in Ks:
        R_K = ring_radius(K, regime, R, K_ref)
        x, gmm = on_circle(coupled_angles(K, u), R_K) + noise, ring_gmm(K, R_K)
        per = elbo_study(x, gmm)
        if on_points:
            on_points(regime, K, x, gmm, per)
        row = {"K": K, "R": R_K, **{name: float(per[name].mean()) for name in SWEEP_COLUMNS}}
        rows.append({**row, "log_p_plus_log_K": row["log_p"] + math.log(K)})
    return rows


def sweep_experiment(seed: int, R: float, K_ref: int, K_min: int, K_max: int, K_num: int, n: int,
                     on_points=None) -> dict:
    """Q2.4: both regimes over K_num log-spaced K (SweepSettings), with the analytic limits; each
    regime draws its test points from its own stream (`on_points`: see sweep_regime)."""
    Ks = sorted({int(round(k)) for k in np.geomspace(K_min, K_max, K_num)})
    d = neighbour_spacing(K_ref, R)
    C = row_log_density_constant(d)
    rows = {regime: sweep_regime(Ks, regime, R, K_ref, n, rng_for(seed, "vi", "sweep", regime), on_points)
            for regime in SWEEP_REGIMES}
    return {
        "K": Ks,
        "n": n,
        "fixed_R": {"R": R, "rows": rows["fixed_R"], "limits": fixed_R_limits(R)},
        "fixed_spacing": {
            "R_ref": R,
            "K_ref": K_ref,
            "spacing": d,
            "rows": rows["fixed_spacing"],
            # E log p_K = -log K + C(d) + o(1);  E L(Unif) = -log 2pi - 1 - R_K^2 for every K >= 2.
            "limits": {"log_p_plus_log_K": C, "elbo_uniform_plus_R2": -LOG_2PI - 1.0},
        },
    }


def plot_sweep_bounds(axes, sweep: dict) -> None:
    """Figure 2.4 (a) and (b) on two axes: mean ELBOs and log p(x) against K in both regimes; dashed
    lines are the limits."""
    Ks = np.array(sweep["K"], dtype=float)
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]

    def col(regime: dict, name: str) -> np.ndarray:
        return np.array([r[name] for r in regime["rows"]])

    dots = {"marker": "o", "markersize": 3}
    # (a) fixed R: L(Unif) does not move with K; log p_K = L(posterior) settles on log p_inf.
    ax = axes[0]
    ax.plot(Ks, col(fr, "elbo_uniform"), color="C0", label="ELBO, $q$ uniform", **dots)
    ax.plot(Ks, col(fr, "log_p"), color="C3", label=r"$\log p_K(x)$", **dots)
    ax.plot(Ks, col(fr, "elbo_posterior"), linestyle="none", marker="x", color="k", label="ELBO, $q$ posterior")
    ax.axhline(fr["limits"]["elbo_uniform"], color="C0", linestyle="--", linewidth=0.9)
    ax.axhline(fr["limits"]["log_p"], color="C3", linestyle="--", linewidth=0.9)
    ax.set(title=f"(a) fixed R = {fr['R']:g}", xscale="log", ylabel="mean over test points (nats)")
    ax.legend(loc="center right")
    # (b) fixed spacing: both diverge; plotted as -value on log axes with their asymptotes.
    ax = axes[1]
    R2, logK = col(fs, "R") ** 2, np.log(Ks)
    ax.plot(Ks, -col(fs, "elbo_uniform"), color="C0", label="$-$ELBO, $q$ uniform", **dots)
    ax.plot(Ks, -col(fs, "log_p"), color="C3", label=r"$-\log p_K(x)$", **dots)
    ax.plot(Ks, -col(fs, "elbo_posterior"), linestyle="none", marker="x", color="k", label="$-$ELBO, $q$ posterior")
    # the asymptotes R_K^2 + log 2pi + 1 and log K - C(d), dashed in their curve's colour (a legend
    # entry each would cover the rising curve)
    ax.plot(Ks, R2 - fs["limits"]["elbo_uniform_plus_R2"], color="C0", linestyle="--", linewidth=0.9)
    ax.plot(Ks, logK - fs["limits"]["log_p_plus_log_K"], color="C3", linestyle="--", linewidth=0.9)
    ax.set(title=f"(b) fixed spacing d = {fs['spacing']:.2f}, $R_K$ grows with K", xscale="log", yscale="log",
           ylabel="minus the mean (nats)")
    ax.set_ylim(top=ax.get_ylim()[1] * 30)  # room above the rising curve for the legend
    ax.legend(loc="upper left")


def plot_sweep(sweep: dict, path: str | Path) -> None:
    """Figure 2.4: the bounds against K (the PDF's figure adds two panels of checks of the limits)."""
    fig, axes = pyplot().subplots(1, 2, figsize=(6.8, 2.2))
    plot_sweep_bounds(axes, sweep)
    for ax in axes:
        ax.set_xlabel("number of components K")
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Appendix (python VI.py --appendix): training variants and other seeds (theory.pdf, Appendix)
# ----------------------------------------------------------------------------


def seed_headlines(summary: dict) -> dict[str, float]:
    """The headline numbers the appendix follows over seeds, from run_homework's summary: EM's largest
    mean error and the uniform q's ELBO gap per radius, the KDE's bandwidth and test gap to the truth, the
    truth's test log-likelihood, the EBM's test gap to the truth (A by quadrature) and A_hat - A_quad."""
    out = {}
    for R in summary["settings"]["data"]["R"]:
        out[f"em_R{R:g}_mean_error_max"] = summary[f"em_R{R:g}"]["mean_error_max"]
        out[f"vi_R{R:g}_gap_uniform"] = summary[f"vi_elbo_R{R:g}"]["gap_uniform"]
    kde, ebm = summary["kde"], summary["ebm"]
    out.update(kde_sigma=kde["sigma"], kde_gap_to_true=kde["test_loglik_true"] - kde["test_loglik"],
               true_test_loglik=kde["test_loglik_true"], ebm_gap_to_true=ebm["gap_to_true_quad"],
               ebm_A_is_minus_quad=ebm["A_is_minus_quad"])
    return out


def run_appendix(s: Settings, a: AppendixSettings, summary: dict, outdir: Path) -> dict:
    """The appendix's two tables, printed; `summary` is run_homework's (the default model, this seed).
    The variants are trained on the same data and importance sample as the default model. Each other
    seed is the whole homework again, as `python VI.py --seed <seed>` runs it (figures in outdir/seed_<seed>)."""
    print("Appendix: training choices of the EBM (same data and importance sample)")
    data = make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    variants = [{"name": name, **ebm_experiment(data, s.data.K, s.kde.R, s.seed, replace(s.ebm, **change),
                                                log=lambda line: None)[2]} for name, change in a.variants.items()]
    print(f"  {'':16s} {'base var':>8s} {'kept step':>9s} {'valid.':>8s} {'test (A quad)':>13s} "
          f"{'A_IS-A_quad':>11s} {'ESS':>5s}")
    for v in [{"name": "default", **summary["ebm"]}, *variants]:
        print(f"  {v['name']:16s} {v['base_var_final']:8.3g} {v['best_step']:9d} {v['validation_loglik']:8.4f} "
              f"{v['test_loglik_quad']:13.4f} {v['A_is_minus_quad']:11.3f} {v['ess']:5.0f}")
    print(f"Appendix: headline numbers over the seeds {list(a.seeds)}")
    runs = []
    for seed in a.seeds:
        print(f"  seed {seed}: the homework again (python VI.py --seed {seed} prints its lines)", flush=True)
        with contextlib.redirect_stdout(io.StringIO()):
            runs.append({"seed": seed, **seed_headlines(run_homework(replace(s, seed=seed), outdir / f"seed_{seed}"))})
    own = seed_headlines(summary)
    print(f"  {'':24s} {'seed ' + str(s.seed):>9s} {'mean':>9s} {'s.d.':>9s} {'min':>9s} {'max':>9s}")
    for key, value in own.items():
        v = np.array([r[key] for r in runs])
        sd = v.std(ddof=1) if len(v) > 1 else float("nan")
        print(f"  {key:24s} {value:9.3f} {v.mean():9.3f} {sd:9.3f} {v.min():9.3f} {v.max():9.3f}")
    return {"variants": variants, "seeds": runs}


# ----------------------------------------------------------------------------
# Running everything: python VI.py
# ----------------------------------------------------------------------------


def run_homework(s: Settings, outdir: Path) -> dict:
    """Every question with settings `s`, printing its headline numbers; figures go to `outdir`.
    Returns the summary (what summary.json holds)."""
    outdir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"settings": settings_json(s)}
    K, radii = s.data.K, s.data.R
    data = {R: make_datasets(s.seed, K, s.data.n, R) for R in radii}
    truths = {R: ring_gmm(K, R) for R in radii}
    plot_samples({R: d["train"] for R, d in data.items()}, truths, outdir / "q1_1_samples.pdf")
    print(f"Q1.1  {s.data.n} points per set from the K={K} ring mixture, R in {list(radii)}: q1_1_samples.pdf")

    results = {}
    for R in radii:
        results[R], e = em_experiment(data[R], K, R, s.seed, s.em.max_iter, s.em.tol, s.em.restarts)
        summary[f"em_R{R:g}"] = e
        print(f"Q1.2  EM, R={R:g}: {e['iterations']} steps ({'converged' if e['converged'] else 'not converged'}), "
              f"max |mu_hat - mu| {e['mean_error_max']:.3f}, RMS {e['mean_error_rms']:.3f}; "
              f"test log-lik. fit {e['test_loglik_fit']:.4f}, true {e['test_loglik_true']:.4f}")
    plot_em_means({R: d["train"] for R, d in data.items()}, truths, {R: r.gmm for R, r in results.items()},
                  outdir / "q1_2_em_means.pdf")
    plot_em_traces({R: r.log_likelihood for R, r in results.items()},
                   {R: summary[f"em_R{R:g}"]["train_loglik_true"] for R in radii}, outdir / "q1_2_em_traces.pdf")

    kde_data, truth = make_datasets(s.seed, K, s.data.n, s.kde.R), ring_gmm(K, s.kde.R)
    grid = np.geomspace(s.kde.sigma_min, s.kde.sigma_max, s.kde.sigma_num)
    kde, sigmas, lls = kde_experiment(kde_data, grid, s.kde.refine_num, truth)
    summary["kde"] = kde
    print(f"Q1.3  KDE, R={s.kde.R:g}: sigma = {kde['sigma']:.4g} (a variance), test log-lik. "
          f"{kde['test_loglik']:.4f} +- {kde['test_loglik_sem']:.4f}, true GMM {kde['test_loglik_true']:.4f}")
    plot_kde_validation(sigmas, lls, kde["sigma"], outdir / "q1_3_kde_validation.pdf")
    plot_kde_density(truth, kde_data["train"], kde["sigma"], s.kde.R + 4.0, outdir / "q1_3_kde_density.pdf")

    # Q1.6-1.7: the EBM on the KDE's data, compared with the KDE and the truth on the same test set.
    energy, trace, ebm = ebm_experiment(kde_data, K, s.kde.R, s.seed, s.ebm)
    summary["ebm"] = {**ebm, **ebm_kde_comparison(energy, ebm, kde_data, kde["sigma"])}
    e = summary["ebm"]
    print(f"Q1.6  EBM: kept step {e['best_step']} of {s.ebm.steps}; A_hat {e['A_is']:.4f} +- {e['A_is_se']:.4f} "
          f"(ESS {e['ess']:.0f} of {e['importance_M']}), A by quadrature {e['A_quad']:.4f}")
    print(f"Q1.7  test log-lik.: EBM {e['test_loglik_quad']:.4f} +- {e['test_loglik_quad_se']:.4f} (A by quadrature; "
          f"{e['test_loglik_is']:.4f} with A_hat), KDE {e['test_loglik_kde']:.4f}, true GMM {e['test_loglik_true']:.4f}; "
          f"EBM - KDE {e['lead_over_kde_quad']:.4f} +- {e['lead_over_kde_quad_se']:.4f} (paired)")
    paths = {k: outdir / f"{name}.pdf" for k, name in
             (("training", "q1_6_ebm_training"), ("density", "q1_7_ebm_density"), ("slices", "q1_7_ebm_slices"))}
    plot_ebm_results(energy, trace, ebm, kde_data, truth, kde["sigma"], paths)

    per_point = {}
    for R in radii:
        rng = rng_for(s.seed, "vi", "random_q", R)
        summary[f"vi_elbo_R{R:g}"], per_point[R] = elbo_experiment(data[R]["test"], K, R, rng, s.vi.elbo.random_q)
    worst = max(summary[f"vi_elbo_R{R:g}"]["identity_max_error"] for R in radii)
    print(f"Q2.1  log p(x) = ELBO + KL(q || p(z|x)) for {s.vi.elbo.random_q} random q per test point: "
          f"largest error {worst:.1e}")
    summary["vi_kl"], curves = kl_experiment(**asdict(s.vi.kl))
    kl = summary["vi_kl"]
    print(f"Q2.2  KL(p||q) = {kl['q']['kl_pq']:.3f} >> KL(q||p) = {kl['q']['kl_qp']:.3f}; KL(q||p) of the Gaussian fits: "
          f"moment matching {kl['forward_fit']['kl_qp']:.3f}, mode seeking {kl['reverse_fit']['kl_qp']:.3f}")
    plot_kl_directions(kl, curves, outdir / "q2_2_kl.pdf")
    for R in radii:
        v = summary[f"vi_elbo_R{R:g}"]
        print(f"Q2.3  R={R:g}: log p(x) {v['log_p']:.4f}, ELBO q uniform {v['elbo_uniform']:.4f}, "
              f"ELBO q posterior {v['elbo_posterior']:.4f}; gap of q uniform {v['gap_uniform']:.4f} +- "
              f"{v['gap_uniform_sem']:.4f}, of q posterior {v['gap_posterior']:.1e}")
    plot_elbo_distributions({R: d["test"] for R, d in data.items()}, per_point, outdir / "q2_3_elbo.pdf")

    sweep = summary["vi_sweep"] = sweep_experiment(s.seed, **asdict(s.vi.sweep))
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]
    r, q = fr["rows"][-1], fs["rows"][-1]
    print(f"Q2.4  fixed R={fr['R']:g}, K={r['K']}: log p {r['log_p']:.4f} (limit {fr['limits']['log_p']:.4f}), "
          f"ELBO q uniform {r['elbo_uniform']:.4f} (expectation {fr['limits']['elbo_uniform']:.4f} for every K), "
          f"gap {r['gap_uniform']:.2f} (limit {fr['limits']['gap_uniform']:.2f})")
    print(f"Q2.4  fixed spacing d={fs['spacing']:.4f}, K={q['K']} (R_K {q['R']:.4g}): log p + log K "
          f"{q['log_p_plus_log_K']:.4f} (limit C(d) = {fs['limits']['log_p_plus_log_K']:.4f}); "
          f"ELBO q uniform {q['elbo_uniform']:.6g}, about -R_K^2: it tends to -infinity")
    plot_sweep(sweep, outdir / "q2_4_sweep.pdf")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"), help="folder for the figures (default: ./figures)")
    parser.add_argument("--seed", type=int, default=Settings().seed, help="root random seed")
    parser.add_argument("--appendix", action="store_true",
                        help="also the appendix's tables: the EBM's training variants and other seeds")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    torch.set_num_threads(1)  # one thread: sums in a fixed order, the same numbers on every machine
    settings = Settings(seed=args.seed)
    summary = run_homework(settings, args.out)
    if args.appendix:
        summary["appendix"] = run_appendix(settings, AppendixSettings(), summary, args.out)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(f"figures and summary.json in {args.out}/; {time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
