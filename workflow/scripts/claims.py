"""The qualitative claims of the report, each decided from the computed numbers.

The template never assumes the order, count or regime of the parameters: a sentence
such as "the clusters are separate" is chosen here, from the spacing of the means
against the unit noise, for each radius of ``data.R`` in whatever order it is listed.
render.py passes the decisions to the template and writes them, with the numbers
and thresholds they rest on, to results/report/claims.json, so that a test can
re-derive every one of them from the results.

Conventions: the mixture components have unit variance in each coordinate, so
distances are in standard deviations of the noise.
"""

import math

# Two unit Gaussians of equal weight merge into a single mode when their means are
# at most 2 standard deviations apart; at 4 or more their overlap is negligible
# (each mean is 2 sd from the midpoint; a posterior there stays near 0 or 1).
MERGE_SPACING = 2.0
SEPARATE_SPACING = 4.0
# The ring density e^{-(r^2+R^2)/2} I_0(R r) has a hole at the centre iff R > sqrt(2)
# (its second derivative at r = 0 is proportional to R^2/2 - 1).
RING_HOLE_RADIUS = math.sqrt(2.0)
# The mixture's density at its centre, e^{-R^2/2} / (2 pi), relative to 1 / (2 pi): below this the
# centre is a hole that samples of realistic size do not reach.
DEEP_HOLE = 0.01
# An estimated mean is "on" its true mean when it is closer to it than to the midpoint
# between neighbouring means.
ON_TARGET_FRACTION = 0.5
# A density counts as learned well when its test gap to the truth is below this (nats/point).
WELL_LEARNED_GAP = 0.1
# Agreement "within Monte Carlo error": at most this many standard errors apart.
AGREEMENT_SE = 3.0
# A difference is called real (not noise) from this many of its own standard errors on.
SIGNIFICANT_SE = 2.0
# Two log-likelihoods per point closer than this are "close" (nats).
CLOSE_NATS = 0.05
# Importance sampling is trusted when the ESS is at least this fraction of M and a fresh sample
# agrees with quadrature within AGREEMENT_SE of its standard error (or IS_TOLERANCE nats).
ESS_TRUSTED_FRACTION = 0.01
IS_TOLERANCE = 0.1
# "A handful of points carry the weight": an ESS below this fraction of M.
ESS_COLLAPSED_FRACTION = 0.01
# A difference counts as "rounding level" below this.
ROUNDING = 1e-8


def spacing_regime(spacing: float) -> str:
    """'separated', 'intermediate' or 'overlapping', from the neighbour spacing in noise sd."""
    if spacing >= SEPARATE_SPACING:
        return "separated"
    if spacing > MERGE_SPACING:
        return "intermediate"
    return "overlapping"


def agrees(a: float, b: float, se: float) -> bool:
    """Whether a and b agree within AGREEMENT_SE standard errors (or to rounding when se = 0)."""
    return abs(a - b) <= max(AGREEMENT_SE * se, ROUNDING)


def em_claims(s: dict, K: int, n: int) -> dict:
    """Decisions about the EM fit of one radius (`s`: results/em/R<tag>.json)."""
    sampling_error = math.sqrt(2.0 * K / n)  # RMS error of a 2-D mean of n/K unit-variance points
    gap = s["test_loglik_true"] - s["test_loglik_fit"]
    return {
        "R": s["R"],
        "spacing": s["neighbour_spacing"],
        "regime": spacing_regime(s["neighbour_spacing"]),
        "ring_hole": s["R"] > RING_HOLE_RADIUS,
        # the density at the centre, relative to a unit Gaussian's peak, is below DEEP_HOLE:
        # a finite sample from the mixture almost never lands there
        "deep_hole": math.exp(-s["R"] ** 2 / 2) < DEEP_HOLE,
        "means_on_target": s["mean_error_max"] < ON_TARGET_FRACTION * s["neighbour_spacing"],
        "sampling_error": sampling_error,
        "error_at_sampling_level": s["mean_error_rms"] <= 2.0 * sampling_error,
        "density_learned_well": gap < WELL_LEARNED_GAP,
        "single_gaussian": single_gaussian_verdict(s["test_loglik_fit"] - s["test_loglik_single_gaussian"]),
        "overfits": s["train_loglik_fit"] > s["train_loglik_true"],
        # a fit whose error is above the sampling level is trapped in a worse optimum only when the truth
        # explains the training data better; otherwise the sample itself pulls the means away
        "trapped": s["train_loglik_fit"] < s["train_loglik_true"],
        "converged": bool(s["converged"]),
        # the restarts' end points are distinct optima only when the runs converged; otherwise they are
        # where the iteration cap stopped them, and only their spread is reported
        "restart_spread": max(s["restart_log_likelihoods"]) - min(s["restart_log_likelihoods"]),
        "gap_z": z_score(gap, s["test_gap_sem"]),
    }


