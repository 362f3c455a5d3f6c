"""Final Homework, DS-GA 1008 Deep Learning (Fall 2021): EBMs and variational inference.

All the code of the homework, read top to bottom in the order of the questions. Each
section opens with the question it answers and where theory.pdf answers it; each
figure is drawn right after the computation it shows.

    python VI.py                   answers 1.1-2.4 with the default settings (below): prints each
                                   question's numbers, writes them as JSON (one file per question)
                                   and the figures to ./results (about half a minute on a laptop CPU)
    python VI.py --appendix        also the appendix: the EBM's training variants and the headline
                                   numbers for other seeds, each the homework again (a few minutes more)
    python VI.py --seed=7 --data.n=500 --ebm.lr=0.01
                                   any setting, named section.name as in the dataclasses below
                                   (`python VI.py --help` lists them); --out DIR another folder;
                                   --only em kde runs those parts alone, reading earlier parts' JSON

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
import json
import math
import os
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path

# The same numbers on every x86-64 CPU with AVX2 and FMA (most since 2013, AVX-512 ones included):
# each library picks its kernels by the CPU at load time, AVX-512 and AVX2 kernels round differently
# in the last bits, and 2,000 Adam steps of the EBM turn those bits into other printed numbers. So the
# AVX2 kernels are chosen here, before numpy and torch load. MKL's COMPATIBLE path is the same on
# every vendor's CPU. Other CPUs (ARM, x86 without AVX2) keep their own kernels: theory.pdf says which
# numbers may then differ.
CPU_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
               "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux; empty elsewhere)."""
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    return set(next((ln for ln in lines if ln.startswith("flags")), "").partition(":")[2].split())


if {"avx2", "fma"} <= cpu_flags():
    for name, value in CPU_KERNELS.items():
        os.environ.setdefault(name, value)  # a value already set is kept: that emulates another CPU

import numpy as np  # noqa: E402  (after the kernels are chosen)
import torch  # noqa: E402
from torch import nn  # noqa: E402

LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------
# Settings: one dataclass per question; each field's default is the PDF's, its metadata
# says what it means and which values it accepts. `python VI.py --section.name=value`.
# ----------------------------------------------------------------------------


def setting(default, help: str, valid=lambda v: True, accepts: str = ""):
    """A field of a settings dataclass: its default, meaning, test of a value, and what it accepts."""
    return field(default=default, metadata={"help": help, "valid": valid, "accepts": accepts})


def positive(v) -> bool:
    return v > 0


def at_least(low):
    return lambda v: v >= low


ACTIVATIONS = {"relu": nn.ReLU, "softplus": nn.Softplus, "tanh": nn.Tanh}


def sgd_with_momentum(params, lr: float, weight_decay: float) -> torch.optim.SGD:
    """The optimizer "sgd": torch.optim.SGD with momentum 0.9."""
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": sgd_with_momentum}


@dataclass
class DataSettings:
    """Q1.1: K components, n points in each of train / validation / test, for every radius R."""
    K: int = setting(10, "mixture components", at_least(2), "an integer >= 2")
    n: int = setting(1000, "points in each of train, validation and test", at_least(10), "an integer >= 10")
    R: tuple = setting((10.0, 1.0), "radii of the ring, one data set each",
                       lambda v: min(v) > 0 and len({f"{r:g}" for r in v}) == len(v),
                       "positive numbers, distinct in 6 significant digits")


@dataclass
class EMSettings:
    """Q1.2: random starts, EM steps per start at most, stopping tolerance (nats per point)."""
    restarts: int = setting(10, "random initialisations; the best training log-likelihood is kept", at_least(1), "an integer >= 1")
    max_iter: int = setting(2000, "EM steps per initialisation at most", at_least(1), "an integer >= 1")
    tol: float = setting(1e-9, "stop when the mean log-likelihood rises by less (nats per point)", at_least(0), "a number >= 0")


@dataclass
class KDESettings:
    """Q1.3 on the data of radius R: sigma (a variance) on a log grid, then refined near the best."""
    R: float = setting(10.0, "which radius of data.R the KDE (and the EBM) is fitted to", positive, "one of data.R")
    sigma_min: float = setting(0.01, "smallest sigma of the coarse log grid", positive, "a positive number")
    sigma_max: float = setting(10.0, "largest sigma of the coarse log grid", positive, "a number > kde.sigma_min")
    sigma_num: int = setting(31, "values of the coarse grid", at_least(2), "an integer >= 2")
    refine_num: int = setting(21, "values between the best one's neighbours", at_least(0), "an integer >= 0")


@dataclass
class EBMSettings:
    """Q1.6-1.7: the energy-based model, trained on the KDE's data."""
    width: int = setting(32, "hidden units", at_least(1), "an integer >= 1")
    activation: str = setting("relu", "their nonlinearity", lambda v: v in ACTIVATIONS, " | ".join(ACTIVATIONS))
    base_var: float = setting(1.0, "variance of the confinement N(0, base_var I_2) (start if learned)", positive, "a positive number")
    learn_base_var: bool = setting(False, "learn that variance with the network", accepts="true | false")
    optimizer: str = setting("adam", "full-batch optimizer (sgd: momentum 0.9)", lambda v: v in OPTIMIZERS, " | ".join(OPTIMIZERS))
    lr: float = setting(0.03, "learning rate", positive, "a positive number")
    weight_decay: float = setting(0.0, "L2 penalty (adam, sgd) or decoupled decay (adamw)", at_least(0), "a number >= 0")
    steps: int = setting(2000, "gradient steps; the step of best validation log-likelihood is kept", at_least(1), "an integer >= 1")
    importance_M: int = setting(5000, "points drawn once from q, reused at every step (the homework's M)", at_least(2), "an integer >= 2")
    quadrature_margin: float = setting(8.0, "A also by quadrature on [-(R + margin), R + margin]^2 ...", positive, "a positive number")
    quadrature_num: int = setting(801, "... with this many nodes per axis", at_least(3), "an integer >= 3")
    init: int = setting(0, "which random initialisation (each has its own stream)", at_least(0), "an integer >= 0")


@dataclass
class KLSettings:
    """Q2.2: p = sum_j p_weights[j] N(p_means[j], p_sds[j]^2), q = N(q_mean, q_sd^2); integrals on a grid."""
    p_weights: tuple = setting((0.3, 0.7), "weights of p's components", lambda v: min(v) > 0 and abs(sum(v) - 1) < 1e-9,
                               "positive numbers summing to 1")
    p_means: tuple = setting((-3.0, 3.0), "means of p's components", lambda v: len(v) >= 2, "at least two numbers")
    p_sds: tuple = setting((1.0, 1.0), "standard deviations of p's components", lambda v: min(v) > 0, "positive numbers")
    q_mean: float = setting(3.0, "mean of q", accepts="a number")
    q_sd: float = setting(0.5, "standard deviation of q", positive, "a positive number")
    x_min: float = setting(-15.0, "the trapezoidal grid's left end ...", accepts="a number")
    x_max: float = setting(15.0, "... right end ...", accepts="a number > kl.x_min")
    x_num: int = setting(3001, "... and number of points", at_least(3), "an integer >= 3")


@dataclass
class ELBOSettings:
    """Q2.1/2.3: random q per test point that check log p(x) = ELBO + KL."""
    random_q: int = setting(20, "random q per test point", at_least(1), "an integer >= 1")


