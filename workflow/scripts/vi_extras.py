"""What the build computes beyond `python VI.py`: the numbers the report's text and tables
quote that no question's answer needs, the extra checks of the energy-based model, and the
mapping from the config's names ("tanh", "adamw") to the torch classes VI.py takes.

The functions that compute take the VI module as loaded by the rule (common.load_vi) and call
VI.py's own functions on the same random streams, so the numbers they add are those of the
code in the zip. Each `<stage>_extras` returns VI.py's summary of that stage with its own
numbers merged in, the keys in the order of results/*.json (in_order).
"""

import math

import numpy as np
import torch
from torch import nn


# ----------------------------------------------------------------------------
# The config's names for VI.py's torch classes
# ----------------------------------------------------------------------------

ACTIVATIONS = {"relu": nn.ReLU, "softplus": nn.Softplus, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}


def sgd_with_momentum(params, lr: float, weight_decay: float) -> torch.optim.SGD:
    """The config's optimizer "sgd": torch.optim.SGD with momentum 0.9."""
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": sgd_with_momentum}

# Keys of the config's ebm section that VI.EBMSettings does not have: the fresh sample that
# checks A after training, torch's thread count, the progress lines, and the variants.
EBM_BUILD_ONLY = ("check_M", "threads", "log_every", "variants")

# `python VI.py` runs torch on one thread (VI.main); a config with more threads may round differently.
PYTHON_VI_PY_THREADS = 1


def ebm_settings_values(section: dict) -> dict:
    """A config `ebm` section (or a variant's changes) as VI.EBMSettings' values: names become
    torch classes, the build's own keys are left out."""
    out = {k: v for k, v in section.items() if k not in EBM_BUILD_ONLY}
    if "activation" in out:
        out["activation"] = ACTIVATIONS[out["activation"]]
    if "optimizer" in out:
        out["optimizer"] = OPTIMIZERS[out["optimizer"]]
    return out


def progress_printer(log_every: int, M: int, log=print):
    """VI.train_ebm's `progress`: a line every log_every steps and at the last (None when 0)."""
    if not log_every:
        return None

    def progress(step: int, trace: dict) -> None:
        if step % log_every == 0 or step == len(trace["ess"]) - 1:
            log(f"step {step:5d}: train {trace['train_loglik'][step]:9.4f}  validation "
                f"{trace['validation_loglik'][step]:9.4f}  A_hat {trace['log_partition'][step]:9.4f}  "
                f"ESS {trace['ess'][step]:7.0f} / {M}")

    return progress


def in_order(keys: tuple, *parts: dict) -> dict:
    """The entries of `parts` merged (a later part wins), `keys` first and in that order, then
    the others as they come: the order the results' JSON files have kept since these numbers
    were computed in VI.py."""
    merged = {k: v for part in parts for k, v in part.items()}
    return {**{k: merged[k] for k in keys}, **merged}


# ----------------------------------------------------------------------------
# Q1.2 and Q1.3: numbers of the text and tables
# ----------------------------------------------------------------------------


def gaussian_fit_log_likelihood(train: np.ndarray, test: np.ndarray) -> float:
    """Mean log-likelihood on `test` of the single Gaussian fitted to `train` by maximum
    likelihood: the yardstick for overlapping components."""
    mean, cov = train.mean(axis=0), np.cov(train, rowvar=False, bias=True)
    diff = test - mean
    mahalanobis = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
    return float(np.mean(-0.5 * mahalanobis - math.log(2.0 * math.pi) - 0.5 * np.linalg.slogdet(cov)[1]))


EM_KEYS = ("R", "K", "iterations", "converged", "restart", "restarts", "restart_log_likelihoods",
           "train_loglik_fit", "train_loglik_true", "test_loglik_fit", "test_loglik_true", "test_gap_sem",
           "weights_fit", "means_fit", "mean_error_max", "mean_error_rms", "weight_error_max")


