"""Q1.2: EM for the weights and means of one radius R (wildcard), several random
restarts; writes the summary (errors after matching components, log-likelihoods)
and the log-likelihood trace of the kept run."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import load_vi, logged, write_json  # noqa: E402
from vi_extras import em_extras  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    R = float(snakemake.wildcards.R)
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    result, summary = VI.em_experiment(data, p.K, R, p.seed, p.em["max_iter"], p.em["tol"], p.em["restarts"])
    summary = em_extras(VI, summary, data, result)
    print(f"R={R:g}: restart log-likelihoods {np.round(summary['restart_log_likelihoods'], 4).tolist()}")
    print(f"kept restart {result.restart}: {result.iterations} steps, converged={result.converged}")
    print(f"max |mu_hat - mu| = {summary['mean_error_max']:.4f}, test log-lik {summary['test_loglik_fit']:.4f}")
    write_json(snakemake.output.summary, summary)
    pd.DataFrame({"mean_log_likelihood": result.log_likelihood}).to_csv(snakemake.output.trace, index=False, float_format="%.12f")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