@dataclass
class SweepSettings:
    """Q2.4: radius R, spacing 2 R sin(pi / K_ref), K_num log-spaced K, n test points per regime."""
    R: float = setting(10.0, "radius at fixed R, and of the reference ring at fixed spacing", positive, "a positive number")
    K_ref: int = setting(10, "components of the reference ring, whose spacing stays fixed", at_least(2), "an integer >= 2")
    K_min: int = setting(10, "smallest K", at_least(2), "an integer >= 2")
    K_max: int = setting(10000, "largest K", at_least(2), "an integer >= sweep.K_min")
    K_num: int = setting(13, "values of K, log-spaced and rounded", at_least(1), "an integer >= 1")
    n: int = setting(1000, "test points per regime, shared by every K", at_least(2), "an integer >= 2")


@dataclass
class AppendixSettings:
    """--appendix: the EBM with each change of VARIANTS, and the homework again for other root seeds."""
    seeds: tuple = setting((1, 2, 3, 4, 5), "other root seeds", lambda v: len(v) >= 1 and min(v) >= 0 and len(set(v)) == len(v),
                           "distinct integers >= 0")


@dataclass
class Settings:
    """Every parameter of Q1.1-2.4 and the appendix: the root seed and one section per question."""
    seed: int = setting(2021, "root random seed", at_least(0), "an integer >= 0")
    data: DataSettings = field(default_factory=DataSettings)
    em: EMSettings = field(default_factory=EMSettings)
    kde: KDESettings = field(default_factory=KDESettings)
    ebm: EBMSettings = field(default_factory=EBMSettings)
    kl: KLSettings = field(default_factory=KLSettings)
    elbo: ELBOSettings = field(default_factory=ELBOSettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)
    appendix: AppendixSettings = field(default_factory=AppendixSettings)


# The appendix's training variants: each changes the default EBMSettings as stated; init_1 and
# init_2 (other initialisations) measure the noise of a single run.
VARIANTS = {
    "learn_base_var": {"learn_base_var": True, "base_var": 4.0}, "base_var_4": {"base_var": 4.0},
    "softplus": {"activation": "softplus"}, "tanh": {"activation": "tanh"}, "width_16": {"width": 16},
    "width_64": {"width": 64}, "lr_0.01": {"lr": 0.01}, "adamw": {"optimizer": "adamw", "weight_decay": 0.01},
    "init_1": {"init": 1}, "init_2": {"init": 2},
}


def leaves(s, prefix: str = ""):
    """(dotted name, value, dataclass field) of every setting of `s`, in the dataclasses' order."""
    for f in fields(s):
        value = getattr(s, f.name)
        if is_dataclass(value):
            yield from leaves(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", value, f


def format_value(value) -> str:
    """A setting as the command line writes it: 10.0 -> '10.0', (10.0, 1.0) -> '10.0,1.0', True -> 'true'."""
    if isinstance(value, tuple):
        return ",".join(map(format_value, value))
    return str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, float) else str(value)


def parse_value(text: str, default):
    """The command line's text as a value of the default's type; ValueError names what is wrong."""
    text = str(text).strip()
    if isinstance(default, tuple):
        items = [t for t in text.split(",") if t.strip()]
        if not items:
            raise ValueError("an empty list")
        return tuple(parse_value(t, default[0]) for t in items)
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() == "true"
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    if isinstance(default, float):
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    return text


def settings_problems(s: Settings) -> list[str]:
    """Every value of `s` outside what its setting accepts, and every inconsistent pair, one line each."""
    problems = [f"{name} = {format_value(value)}: expected {f.metadata['accepts']}"
                for name, value, f in leaves(s) if not f.metadata["valid"](value)]
    kl, spread = s.kl, 5 * max(s.kl.p_sds + (s.kl.q_sd,))
    pairs = [(s.kde.R in s.data.R, "kde.R must be one of data.R"),
             (kl.x_min + spread <= min(kl.p_means + (kl.q_mean,)) and max(kl.p_means + (kl.q_mean,)) + spread <= kl.x_max,
              "kl.p_means, kl.p_sds, kl.q_mean and kl.q_sd: p and q must lie inside [kl.x_min, kl.x_max] with 5 standard deviations to spare"),
             (s.data.n >= s.data.K, "data.n must be at least data.K"),
             (s.kde.sigma_max > s.kde.sigma_min, "kde.sigma_max must exceed kde.sigma_min"),
             (len(s.kl.p_weights) == len(s.kl.p_means) == len(s.kl.p_sds), "kl.p_weights, kl.p_means and kl.p_sds need one entry per component"),
             (s.kl.x_max > s.kl.x_min, "kl.x_max must exceed kl.x_min"),
             (s.sweep.K_max >= s.sweep.K_min, "sweep.K_max must be at least sweep.K_min")]
    return problems + [message for ok, message in pairs if not ok]


def settings_from(values: dict[str, str]) -> Settings:
    """Settings from {dotted name: text} over the defaults; ValueError lists every problem."""
    known = {name: value for name, value, _ in leaves(Settings())}
    problems, parsed = [], {}
    for name, text in values.items():
        if name not in known:
            problems.append(f"{name}: no such setting (python VI.py --help lists them)")
            continue
        try:
            parsed[name] = parse_value(text, known[name])
        except ValueError as error:
            problems.append(f"{name} = {text}: {error}")
    s = Settings()
    for name, value in parsed.items():
        section, _, key = name.rpartition(".")
        s = replace(s, **{key: value}) if not section else replace(s, **{section: replace(getattr(s, section), **{key: value})})
    # every value that parsed is checked too; the pairs only once every value has parsed
    problems += [p for p in settings_problems(s) if problems == [] or p.split(" ", 1)[0] in parsed]
    if problems:
        raise ValueError("\n".join(problems))
    return s


def command_line(s: Settings) -> str:
    """`python VI.py` with every setting of `s` that differs from the default: the command that reproduces it."""
    defaults = {name: value for name, value, _ in leaves(Settings())}
    return " ".join(["python VI.py", *(f"--{name}={format_value(v)}" for name, v, _ in leaves(s) if v != defaults[name])])


# ----------------------------------------------------------------------------
# Tools: random streams, log-sum-exp, standard errors, results, figures
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


