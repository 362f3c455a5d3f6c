"""Q1.3: kernel density estimator on the training set of radius kde.R; sigma (a
variance) tuned on the validation set, log-likelihood on the test set. Writes
the summary, the validation curve and two figures."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import load_vi, logged, use_style, write_json  # noqa: E402
from vi_extras import kde_extras  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_style(snakemake.input.style)
    p, cfg = snakemake.params, snakemake.params.kde
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    grid = np.geomspace(cfg["sigma_min"], cfg["sigma_max"], cfg["sigma_num"])
    truth = VI.ring_gmm(p.K, p.R)
    summary, sigmas, lls = VI.kde_experiment(data, grid, cfg["refine_num"], truth)
    summary = {**kde_extras(VI, summary, data, truth, sigmas, lls), "R": p.R}
    if summary["sigma_on_grid_edge"]:
        print(f"warning: the best sigma {summary['sigma']:.4g} is at the edge of the grid; widen kde.sigma_min/sigma_max")
    print(f"sigma = {summary['sigma']:.5g} (validation {summary['validation_loglik']:.4f}), test {summary['test_loglik']:.4f}")
    write_json(snakemake.output.summary, summary)
    pd.DataFrame({"sigma": sigmas, "validation_loglik": lls}).to_csv(snakemake.output.curve, index=False, float_format="%.12g")
    VI.plot_kde_validation(sigmas, lls, summary["sigma"], snakemake.output.figure_validation)
    VI.plot_kde_density(truth, data["train"], summary["sigma"], p.R + 4.0, snakemake.output.figure_density)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
