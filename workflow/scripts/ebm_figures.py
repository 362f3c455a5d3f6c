"""Q1.6-1.7: figures of the energy-based model: training curves (objective,
validation log-likelihood, A_hat, effective sample size), the learned density
beside the true density and the KDE, and log-densities along the ring and a ray."""

import numpy as np
import pandas as pd
from common import load_vi, logged, read_json, use_style
from vi_build import energy_from_dict


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_style(snakemake.input.style)
    p, out = snakemake.params, snakemake.output
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    energy = energy_from_dict(VI, read_json(snakemake.input.model))
    trace = {name: column.to_numpy() for name, column in pd.read_csv(snakemake.input.trace).items()}
    sigma = read_json(snakemake.input.kde)["sigma"]
    paths = {"training": out.training, "density": out.density, "slices": out.slices}
    VI.plot_ebm_results(energy, trace, read_json(snakemake.input.summary), data, VI.ring_gmm(p.K, p.R), sigma, paths)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