def write_json(path: Path, obj) -> dict:
    """Write a result; a NaN or infinity is an error (a computation went wrong), not a number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, allow_nan=False, default=lambda v: v.item()) + "\n")
    return obj


def read_json(path: Path):
    return json.loads(Path(path).read_text())


# The figures' style: drawn at their printed size (figsize in inches) and included at scale 1,
# so no text is smaller than 7 pt on paper.
STYLE = {"figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
         "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "legend.frameon": False,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.3, "lines.linewidth": 1.4, "pdf.fonttype": 42,
         "mathtext.fontset": "cm", "image.cmap": "viridis"}


def pyplot():
    """matplotlib.pyplot with the Agg backend and STYLE (imported on first use)."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(STYLE)
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # its notes on font dates while embedding fonts are noise
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, layout: bool = True) -> None:
    """Lay out (unless done) and save without a creation date, so the same figure gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout and not fig.legends:
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
    """The legend of a ring_panels figure, right of its last panel, where it covers no data."""
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, -1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.04, 0.5))


def legend_below(fig, axes, ncol: int = 4) -> None:
    """One legend for all panels (each label once), below them, where it covers no data."""
    entries = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    fig.tight_layout()
    fig.legend(list(entries.values()), list(entries), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol)


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


def single_gaussian_log_likelihood(train: np.ndarray, test: np.ndarray) -> float:
    """Mean log-likelihood on `test` of the one Gaussian fitted to `train` by maximum likelihood."""
    mean, cov = train.mean(axis=0), np.cov(train, rowvar=False, bias=True)
    diff = test - mean
    mahalanobis = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
    return float(np.mean(-0.5 * mahalanobis - LOG_2PI - 0.5 * np.linalg.slogdet(cov)[1]))


def em_experiment(data: dict, K: int, R: float, seed: int, max_iter: int, tol: float, restarts: int):
    """Q1.2 for one radius: fit EM, compare with the truth (components matched, gaps paired over the
    test points), and with one Gaussian. Returns (EMResult, summary dict)."""
    truth = ring_gmm(K, R)
    result = fit_em(data["train"], K, rng_for(seed, "em", R), max_iter=max_iter, tol=tol, restarts=restarts)
    fit = match_to_truth(result.gmm, truth)
    dist = np.linalg.norm(fit.means - truth.means, axis=1)  # |mu_hat_k - mu_k| of matched components
    gap = gmm_log_density(data["test"], truth) - gmm_log_density(data["test"], fit)
    return result, {
        "R": R, "K": K, "iterations": result.iterations, "converged": result.converged,
        "restart": result.restart, "restarts": len(result.restart_log_likelihoods),
        "restart_log_likelihoods": result.restart_log_likelihoods,
        "distinct_optima": int(len(np.unique(np.round(result.restart_log_likelihoods, 4)))),
        "train_loglik_fit": float(result.log_likelihood[-1]),
        "train_loglik_true": em_mean_log_likelihood(data["train"], truth),  # the traces' reference line
        "test_loglik_fit": em_mean_log_likelihood(data["test"], fit),
        "test_loglik_true": em_mean_log_likelihood(data["test"], truth),
        "test_gap_sem": mean_and_sem(gap)[1],
        "test_loglik_single_gaussian": single_gaussian_log_likelihood(data["train"], data["test"]),
        "weights_fit": fit.weights.tolist(), "means_fit": fit.means.tolist(),
        "mean_error_max": float(dist.max()), "mean_error_rms": float(np.sqrt(np.mean(dist**2))),
        "weight_error_max": float(np.max(np.abs(fit.weights - truth.weights))),
        "neighbour_spacing": neighbour_spacing(K, R),
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
        lo, hi = min(trace[1:].min(), truth_ll[R]), max(trace[1:].max(), truth_ll[R])  # every step in view
        pad = max(0.05 * (hi - lo), 0.005)
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
    """Q1.3: sigma tuned on validation, the test log-likelihood beside the true density's (gap paired
    over the test points). Returns (summary, sigmas tried, their validation log-likelihoods)."""
    best, sigmas, lls = tune_kde_sigma(data["train"], data["validation"], sigma_grid, refine_num)
    log_p_kde, log_p_true = kde_log_density(data["test"], data["train"], best), gmm_log_density(data["test"], truth)
    summary = {"sigma": best, "validation_loglik": float(lls.max())}
    summary["test_loglik"], summary["test_loglik_sem"] = mean_and_sem(log_p_kde)
    summary["test_loglik_true"], summary["test_loglik_true_sem"] = mean_and_sem(log_p_true)
    summary["test_gap_sem"] = mean_and_sem(log_p_true - log_p_kde)[1]
    summary.update(sigma_on_grid_edge=bool(best in (sigmas[0], sigmas[-1])), grid_size=len(sigmas))
    return summary, sigmas, lls


def plot_kde_validation(sigmas: np.ndarray, lls: np.ndarray, best: float, path: str | Path) -> None:
    """Figure 1.3a: validation log-likelihood against the bandwidth sigma (a variance)."""
    fig, ax = pyplot().subplots(figsize=(2.9, 2.1))
    ax.plot(sigmas, lls, marker=".", color="C0")
    ax.axvline(best, color="C3", linestyle="--")
    finite = lls[np.isfinite(lls)]
    ax.set(xscale="log", xlabel=r"$\sigma$ (variance of the kernel)", ylabel="validation log-likelihood",
           title=rf"chosen $\sigma = {best:.3g}$ (dashed)")
    ax.set_ylim(max(finite.min(), finite.max() - 3.0), finite.max() + 0.2)  # lower values: below (the caption says)
    save_figure(fig, path)


def plot_density_panels(panels: dict, lim: float, path: str | Path, num: int = 200) -> None:
    """Figures 1.3b and 1.7a: heat maps of densities side by side (title -> log-density function), on
    one colour scale, so that the panels can be compared, with its colour bar."""
    fig, axes = pyplot().subplots(1, len(panels), figsize=(2.1 * len(panels) + 0.6, 2.1), squeeze=False)
    grids = {title: density_grid(log_density, lim, num) for title, log_density in panels.items()}
    top = max(float(np.exp(Z).max()) for _, _, Z in grids.values())
    for ax, (title, (X, Y, Z)) in zip(axes[0], grids.items()):
        mesh = ax.pcolormesh(X, Y, np.exp(Z), shading="auto", cmap="viridis", vmin=0.0, vmax=top, rasterized=True)
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        ax.grid(False)  # grid lines would hide the density
    fig.tight_layout()
    fig.colorbar(mesh, ax=list(axes[0]), label="density", shrink=0.85, pad=0.02)
    save_figure(fig, path, layout=False)


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
# so p_theta tilts the base measure N(0, base_var I_2). Each activation of ACTIVATIONS grows at
# most linearly (ReLU, Softplus) or stays bounded (Tanh), hence exp(E_theta) is
# integrable and A(theta) finite for EVERY theta, all through training. s is the training
# set's RMS coordinate, so the hidden layer sees inputs of order one. Everything runs in float64:
# 2,000 Adam steps amplify rounding, and in float32 CPUs with other vector kernels end on other models.

DTYPE = torch.float64  # training and evaluation: the default of every function below


class ShallowEnergy(nn.Module):
    """E_theta(x) = v . act(W x / s + b) + c - beta |x|^2 / 2 for x of shape (n, 2); returns (n,).
    hidden holds W and b, out holds v and c; log_beta is learned only when learn_base_var."""

    def __init__(self, width: int, activation: str, base_var: float, input_scale: float,
                 learn_base_var: bool = False, dtype=DTYPE):
        super().__init__()
        self.input_scale = float(input_scale)
        self.hidden = nn.Linear(2, width, dtype=dtype)
        self.act = ACTIVATIONS[activation]()
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
              log_q: torch.Tensor, cfg: EBMSettings) -> tuple[dict[str, np.ndarray], int]:
    """Full-batch ascent for cfg.steps steps; step k records, after k updates, L_hat, the validation
    log-likelihood, A_hat and the ESS. `energy` is left at the step `kept_step` chooses.
    Returns (trace, each of shape (steps,), the kept step)."""
    opt = OPTIMIZERS[cfg.optimizer](energy.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
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
        if (step + 1) % max(cfg.steps // 4, 1) == 0:  # how far along a long run is
            print(f"  EBM step {step + 1} of {cfg.steps}: validation log-lik. {val:.4f}", flush=True)
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
    """Figure 1.6: (a) the objective and the validation log-likelihood against the step, with `references`
    (label -> value); (b) the same over the second half of the steps, where they settle; (c) A_hat; (d) the ESS."""
    steps = np.arange(1, len(trace["train_loglik"]) + 1)
    fig, axes = pyplot().subplots(1, 4, figsize=(6.8, 1.75))
    half = slice(len(steps) // 2, None)
    for ax, part in ((axes[0], slice(None)), (axes[1], half)):
        ax.plot(steps[part], trace["train_loglik"][part], color="C0", label="training objective $\\hat{\\mathcal{L}}$")
        ax.plot(steps[part], trace["validation_loglik"][part], color="C1", label="validation log-lik.")
        for (label, value), style in zip(references.items(), ("--", ":")):
            ax.axhline(value, color="0.3", linestyle=style, linewidth=1.0, label=f"{label}, validation")
        shown = np.concatenate([trace["train_loglik"][part], trace["validation_loglik"][part], list(references.values())])
        pad = max(0.05 * (shown.max() - shown.min()), 1e-3)
        ax.set(xlabel="step", ylim=(shown.min() - pad, shown.max() + pad))
    axes[0].set(xscale="log", ylabel="log-likelihood (nats)", title="(a) every step")
    axes[1].set(title=f"(b) steps {steps[half][0]} to {steps[-1]}")
    axes[2].plot(steps, trace["log_partition"], color="C2")
    axes[2].set(xscale="log", xlabel="step", title=r"(c) $\hat A(\theta)$")
    axes[3].plot(steps, trace["ess"], color="C4")
    axes[3].set(xscale="log", xlabel="step", title="(d) effective sample size")
    for ax in axes:
        ax.axvline(best_step + 1, color="C3", linewidth=0.8, linestyle="--", label="kept step")
    legend_below(fig, axes, ncol=5)
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
    """Q1.7: A by importance sampling (is, with its delta-method standard error) and by quadrature
    (quad, no sampling error), the test log-likelihood with each, and the gaps to the true density
    (paired over the test points)."""
    with torch.no_grad():
        log_w = importance_log_weights(energy, to_tensor(x_q), to_tensor(gmm_log_density(x_q, truth)))
    lim = R + cfg.quadrature_margin
    a_is, a_is_se = float(importance_log_partition(log_w)), importance_log_partition_se(log_w)
    a_quad = quadrature_log_partition(energy, lim, cfg.quadrature_num)
    e_test = energy_values(energy, data["test"])
    log_p_true = gmm_log_density(data["test"], truth)
    mean_energy, mean_energy_se = mean_and_sem(e_test)
    gap, gap_se = mean_and_sem(log_p_true - e_test)  # log p_true - E, paired; add A
    return {
        "R": R, "base_var_final": energy.base_var, "importance_M": len(x_q), "ess": effective_sample_size(log_w),
        "test_loglik_true": float(np.mean(log_p_true)), "test_loglik_true_se": mean_and_sem(log_p_true)[1],
        "A_is": a_is, "A_is_se": a_is_se,
        "test_loglik_is": mean_energy - a_is, "test_loglik_is_se": math.hypot(mean_energy_se, a_is_se),
        "gap_to_true_is": gap + a_is, "gap_to_true_is_se": math.hypot(gap_se, a_is_se),
        "A_quad": a_quad, "A_quad_se": 0.0, "quadrature_lim": lim, "quadrature_h": 2.0 * lim / (cfg.quadrature_num - 1),
        "test_loglik_quad": mean_energy - a_quad, "test_loglik_quad_se": mean_energy_se,
        "gap_to_true_quad": gap + a_quad, "gap_to_true_quad_se": gap_se,
        "A_is_minus_quad": a_is - a_quad,
        "train_loglik": float(energy_values(energy, data["train"]).mean()) - a_is,
        "validation_loglik": float(energy_values(energy, data["validation"]).mean()) - a_is,
        "n_parameters": int(sum(p.numel() for p in energy.parameters())), "input_scale": energy.input_scale,
    }


def ebm_experiment(data: dict, K: int, R: float, seed: int, cfg: EBMSettings) -> tuple[ShallowEnergy, dict, dict]:
    """Q1.6-1.7 on one data set: draw the proposal sample once, train, evaluate the kept step.
    Returns (the kept energy, the training trace, a summary dict)."""
    torch.manual_seed(int(rng_for(seed, "ebm", "init", R, cfg.init).integers(2**63 - 1)))  # torch's seed, from its stream
    truth = ring_gmm(K, R)
    x_q = sample_gmm(truth, cfg.importance_M, rng_for(seed, "ebm", "importance", R))
    input_scale = float(np.sqrt(np.mean(data["train"] ** 2)))  # the RMS coordinate s
    energy = ShallowEnergy(cfg.width, cfg.activation, cfg.base_var, input_scale, cfg.learn_base_var)
    start = time.perf_counter()
    trace, best_step = train_ebm(energy, to_tensor(data["train"]), to_tensor(data["validation"]), to_tensor(x_q),
                                 to_tensor(gmm_log_density(x_q, truth)), cfg)
    print(f"  EBM: trained {cfg.steps} steps in {time.perf_counter() - start:.1f} s; kept step {best_step}")
    summary = {"best_step": best_step, "ess_min_during_training": float(trace["ess"].min()),
               **evaluate_ebm(energy, data, truth, x_q, cfg, R)}
    return energy, trace, summary


def energy_to_json(energy: ShallowEnergy) -> dict:
    """The trained energy as JSON: its settings and every tensor of its state (floats round-trip exactly)."""
    return {"input_scale": energy.input_scale, "state": {k: v.tolist() for k, v in energy.state_dict().items()}}


def energy_from_json(d: dict, cfg: EBMSettings) -> ShallowEnergy:
    """The inverse of energy_to_json."""
    energy = ShallowEnergy(cfg.width, cfg.activation, cfg.base_var, d["input_scale"], cfg.learn_base_var)
    energy.load_state_dict({k: to_tensor(v) for k, v in d["state"].items()})
    return energy


def ebm_kde_comparison(energy: ShallowEnergy, summary: dict, data: dict, kde_sigma: float, truth: GMM) -> dict:
    """Q1.7: the KDE's test log-likelihood, its gap to the truth, and the EBM's lead over it, each
    paired on the test points: lead = mean(log p_theta - log p_kde), with A by quadrature or A_hat."""
    log_p_kde = kde_log_density(data["test"], data["train"], kde_sigma)
    lead, lead_se = mean_and_sem(energy_values(energy, data["test"]) - log_p_kde)  # this - A
    out = {"kde_sigma": kde_sigma}
    out["test_loglik_kde"], out["test_loglik_kde_se"] = mean_and_sem(log_p_kde)
    out["kde_gap_to_true"], out["kde_gap_to_true_se"] = mean_and_sem(gmm_log_density(data["test"], truth) - log_p_kde)
    out.update(lead_over_kde_quad=lead - summary["A_quad"], lead_over_kde_quad_se=lead_se,
               lead_over_kde_is=lead - summary["A_is"], lead_over_kde_is_se=math.hypot(lead_se, summary["A_is_se"]))
    return out


def plot_log_density_slices(panels: dict, R: float, path: str | Path) -> None:
    """Figure 1.7b: log-densities (label -> function) along the circle of radius R and along the ray
    through the mean at angle 0."""
    angle = np.linspace(0.0, 2.0 * np.pi, 721)
    radius = np.linspace(0.0, R + 6.0, 481)
    circle = R * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    ray = np.stack([radius, np.zeros_like(radius)], axis=1)
    fig, axes = pyplot().subplots(1, 2, figsize=(6.2, 1.8))
    for (label, log_density), style in zip(panels.items(), ("-", "--", ":")):
        axes[0].plot(angle, log_density(circle), linestyle=style, label=label)
        axes[1].plot(radius, log_density(ray), linestyle=style, label=label)
    axes[0].set(xlabel=r"angle $\varphi$ on the circle $|x| = R$", ylabel=r"$\log p(x)$", xlim=(0, 2 * np.pi))
    axes[1].set(xlabel=r"$|x|$ along the ray $\varphi = 0$ (the centre at 0)", ylabel=r"$\log p(x)$")
    legend_below(fig, axes, ncol=3)
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
    v = reverse_profile  # its strict interior local minima (a plateau gives its first index), else its minimum
    minima = np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])) + 1
    for i in minima if len(minima) else [int(np.argmin(v))]:
        m, s, _ = refine_reverse_kl(log_p, x, float(m_grid[i]), float(s_grid[np.argmin(reverse[i])]), dm, dlog_s)
        reverse_fits.append(both_kls(m, s))
    reverse_fits.sort(key=lambda f: f["kl_qp"])
    q = both_kls(q_mean, q_sd)
    q["ratio"] = q["kl_pq"] / q["kl_qp"]
    # KL(p || q) = -H(p) + sum_j w_j E_{N(m_j, s_j^2)}[-log q], each term in closed form for a Gaussian q
    q["cross_entropy_terms"] = [w * (math.log(q_sd) + 0.5 * LOG_2PI + (s**2 + (m - q_mean) ** 2) / (2.0 * q_sd**2))
                                for w, m, s in zip(p_weights, p_means, p_sds)]
    # p >= w_j N(m_j, s_j^2) gives KL(q || p) <= -log w_j + KL(q || N(m_j, s_j^2)) for every j
    q["kl_qp_bound"] = min(-math.log(w) + math.log(s / q_sd) + (q_sd**2 + (q_mean - m) ** 2) / (2.0 * s**2) - 0.5
                           for w, m, s in zip(p_weights, p_means, p_sds))
    summary = {
        "p": {"weights": list(p_weights), "means": list(p_means), "sds": list(p_sds)},
        "q": q,
        "forward_fit": both_kls(*fit_gaussian_forward_kl(p_weights, p_means, p_sds)),
        "reverse_fits": reverse_fits,
        "reverse_fit": reverse_fits[0],
        "mode_costs": [-math.log(w) for w in p_weights],
        "entropy_p": float(-np.trapezoid(np.exp(log_p) * log_p, dx=dx)),
        "grid": {"x_min": x_min, "x_max": x_max, "x_num": x_num, "dx": dx},
    }
    curves = {"x": x, "log_p": log_p, "m_grid": m_grid, "reverse_profile": reverse_profile, "forward_profile": forward_profile}
    return summary, curves


def plot_kl_directions(summary: dict, curves: dict, path: str | Path) -> None:
    """Figure 2.2: (a) p and q with both KLs; (b) the Gaussians minimising each direction of the KL;
    (c) min over s of each KL against the mean m."""
    fig, axes = pyplot().subplots(1, 3, figsize=(6.8, 2.1))
    q = summary["q"]
    centres = np.array([*summary["p"]["means"], q["mean"]])
    widths = np.array([*summary["p"]["sds"], q["sd"]])
    view = (float(np.min(centres - 5 * widths)), float(np.max(centres + 5 * widths)))  # p and q, 5 s.d. either side
    shown = (curves["x"] >= view[0]) & (curves["x"] <= view[1])  # the grid's points in view: the rest is not drawn
    x, p = curves["x"][shown], np.exp(curves["log_p"][shown])
    ax = axes[0]
    ax.plot(x, p, color="k", label="$p$ (bimodal)")
    ax.plot(x, np.exp(normal_log_pdf(x, q["mean"], q["sd"])), color="C0", label="$q$ (unimodal)")
    ax.set(title=f"(a) KL(p||q) = {q['kl_pq']:.2f}, KL(q||p) = {q['kl_qp']:.2f}", xlabel="$z$", ylabel="density",
           xlim=view)
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
    ax.set(title="(b) closest Gaussians to $p$", xlabel="$z$", xlim=view, ylim=(0, 1.05 * max(top, p.max())))
    ax, m = axes[2], curves["m_grid"]
    ax.plot(m, curves["forward_profile"], color="C1", label="KL(p||q)")
    ax.plot(m, curves["reverse_profile"], color="C2", label="KL(q||p)")
    ax.set(title=r"(c) $\min_s$ KL over $q=\mathcal{N}(m,s^2)$", xlabel="mean $m$ of $q$", ylabel="nats", ylim=(0, None))
    legend_below(fig, axes, ncol=3)
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
    out = {name: np.empty(len(x)) for name in ("log_p", "elbo_uniform", "elbo_posterior", "posterior_entropy")}
    log_uniform = np.full(gmm.K, -math.log(gmm.K))
    block = max(1, max_entries // gmm.K)
    for start in range(0, len(x), block):
        sl = slice(start, start + block)
        log_joint = gmm_log_joint(x[sl], gmm)
        log_r = posterior_log_probs(log_joint)
        out["log_p"][sl] = logsumexp(log_joint, axis=1)
        out["elbo_uniform"][sl] = elbo(log_joint, log_uniform)
        out["elbo_posterior"][sl] = elbo(log_joint, log_r)
        out["posterior_entropy"][sl] = elbo(np.zeros_like(log_r), log_r)  # H(r) = sum_k r_k (0 - log r_k)
    out["gap_uniform"] = out["log_p"] - out["elbo_uniform"]
    out["gap_posterior"] = out["log_p"] - out["elbo_posterior"]
    return out


def elbo_experiment(x: np.ndarray, K: int, R: float, rng: np.random.Generator, random_q: int) -> tuple[dict, dict]:
    """Q2.3 for one radius on the test points x (n, 2): means and standard errors of elbo_study's
    columns, the exact expectation of L(Unif), the K -> infinity limits at this radius (Q2.4); `random_q`
    random q per point check Q2.1's identity. Returns (summary, elbo_study's per-point arrays)."""
    per = elbo_study(x, ring_gmm(K, R))
    summary: dict = {"R": R, "K": K, "n": int(len(x))}
    for name in ("log_p", "elbo_uniform", "elbo_posterior", "gap_uniform", "gap_posterior", "posterior_entropy"):
        summary[name], summary[f"{name}_sem"] = mean_and_sem(per[name])
    summary.update(
        gap_posterior_max_abs=float(np.max(np.abs(per["gap_posterior"]))),
        identity_max_error=elbo_identity_error(x, ring_gmm(K, R), rng, random_q), identity_draws=random_q,
        elbo_uniform_expected=-LOG_2PI - 1.0 - R**2,  # E|x|^2 = R^2 + 2 under the model
        log_K=math.log(K),
        gap_uniform_separated=R**2 - math.log(K),  # separated components: E log p ~ -log K - log 2pi - 1
        effective_components=float(np.mean(np.exp(per["posterior_entropy"]))),
        ring_limit=fixed_R_limits(R))
    return summary, per


def plot_elbo_distributions(points: dict, per_R: dict, path: str | Path) -> None:
    """Figure 2.3, two panels per radius, two radii a row: log p(x) and the two ELBOs per test point, and the
    uniform gap against |x|; points: R -> test points, per_R: R -> elbo_study's arrays."""
    rows, cols = (len(per_R) + 1) // 2, 2 * min(len(per_R), 2)
    fig, axes = pyplot().subplots(rows, cols, figsize=(6.8 if cols == 4 else 4.0, 1.75 * rows), squeeze=False)
    for ax in axes.ravel()[2 * len(per_R):]:
        ax.set_visible(False)  # an odd number of radii leaves the last row half empty
    for (ax, ax_gap), (R, per) in zip(axes.reshape(-1, 2), per_R.items()):
        values = np.concatenate([per["log_p"], per["elbo_uniform"]])
        bins = np.linspace(values.min(), values.max(), 60)
        ax.hist(per["elbo_uniform"], bins=bins, color="C0", alpha=0.6, label="ELBO, $q$ uniform")
        ax.hist(per["log_p"], bins=bins, color="C3", alpha=0.6, label=r"$\log p(x)$")
        ax.hist(per["elbo_posterior"], bins=bins, histtype="step", color="k", linestyle="--", label="ELBO, $q$ posterior")
        ax.set(title=f"R = {R:g}: bounds", xlabel="nats", ylabel="test points")
        ax_gap.scatter(np.linalg.norm(points[R], axis=1), per["gap_uniform"], s=3, alpha=0.5, color="C0", rasterized=True)
        ax_gap.set(title=f"R = {R:g}: gap of $q$ uniform", xlabel=r"$\|x\|$", ylabel=r"KL(Unif $\|$ posterior)")
    legend_below(fig, axes, ncol=3)
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
    """log I_0(z), finite for every z: numpy's i0 up to z = 500, above it the asymptotic series
    I_0(z) ~ e^z / sqrt(2 pi z) (1 + 1/(8z) + 9/(128 z^2) + 225/(3072 z^3) + 11025/(98304 z^4)), error ~1e-13."""
    z = np.abs(np.asarray(z, dtype=float))
    small = z <= 500.0
    big = np.where(small, 501.0, z)
    series = 1.0 + 1.0 / (8 * big) + 9.0 / (128 * big**2) + 225.0 / (3072 * big**3) + 11025.0 / (98304 * big**4)
    return np.where(small, np.log(np.i0(np.where(small, z, 0.0))), big - 0.5 * np.log(2.0 * np.pi * big) + np.log(series))


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