def em_extras(VI, summary: dict, data: dict, result) -> dict:
    """Q1.2's summary (VI.em_experiment's, with its VI.EMResult `result`) and the numbers of the
    text: the kept start and every start's final log-likelihood, how many distinct optima they
    reached (to 4 decimals), the fitted weights and means matched to the true components, the
    standard error of the paired test gap, the single Gaussian's test log-likelihood, the spacing
    of neighbouring means and the true means."""
    K, R = summary["K"], summary["R"]
    truth = VI.ring_gmm(K, R)
    fit = VI.match_to_truth(result.gmm, truth)
    gap = VI.gmm_log_density(data["test"], truth) - VI.gmm_log_density(data["test"], fit)  # paired
    extras = {
        "restart": result.restart,
        "restarts": len(result.restart_log_likelihoods),
        "restart_log_likelihoods": result.restart_log_likelihoods,
        "train_loglik_fit": float(result.log_likelihood[-1]),
        "test_gap_sem": VI.mean_and_sem(gap)[1],
        "weights_fit": fit.weights.tolist(),
        "means_fit": fit.means.tolist(),
        "weight_error_max": float(np.max(np.abs(fit.weights - truth.weights))),
        "distinct_optima": int(len(np.unique(np.round(result.restart_log_likelihoods, 4)))),
        "test_loglik_single_gaussian": gaussian_fit_log_likelihood(data["train"], data["test"]),
        "neighbour_spacing": VI.neighbour_spacing(K, R),
        "means_true": truth.means.tolist(),
    }
    return in_order(EM_KEYS, summary, extras)


def kde_extras(VI, summary: dict, data: dict, truth, sigmas: np.ndarray, lls: np.ndarray) -> dict:
    """Q1.3's summary (VI.kde_experiment's, with the sigmas tried and their validation
    log-likelihoods) and the numbers of the text: the best validation log-likelihood, the
    standard errors of the truth's test log-likelihood and of the paired gap truth - KDE,
    whether the chosen sigma is an end of the grid, and how many values were tried."""
    sigma = summary["sigma"]
    log_p_true = VI.gmm_log_density(data["test"], truth)
    gap = log_p_true - VI.kde_log_density(data["test"], data["train"], sigma)  # paired: same test points
    extras = {
        "validation_loglik": float(lls.max()),
        "test_loglik_true_sem": VI.mean_and_sem(log_p_true)[1],
        "test_gap_sem": VI.mean_and_sem(gap)[1],
        "sigma_on_grid_edge": bool(sigma in (sigmas[0], sigmas[-1])),
        "grid_size": int(len(sigmas)),
    }
    keys = ("sigma", "validation_loglik", "test_loglik", "test_loglik_sem", "test_loglik_true", "test_loglik_true_sem")
    return in_order(keys, summary, extras)


# ----------------------------------------------------------------------------
# Q1.6-1.7: the energy-based model's extra checks
# ----------------------------------------------------------------------------


