"""Q1.6-1.7: the energy-based model on the KDE's data. Trains the shallow energy by
importance sampling with the true mixture as proposal (one sample, reused at every
step), keeps the model chosen on validation (VI.kept_step), and evaluates it: A three ways (the training
sample, a fresh larger sample, quadrature) and the test log-likelihood beside the
true density's. Writes the summary, the model's parameters and the training trace;
the log shows progress and the project's targets for the EBM."""

import numpy as np
import pandas as pd
from common import load_vi, logged, write_json
from vi_build import energy_to_dict, train_ebm_in_full


def print_targets(s: dict) -> None:
    """The acceptance targets of the EBM as lines of the log (not a test: the numbers are random)."""
    print(f"target: gap to the true GMM {s['gap_to_true_is']:.4f} <= 0.05 nats: {s['gap_to_true_is'] <= 0.05}")
    print(f"target: |A_is - A_quad| = {abs(s['A_is_minus_quad']):.4f} <= 0.02: {abs(s['A_is_minus_quad']) <= 0.02}")
    print(f"Q1.6: autograd's gradient of L_hat against the estimator N_hat / D_hat: largest difference "
          f"{s['grad_estimator_max_abs_diff']:.2g} (largest gradient entry {s['grad_max_abs']:.3g})")


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    energy, trace, summary = train_ebm_in_full(VI, data, p.K, p.R, p.seed, p.ebm)
    print_targets(summary)
    write_json(snakemake.output.summary, summary)
    write_json(snakemake.output.model, energy_to_dict(energy, p.ebm))
    pd.DataFrame(trace).to_csv(snakemake.output.trace, index=False, float_format="%.12g")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