SWEEP_COLUMNS = ("log_p", "elbo_uniform", "elbo_posterior", "gap_uniform", "posterior_entropy")


def sweep_regime(Ks: list[int], regime: str, R: float, K_ref: int, n: int, rng: np.random.Generator) -> list[dict]:
    """Q2.4 in one regime: for each K, the means and standard errors of SWEEP_COLUMNS over n coupled test points."""
    u, noise = rng.random(n), rng.standard_normal((n, 2))
    rows = []
    for K in Ks:
        R_K = ring_radius(K, regime, R, K_ref)
        per = elbo_study(on_circle(coupled_angles(K, u), R_K) + noise, ring_gmm(K, R_K))
        row = {"K": K, "R": R_K, "spacing": neighbour_spacing(K, R_K)}
        for name in SWEEP_COLUMNS:
            row[name], row[f"{name}_sem"] = mean_and_sem(per[name])
        # log p_K + log K: the per-point values shifted by a constant, so the same standard error
        rows.append({**row, "log_p_plus_log_K": row["log_p"] + math.log(K),
                     "gap_posterior_max_abs": float(np.max(np.abs(per["gap_posterior"])))})
    return rows


def sweep_experiment(seed: int, R: float, K_ref: int, K_min: int, K_max: int, K_num: int, n: int) -> dict:
    """Q2.4: both regimes over K_num log-spaced K (SweepSettings), with the analytic limits; each
    regime draws its test points from its own stream."""
    Ks = sorted({int(round(k)) for k in np.geomspace(K_min, K_max, K_num)})
    d = neighbour_spacing(K_ref, R)
    C = row_log_density_constant(d)
    rows = {regime: sweep_regime(Ks, regime, R, K_ref, n, rng_for(seed, "vi", "sweep", regime)) for regime in SWEEP_REGIMES}
    return {
        "K": Ks,
        "n": n,
        "fixed_R": {"R": R, "rows": rows["fixed_R"], "limits": fixed_R_limits(R)},
        "fixed_spacing": {
            "R_ref": R, "K_ref": K_ref, "spacing": d, "rows": rows["fixed_spacing"],
            # E log p_K = -log K + C(d) + o(1);  E L(Unif) = -log 2pi - 1 - R_K^2 for every K >= 2; their difference
            "limits": {"log_p_plus_log_K": C, "elbo_uniform_plus_R2": -LOG_2PI - 1.0, "gap_minus_R2_plus_log_K": C + LOG_2PI + 1.0},
        },
    }