def per_point_energy_gradients(energy, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """grad_theta E_theta(x_m) for each row of x (M, 2): parameter name -> (M, *parameter shape)."""
    params = {k: p.detach() for k, p in energy.named_parameters()}

    def energy_at(p, x_m):  # E_theta(x_m) as a function of the parameters p (the buffers stay the model's)
        return torch.func.functional_call(energy, p, (x_m[None],))[0]

    return torch.func.vmap(torch.func.grad(energy_at), in_dims=(None, 0))(params, x)


def self_normalised_estimate(values: torch.Tensor, log_w: torch.Tensor) -> torch.Tensor:
    """F_hat = N_hat / D_hat = sum_m w_m f(x_m) / sum_m w_m for values f(x_m) of shape (M, ...)."""
    return torch.tensordot(torch.softmax(log_w.detach(), dim=0), values, dims=1)


def importance_grad_log_partition(VI, energy, x_q: torch.Tensor, log_q: torch.Tensor) -> dict[str, torch.Tensor]:
    """Q1.6 written out: F_hat with f = grad_theta E_theta, the estimate of grad A = E_{p_theta} grad E_theta."""
    log_w = VI.importance_log_weights(energy, x_q, log_q)
    return {k: self_normalised_estimate(g, log_w) for k, g in per_point_energy_gradients(energy, x_q).items()}


def gradient_estimator_check(VI, energy, x: torch.Tensor, x_q: torch.Tensor, log_q: torch.Tensor) -> dict:
    """Q1.6 in numbers: autograd's gradient of L_hat = mean E(x_i) - A_hat against the estimator
    (1/n) sum_i grad E_theta(x_i) - N_hat / D_hat at the current parameters: the largest
    absolute difference, the power of ten 10^k just above it (k >= -15), and the gradient's
    largest entry for scale."""
    names = [k for k, _ in energy.named_parameters()]
    objective = energy(x).mean() - VI.importance_log_partition(VI.importance_log_weights(energy, x_q, log_q))
    autograd = torch.autograd.grad(objective, [p for _, p in energy.named_parameters()])
    data_term = per_point_energy_gradients(energy, x)
    model_term = importance_grad_log_partition(VI, energy, x_q, log_q)
    estimator = [data_term[k].mean(dim=0) - model_term[k] for k in names]
    diff = max(float((a - e).abs().max()) for a, e in zip(autograd, estimator))
    return {
        "grad_estimator_max_abs_diff": diff,
        "grad_estimator_diff_log10": math.floor(math.log10(max(diff, 1e-16))) + 1,
        "grad_max_abs": max(float(a.abs().max()) for a in autograd),
    }


EBM_KEYS = ("best_step", "R", "base_var_final", "importance_M", "ess", "test_loglik_true", "test_loglik_true_se",
            "A_is", "A_is_se", "test_loglik_is", "test_loglik_is_se", "gap_to_true_is", "gap_to_true_is_se",
            "A_quad", "A_quad_se", "test_loglik_quad", "test_loglik_quad_se", "gap_to_true_quad",
            "gap_to_true_quad_se", "A_is_minus_quad", "train_loglik", "validation_loglik")


def ebm_extras(VI, energy, trace: dict, summary: dict, data: dict, K: int, R: float, seed: int, section: dict) -> dict:
    """The EBM's checks, then its VI summary (VI.ebm_experiment's, for the trained `energy`) with
    the numbers the text adds: A_hat on a fresh sample of check_M points from q (its own stream),
    the quadrature at half the resolution and on a box 1.5 times wider, the gradient estimator
    against autograd, the standard errors, the gap to the truth with A_hat, and the training
    log-likelihood. `section` is the config's ebm section (or a variant's)."""
    truth = VI.ring_gmm(K, R)
    x_q = VI.sample_gmm(truth, section["importance_M"], VI.rng_for(seed, "ebm", "importance", R))
    x_check = VI.sample_gmm(truth, section["check_M"], VI.rng_for(seed, "ebm", "importance-check", R))
    with torch.no_grad():
        log_w_check = VI.importance_log_weights(energy, VI.to_tensor(x_check),
                                                VI.to_tensor(VI.gmm_log_density(x_check, truth)))
    a_check, a_check_se = float(VI.importance_log_partition(log_w_check)), VI.importance_log_partition_se(log_w_check)
    mean_energy, mean_energy_se = VI.mean_and_sem(VI.energy_values(energy, data["test"]))
    log_p_true = VI.gmm_log_density(data["test"], truth)
    gap, gap_se = VI.mean_and_sem(log_p_true - VI.energy_values(energy, data["test"]))
    lim, num = R + section["quadrature_margin"], section["quadrature_num"]
    out = {
        "config": dict(section),
        "ess_min_during_training": float(trace["ess"].min()),
        **gradient_estimator_check(VI, energy, VI.to_tensor(data["train"]), VI.to_tensor(x_q),
                                   VI.to_tensor(VI.gmm_log_density(x_q, truth))),
        "n_parameters": int(sum(p.numel() for p in energy.parameters())),
        "input_scale": energy.input_scale,
        "check_M": len(x_check),
        "ess_check": VI.effective_sample_size(log_w_check),
        "quadrature_lim": lim,
        "quadrature_num": num,
        "quadrature_h": 2.0 * lim / (num - 1),
        "A_quad_coarse": VI.quadrature_log_partition(energy, lim, (num - 1) // 2 + 1),
        "A_quad_wide": VI.quadrature_log_partition(energy, 1.5 * lim, int(round(1.5 * (num - 1))) + 1),
        "test_mean_energy_se": mean_energy_se,
        "A_check": a_check,
        "A_check_se": a_check_se,
        "A_check_minus_quad": a_check - summary["A_quad"],
        "test_loglik_check": mean_energy - a_check,
        "test_loglik_check_se": math.hypot(mean_energy_se, a_check_se),
        "gap_to_true_check": gap + a_check,
        "gap_to_true_check_se": math.hypot(gap_se, a_check_se),
    }
    # The quadrature's own error: the largest change from halving the resolution or widening the
    # box, as a power of ten that bounds it (for the text).
    change = max(abs(out[k] - summary["A_quad"]) for k in ("A_quad_coarse", "A_quad_wide"))
    out["quadrature_check_log10"] = math.floor(math.log10(max(change, 1e-15))) + 1
    a_is, a_is_se = summary["A_is"], summary["A_is_se"]
    text = {
        "test_loglik_true_se": VI.mean_and_sem(log_p_true)[1],
        "test_loglik_is_se": math.hypot(mean_energy_se, a_is_se),
        "gap_to_true_is": gap + a_is,
        "gap_to_true_is_se": math.hypot(gap_se, a_is_se),
        "A_quad_se": 0.0,
        "gap_to_true_quad_se": gap_se,  # A by quadrature adds no Monte Carlo error
        "train_loglik": float(VI.energy_values(energy, data["train"]).mean()) - a_is,
    }
    return {**out, **in_order(EBM_KEYS, summary, text)}


def ebm_kde_extras(VI, comparison: dict, data: dict, energy, summary: dict, truth, kde_sigma: float) -> dict:
    """Q1.7's comparison (VI.ebm_kde_comparison's, for `energy` and its summary) with the numbers
    of the text: the KDE's sigma, the standard error of its test log-likelihood, its paired gap to
    the truth, and the EBM's paired lead over it with A_hat on the training sample (is) and on the
    fresh sample (check)."""
    log_p_kde = VI.kde_log_density(data["test"], data["train"], kde_sigma)
    lead, lead_se = VI.mean_and_sem(VI.energy_values(energy, data["test"]) - log_p_kde)
    out = {"kde_sigma": kde_sigma, "test_loglik_kde_se": VI.mean_and_sem(log_p_kde)[1]}
    out["kde_gap_to_true"], out["kde_gap_to_true_se"] = VI.mean_and_sem(VI.gmm_log_density(data["test"], truth) - log_p_kde)
    for key in ("is", "check"):
        out[f"lead_over_kde_{key}"] = lead - summary[f"A_{key}"]
        out[f"lead_over_kde_{key}_se"] = math.hypot(lead_se, summary[f"A_{key}_se"])
    return in_order(("kde_sigma", "test_loglik_kde", "test_loglik_kde_se", "kde_gap_to_true", "kde_gap_to_true_se"),
                    comparison, out)


# ----------------------------------------------------------------------------
# Part 2: numbers of the text, and the Bessel function for any radius
# ----------------------------------------------------------------------------


def kl_normal_closed_form(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2.0 * s2**2) - 0.5


def kl_extras(VI, summary: dict, kl: dict) -> dict:
    """Q2.2's numbers for the text, merged into VI.kl_experiment's summary (`kl`: its settings):
    the ratio KL(p || q) / KL(q || p), the mass of p on the grid, the cost -log w_j of a q on mode j alone, KL(p || q)'s
    cross-entropy terms, H(p), and the bound KL(q || p) <= min_j -log w_j + KL(q || N_j)."""
    w, m, s, q_mean, q_sd = kl["p_weights"], kl["p_means"], kl["p_sds"], kl["q_mean"], kl["q_sd"]
    x = np.linspace(kl["x_min"], kl["x_max"], kl["x_num"])
    dx = float(x[1] - x[0])
    log_p = VI.mixture_log_pdf(x, w, m, s)
    out = {**summary, "q": {**summary["q"], "ratio": summary["q"]["kl_pq"] / summary["q"]["kl_qp"]}}
    out["p_mass"] = float(np.trapezoid(np.exp(log_p), dx=dx))
    out["mode_costs"] = [-math.log(wj) for wj in w]
    out["grid"] = {"x_min": kl["x_min"], "x_max": kl["x_max"], "x_num": kl["x_num"], "dx": dx}
    # KL(p || q) = -H(p) + sum_j w_j E_{N(m_j, s_j^2)}[-log q], each term in closed form for a Gaussian q.
    out["q"]["cross_entropy_terms"] = [
        wj * (math.log(q_sd) + 0.5 * math.log(2.0 * math.pi) + (sj**2 + (mj - q_mean) ** 2) / (2.0 * q_sd**2))
        for wj, mj, sj in zip(w, m, s)
    ]
    out["entropy_p"] = float(-np.trapezoid(np.exp(log_p) * log_p, dx=dx))
    # p >= w_j N(m_j, s_j^2) gives KL(q || p) <= -log w_j + KL(q || N(m_j, s_j^2)) for every j.
    out["q"]["kl_qp_bound"] = min(-math.log(wj) + kl_normal_closed_form(q_mean, q_sd, mj, sj) for wj, mj, sj in zip(w, m, s))
    return out


def posterior_entropy(VI, x: np.ndarray, gmm, max_entries: int = 2**21) -> np.ndarray:
    """H(p(z | x)) = -sum_k r_k log r_k per point of x (n, 2), in the blocks of VI.elbo_study. Shape (n,)."""
    out = np.empty(len(x))
    block = max(1, max_entries // gmm.K)
    for start in range(0, len(x), block):
        log_r = VI.posterior_log_probs(VI.gmm_log_joint(x[start : start + block], gmm))
        r = np.exp(log_r)
        with np.errstate(invalid="ignore"):
            out[start : start + block] = -np.where(r > 0, r * log_r, 0.0).sum(axis=1)
    return out


ELBO_KEYS = ("R", "K", "n", "log_p", "log_p_sem", "elbo_uniform", "elbo_uniform_sem", "elbo_posterior",
             "elbo_posterior_sem", "gap_uniform", "gap_uniform_sem", "gap_posterior", "gap_posterior_sem",
             "posterior_entropy", "posterior_entropy_sem", "gap_posterior_max_abs", "identity_max_error", "identity_draws")


def elbo_extras(VI, summary: dict, per: dict, x: np.ndarray, random_q: int) -> dict:
    """Q2.3's summary (VI.elbo_experiment's, with its per-point arrays, for the test points x of one
    radius and `random_q` random q per point) with the numbers of the text and its checks: the
    standard errors, the posterior's entropy H, the largest gap of q posterior, the exact
    expectation of L(Unif), log K, the separated-components estimate of the gap, the closed form of
    L(Unif) and the gap as KL(Unif || posterior) checked per point, the gap's range, exp(H) on
    average, and the K -> infinity limit at the same radius (Q2.4)."""
    K, R = summary["K"], summary["R"]
    log_joint = VI.gmm_log_joint(x, VI.ring_gmm(K, R))
    kl_uniform = VI.kl_categorical(np.full(K, -math.log(K)), VI.posterior_log_probs(log_joint))
    entropy = posterior_entropy(VI, x, VI.ring_gmm(K, R))
    extras = {f"{name}_sem": VI.mean_and_sem(per[name])[1] for name in ("log_p", "elbo_uniform", "elbo_posterior", "gap_posterior")}
    extras["posterior_entropy"], extras["posterior_entropy_sem"] = VI.mean_and_sem(entropy)
    extras["gap_posterior_max_abs"] = float(np.max(np.abs(per["gap_posterior"])))
    extras["identity_draws"] = random_q
    return in_order(ELBO_KEYS, summary, extras, {
        # E_p|x|^2 = R^2 + 2, so E_p L(Unif) = -log 2pi - 1 - R^2 exactly.
        "elbo_uniform_expected": -math.log(2.0 * math.pi) - 1.0 - R**2,
        "log_K": math.log(K),
        # separated components: E log p ~ -log K - log 2pi - 1, so the uniform gap is about R^2 - log K
        "gap_uniform_separated": R**2 - math.log(K),
        "elbo_uniform_closed_form_error": float(np.max(np.abs(per["elbo_uniform"] - elbo_uniform_ring(x, R)))),
        "gap_uniform_kl_error": float(np.max(np.abs(per["gap_uniform"] - kl_uniform))),
        "gap_uniform_min": float(per["gap_uniform"].min()),
        "gap_uniform_max": float(per["gap_uniform"].max()),
        "effective_components": float(np.mean(np.exp(entropy))),
        "ring_limit": ring_limit(VI, R),
    })


def ring_limit(VI, R: float) -> dict:
    """VI.fixed_R_limits with the mass of p_inf by the same quadrature (a check that it is 1)."""
    return {**VI.fixed_R_limits(R), "mass": VI.ring_radial_expectation(np.ones_like, R)}


def log_bessel_i0(z: np.ndarray) -> np.ndarray:
    """log I_0(z) for z >= 0, finite for every z: numpy's i0 up to z = 500 (as VI.log_bessel_i0),
    above it the asymptotic series I_0(z) ~ e^z / sqrt(2 pi z) (1 + 1/(8z) + 9/(128 z^2) +
    225/(3072 z^3) + 11025/(98304 z^4)), whose next term is below 1e-14 there."""
    z = np.abs(np.asarray(z, dtype=float))
    out = np.empty_like(z)
    small = z <= 500.0
    out[small] = np.log(np.i0(z[small]))
    big = z[~small]
    series = 1.0 + 1.0 / (8 * big) + 9.0 / (128 * big**2) + 225.0 / (3072 * big**3) + 11025.0 / (98304 * big**4)
    out[~small] = big - 0.5 * np.log(2.0 * np.pi * big) + np.log(series)
    return out


def use_bessel_for_any_radius(VI) -> None:
    """Give the loaded VI module the log I_0 above, which stays finite beyond z = 700 where
    numpy's i0 overflows: the config accepts any radius of the K sweep, the defaults stay
    below z = 250, where both functions give the same numbers."""
    VI.log_bessel_i0 = log_bessel_i0


# ----------------------------------------------------------------------------
# Q2.4: the limits checked at the same points, and the figure's panels (c) and (d)
# ----------------------------------------------------------------------------


def elbo_uniform_ring(x: np.ndarray, R: float) -> np.ndarray:
    """Closed form of L(Unif) for the ring mixture (K >= 2): -log 2pi - (|x|^2 + R^2) / 2, shape
    (n,). It does not depend on K: only the centroid (0) and mean square radius R^2 of the means enter."""
    return -math.log(2.0 * math.pi) - 0.5 * (np.sum(x**2, axis=1) + R**2)


def frame_coordinates(noise: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of noise (n, 2) along the tangent (-sin a, cos a) and the outward normal
    (cos a, sin a) of the circle at angle a (n,). Returns (e_t, e_n), each (n,)."""
    c, s = np.cos(angle), np.sin(angle)
    return -s * noise[:, 0] + c * noise[:, 1], c * noise[:, 0] + s * noise[:, 1]


def ring_log_density_limit(VI, x: np.ndarray, R: float) -> np.ndarray:
    """log p_inf(x) = -log 2pi - (|x|^2 + R^2)/2 + log I_0(R |x|): the K -> infinity limit of the
    ring mixture at fixed R (uniform mixture over the whole circle). x (n, 2) -> (n,)."""
    r2 = np.sum(x**2, axis=1)
    return -VI.LOG_2PI - 0.5 * (r2 + R**2) + VI.log_bessel_i0(R * np.sqrt(r2))


SWEEP_ROW_KEYS = ("K", "R", "spacing", "log_p", "log_p_sem", "elbo_uniform", "elbo_uniform_sem", "elbo_posterior",
                  "elbo_posterior_sem", "gap_uniform", "gap_uniform_sem", "posterior_entropy", "posterior_entropy_sem",
                  "log_p_plus_log_K", "gap_posterior_max_abs")


def sweep_with_checks(VI, seed: int, **settings) -> dict:
    """VI.sweep_experiment(seed, **settings) with sweep_limit_checks, which reuse the sweep's own
    points and per-point arrays instead of computing them again."""
    points = {}

    def keep(regime, K, x, gmm, per):
        points[regime, K] = (x, gmm, per)

    sweep = VI.sweep_experiment(seed, **settings, on_points=keep)
    return sweep_limit_checks(VI, sweep, seed, points)


def sweep_limit_checks(VI, sweep: dict, seed: int, points: dict) -> dict:
    """VI.sweep_experiment's result, whose `points` (regime, K) -> (x, gmm, elbo_study arrays) were
    seen through its on_points, with, on the same coupled test points (the regime's stream), each
    row's neighbour spacing, standard errors, posterior entropy, largest gap of q posterior, largest
    error of the closed form of L(Unif) and largest distance of log p_K(x) from its K -> infinity
    limit at the same points; each regime's "same_points_limit": the means at the points the coupled
    samples tend to, R u(2 pi u) + e (fixed R) or e in the frame at angle 2 pi u; and at fixed
    spacing the limit of the gap of q uniform, minus R_K^2, plus log K."""
    n, R, d = sweep["n"], sweep["fixed_R"]["R"], sweep["fixed_spacing"]["spacing"]
    out = dict(sweep)
    for regime in VI.SWEEP_REGIMES:
        rng = VI.rng_for(seed, "vi", "sweep", regime)
        u, noise = rng.random(n), rng.standard_normal((n, 2))  # VI.sweep_regime's draws
        rows = []
        for row in sweep[regime]["rows"]:
            K, R_K = row["K"], row["R"]
            angle = VI.coupled_angles(K, u)
            x, gmm, per = points[regime, K]
            if regime == "fixed_R":
                limit = ring_log_density_limit(VI, x, R)
            else:
                limit = VI.row_log_density_limit(*frame_coordinates(noise, angle), d) - math.log(K)
            extras = {"spacing": VI.neighbour_spacing(K, R_K)}
            for name in VI.SWEEP_COLUMNS:
                extras[f"{name}_sem"] = VI.mean_and_sem(per[name])[1]
            extras["posterior_entropy"], extras["posterior_entropy_sem"] = VI.mean_and_sem(posterior_entropy(VI, x, gmm))
            extras["gap_posterior_max_abs"] = float(np.max(np.abs(per["gap_posterior"])))
            closed_form_error = np.max(np.abs(per["elbo_uniform"] - elbo_uniform_ring(x, R_K)))
            extras["elbo_uniform_closed_form_error"] = float(closed_form_error)
            extras["log_p_limit_max_abs_dev"] = float(np.max(np.abs(per["log_p"] - limit)))
            rows.append(in_order(SWEEP_ROW_KEYS, row, extras))
        limit_angle = 2.0 * np.pi * u
        same = {}
        if regime == "fixed_R":
            x = VI.on_circle(limit_angle, R) + noise
            same["log_p"], same["log_p_sem"] = VI.mean_and_sem(ring_log_density_limit(VI, x, R))
            same["elbo_uniform"], same["elbo_uniform_sem"] = VI.mean_and_sem(elbo_uniform_ring(x, R))
            gap = VI.log_bessel_i0(R * np.linalg.norm(x, axis=1))
            same["gap_uniform"], same["gap_uniform_sem"] = VI.mean_and_sem(gap)
        else:
            same["log_p_plus_log_K"], same["log_p_plus_log_K_sem"] = VI.mean_and_sem(
                VI.row_log_density_limit(*frame_coordinates(noise, limit_angle), d))
        # the keys in the order of the summary: ..., rows, same_points_limit, limits
        out[regime] = {}
        for key, value in sweep[regime].items():
            if key == "limits":
                out[regime]["same_points_limit"] = same
                if regime == "fixed_spacing":  # E gap = E log p_K - E L(Unif) -> C(d) - log K + log 2pi + 1 + R_K^2
                    value = {**value, "gap_minus_R2_plus_log_K": value["log_p_plus_log_K"] + VI.LOG_2PI + 1.0}
            out[regime][key] = rows if key == "rows" else value
    return out


def plot_sweep_with_checks(VI, sweep: dict, path) -> None:
    """The PDF's Figure 2.4: VI.plot_sweep_bounds's panels (a) and (b) above two panels of checks:
    (c) the largest distance of log p_K(x) from its limit at the same points in both regimes, and
    (d) at fixed spacing, log p_K + log K against C(d) and against its limit at the same points."""
    fig, axes = VI.pyplot().subplots(2, 2, figsize=(6.8, 3.6))
    VI.plot_sweep_bounds(axes[0], sweep)
    Ks = np.array(sweep["K"], dtype=float)
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]

    def col(regime: dict, name: str) -> np.ndarray:
        return np.array([r[name] for r in regime["rows"]])

    dots = {"marker": "o", "markersize": 3}
    floor = 1e-16
    ax = axes[1, 0]
    ax.plot(Ks, np.maximum(col(fr, "log_p_limit_max_abs_dev"), floor), color="C3",
            label=r"fixed R ($\log p_\infty$)", **dots)
    ax.plot(Ks, np.maximum(col(fs, "log_p_limit_max_abs_dev"), floor), color="C4",
            label=r"fixed spacing (row $- \log K$)", **dots)
    ax.set(title=r"(c) $\max_x |\log p_K(x) - \mathrm{limit}(x)|$ at the same points", xscale="log", yscale="log",
           xlabel="number of components K", ylabel="nats", ylim=(floor / 2, 1e2))
    ax.legend(loc="center right")
    ax = axes[1, 1]
    same = fs["same_points_limit"]
    ax.plot(Ks, col(fs, "log_p") + np.log(Ks), color="C3", label=r"$\log p_K(x) + \log K$, test points", **dots)
    ax.axhline(same["log_p_plus_log_K"], color="C3", linestyle=":", linewidth=0.9, label="its limit, same points")
    ax.axhline(fs["limits"]["log_p_plus_log_K"], color="k", linestyle="--", linewidth=0.9,
               label="$C(d)$, exact expectation")
    ax.set(title=r"(d) fixed spacing: $\log p_K + \log K$", xscale="log", xlabel="number of components K",
           ylabel="mean over test points (nats)")
    ax.legend(loc="center right")
    VI.save_figure(fig, path)
