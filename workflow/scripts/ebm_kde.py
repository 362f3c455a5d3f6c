"""Q1.7: the energy-based model against the kernel density estimator on the same
test set: the KDE's test log-likelihood and the paired differences EBM - KDE and
truth - KDE, for each of the EBM's three estimates of A. The log shows the
project's target (EBM at least as good as the KDE)."""

import numpy as np
from common import load_vi, logged, read_json, write_json
from vi_build import energy_from_dict
from vi_extras import ebm_kde_extras


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    energy = energy_from_dict(VI, read_json(snakemake.input.model))
    summary, sigma = read_json(snakemake.input.summary), read_json(snakemake.input.kde)["sigma"]
    comparison = VI.ebm_kde_comparison(energy, summary, data, sigma)
    comparison = ebm_kde_extras(VI, comparison, data, energy, summary, VI.ring_gmm(p.K, p.R), sigma)
    ebm, kde = summary["test_loglik_is"], comparison["test_loglik_kde"]
    print(f"target: EBM test log-lik {ebm:.4f} >= KDE {kde:.4f}: {ebm >= kde}")
    write_json(snakemake.output.comparison, comparison)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