def plot_sweep(sweep: dict, path: str | Path) -> None:
    """Figure 2.4: means over the test points against K, bands of one standard error, dashed limits.
    (a) fixed R: log p_K (= the posterior ELBO) against E log p_inf; (b) fixed R: the uniform q's gap
    against E log I_0(R|x|); (c) fixed spacing: minus both bounds on log axes, with their asymptotes;
    (d) fixed spacing: log p_K + log K against C(d)."""
    Ks = np.array(sweep["K"], dtype=float)
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]

    def col(regime: dict, name: str) -> np.ndarray:
        return np.array([r[name] for r in regime["rows"]])

    def banded(ax, regime: dict, name: str, se_name: str, limit: float, color: str, label: str) -> None:
        mean, se = col(regime, name), col(regime, se_name)
        ax.plot(Ks, mean, color=color, marker="o", markersize=3, label=label)
        ax.fill_between(Ks, mean - se, mean + se, color=color, alpha=0.25, linewidth=0, label="$\\pm$ one s.e.")
        ax.axhline(limit, color="k", linestyle="--", linewidth=0.9, label=r"limit $K\to\infty$")
        ax.set(xscale="log", xlabel="number of components K", ylabel="mean (nats)")

    fig, axes = pyplot().subplots(2, 2, figsize=(6.8, 2.9))
    banded(axes[0, 0], fr, "log_p", "log_p_sem", fr["limits"]["log_p"], "C3", r"$\log p_K(x)$ = ELBO, $q$ posterior")
    axes[0, 0].set_title(f"(a) fixed R = {fr['R']:g}: the posterior's bound")
    banded(axes[0, 1], fr, "gap_uniform", "gap_uniform_sem", fr["limits"]["gap_uniform"], "C0", "gap of $q$ uniform")
    axes[0, 1].set_title(f"(b) fixed R = {fr['R']:g}: the uniform $q$'s gap")
    ax = axes[1, 0]  # both bounds diverge: minus their values on log axes, asymptotes dashed in their colour
    R2, logK = col(fs, "R") ** 2, np.log(Ks)
    ax.plot(Ks, -col(fs, "elbo_uniform"), color="C0", marker="o", markersize=3, label="$-$ELBO, $q$ uniform")
    ax.plot(Ks, -col(fs, "log_p"), color="C3", marker="o", markersize=3, label=r"$-\log p_K(x)$")
    ax.plot(Ks, R2 - fs["limits"]["elbo_uniform_plus_R2"], color="C0", linestyle="--", linewidth=0.9)
    ax.plot(Ks, logK - fs["limits"]["log_p_plus_log_K"], color="C3", linestyle="--", linewidth=0.9)
    ax.set(title=f"(c) fixed spacing d = {fs['spacing']:.2f}", xscale="log", yscale="log",
           xlabel="number of components K", ylabel="minus the mean (nats)")

    banded(axes[1, 1], fs, "log_p_plus_log_K", "log_p_sem", fs["limits"]["log_p_plus_log_K"], "C3",
           r"$\log p_K(x) + \log K$")  # a constant shift: log p's standard error
    axes[1, 1].set_title(r"(d) fixed spacing: $\log p_K + \log K$ against $C(d)$")
    legend_below(fig, axes, ncol=4)
    save_figure(fig, path)