def z_score(difference: float, se: float) -> float:
    """A difference in units of its standard error (infinite when the error is zero and the
    difference is not)."""
    if se > 0:
        return difference / se
    return 0.0 if abs(difference) <= ROUNDING else math.copysign(math.inf, difference)


def noise_verdict(difference: float, se: float) -> str:
    """'above' or 'below' when a difference is at least SIGNIFICANT_SE standard errors from zero,
    'within noise' otherwise."""
    z = z_score(difference, se)
    return "above" if z >= SIGNIFICANT_SE else "below" if z <= -SIGNIFICANT_SE else "within noise"


def single_gaussian_verdict(lead: float) -> str:
    """How far a single Gaussian scores below the mixture fit (lead in nats per point)."""
    return "far below" if lead > 1.0 else "close" if lead < CLOSE_NATS else "below"


def paired_se_relation(paired_se: float, *unpaired_se: float) -> str:
    """The standard error of a paired difference against those of the two means it compares."""
    smallest = min(unpaired_se)
    return "much smaller" if paired_se < 0.5 * smallest else "smaller" if paired_se < smallest else "not smaller"


def radius_order(em_by_tag: dict) -> list[str]:
    """Radius tags from the widest to the narrowest spacing (ties: as listed)."""
    return sorted(em_by_tag, key=lambda t: -em_by_tag[t]["neighbour_spacing"])


def kde_claims(kde: dict, em_same_R: dict) -> dict:
    """Decisions about the KDE (results/kde/kde.json) against the EM fit on the same data."""
    em_gap = em_same_R["test_loglik_true"] - em_same_R["test_loglik_fit"]
    kde_gap = kde["test_loglik_true"] - kde["test_loglik"]
    # both gaps are paired over the same test points; their difference's error is at most the
    # root sum of squares of theirs (the two gaps are positively correlated through the points)
    diff_se = math.hypot(em_same_R["test_gap_sem"], kde["test_gap_sem"])
    return {
        "sigma": kde["sigma"],
        "sigma_below_unit_variance": kde["sigma"] < 1.0,
        "sigma_on_grid_edge": bool(kde.get("sigma_on_grid_edge", False)),
        "em_gap_smaller": em_gap < kde_gap,
        "kde_minus_em_gap": kde_gap - em_gap,
        "kde_minus_em_gap_se": diff_se,
        "kde_vs_em": noise_verdict(kde_gap - em_gap, diff_se),
        "paired_se": paired_se_relation(kde["test_gap_sem"], kde["test_loglik_sem"], kde["test_loglik_true_sem"]),
    }


def elbo_claims(e: dict) -> dict:
    """Decisions about the ELBOs of one radius (an entry of results/vi/elbo.json's by_R)."""
    log_K = e["log_K"]
    return {
        "R": e["R"],
        "posterior": ("one-hot" if e["posterior_entropy"] < 0.1 * log_K
                      else "near the prior" if e["posterior_entropy"] > 0.8 * log_K else "spread"),
        # the mean log-density over the test points against the ring's exact expectation: the gap itself is
        # of order R^2 at large R, where its noise hides a difference of a few nats
        "near_ring_limit": agrees(e["log_p"], e["ring_limit"]["log_p"], e["log_p_sem"]),
        "log_p_limit_z": z_score(e["log_p"] - e["ring_limit"]["log_p"], e["log_p_sem"]),
        "gap_near_ring_limit": agrees(e["gap_uniform"], e["ring_limit"]["gap_uniform"], e["gap_uniform_sem"]),
        "gap_limit_z": z_score(e["gap_uniform"] - e["ring_limit"]["gap_uniform"], e["gap_uniform_sem"]),
        "gap_above_one": e["gap_uniform"] > 1.0,
    }


