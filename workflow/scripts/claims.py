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
# Importance sampling is trusted when the ESS is at least this fraction of M and A_hat is within
# IS_TOLERANCE nats of A by quadrature.
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


def sweep_claims(sweep: dict) -> dict:
    """Decisions about the K sweep (VI.py's sweep.json): the last K against the exact limits, in
    standard errors of the last K's means, and the growth of the posterior entropy against log K
    over the upper half of the grid, where the asymptotic regime should hold."""
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]
    last_r, last_s = fr["rows"][-1], fs["rows"][-1]
    h = [(math.log(r["K"]), r["posterior_entropy"]) for r in fr["rows"][len(fr["rows"]) // 2:]]
    entropy_slope = ((h[-1][1] - h[0][1]) / (h[-1][0] - h[0][0])) if len(h) >= 2 and h[-1][0] > h[0][0] else None
    return {
        "fixed_R_log_p_z": z_score(last_r["log_p"] - fr["limits"]["log_p"], last_r["log_p_sem"]),
        "fixed_R_gap_z": z_score(last_r["gap_uniform"] - fr["limits"]["gap_uniform"], last_r["gap_uniform_sem"]),
        "fixed_spacing_z": z_score(last_s["log_p_plus_log_K"] - fs["limits"]["log_p_plus_log_K"], last_s["log_p_sem"]),
        "entropy_log_K_slope": entropy_slope,
        # slope 1: the posterior spreads over a number of components proportional to K
        "entropy_grows_like_log_K": entropy_slope is not None and abs(entropy_slope - 1.0) <= 0.2,
    }


def variant_verdicts(variants: list) -> dict:
    """The training variants against the default (VI.py's appendix.json, default first), on the
    test log-likelihood with A by quadrature, paired over the test points. The noise of one run is
    the largest |difference| of a variant that changes only the initialisation (`change.init`); a
    variant counts as better or worse when its difference exceeds both twice its paired standard
    error and that spread. Without such variants there is no yardstick and no verdict. Variants whose
    importance-sampling A misses quadrature by more than IS_TOLERANCE are IS failures."""
    default, others = variants[0], variants[1:]
    inits = [v for v in others if "init" in v["change"]]
    spread = max((abs(v["test_minus_default"]) for v in inits), default=None)
    failures = [{"label": v["label"], "miss": v["A_is_minus_quad"]} for v in others if abs(v["A_is_minus_quad"]) > IS_TOLERANCE]
    out = {"init_spread": spread, "init_runs": len(inits), "is_failures": failures, "better": [], "worse": [], "within_noise": []}
    if spread is None:
        return out
    for v in others:
        if "init" in v["change"]:
            continue
        d, se = v["test_minus_default"], v["test_minus_default_se"]
        key = ("better" if d > max(2 * se, spread) else "worse" if d < -max(2 * se, spread) else "within_noise")
        out[key].append(v["label"])
    return out


def ebm_claims(ebm: dict, ebm_kde: dict, variants: list, ess_at_start: float, train_loglik_true: float,
               is_minus_quad_over_seeds: dict) -> dict:
    """Decisions about the EBM (VI.py's ebm.json), its training (the ESS of the first step), the
    training variants (default first) and the comparison with the KDE (ebm_kde.json).
    `train_loglik_true`: the true density on the same training set; `is_minus_quad_over_seeds`: the
    appendix's row of A_hat - A_quad over the other seeds."""
    M = ebm["importance_M"]
    lead, se = ebm_kde["lead_over_kde_quad"], ebm_kde["lead_over_kde_quad_se"]
    is_trusted = ebm["ess"] >= ESS_TRUSTED_FRACTION * M and abs(ebm["A_is_minus_quad"]) <= IS_TOLERANCE
    kept_initialisation = ebm["best_step"] == 0
    train_quad = ebm["train_loglik"] + ebm["A_is_minus_quad"]  # E on the training set minus A by quadrature
    is_bias_z = z_score(ebm["A_is_minus_quad"], ebm["A_is_se"])
    return {
        "lead_z": z_score(lead, se),
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
        "is_bias_z": is_bias_z,
        # A_hat below A by fitting: training moved, and the difference is below zero beyond its noise here
        # or on every other seed
        "is_bias_from_fitting": (not kept_initialisation and ebm["A_is_minus_quad"] < 0
                                 and (is_bias_z <= -SIGNIFICANT_SE or is_minus_quad_over_seeds["max"] < 0)),
        "train_loglik_quad": train_quad,
        "train_above_truth": train_quad - train_loglik_true,
        "fits_training_noise": (not kept_initialisation) and train_quad > train_loglik_true,
        "gap_z": z_score(ebm["gap_to_true_quad"], ebm["gap_to_true_quad_se"]),
        "paired_se": paired_se_relation(ebm["gap_to_true_quad_se"], ebm["test_loglik_quad_se"], ebm["test_loglik_true_se"]),
        "variants": variant_verdicts(variants),
    }


def all_claims(em_by_tag: dict, kde: dict, kde_tag: str, elbo: dict, sweep: dict, ebm: dict, ebm_kde: dict,
               appendix: dict, K: int, n: int) -> dict:
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
        "ebm": ebm_claims(ebm, ebm_kde, appendix["variants"], ebm["trace"]["ess"][0], em_by_tag[kde_tag]["train_loglik_true"],
                          appendix["rows"]["ebm_A_is_minus_quad"]),
    }