# ----------------------------------------------------------------------------
# Running the homework: one stage per question, each writing <out>/<stage>.json and its figures
# (stages that need an earlier one's results read its JSON, so each can also run alone: --only)
# ----------------------------------------------------------------------------


def stage_samples(s: Settings, out: Path) -> dict:
    """Q1.1: the data sets (drawn again by each stage from their streams; Figure 1 is EM's, 1.2)."""
    sizes = {f"{R:g}": {k: v.shape for k, v in make_datasets(s.seed, s.data.K, s.data.n, R).items()} for R in s.data.R}
    print(f"Q1.1  train / validation / test sets of {s.data.n} points from the K={s.data.K} ring mixture, R in {list(s.data.R)}")
    return {"seed": s.seed, "K": s.data.K, "n": s.data.n, "R": list(s.data.R), "shapes": sizes}


def stage_em(s: Settings, out: Path) -> dict:
    data = {R: make_datasets(s.seed, s.data.K, s.data.n, R) for R in s.data.R}
    results, summary = {}, {}
    for R in s.data.R:
        results[R], e = em_experiment(data[R], s.data.K, R, s.seed, s.em.max_iter, s.em.tol, s.em.restarts)
        summary[f"{R:g}"] = e
        print(f"Q1.2  EM, R={R:g}: {e['iterations']} steps ({'converged' if e['converged'] else 'not converged'}), "
              f"max |mu_hat - mu| {e['mean_error_max']:.3f}, RMS {e['mean_error_rms']:.3f}; "
              f"test log-lik. fit {e['test_loglik_fit']:.4f}, true {e['test_loglik_true']:.4f}")
    truths = {R: ring_gmm(s.data.K, R) for R in s.data.R}
    plot_em_means({R: d["train"] for R, d in data.items()}, truths, {R: r.gmm for R, r in results.items()},
                  out / "q1_2_em_means.pdf")
    plot_em_traces({R: r.log_likelihood for R, r in results.items()},
                   {R: summary[f"{R:g}"]["train_loglik_true"] for R in s.data.R}, out / "q1_2_em_traces.pdf")
    return summary