def log_log_slope(xs: list, ys: list) -> float | None:
    """Least-squares slope of log y against log x (the exponent of a power law y ~ x^slope);
    None with fewer than two positive points (no rate can be read off one point)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(a for a, _ in pts) / len(pts)
    my = sum(b for _, b in pts) / len(pts)
    sxx = sum((a - mx) ** 2 for a, _ in pts)
    return sum((a - mx) * (b - my) for a, b in pts) / sxx if sxx > 0 else None


def sweep_claims(sweep: dict) -> dict:
    """Decisions about the K sweep (results/vi/sweep.json). Rates are read off the upper half of
    the K grid, where the asymptotic regime should hold."""
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]
    last_r = fr["rows"][-1]
    upper_r, upper_s = fr["rows"][len(fr["rows"]) // 2:], fs["rows"][len(fs["rows"]) // 2:]
    spacing_slope = log_log_slope([r["K"] for r in upper_s], [r["log_p_limit_max_abs_dev"] for r in upper_s])
    at_rounding = [r["K"] for r in fr["rows"] if r["log_p_limit_max_abs_dev"] < ROUNDING]
    # H against log K: slope 1 means the posterior spreads over a number of components proportional to K
    h = [(math.log(r["K"]), r["posterior_entropy"]) for r in upper_r]
    entropy_slope = ((h[-1][1] - h[0][1]) / (h[-1][0] - h[0][0])) if len(h) >= 2 and h[-1][0] > h[0][0] else None
    return {
        "fixed_R_limit_at_rounding": last_r["log_p_limit_max_abs_dev"] < ROUNDING,
        "fixed_R_first_K_at_rounding": at_rounding[0] if at_rounding else None,
        "fixed_R_log_p_agrees": agrees(fr["same_points_limit"]["log_p"], fr["limits"]["log_p"],
                                       fr["same_points_limit"]["log_p_sem"]),
        "fixed_R_gap_agrees": agrees(last_r["gap_uniform"], fr["limits"]["gap_uniform"], last_r["gap_uniform_sem"]),
        "fixed_spacing_agrees": agrees(fs["same_points_limit"]["log_p_plus_log_K"], fs["limits"]["log_p_plus_log_K"],
                                       fs["same_points_limit"]["log_p_plus_log_K_sem"]),
        "fixed_spacing_decay_slope": spacing_slope,
        # the row limit is approached like 1/K (the curvature 1/R_K of the row) when the fitted exponent is near -1
        "fixed_spacing_decay_one_over_K": spacing_slope is not None and abs(spacing_slope + 1.0) <= 0.3,
        "entropy_log_K_slope": entropy_slope,
        "entropy_grows_like_log_K": entropy_slope is not None and abs(entropy_slope - 1.0) <= 0.2,
    }


def variant_verdicts(default: dict, variants: list) -> dict:
    """The training variants against the default run (results/ebm/variants.json's entries), on
    the test log-likelihood with A by quadrature. The noise of one run is the largest distance of
    a variant that changes only the initialisation (`change.init`) from the default; a variant is
    better or worse when it differs by more than twice that. Without such variants there is no
    yardstick and no verdict. Variants whose importance-sampling A misses quadrature by more than
    IS_TOLERANCE are listed as IS failures (their validation scores are flattered)."""
    inits = [v for v in variants if "init" in v["change"]]
    spread = max((abs(v["test_loglik_quad"] - default["test_loglik_quad"]) for v in inits), default=None)
    val_spread = max((abs(v["validation_loglik"] - default["validation_loglik"]) for v in inits), default=None)
    others = [v for v in variants if "init" not in v["change"]]
    failures = [v["label"] for v in variants if v["A_is_minus_quad"] < -IS_TOLERANCE]
    out = {"init_spread": spread, "init_validation_spread": val_spread, "is_failures": failures,
           "better": [], "worse": [], "within_noise": [], "better_on_validation": []}
    if spread is None:
        return out
    for v in others:
        d = v["test_loglik_quad"] - default["test_loglik_quad"]
        key = "better" if d > 2 * spread else "worse" if d < -2 * spread else "within_noise"
        out[key].append(v["label"])
        # what model selection on the validation set would have preferred over the default
        if (v["label"] not in failures and val_spread is not None
                and v["validation_loglik"] - default["validation_loglik"] > 2 * val_spread):
            out["better_on_validation"].append(v["label"])
    return out


def ebm_claims(ebm: dict, ebm_kde: dict, variants: list, ess_at_start: float, train_loglik_true: float) -> dict:
    """Decisions about the EBM (results/ebm/ebm.json), its training (the ESS of the first step,
    from results/ebm/trace.csv), the training variants and the comparison with the KDE
    (results/ebm/kde_comparison.json). `train_loglik_true`: the true density on the same training set."""
    M = ebm["importance_M"]
    lead, se = ebm_kde["lead_over_kde_quad"], ebm_kde["lead_over_kde_quad_se"]
    # a fresh, larger sample and quadrature measure the same A when importance sampling covers the model
    fresh_z = z_score(ebm["A_check_minus_quad"], ebm["A_check_se"])
    is_trusted = (ebm["ess"] >= ESS_TRUSTED_FRACTION * M
                  and (abs(fresh_z) <= AGREEMENT_SE or abs(ebm["A_check_minus_quad"]) <= ROUNDING)
                  and abs(ebm["A_is_minus_quad"]) <= IS_TOLERANCE)
    kept_initialisation = ebm["best_step"] == 0
    train_quad = ebm["train_loglik"] + ebm["A_is_minus_quad"]  # E on the training set minus A by quadrature
    return {
        "ebm_better": lead > 0,
        "difference_significant": abs(lead) > SIGNIFICANT_SE * se,
        "lead_z": z_score(lead, se),
        "lead_is_z": z_score(ebm_kde["lead_over_kde_is"], ebm_kde["lead_over_kde_is_se"]),
        "versus_kde": noise_verdict(lead, se),
        "is_trusted": is_trusted,
        "kept_initialisation": kept_initialisation,
        "fit_failed": not is_trusted,
        "ess_at_start": ess_at_start,
        "ess_collapsed": ebm["ess_min_during_training"] < ESS_COLLAPSED_FRACTION * M,
        "ess_recovered": ebm["ess"] > 0.5 * M,
        # the kept model's ESS against the first step's, with 5% either way counted as "about the same"
        "ess_kept_vs_start": ("above" if ebm["ess"] > 1.05 * ess_at_start
                              else "below" if ebm["ess"] < 0.95 * ess_at_start else "about"),
        "fresh_minus_quad_z": fresh_z,
        "is_bias_z": z_score(ebm["A_is_minus_quad"], ebm["A_is_se"]),
        # the training sample's A is pulled down by fitting only when training moved and the
        # difference is beyond its noise
        "is_bias_from_fitting": ((not kept_initialisation)
                                 and z_score(-ebm["A_is_minus_quad"], ebm["A_is_se"]) >= AGREEMENT_SE),
        "train_loglik_quad": train_quad,
        "train_above_truth": train_quad - train_loglik_true,
        "fits_training_noise": (not kept_initialisation) and train_quad > train_loglik_true,
        "gap_z": z_score(ebm["gap_to_true_quad"], ebm["gap_to_true_quad_se"]),
        "paired_se": paired_se_relation(ebm["gap_to_true_quad_se"], ebm["test_loglik_quad_se"], ebm["test_loglik_true_se"]),
        "variants": variant_verdicts(ebm, variants),
    }


def all_claims(em_by_tag: dict, kde: dict, kde_tag: str, elbo: dict, sweep: dict, ebm: dict, ebm_kde: dict,
               variants: list, ess_at_start: float, K: int, n: int) -> dict:
    """Every decision the template uses, keyed as the template reads them."""
    em = {t: em_claims(s, K, n) for t, s in em_by_tag.items()}
    order = radius_order(em_by_tag)
    regimes = {em[t]["regime"] for t in order}
    return {
        "thresholds": {"merge_spacing": MERGE_SPACING, "separate_spacing": SEPARATE_SPACING,
                       "ring_hole_radius": RING_HOLE_RADIUS, "well_learned_gap": WELL_LEARNED_GAP,
                       "agreement_se": AGREEMENT_SE, "significant_se": SIGNIFICANT_SE, "rounding": ROUNDING,
                       "close_nats": CLOSE_NATS, "ess_trusted_fraction": ESS_TRUSTED_FRACTION,
                       "is_tolerance": IS_TOLERANCE, "ess_collapsed_fraction": ESS_COLLAPSED_FRACTION},
        "order": order,
        "em": em,
        "overfit_radii": [t for t in order if em[t]["overfits"]],
        "contrast": "separated" in regimes and "overlapping" in regimes,
        "kde": kde_claims(kde, em_by_tag[kde_tag]),
        "elbo": {f"{e['R']:g}": elbo_claims(e) for e in elbo["by_R"].values()},
        "sweep": sweep_claims(sweep),
        "ebm": ebm_claims(ebm, ebm_kde, variants, ess_at_start, em_by_tag[kde_tag]["train_loglik_true"]),
    }
