"""Q2.3: the ELBO of the true ring mixture on the test set of every radius, with
q uniform and q the exact posterior, against log p(x) by logsumexp. Writes the
means with standard errors, the gaps and the checks of the identities (one JSON),
and the figure of the per-point distributions."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import numpy as np  # noqa: E402
from common import load_vi, logged, use_style, write_json  # noqa: E402
from vi_extras import elbo_extras, use_bessel_for_any_radius  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_bessel_for_any_radius(VI)
    use_style(snakemake.input.style)
    p = snakemake.params
    points, per_R, by_R = {}, {}, {}
    for R, path in zip(p.R, snakemake.input.test):
        points[R] = np.load(path)
        rng = VI.rng_for(p.seed, "vi", "random_q", R)
        summary, per_R[R] = VI.elbo_experiment(points[R], p.K, R, rng, p.elbo["random_q"])
        by_R[f"{R:g}"] = elbo_extras(VI, summary, per_R[R], points[R], p.elbo["random_q"])
        s = by_R[f"{R:g}"]
        print(f"R={R:g}: log p {s['log_p']:.4f}, ELBO posterior {s['elbo_posterior']:.4f}, "
              f"ELBO uniform {s['elbo_uniform']:.4f}, gap {s['gap_uniform']:.4f} +- {s['gap_uniform_sem']:.4f}")
    write_json(snakemake.output.summary, {"K": p.K, "R": [f"{R:g}" for R in p.R], "by_R": by_R})
    VI.plot_elbo_distributions(points, per_R, snakemake.output.figure)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