def stage_kde(s: Settings, out: Path) -> dict:
    data, truth = make_datasets(s.seed, s.data.K, s.data.n, s.kde.R), ring_gmm(s.data.K, s.kde.R)
    grid = np.geomspace(s.kde.sigma_min, s.kde.sigma_max, s.kde.sigma_num)
    kde, sigmas, lls = kde_experiment(data, grid, s.kde.refine_num, truth)
    print(f"Q1.3  KDE, R={s.kde.R:g}: sigma = {kde['sigma']:.4g} (a variance), test log-lik. "
          f"{kde['test_loglik']:.4f} +- {kde['test_loglik_sem']:.4f}, true GMM {kde['test_loglik_true']:.4f}")
    plot_kde_validation(sigmas, lls, kde["sigma"], out / "q1_3_kde_validation.pdf")
    plot_kde_density(truth, data["train"], kde["sigma"], s.kde.R + 4.0, out / "q1_3_kde_density.pdf")
    return {**kde, "R": s.kde.R}


def stage_ebm(s: Settings, out: Path) -> dict:
    """Q1.6: the EBM trained on the KDE's data; its model and training trace go with its numbers."""
    data = make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    energy, trace, e = ebm_experiment(data, s.data.K, s.kde.R, s.seed, s.ebm)
    print(f"Q1.6  EBM: kept step {e['best_step']} of {s.ebm.steps}; A_hat {e['A_is']:.4f} +- {e['A_is_se']:.4f} "
          f"(ESS {e['ess']:.0f} of {e['importance_M']}), A by quadrature {e['A_quad']:.4f}")
    return {**e, "config": asdict(s.ebm), "model": energy_to_json(energy),
            "trace": {k: v.tolist() for k, v in trace.items()}}


def stage_ebm_kde(s: Settings, out: Path) -> dict:
    """Q1.7: the trained EBM (out/ebm.json) against the KDE (out/kde.json) and the truth; its figures."""
    ebm, sigma = read_json(out / "ebm.json"), read_json(out / "kde.json")["sigma"]
    data, truth = make_datasets(s.seed, s.data.K, s.data.n, s.kde.R), ring_gmm(s.data.K, s.kde.R)
    energy = energy_from_json(ebm["model"], s.ebm)
    c = ebm_kde_comparison(energy, ebm, data, sigma, truth)
    print(f"Q1.7  test log-lik.: EBM {ebm['test_loglik_quad']:.4f} +- {ebm['test_loglik_quad_se']:.4f} (A by quadrature; "
          f"{ebm['test_loglik_is']:.4f} with A_hat), KDE {c['test_loglik_kde']:.4f}, true GMM {ebm['test_loglik_true']:.4f}; "
          f"EBM - KDE {c['lead_over_kde_quad']:.4f} +- {c['lead_over_kde_quad_se']:.4f} (paired)")
    trace = {k: np.array(v) for k, v in ebm["trace"].items()}
    paths = {k: out / f"{name}.pdf" for k, name in
             (("training", "q1_6_ebm_training"), ("density", "q1_7_ebm_density"), ("slices", "q1_7_ebm_slices"))}
    plot_ebm_results(energy, trace, ebm, data, truth, sigma, paths)
    return c


def stage_kl(s: Settings, out: Path) -> dict:
    kl, curves = kl_experiment(**asdict(s.kl))
    print(f"Q2.2  KL(p||q) = {kl['q']['kl_pq']:.3f} >> KL(q||p) = {kl['q']['kl_qp']:.3f}; KL(q||p) of the Gaussian fits: "
          f"moment matching {kl['forward_fit']['kl_qp']:.3f}, mode seeking {kl['reverse_fit']['kl_qp']:.3f}")
    plot_kl_directions(kl, curves, out / "q2_2_kl.pdf")
    return kl


def stage_elbo(s: Settings, out: Path) -> dict:
    """Q2.1 (the identity checked on random q) and Q2.3 on the test sets of every radius."""
    by_R, per_point, tests = {}, {}, {}
    for R in s.data.R:
        tests[R] = make_datasets(s.seed, s.data.K, s.data.n, R)["test"]
        rng = rng_for(s.seed, "vi", "random_q", R)
        by_R[f"{R:g}"], per_point[R] = elbo_experiment(tests[R], s.data.K, R, rng, s.elbo.random_q)
    worst = max(v["identity_max_error"] for v in by_R.values())
    print(f"Q2.1  log p(x) = ELBO + KL(q || p(z|x)) for {s.elbo.random_q} random q per test point: largest error {worst:.1e}")
    for tag, v in by_R.items():
        print(f"Q2.3  R={tag}: log p(x) {v['log_p']:.4f}, ELBO q uniform {v['elbo_uniform']:.4f}, "
              f"ELBO q posterior {v['elbo_posterior']:.4f}; gap of q uniform {v['gap_uniform']:.4f} +- "
              f"{v['gap_uniform_sem']:.4f}, of q posterior {v['gap_posterior']:.1e}")
    plot_elbo_distributions(tests, per_point, out / "q2_3_elbo.pdf")
    return {"K": s.data.K, "by_R": by_R}


def stage_sweep(s: Settings, out: Path) -> dict:
    sweep = sweep_experiment(s.seed, **asdict(s.sweep))
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]
    r, q = fr["rows"][-1], fs["rows"][-1]
    print(f"Q2.4  fixed R={fr['R']:g}, K={r['K']}: log p {r['log_p']:.4f} (limit {fr['limits']['log_p']:.4f}), "
          f"ELBO q uniform {r['elbo_uniform']:.4f} (expectation {fr['limits']['elbo_uniform']:.4f} for every K), "
          f"gap {r['gap_uniform']:.2f} (limit {fr['limits']['gap_uniform']:.2f})")
    print(f"Q2.4  fixed spacing d={fs['spacing']:.4f}, K={q['K']} (R_K {q['R']:.4g}): log p + log K "
          f"{q['log_p_plus_log_K']:.4f} (limit C(d) = {fs['limits']['log_p_plus_log_K']:.4f}); "
          f"ELBO q uniform {q['elbo_uniform']:.6g}, about -R_K^2: it tends to -infinity")
    plot_sweep(sweep, out / "q2_4_sweep.pdf")
    return sweep


# ----------------------------------------------------------------------------
# Appendix (python VI.py --appendix): training variants and other seeds (theory.pdf, Appendix)
# ----------------------------------------------------------------------------


