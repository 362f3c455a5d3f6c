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
        "single_gaussian_far_below": s["test_loglik_fit"] - s["test_loglik_single_gaussian"] > 1.0,
        "overfits": s["train_loglik_fit"] > s["train_loglik_true"],
    }


def radius_order(em_by_tag: dict) -> list[str]:
    """Radius tags from the widest to the narrowest spacing (ties: as listed)."""
    return sorted(em_by_tag, key=lambda t: -em_by_tag[t]["neighbour_spacing"])


def kde_claims(kde: dict, em_same_R: dict) -> dict:
    """Decisions about the KDE (results/kde/kde.json) against the EM fit on the same data."""
    return {
        "sigma": kde["sigma"],
        "sigma_below_unit_variance": kde["sigma"] < 1.0,
        "sigma_on_grid_edge": bool(kde.get("sigma_on_grid_edge", False)),
        "em_gap_smaller": (em_same_R["test_loglik_true"] - em_same_R["test_loglik_fit"])
        < (kde["test_loglik_true"] - kde["test_loglik"]),
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
        "gap_above_one": e["gap_uniform"] > 1.0,
    }


def sweep_claims(sweep: dict) -> dict:
    """Decisions about the K sweep (results/vi/sweep.json)."""
    fr, fs = sweep["fixed_R"], sweep["fixed_spacing"]
    last_r = fr["rows"][-1]
    return {
        "fixed_R_limit_at_rounding": last_r["log_p_limit_max_abs_dev"] < ROUNDING,
        "fixed_R_log_p_agrees": agrees(fr["same_points_limit"]["log_p"], fr["limits"]["log_p"],
                                       fr["same_points_limit"]["log_p_sem"]),
        "fixed_R_gap_agrees": agrees(last_r["gap_uniform"], fr["limits"]["gap_uniform"], last_r["gap_uniform_sem"]),
        "fixed_spacing_agrees": agrees(fs["same_points_limit"]["log_p_plus_log_K"], fs["limits"]["log_p_plus_log_K"],
                                       fs["same_points_limit"]["log_p_plus_log_K_sem"]),
    }


def ebm_claims(ebm_kde: dict) -> dict:
    """Decisions about the EBM against the KDE (results/ebm/kde_comparison.json)."""
    lead, se = ebm_kde["lead_over_kde_quad"], ebm_kde["lead_over_kde_quad_se"]
    return {
        "ebm_better": lead > 0,
        "difference_significant": abs(lead) > 2.0 * se,
    }


def all_claims(em_by_tag: dict, kde: dict, kde_tag: str, elbo: dict, sweep: dict, ebm_kde: dict, K: int, n: int) -> dict:
    """Every decision the template uses, keyed as the template reads them."""
    em = {t: em_claims(s, K, n) for t, s in em_by_tag.items()}
    order = radius_order(em_by_tag)
    regimes = {em[t]["regime"] for t in order}
    return {
        "thresholds": {"merge_spacing": MERGE_SPACING, "separate_spacing": SEPARATE_SPACING,
                       "ring_hole_radius": RING_HOLE_RADIUS, "well_learned_gap": WELL_LEARNED_GAP,
                       "agreement_se": AGREEMENT_SE, "rounding": ROUNDING},
        "order": order,
        "em": em,
        "contrast": "separated" in regimes and "overlapping" in regimes,
        "kde": kde_claims(kde, em_by_tag[kde_tag]),
        "elbo": {f"{e['R']:g}": elbo_claims(e) for e in elbo["by_R"].values()},
        "sweep": sweep_claims(sweep),
        "ebm": ebm_claims(ebm_kde),
    }