def describe_change(change: dict) -> str:
    """A variant's change of the EBM's settings in words: {"activation": "tanh"} -> "tanh units"."""
    cfg = replace(EBMSettings(), **change)
    words = {"activation": f"{cfg.activation} units", "width": f"{cfg.width} hidden units",
             "init": f"initialisation {cfg.init}", "lr": f"learning rate {cfg.lr:g}",
             "base_var": f"base variance {'learned from' if cfg.learn_base_var else 'fixed at'} {cfg.base_var:g}",
             "optimizer": {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD with momentum"}[cfg.optimizer]
             + (f" with weight decay {cfg.weight_decay:g}" if "weight_decay" in change else "")}
    words["learn_base_var"], words["weight_decay"] = words["base_var"], f"weight decay {cfg.weight_decay:g}"
    parts = [words[k] for k in change if not (k == "weight_decay" and "optimizer" in change)]
    return ", ".join(dict.fromkeys(parts))


def stage_variant(s: Settings, out: Path, name: str) -> dict:
    """The EBM again with VARIANTS[name] changed, on the same data and importance sample."""
    data = make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    energy, _, e = ebm_experiment(data, s.data.K, s.kde.R, s.seed, replace(s.ebm, **VARIANTS[name]))
    print(f"Appendix  {describe_change(VARIANTS[name])}: kept step {e['best_step']}, validation "
          f"{e['validation_loglik']:.4f}, test (A quad) {e['test_loglik_quad']:.4f}, A_IS - A_quad {e['A_is_minus_quad']:.3f}")
    return {"name": name, "change": VARIANTS[name], "label": describe_change(VARIANTS[name]), **e,
            "model": energy_to_json(energy)}


def test_log_densities(s: Settings, result: dict, cfg: EBMSettings) -> np.ndarray:
    """log p_theta (A by quadrature) at each test point for a trained model's result (its JSON). Shape (n,)."""
    data = make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    return energy_values(energy_from_json(result["model"], cfg), data["test"]) - result["A_quad"]


SEED_STAGES = ("em", "kde", "ebm", "elbo")


def headlines(em: dict, kde: dict, ebm: dict, elbo: dict) -> dict[str, float]:
    """The numbers the appendix follows over seeds, from one seed's stage results."""
    out = {f"em_R{tag}_mean_error_max": e["mean_error_max"] for tag, e in em.items()}
    out.update({f"vi_R{tag}_gap_uniform": e["gap_uniform"] for tag, e in elbo["by_R"].items()})
    out.update(kde_sigma=kde["sigma"], kde_gap_to_true=kde["test_loglik_true"] - kde["test_loglik"],
               true_test_loglik=kde["test_loglik_true"], ebm_gap_to_true=ebm["gap_to_true_quad"],
               ebm_A_is_minus_quad=ebm["A_is_minus_quad"])
    return out


def stage_seed(s: Settings, out: Path, seed: int) -> dict:
    """The homework's headline stages again for another root seed, as `python VI.py --seed <seed>` runs
    them (their results and figures in out/seed_<seed>/)."""
    folder = out / f"seed_{seed}"
    results = [write_json(folder / f"{name}.json", STAGES[name](replace(s, seed=seed), folder)) for name in SEED_STAGES]
    return {"seed": seed, **headlines(*results)}


def stage_appendix(s: Settings, out: Path) -> dict:
    """The appendix's tables from the variants' and seeds' results: every variant beside the default,
    and each headline number for this seed beside its mean, s.d., min and max over the other seeds."""
    default = {"name": "default", "label": "default", **read_json(out / "ebm.json")}
    variants = [read_json(out / "appendix" / f"variant_{name}.json") for name in VARIANTS]
    reference = test_log_densities(s, default, s.ebm)
    for v in variants:  # the test log-likelihood's difference to the default, paired over the test points
        diff = test_log_densities(s, v, replace(s.ebm, **v["change"])) - reference
        v["test_minus_default"], v["test_minus_default_se"] = mean_and_sem(diff)
    seeds = [read_json(out / "appendix" / f"seed_{seed}.json") for seed in s.appendix.seeds]
    own = headlines(*(read_json(out / f"{name}.json") for name in SEED_STAGES))
    rows = {}
    for key, value in own.items():
        v = np.array([r[key] for r in seeds])
        rows[key] = {"this seed": value, "mean": float(v.mean()), "s.d.": float(v.std(ddof=1)) if len(v) > 1 else None,
                     "min": float(v.min()), "max": float(v.max())}
    print(f"Appendix  variants: {', '.join(v['name'] for v in variants)}; seeds {list(s.appendix.seeds)}")
    for key, row in rows.items():
        print(f"  {key:24s} " + " ".join(f"{k} {x:.4g}" for k, x in row.items() if x is not None))
    keep = ("name", "label", "change", "base_var_final", "best_step", "validation_loglik", "test_loglik_quad",
            "A_is_minus_quad", "ess", "test_minus_default", "test_minus_default_se")
    return {"variants": [{k: v[k] for k in keep if k in v} for v in [default, *variants]],
            "seeds": list(s.appendix.seeds), "rows": rows,
            "ebm_beats_kde": sum(r["ebm_gap_to_true"] < r["kde_gap_to_true"] for r in seeds)}


STAGES = {"samples": stage_samples, "em": stage_em, "kde": stage_kde, "ebm": stage_ebm, "ebm_kde": stage_ebm_kde,
          "kl": stage_kl, "elbo": stage_elbo, "sweep": stage_sweep, "appendix": stage_appendix}


def run_stage(s: Settings, out: Path, name: str) -> dict:
    """Run one stage (a key of STAGES, variant_<name> or seed_<seed>) and write its JSON."""
    kind, _, which = name.partition("_")
    if kind == "variant" and which in VARIANTS:
        return write_json(out / "appendix" / f"{name}.json", stage_variant(s, out, which))
    if kind == "seed" and which.isdigit():
        return write_json(out / "appendix" / f"{name}.json", stage_seed(s, out, int(which)))
    return write_json(out / f"{name}.json", STAGES[name](s, out))


def stage_names(s: Settings, appendix: bool) -> list[str]:
    """Every stage of the homework in order, and with `appendix` the appendix's."""
    names = [n for n in STAGES if n != "appendix"]
    if appendix:
        names += [f"variant_{v}" for v in VARIANTS] + [f"seed_{seed}" for seed in s.appendix.seeds] + ["appendix"]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value, f in leaves(Settings()):
        parser.add_argument(f"--{name}", metavar="V", help=f"{f.metadata['help']} (default {format_value(value)})")
    parser.add_argument("--appendix", action="store_true", help="also the appendix: training variants and other seeds")
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for the results (default: ./results)")
    parser.add_argument("--only", nargs="+", metavar="STAGE", help="run only these stages (" + ", ".join(STAGES) + ", "
                        "variant_<name>, seed_<seed>), reading earlier stages' JSON from --out")
    args = parser.parse_args(argv)
    try:
        s = settings_from({name: getattr(args, name) for name, _, _ in leaves(Settings()) if getattr(args, name) is not None})
    except ValueError as error:
        parser.error(str(error))
    names = args.only or stage_names(s, args.appendix)
    unknown = [n for n in names if n not in stage_names(s, appendix=True)]
    if unknown:
        parser.error(f"unknown stage {', '.join(unknown)}; the stages are {', '.join(stage_names(s, appendix=True))}")
    torch.set_num_threads(1)  # one thread: sums in a fixed order, the same numbers on every machine
    start = time.perf_counter()
    for name in names:
        run_stage(s, args.out, name)
    print(f"results and figures in {args.out}/; {time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
